package checks

import (
	"archive/zip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/deps/osv"
	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/deps/pypi"
	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func TestTyposquat(t *testing.T) {
	p := newPopularIndex(DefaultPopular())
	tests := []struct {
		name, target, technique string // target "" means: must not be flagged
	}{
		// True positives, one per technique.
		{"reqeusts", "requests", "swapped characters"},
		{"requets", "requests", "edit distance 1"},
		{"reequests", "requests", "repeated character"},
		{"transfomers", "transformers", "edit distance 1"},
		{"sentence-transfromers", "sentence-transformers", "swapped characters"},
		{"pandar", "pandas", "edit distance 1"}, // removed from PyPI as a typosquat (pypi-scan)
		{"numpi", "numpy", "edit distance 1"},
		{"rnatplotlib", "matplotlib", "look-alike characters (rn for m)"},
		{"tensorflovv", "tensorflow", "look-alike characters (vv for w)"},
		{"pil1ow", "pillow", "look-alike characters"},
		{"t0rch", "torch", "look-alike characters"},
		{"scikitlearn", "scikit-learn", "separator variant"},
		{"tensor-flow", "tensorflow", "separator variant"},
		{"learn-scikit", "scikit-learn", "words reordered"},
		{"nmap-python", "python-nmap", "words reordered"},
		{"pytorch", "torch", `prefix "py"`},
		{"python-requests", "requests", `prefix "python-"`},
		{"requests-python", "requests", `suffix "-python"`},
		{"numpy-lib", "numpy", `suffix "-lib"`},
		{"langchian", "langchain", "swapped characters"},
		{"hugingface-hub", "huggingface-hub", "edit distance 1"},
		{"jxa", "jax", "swapped characters"},
		// Legitimate names that must not be flagged.
		{"torch", "", ""},
		{"torchvision", "", ""},      // popular itself; 6 edits from torch
		{"torchaudio", "", ""},       // popular itself
		{"faiss-gpu", "", ""},        // one edit from faiss-cpu, but a real sibling (listed)
		{"pandera", "", ""},          // 3 edits from pandas: a different, real project
		{"scikit-learn", "", ""},     // scikit_learn normalises to this (see TestCheckTyposquat)
		{"langchain-cohere", "", ""}, // two edits in a short word: a different integration
		{"jaxlib", "", ""},           // "jax" + "lib" but the real JAX backend (listed)
		{"numba", "", ""},            // two edits from numpy, short name
		{"dataset", "", ""},          // pudo/dataset, listed
		{"flask-cors", "", ""},
		{"types-requests", "", ""},
		{"pytest-asyncio", "", ""},
		{"uvloop", "", ""},
		{"six", "", ""},
		{"keras-nlp", "", ""},
		{"gymnasium", "", ""},
		{"", "", ""},
		{strings.Repeat("a", 500), "", ""},
	}
	for _, tt := range tests {
		got, ok := p.typosquat(pyparse.Normalize(tt.name))
		if tt.target == "" {
			if ok {
				t.Errorf("typosquat(%q) = %+v, want no match", tt.name, got)
			}
			continue
		}
		if !ok || got.Target != tt.target || got.Technique != tt.technique {
			t.Errorf("typosquat(%q) = %+v, %v; want {%s %s}", tt.name, got, ok, tt.target, tt.technique)
		}
	}
}

func TestHallucinatedShape(t *testing.T) {
	p := newPopularIndex(DefaultPopular())
	for name, want := range map[string]string{
		"huggingface-cli": "huggingface-hub", // Lasso Security's experiment
		"openai-sdk":      "openai",
		"anthropic-api":   "anthropic",
		"langchain-tools": "langchain",
		"fastapi-cli":     "", // real (listed)
		"langchain-cli":   "", // real (listed)
		"azure-cli":       "", // real (listed)
		"openai":          "",
		"numpy-utils":     "",
	} {
		got, ok := p.hallucinatedShape(name)
		if ok != (want != "") || got != want {
			t.Errorf("hallucinatedShape(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestOSA(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		max  int
		want int
	}{
		{"requests", "requests", 2, 0},
		{"requests", "reqeusts", 2, 1},
		{"ca", "abc", 5, 3}, // OSA, not unrestricted Damerau (which gives 2)
		{"pandas", "pandera", 5, 3},
		{"kitten", "sitting", 5, 3},
		{"kitten", "sitting", 1, 2}, // bounded: max+1
		{"", "abc", 5, 3},
	} {
		if got := osa(tt.a, tt.b, tt.max); got != tt.want {
			t.Errorf("osa(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
		}
	}
}

func TestPopularList(t *testing.T) {
	names := DefaultPopular()
	if len(names) < 300 {
		t.Errorf("popular list has %d names", len(names))
	}
	for i, want := range []string{"torch", "transformers", "tensorflow", "numpy", "pandas", "scikit-learn"} {
		if names[i] != want && !contains(names, want) {
			t.Errorf("popular list lacks %s", want)
		}
	}
	got, err := LoadPopular(strings.NewReader("# mine\nMy_Pkg  # internal\nmy-pkg\n\nother\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-pkg", "other"}, got); diff != "" {
		t.Errorf("LoadPopular (-want +got):\n%s", diff)
	}
	if _, err := LoadPopular(strings.NewReader("# nothing\n")); err == nil {
		t.Error("empty list accepted")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || !strings.HasPrefix(r.ID, "dep-") || r.Title == "" || r.Description == "" || r.Remediation == "" || len(r.ATLAS) == 0 {
			t.Errorf("bad rule %+v", r)
		}
		seen[r.ID] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d rules", len(seen))
	}
}

// req builds a requirement the way pyparse reports it.
func req(name, version string, line int) pyparse.Requirement {
	spec := ""
	if version != "" {
		spec = "==" + version
	}
	return pyparse.Requirement{Name: name, Normalized: pyparse.Normalize(name), Specifier: spec, Version: version,
		File: "requirements.txt", Line: line, Source: "requirements"}
}

func reqsManifest(rs ...pyparse.Requirement) *pyparse.Manifest {
	return &pyparse.Manifest{File: "requirements.txt", Kind: "requirements", Requirements: rs}
}

// got lists findings as "rule severity line package" for compact diffs.
func got(fs []finding.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.RuleID+" "+f.Severity.String()+" "+f.Evidence["line"]+" "+f.Evidence["package"])
	}
	sort.Strings(out)
	return out
}

func testOSV(t *testing.T) *osv.DB {
	t.Helper()
	p := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for id, body := range map[string]string{
		"MAL-2022-7426": `{"id":"MAL-2022-7426","summary":"Malicious code in torchtriton (PyPI)","affected":[{"package":{"ecosystem":"PyPI","name":"torchtriton"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`,
		"GHSA-high":     `{"id":"GHSA-high","summary":"RCE","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"PyPI","name":"transformers"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"4.36.0"}]}]}]}`,
		"GHSA-medium":   `{"id":"GHSA-medium","summary":"leak","database_specific":{"severity":"MODERATE"},"affected":[{"package":{"ecosystem":"PyPI","name":"requests"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.31.0"}]}]}]}`,
	} {
		w, _ := zw.Create(id + ".json")
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err := osv.OpenZip(p)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestCheckOSV(t *testing.T) {
	db := testOSV(t)
	m := reqsManifest(req("torchtriton", "", 1), req("transformers", "4.30.0", 2), req("requests", "2.30.0", 3), req("requests", "2.31.0", 4))
	m.Requirements[0].Specifier = ">=2.0"
	fs := Check([]*pyparse.Manifest{m}, Options{OSV: db})
	want := []string{
		"dep-malicious critical 1 torchtriton",
		"dep-unpinned medium 1 torchtriton",
		"dep-vulnerable high 2 transformers",
		"dep-vulnerable medium 3 requests",
	}
	if diff := cmp.Diff(want, got(fs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, f := range fs {
		if f.Path != "requirements.txt" || f.Offset != 0 || !strings.HasPrefix(f.Message, "line ") || len(f.ATLAS) == 0 {
			t.Errorf("finding shape: %+v", f)
		}
		if f.RuleID == "dep-vulnerable" && f.Evidence["package"] == "transformers" && (f.Evidence["fixed_in"] != "4.36.0" || f.Evidence["cvss"] != "9.8") {
			t.Errorf("evidence: %v", f.Evidence)
		}
	}
}

func TestCheckNames(t *testing.T) {
	snap, err := pypi.LoadSnapshot(strings.NewReader("torch\nscikit-learn\nreqeusts\nhuggingface-cli\nrequests\nmy-private-lib\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := reqsManifest(
		req("torch", "2.5.1", 1),
		req("scikit_learn", "1.5.0", 2), // separator variant of a popular name: the same project
		req("reqeusts", "2.31.0", 3),    // typosquat, registered
		req("huggingface-cli", "0.1", 4),
		req("reqests-toolbelt-pro", "1.0", 5), // not in the snapshot
	)
	fs := Check([]*pyparse.Manifest{m}, Options{Snapshot: snap})
	want := []string{
		"dep-hallucinated high 4 huggingface-cli",
		"dep-hallucinated high 5 reqests-toolbelt-pro",
		"dep-typosquat high 3 reqeusts",
	}
	if diff := cmp.Diff(want, got(fs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Conda packages have conda names (pytorch is PyTorch there), and a
	// Pipfile.lock index is a name, not a private URL.
	conda := &pyparse.Manifest{File: "environment.yml", Requirements: []pyparse.Requirement{
		{Name: "pytorch", Normalized: "pytorch", Version: "2.5.1", Source: "conda", File: "environment.yml", Line: 3},
		{Name: "reqeusts", Normalized: "reqeusts", Version: "1.0", Source: "requirements", Group: "pip", File: "environment.yml", Line: 9},
	}}
	pipfile := &pyparse.Manifest{File: "Pipfile.lock", Requirements: []pyparse.Requirement{
		{Name: "not-on-pypi-x", Normalized: "not-on-pypi-x", Version: "1.0", Locked: true, Index: "pypi", Hashes: []string{"sha256:0"}, Source: "Pipfile.lock", File: "Pipfile.lock", Line: 7},
	}}
	fs = Check([]*pyparse.Manifest{conda, pipfile}, Options{Snapshot: snap})
	if diff := cmp.Diff([]string{"dep-hallucinated high 7 not-on-pypi-x", "dep-typosquat high 9 reqeusts"}, got(fs)); diff != "" {
		t.Errorf("conda and Pipfile.lock (-want +got):\n%s", diff)
	}

	// With a private primary index, names absent from PyPI are expected.
	m.Indexes = []pyparse.Index{{URL: "https://pypi.internal.example/simple", Kind: "index-url", File: "requirements.txt", Line: 1}}
	fs = Check([]*pyparse.Manifest{m}, Options{Snapshot: snap})
	for _, f := range fs {
		if f.RuleID == "dep-hallucinated" {
			t.Errorf("private index: %s", f.Message)
		}
	}
}

func TestCheckPyPIOnline(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pypi/torch/json":
			w.Write([]byte(`{"info":{"name":"torch","version":"2.5.1","project_urls":{"Source":"https://github.com/pytorch/pytorch"}},"releases":{"1.0":[{"upload_time_iso_8601":"2018-12-07T20:40:11Z"}],"2.0":[{"upload_time_iso_8601":"2023-03-15T00:00:00Z"}],"2.5.1":[{"upload_time_iso_8601":"2024-10-29T00:00:00Z"}]}}`))
		case "/pypi/fresh-thing/json":
			w.Write([]byte(`{"info":{"name":"fresh-thing","version":"0.0.3"},"releases":{"0.0.1":[{"upload_time_iso_8601":"2026-11-10T00:00:00Z"}],"0.0.2":[{"upload_time_iso_8601":"2026-11-11T00:00:00Z"}],"0.0.3":[{"upload_time_iso_8601":"2026-11-12T00:00:00Z"}]}}`))
		case "/pypi/huggingface-cli/json":
			w.Write([]byte(`{"info":{"name":"huggingface-cli","version":"0.1"},"releases":{"0.1":[{"upload_time_iso_8601":"2023-12-01T00:00:00Z"}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &pypi.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	m := reqsManifest(req("torch", "2.5.1", 1), req("fresh-thing", "0.0.3", 2), req("huggingface-cli", "0.1", 3), req("pip-install-magic", "1.0", 4))
	fs := Check([]*pyparse.Manifest{m}, Options{PyPI: c, Now: now})
	want := []string{
		"dep-hallucinated high 3 huggingface-cli",
		"dep-hallucinated high 4 pip-install-magic",
		"dep-new-package medium 2 fresh-thing",
		"dep-new-package medium 3 huggingface-cli",
	}
	if diff := cmp.Diff(want, got(fs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	defer down.Close()
	_, inc := CheckContext(t.Context(), []*pyparse.Manifest{m}, Options{PyPI: &pypi.Client{BaseURL: down.URL, HTTP: down.Client()}})
	if len(inc) != 4 {
		t.Errorf("incomplete: %+v", inc)
	}
}

func TestCheckIndexes(t *testing.T) {
	m := &pyparse.Manifest{File: "requirements.txt", Indexes: []pyparse.Index{
		{URL: "https://pypi.org/simple", Kind: "index-url", Line: 1},
		{URL: "https://download.pytorch.org/whl/nightly/cpu", Kind: "extra-index-url", Line: 2},
		{URL: "http://mirror.example/simple", Kind: "index-url", Line: 3},
		{URL: "mirror.example", Kind: "trusted-host", Line: 4},
		{URL: "https://user:s3cret@pkgs.example/simple", Kind: "index-url", Line: 5},
		{URL: "https://download.pytorch.org/whl/cpu", Kind: "uv-index", Strategy: "unsafe-best-match", File: "pyproject.toml", Line: 30},
		{URL: "https://pkgs.example/simple", Kind: "uv-index", Strategy: "first-index", File: "pyproject.toml", Line: 40},
		{URL: "https://example.com/wheels/", Kind: "find-links", Line: 6},
	}}
	fs := Check([]*pyparse.Manifest{m}, Options{})
	var lines []string
	for _, f := range fs {
		lines = append(lines, f.Path+":"+f.Evidence["line"]+" "+f.Severity.String())
		if strings.Contains(f.Message, "s3cret") || strings.Contains(f.Evidence["url"], "s3cret") {
			t.Errorf("credentials shown: %s %v", f.Message, f.Evidence)
		}
	}
	want := []string{
		"pyproject.toml:30 high",
		"requirements.txt:2 high",
		"requirements.txt:3 high",
		"requirements.txt:4 high",
		"requirements.txt:5 high",
		"requirements.txt:6 medium",
	}
	sort.Strings(lines)
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCheckPinning(t *testing.T) {
	hashed := req("numpy", "2.1.0", 1)
	hashed.Hashes = []string{"sha256:abc"}
	rangeReq := req("pandas", "", 2)
	rangeReq.Specifier = ">=2"
	vcsBranch := pyparse.Requirement{Name: "mylib", Normalized: "mylib", URL: "git+https://github.com/o/mylib@main", VCS: "git", Ref: "main", Line: 4, Source: "requirements"}
	vcsCommit := pyparse.Requirement{Name: "other", Normalized: "other", URL: "git+https://github.com/o/other@0123456789abcdef0123456789abcdef01234567", VCS: "git", Ref: "0123456789abcdef0123456789abcdef01234567", Line: 5, Source: "requirements"}
	urlNoHash := pyparse.Requirement{Name: "wheelie", Normalized: "wheelie", URL: "https://example.com/wheelie-1.0-py3-none-any.whl", Line: 6, Source: "requirements"}
	urlHash := pyparse.Requirement{Name: "wheely", Normalized: "wheely", URL: "https://example.com/wheely-1.0-py3-none-any.whl#sha256=abcd", Line: 7, Source: "requirements"}
	editable := pyparse.Requirement{Name: "", URL: "./local", Editable: true, Line: 8, Source: "requirements"}
	req := reqsManifest(hashed, rangeReq, req("scipy", "1.14.0", 3), vcsBranch, vcsCommit, urlNoHash, urlHash, editable)

	pyproj := &pyparse.Manifest{File: "pyproject.toml", Kind: "pyproject", Requirements: []pyparse.Requirement{
		{Name: "torch", Normalized: "torch", Specifier: ">=2", File: "pyproject.toml", Line: 10, Source: "pyproject"},
	}}
	lock := &pyparse.Manifest{File: "uv.lock", Kind: "uv.lock", Requirements: []pyparse.Requirement{
		{Name: "torch", Normalized: "torch", Version: "2.5.1", Locked: true, Index: "https://pypi.org/simple", Hashes: []string{"sha256:1"}, File: "uv.lock", Line: 1, Source: "uv.lock"},
		{Name: "evil", Normalized: "evil", Version: "1.0", Locked: true, Index: "https://evil.example/simple", Hashes: []string{"sha256:2"}, File: "uv.lock", Line: 20, Source: "uv.lock"},
		{Name: "plain", Normalized: "plain", Version: "1.0", Locked: true, Index: "http://mirror.example/simple", Hashes: []string{"sha256:3"}, File: "uv.lock", Line: 30, Source: "uv.lock"},
		{Name: "nohash", Normalized: "nohash", Version: "1.0", Locked: true, Index: "https://pypi.org/simple", File: "uv.lock", Line: 40, Source: "uv.lock"},
		{Name: "declared", Normalized: "declared", Version: "1.0", Locked: true, Index: "https://pkgs.example/simple", Hashes: []string{"sha256:4"}, File: "uv.lock", Line: 50, Source: "uv.lock"},
	}, Indexes: []pyparse.Index{{URL: "https://pkgs.example/simple", Kind: "uv-index", File: "pyproject.toml", Line: 12}}}

	fs := Check([]*pyparse.Manifest{req, pyproj, lock}, Options{Popular: []string{"unrelated-name"}})
	var lines []string
	for _, f := range fs {
		lines = append(lines, f.RuleID+" "+f.Severity.String()+" "+f.Path+":"+f.Evidence["line"])
	}
	want := []string{
		"dep-unpinned medium requirements.txt:2",
		"dep-unhashed low requirements.txt:3",
		"dep-vcs-unpinned medium requirements.txt:4",
		"dep-vcs-unpinned medium requirements.txt:6",
		"dep-unpinned low pyproject.toml:10",
		"dep-lock-source medium uv.lock:20",
		"dep-lock-source medium uv.lock:30",
		"dep-unhashed low uv.lock:40",
	}
	sort.Strings(want)
	sort.Strings(lines)
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzTyposquat checks that the look-alike checks never panic, stay bounded,
// and never flag a popular name or report a target outside the list.
func FuzzTyposquat(f *testing.F) {
	for _, s := range []string{"reqeusts", "torch", "scikit_learn", "learn-scikit", "rnatplotlib", "huggingface-cli", "py", "-", "", "a-b-c-d-e-f", "\xff\x00", strings.Repeat("x", 200)} {
		f.Add(s)
	}
	p := newPopularIndex(DefaultPopular())
	f.Fuzz(func(t *testing.T, name string) {
		n := pyparse.Normalize(name)
		start := time.Now()
		sq, ok := p.typosquat(n)
		if ok && (!p.set[sq.Target] || p.set[n] || sq.Technique == "") {
			t.Fatalf("typosquat(%q) = %+v", n, sq)
		}
		if h, ok := p.hallucinatedShape(n); ok && !p.set[h] {
			t.Fatalf("hallucinatedShape(%q) = %q", n, h)
		}
		// A hang detector, not a benchmark: the work is bounded by
		// maxNameLen and the list size (microseconds per name).
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("typosquat(%d bytes) took %v", len(n), d)
		}
		if d := osa(n, "requests", 2); d < 0 || d > 3 {
			t.Fatalf("osa = %d", d)
		}
	})
}
