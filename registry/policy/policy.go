package policy

import (
	_ "embed"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/lookalike"
)

// APIVersion is the only file format version this package reads.
const APIVersion = "aigis/v1"

// Source names: where a repository comes from.
const (
	SourceUpstream = "upstream" // pulled through from the Hugging Face Hub (or another upstream)
	SourceInternal = "internal" // published to the registry by its own users
)

var knownSources = []string{SourceUpstream, SourceInternal}

// LookalikeMode says what happens to a repository whose id imitates a
// well-known organisation or model (package lookalike).
type LookalikeMode string

// Lookalike modes.
const (
	LookalikeBlock LookalikeMode = "block" // quarantine it
	LookalikeWarn  LookalikeMode = "warn"  // let it in with a warning
	LookalikeOff   LookalikeMode = "off"   // do not check
)

// Policy is a loaded, validated policy file. It is immutable and safe for
// concurrent use.
type Policy struct {
	name    string // the file as named to Parse
	version string // the file's version: key
	digest  string // hex sha256, see computeDigest

	sources        map[string]*sourceRule
	lookalikes     LookalikeMode
	lookalikeList  *lookalike.List // nil: lookalike.Default()
	lookalikeNames []string

	failOn          finding.Severity
	incompleteAllow bool
	ignoreRules     map[string]bool
	ignoreList      []string

	signatures []*SignatureRequirement

	licenseAllow        map[string]bool
	licenseList         []string
	unknownLicenseAllow bool

	limits     Limits
	exceptions []Exception
}

// sourceRule is sources.<name>: deny wins over allow; an empty allow list
// allows everything not denied.
type sourceRule struct {
	name  string
	allow []glob
	deny  []glob
}

// glob is a pattern on "org/name", matched case-insensitively with
// path.Match, so '*' does not cross the '/'.
type glob struct {
	text    string // as written
	pattern string // lower-cased
	line    int
}

func (g glob) match(repoID string) bool {
	ok, _ := path.Match(g.pattern, strings.ToLower(repoID))
	return ok
}

// Limits bound what a repository may hold. Zero means no limit from the
// policy (the server keeps its own hard limits).
type Limits struct {
	MaxFileSize  int64 // bytes, per file
	MaxTotalSize int64 // bytes, all files of a commit
	MaxFiles     int   // files in a commit
}

// Exception waives findings of one repository, optionally of one commit and
// only some rules, until it expires. Every field but Commit and Rules is
// required in the file.
type Exception struct {
	Repo       string   // "org/name", compared case-insensitively
	Commit     string   // lower-case hex; "" for every commit
	Rules      []string // rule ids; empty for every finding (and the look-alike check)
	Reason     string
	Expires    time.Time // the first instant at which it no longer applies
	ExpiresRaw string    // as written: "2027-01-31" or an RFC 3339 time
	ApprovedBy string
	Line       int // line of the entry in the policy file
}

// covers reports whether e waives rule.
func (e *Exception) covers(rule string) bool {
	if len(e.Rules) == 0 {
		return true
	}
	for _, r := range e.Rules {
		if r == rule {
			return true
		}
	}
	return false
}

// Name is the file the policy was read from ("builtin" for Default).
func (p *Policy) Name() string { return p.name }

// Version identifies the policy in every decision: the file's version key,
// then "+sha256:" and the first 12 hex digits of its digest.
func (p *Policy) Version() string { return p.version + "+sha256:" + p.digest[:12] }

// Digest is the full hex SHA-256 that Version abbreviates: the file's
// bytes, followed for each key, certificate or trusted-root file it names
// by that path and the SHA-256 of its content. A policy that names no other
// file has the digest of its bytes (sha256sum policy.yaml).
func (p *Policy) Digest() string { return p.digest }

// FailOn is the lowest severity of a finding that quarantines.
func (p *Policy) FailOn() finding.Severity { return p.failOn }

// Lookalikes is what the policy does with look-alike repository ids.
func (p *Policy) Lookalikes() LookalikeMode { return p.lookalikes }

// lookalikeNamesList returns the names look-alikes are checked against: the
// built-in list plus lookalike_names.
func (p *Policy) lookalikeNamesList() *lookalike.List {
	if p.lookalikeList != nil {
		return p.lookalikeList
	}
	return lookalike.Default()
}

// Limits are the size and file-count limits; the server can stop a fetch
// early when a file is over MaxFileSize.
func (p *Policy) Limits() Limits { return p.limits }

// Exceptions lists the policy's exceptions in file order, expired ones too.
func (p *Policy) Exceptions() []Exception {
	out := make([]Exception, len(p.exceptions))
	for i, e := range p.exceptions {
		e.Rules = append([]string(nil), e.Rules...)
		out[i] = e
	}
	return out
}

// defaultYAML is the policy used when the server has no policy file: every
// source allowed, look-alikes blocked, high and critical findings and
// incomplete scans quarantined, no signature required, any license.
//
//go:embed default.yaml
var defaultYAML []byte

var (
	defaultOnce   sync.Once
	defaultPolicy *Policy
)

// Default is the policy of a server without a policy file (default.yaml in
// this package): allow all sources, lookalikes block, fail_on high,
// incomplete quarantine, no signatures required, any license, no limits.
// Its Version is "builtin+sha256:…".
func Default() *Policy {
	defaultOnce.Do(func() {
		p, err := Parse("builtin", defaultYAML, "")
		if err != nil {
			panic("policy: embedded default.yaml: " + err.Error())
		}
		defaultPolicy = p
	})
	return defaultPolicy
}
