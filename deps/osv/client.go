package osv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// DefaultBaseURL is the osv.dev API.
const DefaultBaseURL = "https://api.osv.dev"

// Bounds of the online client.
const (
	batchSize       = 1000 // osv.dev's limit of queries per querybatch
	maxPages        = 100  // next_page_token rounds per batch
	maxAttempts     = 5    // tries of one request (429 and 5xx are retried)
	maxBackoff      = 10 * time.Second
	maxRetryAfter   = 30 * time.Second
	maxResponseSize = 64 << 20
	workers         = 8
	// DefaultMaxAge is how long a cached querybatch answer is reused. Advisory
	// details are cached by id and modification time, so they never go stale.
	DefaultMaxAge = 24 * time.Hour
)

// initialBackoff is the first retry delay; tests shorten it.
var initialBackoff = 500 * time.Millisecond

// Client asks the osv.dev API. The zero value works: it uses
// [DefaultBaseURL], an http.Client with a 30 s timeout, and no cache.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Cache is a folder for answers, keyed by request; "" disables caching.
	Cache string
	// MaxAge bounds the reuse of cached querybatch answers (default DefaultMaxAge).
	MaxAge time.Duration
	// UserAgent is sent with each request (default "aigis").
	UserAgent string
}

// StatusError is an unexpected HTTP status from the API.
type StatusError struct {
	URL    string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("osv: %s: HTTP %d %s", e.URL, e.Status, e.Body)
}

type batchQuery struct {
	Package   batchPackage `json:"package"`
	Version   string       `json:"version,omitempty"`
	PageToken string       `json:"page_token,omitempty"`
}

type batchPackage struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

type batchResponse struct {
	Results []struct {
		Vulns []struct {
			ID       string `json:"id"`
			Modified string `json:"modified"`
		} `json:"vulns"`
		NextPageToken string `json:"next_page_token"`
	} `json:"results"`
}

type vulnRef struct{ id, modified string }

// QueryBatch returns, for each package, the advisories osv.dev says affect
// it (result i belongs to pkgs[i]). As with [DB.Query], a package with no
// version gets only the advisories that affect every version.
func (c *Client) QueryBatch(ctx context.Context, pkgs []Package) ([][]Vuln, error) {
	refs := make([][]vulnRef, len(pkgs))
	for start := 0; start < len(pkgs); start += batchSize {
		end := min(start+batchSize, len(pkgs))
		if err := c.batch(ctx, pkgs[start:end], refs[start:end]); err != nil {
			return nil, err
		}
	}
	// Fetch each advisory once.
	want := map[vulnRef]bool{}
	for _, rs := range refs {
		for _, r := range rs {
			want[r] = true
		}
	}
	recs, err := c.records(ctx, want)
	if err != nil {
		return nil, err
	}
	out := make([][]Vuln, len(pkgs))
	for i, p := range pkgs {
		name := normalize(p.Name)
		var vs []Vuln
		for _, r := range refs[i] {
			rec := recs[r]
			if rec == nil || rec.Withdrawn != "" {
				continue
			}
			var aff []*affected
			for j := range rec.Affected {
				a := &rec.Affected[j]
				if isPyPI(a.Package.Ecosystem) && normalize(a.Package.Name) == name {
					aff = append(aff, a)
				}
			}
			if p.Version == "" && !newEntry(rec, aff).always {
				continue
			}
			vs = append(vs, rec.vuln(aff))
		}
		out[i] = mergeAliases(vs)
	}
	return out, nil
}

// batch runs one querybatch of at most batchSize packages, following
// next_page_token until every query is exhausted.
func (c *Client) batch(ctx context.Context, pkgs []Package, refs [][]vulnRef) error {
	type pending struct {
		idx   int
		token string
	}
	var todo []pending
	for i := range pkgs {
		todo = append(todo, pending{idx: i})
	}
	for page := 0; len(todo) > 0; page++ {
		if page >= maxPages {
			return fmt.Errorf("osv: querybatch: %w", &safeio.LimitError{Limit: "osv pages", Value: maxPages})
		}
		qs := make([]batchQuery, len(todo))
		for k, t := range todo {
			p := pkgs[t.idx]
			qs[k] = batchQuery{Package: batchPackage{Name: p.Name, Ecosystem: "PyPI"}, Version: p.Version, PageToken: t.token}
		}
		body, err := json.Marshal(map[string]any{"queries": qs})
		if err != nil {
			return err
		}
		data, err := c.get(ctx, http.MethodPost, "/v1/querybatch", "", body, c.maxAge())
		if err != nil {
			return err
		}
		var resp batchResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			return fmt.Errorf("osv: querybatch: %w", err)
		}
		if len(resp.Results) != len(todo) {
			return fmt.Errorf("osv: querybatch: %d results for %d queries", len(resp.Results), len(todo))
		}
		var next []pending
		for k, res := range resp.Results {
			idx := todo[k].idx
			for _, v := range res.Vulns {
				refs[idx] = append(refs[idx], vulnRef{v.ID, v.Modified})
			}
			if res.NextPageToken != "" {
				next = append(next, pending{idx: idx, token: res.NextPageToken})
			}
		}
		todo = next
	}
	return nil
}

// records fetches GET /v1/vulns/{id} for each wanted advisory, a few at a time.
func (c *Client) records(ctx context.Context, want map[vulnRef]bool) (map[vulnRef]*record, error) {
	out := make(map[vulnRef]*record, len(want))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	ch := make(chan vulnRef)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range ch {
				// Keyed by modification time: a cached copy of the same
				// modification is the same record.
				data, err := c.get(ctx, http.MethodGet, "/v1/vulns/"+url.PathEscape(r.id), r.modified, nil, 0)
				var rec record
				if err == nil {
					if err = json.Unmarshal(data, &rec); err != nil {
						err = fmt.Errorf("osv: vulns/%s: %w", r.id, err)
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					out[r] = &rec
				}
				mu.Unlock()
			}
		}()
	}
	for r := range want {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		ch <- r
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (c *Client) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return DefaultMaxAge
}

// get performs one request with retries, through the cache. keyExtra goes
// into the cache key only; maxAge 0 means a cached answer never expires.
func (c *Client) get(ctx context.Context, method, path, keyExtra string, body []byte, maxAge time.Duration) ([]byte, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimSuffix(base, "/") + path
	key := cacheKey(method, u+"#"+keyExtra, body)
	if data, ok := c.cached(key, maxAge); ok {
		return data, nil
	}
	data, err := c.do(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	c.store(key, data)
	return data, nil
}

func (c *Client) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "aigis"
	}
	backoff := initialBackoff
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("osv: %s: %w (last error: %v)", u, ctx.Err(), lastErr)
			case <-t.C:
			}
			backoff = min(backoff*2, maxBackoff)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("osv: %w", err)
		}
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("osv: %s: %w", u, ctx.Err())
			}
			lastErr = err
			continue
		}
		data, err := io.ReadAll(safeio.LimitReader(resp.Body, maxResponseSize, "osv response bytes"))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK && err == nil:
			return data, nil
		case resp.StatusCode == http.StatusOK:
			return nil, fmt.Errorf("osv: %s: %w", u, err)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			lastErr = &StatusError{URL: u, Status: resp.StatusCode, Body: snippet(data)}
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra >= 0 {
				backoff = min(time.Duration(ra)*time.Second, maxRetryAfter)
			}
		default:
			return nil, &StatusError{URL: u, Status: resp.StatusCode, Body: snippet(data)}
		}
	}
	return nil, fmt.Errorf("osv: %s: gave up after %d attempts: %w", u, maxAttempts, lastErr)
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

func cacheKey(method, u string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, u)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Client) cached(key string, maxAge time.Duration) ([]byte, bool) {
	if c.Cache == "" {
		return nil, false
	}
	p := filepath.Join(c.Cache, key+".json")
	fi, err := os.Stat(p)
	if err != nil || (maxAge > 0 && time.Since(fi.ModTime()) > maxAge) {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	return data, true
}

// store writes a cache entry atomically; a cache that cannot be written
// only costs a later request, so errors are ignored.
func (c *Client) store(key string, data []byte) {
	if c.Cache == "" {
		return
	}
	if err := os.MkdirAll(c.Cache, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(c.Cache, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if errors.Join(werr, cerr) != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), filepath.Join(c.Cache, key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}
