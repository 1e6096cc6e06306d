package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	depchecks "github.com/aigis-sec/aigis/deps/checks"
	"github.com/aigis-sec/aigis/deps/osv"
	"github.com/aigis-sec/aigis/deps/pkgscan"
	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/deps/pypi"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/report"
)

func newDepsCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		format, output, failOn    string
		osvDB, snapshot, popular  string
		osvURL, pypiURL, cacheDir string
		online                    bool
		packages                  []string
	)
	c := &cobra.Command{
		Use:   "deps PATH",
		Short: "Vet a project's Python dependencies: vulnerable, malicious, typosquatted, hallucinated, unpinned",
		Long: `Read every Python dependency file under PATH (requirements*.txt with its
includes, pyproject.toml, poetry.lock, uv.lock, Pipfile.lock, pylock.toml,
environment.yml, setup.cfg) and report, with file and line:

  known vulnerabilities and malicious packages (OSV): offline from the OSV
    database you download (--osv-db PyPI-all.zip or a folder of JSON
    records), or online (--online, osv.dev);
  typosquats of popular packages (an embedded list, or --popular FILE);
  hallucinated names: not in a registry snapshot you provide
    (--registry-snapshot) or, with --online, not on PyPI, or registered days
    ago;
  dependency confusion and hygiene: extra or plain-http indexes, trusted
    hosts, unsafe uv index strategies, unpinned or unhashed requirements,
    VCS links without a commit, lock entries from unexpected sources.

--package scans a package's source (an sdist, a wheel, or a site-packages
folder) for install hooks, exec of decoded payloads, reverse shells,
exfiltration and bundled executables.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2
usage error; 3 a file or an online source could not be read.`,
		Example: `  aigis deps .
  aigis deps . --osv-db ~/Downloads/PyPI-all.zip
  aigis deps . --online --format sarif --output deps.sarif
  aigis deps . --package dist/mypkg-1.0.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gate, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			if !validFormat(format, report.Formats()) {
				return usagef("--format %q: use one of %s", format, strings.Join(report.Formats(), ", "))
			}
			opt := depchecks.Options{}
			if osvDB != "" {
				st, err := os.Stat(osvDB)
				if err != nil {
					return usagef("--osv-db: %v (download PyPI/all.zip from the OSV bucket)", err)
				}
				if st.IsDir() {
					opt.OSV, err = osv.OpenDir(osvDB)
				} else {
					opt.OSV, err = osv.OpenZip(osvDB)
				}
				if err != nil {
					return usagef("--osv-db %s: %v", osvDB, err)
				}
			}
			if snapshot != "" {
				if opt.Snapshot, err = readFlagFile("--registry-snapshot", snapshot, pypi.LoadSnapshot); err != nil {
					return err
				}
			}
			if popular != "" {
				if opt.Popular, err = readFlagFile("--popular", popular, depchecks.LoadPopular); err != nil {
					return err
				}
			}
			if online {
				if cacheDir == "" {
					if d, err := os.UserCacheDir(); err == nil {
						cacheDir = filepath.Join(d, "aigis")
					}
				}
				opt.OSVOnline = &osv.Client{BaseURL: osvURL, Cache: subdir(cacheDir, "osv")}
				opt.PyPI = &pypi.Client{BaseURL: pypiURL, Cache: subdir(cacheDir, "pypi")}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "aigis", Version: version()},
				Targets: []finding.Target{}, Findings: []finding.Finding{}, Incomplete: []finding.Incomplete{},
				Rules: append(depchecks.Rules(), pkgscan.Rules()...)}
			ms, err := pyparse.ParseTree(args[0], pyparse.DefaultLimits())
			if err != nil {
				rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: args[0], Reason: err.Error()})
			}
			for _, m := range ms {
				rep.Targets = append(rep.Targets, finding.Target{Path: m.File, Kind: m.Kind})
				for _, p := range m.Problems {
					rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: m.File, Reason: fmt.Sprintf("line %d not understood: %s", p.Line, p.Msg)})
				}
			}
			fs, inc := depchecks.CheckContext(ctx, ms, opt)
			rep.Findings = append(rep.Findings, fs...)
			rep.Incomplete = append(rep.Incomplete, inc...)
			for _, p := range packages {
				pf, err := pkgscan.Scan(ctx, p, safeio.Default())
				rep.Targets = append(rep.Targets, finding.Target{Path: p, Kind: "python-package"})
				rep.Findings = append(rep.Findings, pf...)
				if err != nil {
					rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: p, Reason: err.Error()})
				}
			}
			if len(ms) == 0 && len(packages) == 0 {
				fmt.Fprintf(stderr, "aigis: deps: no dependency files under %s\n", args[0])
			}
			rep.Sort()
			return writeReport(stdout, output, format, rep, gate)
		},
	}
	f := c.Flags()
	f.StringVarP(&format, "format", "f", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	f.StringVar(&failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity")
	f.StringVar(&osvDB, "osv-db", "", "OSV database for offline advisories: the PyPI all.zip, or a folder of OSV JSON records")
	f.BoolVar(&online, "online", false, "ask osv.dev and PyPI (advisories, existence, age of packages)")
	f.StringVar(&osvURL, "osv-url", "", "with --online: the OSV API base URL (default https://api.osv.dev)")
	f.StringVar(&pypiURL, "pypi-url", "", "with --online: the PyPI base URL (default https://pypi.org)")
	f.StringVar(&cacheDir, "cache-dir", "", "with --online: cache folder for answers (default the user cache folder)")
	f.StringVar(&snapshot, "registry-snapshot", "", "file of PyPI project names (one per line, or the simple index JSON): names not in it are reported as hallucinated")
	f.StringVar(&popular, "popular", "", "file of popular package names that typosquats imitate (default: the embedded list)")
	f.StringArrayVar(&packages, "package", nil, "a package source to scan: sdist, wheel or site-packages folder; repeatable")
	return c
}

func subdir(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}
