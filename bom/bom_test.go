package bom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/finding"
)

const projectDir = "../testdata/project"

// schemaDir holds the official CycloneDX schemas, next to the repository.
const schemaDir = "../../shared/schemas"

func buildProject(t *testing.T) (*cdx.BOM, []finding.Finding) {
	t.Helper()
	b, fs, err := Build(context.Background(), projectDir, Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return b, fs
}

func components(b *cdx.BOM) map[string]cdx.Component {
	out := map[string]cdx.Component{}
	if b.Components != nil {
		for _, c := range *b.Components {
			out[c.BOMRef] = c
		}
	}
	return out
}

func props(ps *[]cdx.Property, name string) []string {
	var out []string
	if ps != nil {
		for _, p := range *ps {
			if p.Name == name {
				out = append(out, p.Value)
			}
		}
	}
	return out
}

func propOne(ps *[]cdx.Property, name string) string {
	return strings.Join(props(ps, name), "|")
}

// The model folder of the sample project: what a reviewer looks for in
// the BOM about a local fine-tuned model.
func TestLocalModelComponent(t *testing.T) {
	b, _ := buildProject(t)
	c, ok := components(b)["model:models/classifier/model.safetensors"]
	if !ok {
		t.Fatalf("local model missing; components: %v", keys(components(b)))
	}
	data, err := os.ReadFile(filepath.Join(projectDir, "models/classifier/model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	got := map[string]any{
		"type":       string(c.Type),
		"format":     propOne(c.Properties, "aigis:format"),
		"verdict":    propOne(c.Properties, "aigis:scan:verdict"),
		"parameters": propOne(c.Properties, "aigis:parameters"),
		"dtypes":     propOne(c.Properties, "aigis:dtypes"),
		"language":   propOne(c.Properties, "aigis:card:language"),
		"hash":       string((*c.Hashes)[0].Algorithm) + " " + (*c.Hashes)[0].Value,
		"license":    (*c.Licenses)[0].License.ID,
		"ancestor":   (*c.Pedigree.Ancestors)[0].PackageURL,
		"task":       c.ModelCard.ModelParameters.Task,
		"arch":       c.ModelCard.ModelParameters.ModelArchitecture,
		"dataset":    (*c.ModelCard.ModelParameters.Datasets)[0].Ref,
	}
	want := map[string]any{
		"type":       "machine-learning-model",
		"format":     "safetensors",
		"verdict":    "clean",
		"parameters": "4",
		"dtypes":     "F32:1",
		"language":   "en",
		"hash":       "SHA-256 " + hex.EncodeToString(sum[:]),
		"license":    "Apache-2.0",
		"ancestor":   "pkg:huggingface/distilbert/distilbert-base-uncased",
		"task":       "text-classification",
		"arch":       "DistilBertForSequenceClassification",
		"dataset":    "dataset:acme-support/tickets-2024",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("local model (-want +got):\n%s", d)
	}
	if _, ok := components(b)["dataset:acme-support/tickets-2024"]; !ok {
		t.Error("the model card's training dataset is not a data component")
	}
}

// Hub models and datasets named in the code, with their purls.
func TestCodeReferences(t *testing.T) {
	b, _ := buildProject(t)
	var got []string
	for _, c := range components(b) {
		if propOne(c.Properties, "aigis:source") == "code" || strings.HasPrefix(c.BOMRef, "dataset:") {
			got = append(got, c.BOMRef+" "+c.PackageURL+" "+strings.Join(props(c.Properties, "aigis:location"), ","))
		}
	}
	sort.Strings(got)
	want := []string{
		"dataset:acme-support/help-articles  rag/index.py:20",
		"dataset:acme-support/tickets-2024  ",
		"dataset:ai4privacy/pii-masking-200k@1c6e3a6b6e0b7a3c2f3e6a1f9a4b2c8d7e5f6a0b  app.py:31",
		"model:hf:BAAI/bge-reranker-base pkg:huggingface/BAAI/bge-reranker-base rag/index.py:21",
		"model:hf:TheBloke/Mistral-7B-Instruct-v0.2-GGUF@3a6fbf4a41a1d52e415a4958cde6856d34b2db93 pkg:huggingface/TheBloke/Mistral-7B-Instruct-v0.2-GGUF@3a6fbf4a41a1d52e415a4958cde6856d34b2db93 rag/index.py:15",
		"model:hf:cardiffnlp/twitter-roberta-base-sentiment-latest pkg:huggingface/cardiffnlp/twitter-roberta-base-sentiment-latest app.py:26",
		"model:hf:distilbert/distilbert-base-uncased@12040accade4e8a0f71eabdb258fecc2e7e948be pkg:huggingface/distilbert/distilbert-base-uncased@12040accade4e8a0f71eabdb258fecc2e7e948be app.py:19",
		"model:hf:facebook/bart-large-cnn pkg:huggingface/facebook/bart-large-cnn app.py:24",
		"model:hf:sentence-transformers/all-MiniLM-L6-v2@c9745ed1d9f207416be6d2e6f8de32d1f16199bf pkg:huggingface/sentence-transformers/all-MiniLM-L6-v2@c9745ed1d9f207416be6d2e6f8de32d1f16199bf rag/index.py:11",
		"model:hf:stabilityai/stable-diffusion-xl-base-1.0 pkg:huggingface/stabilityai/stable-diffusion-xl-base-1.0 tools/images.py:6",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Hub references (-want +got):\n%s", d)
	}
}

// The findings a user acts on: unpinned downloads and ids computed at
// run time, each with the file and line.
func TestProjectFindings(t *testing.T) {
	_, fs := buildProject(t)
	var got []string
	for _, f := range fs {
		if !strings.HasPrefix(f.RuleID, "bom-") {
			continue
		}
		got = append(got, f.RuleID+" "+f.Severity.String()+" "+f.Evidence["file"]+":"+f.Evidence["line"]+" "+f.Evidence["repo"]+f.Evidence["argument"]+f.Evidence["endpoint"])
	}
	want := []string{
		"bom-unpinned-model medium app.py:24 facebook/bart-large-cnn",
		"bom-unpinned-model medium app.py:26 cardiffnlp/twitter-roberta-base-sentiment-latest",
		"bom-unresolved-reference low app.py:29 EMBEDDER",
		"bom-unpinned-model medium rag/index.py:20 acme-support/help-articles",
		"bom-unpinned-model medium rag/index.py:21 BAAI/bge-reranker-base",
		"bom-unresolved-reference low rag/index.py:31 tenant.embedding_model",
		"bom-unpinned-model medium tools/images.py:6 stabilityai/stable-diffusion-xl-base-1.0",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	for _, f := range fs {
		if f.RuleID == RuleUnpinnedModel.ID && !strings.HasPrefix(f.Path, projectDir+"/") {
			t.Errorf("finding path %q is not under the root as given", f.Path)
		}
	}
}

// Python packages from requirements.txt, pyproject.toml and uv.lock.
func TestPackages(t *testing.T) {
	b, fs := buildProject(t)
	for _, f := range fs {
		if f.RuleID == RuleIncomplete.ID && strings.Contains(f.Message, "not implemented") {
			t.Skip("deps/pyparse.ParseTree is not implemented yet")
		}
	}
	var got []string
	for _, c := range components(b) {
		if c.Type == cdx.ComponentTypeLibrary {
			got = append(got, c.PackageURL)
		}
	}
	sort.Strings(got)
	want := []string{
		"pkg:pypi/anthropic@0.34.2", // unpinned in requirements.txt, locked in uv.lock
		"pkg:pypi/datasets@2.21.0",
		"pkg:pypi/httpx@0.27.2",
		"pkg:pypi/huggingface-hub@0.25.1",
		"pkg:pypi/openai@1.51.0",
		"pkg:pypi/sentence-transformers@3.0.1",
		"pkg:pypi/torch@2.4.1",
		"pkg:pypi/transfomers@4.44.2", // the typosquat is listed as declared
		"pkg:pypi/transformers@4.44.2",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	if idx := propOne(b.Metadata.Properties, "aigis:python:extra-index-url"); !strings.Contains(idx, "https://pypi.acme-internal.example.com/simple") {
		t.Errorf("extra index not recorded: %q", idx)
	}
	ty := components(b)["pkg:pypi/transfomers@4.44.2"]
	if d := propOne(ty.Properties, "aigis:declared"); d != "requirements.txt:4" {
		t.Errorf("typosquat declared at %q, want requirements.txt:4", d)
	}
}

// Hosted AI APIs as services, with endpoints and call sites.
func TestServices(t *testing.T) {
	b, _ := buildProject(t)
	var got []string
	for _, s := range *b.Services {
		got = append(got, s.BOMRef+" | "+s.Name+" | "+strings.Join(*s.Endpoints, ",")+" | "+
			strings.Join(props(s.Properties, "aigis:location"), ",")+" | "+strings.Join(props(s.Properties, "aigis:model"), ","))
	}
	want := []string{
		"service:anthropic:https://api.anthropic.com | Anthropic API | https://api.anthropic.com | app.py:39 | claude-3-5-haiku-latest",
		"service:azure-openai:https://acme-support.openai.azure.com/ | Azure OpenAI | https://acme-support.openai.azure.com/ | rag/index.py:26 | ",
		"service:bedrock:https://bedrock-runtime.eu-west-1.amazonaws.com | Amazon Bedrock | https://bedrock-runtime.eu-west-1.amazonaws.com | rag/index.py:23 | ",
		"service:cohere:https://api.cohere.com | Cohere API | https://api.cohere.com | tools/images.py:9 | ",
		"service:gemini:https://generativelanguage.googleapis.com | Google Gemini API | https://generativelanguage.googleapis.com | rag/index.py:24,rag/index.py:25 | gemini-1.5-flash",
		"service:mistral:https://api.mistral.ai | Mistral AI API | https://api.mistral.ai | tools/images.py:10 | ",
		"service:openai:https://llm.internal.example.com/v1 | OpenAI API at llm.internal.example.com | https://llm.internal.example.com/v1 | app.py:38 | gpt-4o-mini",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("services (-want +got):\n%s", d)
	}
}

// The project depends on every component and service, and every ref in
// the dependency graph exists.
func TestDependencies(t *testing.T) {
	b, _ := buildProject(t)
	refs := map[string]bool{}
	for r := range components(b) {
		refs[r] = true
	}
	for _, s := range *b.Services {
		refs[s.BOMRef] = true
	}
	var root *cdx.Dependency
	for i, d := range *b.Dependencies {
		if d.Ref == b.Metadata.Component.BOMRef {
			root = &(*b.Dependencies)[i]
		} else if !refs[d.Ref] {
			t.Errorf("dependency entry for unknown ref %q", d.Ref)
		}
	}
	if root == nil || root.Dependencies == nil {
		t.Fatal("no dependency entry for the project")
	}
	on := map[string]bool{}
	for _, r := range *root.Dependencies {
		on[r] = true
	}
	for r := range refs {
		if !on[r] {
			t.Errorf("project does not depend on %s", r)
		}
	}
	for _, r := range []string{"model:models/classifier/model.safetensors", "pkg:pypi/transfomers@4.44.2",
		"service:openai:https://llm.internal.example.com/v1"} {
		if !on[r] {
			t.Errorf("project does not depend on %s", r)
		}
	}
}

func schemaValidator(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for _, name := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		f, err := os.Open(filepath.Join(schemaDir, name))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("CycloneDX schema not found in %s", schemaDir)
		}
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, b *cdx.BOM) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, b); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("BOM does not validate against CycloneDX 1.6: %v", err)
	}
	return buf.Bytes()
}

func TestSchemaValid(t *testing.T) {
	s := schemaValidator(t)
	b, _ := buildProject(t)
	out := validate(t, s, b)
	var top map[string]any
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatal(err)
	}
	if top["specVersion"] != "1.6" {
		t.Errorf("specVersion %v, want 1.6", top["specVersion"])
	}
	tools := top["metadata"].(map[string]any)["tools"].(map[string]any)["components"].([]any)
	if n := tools[0].(map[string]any)["name"]; n != "aigis" {
		t.Errorf("metadata tool %v, want aigis", n)
	}
	// The Hugging Face cache fixture too (a pinned purl, GGUF-free).
	b2, _, err := Build(context.Background(), hubCacheFixture(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, s, b2)
}

var serialRE = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The same project gives the same bytes; the serial number comes from the
// content unless given.
func TestDeterministic(t *testing.T) {
	var outs [][]byte
	for i := 0; i < 3; i++ {
		b, _, err := Build(context.Background(), projectDir, Options{Workers: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		if !serialRE.MatchString(b.SerialNumber) {
			t.Errorf("serial %q is not a UUID URN", b.SerialNumber)
		}
		var buf bytes.Buffer
		if err := Write(&buf, b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, buf.Bytes())
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Fatalf("run %d differs:\n%s", i, cmp.Diff(string(outs[0]), string(outs[i])))
		}
	}
	const given = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
	b, _, err := Build(context.Background(), projectDir, Options{SerialNumber: given})
	if err != nil {
		t.Fatal(err)
	}
	if b.SerialNumber != given {
		t.Errorf("serial %q, want %q", b.SerialNumber, given)
	}
}

// hubCacheFixture lays out a Hugging Face cache the way huggingface_hub
// does: the file under blobs/<sha256>, a symlink from snapshots/<commit>/.
func hubCacheFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	data, err := os.ReadFile("../testdata/models/benign/safetensors/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	repo := filepath.Join(root, "hub", "models--acme--tiny-classifier")
	blob := filepath.Join(repo, "blobs", hex.EncodeToString(sum[:]))
	snap := filepath.Join(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567")
	for _, d := range []string{filepath.Dir(blob), snap, filepath.Join(repo, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "..", "blobs", hex.EncodeToString(sum[:])), filepath.Join(snap, "model.safetensors")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("0123456789abcdef0123456789abcdef01234567"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestHubCachePurl(t *testing.T) {
	b, _, err := Build(context.Background(), hubCacheFixture(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range components(b) {
		got = append(got, c.BOMRef+" "+c.Group+"/"+c.Name+"@"+c.Version+" "+c.PackageURL+" "+propOne(c.Properties, "aigis:hub:file"))
	}
	want := []string{"model:hub/models--acme--tiny-classifier/snapshots/0123456789abcdef0123456789abcdef01234567/model.safetensors " +
		"acme/tiny-classifier@0123456789abcdef0123456789abcdef01234567 " +
		"pkg:huggingface/acme/tiny-classifier@0123456789abcdef0123456789abcdef01234567 model.safetensors"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cache model (-want +got):\n%s", d)
	}
}

// A model that runs code when loaded carries the scan verdict, and the
// scan's findings are passed on.
func TestMaliciousModelVerdict(t *testing.T) {
	root := t.TempDir()
	data, err := os.ReadFile("../testdata/models/malicious/pickle/functools_partial_os_system.pkl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "model.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, fs, err := Build(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := components(b)["model:model.bin"]
	if v := propOne(c.Properties, "aigis:scan:verdict"); v != "critical" {
		t.Errorf("verdict %q, want critical", v)
	}
	if f := propOne(c.Properties, "aigis:format"); f != "pickle" {
		t.Errorf("format %q, want pickle", f)
	}
	crit := false
	for _, f := range fs {
		crit = crit || f.Severity == finding.Critical
	}
	if !crit {
		t.Error("the scan's critical finding is not returned")
	}
}

// Packages come through Options.Packages; a failing lister is a finding,
// not an error.
func TestPackageLister(t *testing.T) {
	root := t.TempDir()
	list := func(string) ([]*pyparse.Manifest, error) {
		return []*pyparse.Manifest{{File: filepath.Join(root, "requirements.txt"), Requirements: []pyparse.Requirement{
			{Name: "Torch", Normalized: "torch", Specifier: ">=2", File: filepath.Join(root, "requirements.txt"), Line: 1},
			{Name: "numpy", Normalized: "numpy", Specifier: "==1.26.4", Version: "1.26.4", File: filepath.Join(root, "requirements.txt"), Line: 2},
		}}}, nil
	}
	b, _, err := Build(context.Background(), root, Options{Packages: list})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range components(b) {
		got = append(got, c.PackageURL+" "+propOne(c.Properties, "aigis:declared")+" "+propOne(c.Properties, "aigis:specifier"))
	}
	sort.Strings(got)
	want := []string{"pkg:pypi/numpy@1.26.4 requirements.txt:2 ==1.26.4", "pkg:pypi/torch requirements.txt:1 >=2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}

	_, fs, err := Build(context.Background(), root, Options{Packages: func(string) ([]*pyparse.Manifest, error) {
		return nil, errors.New("boom")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].RuleID != RuleIncomplete.ID {
		t.Errorf("findings %v, want one %s", fs, RuleIncomplete.ID)
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
