package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newSessions(clock *fakeClock) *Sessions {
	return &Sessions{Store: NewMemorySessionStore(), Idle: 30 * time.Minute, Absolute: 8 * time.Hour, Secure: true, Now: clock.Now}
}

func realClock() *fakeClock { return &fakeClock{t: time.Now()} }

// login creates a session and returns its cookie as the browser would keep it.
func login(t *testing.T, s *Sessions) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.Create(context.Background(), w, "user:alice", []string{"group:ml"}); err != nil {
		t.Fatal(err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("Create set %d cookies, want 1", len(cs))
	}
	return cs[0]
}

func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/ui", nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestSessionCookieAndData(t *testing.T) {
	clock := realClock()
	s := newSessions(clock)
	c := login(t, s)
	if c.Name != DefaultSessionCookie || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("session cookie %+v: want aigis_session, HttpOnly, Secure, SameSite=Lax, Path=/", c)
	}
	if c.MaxAge != int((8 * time.Hour).Seconds()) {
		t.Errorf("cookie Max-Age %d, want the absolute timeout", c.MaxAge)
	}
	if len(c.Value) < 43 {
		t.Errorf("session id %q is shorter than 32 random bytes", c.Value)
	}
	d, ok := s.Get(requestWith(c))
	if !ok {
		t.Fatal("fresh session not found")
	}
	now := clock.Now()
	want := SessionData{IDHash: HashToken(c.Value), Principal: "user:alice", Groups: []string{"group:ml"}, CreatedAt: now, LastSeen: now, Expires: now.Add(8 * time.Hour)}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	// The store never sees the id itself.
	if _, err := s.Store.SessionByHash(context.Background(), c.Value); err == nil {
		t.Error("the store finds the session by its raw id; it must only know the hash")
	}
	c2 := login(t, s)
	if c2.Value == c.Value {
		t.Error("two logins got the same session id")
	}

	s.Secure = false
	s.CookieName = "other"
	if c := login(t, s); c.Secure || c.Name != "other" {
		t.Errorf("cookie %+v with Secure=false and CookieName=other", c)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	clock := realClock()
	s := newSessions(clock)
	c := login(t, s)
	// Used every 20 minutes, the session lives on past the idle timeout.
	for i := 1; i <= 5; i++ {
		clock.Add(20 * time.Minute)
		if _, ok := s.Get(requestWith(c)); !ok {
			t.Fatalf("session used every 20 min ended after %d min with a 30 min idle timeout", 20*i)
		}
	}
	clock.Add(30 * time.Minute)
	if _, ok := s.Get(requestWith(c)); ok {
		t.Fatal("session still valid after 30 min idle")
	}
	clock.Add(-29 * time.Minute) // the expired session was deleted, not just refused
	if _, ok := s.Get(requestWith(c)); ok {
		t.Fatal("expired session came back")
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	clock := realClock()
	s := newSessions(clock)
	c := login(t, s)
	for i := 1; i < 48; i++ { // every 10 minutes for 7 h 50 min
		clock.Add(10 * time.Minute)
		if _, ok := s.Get(requestWith(c)); !ok {
			t.Fatalf("active session ended early, %d min after login", 10*i)
		}
	}
	clock.Add(10 * time.Minute)
	if _, ok := s.Get(requestWith(c)); ok {
		t.Fatal("session still valid after the 8 h absolute timeout though in constant use")
	}
}

func TestSessionRejectsUnknownAndForged(t *testing.T) {
	s := newSessions(realClock())
	login(t, s)
	for name, c := range map[string]*http.Cookie{
		"no cookie": nil,
		"unknown":   {Name: DefaultSessionCookie, Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		"huge":      {Name: DefaultSessionCookie, Value: strings.Repeat("A", 5000)},
		"empty":     {Name: DefaultSessionCookie, Value: ""},
	} {
		if _, ok := s.Get(requestWith(c)); ok {
			t.Errorf("%s: Get found a session", name)
		}
	}
}

func TestSessionDestroy(t *testing.T) {
	s := newSessions(realClock())
	c := login(t, s)
	other := login(t, s)
	w := httptest.NewRecorder()
	if err := s.Destroy(w, requestWith(c)); err != nil {
		t.Fatal(err)
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].Name != DefaultSessionCookie || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
		t.Errorf("Destroy set cookies %+v, want the session cookie cleared", cleared)
	}
	if _, ok := s.Get(requestWith(c)); ok {
		t.Error("session valid after Destroy (a stolen cookie would still work)")
	}
	if _, ok := s.Get(requestWith(other)); !ok {
		t.Error("Destroy ended another session too")
	}
	if err := s.Destroy(httptest.NewRecorder(), requestWith(nil)); err != nil {
		t.Errorf("Destroy without a session: %v", err)
	}
}

type failingStore struct{ SessionStore }

func (failingStore) PutSession(context.Context, SessionData) error { return errors.New("disk full") }

func TestSessionCreateErrors(t *testing.T) {
	s := &Sessions{Store: failingStore{NewMemorySessionStore()}}
	w := httptest.NewRecorder()
	if err := s.Create(context.Background(), w, "user:alice", nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Create with a failing store: %v", err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Error("cookie set although the session was not stored")
	}
	for _, p := range []string{"", PrincipalAnonymous, "sa:ci"} {
		w := httptest.NewRecorder()
		if err := newSessions(realClock()).Create(context.Background(), w, p, nil); err == nil || len(w.Result().Cookies()) != 0 {
			t.Errorf("Create gave %q a web session (err %v)", p, err)
		}
	}
}

func TestMemoryStoreCopiesGroups(t *testing.T) {
	st := NewMemorySessionStore()
	g := []string{"group:a"}
	ctx := context.Background()
	if err := st.PutSession(ctx, SessionData{IDHash: "h", Principal: "user:x", Groups: g, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g[0] = "group:admins"
	d, err := st.SessionByHash(ctx, "h")
	if err != nil || d.Groups[0] != "group:a" {
		t.Fatalf("stored groups changed with the caller's slice: %v %v", d.Groups, err)
	}
	if err := st.PutSession(ctx, SessionData{IDHash: "old", Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionByHash(ctx, "old"); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session: err %v, want ErrNoSession", err)
	}
}

// TestCSRF runs a real server: a browser posting a form from another site
// is refused, the same origin and reads pass.
func TestCSRF(t *testing.T) {
	srv := httptest.NewServer(CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("done"))
	})))
	defer srv.Close()
	do := func(method string, headers map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/ui/approve", strings.NewReader(url.Values{"revision": {"abc"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name    string
		method  string
		headers map[string]string
		want    int
	}{
		{"cross-site form post (modern browser)", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"cross-site form post (Origin only)", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"same-site subdomain post", "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.aigis.example"}, 403},
		{"same-origin post", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL}, 200},
		{"same-origin post (Origin only)", "POST", map[string]string{"Origin": srv.URL}, 200},
		{"user typed the URL", "POST", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"API client with a token", "POST", map[string]string{"Authorization": "Bearer aigis_pat_x"}, 200},
		{"cross-site GET", "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200},
		{"cross-site DELETE", "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
	}
	for _, c := range cases {
		if got := do(c.method, c.headers); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}
