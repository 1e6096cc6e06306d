package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/gguf"
	"github.com/aigis-sec/aigis/format/onnx"
	"github.com/aigis-sec/aigis/format/safetensors"
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

func (s *session) template(b blob, kind string) string {
	text, err := io.ReadAll(io.LimitReader(b.reader(), maxConfigBytes+1))
	if err != nil {
		s.fail(b.loc, err)
		return kind
	}
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
func (s *session) shardIndex(b blob) string {
	text, err := io.ReadAll(io.LimitReader(b.reader(), safetensors.MaxIndexLen+1))
	if err != nil {
		s.fail(b.loc, err)
		return "safetensors-index"
	}
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
