package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/data/signals"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/gguf"
	"github.com/aigis-sec/aigis/format/hdf5"
	"github.com/aigis-sec/aigis/format/onnx"
	"github.com/aigis-sec/aigis/format/safetensors"
	"github.com/aigis-sec/aigis/format/tfgraph"
	"github.com/aigis-sec/aigis/format/tflite"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

// Formats read from their headers only: safetensors, GGUF, ONNX. They need
// random access; a streamed member is spooled first (materialize).

func (s *session) randomAccess(b blob) (io.ReaderAt, int64, func(), bool) {
	ra, size, cleanup, err := s.materialize(b)
	if err != nil {
		s.fail(b.loc, err)
		return nil, 0, nil, false
	}
	return ra, size, cleanup, true
}

// safetensors parses b, which the caller has made random-access.
func (s *session) safetensors(b blob) string {
	f, err := safetensors.Parse(b.ra, b.size, safetensors.DefaultLimits())
	if f != nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindSafetensors, Model: f})
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("safetensors: %w", err))
	}
	return "safetensors"
}

func (s *session) gguf(b blob) string {
	ra, size, cleanup, ok := s.randomAccess(b)
	if !ok {
		return "gguf"
	}
	defer cleanup()
	f, err := gguf.Parse(ra, size, gguf.DefaultLimits())
	if f != nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindGGUF, Model: f})
		for _, kv := range f.ChatTemplates() {
			s.emit(&checks.Artifact{Loc: b.loc.At(kv.Offset), Kind: checks.KindTemplate, Name: kv.Key, Text: []byte(kv.Value.Str)})
			if kv.Value.Truncated {
				s.fail(b.loc.At(kv.Offset), &safeio.LimitError{Limit: "KeepString", Value: int64(len(kv.Value.Str)),
					Detail: kv.Key + " is longer: only its start was analysed"})
			}
		}
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("gguf: %w", err))
	}
	return "gguf"
}

func (s *session) onnx(b blob) string {
	var m *onnx.Model
	var err error
	if b.r == nil {
		m, err = onnx.Parse(b.ra, b.size, onnx.DefaultLimits())
	} else {
		m, err = onnx.ParseReader(b.r, onnx.DefaultLimits())
	}
	var resolve checks.ResolveExternal
	if b.osPath != "" {
		resolve = checks.ONNXDirResolver(filepath.Dir(b.osPath))
	}
	if m != nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindONNX, Model: m, Resolve: resolve})
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("onnx: %w", err))
	}
	return "onnx"
}

// Chat templates outside GGUF: chat_template.jinja, and chat_template in
// tokenizer_config.json (a string, or a list of {name, template}).
func isTemplateName(loc finding.Location) (string, bool) {
	name := loc.Path
	if loc.Member != "" {
		name = loc.Member
	}
	base := strings.ToLower(path.Base(filepath.ToSlash(name)))
	switch {
	case base == "tokenizer_config.json":
		return "tokenizer_config", true
	case strings.HasSuffix(base, ".jinja") || strings.HasSuffix(base, ".jinja2"):
		return "jinja", true
	}
	return "", false
}

func (s *session) template(b blob, kind string, text []byte) string {
	if len(text) > maxConfigBytes {
		s.fail(b.loc, fmt.Errorf("%s larger than %d bytes: not analysed", kind, maxConfigBytes))
		return kind
	}
	if kind == "jinja" {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindTemplate, Name: path.Base(b.loc.Path), Text: text})
		return "chat-template"
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if json.Unmarshal(text, &cfg) != nil || len(cfg.ChatTemplate) == 0 {
		return "json"
	}
	var one string
	if json.Unmarshal(cfg.ChatTemplate, &one) == nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindTemplate, Name: "chat_template", Text: []byte(one)})
		return "tokenizer-config"
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if json.Unmarshal(cfg.ChatTemplate, &named) == nil {
		for _, t := range named {
			s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindTemplate, Name: "chat_template." + t.Name, Text: []byte(t.Template)})
		}
	}
	return "tokenizer-config"
}

// isShardIndex: the index of a sharded safetensors checkpoint
// (model.safetensors.index.json and its variants) has no magic bytes.
func isShardIndex(loc finding.Location) bool {
	name := loc.Path
	if loc.Member != "" {
		name = loc.Member
	}
	return strings.HasSuffix(strings.ToLower(name), ".safetensors.index.json")
}

// shardIndex checks a shard index against the shards beside it: every
// shard it names must be a plain file name present in the folder, and
// every tensor it maps must be in that shard's header.
func (s *session) shardIndex(b blob, text []byte) string {
	idx, err := safetensors.ParseIndex(text)
	if err != nil {
		s.fail(b.loc, err)
		return "safetensors-index"
	}
	if b.osPath == "" {
		// Inside an archive the shards are not files: only the names are checked.
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindShardIndex, Model: idx,
			Problems: safetensors.CheckIndex(idx, func(string) bool { return true }, nil)})
		return "safetensors-index"
	}
	dir := filepath.Dir(b.osPath)
	present := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		return err == nil && st.Mode().IsRegular()
	}
	shards := map[string]*safetensors.File{}
	for _, name := range idx.Shards {
		if safetensors.UnsafeShardName(name) != "" || !present(name) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if st, err := f.Stat(); err == nil {
			if sf, err := safetensors.Parse(f, st.Size(), safetensors.DefaultLimits()); err == nil {
				shards[name] = sf
			}
		}
		f.Close()
	}
	s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindShardIndex, Model: idx,
		Problems: safetensors.CheckIndex(idx, present, shards)})
	return "safetensors-index"
}

func (s *session) tflite(b blob) string {
	ra, size, cleanup, ok := s.randomAccess(b)
	if !ok {
		return "tflite"
	}
	defer cleanup()
	m, err := tflite.Parse(ra, size, tflite.DefaultLimits())
	if m != nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindTFLite, Model: m})
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("tflite: %w", err))
	}
	return "tflite"
}

// tfgraph reads a SavedModel, a frozen GraphDef or keras_metadata.pb.
func (s *session) tfgraph(b blob, kind string) string {
	ra, size, cleanup, ok := s.randomAccess(b)
	if !ok {
		return kind
	}
	defer cleanup()
	if kind == "keras-metadata" {
		km, err := tfgraph.ParseKerasMetadata(ra, size, tfgraph.DefaultLimits())
		if km != nil {
			s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindKerasMetadata, Model: km})
		}
		if err != nil {
			s.fail(b.loc, fmt.Errorf("keras_metadata.pb: %w", err))
		}
		return kind
	}
	parse := tfgraph.Parse
	if kind == "tf-savedmodel" {
		parse = tfgraph.ParseSavedModel
	}
	g, err := parse(ra, size, tfgraph.DefaultLimits())
	if g != nil {
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindTFGraph, Model: g})
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("tensorflow: %w", err))
	}
	return kind
}

// tfKind says how to read a protobuf file of TensorFlow, by content and,
// for formats without a recognisable start, by name.
func tfKind(loc finding.Location, head []byte) (string, bool) {
	base := strings.ToLower(path.Base(filepath.ToSlash(memberOrPath(loc))))
	switch {
	case base == "keras_metadata.pb":
		return "keras-metadata", true
	case tfgraph.SniffSavedModel(head):
		return "tf-savedmodel", true
	case strings.HasSuffix(base, ".pb") && tfgraph.SniffGraphDef(head):
		return "tf-graphdef", true
	}
	return "", false
}

func memberOrPath(loc finding.Location) string {
	if loc.Member != "" {
		if i := strings.LastIndexByte(loc.Member, '!'); i >= 0 {
			return loc.Member[i+1:]
		}
		return loc.Member
	}
	return loc.Path
}

// hdf5 reads the Keras configs stored as root attributes of a legacy .h5
// model (model_config, training_config). Loading an .h5 ignores safe_mode
// (CVE-2025-9905), so its config is judged like any other.
func (s *session) hdf5(b blob) string {
	ra, size, cleanup, ok := s.randomAccess(b)
	if !ok {
		return "hdf5"
	}
	defer cleanup()
	attrs, err := hdf5.ReadRootAttributes(ra, size, hdf5.DefaultLimits())
	kind := "hdf5"
	for _, name := range []string{"model_config", "training_config"} {
		a, ok := attrs[name]
		if !ok {
			continue
		}
		kind = "keras-h5"
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindKerasConfig, Name: name + " attribute", Text: []byte(a.Value)})
		if a.Truncated {
			s.fail(b.loc, fmt.Errorf("hdf5: attribute %s was not read whole", name))
		}
	}
	if err != nil {
		s.fail(b.loc, fmt.Errorf("hdf5: %w", err))
	}
	return kind
}

// kerasConfig reads config.json of a Keras v3 .keras archive.
func (s *session) kerasConfig(loc finding.Location, r io.Reader) {
	text, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		s.fail(loc, err)
		return
	}
	if len(text) > maxConfigBytes {
		s.fail(loc, &safeio.LimitError{Limit: "MaxConfigBytes", Value: maxConfigBytes, Detail: "Keras config not analysed"})
		return
	}
	s.emit(&checks.Artifact{Loc: loc, Kind: checks.KindKerasConfig, Name: "config.json", Text: text})
}

func isPythonName(loc finding.Location) bool {
	return strings.HasSuffix(strings.ToLower(memberOrPath(loc)), ".py")
}

// pythonRole says who imports a Python file: code under code/ of a
// TorchScript archive is compiled by torch.jit.load; a file named by the
// auto_map of a config.json beside it is imported by transformers with
// trust_remote_code=True; a file named after its folder is a dataset
// loading script; anything else runs only if someone runs it.
func (s *session) pythonRole(b blob, text []byte) string {
	if b.loc.Member != "" {
		if strings.Contains("/"+memberOrPath(b.loc), "/code/") {
			return checks.RoleTorchScript
		}
		return checks.RolePython
	}
	dir, base := filepath.Split(b.osPath)
	if b.osPath == "" {
		return checks.RolePython
	}
	if s.autoMap.files(dir)[base] {
		return checks.RoleRemoteCode
	}
	if strings.TrimSuffix(base, ".py") == filepath.Base(filepath.Clean(dir)) || isDatasetScript(text) {
		return checks.RoleDatasetScript
	}
	return checks.RolePython
}

func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// isDatasetScript: a loading script defines a builder class of the
// datasets library, which load_dataset imports and runs.
func isDatasetScript(text []byte) bool {
	return bytes.Contains(text, []byte("datasets")) &&
		(bytes.Contains(text, []byte("GeneratorBasedBuilder")) || bytes.Contains(text, []byte("ArrowBasedBuilder")) ||
			bytes.Contains(text, []byte("DatasetBuilder")))
}

// datasetExt: dataset files are picked by name for aigis scan (any text
// would read as a one-column CSV); aigis data reads them by content.
func datasetExt(loc finding.Location) bool {
	name := strings.ToLower(memberOrPath(loc))
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
	for _, ext := range []string{".csv", ".tsv", ".jsonl", ".parquet"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// dataset runs the dataset signals of aigis data (poisoning, leakage) on
// a dataset file found by the scan. Only files on disk are read this way.
func (s *session) dataset(b blob) {
	if b.osPath == "" {
		return
	}
	r, err := data.Open(b.osPath, data.DefaultLimits())
	if err != nil {
		s.fail(b.loc, fmt.Errorf("dataset: %w", err))
		return
	}
	defer r.Close()
	// A sample chooses the text and label columns; then every row streams.
	sample, readErr := data.Sample(r, 200)
	next := func() (*data.Row, bool) {
		row, err := r.Next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			return nil, false
		}
		return row, true
	}
	cols := r.Columns()
	text, label := data.Fields(cols, sample)
	a := signals.New(b.loc, cols, signals.Options{Text: data.ColumnIndex(cols, text), Label: data.ColumnIndex(cols, label)})
	for _, row := range sample {
		a.Add(row)
	}
	if len(sample) == 200 {
		for row, ok := next(); ok; row, ok = next() {
			a.Add(row)
		}
	}
	// The dataset signals are their own checker (package data/signals,
	// which uses scan/checks for secrets): their findings go straight in.
	s.findings = append(s.findings, a.Findings()...)
	if readErr != nil {
		s.fail(b.loc, fmt.Errorf("dataset: %w", readErr))
	}
}

// autoMaps remembers, per folder, the files that the auto_map of its
// config.json, tokenizer_config.json and preprocessor_config.json names,
// so a repository's configs are read once, not once per Python file.
type autoMaps struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

func (a *autoMaps) files(dir string) map[string]bool {
	if a != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		if f, ok := a.m[dir]; ok {
			return f
		}
	}
	f := map[string]bool{}
	for _, cfg := range []string{"config.json", "tokenizer_config.json", "preprocessor_config.json"} {
		text, err := readSmall(filepath.Join(dir, cfg), maxConfigBytes)
		if err != nil {
			continue
		}
		for _, name := range checks.AutoMapFiles(text) {
			f[name] = true
		}
	}
	if a != nil {
		if a.m == nil {
			a.m = map[string]map[string]bool{}
		}
		a.m[dir] = f
	}
	return f
}
