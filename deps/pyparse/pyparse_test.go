package pyparse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Flask_Login": "flask-login", "zope.interface": "zope-interface",
		"A-_.b": "a-b", "torch": "torch", "": "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetect(t *testing.T) {
	for base, want := range map[string]string{
		"requirements.txt": KindRequirements, "requirements-dev.txt": KindRequirements,
		"dev-requirements.in": KindRequirements, "constraints.txt": KindRequirements,
		"pyproject.toml": KindPyproject, "poetry.lock": KindPoetryLock, "uv.lock": KindUVLock,
		"Pipfile.lock": KindPipfileLock, "pylock.toml": KindPylock, "pylock.prod.toml": KindPylock,
		"environment.yml": KindConda, "environment.yaml": KindConda, "setup.cfg": KindSetupCfg,
		"pylock.a.b.toml": "", "README.txt": "", "Pipfile": "", "package.json": "",
	} {
		got, ok := Detect(base)
		if got != want || ok != (want != "") {
			t.Errorf("Detect(%q) = %q, %v; want %q", base, got, ok, want)
		}
	}
}

// req is the part of a Requirement the tables assert.
type req struct {
	Name, Spec, Version, Marker, URL, VCS, Ref, Group, Index string
	Extras, Hashes                                           []string
	Line                                                     int
	Editable, Locked                                         bool
}

func reqs(m *Manifest) []req {
	var out []req
	for _, r := range m.Requirements {
		out = append(out, req{Name: r.Name, Spec: r.Specifier, Version: r.Version, Marker: r.Marker, URL: r.URL,
			VCS: r.VCS, Ref: r.Ref, Group: r.Group, Index: r.Index, Extras: r.Extras, Hashes: r.Hashes,
			Line: r.Line, Editable: r.Editable, Locked: r.Locked})
	}
	return out
}

func parseFile(t *testing.T, p string) *Manifest {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	kind, ok := Detect(filepath.Base(p))
	if !ok {
		kind = KindPyproject // poetry-pyproject.toml
	}
	m, err := ParseAs(kind, p, data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Requirements {
		if r.File != p || r.Source == "" || r.Normalized != Normalize(r.Name) {
			t.Errorf("%s: bad File/Source/Normalized: %+v", p, r)
		}
	}
	return m
}

var sortReqs = cmpopts.SortSlices(func(a, b req) bool { return a.Line < b.Line || a.Line == b.Line && a.Name < b.Name })

func TestFiles(t *testing.T) {
	const sha = "sha256:"
	tests := []struct {
		file     string
		want     []req
		indexes  []Index
		includes []string
		problems int
	}{
		{
			file: "testdata/proj/requirements.txt",
			want: []req{
				{Name: "torch", Spec: "==2.1.0+cu121", Version: "2.1.0+cu121", Marker: `sys_platform == "linux"`, Line: 9},
				{Name: "requests", Spec: ">=2.31,<3", Extras: []string{"security", "socks"}, Line: 10},
				{Name: "numpy", Spec: "==1.26.4", Version: "1.26.4", Line: 11, Hashes: []string{
					sha + "9ff0f4f29c51e2803569d7a51c2304de5554655a60c5d776e35b4a41413830d0",
					sha + "666dbfb6ec68962c033a450943ded891bed2d54e6755e35e5835d63f4f6931d5"}},
				{Name: "transformers", URL: "git+https://github.com/huggingface/transformers.git@v4.36.0#egg=transformers", VCS: "git", Ref: "v4.36.0", Editable: true, Line: 14},
				{Name: "private-pkg", URL: "https://${TOKEN}@pkgs.example.com/private_pkg-1.0-py3-none-any.whl#sha256=abcdef", Hashes: []string{"sha256:abcdef"}, Line: 15},
				{Name: "simple", URL: "https://files.example.com/simple-0.1.tar.gz", Line: 16},
				{URL: "./local/pkg", Extras: []string{"dev"}, Line: 17},
				{Name: "Flask_Login", Spec: ">=0.6", Line: 18},
			},
			indexes: []Index{
				{URL: "https://pypi.org/simple", Kind: "index-url", Line: 2},
				{URL: "https://download.pytorch.org/whl/cu121", Kind: "extra-index-url", Line: 3},
				{URL: "internal.example.com", Kind: "trusted-host", Line: 4},
				{URL: "https://example.com/wheels/", Kind: "find-links", Line: 5},
			},
			includes: []string{filepath.Join("testdata", "proj", "requirements", "base.in"), filepath.Join("testdata", "proj", "constraints.txt")},
			problems: 2, // "bad line here !!" and "--frobnicate"
		},
		{
			file: "testdata/files/pyproject.toml",
			want: []req{
				{Name: "setuptools", Spec: ">=68", Group: "build-system", Line: 2},
				{Name: "wheel", Group: "build-system", Line: 2},
				{Name: "torch", Spec: ">=2.1", Index: "pytorch", Line: 10},
				{Name: "transformers", Spec: "==4.36.0", Version: "4.36.0", Extras: []string{"torch"}, Line: 11},
				{Name: "numpy", Spec: "<2", Marker: `python_version < "3.12"`, Line: 12},
				{Name: "internal-utils", URL: "https://github.com/example/internal-utils", VCS: "git", Ref: "v1.2.0", Line: 13},
				{Name: "fastapi", Spec: ">=0.110", Group: "serve", Line: 17},
				{Name: "uvicorn", Extras: []string{"standard"}, Group: "serve", Line: 17},
				{Name: "ruff", Spec: "==0.4.4", Version: "0.4.4", Group: "lint", Line: 21},
				{Name: "pytest", Spec: ">=8", Group: "test", Line: 20},
				{Name: "ipython", Group: "dev", Line: 25},
			},
			indexes: []Index{
				{URL: "https://download.pytorch.org/whl/cu121", Kind: "uv-index", Name: "pytorch", Priority: "explicit", Strategy: "unsafe-best-match", Line: 29},
				{URL: "https://pkgs.example.com/simple", Kind: "uv-index", Name: "internal", Strategy: "unsafe-best-match", Line: 34},
			},
		},
		{
			file: "testdata/files/poetry-pyproject.toml",
			want: []req{
				{Name: "requests", Spec: "^2.31", Line: 8},
				{Name: "pandas", Spec: "2.2.1", Version: "2.2.1", Line: 9},
				{Name: "private-lib", Spec: "^1.0", Index: "private", Line: 10},
				{Name: "mylib", URL: "https://github.com/example/mylib.git", VCS: "git", Ref: "4f1e2d3", Line: 11},
				{Name: "accelerate", Spec: ">=0.25", Extras: []string{"testing"}, Marker: "sys_platform == 'linux'", Line: 12},
				{Name: "pytest", Spec: "^8.0", Group: "dev", Line: 15},
			},
			indexes: []Index{{URL: "https://pypi.example.com/simple/", Kind: "poetry-source", Name: "private", Priority: "supplemental", Line: 19}},
		},
		{
			file: "testdata/files/poetry.lock",
			want: []req{
				{Name: "certifi", Spec: "==2024.2.2", Version: "2024.2.2", Locked: true, Line: 4, Hashes: []string{
					sha + "dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1",
					sha + "0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f"}},
				{Name: "mylib", Spec: "==0.3.0", Version: "0.3.0", Locked: true, Line: 15, URL: "https://github.com/example/mylib.git", VCS: "git", Ref: "4f1e2d3a9c8b7e6f5d4c3b2a1f0e9d8c7b6a5f4e"},
				{Name: "private-lib", Spec: "==1.0.3", Version: "1.0.3", Locked: true, Line: 30, Index: "https://pypi.example.com/simple",
					Hashes: []string{sha + "1111111111111111111111111111111111111111111111111111111111111111"}},
			},
		},
		{
			file: "testdata/files/uv.lock",
			want: []req{
				{Name: "demo-app", Spec: "==0.1.0", Version: "0.1.0", Locked: true, Editable: true, URL: ".", Line: 5},
				{Name: "idna", Spec: "==3.7", Version: "3.7", Locked: true, Index: "https://pypi.org/simple", Line: 13, Hashes: []string{
					sha + "028ff3aadf0609c1fd278d8ea3089299412a7a8b9bd005dd08b9f8285bcb5cfc",
					sha + "82fee1fc78add43492d3a1898bfa6d8a904cc97d8427f683ed8e798d07761aa0"}},
				{Name: "internal-utils", Spec: "==1.2.0", Version: "1.2.0", Locked: true, Line: 22, VCS: "git",
					URL: "https://github.com/example/internal-utils?tag=v1.2.0#0123456789abcdef0123456789abcdef01234567", Ref: "0123456789abcdef0123456789abcdef01234567"},
				{Name: "torch", Spec: "==2.1.0+cu121", Version: "2.1.0+cu121", Locked: true, Line: 27, Index: "https://download.pytorch.org/whl/cu121",
					Hashes: []string{sha + "0d4e8c52a1fcf5ed6cfc256d9a370fcf4360958fc79d0b08a51d55e70914df46"}},
			},
		},
		{
			file: "testdata/files/pylock.toml",
			want: []req{
				{Name: "attrs", Spec: "==23.2.0", Version: "23.2.0", Locked: true, Index: "https://pypi.org/simple", Line: 7,
					Hashes: []string{sha + "99b87a485a5820b23b879f04c2305b44b951b502fd64be915879d77a7e8fc6f1"}},
				{Name: "tool", Spec: "==0.9", Version: "0.9", Locked: true, Marker: "python_version >= '3.11'", Line: 18,
					VCS: "git", URL: "https://github.com/example/tool.git", Ref: "89abcdef0123456789abcdef0123456789abcdef"},
			},
		},
		{
			file: "testdata/files/Pipfile.lock",
			want: []req{
				{Name: "requests", Spec: "==2.31.0", Version: "2.31.0", Locked: true, Index: "pypi", Marker: "python_version >= '3.7'", Line: 24,
					Hashes: []string{sha + "58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"}},
				{Name: "mylib", Locked: true, URL: "https://github.com/example/mylib.git", VCS: "git", Ref: "4f1e2d3a9c8b7e6f5d4c3b2a1f0e9d8c7b6a5f4e", Line: 32},
				{Name: "pytest", Spec: "==8.1.1", Version: "8.1.1", Locked: true, Index: "internal", Group: "dev", Hashes: []string{}, Line: 38},
			},
			indexes: []Index{
				{URL: "https://pypi.org/simple", Kind: "pipfile-source", Name: "pypi", Line: 13},
				{URL: "http://pkgs.example.com/simple", Kind: "pipfile-source", Name: "internal", NoVerifySSL: true, Line: 18},
			},
		},
		{
			file: "testdata/files/environment.yml",
			want: []req{
				{Name: "python", Spec: "=3.11", Line: 6},
				{Name: "pytorch", Spec: "=2.1.0=py3.11_cuda12.1_cudnn8.9.2_0", Version: "2.1.0", Index: "pytorch", Line: 7},
				{Name: "numpy", Spec: ">=1.26", Line: 8},
				{Name: "pip", Line: 9},
				{Name: "transformers", Spec: "==4.36.0", Version: "4.36.0", Line: 12},
			},
			indexes: []Index{
				{URL: "pytorch", Kind: "conda-channel", Line: 3},
				{URL: "conda-forge", Kind: "conda-channel", Line: 4},
				{URL: "https://pkgs.example.com/simple", Kind: "extra-index-url", Line: 11},
			},
			includes: []string{filepath.Join("testdata", "files", "requirements-extra.txt")},
		},
		{
			file: "testdata/files/setup.cfg",
			want: []req{
				{Name: "click", Spec: ">=8.0", Line: 7},
				{Name: "importlib-metadata", Marker: `python_version<"3.8"`, Line: 8},
				{Name: "setuptools_scm", Group: "build-system", Line: 9},
				{Name: "sphinx", Spec: "==7.2.6", Version: "7.2.6", Group: "docs", Line: 13},
			},
		},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			m := parseFile(t, tt.file)
			if diff := cmp.Diff(tt.want, reqs(m), sortReqs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requirements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.indexes, m.Indexes, cmpopts.IgnoreFields(Index{}, "File"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("indexes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.includes, m.Includes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("includes (-want +got):\n%s", diff)
			}
			if len(m.Problems) != tt.problems {
				t.Errorf("problems: %+v, want %d", m.Problems, tt.problems)
			}
		})
	}
}

func TestRequirementLines(t *testing.T) {
	tests := []struct {
		line string
		want req
	}{
		{"foo", req{Name: "foo"}},
		{"foo==1.0.*", req{Name: "foo", Spec: "==1.0.*"}},
		{"foo===weird", req{Name: "foo", Spec: "===weird", Version: "weird"}},
		{"foo >= 1.0 , < 2", req{Name: "foo", Spec: ">=1.0,<2"}},
		{"foo@https://x.org/foo.zip", req{Name: "foo", URL: "https://x.org/foo.zip"}},
		{"foo @ git+https://github.com/o/foo@abc123 ; python_version>'3'", req{Name: "foo", URL: "git+https://github.com/o/foo@abc123", VCS: "git", Ref: "abc123", Marker: "python_version>'3'"}},
		{"-e git+ssh://git@github.com/o/r.git@v1#egg=r", req{Name: "r", URL: "git+ssh://git@github.com/o/r.git@v1#egg=r", VCS: "git", Ref: "v1", Editable: true}},
		{"git+https://github.com/o/r.git#egg=r", req{Name: "r", URL: "git+https://github.com/o/r.git#egg=r", VCS: "git"}},
		{"hg+https://hg.example.com/repo@tip#egg=repo", req{Name: "repo", URL: "hg+https://hg.example.com/repo@tip#egg=repo", VCS: "hg", Ref: "tip"}},
		{"${PKG}==1.0", req{Name: "${PKG}", Spec: "==1.0", Version: "1.0"}},
		{"foo --hash sha256:aa --hash=sha512:bb", req{Name: "foo", Hashes: []string{"sha256:aa", "sha512:bb"}}},
		{"dist/foo-1.0-py3-none-any.whl", req{Name: "foo", URL: "dist/foo-1.0-py3-none-any.whl"}},
	}
	for _, tt := range tests {
		m, err := ParseAs(KindRequirements, "requirements.txt", []byte(tt.line), DefaultLimits())
		if err != nil || len(m.Problems) > 0 || len(m.Requirements) != 1 {
			t.Errorf("%q: err %v, problems %+v, %d requirements", tt.line, err, m.Problems, len(m.Requirements))
			continue
		}
		tt.want.Line = 1
		if diff := cmp.Diff(tt.want, reqs(m)[0], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestBadRequirementLines(t *testing.T) {
	for _, line := range []string{"foo bar", "foo[", "foo ==", "foo;", "!!", "foo @", "foo --hash", "--hash=sha256:aa", "foo --hash=nocolon"} {
		m, err := ParseAs(KindRequirements, "requirements.txt", []byte("ok\n"+line+"\n"), DefaultLimits())
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if len(m.Problems) == 0 || m.Problems[0].Line != 2 {
			t.Errorf("%q: problems %+v, want one on line 2", line, m.Problems)
		}
	}
}

func TestContinuationAndComments(t *testing.T) {
	data := "# a comment \\\nfoo==1 \\\n  --hash=sha256:aa \\\n  --hash=sha256:bb # trailing\nbar#notacomment\r\nbaz # comment\n"
	m, err := ParseAs(KindRequirements, "r.txt", []byte(data), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := []req{
		{Name: "foo", Spec: "==1", Version: "1", Hashes: []string{"sha256:aa", "sha256:bb"}, Line: 2},
		{Name: "baz", Line: 6},
	}
	if diff := cmp.Diff(want, reqs(m), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// "bar#notacomment" is not a valid name: a problem, not a silent drop.
	if len(m.Problems) != 1 || m.Problems[0].Line != 5 {
		t.Errorf("problems %+v", m.Problems)
	}
}

func TestParseTree(t *testing.T) {
	ms, err := ParseTree("testdata/proj", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, m := range ms {
		files = append(files, filepath.ToSlash(m.File))
	}
	want := []string{"testdata/proj/constraints.txt", "testdata/proj/requirements/base.in", "testdata/proj/requirements.txt"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestParseTreeHostile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A cycle, a self-include, an include outside the tree, a URL, a
	// missing file, a deep chain, and folders that must be skipped.
	write("requirements.txt", "-r a.txt\n-r requirements.txt\n-r ../../etc/passwd\n-r https://x.org/r.txt\n-r missing.txt\n-r chain0.txt\nfoo\n")
	write("a.txt", "-c requirements.txt\nbar\n")
	for i := 0; i < 30; i++ {
		write("chain"+itoa(i)+".txt", "-r chain"+itoa(i+1)+".txt\n")
	}
	write(".venv/lib/requirements.txt", "evil\n")
	write("node_modules/x/requirements.txt", "evil\n")
	write("pyproject.toml", "[project\nbroken")
	lim := DefaultLimits()
	lim.MaxIncludeDepth = 5
	ms, err := ParseTree(dir, lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxIncludeDepth" {
		t.Errorf("err = %v, want MaxIncludeDepth", err)
	}
	var problems []string
	for _, m := range ms {
		for _, r := range m.Requirements {
			if r.Name == "evil" {
				t.Errorf("parsed a skipped folder: %s", m.File)
			}
		}
		for _, p := range m.Problems {
			problems = append(problems, p.Msg)
		}
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"outside", "is a URL", "missing.txt", "syntax error on line 1", "MaxIncludeDepth"} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem mentioning %q in:\n%s", want, all)
		}
	}
	if len(ms) > 10 {
		t.Errorf("%d manifests; the include depth limit did not hold", len(ms))
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

func TestHostileInputs(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxLineBytes = 1 << 10
	lim.MaxRequirements = 10
	lim.MaxLines = 100

	// A huge line is skipped with a problem; the next line is still read.
	m, err := ParseAs(KindRequirements, "r.txt", []byte("a"+strings.Repeat("b", 4<<10)+"\nok==1\n"), lim)
	if err != nil || len(m.Requirements) != 1 || len(m.Problems) != 1 || m.Problems[0].Line != 1 {
		t.Errorf("huge line: %v %+v %+v", err, m.Requirements, m.Problems)
	}
	// A huge continued line too.
	lim2 := lim
	lim2.MaxLines = 10000
	m, _ = ParseAs(KindRequirements, "r.txt", []byte(strings.Repeat("x\\\n", 2000)+"\n"), lim2)
	if len(m.Requirements) != 0 || len(m.Problems) != 1 {
		t.Errorf("continued line: %+v %+v", m.Requirements, m.Problems)
	}
	// Too many requirements and lines are limit errors with partial results.
	_, err = ParseAs(KindRequirements, "r.txt", []byte(strings.Repeat("a\n", 50)), lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxRequirements" {
		t.Errorf("requirements limit: %v", err)
	}
	m, err = ParseAs(KindRequirements, "r.txt", []byte(strings.Repeat("#\n", 500)), lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxLines" || m == nil {
		t.Errorf("lines limit: %v", err)
	}
	m, err = ParseAs(KindUVLock, "uv.lock", []byte(strings.Repeat("[[package]]\nname = \"a\"\n", 50)), lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxRequirements" || len(m.Requirements) != 10 {
		t.Errorf("uv.lock requirements limit: %v", err)
	}
	// A file over the size limit is refused.
	lim.MaxFileBytes = 100
	if _, err := ParseAs(KindPyproject, "pyproject.toml", make([]byte, 101), lim); err == nil {
		t.Error("no error for a file over MaxFileBytes")
	}

	// Malformed structured files are errors with a line, never panics.
	for _, tc := range []struct{ kind, data string }{
		{KindPyproject, "[project]\ndependencies = [\n"},
		{KindUVLock, "version = 1\n[[package]\n"},
		{KindPoetryLock, "a = " + strings.Repeat("[", 100000)},
		{KindPylock, "x = \"\\uD800\""},
		{KindPipfileLock, "{\"default\": {\"a\": {\"version\": 1}}}"},
		{KindPipfileLock, "[]"},
		{KindPipfileLock, "{\"default\": " + strings.Repeat("[", 20000)},
		{KindConda, "dependencies: [" + strings.Repeat("[", 20000)},
	} {
		m, err := ParseAs(tc.kind, "f", []byte(tc.data), DefaultLimits())
		var se *SyntaxError
		if m != nil || !errors.As(err, &se) {
			t.Errorf("%s %.40q: %v, %v; want a *SyntaxError", tc.kind, tc.data, m, err)
		}
	}
	// YAML aliases are not expanded: no billion laughs.
	m, err = ParseAs(KindConda, "environment.yml", []byte("a: &a [x, y]\nb: &b [*a, *a, *a]\ndependencies: [*b, numpy]\n"), DefaultLimits())
	if err != nil || len(m.Requirements) != 1 {
		t.Errorf("aliases: %v %+v", err, m)
	}
	// Wrong types in well-formed TOML are problems, not errors.
	m, err = ParseAs(KindPyproject, "pyproject.toml", []byte("[project]\ndependencies = [1, \"ok\", \"bad name!\"]\n[build-system]\nrequires = 3\n"), DefaultLimits())
	if err != nil || len(m.Requirements) != 1 || len(m.Problems) != 3 {
		t.Errorf("wrong types: %v %+v %+v", err, m.Requirements, m.Problems)
	}
}

// TestNoQuadraticLines guards the line-locating scans against inputs made
// to be slow: many Poetry keys, and many strings the scan cannot find.
func TestNoQuadraticLines(t *testing.T) {
	var p, e strings.Builder
	p.WriteString("[tool.poetry.dependencies]\n")
	e.WriteString("[project]\ndependencies = [\n")
	for i := 0; i < 50000; i++ {
		if i < 4000 {
			fmt.Fprintf(&p, "pkg%d = \"^1.0\"\n", i)
		}
		fmt.Fprintf(&e, "\"pkg\\u00%d\",\n", 30+i%10)
	}
	e.WriteString("]\n")
	for i, data := range []string{p.String(), e.String()} {
		start := time.Now()
		m, err := ParseAs(KindPyproject, "pyproject.toml", []byte(data), DefaultLimits())
		if err != nil || len(m.Requirements) != []int{4000, 50000}[i] {
			t.Fatalf("%v, %d requirements", err, len(m.Requirements))
		}
		if m.Requirements[len(m.Requirements)-1].Line == 0 {
			t.Error("no line")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	}
	// More keys than MaxTOMLKeys in one run are refused before decoding.
	var big strings.Builder
	big.WriteString("[tool.poetry.dependencies]\n")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&big, "p%d = \"1\"\n", i)
	}
	_, err := ParseAs(KindPyproject, "pyproject.toml", []byte(big.String()), DefaultLimits())
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxTOMLKeys" {
		t.Errorf("100,000 keys: %v, want MaxTOMLKeys", err)
	}
}

func TestRequirementOptions(t *testing.T) {
	data := "--requirement=a.txt\n-rb.txt\n--constraint c.txt\n-r https://x.org/r.txt\n-r /abs/r.txt\n" +
		"--index-url=https://${USER}:${PASS}@pkgs.example.com/simple\n-i http://insecure.example.com/simple\n" +
		"--find-links=./wheels\n--no-index\n--pre\n--require-hashes\n--only-binary :all:\n--no-binary=foo\n" +
		"foo==1 --config-settings key=val --global-option=--x\n"
	m, err := ParseAs(KindRequirements, filepath.Join("d", "requirements.txt"), []byte(data), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	wantInc := []string{filepath.Join("d", "a.txt"), filepath.Join("d", "b.txt"), filepath.Join("d", "c.txt"), "https://x.org/r.txt", "/abs/r.txt"}
	if diff := cmp.Diff(wantInc, m.Includes); diff != "" {
		t.Errorf("includes (-want +got):\n%s", diff)
	}
	wantIdx := []Index{
		{URL: "https://${USER}:${PASS}@pkgs.example.com/simple", Kind: "index-url", Line: 6},
		{URL: "http://insecure.example.com/simple", Kind: "index-url", Line: 7},
		{URL: "./wheels", Kind: "find-links", Line: 8},
	}
	if diff := cmp.Diff(wantIdx, m.Indexes, cmpopts.IgnoreFields(Index{}, "File")); diff != "" {
		t.Errorf("indexes (-want +got):\n%s", diff)
	}
	if len(m.Requirements) != 1 || m.Requirements[0].Version != "1" || len(m.Problems) != 0 {
		t.Errorf("requirements %+v, problems %+v", m.Requirements, m.Problems)
	}
}

func TestParseTreeFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"pyproject.toml", "uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml", "environment.yml", "setup.cfg"} {
		data, err := os.ReadFile(filepath.Join("testdata", "files", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "requirements-extra.txt"), []byte("extra-pkg==2\n"), 0o644)
	ms, err := ParseTree(dir, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range ms {
		kinds[m.Kind] += len(m.Requirements)
		if len(m.Problems) > 0 {
			t.Errorf("%s: %+v", m.File, m.Problems)
		}
	}
	want := map[string]int{KindPyproject: 11, KindUVLock: 4, KindPoetryLock: 3, KindPipfileLock: 3, KindPylock: 2, KindConda: 5, KindSetupCfg: 4, KindRequirements: 1}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("requirements per kind (-want +got):\n%s", diff)
	}
	// The environment file's -r include was read once, though the walk
	// also finds it.
	n := 0
	for _, m := range ms {
		if filepath.Base(m.File) == "requirements-extra.txt" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("requirements-extra.txt parsed %d times", n)
	}
}
