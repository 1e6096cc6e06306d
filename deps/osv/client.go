package osv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aigis-sec/aigis/deps/internal/fetch"
	"github.com/aigis-sec/aigis/deps/pyparse"
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
		name := pyparse.Normalize(p.Name)
		var vs []Vuln
		for _, r := range refs[i] {
			rec := recs[r]
			if rec == nil || rec.Withdrawn != "" {
				continue
			}
			var aff []*affected
			for j := range rec.Affected {
				a := &rec.Affected[j]
				if isPyPI(a.Package.Ecosystem) && pyparse.Normalize(a.Package.Name) == name {
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
	key := fetch.Key(method, u+"#"+keyExtra, body)
	cache := fetch.Cache(c.Cache)
	if data, ok := cache.Get(key, maxAge); ok {
		return data, nil
	}
	r := fetch.Retry{Name: "osv", HTTP: c.HTTP, UserAgent: c.UserAgent, Attempts: maxAttempts,
		Backoff: initialBackoff, MaxBackoff: maxBackoff, MaxRetryAfter: maxRetryAfter, MaxBytes: maxResponseSize}
	status, data, err := r.Do(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, &StatusError{URL: u, Status: status, Body: fetch.Snippet(data)}
	}
	cache.Put(key, data)
	return data, nil
}
