package bom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pysrc"
	"github.com/aigis-sec/aigis/scan"
)

// SpecVersion is the CycloneDX version Write emits.
const SpecVersion = cdx.SpecVersion1_6

// Options configure Build. The zero value is usable.
type Options struct {
	// Hash computes the SHA-256 of model files larger than the scan
	// engine's hash limit (reading them whole); smaller ones always get one.
	Hash bool
	// SerialNumber is written as given ("urn:uuid:…"); empty derives one
	// from the content, so the same project gives the same document.
	SerialNumber string
	// Timestamp is written to metadata when not zero (omitted by default,
	// for reproducible output).
	Timestamp time.Time
	// ToolVersion is the aigis version named in metadata.tools.
	ToolVersion string
	// ProjectName names metadata.component; empty: the folder's base name.
	ProjectName string
	// Scan configures the model scan; nil: scan.DefaultOptions().
	Scan *scan.Options
	// Python bounds the analysis of each *.py file; zero: pysrc defaults.
	Python pysrc.Limits
	// Packages lists the dependency files of root; nil: pyparse.ParseTree
	// with pyparse.DefaultLimits.
	Packages func(root string) ([]*pyparse.Manifest, error)
	// MaxFiles bounds the files walked (0: 1,000,000); hitting it is a
	// bom-incomplete finding.
	MaxFiles int
	// Workers analyse Python files in parallel (0: GOMAXPROCS).
	Workers int
}

// builder collects what Build finds before it is turned into a BOM.
type builder struct {
	root     string // as given, for finding paths
	opt      Options
	findings []finding.Finding

	models   []cdx.Component
	refs     map[string]*hubRef // code references by bom-ref
	datasets map[string]*cdx.Component
	services map[string]*service
	packages []cdx.Component
	props    []cdx.Property // metadata properties (package indexes…)
}

// Build inventories the project at root. The findings are the BOM's own
// (unpinned or unresolved references, incomplete parts) followed by the scan
// engine's findings for the model files. The error is for a root that cannot
// be read or a cancelled context; everything else becomes a finding.
func Build(ctx context.Context, root string, opt Options) (*cdx.BOM, []finding.Finding, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("bom: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("bom: %s is not a folder", root)
	}
	b := &builder{
		root:     root,
		opt:      opt,
		refs:     map[string]*hubRef{},
		datasets: map[string]*cdx.Component{},
		services: map[string]*service{},
	}
	files, err := b.walk(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := b.addModels(ctx, files); err != nil {
		return nil, nil, err
	}
	if err := b.addCode(ctx, files.python); err != nil {
		return nil, nil, err
	}
	b.addPackages()
	bom := b.assemble()
	finding.SortFindings(b.findings)
	if opt.SerialNumber != "" {
		bom.SerialNumber = opt.SerialNumber
	} else {
		var buf bytes.Buffer
		if err := Write(&buf, bom); err != nil {
			return nil, nil, err
		}
		bom.SerialNumber = serialFrom(buf.Bytes())
	}
	return bom, b.findings, nil
}

// Write writes b as CycloneDX 1.6 JSON, indented.
func Write(w io.Writer, b *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(b, SpecVersion); err != nil {
		return fmt.Errorf("bom: write CycloneDX: %w", err)
	}
	return nil
}

// serialFrom makes a version-5-shaped UUID URN from the document's bytes.
func serialFrom(doc []byte) string {
	h := sha256.Sum256(doc)
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// findingPath is the path of rel as a finding names it: root as given
// joined with the file's path below it.
func (b *builder) findingPath(rel string) string {
	return filepath.ToSlash(filepath.Join(b.root, filepath.FromSlash(rel)))
}

func (b *builder) incomplete(rel, what string, err error) {
	b.findings = append(b.findings, finding.New(RuleIncomplete, RuleIncomplete.Severity,
		finding.Location{Path: b.findingPath(rel)}, fmt.Sprintf("%s: %v", what, err),
		map[string]string{"file": rel, "error": err.Error()}))
}

func (b *builder) assemble() *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SpecVersion = SpecVersion
	name := b.opt.ProjectName
	if name == "" {
		if abs, err := filepath.Abs(b.root); err == nil {
			name = filepath.Base(abs)
		} else {
			name = filepath.Base(b.root)
		}
	}
	project := &cdx.Component{BOMRef: "project:" + name, Type: cdx.ComponentTypeApplication, Name: name}
	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "aigis", Version: b.opt.ToolVersion,
		ExternalReferences: &[]cdx.ExternalReference{{Type: cdx.ERTypeVCS, URL: "https://github.com/aigis-sec/aigis"}}}
	bom.Metadata = &cdx.Metadata{
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
		Component: project,
	}
	if !b.opt.Timestamp.IsZero() {
		bom.Metadata.Timestamp = b.opt.Timestamp.UTC().Format(time.RFC3339)
	}
	if len(b.props) > 0 {
		props := sortProps(b.props)
		bom.Metadata.Properties = &props
	}

	var comps []cdx.Component
	comps = append(comps, b.models...)
	for _, r := range b.refs {
		comps = append(comps, r.component())
	}
	for _, d := range b.datasets {
		comps = append(comps, *d)
	}
	comps = append(comps, b.packages...)
	for i := range comps {
		if comps[i].Properties != nil {
			p := sortProps(*comps[i].Properties)
			comps[i].Properties = &p
		}
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	var svcs []cdx.Service
	for _, s := range b.services {
		svcs = append(svcs, s.service())
	}
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].BOMRef < svcs[j].BOMRef })

	var on []string
	deps := []cdx.Dependency{}
	for _, c := range comps {
		on = append(on, c.BOMRef)
		deps = append(deps, cdx.Dependency{Ref: c.BOMRef})
	}
	for _, s := range svcs {
		on = append(on, s.BOMRef)
		deps = append(deps, cdx.Dependency{Ref: s.BOMRef})
	}
	sort.Strings(on)
	root := cdx.Dependency{Ref: project.BOMRef}
	if len(on) > 0 {
		root.Dependencies = &on
	}
	deps = append(deps, root)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Ref < deps[j].Ref })

	if len(comps) > 0 {
		bom.Components = &comps
	}
	if len(svcs) > 0 {
		bom.Services = &svcs
	}
	bom.Dependencies = &deps
	return bom
}

func sortProps(p []cdx.Property) []cdx.Property {
	out := append([]cdx.Property(nil), p...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Value < out[j].Value
	})
	return slices.Compact(out) // the same call site seen twice
}

func prop(name, value string) cdx.Property { return cdx.Property{Name: name, Value: value} }

// appendProps appends a property name for each of values.
func appendProps(props []cdx.Property, name string, values ...string) []cdx.Property {
	for _, v := range values {
		props = append(props, prop(name, v))
	}
	return props
}

// isLocalPath: an argument that names a folder rather than a Hub id.
func isLocalPath(s string) bool {
	return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") ||
		strings.Contains(s, "\\") || strings.Count(s, "/") > 1 || (len(s) > 1 && s[1] == ':')
}
