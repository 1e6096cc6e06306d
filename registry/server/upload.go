package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/store"
)

// The Hub's upload protocol, as huggingface_hub (upload_file,
// upload_folder, create_commit) and @huggingface/hub (uploadFiles, commit)
// speak it:
//
//  1. POST /api/{type}s/{repo}/preupload/{rev}: which files go to LFS;
//  2. POST /{repo}.git/info/lfs/objects/batch: where to PUT each LFS object
//     (a signed URL of this server: the clients send no credentials there);
//  3. PUT to that URL: the bytes, checked against the announced sha256;
//  4. POST /api/{type}s/{repo}/commit/{rev} (NDJSON): a header, then
//     "file" (inline base64), "lfsFile", "deletedFile" and "deletedFolder"
//     operations applied to the branch's head.
//
// A commit becomes an internal revision exactly as `aigis push` makes one:
// scanned on ingest, served only once reviewers approve it. Xet transfer is
// never offered, so every byte arrives here.

// Upload limits.
const (
	maxCommitBody  = 256 << 20 // NDJSON commit body, inline files included
	maxCommitOps   = 100_000
	maxPreupload   = 1000 // files per preupload or LFS batch request
	lfsThreshold   = 10 << 20
	uploadURLValid = time.Hour
)

// Upload routes of the HF surface.
const (
	kindPreupload  = "preupload"
	kindCommit     = "commit"
	kindCreateRepo = "create-repo"
	kindLFSBatch   = "lfs-batch"
)

// uploadMode is the Hub's rule: large or binary files go to LFS.
func uploadMode(size int64, sample []byte) string {
	if size > lfsThreshold || isBinary(sample) {
		return "lfs"
	}
	return "regular"
}

func (s *Server) preupload(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	if !s.permitHF(w, r, auth.ActPush, rt.repo) {
		return
	}
	var body struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			Sample string `json:"sample"`
		} `json:"files"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Files) > maxPreupload {
		hfError(w, http.StatusBadRequest, "", fmt.Sprintf(`preupload takes {"files": [{"path", "size", "sample"}]}, at most %d files`, maxPreupload))
		return
	}
	type mode struct {
		Path         string `json:"path"`
		UploadMode   string `json:"uploadMode"`
		ShouldIgnore bool   `json:"shouldIgnore"`
	}
	out := make([]mode, 0, len(body.Files))
	for _, f := range body.Files {
		sample, _ := base64.StdEncoding.DecodeString(f.Sample)
		out = append(out, mode{Path: f.Path, UploadMode: uploadMode(f.Size, sample)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": out})
}

// permitHF is permit for the HF surface: a repository the principal may
// not push to answers like the Hub does.
func (s *Server) permitHF(w http.ResponseWriter, r *http.Request, act auth.Action, repo string) bool {
	p := principalOf(r.Context())
	if allowed(p, act, repo) {
		return true
	}
	if isAnonymous(p) {
		hfError(w, http.StatusUnauthorized, "", "uploading needs a token: set HF_TOKEN to an aigis token with the publisher role")
		return false
	}
	hfError(w, http.StatusForbidden, "", fmt.Sprintf("%s may not %s on %s: ask an admin for the publisher role", p.ID, act, repo))
	return false
}

// lfsObject is an object of a Git LFS batch request or answer.
type lfsObject struct {
	OID     string         `json:"oid"`
	Size    int64          `json:"size"`
	Actions map[string]any `json:"actions,omitempty"`
	Error   *lfsError      `json:"error,omitempty"`
}

type lfsError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) lfsBatch(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	if !s.permitHF(w, r, auth.ActPush, rt.repo) {
		return
	}
	var req struct {
		Operation string      `json:"operation"`
		Objects   []lfsObject `json:"objects"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Operation != "upload" || len(req.Objects) > maxPreupload {
		hfError(w, http.StatusBadRequest, "", fmt.Sprintf(`LFS batch: only {"operation": "upload", "objects": [...]} with at most %d objects`, maxPreupload))
		return
	}
	ctx := r.Context()
	actor := principalOf(ctx).ID
	exp := s.cfg.Now().Add(uploadURLValid)
	out := make([]lfsObject, 0, len(req.Objects))
	for _, o := range req.Objects {
		res := lfsObject{OID: o.OID, Size: o.Size}
		switch {
		case !blob.ValidDigest(o.OID) || o.Size < 0 || o.Size > maxPushFile:
			res.Error = &lfsError{Code: 422, Message: "oid must be a lowercase sha256 and size at most 1 TiB"}
		default:
			if n, err := s.cfg.Blobs.Stat(ctx, o.OID); err == nil && n == o.Size {
				break // stored already: nothing to upload
			}
			res.Actions = map[string]any{"upload": map[string]any{
				"href":       s.uploadURL(r, rt, o.OID, o.Size, actor, exp),
				"expires_at": exp.UTC().Format(time.RFC3339),
			}}
		}
		out = append(out, res)
	}
	w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
	json.NewEncoder(w).Encode(map[string]any{"transfer": "basic", "objects": out})
}

// uploadURL is where a client PUTs one LFS object: signed, because LFS
// clients send no credentials with the upload.
func (s *Server) uploadURL(r *http.Request, rt *hfRoute, oid string, size int64, actor string, exp time.Time) string {
	q := url.Values{}
	q.Set("size", strconv.FormatInt(size, 10))
	q.Set("exp", strconv.FormatInt(exp.Unix(), 10))
	q.Set("actor", actor)
	q.Set("sig", s.uploadSig(rt.typ, rt.repo, oid, q.Get("size"), q.Get("exp"), actor))
	return fmt.Sprintf("%s/api/aigis/lfs/%ss/%s/%s?%s", s.baseURL(r), rt.typ, rt.repo, oid, q.Encode())
}

func (s *Server) uploadSig(typ, repo, oid, size, exp, actor string) string {
	m := hmac.New(sha256.New, s.urlKey)
	fmt.Fprintf(m, "lfs-upload\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", typ, repo, oid, size, exp, actor)
	return hex.EncodeToString(m.Sum(nil))
}

// lfsUpload receives one LFS object at a signed URL from lfsBatch.
func (s *Server) lfsUpload(w http.ResponseWriter, r *http.Request) {
	typ, repo, err := repoPath(r)
	if err != nil {
		apiError(w, http.StatusNotFound, err.Error())
		return
	}
	oid, q := r.PathValue("oid"), r.URL.Query()
	want := s.uploadSig(typ, repo, oid, q.Get("size"), q.Get("exp"), q.Get("actor"))
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	size, serr := strconv.ParseInt(q.Get("size"), 10, 64)
	if !hmac.Equal([]byte(want), []byte(q.Get("sig"))) || serr != nil {
		apiError(w, http.StatusForbidden, "upload URL signature does not match: ask the LFS batch endpoint for a new one")
		return
	}
	if s.cfg.Now().Unix() > exp {
		apiError(w, http.StatusForbidden, "upload URL expired: ask the LFS batch endpoint for a new one")
		return
	}
	ctx := r.Context()
	ref, err := s.cfg.Blobs.Put(ctx, http.MaxBytesReader(w, r.Body, size+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "upload failed: "+err.Error())
		return
	}
	if ref.SHA256 != oid || ref.Size != size {
		if used, err := s.cfg.Store.BlobReferenced(ctx, ref.SHA256); err == nil && !used {
			s.cfg.Blobs.Delete(ctx, ref.SHA256)
		}
		apiError(w, http.StatusBadRequest, fmt.Sprintf("uploaded %d bytes with sha256 %s, announced %d bytes with %s", ref.Size, ref.SHA256, size, oid))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// commitOp is one operation of an NDJSON commit.
type commitOp struct {
	Kind    string // "file", "lfsFile", "deletedFile", "deletedFolder"
	Path    string
	Content []byte // file
	OID     string // lfsFile
	Size    int64  // lfsFile
}

// commitHeader is the first line of an NDJSON commit.
type commitHeader struct {
	Summary      string `json:"summary"`
	Description  string `json:"description"`
	ParentCommit string `json:"parentCommit"`
}

// parseCommit reads an NDJSON commit body: a header line, then operations.
// It is bounded by the caller's body limit and by maxCommitOps, and refuses
// unknown operation keys, unclean paths and malformed digests.
func parseCommit(r io.Reader) (commitHeader, []commitOp, error) {
	var h commitHeader
	var ops []commitOp
	dec := json.NewDecoder(r)
	first := true
	for {
		var line struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if err := dec.Decode(&line); err == io.EOF {
			break
		} else if err != nil {
			return h, nil, fmt.Errorf("commit line %d: %v", len(ops)+1, err)
		}
		if first {
			first = false
			if line.Key != "header" {
				return h, nil, errors.New(`the first commit line must be {"key": "header", ...}`)
			}
			if err := json.Unmarshal(line.Value, &h); err != nil {
				return h, nil, fmt.Errorf("commit header: %v", err)
			}
			if h.ParentCommit != "" && !hub.IsCommit(h.ParentCommit) {
				return h, nil, fmt.Errorf("parentCommit %q is not a commit id", h.ParentCommit)
			}
			continue
		}
		if len(ops) == maxCommitOps {
			return h, nil, fmt.Errorf("a commit has at most %d operations", maxCommitOps)
		}
		var v struct {
			Path     string `json:"path"`
			Content  string `json:"content"`
			Encoding string `json:"encoding"`
			Algo     string `json:"algo"`
			OID      string `json:"oid"`
			Size     int64  `json:"size"`
		}
		if err := json.Unmarshal(line.Value, &v); err != nil {
			return h, nil, fmt.Errorf("commit operation %d: %v", len(ops)+1, err)
		}
		op := commitOp{Kind: line.Key, Path: strings.TrimSuffix(v.Path, "/")}
		if _, ok := filePath(strings.Split(op.Path, "/")); !ok || op.Path == "" {
			return h, nil, fmt.Errorf("commit operation %d: path %q is not a clean relative path", len(ops)+1, v.Path)
		}
		switch line.Key {
		case "file":
			if v.Encoding != "base64" {
				return h, nil, fmt.Errorf("%s: file content must be base64", op.Path)
			}
			b, err := base64.StdEncoding.DecodeString(v.Content)
			if err != nil {
				return h, nil, fmt.Errorf("%s: content is not base64: %v", op.Path, err)
			}
			op.Content = b
		case "lfsFile":
			if (v.Algo != "" && v.Algo != "sha256") || !blob.ValidDigest(v.OID) || v.Size < 0 {
				return h, nil, fmt.Errorf("%s: lfsFile needs algo sha256, a sha256 oid and a size", op.Path)
			}
			op.OID, op.Size = v.OID, v.Size
		case "deletedFile", "deletedFolder":
		default:
			return h, nil, fmt.Errorf("commit operation %q is not supported here (file, lfsFile, deletedFile, deletedFolder)", line.Key)
		}
		ops = append(ops, op)
	}
	if first {
		return h, nil, errors.New("empty commit body")
	}
	return h, ops, nil
}

func (s *Server) hfCommit(w http.ResponseWriter, r *http.Request, rt *hfRoute) {
	if !s.permitHF(w, r, auth.ActPush, rt.repo) {
		return
	}
	if r.URL.Query().Get("create_pr") != "" {
		hfError(w, http.StatusBadRequest, "", "pull requests are not supported: commit to a branch; reviewers approve revisions instead")
		return
	}
	ctx := r.Context()
	h, ops, err := parseCommit(http.MaxBytesReader(w, r.Body, maxCommitBody))
	if err != nil {
		hfError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	branch := rt.rev
	key := repoKey(rt.typ, rt.repo)
	files, err := s.headFiles(ctx, key, branch)
	if err != nil {
		s.internalError(w, r, "read the branch head", err)
		return
	}
	for _, op := range ops {
		switch op.Kind {
		case "file":
			ref, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(op.Content))
			if err != nil {
				s.internalError(w, r, "store "+op.Path, err)
				return
			}
			files[op.Path] = ref.SHA256
		case "lfsFile":
			if n, err := s.cfg.Blobs.Stat(ctx, op.OID); err != nil || n != op.Size {
				hfError(w, http.StatusBadRequest, "", fmt.Sprintf("%s: LFS object %s was not uploaded (use the LFS batch endpoint first)", op.Path, op.OID))
				return
			}
			files[op.Path] = op.OID
		case "deletedFile":
			delete(files, op.Path)
		case "deletedFolder":
			for p := range files {
				if strings.HasPrefix(p, op.Path+"/") {
					delete(files, p)
				}
			}
		}
	}
	pushed := make([]pushedFile, 0, len(files))
	for p, sum := range files {
		pushed = append(pushed, pushedFile{Path: p, SHA256: sum})
	}
	message := strings.TrimSpace(h.Summary + "\n\n" + h.Description)
	commit, _, _, err := s.createCommit(ctx, principalOf(ctx).ID, rt.typ, rt.repo, branch, message, h.ParentCommit, pushed)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			hfError(w, re.status, "", re.msg)
			return
		}
		s.internalError(w, r, "create the revision", err)
		return
	}
	prefix := ""
	if rt.typ == "dataset" {
		prefix = "datasets/"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"commitUrl":      s.baseURL(r) + "/" + prefix + rt.repo + "/commit/" + commit,
		"commitOid":      commit,
		"pullRequestUrl": nil,
		"aigis":          "the revision is scanned now and served once reviewers approve it",
	})
}

// headFiles returns path → sha256 of the last revision committed to branch
// of an internal repository (empty for a new branch).
func (s *Server) headFiles(ctx context.Context, key, branch string) (map[string]string, error) {
	out := map[string]string{}
	head, err := s.cfg.Store.ResolveRef(ctx, key, upstreamRefPrefix+branch)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	fs, err := s.listAll(ctx, key, head, "")
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		out[f.Path] = f.SHA256
	}
	return out, nil
}

// createRepo answers POST /api/repos/create: a new internal repository, or
// 409 when it exists (clients with exist_ok=True carry on).
func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Type         string `json:"type"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		hfError(w, http.StatusBadRequest, "", `create takes {"name", "organization", "type"}`)
		return
	}
	name := body.Name
	if body.Organization != "" && !strings.Contains(name, "/") {
		name = body.Organization + "/" + name
	}
	typ := body.Type
	if typ == "" {
		typ = "model"
	}
	if (typ != "model" && typ != "dataset") || !validRepoID(strings.Split(name, "/")) || !strings.Contains(name, "/") {
		hfError(w, http.StatusBadRequest, "", "create a model or dataset repository named org/name")
		return
	}
	if !s.permitHF(w, r, auth.ActPush, name) {
		return
	}
	ctx := r.Context()
	key := repoKey(typ, name)
	prefix := ""
	if typ == "dataset" {
		prefix = "datasets/"
	}
	u := s.baseURL(r) + "/" + prefix + name
	if _, err := s.cfg.Store.GetRepo(ctx, key); err == nil {
		hfError(w, http.StatusConflict, "", "You already created this "+typ+" repo")
		return
	}
	if ok, why := s.Policy().AllowSource(name, string(store.Internal)); !ok {
		hfError(w, http.StatusForbidden, "", fmt.Sprintf("policy %s does not allow %s: %s", s.Policy().Version(), name, why))
		return
	}
	if _, err := s.cfg.Audit.Append(s.entry(principalOf(ctx).ID, "repo.create", "hf:"+typ+"/"+name, nil)); err != nil {
		s.internalError(w, r, "write the audit log", err)
		return
	}
	if err := s.cfg.Store.PutRepo(ctx, store.Repo{ID: key, Type: store.RepoType(typ), Source: store.Internal}); err != nil {
		s.internalError(w, r, "create the repository", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": u, "name": name, "id": name})
}
