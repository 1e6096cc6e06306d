package pyparse

import (
	"strings"
)

// lockPackages returns the [[key]] tables of a lock file with the offset
// of each one's name key (or header).
func lockPackages(doc map[string]any, l *locator, key string) ([]map[string]any, []int) {
	arr := list(doc, key)
	hs := l.headers(key)
	pkgs := make([]map[string]any, 0, len(arr))
	offs := make([]int, 0, len(arr))
	for i, v := range arr {
		t, ok := v.(map[string]any)
		if !ok {
			continue
		}
		off := -1
		if i < len(hs) && len(hs) == len(arr) {
			off = hs[i]
			if k := l.key(off, "name", true); k >= 0 {
				off = k
			}
		}
		pkgs = append(pkgs, t)
		offs = append(offs, off)
	}
	return pkgs, offs
}

// parseLock is what the TOML lock parsers share: it decodes data and, for
// each [[key]] table with a name, adds a locked Requirement with that name
// and its version pinned, after entry has filled in the rest from the
// table. source is the Source of the requirements.
func parseLock(file string, data []byte, lim Limits, source, key string, entry func(p map[string]any, r *Requirement)) (*Manifest, error) {
	doc, err := decodeTOML(data, lim)
	if err != nil {
		return nil, err
	}
	m := &Manifest{File: file}
	b := &tomlBuilder{m: m, loc: newLocator(data), lim: lim, source: source}
	pkgs, offs := lockPackages(doc, b.loc, key)
	for i, p := range pkgs {
		name := str(p, "name")
		if name == "" {
			b.problem(offs[i], "package without a name")
			continue
		}
		r := Requirement{Name: name, Version: str(p, "version"), Locked: true}
		if r.Version != "" {
			r.Specifier = "==" + r.Version
		}
		entry(p, &r)
		if !b.add(r, offs[i]) {
			break
		}
	}
	return m, b.err
}

// parsePoetryLock reads poetry.lock: [[package]] name, version, files
// hashes, [package.source], markers, groups (or the older category).
func parsePoetryLock(file string, data []byte, lim Limits) (*Manifest, error) {
	return parseLock(file, data, lim, "poetry.lock", "package", func(p map[string]any, r *Requirement) {
		r.Marker = str(p, "markers")
		r.Group = joinStrings(list(p, "groups"), ",")
		if r.Group == "" {
			r.Group = str(p, "category")
		}
		for _, f := range list(p, "files") {
			if t, ok := f.(map[string]any); ok && str(t, "hash") != "" {
				r.Hashes = appendUnique(r.Hashes, str(t, "hash"))
			}
		}
		if src := tbl(p, "source"); src != nil {
			u := str(src, "url")
			switch typ := str(src, "type"); typ {
			case "git", "hg":
				r.URL, r.VCS = u, typ
				r.Ref = firstNonEmpty(str(src, "resolved_reference"), str(src, "reference"))
			case "legacy":
				r.Index = u
			case "url":
				setURL(r, u)
			default: // file, directory
				r.URL = u
			}
			if boolean(p, "develop") {
				r.Editable = true
			}
		}
	})
}

// parseUVLock reads uv.lock: [[package]] name, version, source, sdist and
// wheels hashes.
func parseUVLock(file string, data []byte, lim Limits) (*Manifest, error) {
	return parseLock(file, data, lim, "uv.lock", "package", func(p map[string]any, r *Requirement) {
		src := tbl(p, "source")
		switch {
		case src == nil:
		case str(src, "registry") != "":
			r.Index = str(src, "registry")
		case str(src, "git") != "":
			// git = "https://github.com/o/r?rev=v1#<commit>"
			u := str(src, "git")
			r.URL, r.VCS = u, "git"
			if j := strings.LastIndexByte(u, '#'); j >= 0 {
				r.Ref = u[j+1:]
			}
		case str(src, "url") != "":
			setURL(r, str(src, "url"))
		case str(src, "editable") != "":
			r.URL, r.Editable = str(src, "editable"), true
		default:
			r.URL = firstNonEmpty(str(src, "path"), str(src, "directory"), str(src, "virtual"))
		}
		if sd := tbl(p, "sdist"); sd != nil && str(sd, "hash") != "" {
			r.Hashes = appendUnique(r.Hashes, str(sd, "hash"))
		}
		for _, w := range list(p, "wheels") {
			if t, ok := w.(map[string]any); ok && str(t, "hash") != "" {
				r.Hashes = appendUnique(r.Hashes, str(t, "hash"))
			}
		}
	})
}

// parsePylock reads a PEP 751 lock: [[packages]] name, version, marker,
// index, vcs / archive / directory / sdist / wheels with hashes tables.
func parsePylock(file string, data []byte, lim Limits) (*Manifest, error) {
	return parseLock(file, data, lim, "pylock", "packages", func(p map[string]any, r *Requirement) {
		r.Marker, r.Index = str(p, "marker"), str(p, "index")
		if v := tbl(p, "vcs"); v != nil {
			r.VCS = str(v, "type")
			r.URL = firstNonEmpty(str(v, "url"), str(v, "path"))
			r.Ref = firstNonEmpty(str(v, "commit-id"), str(v, "requested-revision"))
		}
		if d := tbl(p, "directory"); d != nil {
			r.URL, r.Editable = str(d, "path"), boolean(d, "editable")
		}
		if a := tbl(p, "archive"); a != nil {
			r.URL = firstNonEmpty(str(a, "url"), str(a, "path"))
			r.Hashes = append(r.Hashes, hashTable(tbl(a, "hashes"))...)
		}
		if s := tbl(p, "sdist"); s != nil {
			r.Hashes = append(r.Hashes, hashTable(tbl(s, "hashes"))...)
		}
		for _, w := range list(p, "wheels") {
			if t, ok := w.(map[string]any); ok {
				for _, h := range hashTable(tbl(t, "hashes")) {
					r.Hashes = appendUnique(r.Hashes, h)
				}
			}
		}
	})
}
