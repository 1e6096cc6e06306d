package pyparse

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// pep508 is one requirement string split into its parts.
type pep508 struct {
	name, spec, url, marker string
	extras                  []string
}

// nameChar reports whether c may appear in a project name. '$', '{' and
// '}' are accepted so that pip's ${VAR} placeholders are kept as written.
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '$' || c == '{' || c == '}'
}

var (
	validName = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	// specClause is one PEP 440 clause; ${VAR} is tolerated in the version.
	specClause = regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)[A-Za-z0-9.*+!_${}-]+$`)
	extraName  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

func validProjectName(n string) bool {
	return validName.MatchString(n) || strings.Contains(n, "${")
}

// parsePEP508 parses "name[extras] specifier ; marker" or
// "name[extras] @ url ; marker".
func parsePEP508(s string) (pep508, error) {
	var r pep508
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && nameChar(s[i]) {
		i++
	}
	r.name = s[:i]
	if r.name == "" {
		return r, errors.New("no project name")
	}
	if !validProjectName(r.name) {
		return r, fmt.Errorf("invalid project name %q", r.name)
	}
	rest := strings.TrimLeft(s[i:], " \t")
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, errors.New("unclosed extras")
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !extraName.MatchString(e) {
				return r, fmt.Errorf("invalid extra %q", e)
			}
			r.extras = append(r.extras, e)
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	if strings.HasPrefix(rest, "@") {
		u := strings.TrimSpace(rest[1:])
		// PEP 508: a URL ends at whitespace; a marker follows after " ;".
		if j := strings.IndexAny(u, " \t"); j >= 0 {
			tail := strings.TrimSpace(u[j:])
			u = u[:j]
			if !strings.HasPrefix(tail, ";") {
				return r, fmt.Errorf("unexpected %q after URL", tail)
			}
			r.marker = strings.TrimSpace(tail[1:])
			if r.marker == "" {
				return r, errors.New("empty marker")
			}
		}
		if u == "" {
			return r, errors.New("empty URL after @")
		}
		r.url = u
		return r, nil
	}
	spec := rest
	if j := strings.IndexByte(rest, ';'); j >= 0 {
		spec = rest[:j]
		r.marker = strings.TrimSpace(rest[j+1:])
		if r.marker == "" {
			return r, errors.New("empty marker")
		}
	}
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "(") {
		if !strings.HasSuffix(spec, ")") {
			return r, errors.New("unclosed parenthesis in specifier")
		}
		spec = spec[1 : len(spec)-1]
	}
	spec = strings.Join(strings.Fields(spec), "")
	if spec != "" {
		for _, c := range strings.Split(spec, ",") {
			if !specClause.MatchString(c) {
				return r, fmt.Errorf("invalid version specifier %q", c)
			}
		}
	}
	r.spec = spec
	return r, nil
}

// pinned returns the exact version of a specifier that pins one version
// ("==1.2.3" or "===1.2.3"), else "".
func pinned(spec string) string {
	if strings.Contains(spec, ",") {
		return ""
	}
	switch {
	case strings.HasPrefix(spec, "==="):
		return spec[3:]
	case strings.HasPrefix(spec, "=="):
		if v := spec[2:]; !strings.Contains(v, "*") {
			return v
		}
	}
	return ""
}

// requirementFrom makes a Requirement of a parsed PEP 508 string.
func requirementFrom(p pep508) Requirement {
	r := Requirement{
		Name:       p.name,
		Normalized: Normalize(p.name),
		Specifier:  p.spec,
		Version:    pinned(p.spec),
		Extras:     p.extras,
		Marker:     p.marker,
	}
	if p.url != "" {
		setURL(&r, p.url)
	}
	return r
}

var vcsSchemes = []string{"git", "hg", "svn", "bzr"}

// setURL records u on r, with the VCS, ref and any #sha256= fragment hash.
func setURL(r *Requirement, u string) {
	r.URL = u
	frag := ""
	base := u
	if i := strings.IndexByte(u, '#'); i >= 0 {
		base, frag = u[:i], u[i+1:]
	}
	for _, kv := range strings.Split(frag, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		switch k {
		case "sha256", "sha384", "sha512", "sha1", "md5", "sha224":
			r.Hashes = appendUnique(r.Hashes, k+":"+v)
		case "egg":
			if r.Name == "" {
				// "#egg=name[extras]" or "#egg=name-1.0": keep the name part.
				n := v
				if j := strings.IndexAny(n, "[=<>!~ "); j >= 0 {
					n = n[:j]
				}
				r.Name, r.Normalized = n, Normalize(n)
			}
		}
	}
	scheme, _, hasScheme := strings.Cut(base, "://")
	for _, v := range vcsSchemes {
		if strings.HasPrefix(strings.ToLower(base), v+"+") || (hasScheme && strings.EqualFold(scheme, v)) {
			r.VCS = v
			break
		}
	}
	if r.VCS != "" {
		// The ref follows the last '@' of the path (not of user@host).
		p := base
		if _, after, ok := strings.Cut(base, "://"); ok {
			p = after
			if j := strings.IndexByte(p, '/'); j >= 0 {
				p = p[j:]
			} else {
				p = ""
			}
		}
		if j := strings.LastIndexByte(p, '@'); j >= 0 {
			r.Ref = p[j+1:]
		}
		return
	}
	if r.Name == "" {
		if n := nameFromFile(path.Base(base)); n != "" {
			r.Name, r.Normalized = n, Normalize(n)
		}
	}
}

var archiveExt = []string{".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar", ".egg"}

// nameFromFile guesses a project name from a wheel or sdist file name
// ("torch-2.1.0-cp311-…whl", "requests-2.31.0.tar.gz"); "" when it cannot.
func nameFromFile(f string) string {
	ext := ""
	for _, e := range archiveExt {
		if strings.HasSuffix(strings.ToLower(f), e) {
			ext = e
			break
		}
	}
	if ext == "" {
		return ""
	}
	stem := f[:len(f)-len(ext)]
	if ext == ".whl" {
		n, _, _ := strings.Cut(stem, "-")
		if validName.MatchString(n) {
			return n
		}
		return ""
	}
	// sdist: name-version, where the version starts with a digit.
	for i := len(stem) - 1; i > 0; i-- {
		if stem[i] == '-' && i+1 < len(stem) && '0' <= stem[i+1] && stem[i+1] <= '9' {
			if n := stem[:i]; validName.MatchString(n) {
				return n
			}
			return ""
		}
	}
	return ""
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// hashTable turns a PEP 751 / uv style {"sha256": "…"} table into
// "sha256:…" strings, in a stable order.
func hashTable(m map[string]any) []string {
	var out []string
	for k, v := range m {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, k+":"+s)
		}
	}
	sort.Strings(out)
	return out
}
