package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// IndexName is the file that lists the shards of a sharded checkpoint.
const IndexName = "model.safetensors.index.json"

// MaxIndexLen bounds an index file; real ones are a few MiB at most.
const MaxIndexLen = 64 << 20

// Index is a model.safetensors.index.json:
//
//	{"metadata": {"total_size": 123}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}
type Index struct {
	// Metadata holds the values of "metadata" as JSON text (total_size is a
	// number).
	Metadata  map[string]string
	WeightMap map[string]string // tensor name → shard file name
	Shards    []string          // the distinct shard names, sorted
	Anomalies []Anomaly         // duplicate keys, non-string shard names
}

// Index anomaly kinds (besides KindDuplicateKey and KindInvalidJSON).
const (
	KindShardPath     = "shard-path"     // a shard name that leaves the model's folder
	KindMissingShard  = "missing-shard"  // a shard the map names is not present
	KindMissingTensor = "missing-tensor" // the map puts a tensor in a shard whose header lacks it
	KindUnlisted      = "unlisted-tensor"
)

// ParseIndex reads an index file strictly: it must be one JSON object with a
// "weight_map" object of strings. Duplicate keys and other oddities are
// Anomalies; a file that is not such an object is an error.
func ParseIndex(b []byte) (*Index, error) {
	if len(b) > MaxIndexLen {
		return nil, fmt.Errorf("safetensors: index of %d bytes is larger than %d", len(b), MaxIndexLen)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("safetensors: index is not valid UTF-8")
	}
	f := &File{}
	p := &headerParser{f: f, dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	idx := &Index{Metadata: map[string]string{}, WeightMap: map[string]string{}}
	haveMap := false
	err := func() error {
		if err := p.delim('{'); err != nil {
			return err
		}
		return p.members("the index", func(k string) error {
			switch k {
			case "weight_map":
				haveMap = true
				return p.stringMap(idx.WeightMap, "weight_map")
			case "metadata":
				return p.rawMap(idx.Metadata)
			}
			return p.skip()
		})
	}()
	if err != nil {
		return nil, fmt.Errorf("safetensors: index: %w", err)
	}
	if len(bytes.TrimLeft(b[p.dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errors.New("safetensors: index: data after the JSON object")
	}
	if !haveMap {
		return nil, errors.New("safetensors: index has no weight_map")
	}
	seen := map[string]bool{}
	for _, s := range idx.WeightMap {
		if !seen[s] {
			seen[s] = true
			idx.Shards = append(idx.Shards, s)
		}
	}
	sort.Strings(idx.Shards)
	idx.Anomalies = f.Anomalies
	return idx, nil
}

// stringMap reads an object of strings into m; other values are anomalies.
func (p *headerParser) stringMap(m map[string]string, where string) error {
	if err := p.delim('{'); err != nil {
		return err
	}
	return p.members(where, func(k string) error {
		t, err := p.dec.Token()
		if err != nil {
			return err
		}
		if s, ok := t.(string); ok {
			m[k] = s
			return nil
		}
		p.f.add(KindInvalidJSON, 0, "%s[%q] is %s, not a string", where, k, jsonKind(t))
		return p.skipRest(t)
	})
}

// rawMap reads an object into m, each value as its JSON text.
func (p *headerParser) rawMap(m map[string]string) error {
	if err := p.delim('{'); err != nil {
		return err
	}
	return p.members("metadata", func(k string) error {
		var raw json.RawMessage
		if err := p.dec.Decode(&raw); err != nil {
			return err
		}
		if len(raw) > 4096 {
			raw = raw[:4096]
		}
		m[k] = string(raw)
		return nil
	})
}

// UnsafeShardName reports why a shard name could make a loader open a file
// outside the model's folder, or "" when it is a plain file name.
func UnsafeShardName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case name == "." || name == "..":
		return "is a relative folder"
	case len(name) >= 2 && name[1] == ':':
		return "starts with a drive letter"
	}
	return ""
}

// CheckIndex checks an index against the files next to it. present reports
// whether a shard file exists (nil: do not check); shards holds the parsed
// headers of the shards that were read (missing entries are not checked).
// Anomalies come in a stable order.
func CheckIndex(idx *Index, present func(name string) bool, shards map[string]*File) []Anomaly {
	var out []Anomaly
	add := func(kind, format string, args ...any) {
		if len(out) < MaxAnomalies {
			out = append(out, Anomaly{Kind: kind, Detail: fmt.Sprintf(format, args...)})
		}
	}
	for _, s := range idx.Shards {
		if why := UnsafeShardName(s); why != "" {
			add(KindShardPath, "shard name %q %s: a loader joins it to the model's folder", s, why)
			continue
		}
		if present != nil && !present(s) {
			add(KindMissingShard, "shard %q named by the index is not present", s)
		}
	}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	inShard := map[string]map[string]bool{}
	for s, f := range shards {
		if f == nil {
			continue
		}
		m := map[string]bool{}
		for _, t := range f.Tensors {
			m[t.Name] = true
		}
		inShard[s] = m
	}
	for _, n := range names {
		s := idx.WeightMap[n]
		if m, ok := inShard[s]; ok && !m[n] {
			add(KindMissingTensor, "the index puts tensor %q in shard %q, whose header does not have it", n, s)
		}
	}
	shardNames := make([]string, 0, len(shards))
	for s := range shards {
		shardNames = append(shardNames, s)
	}
	sort.Strings(shardNames)
	for _, s := range shardNames {
		f := shards[s]
		if f == nil {
			continue
		}
		for _, t := range f.Tensors {
			if got, ok := idx.WeightMap[t.Name]; !ok || got != s {
				where := "does not list it"
				if ok {
					where = fmt.Sprintf("puts it in %q", got)
				}
				add(KindUnlisted, "shard %q holds tensor %q but the index %s", s, t.Name, where)
			}
		}
	}
	return out
}
