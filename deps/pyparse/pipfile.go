package pyparse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

type pipfileEntry struct {
	Version  string   `json:"version"`
	Hashes   []string `json:"hashes"`
	Index    string   `json:"index"`
	Markers  string   `json:"markers"`
	Extras   []string `json:"extras"`
	Git      string   `json:"git"`
	Hg       string   `json:"hg"`
	Ref      string   `json:"ref"`
	Editable bool     `json:"editable"`
	File     string   `json:"file"`
	Path     string   `json:"path"`
}

type pipfileSource struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	VerifySSL *bool  `json:"verify_ssl"`
}

// parsePipfileLock reads Pipfile.lock (JSON) with a token stream, so that
// each package keeps its line.
func parsePipfileLock(file string, data []byte, lim Limits) (*Manifest, error) {
	m := &Manifest{File: file}
	b := &tomlBuilder{m: m, loc: newLocator(data), lim: lim, source: "Pipfile.lock"}
	dec := json.NewDecoder(bytes.NewReader(data))
	syntax := func(err error) error {
		return &SyntaxError{Line: b.loc.line(int(dec.InputOffset())), Msg: err.Error()}
	}
	if t, err := dec.Token(); err != nil {
		return nil, syntax(err)
	} else if t != json.Delim('{') {
		return nil, &SyntaxError{Line: 1, Msg: "not a JSON object"}
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := t.(string)
		switch key {
		case "_meta":
			var meta struct {
				Sources []pipfileSource `json:"sources"`
			}
			off := int(dec.InputOffset())
			if err := dec.Decode(&meta); err != nil {
				return nil, syntax(err)
			}
			for _, s := range meta.Sources {
				line := b.loc.line(b.loc.str(off, s.URL))
				m.Indexes = append(m.Indexes, Index{URL: s.URL, Kind: "pipfile-source", Name: s.Name, NoVerifySSL: s.VerifySSL != nil && !*s.VerifySSL, File: file, Line: line})
			}
		case "default", "develop":
			if err := pipfileSection(dec, b, key); err != nil {
				if b.err != nil {
					return m, b.err
				}
				return nil, syntax(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, syntax(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SyntaxError{Line: b.loc.line(int(dec.InputOffset())), Msg: "data after the JSON object"}
	}
	return m, b.err
}

func pipfileSection(dec *json.Decoder, b *tomlBuilder, group string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return fmt.Errorf("%q is not an object", group)
	}
	grp := ""
	if group == "develop" {
		grp = "dev"
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		off := int(dec.InputOffset()) - len(name) - 2
		var e pipfileEntry
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if !validProjectName(name) {
			b.problem(off, "%s: invalid project name %q", group, name)
			continue
		}
		r := Requirement{Name: name, Specifier: strings.Join(strings.Fields(e.Version), ""), Hashes: e.Hashes, Index: e.Index, Marker: e.Markers, Extras: e.Extras, Editable: e.Editable, Locked: true, Group: grp}
		r.Version = pinned(r.Specifier)
		switch {
		case e.Git != "":
			r.URL, r.VCS, r.Ref = e.Git, "git", e.Ref
		case e.Hg != "":
			r.URL, r.VCS, r.Ref = e.Hg, "hg", e.Ref
		case e.File != "":
			setURL(&r, e.File)
		case e.Path != "":
			r.URL = e.Path
		}
		if !b.add(r, off) {
			return b.err
		}
	}
	_, err = dec.Token()
	return err
}
