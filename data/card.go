package data

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// maxCardBytes bounds the dataset card read by ReadCard.
const maxCardBytes = 4 << 20

// ReadCard reads the YAML front matter of a dataset card (README.md):
// dataset_info (features, splits with num_examples and num_bytes; a list
// of them when there are several configs), configs[].data_files (a path,
// a list of paths, or a list of {split, path}) and license. A card without
// front matter is an empty Card, not an error.
func ReadCard(path string) (*Card, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(safeio.LimitReader(f, maxCardBytes, "MaxCardBytes"))
	if err != nil {
		return nil, fmt.Errorf("data: card %s: %w", path, err)
	}
	return parseCard(b)
}

func parseCard(b []byte) (*Card, error) {
	b = bytes.TrimPrefix(b, utf8BOM)
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	card := &Card{Raw: map[string]any{}}
	if !bytes.HasPrefix(b, []byte("---\n")) {
		return card, nil
	}
	rest := b[4:]
	end := bytes.Index(rest, []byte("\n---"))
	if end < 0 {
		return nil, fmt.Errorf("data: card: front matter not closed by ---")
	}
	if err := yaml.Unmarshal(rest[:end], &card.Raw); err != nil {
		return nil, fmt.Errorf("data: card: %w", err)
	}
	if card.Raw == nil {
		card.Raw = map[string]any{}
	}
	card.License = licenseText(card.Raw["license"])
	splits := map[string]*Split{}
	var order []string
	split := func(name string) *Split {
		if s, ok := splits[name]; ok {
			return s
		}
		s := &Split{Name: name}
		splits[name] = s
		order = append(order, name)
		return s
	}
	featSeen := map[string]bool{}
	for _, info := range asList(card.Raw["dataset_info"]) {
		m, _ := info.(map[string]any)
		for _, f := range asList(m["features"]) {
			fm, _ := f.(map[string]any)
			if name, ok := fm["name"].(string); ok && !featSeen[name] {
				featSeen[name] = true
				card.Features = append(card.Features, name)
			}
		}
		for _, sp := range asList(m["splits"]) {
			sm, _ := sp.(map[string]any)
			name, ok := sm["name"].(string)
			if !ok {
				continue
			}
			s := split(name)
			s.NumExamples += asInt(sm["num_examples"])
			s.NumBytes += asInt(sm["num_bytes"])
		}
	}
	for _, cfg := range asList(card.Raw["configs"]) {
		cm, _ := cfg.(map[string]any)
		switch df := cm["data_files"].(type) {
		case string:
			s := split("train")
			s.Files = append(s.Files, df)
		case []any:
			for _, e := range df {
				switch e := e.(type) {
				case string:
					s := split("train")
					s.Files = append(s.Files, e)
				case map[string]any:
					name, _ := e["split"].(string)
					if name == "" {
						name = "train"
					}
					s := split(name)
					for _, p := range asList(e["path"]) {
						if p, ok := p.(string); ok {
							s.Files = append(s.Files, p)
						}
					}
				}
			}
		}
	}
	for _, name := range order {
		card.Splits = append(card.Splits, *splits[name])
	}
	return card, nil
}

func licenseText(v any) string {
	var parts []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// asList returns v as a list: a list as is, nil as empty, anything else as
// a list of one.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}

// dataExtensions are the file names Files returns, after compression
// suffixes are removed.
var dataExtensions = map[string]bool{
	"csv": true, "tsv": true, "jsonl": true, "json": true, "parquet": true, "txt": false,
}

// maxFiles bounds the files Files lists.
const maxFiles = 100000

// Files lists the data files of a dataset folder, sorted: shards under
// data/ (data/train-00000-of-00002.parquet), the Hub's converted layout
// (refs/convert/parquet/<config>/<split>/0000.parquet), config folders and
// top-level files. It skips .git and hidden folders, and JSON files that
// describe rather than hold data (dataset_info.json, state.json…).
func Files(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks could point out of the folder
		}
		if !dataExtensions[extension(name)] || metadataFiles[strings.ToLower(name)] {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if len(out) >= maxFiles {
			return &safeio.LimitError{Limit: "MaxFiles", Value: maxFiles, Detail: dir}
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("data: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

var metadataFiles = map[string]bool{
	"dataset_info.json":     true,
	"dataset_infos.json":    true,
	"state.json":            true,
	"dataset_dict.json":     true,
	"config.json":           true,
	"croissant.json":        true,
	"package.json":          true,
	"tokenizer.json":        true,
	"tokenizer_config.json": true,
}
