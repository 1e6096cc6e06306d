package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/store"
)

// maxListFiles caps the files one info or non-recursive tree answer reads
// from the store: repositories beyond it are listed with the paginated
// recursive tree, as the Hub itself requires for large repositories.
const maxListFiles = 100_000

// treePage is the page size of the tree API (the Hub's default).
const treePage = 1000

func (s *Server) serveHF(w http.ResponseWriter, r *http.Request) {
	rt, err := parseHFPath(r.URL.EscapedPath())
	if err != nil {
		hfError(w, http.StatusBadRequest, "", "malformed path: repository ids are org/name, file paths may not contain '.', '..', empty or encoded-slash segments")
		return
	}
	if rt == nil {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/ui/", http.StatusFound)
			return
		}
		hfError(w, http.StatusNotFound, "", "no such endpoint: "+r.URL.Path)
		return
	}
	method := r.Method
	switch rt.kind {
	case kindPathsInfo, kindPreupload, kindCommit, kindCreateRepo, kindLFSBatch:
		if method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			hfError(w, http.StatusMethodNotAllowed, "", rt.kind+" takes POST")
			return
		}
	default:
		if method != http.MethodGet && method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			hfError(w, http.StatusMethodNotAllowed, "", rt.kind+" takes GET or HEAD")
			return
		}
	}
	switch rt.kind {
	case kindWhoami:
		s.whoami(w, r)
	case kindRefs:
		s.refs(w, r, rt)
	case kindInfo:
		s.info(w, r, rt)
	case kindTree:
		s.tree(w, r, rt)
	case kindPathsInfo:
		s.pathsInfo(w, r, rt)
	case kindResolve, kindRaw:
		s.resolve(w, r, rt)
	case kindPreupload:
		s.preupload(w, r, rt)
	case kindCommit:
		s.hfCommit(w, r, rt)
	case kindLFSBatch:
		s.lfsBatch(w, r, rt)
	case kindCreateRepo:
		s.createRepo(w, r)
	}
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if isAnonymous(p) {
		hfError(w, http.StatusUnauthorized, "", badCredentials)
		return
	}
	name := p.ID
	if _, n, ok := strings.Cut(p.ID, ":"); ok {
		name = n
	}
	orgs := []map[string]string{}
	seen := map[string]bool{}
	for _, b := range p.Bindings {
		org, _, _ := strings.Cut(b.Namespace, "/")
		if org != "*" && !seen[org] {
			seen[org] = true
			orgs = append(orgs, map[string]string{"name": org})
		}
	}
	role := "read"
	for _, sc := range p.Scopes {
		if sc != auth.ScopeRead {
			role = "write"
		}
	}
	if p.Scopes == nil {
		role = "write"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "user", "id": p.ID, "name": name, "fullname": name, "orgs": orgs,
		"auth": map[string]any{"type": "access_token", "accessToken": map[string]any{"displayName": name, "role": role}},
	})
}

// listAll reads every file of a revision under prefix, up to maxListFiles.
func (s *Server) listAll(ctx context.Context, key, commit, prefix string) ([]store.File, error) {
	var all []store.File
	cursor := ""
	for {
		fs, next, err := s.cfg.Store.ListFiles(ctx, key, commit, prefix, cursor, store.MaxListLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
		if next == "" {
			return all, nil
		}
		if len(all) >= maxListFiles {
			return all, fmt.Errorf("more than %d files: use the paginated tree API", maxListFiles)
		}
		cursor = next
	}
}

func (s *Server) info(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	rev, ok := s.gate(w, r, rt)
	if !ok {
		return
	}
	ctx := r.Context()
	files, err := s.listAll(ctx, rev.RepoID, rev.Commit, "")
	if err != nil {
		s.internalError(w, r, "list files", err)
		return
	}
	q := r.URL.Query()
	blobs := q.Get("blobs") == "true" || q.Get("blobs") == "1"
	siblings := make([]map[string]any, 0, len(files))
	for _, f := range files {
		sib := map[string]any{"rfilename": f.Path}
		if blobs {
			sib["size"] = f.Size
			sib["blobId"] = f.BlobSHA1
			if f.LFS {
				sib["lfs"] = map[string]any{"sha256": f.SHA256, "size": f.Size, "pointerSize": len(lfsPointer(f))}
			}
		}
		siblings = append(siblings, sib)
	}
	modified := rev.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	info := map[string]any{
		"_id":          rev.RepoID,
		"id":           rt.repo,
		"sha":          rev.Commit,
		"private":      false,
		"gated":        false,
		"disabled":     false,
		"lastModified": modified,
		"createdAt":    rev.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"tags":         []string{},
		"siblings":     siblings,
		"downloads":    0,
		"likes":        0,
		"aigis": map[string]any{
			"status": rev.Status, "policyVersion": rev.PolicyVersion, "rulesetVersion": rev.RulesetVersion,
		},
	}
	if rt.typ == "model" {
		info["modelId"] = rt.repo
	}
	w.Header().Set("X-Repo-Commit", rev.Commit)
	writeJSON(w, http.StatusOK, info)
}

// treeItem is one entry of the tree and paths-info answers. xetHash is
// never sent: clients then download over plain HTTP, through the gate.
type treeItem struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsInfo `json:"lfs,omitempty"`
}

type lfsInfo struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

func fileItem(f store.File) treeItem {
	it := treeItem{Type: "file", OID: f.BlobSHA1, Size: f.Size, Path: f.Path}
	if f.LFS {
		it.LFS = &lfsInfo{OID: f.SHA256, Size: f.Size, PointerSize: len(lfsPointer(f))}
	}
	return it
}

func dirItem(p string) treeItem {
	return treeItem{Type: "directory", OID: gitTreeID(p), Size: 0, Path: p}
}

func (s *Server) tree(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	rev, ok := s.gate(w, r, rt)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	recursive := q.Get("recursive") == "true" || q.Get("recursive") == "1"
	prefix := ""
	if rt.path != "" {
		prefix = rt.path + "/"
	}
	w.Header().Set("X-Repo-Commit", rev.Commit)
	if recursive {
		limit := treePage
		if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < limit {
			limit = l
		}
		files, next, err := s.cfg.Store.ListFiles(ctx, rev.RepoID, rev.Commit, prefix, q.Get("cursor"), limit)
		if err != nil {
			s.internalError(w, r, "list files", err)
			return
		}
		if len(files) == 0 && rt.path != "" && q.Get("cursor") == "" {
			hfError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist in %s@%s", rt.path, rt.repo, short(rev.Commit)))
			return
		}
		items := make([]treeItem, 0, len(files))
		for _, f := range files {
			items = append(items, fileItem(f))
		}
		if next != "" {
			u := s.baseURL(r) + r.URL.EscapedPath()
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("cursor", next)
			w.Header().Set("Link", "<"+u+"?"+nq.Encode()+`>; rel="next"`)
		}
		writeJSON(w, http.StatusOK, items)
		return
	}
	files, err := s.listAll(ctx, rev.RepoID, rev.Commit, prefix)
	if err != nil {
		s.internalError(w, r, "list files", err)
		return
	}
	if len(files) == 0 && rt.path != "" {
		hfError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist in %s@%s", rt.path, rt.repo, short(rev.Commit)))
		return
	}
	items := []treeItem{}
	dirs := map[string]bool{}
	for _, f := range files {
		rest := strings.TrimPrefix(f.Path, prefix)
		if d, _, isDir := strings.Cut(rest, "/"); isDir {
			if !dirs[d] {
				dirs[d] = true
				items = append(items, dirItem(prefix+d))
			}
			continue
		}
		items = append(items, fileItem(f))
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Path < items[j].Path })
	writeJSON(w, http.StatusOK, items)
}

// maxPathsInfo caps the paths one paths-info request may ask for.
const maxPathsInfo = 1000

func (s *Server) pathsInfo(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	rev, ok := s.gate(w, r, rt)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	var paths []string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body struct {
			Paths  []string `json:"paths"`
			Expand bool     `json:"expand"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			hfError(w, http.StatusBadRequest, "", "paths-info body: "+err.Error()+`; send {"paths": ["file", ...]}`)
			return
		}
		paths = body.Paths
	} else {
		if err := r.ParseForm(); err != nil {
			hfError(w, http.StatusBadRequest, "", "paths-info form: "+err.Error())
			return
		}
		paths = r.PostForm["paths"]
	}
	if len(paths) > maxPathsInfo {
		hfError(w, http.StatusBadRequest, "", fmt.Sprintf("paths-info takes at most %d paths, got %d", maxPathsInfo, len(paths)))
		return
	}
	ctx := r.Context()
	items := []treeItem{}
	for _, p := range paths {
		p = strings.Trim(p, "/")
		if _, ok := filePath(strings.Split(p, "/")); !ok || p == "" {
			continue
		}
		fs, _, err := s.cfg.Store.ListFiles(ctx, rev.RepoID, rev.Commit, p, "", 1)
		if err != nil {
			s.internalError(w, r, "list files", err)
			return
		}
		if len(fs) == 1 && fs[0].Path == p {
			items = append(items, fileItem(fs[0]))
			continue
		}
		fs, _, err = s.cfg.Store.ListFiles(ctx, rev.RepoID, rev.Commit, p+"/", "", 1)
		if err != nil {
			s.internalError(w, r, "list files", err)
			return
		}
		if len(fs) > 0 {
			items = append(items, dirItem(p))
		}
	}
	w.Header().Set("X-Repo-Commit", rev.Commit)
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) refs(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	ctx := r.Context()
	p := principalOf(ctx)
	if !allowed(p, auth.ActRead, rt.repo) {
		s.notFound(w, p, rt)
		return
	}
	key := repoKey(rt.typ, rt.repo)
	if _, err := s.cfg.Store.GetRepo(ctx, key); errors.Is(err, store.ErrNotFound) {
		s.notFound(w, p, rt)
		return
	} else if err != nil {
		s.internalError(w, r, "look up repository", err)
		return
	}
	refs, err := s.cfg.Store.ListRefs(ctx, key)
	if err != nil {
		s.internalError(w, r, "list refs", err)
		return
	}
	aliases, err := s.cfg.Store.Aliases(ctx, key)
	if err != nil {
		s.internalError(w, r, "list aliases", err)
		return
	}
	type ref struct {
		Name         string `json:"name"`
		Ref          string `json:"ref"`
		TargetCommit string `json:"targetCommit"`
	}
	branches := []ref{}
	for _, rf := range refs {
		if strings.HasPrefix(rf.Name, upstreamRefPrefix) {
			continue
		}
		branches = append(branches, ref{rf.Name, "refs/heads/" + rf.Name, rf.Commit})
	}
	// Promotion aliases are served like branches, so clients can ask for
	// revision="production".
	for _, a := range aliases {
		branches = append(branches, ref{a.Alias, "refs/heads/" + a.Alias, a.Commit})
	}
	writeJSON(w, http.StatusOK, map[string]any{"branches": branches, "tags": []ref{}, "converts": []ref{}})
}

// resolve serves one file of an approved revision, with the headers
// huggingface_hub and @huggingface/hub rely on: X-Repo-Commit, a quoted
// ETag (sha256 for LFS files, else the git blob id), X-Linked-Etag and
// X-Linked-Size for LFS files, Content-Length, and Range support.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	rev, ok := s.gate(w, r, rt)
	if !ok {
		return
	}
	ctx := r.Context()
	w.Header().Set("X-Repo-Commit", rev.Commit)
	fs, _, err := s.cfg.Store.ListFiles(ctx, rev.RepoID, rev.Commit, rt.path, "", 1)
	if err != nil {
		s.internalError(w, r, "look up file", err)
		return
	}
	if len(fs) == 0 || fs[0].Path != rt.path {
		hfError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist in %s@%s", rt.path, rt.repo, short(rev.Commit)))
		return
	}
	f := fs[0]
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Aigis-Status", string(rev.Status))
	if rt.kind == kindRaw && f.LFS {
		// raw serves what git stores: the pointer of an LFS file.
		ptr := lfsPointer(f)
		h.Set("ETag", `"`+gitBlobID(ptr)+`"`)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(ptr)))
		return
	}
	if f.LFS {
		h.Set("ETag", `"`+f.SHA256+`"`)
		h.Set("X-Linked-Etag", `"`+f.SHA256+`"`)
		h.Set("X-Linked-Size", strconv.FormatInt(f.Size, 10))
		h.Set("Content-Type", "application/octet-stream")
	} else {
		h.Set("ETag", `"`+f.BlobSHA1+`"`)
		if ct := mime.TypeByExtension(path.Ext(f.Path)); ct != "" {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
	}
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(path.Base(f.Path)))
	if r.Method == http.MethodGet {
		subject := subjectFile(rt.typ, rt.repo, rev.Commit, f.Path)
		details := map[string]string{"decision": "allow", "sha256": f.SHA256, "size": strconv.FormatInt(f.Size, 10),
			"request": requestID(ctx), "remote": remoteIP(r)}
		if rg := r.Header.Get("Range"); rg != "" {
			details["range"] = rg
		}
		if _, err := s.cfg.Audit.Append(s.entry(principalOf(ctx).ID, "artifact.download", subject, details)); err != nil {
			s.log.Error("audit append failed: download denied", "err", err, "subject", subject)
			h.Del("ETag")
			w.Header().Set("Retry-After", "30")
			hfError(w, http.StatusServiceUnavailable, "", "the audit log cannot record this download, so it is refused; retry later and tell the operator")
			return
		}
	}
	rc, size, err := s.cfg.Blobs.Open(ctx, f.SHA256)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			s.internalError(w, r, "find the stored content of "+f.Path, err)
			return
		}
		s.internalError(w, r, "open "+f.Path, err)
		return
	}
	defer rc.Close()
	if size != f.Size {
		s.internalError(w, r, "serve "+f.Path, fmt.Errorf("stored blob %s has %d bytes, the file record says %d", f.SHA256, size, f.Size))
		return
	}
	http.ServeContent(w, r, "", time.Time{}, rc)
}

// lfsPointer is the git-lfs pointer committed in place of an LFS file.
func lfsPointer(f store.File) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.SHA256, f.Size)
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func subjectFile(typ, repo, commit, p string) string {
	return fmt.Sprintf("hf:%s/%s@%s/%s", typ, repo, commit, p)
}

func subjectRevision(typ, repo, commit string) string {
	return fmt.Sprintf("hf:%s/%s@%s", typ, repo, commit)
}
