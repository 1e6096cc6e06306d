package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/scan"
)

// awaitingApproval starts the reason of an internal revision that passed the
// scan and the policy and waits for its reviewers.
const awaitingApproval = "awaiting approval"

// judge scans a stored revision, applies the policy and records the
// decision. rejudge is a re-evaluation of a decided revision under new rules
// or a new policy: an approved revision stays served while it runs.
func (s *Server) judge(ctx context.Context, p jobPayload, commit string, rejudge bool) error {
	key := repoKey(p.Type, p.Repo)
	rev, err := s.cfg.Store.GetRevision(ctx, key, commit)
	if err != nil {
		return err
	}
	repo, err := s.cfg.Store.GetRepo(ctx, key)
	if err != nil {
		return err
	}
	if !rejudge {
		switch rev.Status {
		case store.Pending:
			if err := s.setStatus(ctx, key, commit, store.Scanning, "scanning", "system:scanner"); err != nil {
				return err
			}
		case store.Scanning:
		default:
			return nil // decided meanwhile
		}
	}
	dir, files, cleanup, err := s.materialize(ctx, key, commit)
	if err != nil {
		if !rejudge {
			return s.fail(ctx, p, commit, err)
		}
		return err
	}
	defer cleanup()
	rep, err := scan.Scan(ctx, []string{dir}, *s.cfg.ScanOptions)
	if err != nil {
		if !rejudge {
			return s.fail(ctx, p, commit, err)
		}
		return err
	}
	relativize(rep, dir)
	pol := s.Policy()
	in := s.policyInput(p, commit, nil, files)
	in.Source = string(repo.Source)
	in.Findings = rep.Findings
	in.Incomplete = len(rep.Incomplete) > 0
	in.License = cardLicense(filepath.Join(dir, "README.md"))
	if req := pol.SignatureRequirement(p.Repo); req != nil {
		in.Signature = policy.VerifySignature(ctx, dir, req)
	}
	dec := pol.Evaluate(in)

	if err := s.cfg.Store.PutFindings(ctx, key, commit, rep.Findings); err != nil {
		return err
	}
	scanDetails := map[string]string{"findings": fmt.Sprint(len(rep.Findings)), "incomplete": fmt.Sprint(len(rep.Incomplete)), "ruleset": s.ruleset}
	if m, ok := rep.Max(); ok {
		scanDetails["max_severity"] = m.String()
	}
	if _, err := s.cfg.Audit.Append(s.entry("system:scanner", "artifact.scan", subjectRevision(p.Type, p.Repo, commit), scanDetails)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}

	reason := decisionReason(dec)
	decDetails := map[string]string{"decision": "deny", "reason": reason, "policy": dec.PolicyVersion, "ruleset": s.ruleset}
	if dec.Allow {
		decDetails["decision"] = "allow"
	}
	if len(dec.Waived) > 0 {
		decDetails["waived"] = fmt.Sprint(len(dec.Waived))
	}
	if in.Signature != nil {
		decDetails["signature"] = fmt.Sprintf("verified=%t method=%s signer=%s", in.Signature.Verified, in.Signature.Method, in.Signature.Signer)
	}

	var next store.Status
	switch {
	case !dec.Allow:
		next = store.Quarantined
	case repo.Source == store.Internal && !(rejudge && rev.Status == store.Approved):
		n, err := s.approvalCount(ctx, key, commit, rev.CreatedBy)
		if err != nil {
			return err
		}
		if n >= s.cfg.Approvals {
			next = store.Approved
		} else {
			next, reason = store.Quarantined, fmt.Sprintf("%s: %d of %d reviewer approvals", awaitingApproval, n, s.cfg.Approvals)
		}
	default:
		next = store.Approved
	}
	if rejudge && rev.Status == store.Quarantined {
		// A quarantine a person decided (a rejection) stands until a
		// person lifts it; the system only lifts its own.
		hist, err := s.cfg.Store.StatusHistory(ctx, key, commit)
		if err != nil {
			return err
		}
		if len(hist) > 0 && !strings.HasPrefix(hist[len(hist)-1].Actor, "system:") {
			next, reason = store.Quarantined, rev.Reason
		}
	}
	decDetails["status"] = string(next)
	if _, err := s.cfg.Audit.Append(s.entry("system:policy", "artifact.decision", subjectRevision(p.Type, p.Repo, commit), decDetails)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := s.setStatusVersions(ctx, key, commit, next, reason, "system:policy", dec.PolicyVersion); err != nil {
		return err
	}
	if next == store.Quarantined && !strings.HasPrefix(reason, awaitingApproval) && rev.Status != store.Quarantined {
		event := "artifact.quarantined"
		if rejudge && rev.Status == store.Approved {
			event = "artifact.newly-failing"
		}
		s.hooks.send(event, subjectRevision(p.Type, p.Repo, commit), decDetails)
	}
	if next == store.Approved && repo.Source == store.Upstream && p.Rev != "" && !hub.IsCommit(p.Rev) {
		if err := s.pinRef(ctx, p, commit); err != nil {
			return err
		}
	}
	return nil
}

// pinRef points a served branch or tag at a newly approved commit.
func (s *Server) pinRef(ctx context.Context, p jobPayload, commit string) error {
	key := repoKey(p.Type, p.Repo)
	old, err := s.cfg.Store.ResolveRef(ctx, key, p.Rev)
	if err == nil && old == commit {
		return nil
	}
	details := map[string]string{"ref": p.Rev, "to": commit}
	if err == nil {
		details["from"] = old
	}
	if _, err := s.cfg.Audit.Append(s.entry("system:policy", "ref.move", subjectRevision(p.Type, p.Repo, commit), details)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := s.cfg.Store.PutRevision(ctx, store.Revision{RepoID: key, Commit: commit, Ref: p.Rev}); err != nil {
		return err
	}
	if details["from"] != "" {
		s.hooks.send("ref.moved", subjectRevision(p.Type, p.Repo, commit), details)
	}
	s.notifyChanged()
	return nil
}

// approvalCount counts distinct approvers other than the revision's creator.
func (s *Server) approvalCount(ctx context.Context, key, commit, createdBy string) (int, error) {
	as, err := s.cfg.Store.Approvals(ctx, key, commit)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, a := range as {
		if a.Approver != createdBy {
			seen[a.Approver] = true
		}
	}
	return len(seen), nil
}

func (s *Server) policyInput(p jobPayload, commit string, hfFiles []hub.File, files []store.File) policy.Input {
	in := policy.Input{RepoID: p.Repo, RepoType: p.Type, Source: string(store.Upstream), Commit: commit, Now: s.cfg.Now()}
	for _, f := range hfFiles {
		in.Files = append(in.Files, policy.File{Path: f.Path, Size: f.Size})
	}
	for _, f := range files {
		in.Files = append(in.Files, policy.File{Path: f.Path, Size: f.Size})
	}
	return in
}

// earlyReasons are the refusals known before downloading anything.
func earlyReasons(d policy.Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		switch r.Code {
		case "source-denied", "lookalike", "size-limit", "file-count":
			out = append(out, r.Message)
		}
	}
	return out
}

func decisionReason(d policy.Decision) string {
	if d.Allow {
		if len(d.Waived) > 0 {
			return fmt.Sprintf("approved by policy %s with %d waived findings", d.PolicyVersion, len(d.Waived))
		}
		return "approved by policy " + d.PolicyVersion
	}
	msgs := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		msgs = append(msgs, r.Message)
	}
	return strings.Join(msgs, "; ")
}

// quarantine records a refusal decided before the scan.
func (s *Server) quarantine(ctx context.Context, p jobPayload, commit, reason, actor string) error {
	subject := subjectRevision(p.Type, p.Repo, commit)
	details := map[string]string{"decision": "deny", "reason": reason, "policy": s.Policy().Version(), "ruleset": s.ruleset, "status": string(store.Quarantined)}
	if _, err := s.cfg.Audit.Append(s.entry(actor, "artifact.decision", subject, details)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := s.setStatus(ctx, repoKey(p.Type, p.Repo), commit, store.Quarantined, reason, actor); err != nil {
		return err
	}
	s.hooks.send("artifact.quarantined", subject, details)
	return nil
}

func (s *Server) setStatus(ctx context.Context, key, commit string, st store.Status, reason, actor string) error {
	return s.setStatusVersions(ctx, key, commit, st, reason, actor, s.Policy().Version())
}

func (s *Server) setStatusVersions(ctx context.Context, key, commit string, st store.Status, reason, actor, policyVersion string) error {
	err := s.cfg.Store.SetStatus(ctx, store.StatusChange{RepoID: key, Commit: commit, Status: st, Reason: reason,
		PolicyVersion: policyVersion, RulesetVersion: s.ruleset, Actor: actor})
	if err == nil {
		s.notifyChanged()
	}
	return err
}

// relativize makes the report's paths relative to the scanned folder, so
// findings name repository paths.
func relativize(rep *finding.Report, dir string) {
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
		return p
	}
	for i := range rep.Findings {
		rep.Findings[i].Path = rel(rep.Findings[i].Path)
	}
	for i := range rep.Incomplete {
		rep.Incomplete[i].Path = rel(rep.Incomplete[i].Path)
	}
	for i := range rep.Targets {
		rep.Targets[i].Path = rel(rep.Targets[i].Path)
	}
}

// maxCardHead is how much of a model card cardLicense reads: the front
// matter is at the top, and a card is upstream's bytes, of any size.
const maxCardHead = 64 << 10

// cardLicense reads `license:` from a model card's YAML front matter.
func cardLicense(readme string) string {
	f, err := os.Open(readme)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCardHead))
	if err != nil || !bytes.HasPrefix(b, []byte("---")) {
		return ""
	}
	for _, line := range strings.Split(string(b[3:]), "\n")[1:] {
		if strings.TrimSpace(line) == "---" {
			break
		}
		if v, ok := strings.CutPrefix(line, "license:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// rulesetVersion identifies the rules the scanner applies: a digest of the
// rule ids and severities an empty scan reports, and the aigis version.
// Decisions record it; a new version triggers re-judging.
func rulesetVersion(ctx context.Context, opt scan.Options, workDir, toolVersion string) (string, error) {
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return "", fmt.Errorf("server: work dir: %w", err)
	}
	dir, err := os.MkdirTemp(workDir, "rules-")
	if err != nil {
		return "", fmt.Errorf("server: work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	rep, err := scan.Scan(ctx, []string{dir}, opt)
	if err != nil {
		return "", err
	}
	ids := make([]string, 0, len(rep.Rules))
	for _, r := range rep.Rules {
		ids = append(ids, fmt.Sprintf("%s=%s", r.ID, r.Severity))
	}
	sort.Strings(ids)
	h := sha256.Sum256([]byte(toolVersion + "\n" + strings.Join(ids, "\n")))
	return "rules-" + hex.EncodeToString(h[:6]), nil
}
