package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const advisory = `{"id": "MAL-2099-1", "modified": "2099-01-01T00:00:00Z", "summary": "malicious code in evilpkg",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "evilpkg"}, "versions": ["1.0.0"]}]}`

const vuln = `{"id": "GHSA-xxxx-yyyy-zzzz", "modified": "2099-01-01T00:00:00Z", "summary": "RCE in torch.load",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "torch"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.6.0"}]}]}],
 "database_specific": {"severity": "CRITICAL"}}`

func writeProject(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("torch==2.4.1\nevilpkg==1.0.0\nnumpy==1.26.4\n"), 0o644)
	return dir
}

// aigis deps offline: advisories from an OSV database zip the user
// downloaded (made here), matched by PEP 440 version, with file and line.
func TestDepsOfflineOSV(t *testing.T) {
	dir := writeProject(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{"MAL-2099-1.json": advisory, "GHSA-xxxx-yyyy-zzzz.json": vuln} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	db := filepath.Join(t.TempDir(), "all.zip")
	os.WriteFile(db, buf.Bytes(), 0o644)

	var out, errb bytes.Buffer
	code := Main([]string{"deps", "--format", "json", "--osv-db", db, dir}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, errb.String())
	}
	for _, want := range []string{`"rule_id": "dep-malicious"`, `"rule_id": "dep-vulnerable"`, `GHSA-xxxx-yyyy-zzzz`, `"line": "2"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %s:\n%s", want, out.String())
		}
	}
}

// aigis deps --online against local fake osv.dev and PyPI servers that
// speak the real API: advisories, and names PyPI does not know.
func TestDepsOnline(t *testing.T) {
	dir := writeProject(t)
	osvSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
			var q struct {
				Queries []struct {
					Package struct{ Name string } `json:"package"`
				} `json:"queries"`
			}
			json.NewDecoder(r.Body).Decode(&q)
			type ref struct {
				ID       string `json:"id"`
				Modified string `json:"modified"`
			}
			type res struct {
				Vulns []ref `json:"vulns"`
			}
			var out struct {
				Results []res `json:"results"`
			}
			for _, qq := range q.Queries {
				var r res
				if qq.Package.Name == "evilpkg" {
					r.Vulns = []ref{{ID: "MAL-2099-1", Modified: "2099-01-01T00:00:00Z"}}
				}
				out.Results = append(out.Results, r)
			}
			json.NewEncoder(w).Encode(out)
		case r.URL.Path == "/v1/vulns/MAL-2099-1":
			w.Write([]byte(advisory))
		default:
			http.NotFound(w, r)
		}
	}))
	defer osvSrv.Close()
	pypiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pypi/torch/json", "/pypi/numpy/json":
			w.Write([]byte(`{"info": {"name": "x", "version": "1.0", "project_urls": {"Source": "https://github.com/x/x"}},
			  "releases": {"0.1": [{"upload_time_iso_8601": "2015-01-01T00:00:00Z"}], "0.2": [{"upload_time_iso_8601": "2016-01-01T00:00:00Z"}],
			  "1.0": [{"upload_time_iso_8601": "2020-01-01T00:00:00Z"}]}}`))
		default:
			http.NotFound(w, r) // evilpkg: not on PyPI (removed, or never registered)
		}
	}))
	defer pypiSrv.Close()

	var out, errb bytes.Buffer
	code := Main([]string{"deps", "--format", "json", "--online", "--osv-url", osvSrv.URL, "--pypi-url", pypiSrv.URL,
		"--cache-dir", t.TempDir(), dir}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1; stderr %s; out %s", code, errb.String(), out.String())
	}
	for _, want := range []string{`"rule_id": "dep-malicious"`, `"rule_id": "dep-hallucinated"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %s:\n%s", want, out.String())
		}
	}
}
