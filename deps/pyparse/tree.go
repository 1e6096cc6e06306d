package pyparse

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// skipDirs are folders ParseTree does not enter: version control, other
// ecosystems, and installed environments (their files describe what is
// installed, not what the project declares).
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true,
	".venv": true, "venv": true, "site-packages": true, "__pycache__": true,
	".tox": true, ".nox": true, ".mypy_cache": true,
}

// ParseTree walks a project folder (or parses one file) and returns a
// Manifest for every dependency file found, in walk order, followed by the
// -r/-c includes that lie inside root (each file once, so include cycles end).
// A file that cannot be parsed is returned as a Manifest with a Problem.
// Includes outside root, URLs and missing files are not followed; each is
// a Problem of the including Manifest. Symbolic links are not followed.
// The error joins the limits that were hit (*safeio.LimitError) and I/O
// errors other than on root itself, which is returned alone.
func ParseTree(root string, lim Limits) ([]*Manifest, error) {
	t := &tree{root: filepath.Clean(root), lim: lim, seen: map[string]bool{}}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("pyparse: %w", err)
	}
	if !info.IsDir() {
		t.root = filepath.Dir(t.root)
		kind, ok := Detect(filepath.Base(root))
		if !ok {
			kind = KindRequirements
		}
		t.parse(root, kind, 0)
	} else {
		walked := 0
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				t.errs = append(t.errs, fmt.Errorf("pyparse: %w", err))
				return nil
			}
			walked++
			if lim.MaxWalk > 0 && walked > lim.MaxWalk {
				t.errs = append(t.errs, &safeio.LimitError{Limit: "MaxWalk", Value: int64(lim.MaxWalk), Detail: root})
				return filepath.SkipAll
			}
			if d.IsDir() {
				if p != root && skipDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			kind, ok := Detect(d.Name())
			if !ok && isRequirementsDir(filepath.Base(filepath.Dir(p))) {
				if ext := strings.ToLower(filepath.Ext(p)); ext == ".txt" || ext == ".in" {
					kind, ok = KindRequirements, true
				}
			}
			if ok && !t.parse(p, kind, 0) {
				return filepath.SkipAll
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("pyparse: %w", err)
		}
	}
	return t.out, errors.Join(t.errs...)
}

// isRequirementsDir reports folders that hold requirements files by
// convention (requirements/base.txt, requirements/dev.in).
func isRequirementsDir(name string) bool {
	n := strings.ToLower(name)
	return n == "requirements" || n == "reqs" || n == "requirements.d"
}

type tree struct {
	root     string
	lim      Limits
	seen     map[string]bool
	out      []*Manifest
	errs     []error
	files    int
	includes int
}

// parse parses one file and the includes it names; false when the file
// limit stops the walk.
func (t *tree) parse(p, kind string, depth int) bool {
	key := filepath.Clean(p)
	if t.seen[key] {
		return true
	}
	t.seen[key] = true
	t.files++
	if t.lim.MaxFiles > 0 && t.files > t.lim.MaxFiles {
		t.errs = append(t.errs, &safeio.LimitError{Limit: "MaxFiles", Value: int64(t.lim.MaxFiles), Detail: t.root})
		return false
	}
	data, err := readBounded(p, t.lim.MaxFileBytes)
	var m *Manifest
	if err == nil {
		m, err = ParseAs(kind, p, data, t.lim)
	}
	if m == nil {
		m = &Manifest{File: p, Kind: kind}
	}
	if err != nil {
		line := 0
		var se *SyntaxError
		if errors.As(err, &se) {
			line = se.Line
		}
		m.Problems = append(m.Problems, Problem{Line: line, Msg: err.Error()})
		if _, ok := safeio.IsLimit(err); ok || !errors.As(err, &se) {
			t.errs = append(t.errs, err)
		}
	}
	t.out = append(t.out, m)
	for _, inc := range m.Includes {
		if !t.follow(m, inc, depth+1) {
			return false
		}
	}
	return true
}

func (t *tree) follow(from *Manifest, inc string, depth int) bool {
	problem := func(format string, a ...any) {
		from.Problems = append(from.Problems, Problem{Msg: fmt.Sprintf(format, a...)})
	}
	if schemeRE.MatchString(inc) {
		problem("include %s is a URL: not followed", inc)
		return true
	}
	rel, err := filepath.Rel(t.root, inc)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		problem("include %s is outside %s: not followed", inc, t.root)
		return true
	}
	if t.seen[filepath.Clean(inc)] {
		return true // already parsed, or a cycle
	}
	if t.lim.MaxIncludeDepth > 0 && depth > t.lim.MaxIncludeDepth {
		t.errs = append(t.errs, &safeio.LimitError{Limit: "MaxIncludeDepth", Value: int64(t.lim.MaxIncludeDepth), Detail: inc})
		problem("include %s not followed: limit MaxIncludeDepth (%d) reached", inc, t.lim.MaxIncludeDepth)
		return true
	}
	t.includes++
	if t.lim.MaxIncludes > 0 && t.includes > t.lim.MaxIncludes {
		t.errs = append(t.errs, &safeio.LimitError{Limit: "MaxIncludes", Value: int64(t.lim.MaxIncludes), Detail: inc})
		problem("include %s not followed: limit MaxIncludes (%d) reached", inc, t.lim.MaxIncludes)
		return true
	}
	fi, err := os.Lstat(inc)
	if err != nil || !fi.Mode().IsRegular() {
		problem("include %s: not a regular file", inc)
		return true
	}
	return t.parse(inc, KindRequirements, depth)
}

// readBounded reads a file of at most max bytes (0: no bound).
func readBounded(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if max > 0 {
		r = io.LimitReader(f, max+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if max > 0 && int64(len(data)) > max {
		return nil, &safeio.LimitError{Limit: "MaxFileBytes", Value: max, Detail: p}
	}
	return data, nil
}
