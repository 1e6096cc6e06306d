package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
)

// Input is what the gate knows about one commit of a repository after
// fetching and scanning it.
type Input struct {
	RepoID     string // "org/name"
	RepoType   string // "model" | "dataset"; aigis/v1 rules treat both alike
	Source     string // SourceUpstream | SourceInternal
	Commit     string
	Files      []File
	Findings   []finding.Finding
	Incomplete bool   // the scan did not finish
	License    string // from the card's front matter, "" if none
	// Signature is VerifySignature's result: nil when there was no
	// signature file (or no requirement to verify against).
	Signature *SignatureResult
	// Now decides which exceptions have expired. A zero Now counts every
	// exception as expired (fail closed).
	Now time.Time
}

// File is one file of the commit.
type File struct {
	Path string
	Size int64
}

// Reason codes, in the order Evaluate reports them.
const (
	CodeSourceDenied     = "source-denied"
	CodeLookalike        = "lookalike"
	CodeSignatureMissing = "signature-missing"
	CodeSignatureInvalid = "signature-invalid"
	CodeFindings         = "findings"
	CodeIncomplete       = "incomplete"
	CodeLicense          = "license"
	CodeSizeLimit        = "size-limit"
	CodeFileCount        = "file-count"
)

// Reason is one reason a commit is refused.
type Reason struct {
	Code    string   `json:"code"`            // one of the Code… constants
	Message string   `json:"message"`         // what happened and what to do, for the user
	Rules   []string `json:"rules,omitempty"` // rule ids behind it (findings, lookalike), sorted
}

// Waiver is one finding that an exception waived.
type Waiver struct {
	Rule       string `json:"rule"`
	Path       string `json:"path,omitempty"` // file (and "!member" inside an archive); "" for the look-alike check
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Expires    string `json:"expires"` // as written in the policy
	Line       int    `json:"line"`    // the exception's line in the policy file
}

// Decision is the gate's verdict on one commit.
type Decision struct {
	Allow   bool     `json:"allow"`
	Reasons []Reason `json:"reasons,omitempty"` // every reason it is refused, in the order of the Code… constants
	Waived  []Waiver `json:"waived,omitempty"`  // findings an exception waived
	// ExpiredExceptions are exceptions for this repository (and commit)
	// that have expired and no longer apply, so users renew or drop them.
	ExpiredExceptions []string `json:"expired_exceptions,omitempty"`
	Warnings          []string `json:"warnings,omitempty"` // lookalikes: warn, exceptions about to expire
	PolicyVersion     string   `json:"policy_version"`
}

// expiringSoon is how early a warning says an applied exception will expire.
const expiringSoon = 14 * 24 * time.Hour

// maxExamples bounds the findings and files a message names.
const maxExamples = 3

// Evaluate decides whether a commit may be served. It is pure and
// deterministic: reasons come in the order of the Code… constants.
func (p *Policy) Evaluate(in Input) Decision {
	d := Decision{PolicyVersion: p.Version()}

	// Exceptions for this repository and commit.
	var active []*Exception
	for i := range p.exceptions {
		e := &p.exceptions[i]
		if !strings.EqualFold(e.Repo, in.RepoID) || e.Commit != "" && !strings.EqualFold(e.Commit, in.Commit) {
			continue
		}
		if in.Now.IsZero() || !in.Now.Before(e.Expires) {
			d.ExpiredExceptions = append(d.ExpiredExceptions, fmt.Sprintf(
				"the exception for %s (policy line %d, approved by %s: %q) is past its expiry (expires: %s) and no longer applies: renew it with a later expires date or remove it",
				exceptionScope(e), e.Line, e.ApprovedBy, e.Reason, e.ExpiresRaw))
			continue
		}
		active = append(active, e)
	}
	waiver := func(rule string) *Exception {
		for _, e := range active {
			if e.covers(rule) {
				return e
			}
		}
		return nil
	}
	used := map[*Exception]bool{}
	waive := func(e *Exception, rule, path string) {
		used[e] = true
		d.Waived = append(d.Waived, Waiver{Rule: rule, Path: path, Reason: e.Reason, ApprovedBy: e.ApprovedBy, Expires: e.ExpiresRaw, Line: e.Line})
	}

	if ok, msg := p.AllowSource(in.RepoID, in.Source); !ok {
		d.Reasons = append(d.Reasons, Reason{Code: CodeSourceDenied, Message: msg})
	}

	if p.lookalikes != LookalikeOff {
		if m := p.lookalikeNamesList().Check(in.RepoID); len(m) > 0 {
			msg := fmt.Sprintf("%s looks like %s: %s. Check the id letter by letter and use the real repository", in.RepoID, m[0].LooksLike, m[0].Reason)
			switch e := waiver(RuleLookalike); {
			case e != nil:
				waive(e, RuleLookalike, "")
			case p.lookalikes == LookalikeBlock:
				d.Reasons = append(d.Reasons, Reason{Code: CodeLookalike, Rules: []string{RuleLookalike},
					Message: msg + "; if this really is a different publisher, an admin can add an exception for rule " + RuleLookalike + " in the policy file"})
			default:
				d.Warnings = append(d.Warnings, msg)
			}
		}
	}

	if req := p.SignatureRequirement(in.RepoID); req != nil && req.hasMethods() {
		switch s := in.Signature; {
		case s == nil && req.Require:
			d.Reasons = append(d.Reasons, Reason{Code: CodeSignatureMissing, Message: fmt.Sprintf(
				"%s has no OMS signature (looked for %s, *.sig, *.sigstore.json at the repository root), and the policy (signatures entry at line %d) requires one by %s: sign the model with `aigis sign` and add %s to the repository",
				in.RepoID, SignatureFile, req.Line, req.Describe(), SignatureFile)})
		case s != nil && !s.Verified:
			d.Reasons = append(d.Reasons, Reason{Code: CodeSignatureInvalid, Message: fmt.Sprintf(
				"the signature does not verify: %s. The policy (signatures entry at line %d) accepts %s: re-sign the exact files that are published, or ask the publisher which key they used",
				clip(s.Error, 400), req.Line, req.Describe())})
		}
	}

	p.evaluateFindings(in, &d, waiver, waive)

	if in.Incomplete && !p.incompleteAllow {
		msg := "the scan could not finish (a limit was hit, or a file is encrypted or unreadable), so the repository cannot be shown to be safe"
		var seen []string
		for _, f := range in.Findings {
			if f.RuleID == "scan-limit" || f.RuleID == "scan-unreadable" || f.RuleID == "archive-encrypted" {
				seen = append(seen, fmt.Sprintf("%s: %s", location(f), clip(f.Message, 120)))
			}
		}
		if len(seen) > 0 {
			slices.Sort(seen)
			msg += " (" + strings.Join(seen[:min(len(seen), 2)], "; ") + ")"
		}
		msg += ". See the scan report for what was skipped; an admin can raise the limits or set gate.incomplete: allow in the policy file"
		d.Reasons = append(d.Reasons, Reason{Code: CodeIncomplete, Message: msg})
	}

	lic := strings.ToLower(strings.TrimSpace(in.License))
	switch {
	case lic == "" && !p.unknownLicenseAllow:
		msg := "the model card declares no license (no `license:` in the README front matter)"
		if len(p.licenseList) > 0 {
			msg += "; the policy accepts " + strings.Join(p.licenseList, ", ")
		}
		d.Reasons = append(d.Reasons, Reason{Code: CodeLicense, Message: msg + ": ask the publisher to declare one, or an admin can set licenses.unknown: allow in the policy file"})
	case lic != "" && len(p.licenseList) > 0 && !p.licenseAllow[lic]:
		d.Reasons = append(d.Reasons, Reason{Code: CodeLicense, Message: fmt.Sprintf(
			"the license %q is not one the policy accepts (%s): check with your legal team; an admin can add it to licenses.allow in the policy file",
			clip(in.License, 100), strings.Join(p.licenseList, ", "))})
	}

	p.evaluateLimits(in, &d)

	for _, e := range active {
		if used[e] && e.Expires.Sub(in.Now) < expiringSoon {
			d.Warnings = append(d.Warnings, fmt.Sprintf("the exception for %s (policy line %d) expires on %s: renew it or fix the findings before then", exceptionScope(e), e.Line, e.ExpiresRaw))
		}
	}
	d.Allow = len(d.Reasons) == 0
	return d
}

func (p *Policy) evaluateFindings(in Input, d *Decision, waiver func(string) *Exception, waive func(*Exception, string, string)) {
	var gating []finding.Finding
	for _, f := range in.Findings {
		if f.Severity < p.failOn || p.ignoreRules[f.RuleID] {
			continue
		}
		// The lookalikes key decides about the repository's own id.
		if f.RuleID == RuleLookalike && strings.EqualFold(f.Evidence["model_id"], in.RepoID) {
			continue
		}
		if e := waiver(f.RuleID); e != nil {
			waive(e, f.RuleID, location(f))
			continue
		}
		gating = append(gating, f)
	}
	if len(gating) == 0 {
		return
	}
	// Most severe first, then by location, so the message is stable.
	slices.SortStableFunc(gating, func(a, b finding.Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		if c := strings.Compare(location(a), location(b)); c != 0 {
			return c
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
	counts := map[finding.Severity]int{}
	var rules []string
	for _, f := range gating {
		counts[f.Severity]++
		if !slices.Contains(rules, f.RuleID) {
			rules = append(rules, f.RuleID)
		}
	}
	slices.Sort(rules)
	var bySev []string
	for s := finding.Critical; s >= finding.Info; s-- {
		if counts[s] > 0 {
			bySev = append(bySev, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	noun := "findings"
	if len(gating) == 1 {
		noun = "finding"
	}
	var ex []string
	for _, f := range gating[:min(len(gating), maxExamples)] {
		ex = append(ex, fmt.Sprintf("%s in %s: %s", f.RuleID, location(f), clip(f.Message, 160)))
	}
	if n := len(gating) - maxExamples; n > 0 {
		ex = append(ex, fmt.Sprintf("and %d more", n))
	}
	d.Reasons = append(d.Reasons, Reason{Code: CodeFindings, Rules: rules, Message: fmt.Sprintf(
		"%s %s at or above the gate (%s) (%s) — see the findings page; if they are reviewed and safe, an admin can add an exception for rules %s in the policy file",
		strings.Join(bySev, " and "), noun, p.failOn, strings.Join(ex, "; "), strings.Join(rules, ", "))})
}

func (p *Policy) evaluateLimits(in Input, d *Decision) {
	l := p.limits
	if l.MaxFileSize > 0 {
		var big []File
		for _, f := range in.Files {
			if f.Size > l.MaxFileSize {
				big = append(big, f)
			}
		}
		if len(big) > 0 {
			slices.SortStableFunc(big, func(a, b File) int {
				if a.Size != b.Size {
					if a.Size > b.Size {
						return -1
					}
					return 1
				}
				return strings.Compare(a.Path, b.Path)
			})
			var names []string
			for _, f := range big[:min(len(big), maxExamples)] {
				names = append(names, fmt.Sprintf("%s (%s)", clip(f.Path, 200), FormatSize(f.Size)))
			}
			if n := len(big) - maxExamples; n > 0 {
				names = append(names, fmt.Sprintf("and %d more", n))
			}
			d.Reasons = append(d.Reasons, Reason{Code: CodeSizeLimit, Message: fmt.Sprintf(
				"%d %s larger than the policy's limits.max_file_size of %s: %s. An admin can raise the limit in the policy file",
				len(big), plural(len(big), "file is", "files are"), FormatSize(l.MaxFileSize), strings.Join(names, ", "))})
		}
	}
	if l.MaxTotalSize > 0 {
		var total int64
		for _, f := range in.Files {
			if f.Size > 0 {
				total += f.Size
				if total < 0 { // overflow: certainly over any limit
					total = 1<<63 - 1
					break
				}
			}
		}
		if total > l.MaxTotalSize {
			d.Reasons = append(d.Reasons, Reason{Code: CodeSizeLimit, Message: fmt.Sprintf(
				"the commit holds %s in %d files, more than the policy's limits.max_total_size of %s. An admin can raise the limit in the policy file",
				FormatSize(total), len(in.Files), FormatSize(l.MaxTotalSize))})
		}
	}
	if l.MaxFiles > 0 && len(in.Files) > l.MaxFiles {
		d.Reasons = append(d.Reasons, Reason{Code: CodeFileCount, Message: fmt.Sprintf(
			"the commit holds %d files, more than the policy's limits.max_files of %d. An admin can raise the limit in the policy file",
			len(in.Files), l.MaxFiles)})
	}
}

// AllowSource says whether repoID may be fetched from source at all, before
// anything is downloaded, and why (the message is for the user and the
// audit log either way).
func (p *Policy) AllowSource(repoID, source string) (bool, string) {
	if !validRepoID(repoID) {
		return false, fmt.Sprintf("%q is not a repository id: use org/name", clip(repoID, 100))
	}
	if !slices.Contains(knownSources, source) {
		return false, fmt.Sprintf("unknown source %q (the registry knows %s)", clip(source, 40), strings.Join(knownSources, ", "))
	}
	r := p.sources[source]
	if r == nil {
		return true, fmt.Sprintf("allowed: the policy does not restrict sources.%s", source)
	}
	for _, g := range r.deny {
		if g.match(repoID) {
			return false, fmt.Sprintf("%s is denied by the policy (sources.%s.deny %q, line %d): ask an admin if it should be allowed", repoID, source, g.text, g.line)
		}
	}
	if len(r.allow) == 0 {
		return true, fmt.Sprintf("allowed: sources.%s has no allow list and no deny pattern matches", source)
	}
	for _, g := range r.allow {
		if g.match(repoID) {
			return true, fmt.Sprintf("allowed by sources.%s.allow %q (line %d)", source, g.text, g.line)
		}
	}
	var pats []string
	for _, g := range r.allow[:min(len(r.allow), 5)] {
		pats = append(pats, g.text)
	}
	if len(r.allow) > 5 {
		pats = append(pats, "…")
	}
	return false, fmt.Sprintf("%s is not on the policy's list of allowed %s repositories (%s): ask an admin to add it to sources.%s.allow",
		repoID, source, strings.Join(pats, ", "), source)
}

func exceptionScope(e *Exception) string {
	s := e.Repo
	if e.Commit != "" {
		s += "@" + e.Commit[:min(len(e.Commit), 12)]
	}
	if len(e.Rules) > 0 {
		s += " (rules " + strings.Join(e.Rules, ", ") + ")"
	}
	return s
}

func location(f finding.Finding) string {
	if f.Member != "" {
		return f.Path + "!" + f.Member
	}
	return f.Path
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clip shortens s to at most n runes for a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// FormatSize writes a byte count for people: "512 B", "1.5 GiB".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
