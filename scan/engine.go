// Package scan is the scan engine: it walks the inputs (files, folders,
// archives), recognises every file and member by its bytes, opens
// containers in place, hands each parsed artifact to the checkers that
// accept it and builds one report.
//
// Nothing is executed. Every read goes through the limits of safeio; a limit
// that is hit becomes a finding and an entry in Report.Incomplete.
package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aigis-sec/aigis/data/signals"
	depchecks "github.com/aigis-sec/aigis/deps/checks"
	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

// Options configure a scan.
type Options struct {
	Limits   safeio.Limits
	Checkers []checks.Checker // nil: checks.All()
	// HashLimit: files up to this size get a SHA-256 in the report
	// (hashing reads the whole file; the scan itself reads only what it
	// needs). A negative value hashes every file.
	HashLimit int64
	Workers   int
	// Deps runs the dependency checks (typosquats, hygiene, and OSV when
	// DepsOptions has a database) on the dependency files under each folder.
	Deps        bool
	DepsOptions depchecks.Options
}

// DefaultOptions are the options of `aigis scan` without flags.
func DefaultOptions() Options {
	return Options{Limits: safeio.Default(), HashLimit: 256 << 20, Deps: true}
}

// Scan scans every path (files or folders, recursively) and returns one
// report. Errors opening a path are recorded as incomplete, not returned;
// the error is only for a cancelled context.
func Scan(ctx context.Context, paths []string, opt Options) (*finding.Report, error) {
	if opt.Checkers == nil {
		opt.Checkers = checks.All()
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Limits == (safeio.Limits{}) {
		opt.Limits = safeio.Default()
	}
	rep := &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Targets:       []finding.Target{},
		Findings:      []finding.Finding{},
		Incomplete:    []finding.Incomplete{},
	}
	seen := map[string]bool{}
	if opt.Deps {
		for _, r := range depchecks.Rules() {
			seen[r.ID] = true
			rep.Rules = append(rep.Rules, r)
		}
	}
	for _, r := range signals.Rules() {
		if !seen[r.ID] {
			seen[r.ID] = true
			rep.Rules = append(rep.Rules, r)
		}
	}
	for _, c := range opt.Checkers {
		for _, r := range c.Rules() {
			if !seen[r.ID] {
				seen[r.ID] = true
				rep.Rules = append(rep.Rules, r)
			}
		}
	}

	jobs := make(chan job)
	am := &autoMaps{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := scanFile(ctx, j, opt, am)
				mu.Lock()
				rep.Targets = append(rep.Targets, res.target)
				rep.Findings = append(rep.Findings, res.findings...)
				rep.Incomplete = append(rep.Incomplete, res.incomplete...)
				mu.Unlock()
			}
		}()
	}
	walkErr := walk(ctx, paths, opt.Limits.MaxFiles, jobs, func(inc finding.Incomplete) {
		mu.Lock()
		rep.Incomplete = append(rep.Incomplete, inc)
		mu.Unlock()
	}, func(f finding.Finding) {
		mu.Lock()
		rep.Findings = append(rep.Findings, f)
		mu.Unlock()
	})
	close(jobs)
	wg.Wait()
	if opt.Deps {
		scanDeps(ctx, paths, opt, rep)
	}
	rep.Sort()
	if walkErr != nil {
		return rep, walkErr
	}
	return rep, ctx.Err()
}

type job struct {
	path   string // as reported: the argument joined with the path below it
	fsPath string // where to open it
	link   bool   // path is a symbolic link to fsPath
}

// oncePerFile keeps one job per file: a Hugging Face cache names each blob
// by hash under blobs/ and links to it from every snapshot. The name a
// user knows (the link in a snapshot) is kept; the order is by path.
func oncePerFile(files []job) []job {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	best := map[string]int{}
	var out []job
	for _, j := range files {
		key, err := filepath.Abs(j.fsPath)
		if err != nil {
			key = j.fsPath
		}
		if i, ok := best[key]; ok {
			if j.link && !out[i].link {
				out[i] = j
			}
			continue
		}
		best[key] = len(out)
		out = append(out, j)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// cacheRepoRoot widens the boundary for links when root is a snapshot of a
// Hugging Face cache (models--org--name/snapshots/<rev>): its files are
// links to ../../blobs/<hash>, inside the repository's cache folder.
func cacheRepoRoot(root string) string {
	for dir := root; ; {
		parent := filepath.Dir(dir)
		if parent == dir {
			return root
		}
		base := filepath.Base(parent)
		if filepath.Base(dir) == "snapshots" && (strings.HasPrefix(base, "models--") ||
			strings.HasPrefix(base, "datasets--") || strings.HasPrefix(base, "spaces--")) {
			return parent
		}
		dir = parent
	}
}

// walk sends every regular file below paths to jobs. Links are followed
// only when they stay inside the folder being walked; a link out of the
// tree is reported, never read.
func walk(ctx context.Context, paths []string, maxFiles int, jobs chan<- job, incomplete func(finding.Incomplete), found func(finding.Finding)) error {
	count := 0
	send := func(j job) bool {
		count++
		if maxFiles > 0 && count > maxFiles {
			if count == maxFiles+1 {
				incomplete(finding.Incomplete{Path: j.path, Reason: (&safeio.LimitError{Limit: "MaxFiles", Value: int64(maxFiles)}).Error()})
			}
			return false
		}
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, arg := range paths {
		info, err := os.Stat(arg) // the user named it: follow a link given on the command line
		if err != nil {
			incomplete(finding.Incomplete{Path: arg, Reason: describeOSError(err)})
			continue
		}
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				incomplete(finding.Incomplete{Path: arg, Reason: "not a regular file"})
				continue
			}
			if !send(job{path: arg, fsPath: arg}) {
				return ctx.Err()
			}
			continue
		}
		root, err := filepath.EvalSymlinks(arg)
		if err != nil {
			incomplete(finding.Incomplete{Path: arg, Reason: describeOSError(err)})
			continue
		}
		root, _ = filepath.Abs(root)
		root = cacheRepoRoot(root)
		var files []job
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				incomplete(finding.Incomplete{Path: p, Reason: describeOSError(err)})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case d.IsDir():
				if id, ok := cacheRepoID(d.Name()); ok {
					for _, f := range checks.CheckModelID(finding.Location{Path: p}, id, "the cached repository") {
						found(f)
					}
				}
				return nil
			case d.Type()&fs.ModeSymlink != 0:
				target, err := filepath.EvalSymlinks(p)
				if err != nil {
					incomplete(finding.Incomplete{Path: p, Reason: "broken link: " + describeOSError(err)})
					return nil
				}
				abs, _ := filepath.Abs(target)
				if !within(root, abs) {
					found(finding.New(checks.RuleLinkOutside, checks.RuleLinkOutside.Severity, finding.Location{Path: p},
						fmt.Sprintf("link to %s, outside the scanned folder: not followed", target),
						map[string]string{"target": target}))
					return nil
				}
				if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
					return nil // a link to a folder inside the tree: its files are walked there
				}
				files = append(files, job{path: p, fsPath: abs, link: true})
			case d.Type().IsRegular():
				files = append(files, job{path: p, fsPath: p})
			}
			return nil
		})
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		for _, j := range oncePerFile(files) {
			if !send(j) {
				return ctx.Err()
			}
		}
	}
	return nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func describeOSError(err error) string {
	switch {
	case os.IsNotExist(err):
		return "no such file or folder"
	case os.IsPermission(err):
		return "permission denied: check the file's permissions or run as a user who can read it"
	}
	return err.Error()
}

type fileResult struct {
	target     finding.Target
	findings   []finding.Finding
	incomplete []finding.Incomplete
}

func scanFile(ctx context.Context, j job, opt Options, am *autoMaps) fileResult {
	res := fileResult{target: finding.Target{Path: j.path, Kind: "unknown"}}
	f, err := os.Open(j.fsPath)
	if err != nil {
		res.incomplete = append(res.incomplete, finding.Incomplete{Path: j.path, Reason: describeOSError(err)})
		return res
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		res.incomplete = append(res.incomplete, finding.Incomplete{Path: j.path, Reason: describeOSError(err)})
		return res
	}
	res.target.Size = st.Size()
	if opt.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opt.Limits.Timeout,
			&safeio.LimitError{Limit: "Timeout", Value: int64(opt.Limits.Timeout / time.Second), Detail: "seconds to analyse one file"})
		defer cancel()
	}
	s := &session{ctx: ctx, opt: opt, total: opt.Limits.MaxTotalBytes, autoMap: am}
	kind := s.blob(blob{loc: finding.Location{Path: j.path}, ra: f, size: st.Size(), osPath: j.fsPath})
	res.target.Kind = kind
	res.findings = s.findings
	res.incomplete = s.incomplete
	if opt.HashLimit < 0 || st.Size() <= opt.HashLimit {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err == nil {
			res.target.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
	}
	return res
}

// cacheRepoID reads the model id of a Hugging Face cache folder name:
// models--org--name is org/name.
func cacheRepoID(dir string) (string, bool) {
	rest, ok := strings.CutPrefix(dir, "models--")
	if !ok || rest == "" {
		return "", false
	}
	return strings.Replace(rest, "--", "/", 1), true
}

// scanDeps runs the dependency checks on the dependency files under every
// folder argument, so one scan covers models and packages.
func scanDeps(ctx context.Context, paths []string, opt Options, rep *finding.Report) {
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		ms, err := pyparse.ParseTree(p, pyparse.DefaultLimits())
		if err != nil {
			rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: p, Reason: "dependency files: " + err.Error()})
		}
		if len(ms) == 0 {
			continue
		}
		for _, m := range ms {
			for _, pr := range m.Problems {
				rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: m.File, Reason: fmt.Sprintf("line %d not understood: %s", pr.Line, pr.Msg)})
			}
		}
		fs, inc := depchecks.CheckContext(ctx, ms, opt.DepsOptions)
		rep.Findings = append(rep.Findings, fs...)
		rep.Incomplete = append(rep.Incomplete, inc...)
	}
}
