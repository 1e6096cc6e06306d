package pypi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Bodies shaped like https://pypi.org/pypi/{name}/json (trimmed).
const torchJSON = `{"info":{"name":"torch","version":"2.5.1","summary":"Tensors and Dynamic neural networks",
 "home_page":"https://pytorch.org/","project_urls":{"Source":"https://github.com/pytorch/pytorch"}},
 "releases":{"0.1.2":[],"1.0.0":[{"upload_time_iso_8601":"2018-12-07T20:40:11.123456Z","yanked":false}],
  "2.5.1":[{"upload_time_iso_8601":"2024-10-29T17:30:00.000000Z","yanked":false},{"upload_time_iso_8601":"2024-10-29T17:31:00.000000Z","yanked":false}]}}`

const youngJSON = `{"info":{"name":"huggingface-cli","version":"0.1","summary":"","home_page":"","project_urls":null},
 "releases":{"0.1":[{"upload_time_iso_8601":"2026-11-01T10:00:00Z","yanked":true}]}}`

func fakePyPI(t *testing.T, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	busy := atomic.Bool{}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/pypi/torch/json":
			w.Write([]byte(torchJSON))
		case "/pypi/huggingface-cli/json":
			if !busy.Swap(true) { // first request: rate limited
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			w.Write([]byte(youngJSON))
		case "/pypi/broken/json":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "/pypi/forbidden/json":
			http.Error(w, "no", http.StatusForbidden)
		default:
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
		}
	}))
}

func TestProject(t *testing.T) {
	initialBackoff = time.Millisecond
	var hits atomic.Int64
	srv := fakePyPI(t, &hits)
	defer srv.Close()
	cache := t.TempDir()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client(), Cache: cache}
	ctx := context.Background()

	p, err := c.Project(ctx, "Torch")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Exists || p.Name != "torch" || p.Releases != 3 || p.Latest != "2.5.1" || p.Yanked || !p.HasRepository {
		t.Errorf("torch: %+v", p)
	}
	if want := time.Date(2018, 12, 7, 20, 40, 11, 123456000, time.UTC); !p.FirstUpload.Equal(want) {
		t.Errorf("FirstUpload = %v, want %v", p.FirstUpload, want)
	}

	p, err = c.Project(ctx, "huggingface_cli") // 429 then success; name normalised
	if err != nil {
		t.Fatal(err)
	}
	if !p.Exists || p.Releases != 1 || !p.Yanked || p.HasRepository {
		t.Errorf("huggingface-cli: %+v", p)
	}

	p, err = c.Project(ctx, "surely-not-a-package")
	if err != nil || p.Exists {
		t.Errorf("404: %+v, %v", p, err)
	}

	n := hits.Load()
	for _, name := range []string{"torch", "huggingface-cli", "surely_not_a_package"} {
		if _, err := c.Project(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != n {
		t.Errorf("cached answers made %d requests", hits.Load()-n)
	}

	if _, err := c.Project(ctx, "broken"); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("5xx: %v", err)
	}
	if _, err := c.Project(ctx, "forbidden"); err == nil {
		t.Error("403 accepted")
	}
	if _, err := c.Project(ctx, "a/b"); err == nil {
		t.Error("name with a slash accepted")
	}
}

func TestProjectTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
	}))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	if _, err := c.Project(ctx, "torch"); err == nil {
		t.Error("no timeout")
	}
}

func TestLoadSnapshot(t *testing.T) {
	tests := []struct {
		name, in string
		yes, no  []string
	}{
		{"text", "# pypi 2026-11-01\ntorch\nScikit_Learn\n\n  huggingface-hub  \nfoo,123\n",
			[]string{"torch", "scikit-learn", "scikit.learn", "HuggingFace_Hub", "foo"}, []string{"huggingface-cli", "", "123"}},
		{"simple JSON", "\ufeff{\"meta\":{\"api-version\":\"1.1\"},\"projects\":[{\"name\":\"torch\",\"_last-serial\":1},{\"name\":\"Flask\"}]}",
			[]string{"torch", "flask"}, []string{"django"}},
	}
	for _, tt := range tests {
		s, err := LoadSnapshot(strings.NewReader(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, n := range tt.yes {
			if !s.Exists(n) {
				t.Errorf("%s: %q missing", tt.name, n)
			}
		}
		for _, n := range tt.no {
			if s.Exists(n) {
				t.Errorf("%s: %q present", tt.name, n)
			}
		}
	}
	for _, bad := range []string{"", "\n# only a comment\n", `{"projects": [`} {
		if _, err := LoadSnapshot(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadSnapshot(%q) accepted", bad)
		}
	}
	var nilSnap *Snapshot
	if nilSnap.Exists("torch") {
		t.Error("nil snapshot has names")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Scikit_Learn": "scikit-learn", "zope.interface": "zope-interface", "a--_.b": "a-b", "torch": "torch",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
