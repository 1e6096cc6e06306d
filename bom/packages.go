package bom

import (
	"path/filepath"
	"sort"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/aigis-sec/aigis/deps/pyparse"
)

// addPackages lists the Python packages the dependency files declare: one
// library component per exact version (pinned with == or locked), or one
// without a version when no file pins the package.
func (b *builder) addPackages() {
	list := b.opt.Packages
	if list == nil {
		list = func(root string) ([]*pyparse.Manifest, error) {
			return pyparse.ParseTree(root, pyparse.DefaultLimits())
		}
	}
	manifests, err := list(b.root)
	if err != nil {
		b.incomplete(".", "dependency files", err)
	}
	type pkg struct {
		name     string
		versions map[string][]pyparse.Requirement
		loose    []pyparse.Requirement
	}
	pkgs := map[string]*pkg{}
	for _, m := range manifests {
		if m == nil {
			continue
		}
		for _, ix := range m.Indexes {
			b.props = append(b.props, prop("aigis:python:"+ix.Kind, ix.URL+" ("+b.relFile(ix.File)+":"+strconv.Itoa(ix.Line)+")"))
		}
		for _, pr := range m.Problems {
			b.props = append(b.props, prop("aigis:python:problem", b.relFile(m.File)+":"+strconv.Itoa(pr.Line)+": "+pr.Msg))
		}
		for _, r := range m.Requirements {
			if r.Locked && r.Editable && r.URL == "." {
				continue // the project itself, as its lock file lists it
			}
			n := r.Normalized
			if n == "" {
				n = pyparse.Normalize(r.Name)
			}
			p := pkgs[n]
			if p == nil {
				p = &pkg{name: n, versions: map[string][]pyparse.Requirement{}}
				pkgs[n] = p
			}
			if r.Version != "" {
				p.versions[r.Version] = append(p.versions[r.Version], r)
			} else {
				p.loose = append(p.loose, r)
			}
		}
	}
	for _, p := range pkgs {
		if len(p.versions) == 0 {
			b.packages = append(b.packages, b.library(p.name, "", p.loose))
			continue
		}
		for v, rs := range p.versions {
			// Loose declarations (torch>=2) are constraints on the pinned one.
			b.packages = append(b.packages, b.library(p.name, v, append(rs, p.loose...)))
		}
	}
}

func (b *builder) library(name, version string, rs []pyparse.Requirement) cdx.Component {
	c := cdx.Component{Type: cdx.ComponentTypeLibrary, Name: name, Version: version,
		BOMRef: "pkg:pypi/" + name, PackageURL: "pkg:pypi/" + name}
	if version != "" {
		c.BOMRef += "@" + version
		c.PackageURL += "@" + version
	}
	var props []cdx.Property
	hashes := map[string]bool{}
	for _, r := range rs {
		where := b.relFile(r.File)
		if r.Line > 0 {
			where += ":" + strconv.Itoa(r.Line)
		}
		props = append(props, prop("aigis:declared", where))
		if r.Specifier != "" {
			props = append(props, prop("aigis:specifier", r.Specifier))
		}
		if r.Group != "" {
			props = append(props, prop("aigis:group", r.Group))
		}
		if r.Locked {
			props = append(props, prop("aigis:locked", r.Source))
		}
		if r.Index != "" {
			props = append(props, prop("aigis:index", r.Index))
		}
		if r.URL != "" {
			props = append(props, prop("aigis:url", r.URL))
		}
		if r.Marker != "" {
			props = append(props, prop("aigis:marker", r.Marker))
		}
		for _, h := range r.Hashes {
			hashes[h] = true
		}
	}
	if len(hashes) > 0 {
		hs := make([]string, 0, len(hashes))
		for h := range hashes {
			hs = append(hs, h)
		}
		sort.Strings(hs)
		for _, h := range hs {
			props = append(props, prop("aigis:hash", h))
		}
	}
	c.Properties = &props
	return c
}

// relFile writes a manifest path relative to root when it is below it.
func (b *builder) relFile(p string) string {
	if rel, err := filepath.Rel(b.root, p); err == nil && !filepath.IsAbs(rel) && rel != ".." && !startsDotDot(rel) {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func startsDotDot(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}
