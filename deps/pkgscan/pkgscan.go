// Package pkgscan looks inside a Python package for the code that malicious
// packages run, without running any of it.
//
// Scan takes what a user is about to install or has installed: an sdist
// (.tar.gz, .zip), a wheel (.whl), an unpacked source tree, or a
// site-packages folder with its *.dist-info and *.egg-info records. It
// re-expresses the source-code rule families of DataDog's GuardDog on the
// static analysis of format/pysrc (imports resolved, constants folded,
// base64/zlib/marshal payloads decoded), not on regular expressions:
//
//   - install time: setup.py that replaces install/develop/egg_info/build
//     commands (cmdclass) or runs commands, downloads or exec at module level;
//     .pth files whose import lines site.py executes at every Python start;
//   - import time: modules that run commands, exec, network calls or file
//     writes when imported (module level, or functions module level calls);
//   - obfuscated exec, reverse shells, DNS exfiltration, credential files or
//     the environment sent over the network;
//   - bundled programs (ELF, PE, Mach-O, curl | sh scripts), with compiled
//     extension modules in platform wheels told apart from them;
//   - light metadata checks (name mismatch, home page domain).
//
// What a call means is decided by scan/checks.CheckPython; this package adds
// when it runs for a package (install, import, or only when called) and maps
// it to the pkg-* rules listed by Rules. Every read is bounded by
// safeio.Limits; a limit that is hit becomes a scan-limit finding.
package pkgscan

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/compress"
	"github.com/aigis-sec/aigis/format/zipx"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

// Kinds of input.
const (
	kindSdist        = "sdist"
	kindWheel        = "wheel"
	kindSource       = "source"        // an unpacked source tree with setup.py or pyproject.toml
	kindSitePackages = "site-packages" // installed distributions
)

const (
	headBytes      = 4096     // bytes read from every file to recognise programs
	maxSourceBytes = 16 << 20 // bytes of one text file analysed
	maxFindings    = 2000     // findings kept for one input
)

// ErrNotPackage is returned when path is a file that is neither a zip nor a
// (compressed) tar archive.
var ErrNotPackage = errors.New("pkgscan: not a Python package archive or folder")

type scanner struct {
	ctx      context.Context
	lim      safeio.Limits
	kind     string
	base     string // file name of the archive
	total    int64  // bytes read below the input
	platform bool   // a wheel whose platform tag is not "any"
	out      []finding.Finding
	dropped  int
	hook     bool // setup.py overrides a command
	noDesc   *finding.Location
}

// Scan reports what the Python package at path does at install and import
// time. path is an sdist, a wheel, a source tree or a site-packages folder.
// The error is about path as a whole (missing, unreadable, not a package,
// context cancelled); problems inside it are findings.
func Scan(ctx context.Context, path string, lim safeio.Limits) ([]finding.Finding, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pkgscan: %w", err)
	}
	s := &scanner{ctx: ctx, lim: lim, base: filepath.Base(path)}
	if st.IsDir() {
		err = s.dir(path)
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("pkgscan: %w", err)
		}
		defer f.Close()
		err = s.file(path, f, st.Size())
	}
	s.finish()
	return s.out, err
}

func (s *scanner) add(f finding.Finding) {
	if len(s.out) >= maxFindings {
		s.dropped++
		return
	}
	s.out = append(s.out, f)
}

func (s *scanner) limit(loc finding.Location, err error) {
	if le, ok := safeio.IsLimit(err); ok {
		s.add(finding.New(checks.RuleLimit, checks.RuleLimit.Severity, loc, "part of the package was not analysed: "+le.Error(),
			map[string]string{"limit": le.Limit}))
		return
	}
	s.add(finding.New(checks.RuleUnreadable, checks.RuleUnreadable.Severity, loc, err.Error(), nil))
}

func (s *scanner) finish() {
	if s.hook && s.noDesc != nil {
		s.add(finding.New(RuleMetadata, finding.Medium, *s.noDesc,
			"the package has no description and its setup.py overrides an install command: a throw-away package built to run code at install",
			map[string]string{"check": "empty-description-with-hook"}))
	}
	if s.dropped > 0 {
		s.out = append(s.out, finding.New(checks.RuleLimit, checks.RuleLimit.Severity, finding.Location{Path: s.base},
			fmt.Sprintf("%d more findings were not kept", s.dropped), map[string]string{"limit": "findings"}))
	}
	slices.SortStableFunc(s.out, finding.CompareLocation)
}

// file opens an archive.
func (s *scanner) file(p string, f io.ReaderAt, size int64) error {
	head := make([]byte, 512)
	n, _ := io.ReadFull(io.NewSectionReader(f, 0, size), head)
	head = head[:n]
	root := finding.Location{Path: p}
	switch {
	case zipx.Sniff(head):
		s.kind = kindSdist
		if strings.HasSuffix(strings.ToLower(p), ".whl") {
			s.kind = kindWheel
			s.platform = wheelPlatform(filepath.Base(p))
		}
		return s.zip(root, f, size)
	case isTar(head):
		s.kind = kindSdist
		return s.tar(root, io.NewSectionReader(f, 0, size))
	}
	if k, ok := compress.Sniff(head); ok {
		s.kind = kindSdist
		tl := s.lim
		tl.MaxMemberBytes = s.lim.MaxTotalBytes // the whole tar stream is one member
		r, err := compress.NewReader(k, io.NewSectionReader(f, 0, size), size, tl)
		if err != nil {
			return fmt.Errorf("pkgscan: %s: %w", p, err)
		}
		defer r.Close()
		return s.tar(root, r)
	}
	return fmt.Errorf("%w: %s", ErrNotPackage, p)
}

func isTar(head []byte) bool {
	return len(head) >= 263 && bytes.Equal(head[257:262], []byte("ustar"))
}

// wheelPlatform reports whether a wheel file name carries a platform tag:
// name-version(-build)?-python-abi-platform.whl.
func wheelPlatform(name string) bool {
	parts := strings.Split(strings.TrimSuffix(name, ".whl"), "-")
	return len(parts) >= 5 && parts[len(parts)-1] != "any"
}

func (s *scanner) tar(root finding.Location, r io.Reader) error {
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if s.lim.MaxEntries > 0 && n >= s.lim.MaxEntries {
			s.limit(root, &safeio.LimitError{Limit: "MaxEntries", Value: int64(s.lim.MaxEntries)})
			return nil
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			s.limit(root, fmt.Errorf("tar: %w", err))
			return nil
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if err := s.member(root.Child(name), name, h.Size, tr); err != nil {
			s.limit(root.Child(name), err) // the stream itself is broken or exhausted
			return nil
		}
	}
}

func (s *scanner) zip(root finding.Location, f io.ReaderAt, size int64) error {
	a, err := zipx.Open(f, size, zipx.LimitsFrom(s.lim))
	if a == nil {
		if errors.Is(err, zipx.ErrNotZip) {
			return fmt.Errorf("%w: %v", ErrNotPackage, err)
		}
		return fmt.Errorf("pkgscan: %w", err)
	}
	if err != nil {
		s.limit(root, err)
	}
	for _, e := range a.Entries {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(e.Name, "/") {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(e.Name, "\\", "/")), "/")
		loc := root.Child(name)
		r, err := a.Open(e)
		if err != nil {
			s.limit(loc, fmt.Errorf("zip member %s: %w", name, err))
			continue
		}
		var rd io.Reader = safeio.RatioReader(r, int64(e.CompressedSize), s.lim.MaxRatio)
		if s.lim.MaxRatio <= 0 {
			rd = r
		}
		err = s.member(loc, name, int64(e.UncompressedSize), rd)
		r.Close()
		if err != nil {
			s.limit(loc, err)
			if le, ok := safeio.IsLimit(err); ok && le.Limit == "MaxTotalBytes" {
				return nil
			}
		}
	}
	return nil
}

func (s *scanner) dir(root string) error {
	s.kind = kindSitePackages
	for _, n := range []string{"setup.py", "pyproject.toml", "setup.cfg", "PKG-INFO"} {
		if _, err := os.Stat(filepath.Join(root, n)); err == nil {
			s.kind = kindSource
		}
	}
	files := 0
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := s.ctx.Err(); cerr != nil {
			return cerr
		}
		rel, _ := filepath.Rel(root, p)
		loc := finding.Location{Path: p}
		if err != nil {
			s.limit(loc, err)
			return nil
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == ".git" || n == "__pycache__" || n == ".hg" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() { // symlinks are not followed
			return nil
		}
		files++
		if s.lim.MaxFiles > 0 && files > s.lim.MaxFiles {
			s.limit(finding.Location{Path: root}, &safeio.LimitError{Limit: "MaxFiles", Value: int64(s.lim.MaxFiles)})
			return filepath.SkipAll
		}
		f, err := os.Open(p)
		if err != nil {
			s.limit(loc, err)
			return nil
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			s.limit(loc, err)
			return nil
		}
		if err := s.member(loc, filepath.ToSlash(rel), info.Size(), f); err != nil {
			s.limit(loc, err)
			if le, ok := safeio.IsLimit(err); ok && le.Limit == "MaxTotalBytes" {
				return filepath.SkipAll
			}
		}
		return nil
	})
}

// textKind says how a member is analysed from its name.
func textKind(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	dir := path.Dir(name)
	switch {
	case strings.HasSuffix(base, ".py") || strings.HasSuffix(base, ".pyw"):
		return "python"
	case strings.HasSuffix(base, ".pth"):
		return "pth"
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"),
		base == "PKG-INFO" && (strings.HasSuffix(dir, ".egg-info") || strings.Count(name, "/") <= 1):
		return "metadata"
	case strings.HasSuffix(base, ".sh") || strings.HasSuffix(base, ".bash"):
		return "shell"
	}
	return ""
}

// member reads one file of the package: a head for every file, all of it
// for the text that is analysed.
func (s *scanner) member(loc finding.Location, name string, size int64, r io.Reader) error {
	kind := textKind(name)
	memberCap := int64(maxSourceBytes)
	if s.lim.MaxMemberBytes > 0 && s.lim.MaxMemberBytes < memberCap {
		memberCap = s.lim.MaxMemberBytes
	}
	want := int64(headBytes)
	if kind != "" {
		want = memberCap
	}
	if s.lim.MaxTotalBytes > 0 {
		left := s.lim.MaxTotalBytes - s.total
		if left <= 0 {
			return &safeio.LimitError{Limit: "MaxTotalBytes", Value: s.lim.MaxTotalBytes}
		}
		want = min(want, left)
	}
	buf, err := readUpTo(r, want)
	s.total += int64(len(buf))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if kind == "" && len(buf) >= 2 && buf[0] == '#' && buf[1] == '!' {
		kind = "shell"
		rest, err := readUpTo(r, memberCap-int64(len(buf)))
		s.total += int64(len(rest))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		buf = append(buf, rest...)
	}
	if kind != "" && int64(len(buf)) == want && size > want {
		s.limit(loc, &safeio.LimitError{Limit: "MaxMemberBytes", Value: want, Detail: name + " analysed in part"})
	}
	s.binary(loc, name, buf)
	switch kind {
	case "python":
		role := roleModule
		if name == "setup.py" && s.kind == kindSource || s.kind == kindSdist && strings.Count(name, "/") <= 1 && path.Base(name) == "setup.py" {
			role = roleSetup
		}
		s.python(loc, buf, role)
	case "pth":
		s.pth(loc, name, buf)
	case "metadata":
		s.metadata(loc, name, buf)
	case "shell":
		s.shell(loc, name, buf)
	}
	return nil
}

// readUpTo reads at most n bytes of r.
func readUpTo(r io.Reader, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(io.LimitReader(r, n))
	return b.Bytes(), err
}
