package pyparse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches the limits too.
func fuzzLimits() Limits {
	l := DefaultLimits()
	l.MaxFileBytes = 1 << 20
	l.MaxLines = 2000
	l.MaxLineBytes = 4096
	l.MaxRequirements = 500
	return l
}

// checkManifest holds the invariants of every parse result.
func checkManifest(t *testing.T, m *Manifest, err error, data []byte) {
	t.Helper()
	if m == nil {
		if err == nil {
			t.Fatal("nil manifest without an error")
		}
		return
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, r := range m.Requirements {
		if r.Normalized != Normalize(r.Name) {
			t.Errorf("Normalized %q of %q, want %q", r.Normalized, r.Name, Normalize(r.Name))
		}
		if r.Line < 0 || r.Line > lines {
			t.Errorf("requirement %q on line %d of %d", r.Name, r.Line, lines)
		}
		if r.Source == "" {
			t.Errorf("requirement %q without a Source", r.Name)
		}
	}
	for _, p := range m.Problems {
		if p.Line < 0 || p.Line > lines {
			t.Errorf("problem %q on line %d of %d", p.Msg, p.Line, lines)
		}
	}
	if lim := fuzzLimits(); len(m.Requirements) > lim.MaxRequirements {
		t.Errorf("%d requirements, limit %d", len(m.Requirements), lim.MaxRequirements)
	}
}

func addSeeds(f *testing.F, glob string, extra ...string) {
	files, _ := filepath.Glob(glob)
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseRequirements(f *testing.F) {
	addSeeds(f, "testdata/proj/*.txt",
		"-e git+ssh://git@github.com/o/r.git@v1#egg=r[x]\n",
		"a[b,c] (>=1,<2) ; python_version<'3'\\\n --hash=sha256:00\n",
		"x @ file:///tmp/x.whl ; os_name=='nt'\n-rfoo.txt\n--index-url=${IDX}\n",
		"#comment \\\nname===1 # c\n\\\n\\",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseAs(KindRequirements, "dir/requirements.txt", data, fuzzLimits())
		checkManifest(t, m, err, data)
		var se *SyntaxError
		if errors.As(err, &se) {
			t.Errorf("requirements never have syntax errors: %v", err)
		}
	})
}

func FuzzParseTOMLFiles(f *testing.F) {
	files, _ := filepath.Glob("testdata/files/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && !bytes.HasPrefix(data, []byte("{")) {
			for k := range tomlKinds {
				f.Add(uint8(k), data)
			}
		}
	}
	f.Add(uint8(0), []byte("a = [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"))
	f.Add(uint8(1), []byte("[[package]]\nname = 1\n[[package]]\n"))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := tomlKinds[int(k)%len(tomlKinds)]
		m, err := ParseAs(kind, "x/"+kind, data, fuzzLimits())
		checkManifest(t, m, err, data)
	})
}

var tomlKinds = []string{KindPyproject, KindPoetryLock, KindUVLock, KindPylock}

// FuzzParseOtherFiles covers the JSON, YAML and INI formats.
func FuzzParseOtherFiles(f *testing.F) {
	for k, name := range []string{"Pipfile.lock", "environment.yml", "setup.cfg"} {
		if data, err := os.ReadFile(filepath.Join("testdata", "files", name)); err == nil {
			f.Add(uint8(k), data)
		}
	}
	f.Add(uint8(0), []byte(`{"default": {"a": {"version": "==1", "hashes": ["sha256:00"]}}, "_meta": {"sources": [{"url": "x"}]}}`))
	f.Add(uint8(1), []byte("dependencies:\n  - a::b=1=2\n  - pip: [\"-r x.txt\", \"c @ https://x/c.whl\"]\n"))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := otherKinds[int(k)%len(otherKinds)]
		m, err := ParseAs(kind, "x/"+kind, data, fuzzLimits())
		checkManifest(t, m, err, data)
	})
}

var otherKinds = []string{KindPipfileLock, KindConda, KindSetupCfg}
