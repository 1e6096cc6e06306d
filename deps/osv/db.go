package osv

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/osv-scalibr/semantic"
)

// Limits on the database files, which come from a download the user made:
// real PyPI records are a few KiB, the whole PyPI all.zip tens of thousands of
// records.
const (
	maxRecordBytes = 16 << 20
	maxRecords     = 2_000_000
	maxZipRatio    = 200
)

// DB is an offline OSV database of PyPI advisories, indexed by PEP 503
// normalised package name. It is safe for concurrent queries.
type DB struct {
	byName  map[string][]*entry
	records int
}

// entry is one record's view of one package, with its ranges parsed once.
type entry struct {
	rec      *record
	aff      []*affected
	ranges   [][]event
	versions map[string]bool // canonical version strings listed as affected
	always   bool            // some range affects every version (introduced 0, no upper bound)
}

type eventKind uint8

const (
	evIntroduced eventKind = iota
	evFixed
	evLastAffected
	evLimit
)

type event struct {
	kind eventKind
	zero bool // introduced "0": before every version
	raw  string
	v    semantic.PyPIVersion
}

// New returns an empty database; fill it with [DB.Add].
func New() *DB { return &DB{byName: map[string][]*entry{}} }

// Len is the number of records loaded (withdrawn and non-PyPI ones are not counted).
func (db *DB) Len() int { return db.records }

// Packages is the number of distinct packages with at least one record.
func (db *DB) Packages() int { return len(db.byName) }

// OpenZip reads an OSV zip: PyPI/all.zip from
// https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip, one JSON
// record per member.
func OpenZip(path string) (*DB, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("osv: open %s: %w", path, err)
	}
	defer zr.Close()
	if len(zr.File) > maxRecords {
		return nil, fmt.Errorf("osv: %s: %w", path, &safeio.LimitError{Limit: "osv records", Value: maxRecords})
	}
	db := New()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.EqualFold(filepath.Ext(f.Name), ".json") {
			continue
		}
		data, err := readMember(f)
		if err != nil {
			return nil, fmt.Errorf("osv: %s: %s: %w", path, f.Name, err)
		}
		if err := db.Add(data); err != nil {
			return nil, fmt.Errorf("osv: %s: %s: %w", path, f.Name, err)
		}
	}
	return db, nil
}

func readMember(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxRecordBytes {
		return nil, &safeio.LimitError{Limit: "osv record bytes", Value: maxRecordBytes}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r := safeio.RatioReader(safeio.LimitReader(rc, maxRecordBytes, "osv record bytes"), int64(f.CompressedSize64), maxZipRatio)
	return io.ReadAll(r)
}

// OpenDir reads every *.json file below dir (for example a checkout of
// ossf/malicious-packages' osv/ folder, or an unpacked all.zip).
func OpenDir(dir string) (*DB, error) {
	db := New()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
			return nil
		}
		if n++; n > maxRecords {
			return &safeio.LimitError{Limit: "osv records", Value: maxRecords}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(safeio.LimitReader(f, maxRecordBytes, "osv record bytes"))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := db.Add(data); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("osv: read %s: %w", dir, err)
	}
	return db, nil
}

// ErrNotOSV is returned by [DB.Add] for JSON that is not an OSV record.
var ErrNotOSV = errors.New("not an OSV record")

// Add indexes one JSON record. Withdrawn records, and records with no PyPI
// package, are ignored.
func (db *DB) Add(data []byte) error {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%w: %v", ErrNotOSV, err)
	}
	if r.ID == "" {
		return fmt.Errorf("%w: no id", ErrNotOSV)
	}
	if r.Withdrawn != "" {
		return nil
	}
	if r.Summary == "" {
		r.Summary = firstLine(r.Details)
	}
	r.Details = ""
	byPkg := map[string][]*affected{}
	var order []string
	for i := range r.Affected {
		a := &r.Affected[i]
		if !isPyPI(a.Package.Ecosystem) || a.Package.Name == "" {
			continue
		}
		n := pyparse.Normalize(a.Package.Name)
		if _, ok := byPkg[n]; !ok {
			order = append(order, n)
		}
		byPkg[n] = append(byPkg[n], a)
	}
	if len(order) == 0 {
		return nil
	}
	db.records++
	for _, n := range order {
		db.byName[n] = append(db.byName[n], newEntry(&r, byPkg[n]))
	}
	return nil
}

func newEntry(r *record, aff []*affected) *entry {
	e := &entry{rec: r, aff: aff}
	for _, a := range aff {
		for _, v := range a.Versions {
			if e.versions == nil {
				e.versions = make(map[string]bool, len(a.Versions))
			}
			e.versions[canonVersion(v)] = true
		}
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
				continue // GIT ranges name commits, not releases
			}
			evs := make([]event, 0, len(rg.Events))
			for _, je := range rg.Events {
				var ev event
				switch {
				case je.Introduced != "":
					ev = event{kind: evIntroduced, raw: je.Introduced, zero: je.Introduced == "0"}
				case je.Fixed != "":
					ev = event{kind: evFixed, raw: je.Fixed}
				case je.LastAffected != "":
					ev = event{kind: evLastAffected, raw: je.LastAffected}
				case je.Limit != "":
					ev = event{kind: evLimit, raw: je.Limit}
				default:
					continue
				}
				if !ev.zero {
					pv, err := semantic.ParsePyPIVersion(ev.raw)
					if err != nil {
						continue
					}
					ev.v = pv
				}
				evs = append(evs, ev)
			}
			sort.SliceStable(evs, func(i, j int) bool { return evLess(evs[i], evs[j]) })
			if len(evs) > 0 {
				e.ranges = append(e.ranges, evs)
				if evs[0].kind == evIntroduced && evs[0].zero && allIntroduced(evs) {
					e.always = true
				}
			}
		}
	}
	return e
}

func allIntroduced(evs []event) bool {
	for _, e := range evs {
		if e.kind != evIntroduced {
			return false
		}
	}
	return true
}

func evLess(a, b event) bool {
	switch {
	case a.zero && b.zero:
		return false
	case a.zero:
		return true
	case b.zero:
		return false
	}
	return cmpVersion(a.v, b.v) < 0
}

// canonVersion is the key of the versions fast path: lower case, no leading
// v, and no trailing ".0" release segments ("1.0" and "1" are equal in PEP 440).
func canonVersion(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "v")
	for strings.HasSuffix(s, ".0") && strings.Count(s, ".") > 0 && isRelease(s) {
		s = s[:len(s)-2]
	}
	return s
}

func isRelease(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// affects reports whether version (parsed as pv) is affected by e.
func (e *entry) affects(version string, pv semantic.PyPIVersion) bool {
	if e.versions[canonVersion(version)] {
		return true
	}
	for _, evs := range e.ranges {
		if inRange(pv, evs) {
			return true
		}
	}
	return false
}

// inRange is the schema's evaluation of one sorted event timeline.
func inRange(v semantic.PyPIVersion, evs []event) bool {
	affected := false
	for _, e := range evs {
		switch e.kind {
		case evIntroduced:
			if e.zero || cmpVersion(v, e.v) >= 0 {
				affected = true
			}
		case evFixed:
			if cmpVersion(v, e.v) >= 0 {
				affected = false
			}
		case evLastAffected:
			if cmpVersion(v, e.v) > 0 {
				affected = false
			}
		case evLimit:
			if cmpVersion(v, e.v) >= 0 {
				return false
			}
		}
	}
	return affected
}

// Query returns the advisories that affect version of the package name
// (any spelling: it is PEP 503 normalised), with duplicates under aliases
// merged. With version "", it returns only the advisories that affect
// every version (typically malicious-package reports), since nothing else
// can be decided for an unpinned requirement.
func (db *DB) Query(name, version string) []Vuln {
	if db == nil {
		return nil
	}
	entries := db.byName[pyparse.Normalize(name)]
	if len(entries) == 0 {
		return nil
	}
	var pv semantic.PyPIVersion
	if version != "" {
		var err error
		if pv, err = semantic.ParsePyPIVersion(version); err != nil {
			version = ""
		}
	}
	var out []Vuln
	for _, e := range entries {
		hit := false
		if version == "" {
			hit = e.always
		} else {
			hit = e.affects(version, pv)
		}
		if hit {
			out = append(out, e.rec.vuln(e.aff))
		}
	}
	return mergeAliases(out)
}

// mergeAliases sorts vulns by id and folds records that name each other as
// aliases (a PYSEC- and its GHSA-) into the first one.
func mergeAliases(vs []Vuln) []Vuln {
	if len(vs) < 2 {
		return vs
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	out := vs[:0]
	owner := map[string]int{} // id or alias → index in out
	for _, v := range vs {
		idx, dup := owner[v.ID]
		if !dup {
			for _, a := range v.Aliases {
				if idx, dup = owner[a]; dup {
					break
				}
			}
		}
		if dup {
			k := &out[idx]
			k.Malicious = k.Malicious || v.Malicious
			k.Aliases = appendNew(k.Aliases, append([]string{v.ID}, v.Aliases...)...)
			k.FixedIn = appendNew(k.FixedIn, v.FixedIn...)
			k.Severity = append(k.Severity, v.Severity...)
			if k.Rating == "" {
				k.Rating = v.Rating
			}
			owner[v.ID] = idx
			for _, a := range v.Aliases {
				owner[a] = idx
			}
			continue
		}
		out = append(out, v)
		owner[v.ID] = len(out) - 1
		for _, a := range v.Aliases {
			if _, ok := owner[a]; !ok {
				owner[a] = len(out) - 1
			}
		}
	}
	return out
}

func appendNew(dst []string, add ...string) []string {
	for _, s := range add {
		found := false
		for _, d := range dst {
			if d == s {
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, s)
		}
	}
	return dst
}

// cmpVersion compares two PyPI versions (Compare only fails across ecosystems).
func cmpVersion(a, b semantic.PyPIVersion) int {
	c, _ := a.Compare(b)
	return c
}
