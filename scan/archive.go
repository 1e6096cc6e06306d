package scan

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/bodgit/sevenzip"

	"github.com/aigis-sec/aigis/format/pickle"
	"github.com/aigis-sec/aigis/format/zipx"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

func isZip(h []byte) bool { return zipx.Sniff(h) }

var sevenZipMagic = []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}

func is7z(h []byte) bool { return bytes.HasPrefix(h, sevenZipMagic) }

// isTar recognises POSIX and GNU tar headers by the magic at offset 257 and
// a valid header checksum.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	magic := string(h[257:263])
	if magic != "ustar\x00" && magic != "ustar " {
		return false
	}
	var sum int64
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	field := strings.TrimRight(strings.TrimSpace(string(bytes.Trim(h[148:156], "\x00 "))), "\x00")
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	return want == sum
}

// Zip anomalies on an encrypted-flagged member are judged after its content
// is known: real encryption makes the member unscannable (incomplete); the
// flag on plaintext is the CVE-2025-1945 trick.
func encrypted(e *zipx.Entry) bool {
	return (e.Flags|e.LocalFlags)&(0x1|0x40) != 0
}

func (s *session) zip(b blob) string {
	ra, size, cleanup, err := s.materialize(b)
	if err != nil {
		s.fail(b.loc, err)
		return "zip"
	}
	defer cleanup()
	a, err := zipx.Open(ra, size, zipx.LimitsFrom(s.opt.Limits))
	if a == nil {
		s.fail(b.loc, fmt.Errorf("zip: %w", err))
		return "zip"
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("zip: %w", err))
	}
	art := &checks.Artifact{Loc: b.loc, Kind: checks.KindContainer}
	for _, an := range a.Anomalies {
		art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Kind: "zip-" + an.Kind, Detail: an.Detail})
	}
	kind := zipKind(a)
	// Pickles first, so the storages they reference are known: those
	// members are raw tensor bytes that no loader unpickles.
	entries := append([]*zipx.Entry(nil), a.Entries...)
	sort.SliceStable(entries, func(i, j int) bool {
		return strings.HasSuffix(entries[i].Name, ".pkl") && !strings.HasSuffix(entries[j].Name, ".pkl")
	})
	byName := map[string]*zipx.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	storages := map[string]bool{} // member names of storages named by a pickle
	var tensors []*checks.Artifact
	for _, e := range entries {
		if strings.HasSuffix(e.Name, "/") && e.UncompressedSize == 0 {
			continue
		}
		if storages[e.Name] {
			continue
		}
		parsed := func(res *pickle.Result) {
			// PyTorch reads the storages of <dir>/data.pkl from <dir>/data/
			// and those of constants.pkl (TorchScript) from <dir>/constants/.
			folder := strings.TrimSuffix(e.Name, ".pkl")
			refs := checks.StorageRefs(res)
			if len(refs) == 0 {
				return
			}
			art := &checks.Artifact{Loc: b.loc.Child(e.Name), Kind: checks.KindTensors, Pickle: res,
				Storages: map[string]checks.StorageBlob{}}
			for _, ref := range refs {
				name := path.Join(folder, ref.Key)
				storages[name] = true
				if se, ok := byName[name]; ok {
					art.Storages[ref.Key] = checks.StorageBlob{Size: int64(se.UncompressedSize), Read: s.storageReader(a, se)}
				}
			}
			tensors = append(tensors, art)
		}
		memberKind, dataAnoms := s.zipMember(b, a, e, ra, size, parsed)
		enc := encrypted(e)
		for _, an := range append(append([]zipx.Anomaly(nil), e.Anomalies...), dataAnoms...) {
			if an.Kind == zipx.AnomalyFlags && enc && memberKind == "" {
				continue // real encryption: reported as such below
			}
			if enc && memberKind == "" && (an.Kind == zipx.AnomalyCRC || an.Kind == zipx.AnomalySize) {
				continue // ciphertext does not match the plaintext CRC
			}
			k := "zip-" + an.Kind
			if an.Kind == zipx.AnomalyPath {
				k = checks.AnomalyPathKind
			}
			art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Member: e.Name, Kind: k, Detail: an.Detail, Offset: e.HeaderOffset})
		}
		if enc && memberKind == "" {
			loc := b.loc.Child(e.Name)
			s.findings = append(s.findings, newFinding(checks.RuleEncrypted, loc, "the member is encrypted and could not be scanned"))
			s.incomplete = append(s.incomplete, incompleteAt(loc, "encrypted member"))
		} else if enc {
			art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Member: e.Name, Kind: "zip-encrypted-flag-on-plaintext",
				Detail: fmt.Sprintf("flagged as encrypted but stored in plaintext (%s): Python's zipfile refuses it, PyTorch loads it (CVE-2025-1945)", memberKind), Offset: e.HeaderOffset})
		}
	}
	for _, t := range tensors {
		s.emit(t)
	}
	if kind == "keras" {
		if e, ok := byName["config.json"]; ok {
			if r, err := a.Open(e); err == nil {
				s.kerasConfig(b.loc.Child(e.Name), safeio.LimitReader(r, s.opt.Limits.MaxMemberBytes, "MaxMemberBytes"))
				r.Close()
			} else {
				s.fail(b.loc.Child(e.Name), err)
			}
		}
	}
	s.emit(art)
	return kind
}

// storageReader reads up to max bytes of a storage member, for the checks
// of sparse tensor indices.
func (s *session) storageReader(a *zipx.Archive, e *zipx.Entry) func(max int64) ([]byte, error) {
	return func(max int64) ([]byte, error) {
		r, err := a.Open(e)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(io.LimitReader(r, max))
	}
}

// zipMember analyses one member. It returns the member's kind ("" when its
// bytes are not recognised) and the anomalies found while reading its data.
func (s *session) zipMember(b blob, a *zipx.Archive, e *zipx.Entry, ra io.ReaderAt, size int64, parsed func(*pickle.Result)) (string, []zipx.Anomaly) {
	loc := b.loc.Child(e.Name)
	zr, err := a.Open(e)
	if err != nil {
		if errors.Is(err, zipx.ErrUnsupportedMethod) && encrypted(e) {
			return "", nil
		}
		s.fail(loc, err)
		return "", nil
	}
	defer zr.Close()
	var r io.Reader = zr
	r = safeio.RatioReader(r, int64(e.CompressedSize), s.opt.Limits.MaxRatio)
	r = safeio.LimitReader(r, s.opt.Limits.MaxMemberBytes, "MaxMemberBytes")
	r = s.budget(r)
	child := blob{loc: loc, r: r, size: int64(e.UncompressedSize), depth: b.depth + 1, nested: b.nested, name: e.Name, parsed: parsed}
	if e.Method == zipx.Store && e.DataOffset >= 0 && !encrypted(e) {
		n := int64(e.CompressedSize)
		if e.DataOffset+n > size {
			n = max(0, size-e.DataOffset)
		}
		child.ra = io.NewSectionReader(ra, e.DataOffset, n)
		child.size = n
	}
	kind := s.member(child)
	if kind == "unknown" {
		return "", nil
	}
	// A pickle or small member was read through zr: finish it so its CRC is
	// checked (CVE-2025-10156). Large data members are not read whole.
	if kind != "zip" && kind != "7z" && e.UncompressedSize <= 256<<20 {
		if _, err := io.Copy(io.Discard, r); err != nil {
			s.fail(loc, err)
		}
		return kind, zr.Anomalies()
	}
	return kind, nil
}

// member analyses a container member. Formats that need random access use
// ra when the member is stored; everything else streams through r (so the
// zip reader's CRC check sees the bytes).
func (s *session) member(b blob) string {
	if b.ra == nil {
		return s.blob(b)
	}
	h := make([]byte, sniffLen)
	n, err := b.ra.ReadAt(h, 0)
	if err != nil && err != io.EOF {
		s.fail(b.loc, err)
		return "unknown"
	}
	if isZip(h[:n]) || is7z(h[:n]) {
		b.r = nil
		return s.blob(b)
	}
	b.ra = nil
	return s.blob(b)
}

func zipKind(a *zipx.Archive) string {
	var pkl, constants, code, npyN, keras int
	for _, e := range a.Entries {
		base := path.Base(e.Name)
		switch {
		case base == "data.pkl":
			pkl++
		case base == "constants.pkl":
			constants++
		case strings.Contains(e.Name, "/code/"):
			code++
		case strings.HasSuffix(base, ".npy"):
			npyN++
		case e.Name == "config.json" || e.Name == "metadata.json":
			keras++
		}
	}
	switch {
	case constants > 0 && code > 0:
		return "torchscript"
	case pkl > 0:
		return "pytorch-zip"
	case npyN > 0 && npyN == len(a.Entries):
		return "npz"
	case keras == 2:
		return "keras"
	}
	return "zip"
}

func (s *session) sevenZip(b blob) string {
	ra, size, cleanup, err := s.materialize(b)
	if err != nil {
		s.fail(b.loc, err)
		return "7z"
	}
	defer cleanup()
	r, err := sevenzip.NewReader(ra, size)
	if err != nil {
		if strings.Contains(err.Error(), "password") {
			s.findings = append(s.findings, newFinding(checks.RuleEncrypted, b.loc, "the 7z archive is encrypted and could not be scanned"))
			s.incomplete = append(s.incomplete, incompleteAt(b.loc, "encrypted archive"))
			return "7z"
		}
		s.fail(b.loc, fmt.Errorf("7z: %w", err))
		return "7z"
	}
	art := &checks.Artifact{Loc: b.loc, Kind: checks.KindContainer}
	for i, f := range r.File {
		if i >= s.opt.Limits.MaxEntries {
			s.fail(b.loc, &safeio.LimitError{Limit: "MaxEntries", Value: int64(s.opt.Limits.MaxEntries)})
			break
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if why := badPath(f.Name); why != "" {
			art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Member: f.Name, Kind: checks.AnomalyPathKind, Detail: why})
		}
		loc := b.loc.Child(f.Name)
		rc, err := f.Open()
		if err != nil {
			s.fail(loc, fmt.Errorf("7z: %w", err))
			continue
		}
		var rr io.Reader = safeio.LimitReader(rc, s.opt.Limits.MaxMemberBytes, "MaxMemberBytes")
		rr = s.budget(rr)
		s.blob(blob{loc: loc, r: rr, size: int64(f.UncompressedSize), depth: b.depth + 1, nested: b.nested, name: f.Name})
		rc.Close()
	}
	s.emit(art)
	return "7z"
}

func (s *session) tar(b blob) string {
	tr := tar.NewReader(b.reader())
	art := &checks.Artifact{Loc: b.loc, Kind: checks.KindContainer}
	kind := "tar"
	names := map[string]bool{}
	for i := 0; ; i++ {
		if i >= s.opt.Limits.MaxEntries {
			s.fail(b.loc, &safeio.LimitError{Limit: "MaxEntries", Value: int64(s.opt.Limits.MaxEntries)})
			break
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.fail(b.loc, fmt.Errorf("tar: %w", err))
			break
		}
		if why := badPath(h.Name); why != "" {
			art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Member: h.Name, Kind: checks.AnomalyPathKind, Detail: why})
		}
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			target := h.Linkname
			if h.Typeflag == tar.TypeSymlink && !path.IsAbs(target) {
				target = path.Join(path.Dir(h.Name), target)
			}
			if why := badPath(target); why != "" {
				art.Anomalies = append(art.Anomalies, checks.ContainerAnomaly{Member: h.Name, Kind: checks.AnomalyPathKind,
					Detail: fmt.Sprintf("link to %q: %s", h.Linkname, why)})
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			continue
		}
		names[path.Base(h.Name)] = true
		r := s.budget(safeio.LimitReader(tr, s.opt.Limits.MaxMemberBytes, "MaxMemberBytes"))
		s.blob(blob{loc: b.loc.Child(h.Name), r: r, size: h.Size, depth: b.depth + 1, nested: b.nested, name: h.Name})
	}
	if names["sys_info"] && names["pickle"] {
		kind = "pytorch-legacy-tar"
	}
	s.emit(art)
	return kind
}

// badPath says why an archive member name would be extracted outside the
// destination folder, or "".
func badPath(name string) string {
	n := strings.ReplaceAll(name, "\\", "/")
	switch {
	case strings.HasPrefix(n, "/"):
		return "absolute path"
	case len(n) >= 2 && n[1] == ':':
		return "absolute Windows path"
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "climbs out of the extraction folder with '..'"
		}
	}
	return ""
}
