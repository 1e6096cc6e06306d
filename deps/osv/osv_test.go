package osv

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/google/go-cmp/cmp"
	"github.com/google/osv-scalibr/semantic"
)

// testRecords are OSV records written the way osv.dev publishes them.
var testRecords = map[string]string{
	"PYSEC-2023-74": `{"id":"PYSEC-2023-74","modified":"2023-06-01T00:00:00Z","aliases":["GHSA-j8r2-6x86-q33q","CVE-2023-32681"],
		"details":"Requests leaks Proxy-Authorization headers.\nMore text.",
		"affected":[{"package":{"ecosystem":"PyPI","name":"requests"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.3.0"},{"fixed":"2.31.0"}]}],
		  "versions":["2.3.0","2.30.0"]}],
		"references":[{"type":"ADVISORY","url":"https://github.com/psf/requests/security/advisories/GHSA-j8r2-6x86-q33q"}]}`,
	"GHSA-j8r2-6x86-q33q": `{"id":"GHSA-j8r2-6x86-q33q","modified":"2023-06-02T00:00:00Z","aliases":["CVE-2023-32681"],
		"summary":"Unintended leak of Proxy-Authorization header in requests",
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"}],
		"affected":[{"package":{"ecosystem":"PyPI","name":"requests"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.3.0"},{"fixed":"2.31.0"}]}]}],
		"database_specific":{"severity":"MODERATE"}}`,
	"MAL-2024-1234": `{"id":"MAL-2024-1234","modified":"2024-03-01T00:00:00Z","summary":"Malicious code in torchtriton (PyPI)",
		"affected":[{"package":{"ecosystem":"PyPI","name":"torchtriton"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],"versions":["3.0.0"]}],
		"database_specific":{"malicious-packages-origins":[{"source":"ghsa-malware"}]}}`,
	"GHSA-mal0-0000-0000": `{"id":"GHSA-mal0-0000-0000","modified":"2024-03-01T00:00:00Z","summary":"Malicious package",
		"affected":[{"package":{"ecosystem":"PyPI","name":"Evil_Pkg"},"versions":["1.0"]}],
		"database_specific":{"malicious-packages-origins":[{"source":"ossf"}]}}`,
	"PYSEC-2021-1": `{"id":"PYSEC-2021-1","modified":"2021-01-01T00:00:00Z","summary":"last_affected and pre-releases",
		"affected":[{"package":{"ecosystem":"PyPI","name":"pillow"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"8.0.0rc1"},{"last_affected":"8.1.0"}]},
		            {"type":"GIT","repo":"https://github.com/python-pillow/Pillow","events":[{"introduced":"0"},{"fixed":"abc"}]}]}]}`,
	"PYSEC-2021-2": `{"id":"PYSEC-2021-2","modified":"2021-01-01T00:00:00Z","summary":"limit",
		"affected":[{"package":{"ecosystem":"PyPI","name":"pillow"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"limit":"7.0"}]}]}]}`,
	"PYSEC-2020-9": `{"id":"PYSEC-2020-9","modified":"2021-01-01T00:00:00Z","withdrawn":"2021-02-01T00:00:00Z","summary":"withdrawn",
		"affected":[{"package":{"ecosystem":"PyPI","name":"pillow"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`,
	"GHSA-npm0-0000-0000": `{"id":"GHSA-npm0-0000-0000","modified":"2021-01-01T00:00:00Z","summary":"npm only",
		"affected":[{"package":{"ecosystem":"npm","name":"requests"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
	"PYSEC-2019-5": `{"id":"PYSEC-2019-5","modified":"2021-01-01T00:00:00Z","summary":"epochs and post releases",
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"affected":[{"package":{"ecosystem":"PyPI","name":"numpy"},
		  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"fixed":"1.22.0.post1"},{"introduced":"1!0"},{"fixed":"1!2.0"}]}]}]}`,
}

func writeZip(t testing.TB, path string, recs map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for id, body := range recs {
		w, err := zw.Create(id + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func ids(vs []Vuln) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func testDB(t *testing.T) *DB {
	t.Helper()
	p := filepath.Join(t.TempDir(), "all.zip")
	writeZip(t, p, testRecords)
	db, err := OpenZip(p)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestQuery(t *testing.T) {
	db := testDB(t)
	if got, want := db.Len(), 7; got != want { // withdrawn and npm-only records are not counted
		t.Errorf("Len = %d, want %d", got, want)
	}
	tests := []struct {
		name, version string
		want          []string
	}{
		{"requests", "2.30.0", []string{"GHSA-j8r2-6x86-q33q"}}, // PYSEC alias merged into the GHSA
		{"Requests", "2.31.0", []string{}},                      // fixed
		{"requests", "2.2.9", []string{}},                       // before introduced
		{"requests", "2.25", []string{"GHSA-j8r2-6x86-q33q"}},   // inside the range, not in versions[]
		{"requests", "", []string{}},                            // unpinned: only all-versions advisories
		{"torchtriton", "3.0.0", []string{"MAL-2024-1234"}},
		{"torchtriton", "", []string{"MAL-2024-1234"}},
		{"TorchTriton", "99", []string{"MAL-2024-1234"}},
		{"evil-pkg", "1.0.0", []string{"GHSA-mal0-0000-0000"}}, // versions list, 1.0 == 1.0.0
		{"evil.pkg", "2.0", []string{}},
		{"pillow", "8.0.0rc1", []string{"PYSEC-2021-1"}},
		{"pillow", "8.0.0b1", []string{}},
		{"pillow", "8.1.0", []string{"PYSEC-2021-1"}},
		{"pillow", "8.1.0.post1", []string{}}, // after last_affected
		{"pillow", "6.9", []string{"PYSEC-2021-2"}},
		{"pillow", "7.0", []string{}}, // limit; withdrawn record ignored
		{"numpy", "1.22.0", []string{"PYSEC-2019-5"}},
		{"numpy", "1.22.0.post1", []string{}},
		{"numpy", "1!1.5", []string{"PYSEC-2019-5"}},
		{"numpy", "1!2.0", []string{}},
		{"unknown", "1.0", []string{}},
	}
	for _, tt := range tests {
		got := ids(db.Query(tt.name, tt.version))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Query(%q, %q) (-want +got):\n%s", tt.name, tt.version, diff)
		}
	}
}

func TestVulnFields(t *testing.T) {
	db := testDB(t)
	vs := db.Query("requests", "2.30.0")
	if len(vs) != 1 {
		t.Fatalf("got %d vulns", len(vs))
	}
	v := vs[0]
	if diff := cmp.Diff([]string{"CVE-2023-32681", "PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"}, v.Aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"2.31.0"}, v.FixedIn); diff != "" {
		t.Errorf("FixedIn (-want +got):\n%s", diff)
	}
	if s, ok := v.Score(); !ok || s != 6.1 {
		t.Errorf("Score = %v, %v; want 6.1", s, ok)
	}
	if v.Malicious || v.Rating != "MODERATE" {
		t.Errorf("Malicious=%v Rating=%q", v.Malicious, v.Rating)
	}
	m := db.Query("torchtriton", "1.0")[0]
	if !m.Malicious || m.Summary != "Malicious code in torchtriton (PyPI)" {
		t.Errorf("MAL record: %+v", m)
	}
	if !db.Query("evil-pkg", "1.0")[0].Malicious {
		t.Error("database_specific malicious-packages-origins not recognised")
	}
	if p := db.Query("pillow", "6")[0]; p.Summary != "limit" {
		t.Errorf("summary %q", p.Summary)
	}
	// Details' first line stands in for a missing summary.
	db2 := New()
	if err := db2.Add([]byte(testRecords["PYSEC-2023-74"])); err != nil {
		t.Fatal(err)
	}
	if s := db2.Query("requests", "2.30.0")[0].Summary; s != "Requests leaks Proxy-Authorization headers." {
		t.Errorf("summary from details: %q", s)
	}
}

func TestCVSS3(t *testing.T) {
	for vec, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H": 10.0,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N": 5.3,
		"CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N": 0,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
	} {
		got, ok := cvss3Base(vec)
		if !ok || got != want {
			t.Errorf("cvss3Base(%s) = %v, %v; want %v", vec, got, ok, want)
		}
	}
	for _, bad := range []string{"CVSS:3.1/AV:X", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H", "CVSS:3.1"} {
		if _, ok := cvss3Base(bad); ok {
			t.Errorf("cvss3Base(%q) accepted", bad)
		}
	}
}

func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "osv", "malicious", "pypi", "torchtriton")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "MAL-2024-1234.json"), []byte(testRecords["MAL-2024-1234"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(db.Query("torchtriton", "")); !cmp.Equal(got, []string{"MAL-2024-1234"}) {
		t.Errorf("got %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestOpenZipErrors(t *testing.T) {
	if _, err := OpenZip(filepath.Join(t.TempDir(), "missing.zip")); err == nil {
		t.Error("missing zip accepted")
	}
	p := filepath.Join(t.TempDir(), "bad.zip")
	writeZip(t, p, map[string]string{"X": `{"no":"id"}`})
	if _, err := OpenZip(p); err == nil || !strings.Contains(err.Error(), "X.json") {
		t.Errorf("record without id: err = %v", err)
	}
}

// fakeOSV speaks the osv.dev API from testRecords: querybatch with one
// advisory per page (so pagination is exercised), vulns/{id}, and a 429 on
// the first querybatch.
type fakeOSV struct {
	db       *DB
	requests atomic.Int64
	mu       sync.Mutex
	limited  bool
}

func (f *fakeOSV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
		f.mu.Lock()
		first := !f.limited
		f.limited = true
		f.mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"code":8,"message":"Too many requests"}`, http.StatusTooManyRequests)
			return
		}
		var req struct {
			Queries []batchQuery `json:"queries"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type vref struct {
			ID       string `json:"id"`
			Modified string `json:"modified"`
		}
		type result struct {
			Vulns []vref `json:"vulns,omitempty"`
			Next  string `json:"next_page_token,omitempty"`
		}
		var resp struct {
			Results []result `json:"results"`
		}
		for _, q := range req.Queries {
			if q.Package.Ecosystem != "PyPI" {
				http.Error(w, "bad ecosystem", http.StatusBadRequest)
				return
			}
			var all []string
			for _, e := range f.db.byName[pyparse.Normalize(q.Package.Name)] {
				if q.Version == "" || e.affects(q.Version, mustParse(q.Version)) {
					all = append(all, e.rec.ID)
				}
			}
			page := 0
			if q.PageToken != "" {
				page = int(q.PageToken[0] - '0')
			}
			var res result
			if page < len(all) {
				res.Vulns = []vref{{ID: all[page], Modified: "2024-01-01T00:00:00Z"}}
			}
			if page+1 < len(all) {
				res.Next = string(rune('0' + page + 1))
			}
			resp.Results = append(resp.Results, res)
		}
		json.NewEncoder(w).Encode(resp)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/vulns/")
		body, ok := testRecords[id]
		if !ok {
			http.Error(w, `{"code":5,"message":"Bug not found."}`, http.StatusNotFound)
			return
		}
		io.WriteString(w, body)
	default:
		http.NotFound(w, r)
	}
}

func TestClientQueryBatch(t *testing.T) {
	initialBackoff = time.Millisecond
	fake := &fakeOSV{db: testDB(t)}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cache := t.TempDir()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: cache}
	pkgs := []Package{
		{"requests", "2.30.0"}, // two records (PYSEC + GHSA) over two pages, merged as aliases
		{"torchtriton", ""},
		{"pillow", "8.0.0"},
		{"unknown", "1.0"},
	}
	got, err := c.QueryBatch(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs [][]string
	for _, vs := range got {
		gotIDs = append(gotIDs, ids(vs))
	}
	want := [][]string{{"GHSA-j8r2-6x86-q33q"}, {"MAL-2024-1234"}, {"PYSEC-2021-1"}, {}}
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("QueryBatch (-want +got):\n%s", diff)
	}
	if !got[1][0].Malicious {
		t.Error("MAL- record not malicious")
	}
	if len(got[0][0].FixedIn) != 1 {
		t.Errorf("FixedIn %v", got[0][0].FixedIn)
	}
	n := fake.requests.Load()
	// The same question again is answered from the cache.
	c2 := &Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: cache}
	if _, err := c2.QueryBatch(context.Background(), pkgs); err != nil {
		t.Fatal(err)
	}
	if m := fake.requests.Load(); m != n {
		t.Errorf("cached query made %d requests", m-n)
	}
}

func TestClientErrors(t *testing.T) {
	initialBackoff = time.Millisecond
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	_, err := c.QueryBatch(context.Background(), []Package{{"requests", "1"}})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != maxAttempts {
		t.Errorf("%d calls, want %d", calls.Load(), maxAttempts)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer bad.Close()
	c = &Client{BaseURL: bad.URL, HTTP: bad.Client()}
	if _, err := c.QueryBatch(context.Background(), []Package{{"requests", "1"}}); err == nil {
		t.Error("400 accepted")
	} else if se, ok := err.(*StatusError); !ok || se.Status != 400 {
		t.Errorf("err = %#v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	if _, err := c.QueryBatch(ctx, []Package{{"requests", "1"}}); err == nil {
		t.Error("cancelled context ignored")
	}
}

func mustParse(s string) semantic.PyPIVersion {
	v, _ := semantic.ParsePyPIVersion(s)
	return v
}
