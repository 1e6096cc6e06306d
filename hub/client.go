package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// DefaultEndpoint is the public Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Limits on what the Hub may send. A listing over them is an error, never a
// silently shortened file list.
const (
	maxJSONBytes  = 64 << 20 // one API response
	maxPages      = 10_000   // tree pages
	maxFiles      = 1_000_000
	maxRedirects  = 5 // relative redirects followed on resolve URLs
	defaultTimout = 2 * time.Minute
)

// Sentinel errors; the *Error returned by the client wraps one of them.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrTruncated    = errors.New("truncated response")
	ErrBadResponse  = errors.New("unexpected response")
)

// Error is an HTTP or protocol failure talking to the Hub. Its message names
// the repository and says what to do.
type Error struct {
	RepoID, Revision string
	URL              string
	Status           int    // HTTP status, 0 when the failure is not one
	Code             string // X-Error-Code, such as RepoNotFound
	Message          string // what went wrong and what to do
	Err              error  // one of the sentinel errors, or a transport error
}

func (e *Error) Error() string {
	return fmt.Sprintf("hub: %s@%s: %s", e.RepoID, e.Revision, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Client talks to the Hugging Face Hub or a mirror speaking its API.
type Client struct {
	// Endpoint is the base URL, DefaultEndpoint when empty.
	Endpoint string
	// Token is sent as "Authorization: Bearer <Token>" to Endpoint only.
	Token string
	// RepoType is "model" (the default when empty) or "dataset": datasets
	// live under /api/datasets/ and /datasets/ on the Hub.
	RepoType string
	// HTTP is the client used; when nil, one with a two-minute timeout.
	// Its CheckRedirect is replaced for resolve requests, which must see the
	// first response.
	HTTP *http.Client
}

// NewClient returns a client configured the way huggingface_hub is: the
// endpoint from HF_ENDPOINT and the token from HF_TOKEN.
func NewClient() *Client {
	return &Client{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN")}
}

func (c *Client) endpoint() (*url.URL, error) {
	ep := c.Endpoint
	if ep == "" {
		ep = DefaultEndpoint
	}
	u, err := url.Parse(strings.TrimRight(ep, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("hub: endpoint %q is not an http(s) URL", ep)
	}
	return u, nil
}

// apiKind is the API collection of the client's repository type.
func (c *Client) apiKind() string {
	if c.RepoType == "dataset" {
		return "datasets"
	}
	return "models"
}

// repoSegs are the URL path segments that name a repository on the file
// routes (resolve, raw): datasets carry a "datasets" prefix.
func (c *Client) repoSegs(repoID string) []string {
	if c.RepoType == "dataset" {
		return append([]string{"datasets"}, split(repoID)...)
	}
	return split(repoID)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: defaultTimout}
}

// sibling is an entry of the revision endpoint's siblings[] with blobs=true.
type sibling struct {
	RFilename string `json:"rfilename"`
	Size      *int64 `json:"size"`
	BlobID    string `json:"blobId"`
	LFS       *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// treeEntry is an entry of the tree endpoint.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	OID  string `json:"oid"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	} `json:"lfs"`
}

// Files returns the Hub's record of repoID at revision. It resolves the
// revision to a commit with /api/models/{id}/revision/{rev}, then lists the
// files of that commit, not of the moving revision, with the paginated tree
// API (/api/models/{id}/tree/{commit}?recursive=true). When a mirror does not
// serve the tree API, the revision endpoint's siblings (blobs=true) are used.
func (c *Client) Files(ctx context.Context, repoID, revision string) (*Snapshot, error) {
	ref, base, u, info, err := c.revision(ctx, repoID, revision, true)
	if err != nil {
		return nil, err
	}
	commit := info.SHA
	s := &Snapshot{RepoID: repoID, Commit: commit, Source: base.String()}
	files, err := c.tree(ctx, ref, base, commit)
	var herr *Error
	if err != nil && errors.As(err, &herr) && slices.Contains([]int{400, 404, 405, 501}, herr.Status) && herr.Code != "RepoNotFound" && siblingsHaveHashes(info.Siblings) {
		files, err = filesFromSiblings(info.Siblings), nil
	}
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !validFilePath(f.Path) {
			return nil, ref.errorf(u, ErrBadResponse, "the hub lists an unsafe file path %q; refusing it", f.Path)
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, ref.errorf(u, ErrBadResponse, "the hub lists %q twice", files[i].Path)
		}
	}
	s.Files = files
	return s, nil
}

// revisionInfo is what the revision endpoint says of a revision.
type revisionInfo struct {
	SHA      string    `json:"sha"`
	Siblings []sibling `json:"siblings"`
}

// revision asks the hub which commit revision is (with the siblings' hashes
// when blobs is set) and checks the answer.
func (c *Client) revision(ctx context.Context, repoID, revision string, blobs bool) (reqRef, *url.URL, *url.URL, *revisionInfo, error) {
	revision, err := checkRef(repoID, revision)
	if err != nil {
		return reqRef{}, nil, nil, nil, err
	}
	base, err := c.endpoint()
	if err != nil {
		return reqRef{}, nil, nil, nil, err
	}
	ref := reqRef{repoID: repoID, revision: revision}
	var info revisionInfo
	u := apiURL(base, append(append([]string{"api", c.apiKind()}, split(repoID)...), "revision", revision)...)
	if blobs {
		u.RawQuery = "blobs=true"
	}
	if _, err := c.getJSON(ctx, ref, u, base, &info); err != nil {
		return ref, base, u, nil, err
	}
	if !IsCommit(info.SHA) {
		return ref, base, u, nil, ref.errorf(u, ErrBadResponse, "the hub's revision record has no commit id (sha %q); the endpoint may not be a Hugging Face hub", info.SHA)
	}
	info.SHA = strings.ToLower(info.SHA)
	if IsCommit(revision) && !strings.EqualFold(revision, info.SHA) {
		return ref, base, u, nil, ref.errorf(u, ErrBadResponse, "asked for commit %s, the hub answered with commit %s", revision, info.SHA)
	}
	return ref, base, u, &info, nil
}

// Commit resolves revision (a branch, tag or commit) of repoID to the
// commit it names, with one request and without listing files.
func (c *Client) Commit(ctx context.Context, repoID, revision string) (string, error) {
	_, _, _, info, err := c.revision(ctx, repoID, revision, false)
	if err != nil {
		return "", err
	}
	return info.SHA, nil
}

func siblingsHaveHashes(sib []sibling) bool {
	if len(sib) == 0 {
		return false
	}
	for _, s := range sib {
		if s.BlobID == "" && (s.LFS == nil || s.LFS.SHA256 == "") {
			return false
		}
	}
	return true
}

func filesFromSiblings(sib []sibling) []File {
	out := make([]File, 0, len(sib))
	for _, s := range sib {
		f := File{Path: s.RFilename, Size: -1, BlobSHA1: strings.ToLower(s.BlobID)}
		if s.Size != nil {
			f.Size = *s.Size
		}
		if s.LFS != nil {
			f.SHA256 = strings.ToLower(s.LFS.SHA256)
			f.Size = s.LFS.Size
		}
		out = append(out, f)
	}
	return out
}

// tree lists every file of commit, following Link: <…>; rel="next".
func (c *Client) tree(ctx context.Context, ref reqRef, base *url.URL, commit string) ([]File, error) {
	u := apiURL(base, append(append([]string{"api", c.apiKind()}, split(ref.repoID)...), "tree", commit)...)
	u.RawQuery = "recursive=true"
	var files []File
	for page := 0; u != nil; page++ {
		if page == maxPages {
			return nil, ref.errorf(u, ErrBadResponse, "the tree listing has more than %d pages; stopping", maxPages)
		}
		var entries []treeEntry
		h, err := c.getJSON(ctx, ref, u, base, &entries)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			f := File{Path: e.Path, Size: e.Size, BlobSHA1: strings.ToLower(e.OID)}
			if e.LFS != nil {
				f.SHA256 = strings.ToLower(e.LFS.OID)
				f.Size = e.LFS.Size
			}
			if f.SHA256 != "" && (len(f.SHA256) != 64 || !isHex(f.SHA256)) || f.BlobSHA1 != "" && (len(f.BlobSHA1) != 40 || !isHex(f.BlobSHA1)) {
				return nil, ref.errorf(u, ErrBadResponse, "the hub lists %q with a malformed hash", e.Path)
			}
			if f.SHA256 == "" && f.BlobSHA1 == "" {
				return nil, ref.errorf(u, ErrBadResponse, "the hub lists %q with no hash", e.Path)
			}
			files = append(files, f)
		}
		if len(files) > maxFiles {
			return nil, ref.errorf(u, ErrBadResponse, "the repository lists more than %d files; stopping", maxFiles)
		}
		next, err := nextLink(u, h.Get("Link"))
		if err != nil {
			return nil, ref.errorf(u, ErrBadResponse, "%v", err)
		}
		if next != nil && (next.Scheme != base.Scheme || next.Host != base.Host) {
			// Following it would send the token to another host.
			return nil, ref.errorf(u, ErrBadResponse, "the next page is on another host (%s); refusing to follow it", next.Host)
		}
		u = next
	}
	return files, nil
}

// nextLink returns the rel="next" target of a Link header, resolved against
// the current URL, or nil when there is none.
func nextLink(cur *url.URL, header string) (*url.URL, error) {
	for part := range strings.SplitSeq(header, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok {
			continue
		}
		target = strings.TrimSpace(target)
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		isNext := false
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.ToLower(strings.Trim(v, `"`))), "next") {
				isNext = true
			}
		}
		if !isNext {
			continue
		}
		next, err := cur.Parse(target[1 : len(target)-1])
		if err != nil {
			return nil, fmt.Errorf("malformed Link header %q: %v", header, err)
		}
		return next, nil
	}
	return nil, nil
}

// apiURL joins literal path segments to base, escaping each one: a revision
// such as refs/pr/1 is one segment and is sent as refs%2Fpr%2F1, as the Hub
// expects, and a file name with '#' or '%' stays a file name.
func apiURL(base *url.URL, segs ...string) *url.URL {
	u := *base
	u.RawQuery, u.Fragment = "", ""
	raw := strings.TrimRight(base.EscapedPath(), "/")
	p := strings.TrimRight(base.Path, "/")
	for _, s := range segs {
		raw += "/" + url.PathEscape(s)
		p += "/" + s
	}
	u.Path, u.RawPath = p, raw
	return &u
}

func split(p string) []string { return strings.Split(p, "/") }

// fileURL checks the repository id, revision and path of one file and
// returns the endpoint and the file's URL, /{id}/resolve/{revision}/{path}.
func (c *Client) fileURL(repoID, revision, filePath string) (base, u *url.URL, err error) {
	if err := ValidRepoID(repoID); err != nil {
		return nil, nil, err
	}
	if err := validRevision(revision); err != nil {
		return nil, nil, err
	}
	if !validFilePath(filePath) {
		return nil, nil, fmt.Errorf("%w: file path %q", ErrBadRef, filePath)
	}
	base, err = c.endpoint()
	if err != nil {
		return nil, nil, err
	}
	return base, apiURL(base, append(append(c.repoSegs(repoID), "resolve", revision), split(filePath)...)...), nil
}

type reqRef struct{ repoID, revision string }

func (r reqRef) errorf(u *url.URL, sentinel error, format string, args ...any) *Error {
	return &Error{RepoID: r.repoID, Revision: r.revision, URL: redact(u), Err: sentinel, Message: fmt.Sprintf(format, args...)}
}

func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	v.User = nil
	return v.String()
}

func (c *Client) newRequest(ctx context.Context, method string, u, base *url.URL) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "aigis")
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && u.Scheme == base.Scheme && u.Host == base.Host {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// getJSON GETs u and decodes the JSON body into v, detecting truncation.
func (c *Client) getJSON(ctx context.Context, ref reqRef, u, base *url.URL, v any) (http.Header, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, base)
	if err != nil {
		return nil, ref.errorf(u, err, "%v", err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, ref.transportError(u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(ref, u, resp)
	}
	body, err := io.ReadAll(safeio.LimitReader(resp.Body, maxJSONBytes, "hub API response"))
	if err != nil {
		if _, ok := safeio.IsLimit(err); ok {
			return nil, ref.errorf(u, ErrBadResponse, "the response from %s is larger than %d bytes; stopping", redact(u), maxJSONBytes)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ref.errorf(u, ErrTruncated, "the response from %s was cut off after %d of %d bytes; try again, and check any proxy or mirror in between", redact(u), len(body), resp.ContentLength)
		}
		return nil, ref.transportError(u, err)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, ref.errorf(u, ErrTruncated, "the response from %s has %d bytes, Content-Length said %d; try again", redact(u), len(body), resp.ContentLength)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset >= int64(len(body)) || strings.Contains(err.Error(), "unexpected end of JSON input") {
			return nil, ref.errorf(u, ErrTruncated, "the JSON from %s ends early (%d bytes); the response was cut off, try again", redact(u), len(body))
		}
		return nil, ref.errorf(u, ErrBadResponse, "the response from %s is not the hub's JSON: %v; check --endpoint", redact(u), err)
	}
	return resp.Header, nil
}

func (r reqRef) transportError(u *url.URL, err error) *Error {
	msg := fmt.Sprintf("cannot reach %s: %v", redact(u), err)
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		msg = fmt.Sprintf("%s timed out: %v; check the network or --endpoint, or verify offline from the local cache", redact(u), err)
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errorf(u, ErrTruncated, "the response from %s was cut off: %v; try again", redact(u), err)
	}
	return &Error{RepoID: r.repoID, Revision: r.revision, URL: redact(u), Err: err, Message: msg}
}

// statusError turns a non-200 answer into an *Error, reading the Hub's
// X-Error-Code and X-Error-Message headers (or a JSON {"error": …} body).
func (c *Client) statusError(ref reqRef, u *url.URL, resp *http.Response) *Error {
	code := resp.Header.Get("X-Error-Code")
	hubMsg := resp.Header.Get("X-Error-Message")
	if hubMsg == "" {
		var body struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &body) == nil {
			hubMsg = body.Error
		}
	}
	e := ref.errorf(u, ErrBadResponse, "")
	e.Status, e.Code = resp.StatusCode, code
	said := ""
	if hubMsg != "" {
		said = fmt.Sprintf(" (the hub says: %q)", hubMsg)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		e.Err = ErrUnauthorized
		switch {
		case c.Token == "":
			e.Message = "401 unauthorized: the repository is private or gated, or does not exist" + said + "; set HF_TOKEN to a read token that has access"
		case hubMsg == "Invalid credentials in Authorization header":
			e.Message = "401 unauthorized: the hub refused the token in HF_TOKEN" + said + "; create a new read token"
		default:
			e.Message = "401 unauthorized: the token in HF_TOKEN has no access to this repository, or it does not exist" + said + "; check the name and the token's permissions"
		}
	case resp.StatusCode == http.StatusForbidden:
		e.Err = ErrUnauthorized
		if code == "GatedRepo" {
			e.Message = "403 forbidden: the repository is gated" + said + "; accept its conditions on its page and use a token of that account in HF_TOKEN"
		} else {
			e.Message = "403 forbidden" + said + "; check that the token in HF_TOKEN has read access"
		}
	case resp.StatusCode == http.StatusNotFound:
		e.Err = ErrNotFound
		switch code {
		case "RevisionNotFound":
			e.Message = fmt.Sprintf("404: the repository %s has no revision %q%s; check the commit id or branch", ref.repoID, ref.revision, said)
		case "EntryNotFound":
			e.Message = "404: no such file at this revision" + said
		default:
			e.Message = fmt.Sprintf("404: repository %s not found at %s%s; check the spelling (look-alike names are a known attack) and --endpoint", ref.repoID, u.Host, said)
		}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.Message = fmt.Sprintf("%s%s; the hub is busy or failing, try again", resp.Status, said)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			e.Message += " after " + ra + " s"
		}
	default:
		e.Message = fmt.Sprintf("unexpected %s%s from %s", resp.Status, said, redact(u))
	}
	return e
}

// FileMeta is what a resolve URL's first response says about one file.
type FileMeta struct {
	// Commit is X-Repo-Commit, the commit the revision resolved to.
	Commit string
	// ETag is the entity tag without quotes: the git blob sha1 for regular
	// files, the sha256 for LFS files.
	ETag string
	// SHA256 is X-Linked-Etag, the sha256 of an LFS file's content, or ""
	// for a regular file.
	SHA256 string
	// Size is X-Linked-Size, else Content-Length; -1 when unknown.
	Size int64
	// Location is where the content is served from when the Hub redirects
	// to a CDN.
	Location string
}

// Resolve reads the metadata of one file with HEAD
// /{id}/resolve/{rev}/{path}. Redirects are not followed to their end: the
// commit and hashes are on the first response, and the CDN's answer carries
// none of them. Relative redirects (renamed repositories) are followed on the
// same host, as huggingface_hub does.
func (c *Client) Resolve(ctx context.Context, repoID, revision, filePath string) (*FileMeta, error) {
	base, u, err := c.fileURL(repoID, revision, filePath)
	if err != nil {
		return nil, err
	}
	ref := reqRef{repoID: repoID, revision: revision}
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, http.MethodHead, u, base)
		if err != nil {
			return nil, ref.errorf(u, err, "%v", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, ref.transportError(u, err)
		}
		resp.Body.Close()
		isRedirect := resp.StatusCode >= 300 && resp.StatusCode < 400
		if !isRedirect && resp.StatusCode != http.StatusOK {
			return nil, c.statusError(ref, u, resp)
		}
		commit := resp.Header.Get("X-Repo-Commit")
		if isRedirect && commit == "" {
			loc, err := u.Parse(resp.Header.Get("Location"))
			if err != nil || resp.Header.Get("Location") == "" {
				return nil, ref.errorf(u, ErrBadResponse, "%s without a usable Location", resp.Status)
			}
			if loc.Host != base.Host || loc.Scheme != base.Scheme {
				return nil, ref.errorf(u, ErrBadResponse, "redirected to %s before the hub said which commit it serves; the endpoint does not look like a Hugging Face hub", loc.Host)
			}
			if hop == maxRedirects {
				return nil, ref.errorf(u, ErrBadResponse, "more than %d redirects", maxRedirects)
			}
			u = loc
			continue
		}
		if !IsCommit(commit) {
			return nil, ref.errorf(u, ErrBadResponse, "the answer has no X-Repo-Commit header (got %q); the endpoint does not look like a Hugging Face hub", commit)
		}
		m := &FileMeta{
			Commit:   strings.ToLower(commit),
			ETag:     strings.ToLower(strings.Trim(strings.TrimPrefix(resp.Header.Get("ETag"), "W/"), `"`)),
			SHA256:   strings.ToLower(strings.Trim(resp.Header.Get("X-Linked-Etag"), `"`)),
			Size:     -1,
			Location: resp.Header.Get("Location"),
		}
		if s := resp.Header.Get("X-Linked-Size"); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
				m.Size = n
			}
		} else if !isRedirect && resp.ContentLength >= 0 {
			m.Size = resp.ContentLength
		}
		if IsCommit(revision) && !strings.EqualFold(revision, m.Commit) {
			return nil, ref.errorf(u, ErrBadResponse, "asked for commit %s, the hub answered with commit %s", revision, m.Commit)
		}
		return m, nil
	}
}

// downloadTransport has no overall timeout (files are gigabytes) but gives up
// on a server that does not start answering.
var downloadTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return t
}()

// Download GETs the content of one file of repoID at commit, starting at byte
// offset, and returns the body positioned there. Redirects to the Hub's CDN
// are followed; the token is sent to the endpoint's host only and dropped on
// any redirect elsewhere. A server that ignores the Range header of a
// resumed download is an error rather than a silent restart, so callers can
// count bytes. The caller closes the body.
func (c *Client) Download(ctx context.Context, repoID, commit, filePath string, offset int64) (io.ReadCloser, error) {
	base, u, err := c.fileURL(repoID, commit, filePath)
	if err != nil {
		return nil, err
	}
	ref := reqRef{repoID: repoID, revision: commit}
	req, err := c.newRequest(ctx, http.MethodGet, u, base)
	if err != nil {
		return nil, ref.errorf(u, err, "%v", err)
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	hc := http.Client{Transport: downloadTransport}
	if c.HTTP != nil {
		hc = *c.HTTP
		hc.Timeout = 0
	}
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if r.URL.Host != base.Host || r.URL.Scheme != base.Scheme {
			r.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, ref.transportError(u, err)
	}
	switch {
	case offset == 0 && resp.StatusCode == http.StatusOK:
		return resp.Body, nil
	case offset > 0 && resp.StatusCode == http.StatusPartialContent:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != offset {
			resp.Body.Close()
			return nil, ref.errorf(u, ErrBadResponse, "asked for bytes from %d, got Content-Range %q", offset, resp.Header.Get("Content-Range"))
		}
		return resp.Body, nil
	case offset > 0 && resp.StatusCode == http.StatusOK:
		resp.Body.Close()
		return nil, ref.errorf(u, ErrBadResponse, "the server ignored the Range header of a resumed download")
	}
	defer resp.Body.Close()
	return nil, c.statusError(ref, u, resp)
}
