package server

import (
	"errors"
	"net/url"
	"strings"
)

// The Hugging Face routes cannot be written as net/http ServeMux patterns
// ("/{ns}/{name}/resolve/{rev}/{path...}" conflicts with "/api/…" and with
// "/datasets/…"), so the HF surface is parsed here, segment by segment, from
// the escaped path: each segment is percent-decoded once, which keeps
// "refs%2Fpr%2F3" one revision, and file paths are refused when they try to
// leave the repository.

// Route kinds of the HF surface.
const (
	kindInfo      = "info"
	kindTree      = "tree"
	kindPathsInfo = "paths-info"
	kindRefs      = "refs"
	kindResolve   = "resolve"
	kindRaw       = "raw"
	kindWhoami    = "whoami"
)

// hfRoute is a parsed HF request path.
type hfRoute struct {
	kind string
	typ  string // "model" | "dataset"
	repo string // "org/name" (or a legacy single-segment id)
	rev  string // "" when the URL names none
	path string // file or folder path inside the repository
}

// Limits on request paths.
const (
	maxPathBytes    = 4096
	maxSegmentBytes = 255
	maxRepoPart     = 96
)

var errBadPath = errors.New("malformed path")

// parseHFPath parses an escaped URL path of the HF surface. It returns
// (nil, nil) for a path that is not an HF route.
func parseHFPath(escaped string) (*hfRoute, error) {
	if len(escaped) > maxPathBytes {
		return nil, errBadPath
	}
	raw := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || len(v) > maxSegmentBytes || strings.ContainsRune(v, 0) {
			return nil, errBadPath
		}
		segs[i] = v
	}
	if len(segs) >= 2 && segs[0] == "api" {
		if len(segs) == 2 && segs[1] == "whoami-v2" {
			return &hfRoute{kind: kindWhoami}, nil
		}
		if len(segs) == 3 && segs[1] == "repos" && segs[2] == "create" {
			return &hfRoute{kind: kindCreateRepo}, nil
		}
		var typ string
		switch segs[1] {
		case "models":
			typ = "model"
		case "datasets":
			typ = "dataset"
		default:
			return nil, nil
		}
		return parseAPI(typ, segs[2:])
	}
	typ := "model"
	if len(segs) > 0 && segs[0] == "datasets" {
		typ, segs = "dataset", segs[1:]
	}
	// Git LFS batch API: /{org}/{name}.git/info/lfs/objects/batch
	if n := len(segs) - 4; n >= 1 && n <= 2 && strings.Join(segs[n:], "/") == "info/lfs/objects/batch" {
		id := append([]string(nil), segs[:n]...)
		name, ok := strings.CutSuffix(id[n-1], ".git")
		if !ok {
			return nil, nil
		}
		id[n-1] = name
		if !validRepoID(id) {
			return nil, errBadPath
		}
		return &hfRoute{kind: kindLFSBatch, typ: typ, repo: strings.Join(id, "/")}, nil
	}
	for n := 1; n <= 2 && n+1 < len(segs); n++ {
		verb := segs[n]
		if verb != kindResolve && verb != kindRaw {
			continue
		}
		if !validRepoID(segs[:n]) {
			return nil, errBadPath
		}
		p, ok := filePath(segs[n+2:])
		if !ok || p == "" {
			return nil, errBadPath
		}
		if !validRev(segs[n+1]) {
			return nil, errBadPath
		}
		return &hfRoute{kind: verb, typ: typ, repo: strings.Join(segs[:n], "/"), rev: segs[n+1], path: p}, nil
	}
	return nil, nil
}

// parseAPI parses what follows /api/models/ or /api/datasets/.
func parseAPI(typ string, segs []string) (*hfRoute, error) {
	// The repository id has two segments, or one (a legacy id such as
	// "gpt2") when the second is a verb.
	n := 2
	if len(segs) == 1 || (len(segs) >= 2 && isVerb(segs[1])) {
		n = 1
	}
	if len(segs) < n || !validRepoID(segs[:n]) {
		return nil, errBadPath
	}
	r := &hfRoute{typ: typ, repo: strings.Join(segs[:n], "/")}
	rest := segs[n:]
	if len(rest) == 0 {
		r.kind = kindInfo
		return r, nil
	}
	verb, rest := rest[0], rest[1:]
	switch verb {
	case "revision":
		if len(rest) != 1 || !validRev(rest[0]) {
			return nil, errBadPath
		}
		r.kind, r.rev = kindInfo, rest[0]
	case "tree":
		if len(rest) < 1 || !validRev(rest[0]) {
			return nil, errBadPath
		}
		p, ok := filePath(rest[1:])
		if !ok {
			return nil, errBadPath
		}
		r.kind, r.rev, r.path = kindTree, rest[0], p
	case "paths-info", "preupload", "commit":
		if len(rest) != 1 || !validRev(rest[0]) {
			return nil, errBadPath
		}
		r.kind, r.rev = verb, rest[0]
	case "refs":
		if len(rest) != 0 {
			return nil, errBadPath
		}
		r.kind = kindRefs
	default:
		return nil, nil
	}
	return r, nil
}

func isVerb(s string) bool {
	switch s {
	case "revision", "tree", "paths-info", "refs", "preupload", "commit":
		return true
	}
	return false
}

// validRepoID checks the segments of a repository id: letters, digits, '-',
// '_' and '.', no "..", "--" or leading '.', at most 96 bytes each.
func validRepoID(segs []string) bool {
	if len(segs) == 0 || len(segs) > 2 {
		return false
	}
	for _, s := range segs {
		// The Hub refuses ".." anywhere in a name (and "--", which its
		// cache folders use as a separator).
		if s == "" || strings.Contains(s, "..") || strings.Contains(s, "--") || strings.HasPrefix(s, ".") || len(s) > maxRepoPart {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
	}
	return true
}

// validRev accepts branch, tag and commit names as git allows them, minus
// what could be abused: control characters, "..", backslashes, leading '-'.
func validRev(s string) bool {
	if s == "" || len(s) > maxSegmentBytes || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") ||
		strings.HasSuffix(s, "/") || strings.Contains(s, "..") || strings.Contains(s, "//") {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\\' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' || c == ' ' {
			return false
		}
	}
	return true
}

// filePath joins decoded path segments into a repository path, refusing
// empty, "." and ".." segments, backslashes and segments that contained an
// encoded '/'.
func filePath(segs []string) (string, bool) {
	if len(segs) == 1 && segs[0] == "" {
		return "", true // trailing slash: the root
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
			return "", false
		}
	}
	return strings.Join(segs, "/"), true
}
