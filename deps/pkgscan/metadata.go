package pkgscan

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// normalize is the PEP 503 form of a project name.
func normalize(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// headers reads the core metadata format (RFC 822 style): header fields, and
// the description in the body.
func headers(src []byte) (map[string][]string, string) {
	h := map[string][]string{}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	head, body, _ := strings.Cut(text, "\n\n")
	last := ""
	for _, line := range strings.Split(head, "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && last != "" {
			vs := h[last]
			vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		h[last] = append(h[last], strings.TrimSpace(v))
	}
	return h, body
}

// expectedName is the project name the file or folder around a metadata
// file promises.
func (s *scanner) expectedName(name string) string {
	dir := path.Dir(name)
	switch {
	case strings.HasSuffix(dir, ".dist-info"), strings.HasSuffix(dir, ".egg-info"):
		stem := path.Base(dir)
		stem = stem[:strings.LastIndexByte(stem, '.')]
		n, _, _ := strings.Cut(stem, "-")
		return n
	case s.kind == kindSdist && (dir == "." || !strings.Contains(dir, "/")):
		stem := s.base
		for _, ext := range []string{".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar"} {
			stem = strings.TrimSuffix(stem, ext)
		}
		if i := strings.LastIndexByte(stem, '-'); i > 0 {
			return stem[:i]
		}
	}
	return ""
}

// metadata checks METADATA and PKG-INFO lightly.
func (s *scanner) metadata(loc finding.Location, name string, src []byte) {
	h, body := headers(src)
	meta := first(h["name"])
	if want := s.expectedName(name); meta != "" && want != "" && normalize(meta) != normalize(want) {
		s.add(finding.New(RuleMetadata, finding.Medium, loc,
			fmt.Sprintf("the metadata names the project %q but the package is %q", meta, want),
			map[string]string{"check": "name-mismatch", "metadata_name": meta, "file_name": want}))
	}
	if s.kind == kindWheel {
		wn, _, _ := strings.Cut(s.base, "-")
		if meta != "" && strings.HasSuffix(s.base, ".whl") && normalize(meta) != normalize(wn) && path.Dir(name) != "." {
			s.add(finding.New(RuleMetadata, finding.Medium, loc,
				fmt.Sprintf("the wheel file is named for %q but its METADATA says %q", wn, meta),
				map[string]string{"check": "wheel-name-mismatch", "metadata_name": meta, "file_name": wn}))
		}
	}
	desc := strings.TrimSpace(body) + strings.TrimSpace(first(h["description"]))
	summary := strings.TrimSpace(first(h["summary"]))
	if desc == "" && (summary == "" || strings.EqualFold(summary, "UNKNOWN")) && s.noDesc == nil {
		l := loc
		s.noDesc = &l
	}
	home := host(first(h["home-page"]))
	if home == "" || len(h["project-url"]) == 0 {
		return
	}
	var hosts []string
	for _, pu := range h["project-url"] {
		_, u, _ := strings.Cut(pu, ",")
		if hh := host(strings.TrimSpace(u)); hh != "" {
			if registered(hh) == registered(home) {
				return
			}
			hosts = append(hosts, hh)
		}
	}
	if len(hosts) == 0 {
		return
	}
	s.add(finding.New(RuleMetadata, finding.Low, loc,
		fmt.Sprintf("the home page %s is on another domain than the project URLs (%s)", home, strings.Join(hosts, ", ")),
		map[string]string{"check": "home-page-domain", "home_page": home, "project_urls": strings.Join(hosts, ", ")}))
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func host(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	return strings.ToLower(p.Hostname())
}

// registered is the last two labels of a host name (good enough to compare
// project sites: docs.foo.org and foo.org; hosting sites share their owner).
func registered(h string) string {
	labels := strings.Split(h, ".")
	if len(labels) <= 2 {
		return h
	}
	return strings.Join(labels[len(labels)-2:], ".")
}
