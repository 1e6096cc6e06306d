// Package storetest is the contract every store.Store must meet. Each
// backend (SQLite, PostgreSQL) runs TestContract; open must return a
// fresh, empty store for each call and close it when the test ends.
package storetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/registry/store"
)

// TestContract checks the store.Store contract on stores made by open.
func TestContract(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Repos", testRepos},
		{"ListRepos", testListRepos},
		{"Revisions", testRevisions},
		{"StatusTransitions", testStatusTransitions},
		{"Files", testFiles},
		{"FilesPagination", testPagination},
		{"Findings", testFindings},
		{"Tokens", testTokens},
		{"Jobs", testJobs},
		{"ConcurrentClaim", testConcurrentClaim},
		{"ExpiredLease", testExpiredLease},
		{"RevisionLists", testRevisionLists},
		{"Refs", testRefs},
		{"StatusHistory", testStatusHistory},
		{"PutFiles", testPutFiles},
		{"BlobReferenced", testBlobReferenced},
		{"Approvals", testApprovals},
		{"Aliases", testAliases},
		{"TokenLifecycle", testTokenLifecycle},
		{"RoleBindings", testRoleBindings},
		{"Sessions", testSessions},
		{"JobOwnership", testJobOwnership},
		{"JobGiveUp", testJobGiveUp},
		{"ListJobs", testListJobs},
		{"LongKeys", testLongKeys},
		{"ConcurrentPutFiles", testConcurrentPutFiles},
		{"Signatures", testSignatures},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

const (
	repoID  = "org/model"
	commitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	commitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// seed records repoID with commits A and B.
func seed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.PutRepo(ctx, store.Repo{ID: repoID, Type: store.Model, Source: store.Upstream}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, Ref: "main"}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitB}))
}

// recent reports whether t was set by the store during this test.
func recent(t time.Time, since time.Time) bool {
	return !t.IsZero() && !t.Before(since.Add(-time.Second)) && !t.After(time.Now().Add(time.Second))
}

func testRepos(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Now()
	_, err := s.GetRepo(ctx, "org/none")
	wantErr(t, "GetRepo(unknown)", err, store.ErrNotFound)

	r := store.Repo{ID: "models/org/model", Type: store.Model, Source: store.Upstream,
		CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)} // ignored
	must(t, s.PutRepo(ctx, r))
	got, err := s.GetRepo(ctx, r.ID)
	must(t, err)
	if !recent(got.CreatedAt, start) {
		t.Fatalf("CreatedAt = %v, want the time of the first PutRepo", got.CreatedAt)
	}
	created := got.CreatedAt
	r.CreatedAt = created
	if got != r {
		t.Fatalf("GetRepo = %+v; want %+v", got, r)
	}
	// Put again updates, but the creation time stays.
	time.Sleep(2 * time.Millisecond)
	r.Source = store.Internal
	must(t, s.PutRepo(ctx, r))
	if got, _ := s.GetRepo(ctx, r.ID); got != r {
		t.Fatalf("after update GetRepo = %+v, want %+v", got, r)
	}
	// A dataset of the same name is another repository.
	d := store.Repo{ID: "datasets/org/model", Type: store.Dataset, Source: store.Internal}
	must(t, s.PutRepo(ctx, d))
	if got, _ := s.GetRepo(ctx, d.ID); got.Type != store.Dataset || got.Source != store.Internal {
		t.Fatalf("GetRepo(dataset) = %+v, want %+v", got, d)
	}
	if got, _ := s.GetRepo(ctx, r.ID); got.Type != store.Model {
		t.Fatalf("the dataset replaced the model: %+v", got)
	}

	for _, bad := range []store.Repo{
		{ID: "", Type: store.Model, Source: store.Upstream},
		{ID: "a/b", Type: "space", Source: store.Upstream},
		{ID: "a/b", Type: store.Model, Source: "elsewhere"},
		{ID: "a/\x00b", Type: store.Model, Source: store.Upstream},
		{ID: "a/\xffb", Type: store.Model, Source: store.Upstream},
		{ID: strings.Repeat("x", store.MaxIDLen+1), Type: store.Model, Source: store.Upstream},
	} {
		wantErr(t, fmt.Sprintf("PutRepo(%.40q)", bad.ID), s.PutRepo(ctx, bad), store.ErrInvalid)
	}
	must(t, s.PutRepo(ctx, store.Repo{ID: strings.Repeat("x", store.MaxIDLen), Type: store.Model, Source: store.Upstream}))
	_, err = s.GetRepo(ctx, "a/\x00b")
	wantErr(t, "GetRepo(NUL)", err, store.ErrNotFound)
}

func testListRepos(t *testing.T, s store.Store) {
	ctx := t.Context()
	repos, next, err := s.ListRepos(ctx, "", 0)
	if err != nil || len(repos) != 0 || next != "" {
		t.Fatalf("ListRepos(empty store) = %v, %q, %v", repos, next, err)
	}
	var want []string
	for i := range 57 {
		id := fmt.Sprintf("models/org%d/m%02d", i%4, i)
		if i%5 == 0 {
			id = fmt.Sprintf("datasets/org/d%02d", i)
		}
		switch i {
		case 56:
			id = "models/ørg/ü" // non-ASCII sorts after ASCII, bytewise
		case 55:
			id = "models/Org/Upper" // upper case before lower case
		case 54:
			id = "models/org-x/m" // punctuation counts
		case 53:
			id = "models/org_x/m"
		}
		typ := store.Model
		if strings.HasPrefix(id, "datasets/") {
			typ = store.Dataset
		}
		must(t, s.PutRepo(ctx, store.Repo{ID: id, Type: typ, Source: store.Upstream}))
		want = append(want, id)
	}
	sort.Strings(want)
	for _, limit := range []int{1, 10, 56, 57, 100} {
		page, _ := pageAll(t, limit, func(cursor string) ([]store.Repo, string, error) {
			return s.ListRepos(ctx, cursor, limit)
		})
		var got []string
		for _, r := range page {
			got = append(got, r.ID)
			if r.Type == "" || r.CreatedAt.IsZero() {
				t.Fatalf("listed repo %+v lacks type or creation time", r)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("limit %d: ListRepos pages (-want +got):\n%s", limit, diff)
		}
	}
}

func testRevisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "PutRevision(unknown repo)",
		s.PutRevision(ctx, store.Revision{RepoID: "org/none", Commit: commitA}), store.ErrNotFound)
	seed(t, s)

	before := time.Now().Add(-time.Minute)
	got, err := s.GetRevision(ctx, repoID, commitA)
	must(t, err)
	if got.Status != store.Pending || got.Ref != "main" || got.UpdatedAt.Before(before) {
		t.Fatalf("new revision = %+v, want pending on main with a current UpdatedAt", got)
	}
	_, err = s.GetRevision(ctx, repoID, "cccccccccccccccccccccccccccccccccccccccc")
	wantErr(t, "GetRevision(unknown)", err, store.ErrNotFound)

	c, err := s.ResolveRef(ctx, repoID, "main")
	if err != nil || c != commitA {
		t.Fatalf("ResolveRef(main) = %q, %v; want %s", c, err, commitA)
	}
	_, err = s.ResolveRef(ctx, repoID, "dev")
	wantErr(t, "ResolveRef(unknown)", err, store.ErrNotFound)

	// Approve A, then record it again as pending: the status must survive.
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitA, Status: store.Scanning}))
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitA, Status: store.Approved, Reason: "clean", PolicyVersion: "policy-1"}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, Status: store.Pending, Ref: "v1.0"}))
	got, err = s.GetRevision(ctx, repoID, commitA)
	must(t, err)
	if got.Status != store.Approved || got.Reason != "clean" || got.PolicyVersion != "policy-1" || got.Ref != "v1.0" {
		t.Fatalf("re-recorded revision = %+v, want approved/clean/policy-1 with ref v1.0", got)
	}
	// Recording without a ref keeps the old one.
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA}))
	if got, _ := s.GetRevision(ctx, repoID, commitA); got.Ref != "v1.0" {
		t.Fatalf("ref after re-record without ref = %q, want v1.0", got.Ref)
	}

	// The branch moves to B.
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitB, Ref: "main"}))
	if c, _ := s.ResolveRef(ctx, repoID, "main"); c != commitB {
		t.Fatalf("ResolveRef(main) after move = %q, want %s", c, commitB)
	}
	if c, _ := s.ResolveRef(ctx, repoID, "v1.0"); c != commitA {
		t.Fatalf("ResolveRef(v1.0) = %q, want %s", c, commitA)
	}

	// A new revision may be recorded with an explicit initial status, and
	// an explicit UpdatedAt is kept.
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	want := store.Revision{RepoID: repoID, Commit: "dddddddddddddddddddddddddddddddddddddddd",
		Status: store.Quarantined, Reason: "blocked by operator", PolicyVersion: "p2", UpdatedAt: at}
	must(t, s.PutRevision(ctx, want))
	got, err = s.GetRevision(ctx, repoID, want.Commit)
	must(t, err)
	if !recent(got.CreatedAt, before) {
		t.Errorf("CreatedAt = %v, want now", got.CreatedAt)
	}
	want.CreatedAt = got.CreatedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetRevision (-want +got):\n%s", diff)
	}

	wantErr(t, "PutRevision(bad status)",
		s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: "eeee", Status: "ok"}), store.ErrInvalid)
	wantErr(t, "PutRevision(no commit)", s.PutRevision(ctx, store.Revision{RepoID: repoID}), store.ErrInvalid)
}

func testStatusTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	wantErr(t, "SetStatus(unknown revision)",
		s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: "cccc", Status: store.Scanning}), store.ErrNotFound)

	steps := []struct {
		to store.Status
		ok bool
	}{
		{store.Approved, false}, // never approved without a scan
		{"bogus", false},
		{store.Scanning, true},
		{store.Quarantined, true},
		{store.Quarantined, true}, // same status: new reason
		{store.Approved, true},    // reviewer waiver
		{store.Pending, true},     // rescan under a new policy
		{store.Quarantined, true}, // operator block before scanning
		{store.Pending, true},
		{store.Scanning, true},
		{store.Pending, true}, // worker gave up
		{store.Scanning, true},
		{store.Approved, true},
		{store.Scanning, false}, // approved goes back through pending
	}
	cur := store.Pending
	for i, st := range steps {
		reason := fmt.Sprintf("step %d", i)
		err := s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitA, Status: st.to, Reason: reason, PolicyVersion: "p1"})
		if st.ok != (err == nil) {
			t.Fatalf("step %d: %s -> %s: error = %v, want ok=%v", i, cur, st.to, err, st.ok)
		}
		if !st.ok {
			wantErr(t, fmt.Sprintf("step %d", i), err, store.ErrInvalidTransition)
			if store.CanTransition(cur, st.to) {
				t.Errorf("CanTransition(%s, %s) = true, but SetStatus refused", cur, st.to)
			}
			continue
		}
		cur = st.to
		got, err := s.GetRevision(ctx, repoID, commitA)
		must(t, err)
		if got.Status != cur || got.Reason != reason || got.PolicyVersion != "p1" {
			t.Fatalf("step %d: revision = %+v, want %s/%s", i, got, cur, reason)
		}
	}
	// The other revision is untouched.
	if got, _ := s.GetRevision(ctx, repoID, commitB); got.Status != store.Pending {
		t.Fatalf("commit B status = %s, want pending", got.Status)
	}
}

func testFiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "PutFile(unknown revision)",
		s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA, Path: "x", SHA256: "00"}), store.ErrNotFound)
	seed(t, s)

	// In byte order: upper case before "_" before lower case (a natural
	// language collation would interleave them).
	files := []store.File{
		{Path: "README.md", Size: 1, SHA256: "c7", BlobSHA1: "b7"},
		{Path: "_meta/x", Size: 2, SHA256: "c8", BlobSHA1: "b8"},
		{Path: "config.json", Size: 10, SHA256: "c1", BlobSHA1: "b1"},
		{Path: "model.safetensors", Size: 5 << 30, SHA256: "c2", BlobSHA1: "b2", LFS: true},
		{Path: "onnx/model.onnx", Size: 3, SHA256: "c3", BlobSHA1: "b3", LFS: true},
		{Path: "onnx/tokenizer.json", Size: 4, SHA256: "c4", BlobSHA1: "b4"},
		{Path: "onnxruntime.txt", Size: 5, SHA256: "c5", BlobSHA1: "b5"},
		{Path: "日本語/ファイル.txt", Size: 6, SHA256: "c6", BlobSHA1: "b6"},
	}
	for i := range files {
		files[i].RepoID, files[i].Commit = repoID, commitA
		must(t, s.PutFile(ctx, files[i]))
	}
	// The same path in another commit is a different file.
	must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitB, Path: "config.json", Size: 99, SHA256: "other"}))

	got, next, err := s.ListFiles(ctx, repoID, commitA, "", "", 0)
	must(t, err)
	if next != "" {
		t.Errorf("single page: next = %q", next)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Fatalf("ListFiles (-want +got):\n%s", diff)
	}

	// A prefix is a string prefix, not a directory: "onnx" matches
	// onnxruntime.txt, "onnx/" does not.
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"onnx/", []string{"onnx/model.onnx", "onnx/tokenizer.json"}},
		{"onnx", []string{"onnx/model.onnx", "onnx/tokenizer.json", "onnxruntime.txt"}},
		{"日本語/", []string{"日本語/ファイル.txt"}},
		{"zzz", nil},
	} {
		got, _, err := s.ListFiles(ctx, repoID, commitA, tc.prefix, "", 0)
		must(t, err)
		if diff := cmp.Diff(tc.want, paths(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListFiles(prefix %q) (-want +got):\n%s", tc.prefix, diff)
		}
	}

	// Replacing a file.
	upd := files[2]
	upd.Size, upd.SHA256 = 11, "c1-new"
	must(t, s.PutFile(ctx, upd))
	got, _, err = s.ListFiles(ctx, repoID, commitA, "config", "", 0)
	must(t, err)
	if diff := cmp.Diff([]store.File{upd}, got); diff != "" {
		t.Fatalf("after replace (-want +got):\n%s", diff)
	}

	// An unknown revision lists nothing.
	got, next, err = s.ListFiles(ctx, repoID, "cccc", "", "", 0)
	if err != nil || len(got) != 0 || next != "" {
		t.Fatalf("ListFiles(unknown) = %v, %q, %v", got, next, err)
	}
	wantErr(t, "PutFile(no path)",
		s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA}), store.ErrInvalid)
}

// pageAll follows list's cursors from the start until it returns none,
// checking that no page holds more than limit items and that only the last
// may hold fewer. It returns every item and the number of pages.
func pageAll[T any](t *testing.T, limit int, list func(cursor string) ([]T, string, error)) ([]T, int) {
	t.Helper()
	var all []T
	cursor := ""
	for pages := 1; ; pages++ {
		page, next, err := list(cursor)
		must(t, err)
		if len(page) > limit {
			t.Fatalf("limit %d: page of %d", limit, len(page))
		}
		all = append(all, page...)
		if next == "" {
			return all, pages
		}
		if len(page) != limit {
			t.Fatalf("limit %d: short page of %d with a next cursor", limit, len(page))
		}
		if pages > 1<<16 {
			t.Fatalf("limit %d: still a next cursor after %d pages", limit, pages)
		}
		cursor = next
	}
}

func paths(fs []store.File) []string {
	var p []string
	for _, f := range fs {
		p = append(p, f.Path)
	}
	return p
}

func testPagination(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	var want []string
	for i := range 1234 {
		p := fmt.Sprintf("shards/%05d.parquet", i)
		if i%3 == 0 {
			p = fmt.Sprintf("other/%05d.bin", i)
		}
		must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA, Path: p, Size: int64(i), SHA256: "x"}))
		if i%3 != 0 {
			want = append(want, p)
		}
	}
	sort.Strings(want)
	for _, limit := range []int{1, 7, 100, len(want), len(want) + 1} {
		files, pages := pageAll(t, limit, func(cursor string) ([]store.File, string, error) {
			return s.ListFiles(ctx, repoID, commitA, "shards/", cursor, limit)
		})
		got := paths(files)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("limit %d: paginated listing (-want +got):\n%s", limit, diff)
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages && pages != wantPages+1 {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
	// A cursor before the prefix starts at the prefix; one past it is empty.
	page, _, err := s.ListFiles(ctx, repoID, commitA, "shards/", "other/", 2)
	must(t, err)
	if diff := cmp.Diff(want[:2], paths(page)); diff != "" {
		t.Errorf("cursor before prefix (-want +got):\n%s", diff)
	}
	page, next, err := s.ListFiles(ctx, repoID, commitA, "shards/", "zzz", 2)
	if err != nil || len(page) != 0 || next != "" {
		t.Errorf("cursor after prefix = %v, %q, %v; want nothing", paths(page), next, err)
	}

	// Limits are capped.
	for i := range store.MaxListLimit + 10 - 1234 {
		must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA, Path: fmt.Sprintf("z/%06d", i), SHA256: "x"}))
	}
	page, next, err = s.ListFiles(ctx, repoID, commitA, "", "", store.MaxListLimit*10)
	must(t, err)
	if len(page) != store.MaxListLimit || next == "" {
		t.Fatalf("huge limit: %d files, next %q; want %d and a cursor", len(page), next, store.MaxListLimit)
	}
	page, _, err = s.ListFiles(ctx, repoID, commitA, "", "", -1)
	must(t, err)
	if len(page) != store.DefaultListLimit {
		t.Fatalf("default limit: %d files, want %d", len(page), store.DefaultListLimit)
	}
}

func testFindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	_, err := s.Findings(ctx, repoID, commitA)
	wantErr(t, "Findings(never scanned)", err, store.ErrNotFound)
	wantErr(t, "PutFindings(unknown revision)", s.PutFindings(ctx, repoID, "cccc", nil), store.ErrNotFound)

	fs := []finding.Finding{
		{RuleID: "pickle-global", Severity: finding.Critical, Title: "t", Path: "pytorch_model.bin",
			Member: "archive/data.pkl", Offset: 12, Message: "os.system",
			Evidence: map[string]string{"global": "os.system"}, ATLAS: []string{"AML.T0011.000"}, Remediation: "r"},
		{RuleID: "lfs-mismatch", Severity: finding.High, Path: "x", ATLAS: []string{}},
	}
	must(t, s.PutFindings(ctx, repoID, commitA, fs))
	got, err := s.Findings(ctx, repoID, commitA)
	must(t, err)
	if diff := cmp.Diff(fs, got); diff != "" {
		t.Fatalf("Findings (-want +got):\n%s", diff)
	}
	// A rescan replaces; a clean scan is an empty list, not "not found".
	must(t, s.PutFindings(ctx, repoID, commitA, nil))
	got, err = s.Findings(ctx, repoID, commitA)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("clean Findings = %#v, %v; want empty non-nil", got, err)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{ID: "tok1", Hash: store.HashToken("secret-1"), Owner: "alice",
		Scopes: []string{"read", "write"}, Namespaces: []string{"org", "team"},
		Expires: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
	must(t, s.PutToken(ctx, tok))
	got, err := s.TokenByHash(ctx, store.HashToken("secret-1"))
	must(t, err)
	tok.Kind = store.TokenPersonal // the default
	if !recent(got.CreatedAt, time.Now().Add(-time.Minute)) {
		t.Errorf("token CreatedAt = %v, want now", got.CreatedAt)
	}
	tok.CreatedAt = got.CreatedAt
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Fatalf("TokenByHash (-want +got):\n%s", diff)
	}
	_, err = s.TokenByHash(ctx, store.HashToken("wrong"))
	wantErr(t, "TokenByHash(wrong secret)", err, store.ErrNotFound)
	// The secret itself is not a valid lookup key.
	_, err = s.TokenByHash(ctx, "secret-1")
	wantErr(t, "TokenByHash(secret)", err, store.ErrNotFound)

	never := store.Token{ID: "tok2", Hash: store.HashToken("secret-2"), Owner: "ci"}
	must(t, s.PutToken(ctx, never))
	got, err = s.TokenByHash(ctx, never.Hash)
	must(t, err)
	if !got.Expires.IsZero() || got.Owner != "ci" || len(got.Scopes) != 0 {
		t.Fatalf("non-expiring token = %+v", got)
	}

	expired := store.Token{ID: "tok3", Hash: store.HashToken("secret-3"), Owner: "bob",
		Expires: time.Now().Add(-time.Second)}
	must(t, s.PutToken(ctx, expired))
	_, err = s.TokenByHash(ctx, expired.Hash)
	wantErr(t, "TokenByHash(expired)", err, store.ErrNotFound)

	must(t, s.DeleteToken(ctx, "tok1"))
	_, err = s.TokenByHash(ctx, tok.Hash)
	wantErr(t, "TokenByHash(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteToken(again)", s.DeleteToken(ctx, "tok1"), store.ErrNotFound)
	wantErr(t, "PutToken(no hash)", s.PutToken(ctx, store.Token{ID: "x"}), store.ErrInvalid)
}

func testJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	j, err := s.ClaimJob(ctx, "w1", time.Minute)
	if err != nil || j != nil {
		t.Fatalf("ClaimJob(empty queue) = %+v, %v; want nil, nil", j, err)
	}
	id1, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	dup, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	if dup != id1 {
		t.Fatalf("enqueue of live duplicate = %d, want %d", dup, id1)
	}
	id2, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitB})
	must(t, err)
	if id2 == id1 {
		t.Fatal("different revisions got the same job")
	}

	got, err := s.GetJob(ctx, id1)
	must(t, err)
	if got.State != store.JobQueued || got.Attempts != 0 || got.CreatedAt.IsZero() {
		t.Fatalf("queued job = %+v", got)
	}

	// Oldest first.
	c1, err := s.ClaimJob(ctx, "w1", time.Minute)
	must(t, err)
	if c1 == nil || c1.ID != id1 || c1.State != store.JobRunning || c1.Worker != "w1" || c1.Attempts != 1 ||
		c1.Kind != "scan" || c1.RepoID != repoID || c1.Commit != commitA || time.Until(c1.LeaseUntil) < 50*time.Second {
		t.Fatalf("first claim = %+v", c1)
	}
	// Still running: enqueueing the same work is a no-op.
	if dup, _ := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA}); dup != id1 {
		t.Fatalf("enqueue while running = %d, want %d", dup, id1)
	}
	c2, err := s.ClaimJob(ctx, "w2", time.Minute)
	must(t, err)
	if c2 == nil || c2.ID != id2 {
		t.Fatalf("second claim = %+v, want job %d", c2, id2)
	}
	if c3, err := s.ClaimJob(ctx, "w3", time.Minute); err != nil || c3 != nil {
		t.Fatalf("claim with all leased = %+v, %v", c3, err)
	}

	must(t, s.FinishJob(ctx, id1, "w1", nil))
	must(t, s.FinishJob(ctx, id2, "w2", errors.New("scanner crashed")))
	if got, _ := s.GetJob(ctx, id1); got.State != store.JobDone || got.Error != "" {
		t.Fatalf("done job = %+v", got)
	}
	if got, _ := s.GetJob(ctx, id2); got.State != store.JobFailed || got.Error != "scanner crashed" {
		t.Fatalf("failed job = %+v", got)
	}
	wantErr(t, "FinishJob(twice)", s.FinishJob(ctx, id1, "w1", nil), store.ErrNotFound)
	wantErr(t, "FinishJob(unknown)", s.FinishJob(ctx, 999999, "w1", nil), store.ErrNotFound)
	_, err = s.GetJob(ctx, 999999)
	wantErr(t, "GetJob(unknown)", err, store.ErrNotFound)

	// Finished work can be enqueued again (a rescan).
	id3, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	if id3 == id1 {
		t.Fatal("re-enqueue after done returned the finished job")
	}
	// Another kind for the same revision is separate work.
	id4, err := s.EnqueueJob(ctx, store.Job{Kind: "verify", RepoID: repoID, Commit: commitA})
	must(t, err)
	if id4 == id3 {
		t.Fatal("different kinds share a job")
	}
	_, err = s.EnqueueJob(ctx, store.Job{Kind: "scan"})
	wantErr(t, "EnqueueJob(no revision)", err, store.ErrInvalid)
	_, err = s.ClaimJob(ctx, "", time.Minute)
	wantErr(t, "ClaimJob(no worker)", err, store.ErrInvalid)
}

func testConcurrentClaim(t *testing.T, s store.Store) {
	ctx := t.Context()
	const jobs, workers = 200, 8
	for i := range jobs {
		_, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: fmt.Sprintf("%040d", i)})
		must(t, err)
	}
	if claimed := DrainJobs(t, []store.Store{s}, workers); len(claimed) != jobs {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), jobs)
	}
}

// DrainJobs runs workersPerStore workers on each of stores (handles of one
// database), each claiming and finishing jobs until the queue is empty. It
// reports errors and any job claimed twice, and returns the worker that
// claimed each job.
func DrainJobs(t *testing.T, stores []store.Store, workersPerStore int) map[int64]string {
	t.Helper()
	ctx := t.Context()
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
		errs    = make(chan error, len(stores)*workersPerStore)
	)
	for h, s := range stores {
		for w := range workersPerStore {
			worker := fmt.Sprintf("s%d-w%d", h, w)
			wg.Go(func() {
				for {
					j, err := s.ClaimJob(ctx, worker, time.Minute)
					if err != nil {
						errs <- fmt.Errorf("%s: %w", worker, err)
						return
					}
					if j == nil {
						return
					}
					mu.Lock()
					prev, dup := claimed[j.ID]
					if !dup {
						claimed[j.ID] = worker
					}
					mu.Unlock()
					if dup {
						errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, worker)
						return
					}
					if err := s.FinishJob(ctx, j.ID, worker, nil); err != nil {
						errs <- fmt.Errorf("%s: %w", worker, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return claimed
}

func testExpiredLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	j, err := s.ClaimJob(ctx, "dead-worker", 300*time.Millisecond)
	must(t, err)
	if j == nil || j.ID != id {
		t.Fatalf("claim = %+v", j)
	}
	again, err := s.ClaimJob(ctx, "w2", time.Minute)
	must(t, err)
	// Only a claim that returned before the lease ran out proves a reclaim
	// too early (a slow machine may take longer than the lease).
	if again != nil && time.Now().Before(j.LeaseUntil) {
		t.Fatalf("job reclaimed before its lease expired: %+v", again)
	}
	if again != nil {
		t.Skip("machine too slow: the lease ran out before the second claim")
	}
	time.Sleep(time.Until(j.LeaseUntil) + 50*time.Millisecond)
	again, err = s.ClaimJob(ctx, "w2", time.Minute)
	must(t, err)
	if again == nil || again.ID != id || again.Worker != "w2" || again.Attempts != 2 {
		t.Fatalf("reclaim after expiry = %+v, want job %d for w2 on attempt 2", again, id)
	}
	wantErr(t, "FinishJob(by the worker whose lease expired)", s.FinishJob(ctx, id, "dead-worker", nil), store.ErrNotFound)
	wantErr(t, "RenewLease(by the worker whose lease expired)", s.RenewLease(ctx, id, "dead-worker", time.Minute), store.ErrNotFound)
	must(t, s.FinishJob(ctx, id, "w2", nil))
	if got, _ := s.GetJob(ctx, id); got.State != store.JobDone {
		t.Fatalf("state = %s", got.State)
	}
}
