package pyparse

import (
	"fmt"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// tomlBuilder collects requirements of a TOML file with their lines.
type tomlBuilder struct {
	m      *Manifest
	loc    *locator
	lim    Limits
	source string
	err    error // a limit hit
}

func (b *tomlBuilder) problem(off int, format string, a ...any) {
	b.m.Problems = append(b.m.Problems, Problem{Line: b.loc.line(off), Msg: fmt.Sprintf(format, a...)})
}

func (b *tomlBuilder) add(r Requirement, off int) bool {
	if b.err != nil {
		return false
	}
	if b.lim.MaxRequirements > 0 && len(b.m.Requirements) >= b.lim.MaxRequirements {
		b.problem(off, "limit MaxRequirements (%d) reached", b.lim.MaxRequirements)
		b.err = &safeio.LimitError{Limit: "MaxRequirements", Value: int64(b.lim.MaxRequirements), Detail: b.m.File}
		return false
	}
	r.File, r.Line, r.Source = b.m.File, b.loc.line(off), b.source
	if r.Normalized == "" && r.Name != "" {
		r.Normalized = Normalize(r.Name)
	}
	b.m.Requirements = append(b.m.Requirements, r)
	return true
}

// pep508List adds the PEP 508 strings of arr, found after offset from.
func (b *tomlBuilder) pep508List(arr any, from int, group, what string) {
	a, ok := arr.([]any)
	if !ok {
		if arr != nil {
			b.problem(from, "%s is not an array", what)
		}
		return
	}
	cur := from
	lost := false // once a string is not found, stop searching: no quadratic scans
	for _, v := range a {
		s, ok := v.(string)
		if !ok {
			if t, ok := v.(map[string]any); ok && str(t, "include-group") != "" {
				continue // PEP 735: the included group is listed on its own
			}
			b.problem(from, "%s: entry %v is not a string", what, v)
			continue
		}
		off := -1
		if !lost {
			off = b.loc.str(cur, s)
		}
		if off < 0 {
			off, lost = from, true
		} else {
			cur = off + len(s)
		}
		p, err := parsePEP508(s)
		if err != nil {
			b.problem(off, "%s: %v: %q", what, err, clip(s))
			continue
		}
		r := requirementFrom(p)
		r.Group = group
		if !b.add(r, off) {
			return
		}
	}
}

// parsePyproject reads PEP 621, PEP 735, PEP 518, Poetry and uv tables.
func parsePyproject(file string, data []byte, lim Limits) (*Manifest, error) {
	doc, err := decodeTOML(data, lim)
	if err != nil {
		return nil, err
	}
	m := &Manifest{File: file}
	b := &tomlBuilder{m: m, loc: newLocator(data), lim: lim, source: "pyproject"}
	l := b.loc

	// PEP 518 build requirements run code at build time: keep them.
	if bs := tbl(doc, "build-system"); bs != nil {
		h := l.header("build-system")
		b.pep508List(bs["requires"], l.key(h, "requires", h >= 0), "build-system", "build-system.requires")
	}

	// PEP 621.
	if p := tbl(doc, "project"); p != nil {
		h := l.header("project")
		b.pep508List(p["dependencies"], l.key(h, "dependencies", h >= 0), "", "project.dependencies")
		if od := tbl(p, "optional-dependencies"); od != nil {
			oh := l.header("project.optional-dependencies")
			if oh < 0 {
				oh = h
			}
			keys := l.sectionKeys(oh)
			for _, g := range sortedKeys(od) {
				off, ok := keys[g]
				if !ok {
					off = oh
				}
				b.pep508List(od[g], off, g, "project.optional-dependencies."+g)
			}
		}
	}

	// PEP 735.
	if dg := tbl(doc, "dependency-groups"); dg != nil {
		h := l.header("dependency-groups")
		keys := l.sectionKeys(h)
		for _, g := range sortedKeys(dg) {
			off, ok := keys[g]
			if !ok {
				off = h
			}
			b.pep508List(dg[g], off, g, "dependency-groups."+g)
			for _, v := range list(dg, g) {
				if t, ok := v.(map[string]any); ok {
					if inc := str(t, "include-group"); inc != "" && dg[inc] == nil {
						b.problem(off, "dependency-groups.%s includes unknown group %q", g, inc)
					}
				}
			}
		}
	}

	if poetry := tbl(doc, "tool", "poetry"); poetry != nil {
		poetryDeps(b, tbl(poetry, "dependencies"), "tool.poetry.dependencies", "")
		poetryDeps(b, tbl(poetry, "dev-dependencies"), "tool.poetry.dev-dependencies", "dev")
		groups := tbl(poetry, "group")
		for _, g := range sortedKeys(groups) {
			poetryDeps(b, tbl(groups, g, "dependencies"), "tool.poetry.group."+g+".dependencies", g)
		}
		hs := l.headers("tool.poetry.source")
		for i, v := range list(poetry, "source") {
			s, ok := v.(map[string]any)
			if !ok {
				continue
			}
			off := -1
			if i < len(hs) {
				off = hs[i]
			}
			prio := str(s, "priority")
			if prio == "" {
				// Poetry < 1.5 flags.
				if boolean(s, "default") {
					prio = "default"
				} else if boolean(s, "secondary") {
					prio = "secondary"
				}
			}
			m.Indexes = append(m.Indexes, Index{URL: str(s, "url"), Kind: "poetry-source", Name: str(s, "name"), Priority: prio, File: file, Line: l.line(l.key(off, "url", true))})
		}
	}

	if uv := tbl(doc, "tool", "uv"); uv != nil {
		uvTool(b, uv)
	}
	return m, b.err
}

// poetryDeps reads a Poetry dependency table: name = "^1.0" or
// name = {version, extras, markers, git, rev, tag, branch, path, url,
// source, develop} or an array of such tables.
func poetryDeps(b *tomlBuilder, deps map[string]any, section, group string) {
	if deps == nil {
		return
	}
	h := b.loc.header(section)
	keys := map[string]int{}
	if h >= 0 {
		keys = b.loc.sectionKeys(h)
	}
	for _, name := range sortedKeys(deps) {
		if strings.EqualFold(name, "python") {
			continue // the Python constraint, not a package
		}
		off, ok := keys[name]
		if !ok {
			off = -1
		}
		if off < 0 {
			off = b.loc.header(section + "." + name)
		}
		if off < 0 {
			off = h
		}
		var specs []any
		switch v := deps[name].(type) {
		case []any:
			specs = v
		default:
			specs = []any{v}
		}
		for _, spec := range specs {
			r := Requirement{Name: name, Group: group}
			if !validProjectName(name) {
				b.problem(off, "%s: invalid project name %q", section, name)
				break
			}
			switch v := spec.(type) {
			case string:
				r.Specifier = strings.Join(strings.Fields(v), "")
			case map[string]any:
				r.Specifier = strings.Join(strings.Fields(str(v, "version")), "")
				for _, e := range list(v, "extras") {
					if s, ok := e.(string); ok {
						r.Extras = append(r.Extras, s)
					}
				}
				r.Marker = str(v, "markers")
				if py := str(v, "python"); py != "" && r.Marker == "" {
					r.Marker = "python_version " + py
				}
				r.Index = str(v, "source")
				r.Editable = boolean(v, "develop")
				switch {
				case str(v, "git") != "":
					r.URL, r.VCS = str(v, "git"), "git"
					r.Ref = firstNonEmpty(str(v, "rev"), str(v, "tag"), str(v, "branch"))
				case str(v, "url") != "":
					setURL(&r, str(v, "url"))
				case str(v, "path") != "":
					r.URL = str(v, "path")
				}
			default:
				b.problem(off, "%s.%s: unexpected value %v", section, name, spec)
				continue
			}
			r.Version = poetryPinned(r.Specifier)
			if !b.add(r, off) {
				return
			}
		}
	}
}

// poetryPinned returns the version of a Poetry constraint that allows one
// version: "1.2.3", "==1.2.3" or "===1.2.3".
func poetryPinned(spec string) string {
	if v := pinned(spec); v != "" {
		return v
	}
	if spec == "" || strings.ContainsAny(spec, "^~<>=!*,| ") {
		return ""
	}
	if c := spec[0]; c < '0' || c > '9' {
		return ""
	}
	return spec
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// uvTool reads [tool.uv]: indexes, the index strategy, sources and the
// dependency lists uv adds.
func uvTool(b *tomlBuilder, uv map[string]any) {
	l, m := b.loc, b.m
	h := l.header("tool.uv")
	strategy := str(uv, "index-strategy")
	n := len(m.Indexes)
	hs := l.headers("tool.uv.index")
	for i, v := range list(uv, "index") {
		t, ok := v.(map[string]any)
		if !ok {
			continue
		}
		off := -1
		if i < len(hs) {
			off = l.key(hs[i], "url", true)
		}
		prio := ""
		switch {
		case boolean(t, "explicit"):
			prio = "explicit"
		case boolean(t, "default"):
			prio = "default"
		}
		m.Indexes = append(m.Indexes, Index{URL: str(t, "url"), Kind: "uv-index", Name: str(t, "name"), Priority: prio, Strategy: strategy, File: m.File, Line: l.line(off)})
	}
	// Older spellings of the same settings.
	if u := str(uv, "index-url"); u != "" {
		m.Indexes = append(m.Indexes, Index{URL: u, Kind: "index-url", Strategy: strategy, File: m.File, Line: l.line(l.key(h, "index-url", h >= 0))})
	}
	for k, kind := range map[string]string{"extra-index-url": "extra-index-url", "find-links": "find-links"} {
		off := l.key(h, k, h >= 0)
		for _, v := range list(uv, k) {
			if s, ok := v.(string); ok {
				m.Indexes = append(m.Indexes, Index{URL: s, Kind: kind, Strategy: strategy, File: m.File, Line: l.line(l.str(off, s))})
			}
		}
	}
	if strategy != "" && len(m.Indexes) == n {
		m.Indexes = append(m.Indexes, Index{Kind: "uv-index-strategy", Strategy: strategy, File: m.File, Line: l.line(l.key(h, "index-strategy", h >= 0))})
	}
	b.pep508List(uv["dev-dependencies"], l.key(h, "dev-dependencies", h >= 0), "dev", "tool.uv.dev-dependencies")
	b.pep508List(uv["constraint-dependencies"], l.key(h, "constraint-dependencies", h >= 0), "uv-constraint", "tool.uv.constraint-dependencies")
	b.pep508List(uv["override-dependencies"], l.key(h, "override-dependencies", h >= 0), "uv-override", "tool.uv.override-dependencies")

	// [tool.uv.sources] redirect declared requirements.
	sources := tbl(uv, "sources")
	for name, v := range sources {
		src, ok := v.(map[string]any)
		if !ok {
			if a, ok := v.([]any); ok && len(a) > 0 {
				src, _ = a[0].(map[string]any)
			}
		}
		if src == nil {
			continue
		}
		norm := Normalize(name)
		for i := range m.Requirements {
			r := &m.Requirements[i]
			if r.Normalized != norm || r.Source != "pyproject" {
				continue
			}
			switch {
			case str(src, "git") != "":
				r.URL, r.VCS = str(src, "git"), "git"
				r.Ref = firstNonEmpty(str(src, "rev"), str(src, "tag"), str(src, "branch"))
			case str(src, "url") != "":
				setURL(r, str(src, "url"))
			case str(src, "path") != "":
				r.URL = str(src, "path")
			}
			if idx := str(src, "index"); idx != "" {
				r.Index = idx
			}
			if boolean(src, "editable") {
				r.Editable = true
			}
		}
	}
}
