package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
)

// MonitorOptions configure RunMonitor.
type MonitorOptions struct {
	// UpstreamEvery is how often pinned upstream branches and tags are
	// compared with upstream; 0 never.
	UpstreamEvery time.Duration
}

// RunMonitor keeps stored artifacts judged under the current rules and
// policy, and watches upstream branches, until ctx is cancelled. At start it
// queues a re-judgement of every decided revision whose policy or ruleset
// version is not the current one (so an upgrade of aigis or a new policy
// re-scans everything); then it checks upstream every UpstreamEvery.
func (s *Server) RunMonitor(ctx context.Context, opt MonitorOptions) {
	if n, err := s.RejudgeStale(ctx); err != nil {
		s.log.Error("queue re-judgements", "err", err)
	} else if n > 0 {
		s.log.Info("re-judging revisions decided under other rules or policy", "revisions", n)
	}
	var upstream <-chan time.Time
	if opt.UpstreamEvery > 0 {
		t := time.NewTicker(opt.UpstreamEvery)
		defer t.Stop()
		upstream = t.C
	}
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-upstream:
			if _, err := s.CheckUpstream(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("check upstream", "err", err)
			}
		case <-sweep.C:
			s.sweepUploads(ctx)
		}
	}
}

// sweepUploads removes the remains of interrupted uploads from the blob
// store (the filesystem's tmp files, S3's tmp/ objects and multipart
// uploads) once they are an hour old.
func (s *Server) sweepUploads(ctx context.Context) {
	c, ok := s.cfg.Blobs.(interface {
		CleanupTemp(context.Context, time.Duration) (int, error)
	})
	if !ok {
		return
	}
	if n, err := c.CleanupTemp(ctx, time.Hour); err != nil {
		s.log.Error("sweep interrupted uploads", "err", err)
	} else if n > 0 {
		s.log.Info("swept interrupted uploads", "removed", n)
	}
}

// maxMonitored bounds the revisions one pass looks at per status.
const maxMonitored = 1_000_000

// RejudgeStale queues a re-judgement of every approved or quarantined
// revision decided under another policy or ruleset version, and returns how
// many it queued.
func (s *Server) RejudgeStale(ctx context.Context) (int, error) {
	pv := s.Policy().Version()
	n := 0
	for _, st := range []store.Status{store.Approved, store.Quarantined} {
		revs, err := s.cfg.Store.ListRevisionsByStatus(ctx, st, maxMonitored)
		if err != nil {
			return n, err
		}
		for _, rv := range revs {
			if rv.PolicyVersion == pv && rv.RulesetVersion == s.ruleset {
				continue
			}
			if strings.HasPrefix(rv.Reason, "rejected by ") {
				continue // a person's decision; rules do not lift it
			}
			typ, repo := splitKey(rv.RepoID)
			if err := s.enqueue(ctx, jobRejudge, typ, repo, rv.Commit, ""); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// SetPolicy puts a new policy in force, records the change in the audit log,
// and queues the re-judgement of every stored revision.
func (s *Server) SetPolicy(ctx context.Context, p *policy.Policy, actor string) (int, error) {
	old := s.Policy().Version()
	if _, err := s.cfg.Audit.Append(s.entry(actor, "policy.update", "policy", map[string]string{"from": old, "to": p.Version()})); err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	s.policyMu.Lock()
	s.policy = p
	s.policyMu.Unlock()
	return s.RejudgeStale(ctx)
}

// CheckUpstream compares every pinned upstream branch or tag with upstream.
// A branch that moved yields a candidate revision, fetched and judged like
// any other; the branch this registry serves stays on its approved commit
// until the candidate is approved. It returns how many moved.
func (s *Server) CheckUpstream(ctx context.Context) (int, error) {
	if s.cfg.Upstream == "" {
		return 0, nil
	}
	moved := 0
	cursor := ""
	for {
		repos, next, err := s.cfg.Store.ListRepos(ctx, cursor, 500)
		if err != nil {
			return moved, err
		}
		for _, rp := range repos {
			if rp.Source != store.Upstream {
				continue
			}
			n, err := s.checkRepo(ctx, rp)
			if err != nil {
				s.log.Warn("check upstream repository", "repo", rp.ID, "err", err)
			}
			moved += n
		}
		if next == "" {
			return moved, nil
		}
		cursor = next
	}
}

func (s *Server) checkRepo(ctx context.Context, rp store.Repo) (int, error) {
	typ, repo := splitKey(rp.ID)
	refs, err := s.cfg.Store.ListRefs(ctx, rp.ID)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, ref := range refs {
		name, ok := strings.CutPrefix(ref.Name, upstreamRefPrefix)
		if !ok || hub.IsCommit(name) {
			continue
		}
		commit, err := s.upstreamCommit(ctx, typ, repo, name)
		if err != nil {
			var ue *upstreamError
			if errors.As(err, &ue) {
				s.log.Warn("upstream branch unreadable", "repo", repo, "ref", name, "err", ue.msg)
				continue
			}
			return moved, err
		}
		if commit == ref.Commit {
			continue
		}
		moved++
		details := map[string]string{"ref": name, "from": ref.Commit, "to": commit, "upstream": s.cfg.Upstream}
		if _, err := s.cfg.Audit.Append(s.entry("system:monitor", "upstream.moved", subjectRevision(typ, repo, commit), details)); err != nil {
			return moved, fmt.Errorf("audit: %w", err)
		}
		s.hooks.send("upstream.moved", subjectRevision(typ, repo, commit), details)
		if err := s.cfg.Store.PutRevision(ctx, store.Revision{RepoID: rp.ID, Commit: commit, Ref: ref.Name, Status: store.Pending, CreatedBy: "system:monitor"}); err != nil {
			return moved, err
		}
		if err := s.enqueue(ctx, jobIngest, typ, repo, commit, name); err != nil {
			return moved, err
		}
	}
	return moved, nil
}
