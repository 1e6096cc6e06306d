package bom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/gguf"
	"github.com/aigis-sec/aigis/format/safetensors"
	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/scan"
)

// modelKinds are the scan engine's target kinds that are model weights or
// serialized models (a plain zip, tar, text or config is not).
var modelKinds = map[string]bool{
	"pytorch-zip": true, "pytorch-legacy": true, "pytorch-legacy-tar": true, "torchscript": true,
	"safetensors": true, "gguf": true, "onnx": true, "keras": true, "keras-h5": true,
	"tf-savedmodel": true, "tf-graphdef": true, "tflite": true, "pickle": true, "joblib": true,
	"npy": true, "npz": true, "npy-object": true,
}

// addModels scans the non-Python files and turns every model target into a
// component.
func (b *builder) addModels(ctx context.Context, t *tree) error {
	if len(t.other) == 0 {
		return nil
	}
	sopt := scan.DefaultOptions()
	if b.opt.Scan != nil {
		sopt = *b.opt.Scan
	}
	paths := make([]string, len(t.other))
	relOf := make(map[string]string, len(t.other))
	for i, rel := range t.other {
		paths[i] = filepath.Join(b.root, filepath.FromSlash(rel))
		relOf[paths[i]] = rel
		relOf[filepath.ToSlash(paths[i])] = rel
	}
	rep, err := scan.Scan(ctx, paths, sopt)
	if err != nil {
		return fmt.Errorf("bom: scan models: %w", err)
	}
	findingsOf := map[string][]finding.Finding{}
	for _, f := range rep.Findings {
		findingsOf[f.Path] = append(findingsOf[f.Path], f)
	}
	incompleteOf := map[string]bool{}
	for _, in := range rep.Incomplete {
		incompleteOf[in.Path] = true
	}
	cards := map[string]*card{} // by folder
	for _, tg := range rep.Targets {
		if !modelKinds[tg.Kind] {
			continue
		}
		rel, ok := relOf[tg.Path]
		if !ok {
			continue
		}
		fs := findingsOf[tg.Path]
		b.findings = append(b.findings, fs...)
		c := b.modelComponent(rel, tg, fs, incompleteOf[tg.Path], cards)
		b.models = append(b.models, c)
	}
	return nil
}

func (b *builder) modelComponent(rel string, tg finding.Target, fs []finding.Finding, incomplete bool, cards map[string]*card) cdx.Component {
	abs := filepath.Join(b.root, filepath.FromSlash(rel))
	c := cdx.Component{
		BOMRef: "model:" + rel,
		Type:   cdx.ComponentTypeMachineLearningModel,
		Name:   rel,
	}
	props := []cdx.Property{
		prop("aigis:format", tg.Kind),
		prop("aigis:path", rel),
		prop("aigis:size", strconv.FormatInt(tg.Size, 10)),
		prop("aigis:scan:verdict", verdict(fs, incomplete)),
		prop("aigis:scan:findings", strconv.Itoa(len(fs))),
	}
	sum := tg.SHA256
	if sum == "" && b.opt.Hash {
		s, err := fileSHA256(abs)
		if err != nil {
			b.incomplete(rel, "hash", err)
		}
		sum = s
	}
	if sum != "" {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: sum}}
	}
	var params *cdx.MLModelParameters
	switch tg.Kind {
	case "safetensors":
		if f, err := parseFile(abs, safetensors.Parse, safetensors.DefaultLimits()); err != nil {
			b.incomplete(rel, "safetensors header", err)
		} else {
			props = append(props, prop("aigis:parameters", strconv.FormatInt(f.ParamCount, 10)),
				prop("aigis:tensors", strconv.Itoa(len(f.Tensors))), prop("aigis:dtypes", countList(f.DTypes)))
		}
	case "gguf":
		if f, err := parseFile(abs, gguf.Parse, gguf.DefaultLimits()); err != nil {
			b.incomplete(rel, "GGUF header", err)
		} else {
			props = append(props, prop("aigis:parameters", strconv.FormatInt(f.ParamCount, 10)),
				prop("aigis:tensors", strconv.FormatUint(f.TensorCount, 10)), prop("aigis:dtypes", countList(f.Types)))
			if n := f.String("general.name"); n != "" {
				props = append(props, prop("aigis:gguf:name", n))
			}
			if a := f.String("general.architecture"); a != "" {
				params = &cdx.MLModelParameters{ModelArchitecture: a}
			}
			if l := f.String("general.license"); l != "" {
				c.Licenses = licenses([]string{l})
			}
		}
	}

	// Identity: a Hugging Face cache path, else what the folder records.
	dir := path.Dir(rel)
	repoID, commit, file, fromCache := cacheRef(rel)
	cd := b.cardFor(dir, cards)
	if fromCache {
		snap := strings.TrimSuffix(rel, "/"+file)
		if cd == nil && snap != dir {
			cd = b.cardFor(snap, cards)
		}
		props = append(props, prop("aigis:hub:file", file))
	} else if cd != nil && cd.RepoID != "" && hub.ValidRepoID(cd.RepoID) == nil {
		repoID, commit = cd.RepoID, cd.Revision
	}
	if repoID != "" && hub.ValidRepoID(repoID) == nil {
		org, name := splitID(repoID)
		c.Group, c.Name = org, name
		if hub.IsCommit(commit) {
			c.Version = strings.ToLower(commit)
		} else if commit != "" {
			props = append(props, prop("aigis:hub:revision", commit))
		}
		c.PackageURL = hfPurl(repoID, c.Version)
		props = append(props, prop("aigis:hub:repo", repoID))
	}
	if cd != nil {
		params = b.applyCard(&c, cd, params, &props)
	}
	if params != nil {
		c.ModelCard = &cdx.MLModelCard{ModelParameters: params}
	}
	c.Properties = &props
	return c
}

func (b *builder) cardFor(dir string, cards map[string]*card) *card {
	if cd, ok := cards[dir]; ok {
		return cd
	}
	cd, err := readCard(filepath.Join(b.root, filepath.FromSlash(dir)))
	if err != nil {
		b.incomplete(path.Join(dir, "README.md"), "model card", err)
	}
	cards[dir] = cd
	return cd
}

// applyCard copies a model card into the component: licenses, task,
// architecture, training datasets (as data components the card refers to)
// and base models (as pedigree ancestors).
func (b *builder) applyCard(c *cdx.Component, cd *card, params *cdx.MLModelParameters, props *[]cdx.Property) *cdx.MLModelParameters {
	if len(cd.Licenses) > 0 {
		c.Licenses = licenses(cd.Licenses)
	}
	if params == nil {
		params = &cdx.MLModelParameters{}
	}
	params.Task = cd.PipelineTag
	if cd.Architecture != "" {
		params.ModelArchitecture = cd.Architecture
	}
	params.ArchitectureFamily = cd.ModelType
	var ds []cdx.MLDatasetChoice
	for _, id := range sortedUnique(cd.Datasets) {
		ds = append(ds, cdx.MLDatasetChoice{Ref: b.dataset(id, "").BOMRef})
	}
	if len(ds) > 0 {
		params.Datasets = &ds
	}
	var anc []cdx.Component
	for _, id := range sortedUnique(cd.BaseModels) {
		a := cdx.Component{Type: cdx.ComponentTypeMachineLearningModel, Name: id}
		if hub.ValidRepoID(id) == nil {
			a.Group, a.Name = splitID(id)
			a.PackageURL = hfPurl(id, "")
		}
		anc = append(anc, a)
	}
	if len(anc) > 0 {
		c.Pedigree = &cdx.Pedigree{Ancestors: &anc}
	}
	for _, l := range sortedUnique(cd.Languages) {
		*props = append(*props, prop("aigis:card:language", l))
	}
	if cd.Library != "" {
		*props = append(*props, prop("aigis:card:library", cd.Library))
	}
	if *params == (cdx.MLModelParameters{}) {
		return nil
	}
	return params
}

// dataset returns the data component of a Hub dataset, creating it.
func (b *builder) dataset(id, commit string) *cdx.Component {
	ref := "dataset:" + id
	if commit != "" {
		ref += "@" + commit
	}
	if d, ok := b.datasets[ref]; ok {
		return d
	}
	d := &cdx.Component{
		BOMRef: ref, Type: cdx.ComponentTypeData, Version: commit,
		Data: &[]cdx.ComponentData{{Type: cdx.ComponentDataTypeDataset, Name: id}},
	}
	d.Group, d.Name = splitID(id)
	if hub.ValidRepoID(id) == nil {
		d.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: "https://huggingface.co/datasets/" + id}}
	}
	d.Properties = &[]cdx.Property{prop("aigis:hub:repo", id), prop("aigis:hub:type", "dataset")}
	b.datasets[ref] = d
	return d
}

func licenses(ids []string) *cdx.Licenses {
	var ls cdx.Licenses
	for _, id := range sortedUnique(ids) {
		if spdx := spdxIDs[strings.ToLower(id)]; spdx != "" {
			ls = append(ls, cdx.LicenseChoice{License: &cdx.License{ID: spdx}})
		} else {
			ls = append(ls, cdx.LicenseChoice{License: &cdx.License{Name: id}})
		}
	}
	return &ls
}

// hfPurl is pkg:huggingface/<namespace>/<name>@<commit> (purl spec
// types/huggingface-definition.json); legacy root ids have no namespace.
func hfPurl(id, commit string) string {
	p := "pkg:huggingface/" + id
	if commit != "" {
		p += "@" + strings.ToLower(commit)
	}
	return p
}

func splitID(id string) (org, name string) {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[:i], id[i+1:]
	}
	return "", id
}

// verdict is the highest severity the scan found, "clean" when nothing
// above info (inventory notes), "incomplete" when the scan could not finish.
func verdict(fs []finding.Finding, incomplete bool) string {
	if len(fs) == 0 {
		if incomplete {
			return "incomplete"
		}
		return "clean"
	}
	max := finding.Info
	for _, f := range fs {
		if f.Severity > max {
			max = f.Severity
		}
	}
	if max == finding.Info {
		return "clean" // inventory and format notes only
	}
	return max.String()
}

// countList writes a count map as "F16:3,F32:2", sorted by key.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ",")
}

// parseFile parses the file at p with a format parser and its limits.
func parseFile[T, L any](p string, parse func(io.ReaderAt, int64, L) (T, error), lim L) (T, error) {
	f, err := os.Open(p)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(f, st.Size(), lim)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
