package store_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/registry/store"
)

// fuzzPaths are names whose byte order trips up collations and bounds.
var fuzzPaths = []string{
	"README.md", "_meta/x", "a", "a/b", "a0", "a\u007f", "ab", "config.json",
	"onnx/model.onnx", "onnx/tokenizer.json", "onnxruntime.txt",
	"\u07ff", "\u07ff/a", "\u0800", "\ud7ff-x", "\ue000", "\uffff", "\U00010000",
	"\U0010ffff", "\U0010ffff\U0010ffff", "日本語/ファイル.txt", "z/0", "z/1", "z/2",
}

// FuzzListFiles pages through a fixed revision with a client's prefix,
// cursor and limit, and compares every page with a filter over the sorted
// names: ListFiles must return exactly the names after the cursor that
// start with the prefix, in byte order, limit at a time.
func FuzzListFiles(f *testing.F) {
	s, err := store.OpenSQLite(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ctx := f.Context()
	const repo, commit = "models/org/m", "c0"
	if err := s.PutRepo(ctx, store.Repo{ID: repo, Type: store.Model, Source: store.Upstream}); err != nil {
		f.Fatal(err)
	}
	if err := s.PutRevision(ctx, store.Revision{RepoID: repo, Commit: commit}); err != nil {
		f.Fatal(err)
	}
	var files []store.File
	for _, p := range fuzzPaths {
		files = append(files, store.File{RepoID: repo, Commit: commit, Path: p})
	}
	if err := s.PutFiles(ctx, files); err != nil {
		f.Fatal(err)
	}
	sorted := slices.Clone(fuzzPaths)
	slices.Sort(sorted)

	f.Add("", "", 0)
	f.Add("onnx", "", 1)
	f.Add("a", "a", 2)
	f.Add("\u07ff", "\u07ff", 1)
	f.Add("\U0010ffff", "", 5)
	f.Add("z/", "other", 2)
	f.Add("\xff", "", 1)
	f.Add("a", "\x00", -3)
	f.Fuzz(func(t *testing.T, prefix, cursor string, limit int) {
		page, next, err := s.ListFiles(ctx, repo, commit, prefix, cursor, limit)
		bad := func(x string) bool { return !utf8.ValidString(x) || strings.ContainsRune(x, 0) }
		if bad(prefix) || bad(cursor) {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ListFiles(%+q, %+q) error = %v, want ErrInvalid", prefix, cursor, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var match []string
		for _, p := range sorted {
			if strings.HasPrefix(p, prefix) && p > cursor {
				match = append(match, p)
			}
		}
		n := limit
		if n <= 0 {
			n = store.DefaultListLimit
		}
		n = min(n, store.MaxListLimit)
		want, wantNext := match, ""
		if len(match) > n {
			want, wantNext = match[:n], match[n-1]
		}
		var got []string
		for _, f := range page {
			got = append(got, f.Path)
		}
		if diff := cmp.Diff(want, got); diff != "" || next != wantNext {
			t.Fatalf("ListFiles(%+q, %+q, %d): next %+q, want %+q; (-want +got):\n%s", prefix, cursor, limit, next, wantNext, diff)
		}
	})
}
