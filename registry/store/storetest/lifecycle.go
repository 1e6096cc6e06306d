package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aigis-sec/aigis/registry/store"
)

// tick makes the next store timestamp differ from the last one, so tests
// of "newest first" do not depend on the clock's resolution.
func tick() { time.Sleep(2 * time.Millisecond) }

// ignoreTimes compares records without their store-set timestamps.
var ignoreTimes = cmpopts.IgnoreTypes(time.Time{})

func testRevisionLists(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Now()
	must(t, s.PutRepo(ctx, store.Repo{ID: repoID, Type: store.Model, Source: store.Upstream}))
	must(t, s.PutRepo(ctx, store.Repo{ID: "datasets/org/other", Type: store.Dataset, Source: store.Upstream}))
	if revs, err := s.ListRevisions(ctx, repoID); err != nil || len(revs) != 0 {
		t.Fatalf("ListRevisions(no revisions) = %v, %v", revs, err)
	}
	commits := []string{commitA, commitB, "cccccccccccccccccccccccccccccccccccccccc"}
	for _, c := range commits {
		must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: c, CreatedBy: "system:pull-through",
			RulesetVersion: "rules-7", PolicyVersion: "p1"}))
		tick()
	}
	must(t, s.PutRevision(ctx, store.Revision{RepoID: "datasets/org/other", Commit: commitA, CreatedBy: "user:alice"}))

	revs, err := s.ListRevisions(ctx, repoID)
	must(t, err)
	var got []string
	for _, r := range revs {
		got = append(got, r.Commit)
		if r.CreatedBy != "system:pull-through" || r.RulesetVersion != "rules-7" || !recent(r.CreatedAt, start) {
			t.Errorf("listed revision %+v: want CreatedBy, RulesetVersion and a current CreatedAt", r)
		}
	}
	if diff := cmp.Diff([]string{commits[2], commits[1], commits[0]}, got); diff != "" {
		t.Fatalf("ListRevisions, newest first (-want +got):\n%s", diff)
	}
	// Re-recording does not change who created it or when.
	first := revs[2]
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, CreatedBy: "user:mallory", Ref: "main"}))
	again, err := s.GetRevision(ctx, repoID, commitA)
	must(t, err)
	if again.CreatedBy != first.CreatedBy || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("re-recorded revision = %+v, want creator and time of %+v", again, first)
	}

	// The queue: oldest UpdatedAt first, across repositories, limited.
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitB, Status: store.Scanning}))
	tick()
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitB, Status: store.Quarantined, Reason: "pickle"}))
	tick()
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: "datasets/org/other", Commit: commitA, Status: store.Quarantined, Reason: "secrets"}))
	tick()
	must(t, s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitA, Status: store.Quarantined, Reason: "operator"}))
	q, err := s.ListRevisionsByStatus(ctx, store.Quarantined, 0)
	must(t, err)
	var queue []string
	for _, r := range q {
		queue = append(queue, r.RepoID+"@"+r.Commit[:1]+" "+r.Reason)
	}
	want := []string{repoID + "@b pickle", "datasets/org/other@a secrets", repoID + "@a operator"}
	if diff := cmp.Diff(want, queue); diff != "" {
		t.Fatalf("ListRevisionsByStatus(quarantined), oldest first (-want +got):\n%s", diff)
	}
	q, err = s.ListRevisionsByStatus(ctx, store.Quarantined, 2)
	must(t, err)
	if len(q) != 2 || q[0].Commit != commitB {
		t.Fatalf("ListRevisionsByStatus(limit 2) = %+v", q)
	}
	p, err := s.ListRevisionsByStatus(ctx, store.Pending, 0)
	must(t, err)
	if len(p) != 1 || p[0].Commit != commits[2] {
		t.Fatalf("ListRevisionsByStatus(pending) = %+v, want only %s", p, commits[2])
	}
	_, err = s.ListRevisionsByStatus(ctx, "bogus", 0)
	wantErr(t, "ListRevisionsByStatus(bogus)", err, store.ErrInvalid)
}

func testRefs(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Now()
	seed(t, s) // main -> A
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitB, Ref: "v1.0"}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, Ref: "dev"}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitB, Ref: "main"}))
	refs, err := s.ListRefs(ctx, repoID)
	must(t, err)
	want := []store.Ref{{Name: "dev", Commit: commitA}, {Name: "main", Commit: commitB}, {Name: "v1.0", Commit: commitB}}
	if diff := cmp.Diff(want, refs, ignoreTimes); diff != "" {
		t.Fatalf("ListRefs (-want +got):\n%s", diff)
	}
	for _, r := range refs {
		if !recent(r.UpdatedAt, start) {
			t.Errorf("ref %s UpdatedAt = %v", r.Name, r.UpdatedAt)
		}
	}
	must(t, s.DeleteRef(ctx, repoID, "dev"))
	wantErr(t, "DeleteRef(again)", s.DeleteRef(ctx, repoID, "dev"), store.ErrNotFound)
	wantErr(t, "DeleteRef(other repo)", s.DeleteRef(ctx, "org/none", "main"), store.ErrNotFound)
	_, err = s.ResolveRef(ctx, repoID, "dev")
	wantErr(t, "ResolveRef(deleted)", err, store.ErrNotFound)
	// The revision stays.
	if _, err := s.GetRevision(ctx, repoID, commitA); err != nil {
		t.Fatalf("revision gone with its ref: %v", err)
	}
	refs, err = s.ListRefs(ctx, repoID)
	must(t, err)
	if len(refs) != 2 {
		t.Fatalf("after delete ListRefs = %+v", refs)
	}
	if refs, err := s.ListRefs(ctx, "org/none"); err != nil || len(refs) != 0 {
		t.Fatalf("ListRefs(unknown repo) = %v, %v", refs, err)
	}
}

func testStatusHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.PutRepo(ctx, store.Repo{ID: repoID, Type: store.Model, Source: store.Internal}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, CreatedBy: "user:alice",
		PolicyVersion: "p1", RulesetVersion: "r1"}))
	changes := []store.StatusChange{
		{Status: store.Scanning, Actor: "system:scanner", PolicyVersion: "p1", RulesetVersion: "r1"},
		{Status: store.Quarantined, Reason: "pickle imports os.system", Actor: "system:scanner", PolicyVersion: "p1", RulesetVersion: "r1"},
		{Status: store.Approved, Reason: "waived: test fixture", Actor: "user:bob", PolicyVersion: "p1", RulesetVersion: "r1"},
		{Status: store.Pending, Reason: "new rules", Actor: "system:rescan", PolicyVersion: "p2", RulesetVersion: "r2"},
	}
	for _, c := range changes {
		c.RepoID, c.Commit = repoID, commitA
		must(t, s.SetStatus(ctx, c))
		tick()
	}
	// A refused change is not history.
	wantErr(t, "SetStatus(pending -> approved)",
		s.SetStatus(ctx, store.StatusChange{RepoID: repoID, Commit: commitA, Status: store.Approved, Actor: "user:mallory"}),
		store.ErrInvalidTransition)
	// Re-recording is not a status change either.
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repoID, Commit: commitA, Status: store.Approved}))

	got, err := s.StatusHistory(ctx, repoID, commitA)
	must(t, err)
	want := append([]store.StatusChange{{Status: store.Pending, Actor: "user:alice", PolicyVersion: "p1", RulesetVersion: "r1"}}, changes...)
	for i := range want {
		want[i].RepoID, want[i].Commit = repoID, commitA
	}
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Fatalf("StatusHistory, oldest first (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.After(got[i-1].At) {
			t.Errorf("history entry %d at %v, not after entry %d at %v", i, got[i].At, i-1, got[i-1].At)
		}
	}
	rev, err := s.GetRevision(ctx, repoID, commitA)
	must(t, err)
	if rev.Status != store.Pending || rev.RulesetVersion != "r2" || rev.PolicyVersion != "p2" {
		t.Fatalf("revision after history = %+v, want pending under p2/r2", rev)
	}
	if h, err := s.StatusHistory(ctx, repoID, commitB); err != nil || len(h) != 0 {
		t.Fatalf("StatusHistory(unknown revision) = %v, %v", h, err)
	}
}

func testPutFiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	var files []store.File
	for i := range 1203 { // more than one INSERT's worth
		files = append(files, store.File{RepoID: repoID, Commit: commitA, Path: fmt.Sprintf("shard-%05d.parquet", i),
			Size: int64(i), SHA256: fmt.Sprintf("%064x", i), BlobSHA1: fmt.Sprintf("%040x", i), LFS: i%2 == 0})
	}
	// The same path twice: the last one wins.
	files = append(files, store.File{RepoID: repoID, Commit: commitA, Path: "shard-00000.parquet", Size: 42, SHA256: "last"})
	must(t, s.PutFiles(ctx, files))
	got, _, err := s.ListFiles(ctx, repoID, commitA, "", "", store.MaxListLimit)
	must(t, err)
	want := append([]store.File{files[len(files)-1]}, files[1:len(files)-1]...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after PutFiles (-want +got):\n%s", diff)
	}
	must(t, s.PutFiles(ctx, nil))

	// All or nothing: one file of an unknown revision, or one invalid
	// file, and none is stored.
	for name, bad := range map[string]store.File{
		"unknown revision": {RepoID: repoID, Commit: "cccc", Path: "x", SHA256: "00"},
		"negative size":    {RepoID: repoID, Commit: commitB, Path: "x", Size: -1},
		"NUL in path":      {RepoID: repoID, Commit: commitB, Path: "a\x00b"},
		"invalid UTF-8":    {RepoID: repoID, Commit: commitB, Path: "a\xffb"},
	} {
		batch := []store.File{
			{RepoID: repoID, Commit: commitB, Path: "good-1", SHA256: "g1"},
			bad,
			{RepoID: repoID, Commit: commitB, Path: "good-2", SHA256: "g2"},
		}
		err := s.PutFiles(ctx, batch)
		if err == nil {
			t.Errorf("PutFiles with %s succeeded", name)
		}
		if fs, _, _ := s.ListFiles(ctx, repoID, commitB, "", "", 0); len(fs) != 0 {
			t.Errorf("PutFiles with %s stored %v", name, paths(fs))
		}
	}
	wantErr(t, "PutFiles(unknown revision)",
		s.PutFiles(ctx, []store.File{{RepoID: repoID, Commit: "cccc", Path: "x"}}), store.ErrNotFound)
	wantErr(t, "PutFiles(NUL)",
		s.PutFiles(ctx, []store.File{{RepoID: repoID, Commit: commitB, Path: "a\x00"}}), store.ErrInvalid)
	_, _, err = s.ListFiles(ctx, repoID, commitA, "\xff", "", 0)
	wantErr(t, "ListFiles(invalid UTF-8 prefix)", err, store.ErrInvalid)

	// Prefixes ending in the highest rune of a byte length still bound the
	// listing correctly.
	must(t, s.PutFiles(ctx, []store.File{
		{RepoID: repoID, Commit: commitB, Path: "\u07ff/a"},
		{RepoID: repoID, Commit: commitB, Path: "\u07ff\u07ff"},
		{RepoID: repoID, Commit: commitB, Path: "\u0800"},
		{RepoID: repoID, Commit: commitB, Path: "\U0010ffff\U0010ffff"},
		{RepoID: repoID, Commit: commitB, Path: "\ud7ff-x"},
		{RepoID: repoID, Commit: commitB, Path: "\ue000"},
	}))
	for prefix, want := range map[string][]string{
		"\u07ff":       {"\u07ff/a", "\u07ff\u07ff"},
		"\U0010ffff":   {"\U0010ffff\U0010ffff"},
		"\ud7ff":       {"\ud7ff-x"},
		"\u0800":       {"\u0800"},
		"\u07ff\u07fe": nil,
	} {
		got, _, err := s.ListFiles(ctx, repoID, commitB, prefix, "", 0)
		must(t, err)
		if diff := cmp.Diff(want, paths(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListFiles(prefix %+q) (-want +got):\n%s", prefix, diff)
		}
	}
}

func testBlobReferenced(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	digest := strings.Repeat("ab", 32)
	if ok, err := s.BlobReferenced(ctx, digest); err != nil || ok {
		t.Fatalf("BlobReferenced(unused) = %v, %v", ok, err)
	}
	must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA, Path: "a.bin", SHA256: digest}))
	must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitB, Path: "b.bin", SHA256: digest}))
	if ok, err := s.BlobReferenced(ctx, digest); err != nil || !ok {
		t.Fatalf("BlobReferenced(used twice) = %v, %v", ok, err)
	}
	// Replacing both files with other content frees the blob.
	must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitA, Path: "a.bin", SHA256: "other"}))
	if ok, _ := s.BlobReferenced(ctx, digest); !ok {
		t.Fatal("blob still named by commit B reported unreferenced")
	}
	must(t, s.PutFile(ctx, store.File{RepoID: repoID, Commit: commitB, Path: "b.bin", SHA256: "other"}))
	if ok, err := s.BlobReferenced(ctx, digest); err != nil || ok {
		t.Fatalf("BlobReferenced(replaced everywhere) = %v, %v", ok, err)
	}
}

func testApprovals(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	wantErr(t, "AddApproval(unknown revision)",
		s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: "cccc", Approver: "user:bob"}), store.ErrNotFound)
	wantErr(t, "AddApproval(no approver)",
		s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: commitA}), store.ErrInvalid)
	if as, err := s.Approvals(ctx, repoID, commitA); err != nil || len(as) != 0 {
		t.Fatalf("Approvals(none) = %v, %v", as, err)
	}

	must(t, s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: commitA, Approver: "user:bob", Comment: "reviewed the pickle"}))
	tick()
	// Four eyes: the same reviewer approving twice is still one approval,
	// and the first one (its comment and time) is kept.
	must(t, s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: commitA, Approver: "user:bob", Comment: "again"}))
	as, err := s.Approvals(ctx, repoID, commitA)
	must(t, err)
	if len(as) != 1 || as[0].Comment != "reviewed the pickle" {
		t.Fatalf("after a repeated approval: %+v, want one approval by bob with the first comment", as)
	}
	tick()
	must(t, s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: commitA, Approver: "user:alice"}))
	must(t, s.AddApproval(ctx, store.Approval{RepoID: repoID, Commit: commitB, Approver: "user:carol"}))
	as, err = s.Approvals(ctx, repoID, commitA)
	must(t, err)
	want := []store.Approval{
		{RepoID: repoID, Commit: commitA, Approver: "user:bob", Comment: "reviewed the pickle"},
		{RepoID: repoID, Commit: commitA, Approver: "user:alice"},
	}
	if diff := cmp.Diff(want, as, ignoreTimes); diff != "" {
		t.Fatalf("Approvals, oldest first (-want +got):\n%s", diff)
	}
	if !as[1].At.After(as[0].At) {
		t.Errorf("approval times %v, %v not increasing", as[0].At, as[1].At)
	}
}

func testAliases(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	wantErr(t, "SetAlias(unknown revision)",
		s.SetAlias(ctx, store.AliasChange{RepoID: repoID, Alias: "production", Commit: "cccc"}), store.ErrNotFound)
	wantErr(t, "SetAlias(no alias)",
		s.SetAlias(ctx, store.AliasChange{RepoID: repoID, Commit: commitA}), store.ErrInvalid)

	beforeAll := time.Now()
	tick()
	must(t, s.SetAlias(ctx, store.AliasChange{RepoID: repoID, Alias: "production", Commit: commitA, Actor: "user:alice", Reason: "first release"}))
	tick()
	between := time.Now()
	tick()
	must(t, s.SetAlias(ctx, store.AliasChange{RepoID: repoID, Alias: "staging", Commit: commitB, Actor: "sa:ci"}))
	must(t, s.SetAlias(ctx, store.AliasChange{RepoID: repoID, Alias: "production", Commit: commitB, Actor: "user:bob", Reason: "promote"}))
	tick()
	after := time.Now()

	cur, err := s.Aliases(ctx, repoID)
	must(t, err)
	want := []store.AliasChange{
		{RepoID: repoID, Alias: "production", Commit: commitB, Actor: "user:bob", Reason: "promote"},
		{RepoID: repoID, Alias: "staging", Commit: commitB, Actor: "sa:ci"},
	}
	if diff := cmp.Diff(want, cur, ignoreTimes); diff != "" {
		t.Fatalf("Aliases (-want +got):\n%s", diff)
	}
	hist, err := s.AliasHistory(ctx, repoID, "production")
	must(t, err)
	wantHist := []store.AliasChange{
		{RepoID: repoID, Alias: "production", Commit: commitB, Actor: "user:bob", Reason: "promote"},
		{RepoID: repoID, Alias: "production", Commit: commitA, Actor: "user:alice", Reason: "first release"},
	}
	if diff := cmp.Diff(wantHist, hist, ignoreTimes); diff != "" {
		t.Fatalf("AliasHistory, newest first (-want +got):\n%s", diff)
	}

	_, err = s.AliasAt(ctx, repoID, "production", beforeAll)
	wantErr(t, "AliasAt(before the first change)", err, store.ErrNotFound)
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"between", between, commitA},
		{"after", after, commitB},
		{"exactly at the first change", hist[1].At, commitA},
		{"exactly at the second change", hist[0].At, commitB},
		{"just before the second change", hist[0].At.Add(-time.Nanosecond), commitA},
	} {
		got, err := s.AliasAt(ctx, repoID, "production", tc.at)
		if err != nil || got.Commit != tc.want {
			t.Errorf("AliasAt(%s) = %+v, %v; want commit %s", tc.name, got, err, tc.want[:1])
		}
	}
	_, err = s.AliasAt(ctx, repoID, "canary", after)
	wantErr(t, "AliasAt(unknown alias)", err, store.ErrNotFound)
}

func testTokenLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Now()
	alice := store.Token{ID: "t-alice", Hash: store.HashToken("s1"), Owner: "user:alice", Name: "laptop",
		Kind: store.TokenPersonal, Prefix: "aigis_pat_AbC1", Scopes: []string{"read"}}
	ci := store.Token{ID: "t-ci", Hash: store.HashToken("s2"), Owner: "sa:ci", Name: "pipeline",
		Kind: store.TokenService, Prefix: "aigis_sat_XyZ9", Scopes: []string{"read", "write"}, Namespaces: []string{"acme/*"}}
	old := store.Token{ID: "t-old", Hash: store.HashToken("s3"), Owner: "user:alice", Name: "expired",
		Expires: time.Now().Add(-time.Hour)}
	for _, tok := range []store.Token{alice, ci, old} {
		must(t, s.PutToken(ctx, tok))
		tick()
	}
	wantErr(t, "PutToken(bad kind)", s.PutToken(ctx, store.Token{ID: "x", Hash: "h", Kind: "root"}), store.ErrInvalid)

	all, err := s.ListTokens(ctx, "")
	must(t, err)
	var ids []string
	for _, tok := range all {
		ids = append(ids, tok.ID)
		if !recent(tok.CreatedAt, start) {
			t.Errorf("token %s CreatedAt = %v", tok.ID, tok.CreatedAt)
		}
	}
	if diff := cmp.Diff([]string{"t-alice", "t-ci", "t-old"}, ids); diff != "" {
		t.Fatalf("ListTokens(all), oldest first (-want +got):\n%s", diff)
	}
	mine, err := s.ListTokens(ctx, "user:alice")
	must(t, err)
	if len(mine) != 2 || mine[0].Name != "laptop" || mine[0].Prefix != "aigis_pat_AbC1" || mine[1].ID != "t-old" {
		t.Fatalf("ListTokens(alice) = %+v, want laptop and the expired one", mine)
	}
	if got, _ := s.ListTokens(ctx, "sa:ci"); len(got) != 1 || got[0].Kind != store.TokenService ||
		!cmp.Equal(got[0].Namespaces, []string{"acme/*"}) {
		t.Fatalf("ListTokens(ci) = %+v", got)
	}

	used := time.Date(2026, 5, 1, 10, 0, 0, 123000, time.UTC)
	must(t, s.TouchToken(ctx, "t-ci", used))
	got, err := s.TokenByHash(ctx, ci.Hash)
	must(t, err)
	if !got.LastUsed.Equal(used) {
		t.Fatalf("LastUsed = %v, want %v", got.LastUsed, used)
	}
	wantErr(t, "TouchToken(unknown)", s.TouchToken(ctx, "nope", used), store.ErrNotFound)

	// Revoked: unseen by TokenByHash, still listed as revoked, and a
	// replace does not bring it back.
	must(t, s.RevokeToken(ctx, "t-ci"))
	_, err = s.TokenByHash(ctx, ci.Hash)
	wantErr(t, "TokenByHash(revoked)", err, store.ErrNotFound)
	must(t, s.PutToken(ctx, ci))
	_, err = s.TokenByHash(ctx, ci.Hash)
	wantErr(t, "TokenByHash(revoked, then put again)", err, store.ErrNotFound)
	listed, err := s.ListTokens(ctx, "sa:ci")
	must(t, err)
	if len(listed) != 1 || !listed[0].Revoked || !listed[0].LastUsed.Equal(used) {
		t.Fatalf("revoked token listed as %+v, want revoked with its last use kept", listed)
	}
	must(t, s.RevokeToken(ctx, "t-ci")) // revoking twice is fine
	wantErr(t, "RevokeToken(unknown)", s.RevokeToken(ctx, "nope"), store.ErrNotFound)

	// The other token still works; the expired one does not.
	if _, err := s.TokenByHash(ctx, alice.Hash); err != nil {
		t.Fatalf("TokenByHash(alice) after revoking ci: %v", err)
	}
	_, err = s.TokenByHash(ctx, old.Hash)
	wantErr(t, "TokenByHash(expired)", err, store.ErrNotFound)
}

func testRoleBindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	bindings := []store.RoleBinding{
		{Principal: "user:alice", Namespace: "acme/*", Role: "maintainer"},
		{Principal: "group:ml-team", Namespace: "acme/bert", Role: "reader"},
		{Principal: "group:ml-team", Namespace: "*", Role: "reader"},
		{Principal: "sa:ci", Namespace: "acme/*", Role: "publisher"},
	}
	for _, b := range bindings {
		must(t, s.PutRoleBinding(ctx, b))
	}
	must(t, s.PutRoleBinding(ctx, bindings[0])) // idempotent
	wantErr(t, "PutRoleBinding(no role)",
		s.PutRoleBinding(ctx, store.RoleBinding{Principal: "user:x", Namespace: "*"}), store.ErrInvalid)

	all, err := s.ListRoleBindings(ctx)
	must(t, err)
	want := []store.RoleBinding{bindings[2], bindings[1], bindings[3], bindings[0]} // by principal, namespace
	if diff := cmp.Diff(want, all); diff != "" {
		t.Fatalf("ListRoleBindings (-want +got):\n%s", diff)
	}
	got, err := s.RoleBindings(ctx, []string{"user:alice", "group:ml-team", "group:nobody"})
	must(t, err)
	if diff := cmp.Diff([]store.RoleBinding{bindings[2], bindings[1], bindings[0]}, got); diff != "" {
		t.Fatalf("RoleBindings(alice and her groups) (-want +got):\n%s", diff)
	}
	if got, err := s.RoleBindings(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("RoleBindings(nobody) = %v, %v", got, err)
	}

	must(t, s.DeleteRoleBinding(ctx, bindings[0]))
	wantErr(t, "DeleteRoleBinding(again)", s.DeleteRoleBinding(ctx, bindings[0]), store.ErrNotFound)
	got, err = s.RoleBindings(ctx, []string{"user:alice"})
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("after delete RoleBindings(alice) = %+v", got)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := time.Now()
	live := store.Session{IDHash: store.HashToken("session-1"), Principal: "user:alice",
		Groups: []string{"ml-team", "admins"}, Expires: time.Now().Add(time.Hour)}
	must(t, s.PutSession(ctx, live))
	got, err := s.SessionByHash(ctx, live.IDHash)
	must(t, err)
	if got.Principal != "user:alice" || !cmp.Equal(got.Groups, live.Groups) ||
		!recent(got.CreatedAt, start) || !recent(got.LastSeen, start) || !got.Expires.Equal(live.Expires.Truncate(0)) {
		t.Fatalf("SessionByHash = %+v, want %+v with creation and last-seen times", got, live)
	}
	seen := time.Now().Add(time.Minute).UTC().Round(time.Microsecond)
	must(t, s.TouchSession(ctx, live.IDHash, seen))
	got, err = s.SessionByHash(ctx, live.IDHash)
	must(t, err)
	if !got.LastSeen.Equal(seen) {
		t.Fatalf("LastSeen = %v, want %v", got.LastSeen, seen)
	}
	if !got.Expires.Equal(live.Expires.Truncate(0)) {
		t.Fatalf("TouchSession moved Expires to %v", got.Expires)
	}

	short := store.Session{IDHash: store.HashToken("session-2"), Principal: "user:bob", Expires: time.Now().Add(300 * time.Millisecond)}
	must(t, s.PutSession(ctx, short))
	if _, err := s.SessionByHash(ctx, short.IDHash); err != nil && time.Now().Before(short.Expires) {
		t.Fatalf("fresh session: %v", err)
	}
	time.Sleep(time.Until(short.Expires) + 50*time.Millisecond)
	_, err = s.SessionByHash(ctx, short.IDHash)
	wantErr(t, "SessionByHash(expired)", err, store.ErrNotFound)
	_, err = s.SessionByHash(ctx, "session-1") // the id itself is no key
	wantErr(t, "SessionByHash(unhashed id)", err, store.ErrNotFound)

	must(t, s.DeleteSession(ctx, live.IDHash))
	_, err = s.SessionByHash(ctx, live.IDHash)
	wantErr(t, "SessionByHash(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteSession(again)", s.DeleteSession(ctx, live.IDHash), store.ErrNotFound)
	wantErr(t, "TouchSession(deleted)", s.TouchSession(ctx, live.IDHash, seen), store.ErrNotFound)
	wantErr(t, "PutSession(no expiry)",
		s.PutSession(ctx, store.Session{IDHash: "h", Principal: "user:x"}), store.ErrInvalid)
}

func testJobOwnership(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA, Payload: `{"ref":"main"}`})
	must(t, err)
	j, err := s.ClaimJob(ctx, "w1", time.Minute)
	must(t, err)
	if j == nil || j.ID != id || j.Payload != `{"ref":"main"}` || j.UpdatedAt.IsZero() {
		t.Fatalf("claimed %+v, want job %d with its payload", j, id)
	}
	wantErr(t, "FinishJob(wrong worker)", s.FinishJob(ctx, id, "w2", nil), store.ErrNotFound)
	wantErr(t, "RenewLease(wrong worker)", s.RenewLease(ctx, id, "w2", time.Hour), store.ErrNotFound)
	if got, _ := s.GetJob(ctx, id); got.State != store.JobRunning || got.Worker != "w1" {
		t.Fatalf("after refused finish: %+v", got)
	}

	// A worker whose lease ran out may still renew it while nobody else
	// has reclaimed the job; after that, no one else can take it.
	must(t, s.RenewLease(ctx, id, "w1", 50*time.Millisecond))
	time.Sleep(80 * time.Millisecond)
	must(t, s.RenewLease(ctx, id, "w1", time.Minute))
	if other, err := s.ClaimJob(ctx, "w2", time.Minute); err != nil || other != nil {
		t.Fatalf("renewed job claimed by another worker: %+v, %v", other, err)
	}
	got, _ := s.GetJob(ctx, id)
	if time.Until(got.LeaseUntil) < 50*time.Second {
		t.Fatalf("renewed lease until %v, want about a minute from now", got.LeaseUntil)
	}
	wantErr(t, "RenewLease(zero)", s.RenewLease(ctx, id, "w1", 0), store.ErrInvalid)
	must(t, s.FinishJob(ctx, id, "w1", errors.New("upstream 404")))
	wantErr(t, "RenewLease(finished)", s.RenewLease(ctx, id, "w1", time.Minute), store.ErrNotFound)
}

func testJobGiveUp(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	for attempt := 1; attempt <= store.MaxJobAttempts; attempt++ {
		j, err := s.ClaimJob(ctx, fmt.Sprintf("crashy-%d", attempt), 20*time.Millisecond)
		must(t, err)
		if j == nil || j.ID != id || j.Attempts != attempt {
			t.Fatalf("claim %d = %+v, want job %d on attempt %d", attempt, j, id, attempt)
		}
		time.Sleep(40 * time.Millisecond) // the worker dies; the lease runs out
	}
	j, err := s.ClaimJob(ctx, "w-last", time.Minute)
	if err != nil || j != nil {
		t.Fatalf("claim after %d expired attempts = %+v, %v; want nothing", store.MaxJobAttempts, j, err)
	}
	got, err := s.GetJob(ctx, id)
	must(t, err)
	wantMsg := fmt.Sprintf("gave up after %d attempts (lease expired each time)", store.MaxJobAttempts)
	if got.State != store.JobFailed || got.Error != wantMsg || got.Attempts != store.MaxJobAttempts {
		t.Fatalf("job after giving up = %+v, want failed with %q", got, wantMsg)
	}
	// The last worker cannot finish it either, and the work can be queued
	// again.
	wantErr(t, "FinishJob(given up)", s.FinishJob(ctx, id, fmt.Sprintf("crashy-%d", store.MaxJobAttempts), nil), store.ErrNotFound)
	id2, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: commitA})
	must(t, err)
	if id2 == id {
		t.Fatal("re-enqueue returned the failed job")
	}
}

func testListJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		id, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: repoID, Commit: fmt.Sprintf("%040d", i)})
		must(t, err)
		ids = append(ids, id)
	}
	j1, err := s.ClaimJob(ctx, "w1", time.Minute)
	must(t, err)
	j2, err := s.ClaimJob(ctx, "w2", time.Minute)
	must(t, err)
	must(t, s.FinishJob(ctx, j1.ID, "w1", nil))

	jobIDs := func(state store.JobState, limit int) []int64 {
		t.Helper()
		js, err := s.ListJobs(ctx, state, limit)
		must(t, err)
		var out []int64
		for _, j := range js {
			if state != "" && j.State != state {
				t.Errorf("ListJobs(%s) returned a %s job", state, j.State)
			}
			out = append(out, j.ID)
		}
		return out
	}
	for _, tc := range []struct {
		state store.JobState
		limit int
		want  []int64
	}{
		{"", 0, ids},
		{"", 2, ids[:2]},
		{store.JobQueued, 0, ids[2:]},
		{store.JobRunning, 0, []int64{j2.ID}},
		{store.JobDone, 0, []int64{j1.ID}},
		{store.JobFailed, 0, nil},
	} {
		if diff := cmp.Diff(tc.want, jobIDs(tc.state, tc.limit), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListJobs(%q, %d) (-want +got):\n%s", tc.state, tc.limit, diff)
		}
	}
	_, err = s.ListJobs(ctx, "stuck", 0)
	wantErr(t, "ListJobs(bogus state)", err, store.ErrInvalid)
}

// The longest keys both backends must store: a PostgreSQL index entry has a
// size limit SQLite lacks, so the store's limits must keep within it.
func testLongKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	repo := "models/" + noise("repo", store.MaxIDLen-len("models/"))
	commit := noise("commit", store.MaxIDLen)
	must(t, s.PutRepo(ctx, store.Repo{ID: repo, Type: store.Model, Source: store.Upstream}))
	must(t, s.PutRevision(ctx, store.Revision{RepoID: repo, Commit: commit, Ref: noise("ref", store.MaxIDLen)}))
	// Multi-byte runes: the limit is in bytes.
	path := strings.ReplaceAll(noise("path", store.MaxPathLen-200), "0", "é")
	path += strings.Repeat("x", store.MaxPathLen-len(path))
	digest := noise("digest", store.MaxIDLen)
	must(t, s.PutFile(ctx, store.File{RepoID: repo, Commit: commit, Path: path, SHA256: digest, BlobSHA1: digest}))
	got, _, err := s.ListFiles(ctx, repo, commit, string([]rune(path)[:10]), "", 0)
	must(t, err)
	if len(got) != 1 || got[0].Path != path {
		t.Fatalf("longest path not listed back: %d files", len(got))
	}
	wantErr(t, "PutFile(path too long)",
		s.PutFile(ctx, store.File{RepoID: repo, Commit: commit, Path: path + "x"}), store.ErrInvalid)
	wantErr(t, "PutRevision(commit too long)",
		s.PutRevision(ctx, store.Revision{RepoID: repo, Commit: commit + "c"}), store.ErrInvalid)

	must(t, s.SetAlias(ctx, store.AliasChange{RepoID: repo, Alias: noise("alias", store.MaxIDLen), Commit: commit}))
	must(t, s.AddApproval(ctx, store.Approval{RepoID: repo, Commit: commit, Approver: noise("approver", store.MaxIDLen)}))
	long := noise("long", store.MaxIDLen)
	must(t, s.PutToken(ctx, store.Token{ID: long, Hash: long, Owner: long}))
	wantErr(t, "PutToken(hash too long)", s.PutToken(ctx, store.Token{ID: "t", Hash: long + "k"}), store.ErrInvalid)
	must(t, s.PutRoleBinding(ctx, store.RoleBinding{Principal: long, Namespace: long, Role: long}))
	must(t, s.PutSession(ctx, store.Session{IDHash: long, Principal: long, Expires: time.Now().Add(time.Hour)}))
	_, err = s.EnqueueJob(ctx, store.Job{Kind: long, RepoID: repo, Commit: commit})
	must(t, err)
	_, err = s.EnqueueJob(ctx, store.Job{Kind: long + "k", RepoID: repo, Commit: commit})
	wantErr(t, "EnqueueJob(kind too long)", err, store.ErrInvalid)
}

// noise returns n bytes of hex that do not compress: PostgreSQL compresses
// index entries, and a repeated letter would fit where real names do not.
func noise(seed string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", seed, i)))
		b.WriteString(hex.EncodeToString(h[:]))
	}
	return b.String()[:n]
}

// Writers ingesting overlapping trees at once (two pull-throughs of the
// same revision) all succeed, and the result is one of their versions of
// each file.
func testConcurrentPutFiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	const writers, n = 4, 1500
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			files := make([]store.File, n)
			for i := range files {
				// Each writer lists all files, each in another order
				// (the multipliers are coprime with n).
				j := (i*[]int{1, 7, 11, 13}[w] + w*97) % n
				files[i] = store.File{RepoID: repoID, Commit: commitA, Path: fmt.Sprintf("f/%05d", j),
					Size: int64(w), SHA256: fmt.Sprintf("w%d", w)}
			}
			errs <- s.PutFiles(ctx, files)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent PutFiles: %v", err)
		}
	}
	got, next, err := s.ListFiles(ctx, repoID, commitA, "f/", "", store.MaxListLimit)
	must(t, err)
	if len(got) != n || next != "" {
		t.Fatalf("%d files after concurrent writes, want %d", len(got), n)
	}
	for _, f := range got {
		if f.SHA256 != fmt.Sprintf("w%d", f.Size) {
			t.Fatalf("file %s mixes writers: %+v", f.Path, f)
		}
	}
}

// signatureStore is implemented by stores that keep the server's signature
// of approved revisions (both backends do; it is not part of store.Store).
type signatureStore interface {
	PutSignature(ctx context.Context, repoID, commit string, bundle []byte) error
	Signature(ctx context.Context, repoID, commit string) ([]byte, error)
}

func testSignatures(t *testing.T, s store.Store) {
	ss, ok := s.(signatureStore)
	if !ok {
		t.Skip("this store keeps no signatures")
	}
	ctx := t.Context()
	seed(t, s)
	wantErr(t, "PutSignature(unknown revision)", ss.PutSignature(ctx, repoID, "cccc", []byte(`{}`)), store.ErrNotFound)
	_, err := ss.Signature(ctx, repoID, commitA)
	wantErr(t, "Signature(unsigned)", err, store.ErrNotFound)

	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":"é"}`)
	must(t, ss.PutSignature(ctx, repoID, commitA, bundle))
	got, err := ss.Signature(ctx, repoID, commitA)
	if err != nil || string(got) != string(bundle) {
		t.Fatalf("Signature = %q, %v; want %q", got, err, bundle)
	}
	// Re-signing (a new key, a new policy) replaces.
	must(t, ss.PutSignature(ctx, repoID, commitA, []byte(`{"v":2}`)))
	if got, _ := ss.Signature(ctx, repoID, commitA); string(got) != `{"v":2}` {
		t.Fatalf("after re-signing Signature = %q", got)
	}
	if _, err := ss.Signature(ctx, repoID, commitB); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the other revision has a signature: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty":         nil,
		"too big":       make([]byte, store.MaxSignatureSize+1),
		"invalid UTF-8": []byte("{\"x\":\"\xff\"}"),
		"NUL":           []byte("{\"x\":\"\x00\"}"),
	} {
		wantErr(t, "PutSignature("+name+")", ss.PutSignature(ctx, repoID, commitB, bad), store.ErrInvalid)
	}
}
