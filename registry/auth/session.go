package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// SessionData is one web session as the store keeps it. The session id
// itself is never stored: only IDHash ([HashToken] of the cookie value).
type SessionData struct {
	IDHash    string
	Principal string   // "user:alice"
	Groups    []string // "group:<name>", from the login
	CreatedAt time.Time
	LastSeen  time.Time
	Expires   time.Time // absolute end: CreatedAt + Sessions.Absolute
}

// SessionStore keeps sessions. The server adapts its database to it;
// [NewMemorySessionStore] is for tests and single-process use.
type SessionStore interface {
	PutSession(ctx context.Context, s SessionData) error
	// SessionByHash returns the session or an error when it is absent or
	// past its Expires ([ErrNoSession] in the memory store).
	SessionByHash(ctx context.Context, idHash string) (SessionData, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
}

// ErrNoSession is returned by the memory store for an absent or expired
// session.
var ErrNoSession = errors.New("auth: no such session (expired or signed out)")

// Default session settings.
const (
	DefaultSessionCookie = "aigis_session"
	DefaultIdle          = 30 * time.Minute
	DefaultAbsolute      = 12 * time.Hour
	// touchEvery bounds store writes: LastSeen is refreshed at most this
	// often per session, so idle expiry is exact to within this interval.
	touchEvery = time.Minute
	// maxSessionCookie bounds the cookie value read from a request.
	maxSessionCookie = 128
)

// Sessions issues and checks web sessions. The zero values of Idle,
// Absolute and CookieName mean [DefaultIdle], [DefaultAbsolute] and
// [DefaultSessionCookie].
type Sessions struct {
	Store      SessionStore
	Idle       time.Duration // a session unused this long ends
	Absolute   time.Duration // a session ends this long after login, used or not
	CookieName string
	Secure     bool             // mark the cookie Secure (always, when served over HTTPS)
	Now        func() time.Time // clock; nil means time.Now
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sessions) idle() time.Duration     { return cmpOr(s.Idle, DefaultIdle) }
func (s *Sessions) absolute() time.Duration { return cmpOr(s.Absolute, DefaultAbsolute) }
func (s *Sessions) cookie() string          { return cmp.Or(s.CookieName, DefaultSessionCookie) }

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Create starts a session for principal after a login: a random 32-byte id
// goes into an HttpOnly, SameSite=Lax cookie on path "/", its hash into the
// store. Call it only after authenticating, so a session id planted before
// login is never reused (session fixation).
func (s *Sessions) Create(ctx context.Context, w http.ResponseWriter, principal string, groups []string) error {
	if principal == "" || principal == PrincipalAnonymous {
		return errors.New("auth: session without a principal: authenticate first")
	}
	if strings.HasPrefix(principal, "sa:") {
		return fmt.Errorf("auth: %s is a service account, which has tokens but no web login: sign in as a user", principal)
	}
	id := randomID()
	now := s.now()
	d := SessionData{
		IDHash:    HashToken(id),
		Principal: principal,
		Groups:    slices.Clone(groups),
		CreatedAt: now,
		LastSeen:  now,
		Expires:   now.Add(s.absolute()),
	}
	if err := s.Store.PutSession(ctx, d); err != nil {
		return fmt.Errorf("auth: store new session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie(),
		Value:    id,
		Path:     "/",
		Expires:  d.Expires,
		MaxAge:   int(s.absolute().Seconds()),
		HttpOnly: true,
		Secure:   s.Secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// Get returns the request's session if it exists and has been neither idle
// longer than Idle nor alive longer than Absolute. A session found expired
// is deleted. Using a session refreshes its LastSeen (at most once a minute,
// to spare the store).
func (s *Sessions) Get(r *http.Request) (SessionData, bool) {
	id, ok := s.cookieValue(r)
	if !ok {
		return SessionData{}, false
	}
	ctx := r.Context()
	hash := HashToken(id)
	d, err := s.Store.SessionByHash(ctx, hash)
	if err != nil || d.IDHash != hash {
		return SessionData{}, false
	}
	now := s.now()
	if !now.Before(d.Expires) || !now.Before(d.CreatedAt.Add(s.absolute())) || !now.Before(d.LastSeen.Add(s.idle())) {
		_ = s.Store.DeleteSession(ctx, hash) // best effort: it is refused either way
		return SessionData{}, false
	}
	if now.Sub(d.LastSeen) >= min(touchEvery, s.idle()/2) {
		if err := s.Store.TouchSession(ctx, hash, now); err == nil {
			d.LastSeen = now
		}
	}
	return d, true
}

// Destroy ends the request's session (sign out): it deletes it from the
// store and clears the cookie. Without a session it only clears the cookie.
func (s *Sessions) Destroy(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode,
	})
	id, ok := s.cookieValue(r)
	if !ok {
		return nil
	}
	if err := s.Store.DeleteSession(r.Context(), HashToken(id)); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// cookieValue returns the request's session cookie, if it has one of a
// plausible length.
func (s *Sessions) cookieValue(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.cookie())
	if err != nil || c.Value == "" || len(c.Value) > maxSessionCookie {
		return "", false
	}
	return c.Value, true
}

// MaxMemorySessions bounds the memory store; beyond it, Put drops expired
// sessions first and then refuses.
const MaxMemorySessions = 100_000

type memorySessions struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]SessionData
}

// NewMemorySessionStore returns a [SessionStore] in memory, for tests and a
// single process. Sessions are lost on restart.
func NewMemorySessionStore() SessionStore {
	return &memorySessions{now: time.Now, m: map[string]SessionData{}}
}

func (m *memorySessions) PutSession(_ context.Context, s SessionData) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= MaxMemorySessions {
		now := m.now()
		for k, v := range m.m {
			if !now.Before(v.Expires) {
				delete(m.m, k)
			}
		}
		if len(m.m) >= MaxMemorySessions {
			return fmt.Errorf("auth: %d sessions in memory: use a database session store for this many users", len(m.m))
		}
	}
	s.Groups = slices.Clone(s.Groups)
	m.m[s.IDHash] = s
	return nil
}

func (m *memorySessions) SessionByHash(_ context.Context, idHash string) (SessionData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[idHash]
	if !ok || !m.now().Before(s.Expires) {
		return SessionData{}, ErrNoSession
	}
	s.Groups = slices.Clone(s.Groups)
	return s, nil
}

func (m *memorySessions) TouchSession(_ context.Context, idHash string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[idHash]
	if !ok {
		return ErrNoSession
	}
	s.LastSeen = at
	m.m[idHash] = s
	return nil
}

func (m *memorySessions) DeleteSession(_ context.Context, idHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, idHash)
	return nil
}

// CSRF refuses cross-origin state-changing browser requests (a form on
// another site posting to aigis) with 403, using Go's
// [http.CrossOriginProtection]: it trusts the browser's Sec-Fetch-Site
// header, or compares Origin with Host. GET, HEAD and OPTIONS pass, and so
// do requests without either header (API clients with bearer tokens, which
// a browser cannot forge cross-site).
func CSRF(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "cross-origin request refused: submit the form from the aigis web UI itself")
	}))
	return p.Handler(next)
}
