package bom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxCardBytes bounds a README.md or config.json read for a model card.
const maxCardBytes = 1 << 20

// card is what a model folder says about the model: README.md front matter
// (the Hugging Face model card metadata) and config.json.
type card struct {
	Licenses    []string
	BaseModels  []string
	Datasets    []string
	PipelineTag string
	Languages   []string
	Library     string
	// RepoID and Revision name the Hub repository the files came from,
	// when the folder records it (front matter repo_id/model_id and
	// revision, or config.json _name_or_path with _commit_hash).
	RepoID, Revision string
	// From config.json.
	Architecture, ModelType string
}

// readCard reads dir/README.md and dir/config.json; missing files are not
// errors, unreadable ones are.
func readCard(dir string) (*card, error) {
	c := &card{}
	found := false
	if data, err := readSmall(dir + "/README.md"); err == nil {
		found = true
		if err := c.frontMatter(data); err != nil {
			return nil, fmt.Errorf("README.md front matter: %w", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if data, err := readSmall(dir + "/config.json"); err == nil {
		found = true
		c.config(data) // a config.json that is not JSON is not ours to judge
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	return c, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxCardBytes))
}

// frontMatter parses the YAML between a leading "---" line and the next.
func (c *card) frontMatter(data []byte) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(data, []byte("---\n")) {
		return nil
	}
	rest := data[4:]
	end := bytes.Index(rest, []byte("\n---"))
	if end < 0 {
		return nil
	}
	var m map[string]any
	if err := yaml.Unmarshal(rest[:end+1], &m); err != nil {
		return err
	}
	c.Licenses = strs(m["license"])
	if n := strs(m["license_name"]); len(c.Licenses) == 1 && c.Licenses[0] == "other" && len(n) == 1 {
		c.Licenses = n
	}
	c.BaseModels = strs(m["base_model"])
	c.Datasets = strs(m["datasets"])
	c.Languages = strs(m["language"])
	c.PipelineTag = first(strs(m["pipeline_tag"]))
	c.Library = first(strs(m["library_name"]))
	c.RepoID = first(append(strs(m["repo_id"]), strs(m["model_id"])...))
	c.Revision = first(append(strs(m["revision"]), strs(m["commit"])...))
	return nil
}

func (c *card) config(data []byte) {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return
	}
	c.Architecture = first(strs(m["architectures"]))
	c.ModelType = first(strs(m["model_type"]))
	// transformers records _commit_hash only in a config loaded from the
	// Hub; save_pretrained drops it, and _name_or_path alone names the base
	// model of a fine-tune, not the folder's own identity.
	if commit := first(strs(m["_commit_hash"])); commit != "" && c.RepoID == "" {
		c.RepoID, c.Revision = first(strs(m["_name_or_path"])), commit
	}
}

// strs reads a YAML/JSON value that is a string or a list of strings.
func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if s := strings.TrimSpace(x); s != "" {
			out = append(out, s)
		}
	case []any:
		for _, e := range x {
			out = append(out, strs(e)...)
		}
	}
	return out
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// spdxIDs maps the Hub's lower-case license ids to SPDX ids; anything else
// is written as a license name.
var spdxIDs = map[string]string{
	"apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause",
	"cc0-1.0": "CC0-1.0", "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
	"cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0", "mpl-2.0": "MPL-2.0",
	"unlicense": "Unlicense", "agpl-3.0": "AGPL-3.0-only", "lgpl-3.0": "LGPL-3.0-only", "gpl-3.0": "GPL-3.0-only",
	"openrail": "", "odc-by": "ODC-By-1.0", "odbl": "ODbL-1.0", "artistic-2.0": "Artistic-2.0", "ecl-2.0": "ECL-2.0",
	"wtfpl": "WTFPL", "zlib": "Zlib", "afl-3.0": "AFL-3.0", "osl-3.0": "OSL-3.0", "epl-2.0": "EPL-2.0",
}

func sortedUnique(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return slices.Compact(s)
}
