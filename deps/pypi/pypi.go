// Package pypi answers "does this project exist on PyPI, and how old and
// established is it?" — the signals behind hallucinated (slopsquatted) and
// brand-new dependencies.
//
// Offline, [LoadSnapshot] reads a registry snapshot the user provides: a
// text file of project names, one per line, or the PyPI simple index in
// JSON (GET https://pypi.org/simple/ with Accept:
// application/vnd.pypi.simple.v1+json). Online, [Client.Project] reads
// the PyPI JSON API (GET /pypi/{name}/json) with timeouts, bounded retries
// and an on-disk cache; a 404 is an answer (the project does not exist),
// not an error.
package pypi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/deps/internal/fetch"
	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// DefaultBaseURL is PyPI.
const DefaultBaseURL = "https://pypi.org"

// Bounds of the client and of snapshots.
const (
	maxAttempts     = 4
	maxBackoff      = 10 * time.Second
	maxRetryAfter   = 30 * time.Second
	maxResponseSize = 64 << 20 // the JSON of projects with thousands of wheels is several MiB
	maxSnapshot     = 256 << 20
	maxNames        = 5_000_000
	// DefaultMaxAge is how long a cached answer is reused.
	DefaultMaxAge = 24 * time.Hour
)

var initialBackoff = 500 * time.Millisecond

// Normalize is PEP 503 name normalisation: lower case, each run of "-",
// "_" and "." becomes one "-". It is [pyparse.Normalize].
func Normalize(name string) string { return pyparse.Normalize(name) }

// Project is what PyPI says about one project.
type Project struct {
	Name   string // as PyPI spells it ("" when it does not exist)
	Exists bool   // false on 404
	// Releases is the number of versions PyPI lists (including ones with
	// no files).
	Releases int
	// FirstUpload is the earliest upload time of any file; zero when no
	// file was ever uploaded.
	FirstUpload time.Time
	// LastUpload is the latest upload time of any file.
	LastUpload time.Time
	Latest     string // info.version
	// Yanked is true when every file of the latest version is yanked.
	Yanked bool
	// HasRepository is true when project_urls or home_page link to a code host.
	HasRepository bool
	Summary       string
}

// Client reads the PyPI JSON API. The zero value works: [DefaultBaseURL],
// an http.Client with a 30 s timeout, and no cache.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Cache is a folder for answers, keyed by request; "" disables caching.
	Cache string
	// MaxAge bounds the reuse of cached answers (default DefaultMaxAge).
	MaxAge time.Duration
	// UserAgent is sent with each request (default "aigis").
	UserAgent string
}

// StatusError is an unexpected HTTP status.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string { return fmt.Sprintf("pypi: %s: HTTP %d", e.URL, e.Status) }

type projectJSON struct {
	Info struct {
		Name        string            `json:"name"`
		Version     string            `json:"version"`
		Summary     string            `json:"summary"`
		HomePage    string            `json:"home_page"`
		ProjectURLs map[string]string `json:"project_urls"`
	} `json:"info"`
	Releases map[string][]struct {
		UploadTime string `json:"upload_time_iso_8601"`
		Yanked     bool   `json:"yanked"`
	} `json:"releases"`
}

// notFoundBody is what the cache stores for a 404.
const notFoundBody = `{"aigis_not_found":true}`

// Project returns what PyPI knows about name. A project that does not exist
// (HTTP 404) is returned with Exists false and a nil error.
func (c *Client) Project(ctx context.Context, name string) (*Project, error) {
	norm := Normalize(name)
	if norm == "" || strings.ContainsAny(norm, "/?#% ") {
		return nil, fmt.Errorf("pypi: invalid project name %q", name)
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimSuffix(base, "/") + "/pypi/" + url.PathEscape(norm) + "/json"
	data, err := c.get(ctx, u)
	if err != nil {
		return nil, err
	}
	if string(data) == notFoundBody {
		return &Project{Exists: false}, nil
	}
	var pj projectJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return nil, fmt.Errorf("pypi: %s: %w", u, err)
	}
	p := &Project{Name: pj.Info.Name, Exists: true, Releases: len(pj.Releases), Latest: pj.Info.Version, Summary: pj.Info.Summary}
	for _, files := range pj.Releases {
		for _, f := range files {
			t, err := time.Parse(time.RFC3339, f.UploadTime)
			if err != nil {
				continue
			}
			if p.FirstUpload.IsZero() || t.Before(p.FirstUpload) {
				p.FirstUpload = t
			}
			if t.After(p.LastUpload) {
				p.LastUpload = t
			}
		}
	}
	if files := pj.Releases[pj.Info.Version]; len(files) > 0 {
		p.Yanked = true
		for _, f := range files {
			p.Yanked = p.Yanked && f.Yanked
		}
	}
	links := []string{pj.Info.HomePage}
	for _, l := range pj.Info.ProjectURLs {
		links = append(links, l)
	}
	for _, l := range links {
		for _, host := range []string{"github.com/", "gitlab.com/", "bitbucket.org/", "codeberg.org/", "git.sr.ht/"} {
			if strings.Contains(l, host) {
				p.HasRepository = true
			}
		}
	}
	return p, nil
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	key := fetch.Key(http.MethodGet, u, nil)
	cache := fetch.Cache(c.Cache)
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if data, ok := cache.Get(key, maxAge); ok {
		return data, nil
	}
	r := fetch.Retry{Name: "pypi", HTTP: c.HTTP, UserAgent: c.UserAgent, Attempts: maxAttempts,
		Backoff: initialBackoff, MaxBackoff: maxBackoff, MaxRetryAfter: maxRetryAfter, MaxBytes: maxResponseSize}
	status, data, err := r.Do(ctx, http.MethodGet, u, nil)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusOK:
		cache.Put(key, data)
		return data, nil
	case status == http.StatusNotFound:
		cache.Put(key, []byte(notFoundBody))
		return []byte(notFoundBody), nil
	}
	return nil, &StatusError{URL: u, Status: status}
}

// Snapshot is a dated list of the project names of a registry.
type Snapshot struct {
	names map[string]struct{}
}

// Exists reports whether the snapshot lists name (any spelling).
func (s *Snapshot) Exists(name string) bool {
	if s == nil {
		return false
	}
	_, ok := s.names[Normalize(name)]
	return ok
}

// Len is the number of distinct normalised names.
func (s *Snapshot) Len() int { return len(s.names) }

// LoadSnapshot reads a registry snapshot: the PyPI simple index as JSON
// (PEP 691: {"projects":[{"name":…}]}), or text with one project name per
// line (blank lines and lines starting with # are skipped).
func LoadSnapshot(r io.Reader) (*Snapshot, error) {
	br := bufio.NewReader(safeio.LimitReader(r, maxSnapshot, "pypi snapshot bytes"))
	s := &Snapshot{names: map[string]struct{}{}}
	first, err := peekNonSpace(br)
	if err != nil {
		return nil, fmt.Errorf("pypi: snapshot: %w", err)
	}
	if first == '{' {
		var idx struct {
			Projects []struct {
				Name string `json:"name"`
			} `json:"projects"`
		}
		if err := json.NewDecoder(br).Decode(&idx); err != nil {
			return nil, fmt.Errorf("pypi: snapshot: simple index JSON: %w", err)
		}
		if len(idx.Projects) > maxNames {
			return nil, fmt.Errorf("pypi: snapshot: %w", &safeio.LimitError{Limit: "pypi snapshot names", Value: maxNames})
		}
		for _, p := range idx.Projects {
			if p.Name != "" {
				s.names[Normalize(p.Name)] = struct{}{}
			}
		}
	} else {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			// Tolerate "name,extra columns" (CSV lists of names).
			if i := bytes.IndexAny(line, ", \t"); i >= 0 {
				line = line[:i]
			}
			s.names[Normalize(string(line))] = struct{}{}
			if len(s.names) > maxNames {
				return nil, fmt.Errorf("pypi: snapshot: %w", &safeio.LimitError{Limit: "pypi snapshot names", Value: maxNames})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("pypi: snapshot: %w", err)
		}
	}
	if len(s.names) == 0 {
		return nil, errors.New("pypi: snapshot: no project names")
	}
	return s, nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF: // whitespace, UTF-8 BOM
			continue
		}
		return b, br.UnreadByte()
	}
}
