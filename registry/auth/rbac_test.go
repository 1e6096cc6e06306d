package auth

import (
	"strings"
	"testing"
)

// The expectation tables below are written out by hand; they are the
// contract. Columns follow this order of actions.
var matrixActions = []Action{
	ActRead, ActReadQuarantined, ActRequestIngest, ActPush, ActApprove, ActReject, ActWaive,
	ActPromote, ActManagePolicy, ActManageMembers, ActManageTokens, ActReadAudit, ActAdmin,
}

// Role on a binding whose pattern covers the repository but is not "*".
//
//	Read RdQ Ingest Push Approve Reject Waive Promote Policy Members Tokens Audit Admin
var wantInside = map[string]string{
	"reader":    "Y . . . . . . . . . . . .",
	"requester": "Y . Y . . . . . . . . . .",
	"publisher": "Y . . Y . . . . . . . . .",
	"reviewer":  "Y Y . . Y Y Y . . . . . .",
	"admin":     "Y Y Y Y Y Y Y Y Y Y Y . .",
	"auditor":   ". . . . . . . . . . . . .",
}

// Role on a binding whose pattern does not cover the repository.
var wantOutside = map[string]string{
	"reader":    ". . . . . . . . . . . . .",
	"requester": ". . . . . . . . . . . . .",
	"publisher": ". . . . . . . . . . . . .",
	"reviewer":  ". . . . . . . . . . . . .",
	"admin":     ". . . . . . . . . . . . .",
	"auditor":   ". . . . . . . . . . . . .",
}

// Role on the "*" binding: system actions appear.
var wantStar = map[string]string{
	"reader":    "Y . . . . . . . . . . . .",
	"requester": "Y . Y . . . . . . . . . .",
	"publisher": "Y . . Y . . . . . . . . .",
	"reviewer":  "Y Y . . Y Y Y . . . . . .",
	"admin":     "Y Y Y Y Y Y Y Y Y Y Y Y Y",
	"auditor":   ". . . . . . . . . . . Y .",
}

// What a token scope lets through (uncapped = a UI session).
var wantScope = map[string]string{
	"uncapped": "Y Y Y Y Y Y Y Y Y Y Y Y Y",
	"read":     "Y . . . . . . . . . . Y .",
	"write":    "Y . Y Y . . . . . . . . .",
	"approve":  "Y Y . . Y Y Y . . . . . .",
	"admin":    "Y Y Y Y Y Y Y Y Y Y Y Y Y",
}

func cells(t *testing.T, row string) []bool {
	t.Helper()
	f := strings.Fields(row)
	if len(f) != len(matrixActions) {
		t.Fatalf("row %q has %d cells, want %d", row, len(f), len(matrixActions))
	}
	out := make([]bool, len(f))
	for i, c := range f {
		out[i] = c == "Y"
	}
	return out
}

func TestMatrix(t *testing.T) {
	if len(Roles()) != len(wantInside) || len(Actions()) != len(matrixActions) {
		t.Fatalf("%d roles and %d actions in the package, the test knows %d and %d: extend the tables",
			len(Roles()), len(Actions()), len(wantInside), len(matrixActions))
	}
	const repo = "acme/bert"
	bindings := []struct {
		name, pattern string
		want          map[string]string
	}{
		{"inside", "acme/*", wantInside},
		{"exact", "acme/bert", wantInside},
		{"outside", "acme2/*", wantOutside},
		{"other repo", "acme/gpt", wantOutside},
		{"star", "*", wantStar},
	}
	scopes := map[string][]Scope{
		"uncapped": nil,
		"read":     {ScopeRead},
		"write":    {ScopeWrite},
		"approve":  {ScopeApprove},
		"admin":    {ScopeAdmin},
	}
	checked := 0
	for _, b := range bindings {
		for role, row := range b.want {
			roleCells := cells(t, row)
			for scopeName, scope := range scopes {
				scopeCells := cells(t, wantScope[scopeName])
				p := Principal{
					ID:       "user:alice",
					Scopes:   scope,
					Bindings: []Binding{{Principal: "user:alice", Namespace: b.pattern, Role: role}},
				}
				for i, act := range matrixActions {
					want := roleCells[i] && scopeCells[i]
					if got := Allowed(p, act, repo); got != want {
						t.Errorf("%s on %q (%s), scope %s: Allowed(%s, %q) = %v, want %v",
							role, b.pattern, b.name, scopeName, act, repo, got, want)
					}
					checked++
				}
			}
		}
	}
	if want := len(bindings) * len(Roles()) * len(scopes) * len(matrixActions); checked != want {
		t.Fatalf("checked %d cells, want %d", checked, want)
	}
}

func TestMultipleScopesUnion(t *testing.T) {
	p := Principal{
		ID:       "sa:ci",
		Scopes:   []Scope{ScopeRead, ScopeWrite},
		Bindings: []Binding{{"sa:ci", "acme/*", RoleAdmin}},
	}
	for act, want := range map[Action]bool{ActRead: true, ActPush: true, ActRequestIngest: true, ActApprove: false, ActManagePolicy: false} {
		if got := Allowed(p, act, "acme/x"); got != want {
			t.Errorf("read+write token of an admin: Allowed(%s) = %v, want %v", act, got, want)
		}
	}
	p.Scopes = []Scope{} // a token with no scope at all
	if Allowed(p, ActRead, "acme/x") {
		t.Error("a token with an empty scope list may read; want nothing allowed")
	}
	p.Scopes = []Scope{"superuser"}
	if Allowed(p, ActRead, "acme/x") {
		t.Error("an unknown scope grants read; want nothing")
	}
}

func TestGroupsAndAnonymous(t *testing.T) {
	bindings := []Binding{
		{"group:ml", "acme/*", RoleReviewer},
		{"user:bob", "acme/*", RoleAdmin},
		{PrincipalAnonymous, "public/*", RoleReader},
	}
	alice := Principal{ID: "user:alice", Groups: []string{"group:ml"}, Bindings: bindings}
	noGroup := Principal{ID: "user:carol", Bindings: bindings}
	anon := Principal{ID: PrincipalAnonymous, Bindings: bindings}
	cases := []struct {
		name string
		p    Principal
		act  Action
		repo string
		want bool
	}{
		{"group member reviews", alice, ActApprove, "acme/x", true},
		{"group member is not bob", alice, ActManagePolicy, "acme/x", false},
		{"no group, no role", noGroup, ActRead, "acme/x", false},
		{"anonymous reads public", anon, ActRead, "public/x", true},
		{"anonymous cannot push public", anon, ActPush, "public/x", false},
		{"anonymous cannot read acme", anon, ActRead, "acme/x", false},
		{"signed-in users read what anonymous reads", noGroup, ActRead, "public/x", true},
		{"group named like a user does not match", Principal{ID: "user:x", Groups: []string{"user:bob"}, Bindings: bindings}, ActRead, "acme/x", false},
		{"empty id holds no user binding", Principal{Bindings: []Binding{{"", "*", RoleAdmin}}}, ActRead, "acme/x", false},
		{"unknown role grants nothing", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "*", "owner"}}}, ActRead, "acme/x", false},
		{"auditor on a namespace is not system auditor", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "acme/*", RoleAuditor}}}, ActReadAudit, "", false},
		{"admin of a namespace is not superadmin", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "acme/*", RoleAdmin}}}, ActAdmin, "", false},
		{"system action ignores the repo", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "*", RoleAuditor}}}, ActReadAudit, "", true},
		{"namespace-wide policy by namespace admin", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "acme/*", RoleAdmin}}}, ActManagePolicy, "acme", true},
		{"namespace-wide policy by repo admin", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "acme/bert", RoleAdmin}}}, ActManagePolicy, "acme", false},
		{"unknown action", Principal{ID: "user:x", Bindings: []Binding{{"user:x", "*", RoleAdmin}}}, Action("delete-everything"), "acme/x", false},
	}
	for _, c := range cases {
		if got := Allowed(c.p, c.act, c.repo); got != c.want {
			t.Errorf("%s: Allowed(%s, %s, %q) = %v, want %v", c.name, c.p.ID, c.act, c.repo, got, c.want)
		}
	}
}

func TestSeparationOfDuties(t *testing.T) {
	rev := Principal{ID: "user:rita", Bindings: []Binding{{"user:rita", "acme/*", RoleReviewer}}}
	adm := Principal{ID: "user:ada", Bindings: []Binding{{"user:ada", "*", RoleAdmin}}}
	pub := Principal{ID: "user:paul", Bindings: []Binding{{"user:paul", "acme/*", RolePublisher}}}
	cases := []struct {
		p       Principal
		creator string
		want    bool
	}{
		{rev, "user:paul", true},
		{rev, "user:rita", false}, // own push
		{rev, "", true},           // pulled by the system
		{adm, "user:ada", false},  // admins too
		{adm, "user:paul", true},
		{pub, "user:rita", false}, // publishers never approve
	}
	for _, c := range cases {
		if got := CanApprove(c.p, "acme/x", c.creator); got != c.want {
			t.Errorf("CanApprove(%s, created by %q) = %v, want %v", c.p.ID, c.creator, got, c.want)
		}
	}
	if CanApprove(rev, "other/x", "user:paul") {
		t.Error("reviewer of acme approves in another namespace")
	}
}

func TestCanManageOwnTokens(t *testing.T) {
	cases := []struct {
		p    Principal
		want bool
	}{
		{Principal{ID: "user:alice"}, true},
		{Principal{ID: "sa:ci", Scopes: []Scope{ScopeAdmin}}, true},
		{Principal{ID: "user:alice", Scopes: []Scope{ScopeRead, ScopeWrite, ScopeApprove}}, false},
		{Principal{ID: PrincipalAnonymous}, false},
		{Principal{}, false},
	}
	for _, c := range cases {
		if got := CanManageOwnTokens(c.p); got != c.want {
			t.Errorf("CanManageOwnTokens(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestValidRoleAndScope(t *testing.T) {
	for _, r := range []string{"reader", "requester", "publisher", "reviewer", "admin", "auditor"} {
		if !ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "Reader", "owner", "superadmin"} {
		if ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
	for _, s := range []Scope{"read", "write", "approve", "admin"} {
		if !ValidScope(s) {
			t.Errorf("ValidScope(%q) = false", s)
		}
	}
	if ValidScope("all") {
		t.Error(`ValidScope("all") = true`)
	}
}

func TestMatchNamespace(t *testing.T) {
	cases := []struct {
		pattern, id string
		want        bool
	}{
		{"*", "acme/bert", true},
		{"*", "acme", true},
		{"acme/*", "acme/bert", true},
		{"acme/*", "acme2/bert", false},
		{"acme/*", "acm/bert", false},
		{"acme/*", "acme", true},
		{"acme/bert", "acme/bert", true},
		{"acme/bert", "acme/bert2", false},
		{"acme/bert", "acme", false},
		{"acme/bert*", "acme/bert-large", true},
		{"acme/b?rt", "acme/bart", true},
		{"*/bert", "other/bert", true},
		{"*/bert", "other", false},
		{"acme/*", "acme/bert/extra", false},
		{"acme/*", "", false},
		{"acme/*", "/bert", false},
		{"acme/*", "acme/", false},
		{"acme", "acme", false}, // a pattern needs org/name
		{"acme", "acme/x", false},
		{"acme/[", "acme/x", false},
		{"acme/*/*", "acme/x", false},
		{"", "", false},
		{"acme/*", strings.Repeat("a", MaxPatternLen) + "/x", false},
	}
	for _, c := range cases {
		if got := MatchNamespace(c.pattern, c.id); got != c.want {
			t.Errorf("MatchNamespace(%q, %q) = %v, want %v", c.pattern, c.id, got, c.want)
		}
	}
	for p, want := range map[string]bool{"*": true, "acme/*": true, "acme/bert": true, "*/*": true, "acme": false, "acme/": false, "/x": false, "a/b/c": false, "acme/[": false, "": false} {
		if got := ValidPattern(p); got != want {
			t.Errorf("ValidPattern(%q) = %v, want %v", p, got, want)
		}
	}
}

// FuzzMatchNamespace: no panic; "*" covers every id; an id matching
// itself as a pattern when it holds no metacharacters; a pattern with a
// literal org never reaches another org.
func FuzzMatchNamespace(f *testing.F) {
	for _, s := range [][2]string{{"acme/*", "acme/bert"}, {"acme/*", "acme2/bert"}, {"*", "x"}, {"a/[", "a/b"}, {"*/b?rt", "x/bert"}, {"acme/*", "acme"}, {"a\\", "a"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, id string) {
		got := MatchNamespace(pattern, id)
		if pattern == "*" && len(id) <= MaxPatternLen && !got {
			t.Fatalf("* does not cover %q", id)
		}
		if got && !ValidPattern(pattern) {
			t.Fatalf("invalid pattern %q matched %q", pattern, id)
		}
		porg, _, _ := strings.Cut(pattern, "/")
		org, _, _ := strings.Cut(id, "/")
		if got && pattern != "*" && !strings.ContainsAny(porg, `*?[\`) && porg != org {
			t.Fatalf("pattern %q with literal org reached org %q (id %q)", pattern, org, id)
		}
		if !strings.ContainsAny(id, `*?[\`) && strings.Count(id, "/") == 1 && id[0] != '/' && id[len(id)-1] != '/' && len(id) <= MaxPatternLen {
			if !MatchNamespace(id, id) {
				t.Fatalf("literal id %q does not match itself", id)
			}
		}
	})
}

// BenchmarkAllowed: the check runs on every request, with a principal
// holding a few dozen bindings.
func BenchmarkAllowed(b *testing.B) {
	p := Principal{ID: "user:alice", Groups: []string{"group:ml", "group:ops"}, Scopes: []Scope{ScopeRead, ScopeWrite}}
	for i := range 40 {
		p.Bindings = append(p.Bindings, Binding{"group:ml", "org" + strings.Repeat("x", i%7) + "/*", RoleReader})
	}
	p.Bindings = append(p.Bindings, Binding{"user:alice", "acme/*", RolePublisher})
	for b.Loop() {
		if !Allowed(p, ActPush, "acme/bert") {
			b.Fatal("denied")
		}
	}
}
