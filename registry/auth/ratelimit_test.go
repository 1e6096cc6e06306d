package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)} }

// The regular expressions huggingface_hub (utils/_http.py) uses on these
// headers: what it cannot match, it ignores.
var (
	hfRateLimit       = regexp.MustCompile(`"(?P<resource_type>\w+)"\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)`)
	hfRateLimitPolicy = regexp.MustCompile(`q\s*=\s*(?P<q>\d+).*?w\s*=\s*(?P<w>\d+)`)
)

func TestMiddleware429(t *testing.T) {
	clock := newClock()
	l, err := NewLimiter(LimitConfig{Name: "api", Rate: 0.5, Burst: 3, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Middleware(func(r *http.Request) string { return r.Header.Get("Authorization") },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })))
	defer srv.Close()

	get := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range 3 {
		resp := get("a")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d within the burst: status %d", i+1, resp.StatusCode)
		}
		m := hfRateLimit.FindStringSubmatch(resp.Header.Get("RateLimit"))
		if m == nil || m[1] != "api" || m[2] != strconv.Itoa(2-i) {
			t.Fatalf("request %d: RateLimit %q, want api with r=%d", i+1, resp.Header.Get("RateLimit"), 2-i)
		}
	}
	resp := get("a")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "2" { // one token per 2 s
		t.Errorf("Retry-After %q, want 2", got)
	}
	m := hfRateLimit.FindStringSubmatch(resp.Header.Get("RateLimit"))
	if m == nil || m[2] != "0" || m[3] != "2" {
		t.Errorf("RateLimit %q on 429, want r=0;t=2", resp.Header.Get("RateLimit"))
	}
	pm := hfRateLimitPolicy.FindStringSubmatch(resp.Header.Get("RateLimit-Policy"))
	if pm == nil || pm[1] != "3" || pm[2] != "6" {
		t.Errorf("RateLimit-Policy %q, want q=3;w=6", resp.Header.Get("RateLimit-Policy"))
	}
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == "" {
		t.Errorf("429 body: %v, error %q; want JSON with an error message", err, body.Error)
	}
	if resp.Header.Get("X-Error-Message") != body.Error || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("X-Error-Message %q, Content-Type %q", resp.Header.Get("X-Error-Message"), resp.Header.Get("Content-Type"))
	}

	if get("b").StatusCode != 200 {
		t.Error("another key is limited by a's bucket")
	}
	clock.Add(1900 * time.Millisecond)
	if get("a").StatusCode != 429 {
		t.Error("allowed before a token was refilled")
	}
	clock.Add(100 * time.Millisecond)
	if get("a").StatusCode != 200 {
		t.Error("refused after Retry-After elapsed")
	}
	// Refused requests do not consume tokens: waiting Retry-After is enough.
	if get("a").StatusCode != 429 {
		t.Error("second request after refill allowed; bucket should be empty")
	}
	clock.Add(2 * time.Second)
	if get("a").StatusCode != 200 {
		t.Error("refused after waiting Retry-After following a refusal")
	}
}

func TestLimiterBoundsKeys(t *testing.T) {
	clock := newClock()
	l, err := NewLimiter(LimitConfig{Name: "api", Rate: 1, Burst: 1, MaxKeys: 100, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Allow("victim").OK || l.Allow("victim").OK {
		t.Fatal("burst 1: first request allowed, second refused")
	}
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		if l.Len() > 100 {
			t.Fatalf("%d keys tracked, want at most 100", l.Len())
		}
	}
	// A recently used key survives while older ones are dropped.
	for i := range 200 {
		l.Allow("hot")
		l.Allow(fmt.Sprintf("cold-%d", i))
	}
	if d := l.Allow("hot"); d.OK {
		t.Error("hot key was evicted although it was used most recently")
	}
}

func TestNewLimiterRefusesBadConfig(t *testing.T) {
	for _, c := range []LimitConfig{
		{Name: "", Rate: 1, Burst: 1},
		{Name: "api-v2", Rate: 1, Burst: 1}, // huggingface_hub would not parse it
		{Name: "api", Rate: 0, Burst: 1},
		{Name: "api", Rate: rate.Inf, Burst: 1},
		{Name: "api", Rate: 1, Burst: 0},
		{Name: "api", Rate: 1, Burst: 1, MaxKeys: -1},
	} {
		if _, err := NewLimiter(c); err == nil {
			t.Errorf("NewLimiter(%+v) accepted", c)
		}
	}
}

func TestRemoteAddrKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5000":             "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"not an address":             "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := RemoteAddrKey(r); got != want {
			t.Errorf("RemoteAddrKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l, err := NewLimiter(LimitConfig{Name: "api", Rate: 1e9, Burst: 1 << 30, MaxKeys: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 50_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("198.51.%d.%d", i/256%256, i%256) + strconv.Itoa(i)
	}
	b.Run("one key", func(b *testing.B) {
		for b.Loop() {
			l.Allow("token-1")
		}
	})
	b.Run("distinct keys evicting", func(b *testing.B) {
		i := 0
		for b.Loop() {
			l.Allow(keys[i%len(keys)])
			i++
		}
	})
	b.Run("middleware", func(b *testing.B) {
		h := l.Middleware(RemoteAddrKey, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest("GET", "/api/models/acme/bert", nil)
		w := httptest.NewRecorder()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
}

// TestLimiterConcurrent: many goroutines on one key never get more than the
// burst between refills.
func TestLimiterConcurrent(t *testing.T) {
	clock := newClock()
	l, err := NewLimiter(LimitConfig{Name: "api", Rate: 0.001, Burst: 100, MaxKeys: 10, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ok := l.Allow("shared").OK
				l.Allow(fmt.Sprintf("g%d-%d", g, i)) // churn other keys through the LRU
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	// "shared" may be evicted by the churn and start again with a full
	// bucket; that is the documented cost of bounded memory. Without churn
	// it must be exactly the burst.
	if allowed < 100 {
		t.Fatalf("%d requests allowed, want at least the burst of 100", allowed)
	}
	l2, _ := NewLimiter(LimitConfig{Name: "api", Rate: 0.001, Burst: 100, Now: clock.Now})
	allowed = 0
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if l2.Allow("shared").OK {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d of 4000 concurrent requests allowed, want exactly the burst of 100", allowed)
	}
}
