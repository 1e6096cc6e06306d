// Package server is `aigis serve`: a registry gate that speaks the Hugging
// Face Hub protocol, so existing clients (huggingface_hub, transformers,
// @huggingface/hub, git-free downloads) work unchanged with HF_ENDPOINT
// pointed at it, and that serves only revisions the scanner and the policy
// approved.
//
// # Gate
//
// The first request for org/name@rev pins rev to a commit upstream, records
// the revision as pending and queues an ingest job; the client gets 503 with
// Retry-After (huggingface_hub retries). A worker downloads every file
// (streaming into the blob store, resuming broken transfers, checking each
// file against the upstream SHA-256 or git blob id), scans the revision with
// the scan engine, verifies signatures, applies the policy and approves or
// quarantines it. Approved revisions are served from the blob store, never
// again from upstream; quarantined ones answer 403 GatedRepo with the reason.
// Branch names resolve to the last approved commit: a branch that moves
// upstream produces a new candidate revision that goes through the same gate,
// and the move is reported.
//
// Internal artifacts are pushed through the aigis API (`aigis push`), scanned
// on ingest, approved by reviewers (optionally two: four-eyes) and promoted
// with aliases such as staging and production, whose history is kept.
//
// Every download, ingest, scan result, decision, approval, promotion and
// token change is appended to the audit log (package audit) before it takes
// effect; a download whose record cannot be written is refused.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/scan"
)

// Auditor appends entries to the audit log. *audit.Log implements it.
type Auditor interface {
	Append(e audit.Entry) (int64, error)
}

// Anonymous access levels.
const (
	AnonymousNone    = "none"    // every request needs a token
	AnonymousRead    = "read"    // anonymous clients may download approved revisions
	AnonymousRequest = "request" // and may trigger pull-through of new ones
)

// Config configures a Server.
type Config struct {
	Store store.Store
	Blobs blob.Store
	Audit Auditor

	// Upstream is the hub pulled through (https://huggingface.co or any
	// compatible endpoint); "" turns pull-through off.
	Upstream string
	// UpstreamToken is sent to Upstream only; never logged or forwarded.
	UpstreamToken string
	// UpstreamHTTP is the client for upstream requests (tests); nil: default.
	UpstreamHTTP *http.Client

	// Policy judges revisions; nil: policy.Default().
	Policy *policy.Policy
	// ScanOptions are the scan engine's options; zero: scan.DefaultOptions().
	ScanOptions *scan.Options
	// WorkDir holds scratch copies of revisions while they are scanned.
	WorkDir string

	// Anonymous is AnonymousNone, AnonymousRead (default) or AnonymousRequest.
	Anonymous string
	// Approvals is how many distinct reviewers must approve an internal
	// revision (2 = four-eyes); default 1. Nobody approves their own push.
	Approvals int
	// Wait is how long a request for a revision being scanned waits for the
	// decision before answering 503 Retry-After; 0 answers at once.
	Wait time.Duration
	// RetryAfter is the Retry-After of 503 answers; default 5 s.
	RetryAfter time.Duration
	// BaseURL is the public URL of the server, used in Link headers and
	// messages; "" derives it from each request.
	BaseURL string
	// Webhooks receive alerts (quarantines, upstream moves, denied
	// downloads), signed with their secrets.
	Webhooks []Webhook
	// Signer, when set, signs internal revisions when they are approved.
	Signer *Signer
	// URLKey signs the upload URLs handed out by the LFS batch endpoint
	// (LFS clients send no credentials with the upload itself). Processes
	// behind one address need the same key; nil: a random key per process.
	URLKey []byte
	// Sessions, when set, authenticates UI requests by cookie.
	Sessions *auth.Sessions
	// RateLimit is the sustained requests per second allowed per principal
	// (anonymous clients: per address), with bursts of RateBurst; 0 turns
	// rate limiting off. Over it, clients get 429 with Retry-After.
	RateLimit float64
	RateBurst int

	// Version is the aigis version; part of the ruleset version, so an
	// upgrade re-judges what is stored.
	Version string

	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Server is the registry. Create it with New, mount Handler, and run
// Workers (in this process or in separate worker processes sharing the
// store and blobs).
type Server struct {
	cfg      Config
	log      *slog.Logger
	ruleset  string
	policyMu sync.RWMutex
	policy   *policy.Policy

	// wake nudges idle workers when a job is queued in this process.
	wake chan struct{}
	// changed is closed and replaced whenever a revision's status changes
	// in this process, to wake requests waiting for a decision.
	changedMu sync.Mutex
	changed   chan struct{}

	hooks  *webhooks
	urlKey []byte
	ui     uiState // web UI state (ui_state.go)
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Blobs == nil || cfg.Audit == nil {
		return nil, errors.New("server: Store, Blobs and Audit are required")
	}
	if cfg.WorkDir == "" {
		return nil, errors.New("server: WorkDir is required (scratch space for scans)")
	}
	if cfg.Anonymous == "" {
		cfg.Anonymous = AnonymousRead
	}
	switch cfg.Anonymous {
	case AnonymousNone, AnonymousRead, AnonymousRequest:
	default:
		return nil, fmt.Errorf("server: anonymous access %q: use none, read or request", cfg.Anonymous)
	}
	if cfg.Approvals <= 0 {
		cfg.Approvals = 1
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ScanOptions == nil {
		o := scan.DefaultOptions()
		cfg.ScanOptions = &o
	}
	pol := cfg.Policy
	if pol == nil {
		pol = policy.Default()
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		policy:  pol,
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	rs, err := rulesetVersion(context.Background(), *cfg.ScanOptions, cfg.WorkDir, cfg.Version)
	if err != nil {
		return nil, err
	}
	s.ruleset = rs
	s.hooks = newWebhooks(cfg.Webhooks, cfg.Logger)
	s.urlKey = cfg.URLKey
	if len(s.urlKey) == 0 {
		s.urlKey = make([]byte, 32)
		rand.Read(s.urlKey)
	}
	return s, nil
}

// Policy returns the policy in force.
func (s *Server) Policy() *policy.Policy {
	s.policyMu.RLock()
	defer s.policyMu.RUnlock()
	return s.policy
}

// RulesetVersion identifies the scanner's rules; decisions record it.
func (s *Server) RulesetVersion() string { return s.ruleset }

// Close waits for pending webhook deliveries.
func (s *Server) Close() { s.hooks.close() }

// Handler returns the HTTP handler of the whole server: the HF surface at
// the root, the aigis API under /api/aigis/ and the UI under /ui/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.registerAPI(mux)
	s.registerUI(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", s.serveHF)
	var h http.Handler = mux
	if s.cfg.RateLimit > 0 {
		burst := s.cfg.RateBurst
		if burst <= 0 {
			burst = int(s.cfg.RateLimit) * 10
		}
		lim, err := auth.NewLimiter(auth.LimitConfig{Name: "aigis", Rate: rate.Limit(s.cfg.RateLimit), Burst: burst})
		if err == nil {
			h = lim.Middleware(func(r *http.Request) string {
				if p := principalOf(r.Context()); !isAnonymous(p) {
					return "p:" + p.ID
				}
				return "ip:" + auth.RemoteAddrKey(r)
			}, mux)
		} else {
			s.log.Error("rate limiter", "err", err)
		}
	}
	return s.middleware(h)
}

type ctxKey int

const (
	keyPrincipal ctxKey = iota
	keyRequestID
)

// maxHeaderBytes caps request headers (http.Server.MaxHeaderBytes is set by
// the CLI too; this guards handlers mounted elsewhere).
const maxHeaderBytes = 64 << 10

// middleware assigns a request id, authenticates, and recovers panics.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v, "request", id)
				hfError(w, http.StatusInternalServerError, "", "internal error (request "+id+"); the server log has details")
			}
		}()
		size := 0
		for k, vs := range r.Header {
			size += len(k)
			for _, v := range vs {
				size += len(v)
			}
		}
		if size > maxHeaderBytes {
			hfError(w, http.StatusRequestHeaderFieldsTooLarge, "", "request headers over 64 KiB")
			return
		}
		p, err := s.authenticate(ctx, r)
		if err != nil {
			var ae *authError
			if errors.As(err, &ae) {
				hfError(w, http.StatusUnauthorized, "", ae.msg)
				return
			}
			s.log.Error("authentication failed", "err", err, "request", id)
			hfError(w, http.StatusServiceUnavailable, "", "cannot check credentials right now; retry later")
			return
		}
		ctx = context.WithValue(ctx, keyPrincipal, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func principalOf(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(keyPrincipal).(auth.Principal)
	return p
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// hfError answers the way the Hub does: X-Error-Code (which clients map to
// exception types), X-Error-Message (which they show) and a JSON body.
func hfError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	if code != "" {
		h.Set("X-Error-Code", code)
	}
	h.Set("X-Error-Message", sanitizeHeader(msg))
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("ETag")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// sanitizeHeader keeps a header value on one line.
func sanitizeHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// baseURL is the public URL of the server for r.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// repoKey is the store id of a repository: models and datasets live in
// separate namespaces, as on the Hub.
func repoKey(typ, repo string) string {
	if typ == "dataset" {
		return "datasets/" + repo
	}
	return "models/" + repo
}

// splitKey inverts repoKey.
func splitKey(key string) (typ, repo string) {
	if r, ok := strings.CutPrefix(key, "datasets/"); ok {
		return "dataset", r
	}
	return "model", strings.TrimPrefix(key, "models/")
}

// notifyChanged wakes requests waiting for a decision.
func (s *Server) notifyChanged() {
	s.changedMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.changedMu.Unlock()
}

func (s *Server) changedChan() <-chan struct{} {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changed
}

func retryAfterSeconds(d time.Duration) string {
	sec := int(d.Round(time.Second) / time.Second)
	if sec < 1 {
		sec = 1
	}
	return strconv.Itoa(sec)
}
