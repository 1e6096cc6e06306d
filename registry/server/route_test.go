package server

import (
	"strings"
	"testing"
)

func TestParseHFPath(t *testing.T) {
	for _, c := range []struct {
		path string
		want hfRoute
		bad  bool
		none bool
	}{
		{path: "/api/models/acme/bert", want: hfRoute{kind: kindInfo, typ: "model", repo: "acme/bert"}},
		{path: "/api/models/gpt2/revision/main", want: hfRoute{kind: kindInfo, typ: "model", repo: "gpt2", rev: "main"}},
		{path: "/api/datasets/acme/reviews/revision/refs%2Fpr%2F3", want: hfRoute{kind: kindInfo, typ: "dataset", repo: "acme/reviews", rev: "refs/pr/3"}},
		{path: "/api/models/acme/bert/tree/main/sub/dir", want: hfRoute{kind: kindTree, typ: "model", repo: "acme/bert", rev: "main", path: "sub/dir"}},
		{path: "/api/models/acme/bert/paths-info/abc", want: hfRoute{kind: kindPathsInfo, typ: "model", repo: "acme/bert", rev: "abc"}},
		{path: "/api/models/acme/bert/refs", want: hfRoute{kind: kindRefs, typ: "model", repo: "acme/bert"}},
		{path: "/api/whoami-v2", want: hfRoute{kind: kindWhoami}},
		{path: "/acme/bert/resolve/main/model.safetensors", want: hfRoute{kind: kindResolve, typ: "model", repo: "acme/bert", rev: "main", path: "model.safetensors"}},
		{path: "/datasets/acme/reviews/resolve/v1.0/data/train.csv", want: hfRoute{kind: kindResolve, typ: "dataset", repo: "acme/reviews", rev: "v1.0", path: "data/train.csv"}},
		{path: "/gpt2/raw/main/config.json", want: hfRoute{kind: kindRaw, typ: "model", repo: "gpt2", rev: "main", path: "config.json"}},
		{path: "/api/models/acme/bert/preupload/main", want: hfRoute{kind: kindPreupload, typ: "model", repo: "acme/bert", rev: "main"}},
		{path: "/api/datasets/acme/d/commit/dev", want: hfRoute{kind: kindCommit, typ: "dataset", repo: "acme/d", rev: "dev"}},
		{path: "/api/repos/create", want: hfRoute{kind: kindCreateRepo}},
		{path: "/acme/bert.git/info/lfs/objects/batch", want: hfRoute{kind: kindLFSBatch, typ: "model", repo: "acme/bert"}},
		{path: "/datasets/acme/d.git/info/lfs/objects/batch", want: hfRoute{kind: kindLFSBatch, typ: "dataset", repo: "acme/d"}},
		{path: "/acme/..git/info/lfs/objects/batch", bad: true},
		{path: "/acme/bert/resolve/main/..%2Fx", bad: true},
		{path: "/acme/bert/resolve/main/a/../b", bad: true},
		{path: "/acme/bert/resolve/main/a%5Cb", bad: true},
		{path: "/acme/bert/resolve/main/", bad: true},
		{path: "/acme/bert/resolve/..%2F..%2F/x", bad: true},
		{path: "/ac%00me/bert/resolve/main/x", bad: true},
		{path: "/api/models/acme/bert/tree/-rf/x", bad: true},
		{path: "/" + strings.Repeat("a/", 3000), bad: true},
		{path: "/api/spaces/acme/x", none: true},
		{path: "/favicon.ico", none: true},
	} {
		got, err := parseHFPath(c.path)
		switch {
		case c.bad:
			if err == nil {
				t.Errorf("%s: parsed as %+v, want refused", c.path, got)
			}
		case c.none:
			if err != nil || got != nil {
				t.Errorf("%s: %+v, %v; want no route", c.path, got, err)
			}
		case err != nil || got == nil || *got != c.want:
			t.Errorf("%s: %+v, %v; want %+v", c.path, got, err, c.want)
		}
	}
}

// FuzzParseHFPath: any path either is refused or yields a route whose file
// path cannot leave the repository.
func FuzzParseHFPath(f *testing.F) {
	for _, s := range []string{"/api/models/a/b/tree/main/x/y", "/a/b/resolve/main/c", "/datasets/a/b/raw/r/%2E%2E/x", "/api/whoami-v2", "/api/models/a/revision/refs%2Fpr%2F1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := parseHFPath(p)
		if err != nil || r == nil {
			return
		}
		for _, seg := range strings.Split(r.path, "/") {
			if seg == ".." || seg == "." || strings.ContainsAny(seg, "\\\x00") {
				t.Fatalf("%q: path %q escapes", p, r.path)
			}
		}
		if strings.HasPrefix(r.path, "/") || strings.Contains(r.repo, "..") {
			t.Fatalf("%q: route %+v", p, r)
		}
	})
}
