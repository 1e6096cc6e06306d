package integrity

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func md(b []byte) string  { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// fakeHost serves the items of a URL list as a web host would years after
// the list was published: most items unchanged, one replaced, one gone, one
// slow, one grown past the size limit, one failing once.
type fakeHost struct {
	*httptest.Server
	files map[string][]byte
	flaky atomic.Int32
}

func newFakeHost(t testing.TB) *fakeHost {
	h := &fakeHost{files: map[string][]byte{}}
	for i := range 5 {
		h.files[fmt.Sprintf("/img/%d.jpg", i)] = []byte(fmt.Sprintf("JPEG image %d", i))
	}
	h.files["/img/changed.jpg"] = []byte("the attacker's image")
	h.files["/img/flaky.jpg"] = []byte("served after one 503")
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/img/slow.jpg":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "/img/big.jpg":
			// No Content-Length: the limit must be enforced while reading.
			chunk := make([]byte, 512)
			for range 8 {
				w.Write(chunk)
				w.(http.Flusher).Flush()
			}
			return
		case "/img/flaky.jpg":
			if h.flaky.Add(1) == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		b, ok := h.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(h.Close)
	return h
}

type got struct {
	Rule  string
	Sev   finding.Severity
	Count string
	Row   string
}

func summary(fs []finding.Finding) []got {
	var out []got
	for _, f := range fs {
		out = append(out, got{f.RuleID, f.Severity, f.Evidence["count"], f.Evidence["row"]})
	}
	return out
}

func TestFetch(t *testing.T) {
	h := newFakeHost(t)
	loc := finding.Location{Path: "ds/urls.csv"}
	item := func(row int64, path, algo, digest string) URLItem {
		return URLItem{Loc: loc, Row: row, URL: h.URL + path, Algo: algo, Digest: digest}
	}
	items := []URLItem{
		item(1, "/img/0.jpg", "sha256", sha(h.files["/img/0.jpg"])),
		item(2, "/img/1.jpg", "md5", md(h.files["/img/1.jpg"])),
		item(3, "/img/changed.jpg", "sha256", sha([]byte("the image that was curated"))),
		item(4, "/img/missing.jpg", "sha256", sha([]byte("gone"))),
		item(5, "/img/slow.jpg", "sha256", sha([]byte("slow"))),
		item(6, "/img/big.jpg", "sha256", sha([]byte("big"))),
		item(7, "/img/flaky.jpg", "sha256", sha(h.files["/img/flaky.jpg"])),
		item(8, "/img/2.jpg", "md5", md([]byte("an md5 that no longer matches"))),
	}
	start := time.Now()
	fs := Fetch(context.Background(), items, FetchOptions{Client: h.Client(), Timeout: 300 * time.Millisecond, MaxBytes: 1024})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Fetch took %v: the timeout does not bound slow hosts", d)
	}
	want := []got{
		{RuleURLMismatch.ID, finding.High, "", "3"},
		{RuleURLMismatch.ID, finding.High, "", "8"},
		{RuleURLUnreachable.ID, finding.Low, "2", ""},
		{RuleURLTooLarge.ID, finding.Medium, "1", ""},
	}
	if diff := cmp.Diff(want, summary(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s\n%+v", diff, fs)
	}
	if got := fs[0].Evidence["actual"]; got != sha(h.files["/img/changed.jpg"]) {
		t.Errorf("actual digest %s, want the digest of what the host serves now", got)
	}
	ex := fs[2].Evidence["examples"]
	for _, w := range []string{"row 4:", "HTTP 404", "row 5:", "timeout"} {
		if !strings.Contains(ex, w) {
			t.Errorf("unreachable examples %q lack %q", ex, w)
		}
	}
	if h.flaky.Load() != 2 {
		t.Errorf("flaky URL requested %d times, want 2 (one retry)", h.flaky.Load())
	}
}

func TestFetchRefusesNonPublicByDefault(t *testing.T) {
	h := newFakeHost(t)
	b := h.files["/img/0.jpg"]
	fs := Fetch(context.Background(), []URLItem{{Row: 1, URL: h.URL + "/img/0.jpg", Algo: "sha256", Digest: sha(b)}}, FetchOptions{})
	if diff := cmp.Diff([]got{{RuleURLUnreachable.ID, finding.Medium, "1", ""}}, summary(fs)); diff != "" {
		t.Fatalf("a loopback URL with the default client (-want +got):\n%s", diff)
	}
	if !strings.Contains(fs[0].Evidence["examples"], "non-public") {
		t.Errorf("examples %q do not say why", fs[0].Evidence["examples"])
	}
}

func TestFetchSamples(t *testing.T) {
	h := newFakeHost(t)
	var items []URLItem
	for i := range 10 {
		p := fmt.Sprintf("/img/%d.jpg", i%5)
		items = append(items, URLItem{Row: int64(i + 1), URL: h.URL + p, Algo: "sha256", Digest: sha(h.files[p])})
	}
	fs := Fetch(context.Background(), items, FetchOptions{Client: h.Client(), MaxURLs: 3})
	if len(fs) != 1 || fs[0].RuleID != RuleURLSampled.ID || fs[0].Evidence["verified"] != "3" {
		t.Fatalf("findings %+v, want one data-url-sampled with 3 verified", fs)
	}
}

func TestFetchCancelled(t *testing.T) {
	h := newFakeHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs := Fetch(ctx, []URLItem{{Row: 1, URL: h.URL + "/img/slow.jpg", Algo: "sha256", Digest: sha(nil)}}, FetchOptions{Client: h.Client()})
	if len(fs) != 0 {
		t.Fatalf("a cancelled fetch reported %+v; items not attempted must not be reported", fs)
	}
}

// BenchmarkFetch verifies 200 URLs of 16 KiB each on a local host.
func BenchmarkFetch(b *testing.B) {
	body := []byte(strings.Repeat("x", 16<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	items := make([]URLItem, 200)
	for i := range items {
		items[i] = URLItem{Row: int64(i + 1), URL: fmt.Sprintf("%s/%d.jpg", srv.URL, i), Algo: "sha256", Digest: sha(body)}
	}
	b.SetBytes(int64(len(items) * len(body)))
	for b.Loop() {
		if fs := Fetch(context.Background(), items, FetchOptions{Client: srv.Client()}); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

func itoa(i int) string { return fmt.Sprint(i) }
