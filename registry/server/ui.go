package server

// The web UI: server-rendered html/template pages under /ui/ that show what
// the JSON API returns, with a little vendored htmx for the forms. Pages
// work without JavaScript (every form is a plain POST); htmx only saves the
// reload by swapping the page's <main>.
//
// Every UI answer carries a strict Content-Security-Policy (default-src
// 'self': no inline script or style, no external URL), X-Frame-Options DENY,
// Referrer-Policy same-origin and nosniff; every POST goes through
// auth.CSRF. Attacker-controlled text (finding messages and evidence come
// from model files) reaches the page only through html/template escaping.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/store"
)

//go:embed templates/*.html
var uiTemplateFS embed.FS

//go:embed static/htmx.min.js static/aigis.css
var uiStaticFS embed.FS

// uiCSP allows the UI's own scripts, styles and forms only.
const uiCSP = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"

// Limits on what the UI reads from a request or shows on one page.
const (
	maxUIForm        = 64 << 10 // bytes of a form body
	maxUICursor      = 1024     // bytes of a paging cursor
	uiReposPerPage   = 100
	uiRevisionsShown = 20   // revisions per repository on the artifacts page
	uiFindingsShown  = 500  // findings on an artifact page
	uiFilesShown     = 1000 // files on an artifact page
	uiAuditShown     = 100  // audit entries on the audit page
	uiEvidenceChars  = 2000 // characters of one evidence value
)

// uiPageNames are the page templates; each is parsed together with
// templates/layout.html, which calls the page's "content".
var uiPageNames = []string{"artifacts", "repo", "revision", "queue", "policy", "tokens", "audit", "message", "logout"}

// uiTemplates and uiStatic are built on first use, so commands other than
// aigis serve do not parse the UI at start-up.
var uiTemplates = sync.OnceValue(parseUITemplates)

func parseUITemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"short":       short,
		"when":        uiTime,
		"statusClass": statusClass,
		"sevClass":    sevClass,
		"bytes":       humanBytes,
		"join":        strings.Join,
		"clip":        clipText,
		"repoURL":     uiRepoURL,
		"revURL":      uiRevisionURL,
	}
	out := make(map[string]*template.Template, len(uiPageNames))
	for _, name := range uiPageNames {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(uiTemplateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// uiStaticFile is one embedded asset with the digest that versions its URL.
type uiStaticFile struct {
	body    []byte
	ctype   string
	version string
}

var uiStatic = sync.OnceValue(loadUIStatic)

func loadUIStatic() map[string]uiStaticFile {
	out := map[string]uiStaticFile{}
	for _, name := range []string{"htmx.min.js", "aigis.css"} {
		b, err := uiStaticFS.ReadFile("static/" + name)
		if err != nil {
			panic("server: embedded UI asset " + name + ": " + err.Error())
		}
		sum := sha256.Sum256(b)
		ctype := "text/css; charset=utf-8"
		if path.Ext(name) == ".js" {
			ctype = "text/javascript; charset=utf-8"
		}
		out[name] = uiStaticFile{body: b, ctype: ctype, version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// uiStaticURL is the URL of an asset, versioned by its digest so that it
// can be cached for a year and still change with a new aigis release.
func uiStaticURL(name string) string {
	return "/ui/static/" + name + "?v=" + uiStatic()[name].version
}

// registerUI mounts the web UI under /ui/.
func (s *Server) registerUI(mux *http.ServeMux) {
	ui := http.NewServeMux()
	const repo = "/ui/repos/{type}/{org}/{name}"
	ui.HandleFunc("GET /ui/{$}", s.uiArtifacts)
	ui.HandleFunc("GET /ui/static/{file}", serveUIStatic)
	ui.HandleFunc("GET "+repo, s.uiRepo)
	ui.HandleFunc("GET "+repo+"/revisions/{commit}", s.uiRevision)
	ui.HandleFunc("POST "+repo+"/revisions/{commit}/approve", s.uiApprove)
	ui.HandleFunc("POST "+repo+"/revisions/{commit}/reject", s.uiReject)
	ui.HandleFunc("GET /ui/queue", s.uiQueue)
	ui.HandleFunc("GET /ui/policy", s.uiPolicy)
	ui.HandleFunc("GET /ui/tokens", s.uiTokens)
	ui.HandleFunc("POST /ui/tokens", s.uiCreateToken)
	ui.HandleFunc("POST /ui/tokens/{id}/revoke", s.uiRevokeToken)
	ui.HandleFunc("GET /ui/audit", s.uiAudit)
	ui.HandleFunc("GET /ui/login", s.uiLogin)
	ui.HandleFunc("GET /ui/callback", s.uiCallback)
	ui.HandleFunc("GET /ui/logout", s.uiLogoutPage)
	ui.HandleFunc("POST /ui/logout", s.uiLogout)
	ui.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		s.uiError(w, r, http.StatusNotFound, "There is no such page. Start from the artifact list.")
	})
	mux.Handle("/ui/", uiSecurityHeaders(auth.CSRF(ui)))
}

// uiSecurityHeaders sets the headers every UI answer carries, errors and
// CSRF refusals included.
func uiSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func serveUIStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := uiStatic()[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+f.version+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// uiPage is what the layout needs besides the page's own Data.
type uiPage struct {
	Title    string
	Nav      string // the active navigation entry
	Viewer   string // principal id; "" for anonymous
	Session  bool   // signed in with a cookie: offer "Sign out"
	Login    bool   // OIDC sign-in is configured: offer "Sign in"
	CanAudit bool
	CSS, JS  string
	Notice   string // the outcome of an action
	Error    string // why an action or the page failed
	Data     any
}

func (s *Server) newPage(r *http.Request, title, nav string) *uiPage {
	p := principalOf(r.Context())
	pg := &uiPage{Title: title, Nav: nav, Login: s.loginFlow() != nil, CSS: uiStaticURL("aigis.css"), JS: uiStaticURL("htmx.min.js")}
	if !isAnonymous(p) {
		pg.Viewer = p.ID
		pg.Session = r.Header.Get("Authorization") == "" && s.cfg.Sessions != nil
	}
	pg.CanAudit = allowed(p, auth.ActReadAudit, "*")
	return pg
}

// render executes a page into a buffer first, so a template failure is a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *uiPage) {
	var buf bytes.Buffer
	if err := uiTemplates()[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		id := requestID(r.Context())
		s.log.Error("render UI page", "page", name, "err", err, "request", id)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "aigis could not render this page (request %s); the server log has details\n", id)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie, Authorization")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// uiError answers with a page that says msg.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pg := s.newPage(r, http.StatusText(status), "")
	pg.Error = msg
	s.render(w, r, status, "message", pg)
}

// uiInternal logs err and answers 503 with the request id.
func (s *Server) uiInternal(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := requestID(r.Context())
	s.log.Error(what, "err", err, "request", id, "path", r.URL.Path)
	w.Header().Set("Retry-After", "5")
	s.uiError(w, r, http.StatusServiceUnavailable, fmt.Sprintf("aigis could not %s (request %s); reload in a moment, and tell the operator if it persists.", what, id))
}

// uiDeny refuses a page: anonymous visitors are sent to sign in (or told
// how to authenticate when sign-in is off), signed-in ones get 403.
func (s *Server) uiDeny(w http.ResponseWriter, r *http.Request, what string) {
	p := principalOf(r.Context())
	if isAnonymous(p) {
		if s.loginFlow() != nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
				return
			}
			s.uiError(w, r, http.StatusUnauthorized, "Sign in first, then try again.")
			return
		}
		s.uiError(w, r, http.StatusUnauthorized, "This page needs credentials. Web sign-in is not configured on this server: send Authorization: Bearer <aigis token>, or ask the operator to configure OIDC.")
		return
	}
	s.uiError(w, r, http.StatusForbidden, fmt.Sprintf("%s may not %s: ask an admin for a role that allows it.", p.ID, what))
}

// uiViewer returns the principal of a page that anyone the server lets in
// may open: a signed-in principal, or anonymous when anonymous access is on.
func (s *Server) uiViewer(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p := principalOf(r.Context())
	if isAnonymous(p) && s.cfg.Anonymous == AnonymousNone {
		s.uiDeny(w, r, "browse this registry")
		return p, false
	}
	return p, true
}

// uiRepoFromPath reads {type}/{org}/{name} of a UI path and checks that the
// principal may act on the repository.
func (s *Server) uiRepoFromPath(w http.ResponseWriter, r *http.Request, act auth.Action) (typ, repo string, ok bool) {
	if _, ok := s.uiViewer(w, r); !ok {
		return "", "", false
	}
	typ, repo, err := repoPath(r)
	switch {
	case errors.Is(err, errRepoType):
		s.uiError(w, r, http.StatusNotFound, "Repository URLs start with /ui/repos/models/ or /ui/repos/datasets/.")
		return "", "", false
	case err != nil:
		s.uiError(w, r, http.StatusBadRequest, "Malformed repository id: use org/name with letters, digits, '-', '_' and '.'.")
		return "", "", false
	}
	if !allowed(principalOf(r.Context()), act, repo) {
		s.uiDeny(w, r, string(act)+" on "+repo)
		return "", "", false
	}
	return typ, repo, true
}

// parseUIForm reads a POSTed form, bounded.
func (s *Server) parseUIForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxUIForm)
	if err := r.ParseForm(); err != nil {
		s.uiError(w, r, http.StatusBadRequest, "The form could not be read (over 64 KiB, or malformed): go back and try again.")
		return false
	}
	return true
}

// apiResult is what an API handler answered to an internal call.
type apiResult struct {
	status int
	body   map[string]any
}

// errorText is the API's error message, or "".
func (a apiResult) errorText() string {
	if a.status < 400 {
		return ""
	}
	if msg, ok := a.body["error"].(string); ok && msg != "" {
		return msg
	}
	return fmt.Sprintf("the request failed with HTTP %d", a.status)
}

// apiRecorder collects an API handler's answer in memory.
type apiRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *apiRecorder) Header() http.Header { return a.header }
func (a *apiRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}
func (a *apiRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

// callAPI runs an API handler for a UI action, so that the UI and the API
// decide the same way with the same checks, audit entries and messages.
// The request carries r's context, and with it r's principal.
func (s *Server) callAPI(r *http.Request, h http.HandlerFunc, method, apiPath string, pathValues map[string]string, body any) (apiResult, error) {
	var payload io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResult{}, err
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, apiPath, payload)
	if err != nil {
		return apiResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = r.RemoteAddr
	for k, v := range pathValues {
		req.SetPathValue(k, v)
	}
	rec := &apiRecorder{header: http.Header{}}
	h(rec, req)
	res := apiResult{status: rec.status, body: map[string]any{}}
	if res.status == 0 {
		res.status = http.StatusOK
	}
	// The API's own JSON: a failure to decode leaves the body empty and
	// errorText falls back to the status.
	_ = json.Unmarshal(rec.body.Bytes(), &res.body)
	return res, nil
}

// uiTypeSegment is the URL segment of a repository type.
func uiTypeSegment(typ string) string {
	if typ == "dataset" {
		return "datasets"
	}
	return "models"
}

func uiRepoURL(typ, repo string) string {
	return "/ui/repos/" + uiTypeSegment(typ) + "/" + repo
}

func uiRevisionURL(typ, repo, commit string) string {
	return uiRepoURL(typ, repo) + "/revisions/" + commit
}

func uiTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// statusClass maps a status to its badge class; unknown values get a
// neutral one, so nothing from the store becomes a class name.
func statusClass(st store.Status) string {
	switch st {
	case store.Approved, store.Quarantined, store.Pending, store.Scanning:
		return "badge st-" + string(st)
	}
	return "badge st-unknown"
}

func sevClass(sev finding.Severity) string {
	switch sev {
	case finding.Critical:
		return "badge sev-critical"
	case finding.High:
		return "badge sev-high"
	case finding.Medium:
		return "badge sev-medium"
	case finding.Low:
		return "badge sev-low"
	}
	return "badge sev-info"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// clipText shortens s to n runes, marking the cut.
func clipText(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "… (" + fmt.Sprint(len(r)-n) + " more characters)"
}
