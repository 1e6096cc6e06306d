package pyparse

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseConda reads a conda environment file: channels, conda packages
// (MatchSpec strings, Source "conda") and the pip: list (requirements lines,
// Source "requirements", with their options and includes).
func parseConda(file string, data []byte, lim Limits) (m *Manifest, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var root yaml.Node
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, &SyntaxError{Msg: fmt.Sprintf("YAML decoder failed: %v", p)}
		}
	}()
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &SyntaxError{Line: yamlErrLine(err.Error()), Msg: err.Error()}
	}
	m = &Manifest{File: file}
	b := &tomlBuilder{m: m, loc: newLocator(data), lim: lim, source: "conda"}
	if len(root.Content) == 0 {
		return m, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &SyntaxError{Line: doc.Line, Msg: "not a mapping"}
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "channels":
			for _, c := range v.Content {
				if c.Kind == yaml.ScalarNode {
					m.Indexes = append(m.Indexes, Index{URL: c.Value, Kind: "conda-channel", File: file, Line: c.Line})
				}
			}
		case "dependencies":
			if v.Kind != yaml.SequenceNode {
				m.Problems = append(m.Problems, Problem{Line: v.Line, Msg: "dependencies is not a list"})
				continue
			}
			for _, d := range v.Content {
				switch d.Kind {
				case yaml.ScalarNode:
					r, err := condaSpec(d.Value)
					if err != nil {
						m.Problems = append(m.Problems, Problem{Line: d.Line, Msg: err.Error()})
						continue
					}
					if !b.add(r, b.loc.starts[min(max(d.Line-1, 0), len(b.loc.starts)-1)]) {
						return m, b.err
					}
				case yaml.MappingNode:
					for j := 0; j+1 < len(d.Content); j += 2 {
						if d.Content[j].Value != "pip" {
							m.Problems = append(m.Problems, Problem{Line: d.Content[j].Line, Msg: fmt.Sprintf("unknown dependencies entry %q", d.Content[j].Value)})
							continue
						}
						for _, p := range d.Content[j+1].Content {
							if p.Kind != yaml.ScalarNode {
								continue
							}
							t := strings.TrimSpace(stripComment(p.Value))
							if t == "" {
								continue
							}
							if err := parseReqLine(m, t, p.Line, "requirements", lim); err != nil {
								return m, err
							}
						}
					}
				}
			}
		}
	}
	return m, b.err
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(msg string) int {
	if s := yamlLineRE.FindStringSubmatch(msg); s != nil {
		n := 0
		fmt.Sscan(s[1], &n)
		return n
	}
	return 0
}

var condaNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]*`)

// condaSpec reads a conda MatchSpec: "[channel::]name[ version[ build]]"
// or "name=1.2=build", "name>=1.0". The channel goes to Index.
func condaSpec(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	var r Requirement
	if ch, rest, ok := strings.Cut(s, "::"); ok {
		r.Index, s = ch, rest
	}
	name := condaNameRE.FindString(s)
	if name == "" {
		return r, fmt.Errorf("invalid conda package %q", clip(s))
	}
	r.Name, r.Normalized = name, Normalize(name)
	spec := strings.TrimSpace(s[len(name):])
	if strings.HasPrefix(spec, "[") {
		// name[version='>=1.0',build=...]: keep as written
		r.Specifier = spec
		return r, nil
	}
	f := strings.Fields(spec)
	if len(f) > 0 && !strings.ContainsAny(f[0][:1], "=<>!~") {
		f[0] = "==" + f[0] // "numpy 1.26.4 py311_0": exact version
	}
	r.Specifier = strings.Join(f, " ")
	switch {
	case strings.HasPrefix(r.Specifier, "=="):
		r.Version = strings.Fields(strings.TrimPrefix(r.Specifier, "=="))[0]
	case strings.HasPrefix(r.Specifier, "=") && strings.Count(r.Specifier, "=") == 2:
		// name=1.2.3=build pins version and build
		r.Version, _, _ = strings.Cut(r.Specifier[1:], "=")
	}
	if strings.ContainsAny(r.Version, "*|,<>") {
		r.Version = ""
	}
	return r, nil
}

// parseSetupCfg reads setup.cfg: [options] install_requires,
// setup_requires, tests_require and [options.extras_require].
func parseSetupCfg(file string, data []byte, lim Limits) (*Manifest, error) {
	m := &Manifest{File: file}
	b := &tomlBuilder{m: m, loc: newLocator(data), lim: lim, source: "setup.cfg"}
	section, key, group := "", "", ""
	active := false
	lines := bytes.Split(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), []byte("\n"))
	if lim.MaxLines > 0 && len(lines) > lim.MaxLines {
		lines = lines[:lim.MaxLines]
		m.Problems = append(m.Problems, Problem{Msg: fmt.Sprintf("limit MaxLines (%d) reached", lim.MaxLines)})
	}
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(string(raw), "\r \t")
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented && strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			section, active = strings.TrimSpace(t[1:len(t)-1]), false
			continue
		}
		val := t
		if !indented {
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				k, v, ok = strings.Cut(t, ":")
			}
			if !ok {
				active = false
				continue
			}
			key, val = strings.TrimSpace(k), strings.TrimSpace(v)
			active = false
			switch {
			case section == "options" && key == "install_requires":
				active, group = true, ""
			case section == "options" && key == "setup_requires":
				active, group = true, "build-system"
			case section == "options" && key == "tests_require":
				active, group = true, "tests"
			case section == "options.extras_require":
				active, group = true, key
			}
		}
		if !active || val == "" {
			continue
		}
		if j := strings.Index(val, " #"); j >= 0 {
			val = strings.TrimSpace(val[:j])
		}
		if f, ok := strings.CutPrefix(val, "file:"); ok {
			for _, p := range strings.Split(f, ",") {
				if p = strings.TrimSpace(p); p != "" {
					m.Includes = append(m.Includes, resolveInclude(file, p))
				}
			}
			continue
		}
		p, err := parsePEP508(val)
		if err != nil {
			m.Problems = append(m.Problems, Problem{Line: n, Msg: fmt.Sprintf("%s: %v: %q", key, err, clip(val))})
			continue
		}
		r := requirementFrom(p)
		r.Group = group
		if !b.add(r, b.loc.starts[i]) {
			break
		}
	}
	return m, b.err
}
