// Package hubtest is a fake Hugging Face Hub for tests: an httptest server
// that speaks the endpoints and headers the real Hub uses for pinned
// verification (revision info with blobs=true, the paginated tree API,
// resolve URLs that redirect LFS files to a CDN), with its error contract
// (X-Error-Code, 401 for private repos, 404 for unknown repos and
// revisions), and faults on demand (truncated bodies). It also lays out a
// local Hugging Face cache for the same repositories.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// File is one file of a fake repository.
type File struct {
	Path    string
	Content []byte
	// LFS files are listed by sha256 and served through a CDN redirect.
	LFS bool
}

// Truncation modes for Repo.Truncate.
const (
	// TruncateLength declares the full Content-Length and sends half.
	TruncateLength = "content-length"
	// TruncateJSON sends half the JSON with no Content-Length.
	TruncateJSON = "json"
)

// Repo is one fake model repository at one commit.
type Repo struct {
	// Commit is the 40-hex commit; CommitID(repoID) when empty.
	Commit string
	// Branch resolves to Commit; "main" when empty.
	Branch string
	Files  []File
	// Token, when set, makes the repository private: requests need
	// "Authorization: Bearer <Token>".
	Token string
	// PageSize is the number of tree entries per page; 1000 when 0.
	PageSize int
	// Truncate makes API responses (revision and tree) arrive cut off.
	Truncate string
	// NoTree makes the tree API answer 400, as some mirrors do.
	NoTree bool
	// MovedTo answers every resolve URL with a relative redirect to the same
	// file in another repository, as the Hub does for renamed repositories.
	MovedTo string
}

// CommitID returns a stable fake commit id for a name.
func CommitID(name string) string {
	h := sha1.Sum([]byte("commit " + name))
	return hex.EncodeToString(h[:])
}

// SHA256 returns the hex sha256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// GitBlobSHA1 returns the git blob id of b, sha1("blob <len>\x00" + b).
func GitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// LFSPointer returns the git-lfs pointer file committed in place of an LFS
// file; its git blob sha1 is the oid the Hub lists for an LFS file.
func LFSPointer(content []byte) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(content), len(content))
}

// ETag returns the name huggingface_hub gives f in a cache's blobs folder:
// the sha256 for LFS files, the git blob sha1 otherwise.
func (f File) ETag() string {
	if f.LFS {
		return SHA256(f.Content)
	}
	return GitBlobSHA1(f.Content)
}

func (r Repo) commit(id string) string {
	if r.Commit != "" {
		return r.Commit
	}
	return CommitID(id)
}

func (r Repo) branch() string {
	if r.Branch != "" {
		return r.Branch
	}
	return "main"
}

// NewServer starts a fake hub serving repos, keyed by repository id, and
// closes it when the test ends.
//
// Dataset repositories are keyed "datasets/org/name" and served under
// /api/datasets/ and /datasets/, as on the Hub.
func NewServer(t testing.TB, repos map[string]Repo) *httptest.Server {
	return NewHub(t, repos).Server
}

// Hub is a fake hub whose repositories can change while it runs (a branch
// moving to a new commit) and which counts the file downloads it serves.
type Hub struct {
	*httptest.Server
	s *server
}

// NewHub starts a fake hub like NewServer and returns a handle to change it.
func NewHub(t testing.TB, repos map[string]Repo) *Hub {
	t.Helper()
	s := &server{repos: maps.Clone(repos)}
	if s.repos == nil {
		s.repos = map[string]Repo{}
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &Hub{Server: srv, s: s}
}

// Set adds or replaces a repository.
func (h *Hub) Set(id string, r Repo) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.repos[id] = r
}

// Downloads returns how many GET requests for file contents (resolve or CDN)
// the hub has answered with content.
func (h *Hub) Downloads() int {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.downloads
}

type server struct {
	mu        sync.Mutex
	repos     map[string]Repo
	downloads int
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	repos := maps.Clone(s.repos)
	s.mu.Unlock()
	(&view{server: s, repos: repos}).serve(w, r)
}

// view answers one request from a snapshot of the repositories.
type view struct {
	*server
	repos map[string]Repo
}

func (s *view) countDownload(r *http.Request) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		s.downloads++
		s.mu.Unlock()
	}
}

func (s *view) serve(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		segs[i] = v
	}
	if len(segs) == 2 && segs[0] == "cdn" {
		s.cdn(w, r, segs[1])
		return
	}
	if len(segs) >= 4 && segs[0] == "api" && (segs[1] == "models" || segs[1] == "datasets") {
		prefix := ""
		if segs[1] == "datasets" {
			prefix = "datasets/"
		}
		for n := 1; n <= 2 && 2+n < len(segs); n++ {
			id, verb, rest := prefix+strings.Join(segs[2:2+n], "/"), segs[2+n], segs[3+n:]
			if (verb == "revision" || verb == "tree") && len(rest) == 1 {
				s.api(w, r, id, verb, rest[0])
				return
			}
		}
	}
	prefix := ""
	if segs[0] == "datasets" {
		prefix, segs = "datasets/", segs[1:]
	}
	for n := 1; n <= 2 && n+2 < len(segs); n++ {
		if segs[n] == "resolve" {
			s.resolve(w, r, prefix+strings.Join(segs[:n], "/"), segs[n+1], strings.Join(segs[n+2:], "/"))
			return
		}
	}
	hubError(w, http.StatusNotFound, "", "Not Found")
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// lookup applies the Hub's access and existence rules; ok is false when
// it has already answered.
func (s *view) lookup(w http.ResponseWriter, r *http.Request, id, rev string) (Repo, bool) {
	repo, found := s.repos[id]
	auth := r.Header.Get("Authorization")
	switch {
	case !found:
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return Repo{}, false
	case repo.Token != "" && auth == "":
		// Like the Hub, do not tell a private repo from a missing one.
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return Repo{}, false
	case repo.Token != "" && auth != "Bearer "+repo.Token:
		hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return Repo{}, false
	}
	if rev != repo.commit(id) && rev != repo.branch() && rev != "HEAD" {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return Repo{}, false
	}
	return repo, true
}

func (s *view) api(w http.ResponseWriter, r *http.Request, id, verb, rev string) {
	repo, ok := s.lookup(w, r, id, rev)
	if !ok {
		return
	}
	files := slices.Clone(repo.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if verb == "revision" {
		type lfs struct {
			SHA256      string `json:"sha256"`
			Size        int    `json:"size"`
			PointerSize int    `json:"pointerSize"`
		}
		type sibling struct {
			RFilename string `json:"rfilename"`
			Size      *int   `json:"size,omitempty"`
			BlobID    string `json:"blobId,omitempty"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		blobs := r.URL.Query().Get("blobs") == "true"
		info := struct {
			ID       string    `json:"id"`
			SHA      string    `json:"sha"`
			Private  bool      `json:"private"`
			Siblings []sibling `json:"siblings"`
		}{ID: id, SHA: repo.commit(id), Private: repo.Token != "", Siblings: []sibling{}}
		for _, f := range files {
			sb := sibling{RFilename: f.Path}
			if blobs {
				size := len(f.Content)
				sb.Size, sb.BlobID = &size, GitBlobSHA1(f.Content)
				if f.LFS {
					p := LFSPointer(f.Content)
					sb.BlobID = GitBlobSHA1(p)
					sb.LFS = &lfs{SHA256: SHA256(f.Content), Size: size, PointerSize: len(p)}
				}
			}
			info.Siblings = append(info.Siblings, sb)
		}
		writeJSON(w, repo, info)
		return
	}

	if repo.NoTree {
		hubError(w, http.StatusBadRequest, "", "tree is not supported")
		return
	}
	type lfs struct {
		OID         string `json:"oid"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type entry struct {
		Type string `json:"type"`
		OID  string `json:"oid"`
		Size int    `json:"size"`
		Path string `json:"path"`
		LFS  *lfs   `json:"lfs,omitempty"`
	}
	var entries []entry
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.ToSlash(filepath.Dir(f.Path)); d != "." && !dirs[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			dirs[d] = true
			entries = append(entries, entry{Type: "directory", OID: CommitID("tree " + d), Path: d})
		}
		e := entry{Type: "file", OID: GitBlobSHA1(f.Content), Size: len(f.Content), Path: f.Path}
		if f.LFS {
			p := LFSPointer(f.Content)
			e.OID = GitBlobSHA1(p)
			e.LFS = &lfs{OID: SHA256(f.Content), Size: len(f.Content), PointerSize: len(p)}
		}
		entries = append(entries, e)
	}
	pageSize := repo.PageSize
	if pageSize <= 0 {
		pageSize = 1000
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	if start < 0 || start > len(entries) {
		hubError(w, http.StatusBadRequest, "", "bad cursor")
		return
	}
	end := min(start+pageSize, len(entries))
	if end < len(entries) {
		next := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath,
			RawQuery: url.Values{"recursive": {"true"}, "cursor": {strconv.Itoa(end)}}.Encode()}
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	page := entries[start:end]
	if page == nil {
		page = []entry{}
	}
	writeJSON(w, repo, page)
}

func writeJSON(w http.ResponseWriter, repo Repo, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch repo.Truncate {
	case TruncateLength:
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b[:len(b)/2])
		return
	case TruncateJSON:
		w.Write(b[:len(b)/2])
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (s *view) resolve(w http.ResponseWriter, r *http.Request, id, rev, path string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if repo, ok := s.repos[id]; ok && repo.MovedTo != "" {
		w.Header().Set("Location", "/"+repo.MovedTo+"/resolve/"+url.PathEscape(rev)+"/"+path)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	repo, ok := s.lookup(w, r, id, rev)
	if !ok {
		return
	}
	i := slices.IndexFunc(repo.Files, func(f File) bool { return f.Path == path })
	w.Header().Set("X-Repo-Commit", repo.commit(id))
	if i < 0 {
		hubError(w, http.StatusNotFound, "EntryNotFound", path+" does not exist on \""+rev+"\"")
		return
	}
	f := repo.Files[i]
	w.Header().Set("ETag", `"`+f.ETag()+`"`)
	if f.LFS {
		w.Header().Set("X-Linked-Etag", `"`+SHA256(f.Content)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.Content)))
		w.Header().Set("Location", "http://"+r.Host+"/cdn/"+SHA256(f.Content))
		w.WriteHeader(http.StatusFound)
		return
	}
	s.countDownload(r)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Content))
}

func (s *view) cdn(w http.ResponseWriter, r *http.Request, sum string) {
	for _, repo := range s.repos {
		for _, f := range repo.Files {
			if f.LFS && SHA256(f.Content) == sum {
				// The CDN knows nothing of commits: no X-Repo-Commit here.
				w.Header().Set("ETag", `"cdn-`+sum[:8]+`"`)
				s.countDownload(r)
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Content))
				return
			}
		}
	}
	http.NotFound(w, r)
}

// WriteCache lays repo out in a Hugging Face hub cache under cacheDir the way
// huggingface_hub does: models--{org}--{name}/blobs/<etag> holds the content,
// snapshots/<commit>/<path> are relative links to it, and refs/<branch> holds
// the commit. It returns the snapshot folder.
func WriteCache(t testing.TB, cacheDir, repoID string, repo Repo) string {
	t.Helper()
	repoDir := filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repoID, "/", "--"))
	commit := repo.commit(repoID)
	snap := filepath.Join(repoDir, "snapshots", commit)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(repoDir, "blobs"), 0o755))
	must(os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755))
	must(os.WriteFile(filepath.Join(repoDir, "refs", repo.branch()), []byte(commit), 0o644))
	for _, f := range repo.Files {
		blob := filepath.Join(repoDir, "blobs", f.ETag())
		must(os.WriteFile(blob, f.Content, 0o644))
		link := filepath.Join(snap, filepath.FromSlash(f.Path))
		must(os.MkdirAll(filepath.Dir(link), 0o755))
		rel, err := filepath.Rel(filepath.Dir(link), blob)
		must(err)
		must(os.Symlink(rel, link))
	}
	return snap
}
