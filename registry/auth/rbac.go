package auth

import (
	"path"
	"slices"
	"strings"
)

// Action is something a principal may be allowed to do.
type Action string

// Actions checked by the server. Namespace actions are checked against a
// repository ("org/name") or a whole namespace ("org"); system actions
// ([ActReadAudit], [ActAdmin]) against nothing in particular and are granted
// only by bindings on the "*" pattern.
const (
	ActRead            Action = "read"             // list, browse, download approved revisions
	ActReadQuarantined Action = "read-quarantined" // see findings, download quarantined content for analysis
	ActRequestIngest   Action = "request-ingest"   // pull a new upstream repo or revision through the gate
	ActPush            Action = "push"             // upload internal artifacts (and so request their approval)
	ActApprove         Action = "approve"          // approve a quarantined revision (see [CanApprove])
	ActReject          Action = "reject"           // reject a quarantined revision
	ActWaive           Action = "waive"            // grant a waiver for a finding
	ActPromote         Action = "promote"          // move an alias (prod, staging) to a revision
	ActManagePolicy    Action = "manage-policy"    // gate thresholds, allowed upstreams, signature rules
	ActManageMembers   Action = "manage-members"   // role bindings and service accounts
	ActManageTokens    Action = "manage-tokens"    // tokens of others (service accounts); own tokens: [CanManageOwnTokens]
	ActReadAudit       Action = "read-audit"       // read and export the audit log (system)
	ActAdmin           Action = "admin"            // global settings (system)
)

// allActions is every action, in the order of the tables in the package
// documentation; an action's index is its bit in an actionSet.
var allActions = [...]Action{
	ActRead, ActReadQuarantined, ActRequestIngest, ActPush, ActApprove, ActReject, ActWaive,
	ActPromote, ActManagePolicy, ActManageMembers, ActManageTokens, ActReadAudit, ActAdmin,
}

// Actions returns every action, in the order of the tables in the package
// documentation.
func Actions() []Action { return slices.Clone(allActions[:]) }

// Roles.
const (
	RoleReader    = "reader"
	RoleRequester = "requester"
	RolePublisher = "publisher"
	RoleReviewer  = "reviewer"
	RoleAdmin     = "admin"
	RoleAuditor   = "auditor" // system-wide: meaningful only on the "*" pattern
)

// Roles returns every role, in the order of the tables in the package
// documentation.
func Roles() []string {
	return []string{RoleReader, RoleRequester, RolePublisher, RoleReviewer, RoleAdmin, RoleAuditor}
}

// Scope caps what a token may do, whatever its owner's roles allow.
type Scope string

// Token scopes. Every scope includes [ActRead]: pushing or approving what one
// cannot see makes no sense, and HF clients read before they write.
const (
	ScopeRead    Scope = "read"    // ActRead, ActReadAudit
	ScopeWrite   Scope = "write"   // ActRead, ActRequestIngest, ActPush
	ScopeApprove Scope = "approve" // ActRead, ActReadQuarantined, ActApprove, ActReject, ActWaive
	ScopeAdmin   Scope = "admin"   // everything the roles allow
)

// Scopes returns every scope.
func Scopes() []Scope { return []Scope{ScopeRead, ScopeWrite, ScopeApprove, ScopeAdmin} }

// PrincipalAnonymous is the principal of a request without credentials.
// Bindings of this principal apply to every principal: when the server lets
// anonymous clients read, signed-in ones may read too.
const PrincipalAnonymous = "anonymous"

// Binding gives Principal (a principal id or "group:<name>") Role on every
// repository whose id matches the Namespace pattern (see [MatchNamespace]).
type Binding struct{ Principal, Namespace, Role string }

// Principal is who is asking, with everything [Allowed] needs to answer.
type Principal struct {
	ID       string    // "user:alice", "sa:ci", "anonymous"
	Groups   []string  // from OIDC, as "group:<name>"
	Scopes   []Scope   // token scopes that cap permissions; nil = uncapped (UI session), empty = nothing
	Bindings []Binding // bindings of ID, of each group and of "anonymous", loaded by the server
}

// bit sets of actions.
type actionSet uint32

func setOf(acts ...Action) actionSet {
	var s actionSet
	for _, a := range acts {
		s |= 1 << actionIndex(a)
	}
	return s
}

func actionIndex(a Action) int {
	for i, b := range allActions {
		if a == b {
			return i
		}
	}
	return 31 // no role or scope holds bit 31
}

func (s actionSet) has(a Action) bool { return s&(1<<actionIndex(a)) != 0 }

var (
	readerActions = setOf(ActRead)
	// namespaceRoles is what each role grants on the repositories its
	// binding's pattern matches.
	namespaceRoles = map[string]actionSet{
		RoleReader:    readerActions,
		RoleRequester: readerActions | setOf(ActRequestIngest),
		RolePublisher: readerActions | setOf(ActPush),
		RoleReviewer:  readerActions | setOf(ActReadQuarantined, ActApprove, ActReject, ActWaive),
		RoleAdmin: readerActions | setOf(ActReadQuarantined, ActRequestIngest, ActPush, ActApprove,
			ActReject, ActWaive, ActPromote, ActManagePolicy, ActManageMembers, ActManageTokens),
		RoleAuditor: 0,
	}
	// systemRoles is what each role adds when bound on "*".
	systemRoles = map[string]actionSet{
		RoleAdmin:   setOf(ActReadAudit, ActAdmin),
		RoleAuditor: setOf(ActReadAudit),
	}
	systemActions = setOf(ActReadAudit, ActAdmin)
	scopeActions  = map[Scope]actionSet{
		ScopeRead:    setOf(ActRead, ActReadAudit),
		ScopeWrite:   setOf(ActRead, ActRequestIngest, ActPush),
		ScopeApprove: setOf(ActRead, ActReadQuarantined, ActApprove, ActReject, ActWaive),
		ScopeAdmin:   ^actionSet(0),
	}
)

// ValidRole reports whether r is one of [Roles].
func ValidRole(r string) bool {
	_, ok := namespaceRoles[r]
	return ok
}

// ValidScope reports whether s is one of [Scopes].
func ValidScope(s Scope) bool {
	_, ok := scopeActions[s]
	return ok
}

// Allowed reports whether p may do act on repoID ("org/name", or "org" for
// namespace-wide actions such as policy changes; ignored for system
// actions). It is a pure function of its arguments: the answer is the union
// of what p's matching bindings grant, intersected with what p's token
// scopes allow.
func Allowed(p Principal, act Action, repoID string) bool {
	bit := setOf(act)
	if p.Scopes != nil {
		var capped actionSet
		for _, s := range p.Scopes {
			capped |= scopeActions[s]
		}
		if capped&bit == 0 {
			return false
		}
	}
	system := systemActions&bit != 0
	for _, b := range p.Bindings {
		if !p.holds(b) {
			continue
		}
		if system {
			if b.Namespace == "*" && systemRoles[b.Role]&bit != 0 {
				return true
			}
			continue
		}
		if namespaceRoles[b.Role]&bit != 0 && MatchNamespace(b.Namespace, repoID) {
			return true
		}
	}
	return false
}

// holds reports whether binding b applies to p: bound to p itself, to one of
// its groups, or to everyone through the anonymous principal.
func (p Principal) holds(b Binding) bool {
	if b.Principal == PrincipalAnonymous || (b.Principal == p.ID && p.ID != "") {
		return true
	}
	return strings.HasPrefix(b.Principal, "group:") && slices.Contains(p.Groups, b.Principal)
}

// CanApprove reports whether p may approve a revision of repoID that
// createdBy pushed or requested: it needs [ActApprove] and must not be the
// creator (separation of duties; an admin cannot approve their own pushes
// either). An empty createdBy (content the system pulled on its own) is
// approvable by any reviewer.
func CanApprove(p Principal, repoID, createdBy string) bool {
	return Allowed(p, ActApprove, repoID) && (createdBy == "" || p.ID != createdBy)
}

// CanManageOwnTokens reports whether p may list, create and revoke its own
// tokens: any signed-in principal from a UI session, or with an admin-scoped
// token. A narrower token cannot mint tokens, so a leaked read token cannot
// be turned into a write token.
func CanManageOwnTokens(p Principal) bool {
	if p.ID == "" || p.ID == PrincipalAnonymous {
		return false
	}
	return p.Scopes == nil || slices.Contains(p.Scopes, ScopeAdmin)
}

// MaxPatternLen bounds namespace patterns and repository ids given to
// [MatchNamespace]; longer ones never match.
const MaxPatternLen = 256

// MatchNamespace reports whether a binding's namespace pattern covers
// repoID.
//
//   - "*" covers everything, including namespace-wide ids ("org").
//   - Otherwise the pattern is "org/name" with [path.Match] syntax in each
//     part: "acme/*" covers "acme/bert" but not "acme2/bert", "acme/bert"
//     only itself.
//   - A namespace-wide id "org" is covered by patterns whose name part is
//     "*" and whose org part matches: "acme/*" covers "acme", "acme/bert"
//     does not (a repository admin cannot change the namespace's policy).
//
// Malformed patterns and ids (empty parts, more than one slash, bad
// [path.Match] syntax, longer than [MaxPatternLen]) never match.
func MatchNamespace(pattern, repoID string) bool {
	if len(pattern) > MaxPatternLen || len(repoID) > MaxPatternLen {
		return false
	}
	if pattern == "*" {
		return true
	}
	porg, pname, ok := splitID(pattern)
	if !ok || pname == "" {
		return false
	}
	org, name, ok := splitID(repoID)
	if !ok {
		return false
	}
	if okOrg, err := path.Match(porg, org); err != nil || !okOrg {
		return false
	}
	if name == "" {
		if _, err := path.Match(pname, ""); err != nil {
			return false
		}
		return pname == "*"
	}
	okName, err := path.Match(pname, name)
	return err == nil && okName
}

// ValidPattern reports whether pattern is a namespace pattern that can
// match something: "*", or "org/name" with valid [path.Match] syntax in
// both parts. The server should refuse to store other patterns.
func ValidPattern(pattern string) bool {
	if pattern == "*" {
		return true
	}
	if len(pattern) > MaxPatternLen {
		return false
	}
	org, name, ok := splitID(pattern)
	if !ok || name == "" {
		return false
	}
	_, err1 := path.Match(org, "")
	_, err2 := path.Match(name, "")
	return err1 == nil && err2 == nil
}

// splitID splits "org/name" or "org" (name "") and refuses empty parts and
// extra slashes.
func splitID(id string) (org, name string, ok bool) {
	org, name, found := strings.Cut(id, "/")
	if org == "" || (found && (name == "" || strings.Contains(name, "/"))) {
		return "", "", false
	}
	return org, name, true
}
