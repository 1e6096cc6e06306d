// Package checks turns parsed Python dependency files ([pyparse.Manifest])
// into findings: known-malicious and vulnerable packages (OSV), typosquats
// of popular packages, hallucinated (slopsquatted) and brand-new names,
// unsafe package indexes (dependency confusion, plain http, trusted hosts),
// and weak pinning (no exact version, no hash, VCS or URL without a commit,
// lock entries from unexpected sources).
//
// It is policy only: pyparse says what the files declare, osv and pypi say
// what the advisory database and the registry know, and this package decides
// what is worth reporting and how severe it is. Every finding points at the
// dependency file with the line in its message and in evidence["line"].
//
//	fs := checks.Check(manifests, checks.Options{OSV: db, Snapshot: snap})
//
// Offline by default: network sources (OSVOnline, PyPI) are used only when
// set, and their failures are returned by [CheckContext] as incomplete work.
//
// Typosquat decisions (see typosquat.go and popular.txt): names in the
// popular list never match each other, so torchvision is not a typo of
// torch, and faiss-gpu not of faiss-cpu; scikit_learn normalises to
// scikit-learn and is the same project; pandera is three edits from pandas
// and is not reported (it is also listed as popular), while pandar is one
// edit away and is.
package checks

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/deps/osv"
	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/deps/pypi"
	"github.com/aigis-sec/aigis/finding"
)

// Options are the data sources of a check. Every field is optional.
type Options struct {
	OSV       *osv.DB        // offline advisories
	OSVOnline *osv.Client    // osv.dev, when online
	PyPI      *pypi.Client   // PyPI JSON API, when online
	Snapshot  *pypi.Snapshot // registry names, offline existence check
	// Popular are the names typosquats imitate; nil means the embedded
	// list (DefaultPopular).
	Popular []string
	// Now is the time new packages are measured against (default time.Now).
	Now time.Time
}

// Thresholds of dep-new-package.
const (
	newPackageAge      = 30 * 24 * time.Hour
	newPackageReleases = 2
)

// Check runs every dependency check on ms. Failures of network sources are
// dropped; use [CheckContext] to learn about them.
func Check(ms []*pyparse.Manifest, opt Options) []finding.Finding {
	fs, _ := CheckContext(context.Background(), ms, opt)
	return fs
}

// CheckContext is [Check] with a context for network sources; it also
// returns what could not be checked (an advisory or registry query that
// failed), for the report's incomplete list.
func CheckContext(ctx context.Context, ms []*pyparse.Manifest, opt Options) ([]finding.Finding, []finding.Incomplete) {
	c := &checker{opt: opt, projects: map[string]*pypi.Project{}, projectErr: map[string]error{}}
	if c.opt.Now.IsZero() {
		c.opt.Now = time.Now()
	}
	pop := opt.Popular
	if pop == nil {
		pop = DefaultPopular()
	}
	c.pop = newPopularIndex(pop)
	c.expectedHosts = map[string]bool{"pypi.org": true, "files.pythonhosted.org": true, "pypi.python.org": true}
	for _, m := range ms {
		if m == nil {
			continue
		}
		for _, ix := range m.Indexes {
			if u, err := url.Parse(ix.URL); err == nil && u.Hostname() != "" {
				c.expectedHosts[strings.ToLower(u.Hostname())] = true
			}
		}
	}
	c.online(ctx, ms)
	for _, m := range ms {
		if m == nil {
			continue
		}
		c.manifest(ctx, m)
	}
	sort.SliceStable(c.out, func(i, j int) bool {
		a, b := c.out[i], c.out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		la, _ := strconv.Atoi(a.Evidence["line"])
		lb, _ := strconv.Atoi(b.Evidence["line"])
		if la != lb {
			return la < lb
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.RuleID < b.RuleID
	})
	return c.out, c.incomplete
}

type checker struct {
	opt           Options
	pop           *popularIndex
	expectedHosts map[string]bool
	onlineVulns   map[osv.Package][]osv.Vuln
	projects      map[string]*pypi.Project
	projectErr    map[string]error
	out           []finding.Finding
	incomplete    []finding.Incomplete
}

func reqName(r *pyparse.Requirement) string {
	if r.Normalized != "" {
		return r.Normalized
	}
	return pyparse.Normalize(r.Name)
}

// online asks osv.dev about every named requirement in one batch.
func (c *checker) online(ctx context.Context, ms []*pyparse.Manifest) {
	if c.opt.OSVOnline == nil {
		return
	}
	seen := map[osv.Package]bool{}
	var pkgs []osv.Package
	for _, m := range ms {
		if m == nil {
			continue
		}
		for i := range m.Requirements {
			r := &m.Requirements[i]
			p := osv.Package{Name: reqName(r), Version: r.Version}
			if p.Name == "" || seen[p] {
				continue
			}
			seen[p] = true
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		return
	}
	res, err := c.opt.OSVOnline.QueryBatch(ctx, pkgs)
	if err != nil {
		c.incomplete = append(c.incomplete, finding.Incomplete{Path: ms[0].File, Reason: fmt.Sprintf("osv.dev query failed, vulnerabilities not checked online: %v", err)})
		return
	}
	c.onlineVulns = make(map[osv.Package][]osv.Vuln, len(pkgs))
	for i, p := range pkgs {
		c.onlineVulns[p] = res[i]
	}
}

func (c *checker) manifest(ctx context.Context, m *pyparse.Manifest) {
	hashed := false
	privatePrimary := false
	for _, ix := range m.Indexes {
		if ix.Kind == "index-url" && !c.isPyPIHost(ix.URL) {
			privatePrimary = true
		}
	}
	for _, r := range m.Requirements {
		if len(r.Hashes) > 0 {
			hashed = true
		}
	}
	for _, ix := range m.Indexes {
		c.index(m, ix)
	}
	for i := range m.Requirements {
		c.requirement(ctx, m, &m.Requirements[i], hashed, privatePrimary)
	}
}

func (c *checker) isPyPIHost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == "pypi.org" || h == "files.pythonhosted.org" || h == "pypi.python.org"
}

// emit adds a finding of rule r at the file and line.
func (c *checker) emit(r finding.Rule, sev finding.Severity, file string, line int, msg string, ev map[string]string) {
	if ev == nil {
		ev = map[string]string{}
	}
	ev["line"] = strconv.Itoa(line)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	c.out = append(c.out, finding.New(r, sev, finding.Location{Path: file, Offset: 0}, msg, ev))
}

// redact hides credentials in a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("REDACTED")
	return u.String()
}

func (c *checker) index(m *pyparse.Manifest, ix pyparse.Index) {
	file := ix.File
	if file == "" {
		file = m.File
	}
	shown := redact(ix.URL)
	ev := map[string]string{"kind": ix.Kind}
	if ix.URL != "" {
		ev["url"] = shown
	}
	u, _ := url.Parse(ix.URL)
	if u != nil && u.User != nil {
		if _, hasPass := u.User.Password(); hasPass || u.User.Username() != "" {
			c.emit(RuleIndex, finding.High, file, ix.Line, fmt.Sprintf("the index URL %s carries credentials, which leak with this file", shown), ev)
		}
	}
	switch {
	case ix.Kind == "trusted-host":
		c.emit(RuleIndex, finding.High, file, ix.Line, fmt.Sprintf("--trusted-host %s turns off certificate checks: anyone on the network path can serve other packages", ix.URL), ev)
		return
	case ix.Kind == "extra-index-url":
		c.emit(RuleIndex, finding.High, file, ix.Line, fmt.Sprintf("--extra-index-url %s: pip picks the highest version across all indexes, so a public package with a private package's name wins (dependency confusion)", shown), ev)
	case ix.Strategy == "unsafe-best-match" || ix.Strategy == "unsafe-first-match":
		ev["strategy"] = ix.Strategy
		c.emit(RuleIndex, finding.High, file, ix.Line, fmt.Sprintf("uv index-strategy %q looks for each package on every index, so a public package can shadow a private one (dependency confusion); the default first-index is safe", ix.Strategy), ev)
	case ix.Kind == "find-links" && u != nil && (u.Scheme == "http" || u.Scheme == "https"):
		c.emit(RuleIndex, finding.Medium, file, ix.Line, fmt.Sprintf("--find-links %s adds a remote source of packages that competes with the index", shown), ev)
	}
	if u != nil && u.Scheme == "http" && !isLocalHost(u.Hostname()) {
		c.emit(RuleIndex, finding.High, file, ix.Line, fmt.Sprintf("the index %s is plain http: packages can be replaced in transit", shown), ev)
	}
}

func isLocalHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

var commitRe = regexp.MustCompile(`^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$`)

func (c *checker) requirement(ctx context.Context, m *pyparse.Manifest, r *pyparse.Requirement, hashed, privatePrimary bool) {
	file := r.File
	if file == "" {
		file = m.File
	}
	name := reqName(r)
	display := r.Name
	if display == "" {
		display = name
	}
	if r.Version != "" {
		display += "==" + r.Version
	}
	base := func() map[string]string {
		ev := map[string]string{"package": name}
		if r.Version != "" {
			ev["version"] = r.Version
		}
		return ev
	}

	// Advisories (PyPI's: a conda package of the same name is another project).
	if name != "" && !condaOnly(r) {
		vulns := c.opt.OSV.Query(name, r.Version)
		if c.onlineVulns != nil {
			vulns = mergeVulns(vulns, c.onlineVulns[osv.Package{Name: name, Version: r.Version}])
		}
		for _, v := range vulns {
			ev := base()
			ev["advisory"] = v.ID
			if len(v.Aliases) > 0 {
				ev["aliases"] = strings.Join(v.Aliases, ",")
			}
			if v.Malicious {
				c.emit(RuleMalicious, finding.Critical, file, r.Line, fmt.Sprintf("%s is a known malicious package (%s): %s", display, v.ID, v.Summary), ev)
				continue
			}
			sev := finding.High
			score, known := v.Score()
			if known {
				ev["cvss"] = strconv.FormatFloat(score, 'f', 1, 64)
				if score < 7 {
					sev = finding.Medium
				}
			}
			fix := "no fixed version is known"
			if len(v.FixedIn) > 0 {
				ev["fixed_in"] = strings.Join(v.FixedIn, ",")
				fix = "fixed in " + strings.Join(v.FixedIn, ", ")
			}
			c.emit(RuleVulnerable, sev, file, r.Line, fmt.Sprintf("%s is affected by %s (%s); %s", display, v.ID, v.Summary, fix), ev)
		}
	}

	fromIndex := r.URL == "" && r.VCS == "" && !r.Editable
	if name != "" && fromIndex && !condaOnly(r) {
		c.names(ctx, file, r, name, display, base, privatePrimary || c.privateIndex(r.Index))
	}

	// Pinning.
	switch {
	case r.VCS != "":
		if !commitRe.MatchString(r.Ref) {
			ev := base()
			ev["url"] = redact(r.URL)
			what := "no revision, so the default branch is installed"
			if r.Ref != "" {
				ev["ref"] = r.Ref
				what = fmt.Sprintf("the revision %q is not a full commit id and can move", r.Ref)
			}
			c.emit(RuleVCSUnpinned, finding.Medium, file, r.Line, fmt.Sprintf("%s comes from %s with %s", orName(display, r.URL), r.VCS, what), ev)
		}
	case r.URL != "" && !r.Locked:
		u, err := url.Parse(r.URL)
		remote := err == nil && (u.Scheme == "http" || u.Scheme == "https")
		if remote && len(r.Hashes) == 0 && !strings.Contains(u.Fragment, "sha256=") {
			ev := base()
			ev["url"] = redact(r.URL)
			c.emit(RuleVCSUnpinned, finding.Medium, file, r.Line, fmt.Sprintf("%s is downloaded from %s without a #sha256= hash", orName(display, r.URL), redact(r.URL)), ev)
		}
	case r.Locked:
		// A lock pins by construction.
	case r.Version == "" && !r.Editable && name != "":
		sev := finding.Medium
		if r.Source != "requirements" {
			sev = finding.Low
		}
		ev := base()
		if r.Specifier != "" {
			ev["specifier"] = r.Specifier
		}
		spec := "no version constraint"
		if r.Specifier != "" {
			spec = "only " + r.Specifier
		}
		c.emit(RuleUnpinned, sev, file, r.Line, fmt.Sprintf("%s has %s: each install may get a different release", display, spec), ev)
	}

	// Hashes.
	if r.Version != "" && len(r.Hashes) == 0 && r.URL == "" && r.VCS == "" && !r.Editable {
		if r.Locked && r.Index != "" {
			c.emit(RuleUnhashed, finding.Low, file, r.Line, fmt.Sprintf("the lock entry %s has no hash, so a replaced artefact would install", display), base())
		} else if !r.Locked && hashed {
			c.emit(RuleUnhashed, finding.Low, file, r.Line, fmt.Sprintf("%s has no --hash while other lines do: pip's hash-checking mode will refuse it, and it is not protected", display), base())
		}
	}

	// Lock sources.
	if r.Locked {
		for _, src := range []string{r.Index, r.URL} {
			u, err := url.Parse(src)
			if src == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			}
			host := strings.ToLower(u.Hostname())
			ev := base()
			ev["source"] = redact(src)
			switch {
			case u.Scheme == "http" && !isLocalHost(host):
				c.emit(RuleLockSource, finding.Medium, file, r.Line, fmt.Sprintf("the lock entry %s comes from %s over plain http", display, redact(src)), ev)
			case !c.expectedHosts[host] && r.VCS == "":
				c.emit(RuleLockSource, finding.Medium, file, r.Line, fmt.Sprintf("the lock entry %s comes from %s, which is neither PyPI nor an index the project declares", display, host), ev)
			default:
				continue
			}
			break
		}
	}
}

// condaOnly is a conda package (not one of environment.yml's pip:
// entries): its name is a conda-forge/anaconda name, not a PyPI one.
func condaOnly(r *pyparse.Requirement) bool {
	return r.Source == "conda" && r.Group != "pip"
}

// privateIndex reports whether a lock entry's recorded index is a URL
// other than PyPI (Pipfile.lock names indexes, such as "pypi", instead).
func (c *checker) privateIndex(ix string) bool {
	u, err := url.Parse(ix)
	if ix == "" || err != nil || u.Hostname() == "" {
		return false
	}
	return !c.isPyPIHost(ix)
}

func orName(display, u string) string {
	if display != "" {
		return display
	}
	return redact(u)
}

// names runs the name checks: typosquats, existence and age, hallucinated
// shapes. private is true when the package may legitimately come from a
// private index, where PyPI's view of the name says nothing.
func (c *checker) names(ctx context.Context, file string, r *pyparse.Requirement, name, display string, base func() map[string]string, private bool) {
	if sq, ok := c.pop.typosquat(name); ok {
		ev := base()
		ev["imitates"] = sq.Target
		ev["technique"] = sq.Technique
		c.emit(RuleTyposquat, finding.High, file, r.Line, fmt.Sprintf("%s looks like the popular package %s (%s)", display, sq.Target, sq.Technique), ev)
	}
	if private {
		return
	}
	hallucinated := false
	if c.opt.Snapshot != nil && !c.opt.Snapshot.Exists(name) {
		ev := base()
		ev["registry"] = "snapshot"
		c.emit(RuleHallucinated, finding.High, file, r.Line, fmt.Sprintf("%s is not in the registry snapshot: it does not exist (a typo or a hallucinated name that anyone can register)", display), ev)
		hallucinated = true
	}
	var proj *pypi.Project
	if c.opt.PyPI != nil {
		proj = c.project(ctx, file, name)
		switch {
		case proj == nil:
		case !proj.Exists && !hallucinated:
			ev := base()
			ev["registry"] = "pypi"
			c.emit(RuleHallucinated, finding.High, file, r.Line, fmt.Sprintf("%s does not exist on PyPI (404): a typo or a hallucinated name that anyone can register", display), ev)
			hallucinated = true
		case proj.Exists:
			young := !proj.FirstUpload.IsZero() && c.opt.Now.Sub(proj.FirstUpload) < newPackageAge
			if young || proj.Releases <= newPackageReleases {
				ev := base()
				ev["releases"] = strconv.Itoa(proj.Releases)
				what := fmt.Sprintf("has only %d release(s)", proj.Releases)
				if !proj.FirstUpload.IsZero() {
					ev["first_upload"] = proj.FirstUpload.UTC().Format(time.RFC3339)
					days := int(c.opt.Now.Sub(proj.FirstUpload).Hours() / 24)
					what = fmt.Sprintf("was first released %d day(s) ago and has %d release(s)", days, proj.Releases)
				}
				c.emit(RuleNewPackage, finding.Medium, file, r.Line, fmt.Sprintf("%s %s", display, what), ev)
			}
		}
	}
	if hallucinated {
		return
	}
	if target, ok := c.pop.hallucinatedShape(name); ok {
		if proj != nil && proj.Exists && established(proj, c.opt.Now) {
			return
		}
		ev := base()
		ev["imitates"] = target
		c.emit(RuleHallucinated, finding.High, file, r.Line, fmt.Sprintf("%s has the shape of a name code assistants invent around %s (like huggingface-cli for huggingface-hub[cli]); such names get registered by attackers", display, target), ev)
	}
}

// established is a project that is old, released several times, and
// links a repository: the signals a squatted hallucination lacks.
func established(p *pypi.Project, now time.Time) bool {
	return p.Releases > newPackageReleases && !p.FirstUpload.IsZero() && now.Sub(p.FirstUpload) > 90*24*time.Hour && p.HasRepository
}

func (c *checker) project(ctx context.Context, file, name string) *pypi.Project {
	if p, ok := c.projects[name]; ok {
		return p
	}
	if _, failed := c.projectErr[name]; failed {
		return nil
	}
	p, err := c.opt.PyPI.Project(ctx, name)
	if err != nil {
		c.projectErr[name] = err
		c.incomplete = append(c.incomplete, finding.Incomplete{Path: file, Reason: fmt.Sprintf("PyPI lookup of %s failed: %v", name, err)})
		return nil
	}
	c.projects[name] = p
	return p
}

// mergeVulns adds the online advisories not already found offline.
func mergeVulns(a, b []osv.Vuln) []osv.Vuln {
	known := map[string]bool{}
	for _, v := range a {
		known[v.ID] = true
		for _, al := range v.Aliases {
			known[al] = true
		}
	}
	for _, v := range b {
		if known[v.ID] {
			continue
		}
		dup := false
		for _, al := range v.Aliases {
			dup = dup || known[al]
		}
		if !dup {
			a = append(a, v)
			known[v.ID] = true
		}
	}
	return a
}
