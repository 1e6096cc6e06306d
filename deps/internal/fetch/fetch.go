// Package fetch is the HTTP layer of the dependency clients (OSV, PyPI):
// bounded responses, retries with exponential backoff on network errors,
// 429 and 5xx (honouring Retry-After), and an on-disk answer cache written
// atomically.
package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Retry sends requests. Name prefixes errors ("osv", "pypi").
type Retry struct {
	Name          string
	HTTP          *http.Client // nil: a client with a 30 s timeout
	UserAgent     string       // default "aigis"
	Attempts      int
	Backoff       time.Duration // first retry delay
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
	MaxBytes      int64
}

// RetryError is the last answer of a server that kept failing (429 or
// 5xx), or one that refused outright.
type RetryError struct {
	URL    string
	Status int
	Body   string
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Status, e.Body)
}

// Do sends method u with body until an answer that is not 429 or 5xx comes
// back, and returns its status and body (read up to MaxBytes). After
// Attempts tries it gives up with an error that says so.
func (r Retry) Do(ctx context.Context, method, u string, body []byte) (int, []byte, error) {
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ua := r.UserAgent
	if ua == "" {
		ua = "aigis"
	}
	backoff := r.Backoff
	var lastErr error
	for attempt := 0; attempt < r.Attempts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, nil, fmt.Errorf("%s: %s: %w (last error: %v)", r.Name, u, ctx.Err(), lastErr)
			case <-t.C:
			}
			backoff = min(backoff*2, r.MaxBackoff)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, fmt.Errorf("%s: %s: %w", r.Name, u, ctx.Err())
			}
			lastErr = err
			continue
		}
		data, err := io.ReadAll(safeio.LimitReader(resp.Body, r.MaxBytes, r.Name+" response bytes"))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			lastErr = &RetryError{URL: u, Status: resp.StatusCode, Body: Snippet(data)}
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra >= 0 {
				backoff = min(time.Duration(ra)*time.Second, r.MaxRetryAfter)
			}
			continue
		}
		if err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s: %s: %w", r.Name, u, err)
		}
		return resp.StatusCode, data, nil
	}
	return 0, nil, fmt.Errorf("%s: %s: gave up after %d attempts: %w", r.Name, u, r.Attempts, lastErr)
}

// Snippet is the start of a body, for error messages.
func Snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// Key names a cache entry for a request.
func Key(method, u string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, u)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Cache is a folder of answers; "" disables it.
type Cache string

// Get returns the entry for key if it is younger than maxAge (0: any age).
func (c Cache) Get(key string, maxAge time.Duration) ([]byte, bool) {
	if c == "" {
		return nil, false
	}
	p := filepath.Join(string(c), key+".json")
	fi, err := os.Stat(p)
	if err != nil || (maxAge > 0 && time.Since(fi.ModTime()) > maxAge) {
		return nil, false
	}
	data, err := os.ReadFile(p)
	return data, err == nil
}

// Put writes an entry atomically; a cache that cannot be written only
// costs a later request, so its errors are ignored.
func (c Cache) Put(key string, data []byte) {
	if c == "" {
		return
	}
	if err := os.MkdirAll(string(c), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(string(c), key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if errors.Join(werr, tmp.Close()) != nil || os.Rename(tmp.Name(), filepath.Join(string(c), key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}
