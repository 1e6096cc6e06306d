package pyparse

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// logicalLine is a requirements line after joining continuations and
// removing comments. Line is the first physical line.
type logicalLine struct {
	text string
	line int
}

// stripComment removes a comment: '#' at the start of the line or after
// whitespace, to the end (pip's (^|\s+)#.*$).
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\v' || s[i-1] == '\f' || s[i-1] == '\r') {
			return s[:i]
		}
	}
	return s
}

// splitLines returns the logical lines of a requirements file the way pip
// reads them: a trailing '\' joins the next line (except on a comment line),
// then "#" at the start or after whitespace starts a comment.
func splitLines(data []byte, lim Limits, m *Manifest) ([]logicalLine, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []logicalLine
	var cur strings.Builder
	start, n := 0, 0
	tooLong := false
	flush := func() {
		if tooLong {
			m.Problems = append(m.Problems, Problem{Line: start, Msg: fmt.Sprintf("line longer than %d bytes skipped", lim.MaxLineBytes)})
		} else if t := strings.TrimSpace(stripComment(cur.String())); t != "" {
			out = append(out, logicalLine{text: t, line: start})
		}
		cur.Reset()
		start, tooLong = 0, false
	}
	for len(data) > 0 {
		n++
		if lim.MaxLines > 0 && n > lim.MaxLines {
			if start != 0 {
				m.Problems = append(m.Problems, Problem{Line: start, Msg: "line cut short by limit MaxLines skipped"})
			}
			m.Problems = append(m.Problems, Problem{Line: n - 1, Msg: fmt.Sprintf("limit MaxLines (%d) reached", lim.MaxLines)})
			return out, &safeio.LimitError{Limit: "MaxLines", Value: int64(lim.MaxLines), Detail: m.File}
		}
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if start == 0 {
			start = n
		}
		isComment := len(bytes.TrimLeft(raw, " \t")) > 0 && bytes.TrimLeft(raw, " \t")[0] == '#'
		cont := !isComment && bytes.HasSuffix(raw, []byte(`\`))
		if cont {
			raw = raw[:len(raw)-1]
		}
		if lim.MaxLineBytes > 0 && cur.Len()+len(raw) > lim.MaxLineBytes {
			tooLong = true
		}
		if !tooLong {
			cur.Write(raw)
		}
		if !cont {
			flush()
		}
	}
	if start != 0 {
		flush()
	}
	return out, nil
}

// reqOptions are pip's options that take a value, by every spelling.
var reqOptions = map[string]string{
	"-r": "-r", "--requirement": "-r",
	"-c": "-c", "--constraint": "-c",
	"-e": "-e", "--editable": "-e",
	"-i": "-i", "--index-url": "-i",
	"--extra-index-url": "--extra-index-url",
	"-f":                "-f", "--find-links": "-f",
	"--trusted-host":    "--trusted-host",
	"--hash":            "--hash",
	"--config-settings": "--config-settings",
	"-C":                "--config-settings",
	"--global-option":   "--global-option",
	"--install-option":  "--install-option",
	"--only-binary":     "--only-binary",
	"--no-binary":       "--no-binary",
	"--use-feature":     "--use-feature",
	"--platform":        "--platform",
}

// reqFlags are pip's options without a value.
var reqFlags = map[string]bool{
	"--no-index": true, "--pre": true, "--require-hashes": true,
	"--prefer-binary": true, "--no-deps": true,
}

// parseRequirements parses a pip requirements file (or a pip-tools .in
// file, or the pip: list of a conda file).
func parseRequirements(file string, data []byte, lim Limits) (*Manifest, error) {
	m := &Manifest{File: file, Kind: "requirements"}
	lines, err := splitLines(data, lim, m)
	for _, ll := range lines {
		if e := parseReqLine(m, ll.text, ll.line, "requirements", lim); e != nil {
			return m, e
		}
	}
	return m, err
}

// parseReqLine parses one logical requirements line into m.
func parseReqLine(m *Manifest, text string, line int, source string, lim Limits) error {
	toks := strings.Fields(text)
	argEnd := len(toks)
	for i, t := range toks {
		if strings.HasPrefix(t, "-") {
			argEnd = i
			break
		}
	}
	arg := strings.Join(toks[:argEnd], " ")
	var hashes []string
	var editable []string
	problem := func(format string, a ...any) {
		m.Problems = append(m.Problems, Problem{Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	for i := argEnd; i < len(toks); i++ {
		t := toks[i]
		name, val, hasVal := t, "", false
		if strings.HasPrefix(t, "--") {
			name, val, hasVal = strings.Cut(t, "=")
		} else if len(t) > 2 {
			name, val, hasVal = t[:2], strings.TrimPrefix(t[2:], "="), true
		}
		if reqFlags[name] {
			if hasVal {
				problem("option %s takes no value", name)
			}
			continue
		}
		canon, ok := reqOptions[name]
		if !ok {
			problem("unknown option %q", t)
			continue
		}
		if !hasVal {
			if i+1 >= len(toks) {
				problem("option %s needs a value", name)
				continue
			}
			i++
			val = toks[i]
		}
		switch canon {
		case "-r", "-c":
			m.Includes = append(m.Includes, resolveInclude(m.File, val))
		case "-e":
			editable = append(editable, val)
		case "-i", "--extra-index-url", "-f", "--trusted-host":
			kind := map[string]string{"-i": "index-url", "--extra-index-url": "extra-index-url", "-f": "find-links", "--trusted-host": "trusted-host"}[canon]
			m.Indexes = append(m.Indexes, Index{URL: val, Kind: kind, File: m.File, Line: line})
		case "--hash":
			if a, h, ok := strings.Cut(val, ":"); ok && a != "" && h != "" {
				hashes = appendUnique(hashes, val)
			} else {
				problem("malformed --hash %q (want algorithm:hex)", val)
			}
		}
	}
	add := func(r Requirement) error {
		if lim.MaxRequirements > 0 && len(m.Requirements) >= lim.MaxRequirements {
			problem("limit MaxRequirements (%d) reached", lim.MaxRequirements)
			return &safeio.LimitError{Limit: "MaxRequirements", Value: int64(lim.MaxRequirements), Detail: m.File}
		}
		r.File, r.Line, r.Source = m.File, line, source
		for _, h := range hashes {
			r.Hashes = appendUnique(r.Hashes, h)
		}
		m.Requirements = append(m.Requirements, r)
		return nil
	}
	for _, e := range editable {
		r, err := requirementOf(e)
		if err != nil {
			problem("-e %s: %v", e, err)
			continue
		}
		r.Editable = true
		if err := add(r); err != nil {
			return err
		}
	}
	if arg != "" {
		r, err := requirementOf(arg)
		if err != nil {
			problem("%v: %q", err, clip(arg))
			return nil
		}
		return add(r)
	}
	if len(hashes) > 0 && len(editable) == 0 {
		problem("--hash without a requirement")
	}
	return nil
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// requirementOf parses the requirement part of a line: a PEP 508 string, a
// URL, a VCS link or a local path.
func requirementOf(s string) (Requirement, error) {
	lower := strings.ToLower(s)
	isURL := schemeRE.MatchString(s) || strings.HasPrefix(lower, "git+") || strings.HasPrefix(lower, "hg+") ||
		strings.HasPrefix(lower, "svn+") || strings.HasPrefix(lower, "bzr+") || strings.HasPrefix(lower, "file:")
	isPath := strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") || strings.HasPrefix(s, `\`)
	if !isURL && !isPath {
		// "dir/sub" or "pkg-1.0.tar.gz": a path when '/' or an archive
		// extension comes before anything PEP 508 would read.
		head := s
		if j := strings.IndexAny(s, ";@[<>=!~ "); j >= 0 {
			head = s[:j]
		}
		isPath = strings.ContainsAny(head, `/\`) || nameFromFile(head) != ""
	}
	if !isURL && !isPath {
		p, err := parsePEP508(s)
		if err != nil {
			return Requirement{}, err
		}
		return requirementFrom(p), nil
	}
	// pip: the marker of a URL or path follows "; " (or whitespace then ';').
	u, marker := s, ""
	if j := strings.Index(s, "; "); j >= 0 {
		u, marker = s[:j], s[j+2:]
	} else if j := strings.Index(s, " ;"); j >= 0 {
		u, marker = s[:j], s[j+2:]
	}
	u = strings.TrimSpace(u)
	if strings.ContainsAny(u, " \t") {
		return Requirement{}, fmt.Errorf("unexpected space in URL or path %q", clip(u))
	}
	var r Requirement
	r.Marker = strings.TrimSpace(marker)
	// A local path may carry extras: "./pkg[dev]".
	if isPath && strings.HasSuffix(u, "]") {
		if j := strings.LastIndexByte(u, '['); j > 0 {
			for _, e := range strings.Split(u[j+1:len(u)-1], ",") {
				if e = strings.TrimSpace(e); e != "" {
					r.Extras = append(r.Extras, e)
				}
			}
			u = u[:j]
		}
	}
	setURL(&r, u)
	return r, nil
}

// resolveInclude resolves an -r/-c target relative to the including file;
// URLs and absolute paths are kept as written.
func resolveInclude(file, target string) string {
	if schemeRE.MatchString(target) || filepath.IsAbs(target) || path.IsAbs(target) {
		return target
	}
	return filepath.Join(filepath.Dir(file), target)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
