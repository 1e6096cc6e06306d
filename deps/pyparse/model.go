package pyparse

import "strings"

// Requirement is one package a project depends on, where it was declared.
type Requirement struct {
	Name       string   // as written
	Normalized string   // PEP 503: lower-case, runs of -_. become -
	Specifier  string   // e.g. ">=1.0,<2" ("" when none)
	Version    string   // the exact version when pinned (== or ===, or a lock entry), else ""
	Extras     []string // extras as written, e.g. ["security"]
	Marker     string   // environment marker text
	URL        string   // name @ URL, or a lock entry's source URL
	VCS        string   // "git", "hg"… for VCS links; Ref is the commit/tag if given
	Ref        string   // the commit, tag or branch of a VCS link, when given
	Editable   bool     // -e / editable = true / develop = true
	Hashes     []string // "sha256:…"
	File       string   // path as given
	Line       int      // 1-based; 0 when unknown
	Source     string   // "requirements", "pyproject", "poetry.lock", "uv.lock", "Pipfile.lock", "pylock", "conda", "setup.cfg"…
	Group      string   // dependency group / extra / "dev" / "build-system"
	Locked     bool     // from a lock file
	Index      string   // the index a lock entry came from (URL, or Pipfile's index name), or the Poetry/uv index name in pyproject.toml
}

// Index is a package index or host setting.
type Index struct {
	URL      string // as written (a host for "trusted-host"; "" for "uv-index-strategy")
	Kind     string // "index-url", "extra-index-url", "find-links", "trusted-host", "uv-index", "uv-index-strategy", "poetry-source", "pipfile-source", "conda-channel"
	Strategy string // uv index-strategy ("first-index", "unsafe-first-match", "unsafe-best-match"), on every index of that pyproject.toml
	// Name is the index's name (uv, Poetry, Pipfile), which Requirement.Index
	// refers to in pyproject.toml; "" when it has none.
	Name string
	// Priority is Poetry's priority ("primary", "supplemental", "explicit";
	// legacy "default", "secondary") or uv's "explicit" / "default" flag.
	Priority string
	// NoVerifySSL is set for a Pipfile source with verify_ssl = false.
	NoVerifySSL bool
	File        string // path as given
	Line        int    // 1-based; 0 when unknown
}

// Manifest is what one dependency file declares.
type Manifest struct {
	File         string // path as given
	Kind         string // as returned by Detect
	Requirements []Requirement
	Indexes      []Index
	Includes     []string // -r/-c files, resolved relative to File's folder
	Problems     []Problem
}

// Problem is a line that could not be parsed, or a limit that cut parsing
// short. Problems are reported, never dropped silently.
type Problem struct {
	Line int // 1-based; 0 when unknown
	Msg  string
}

// Normalize returns the PEP 503 normalized form of a project name:
// lower-case, with every run of '-', '_' and '.' replaced by one '-'.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}
