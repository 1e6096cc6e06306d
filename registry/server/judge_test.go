package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCardLicense(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, card, want string }{
		{"front matter", "---\nlanguage: en\nlicense: apache-2.0\ntags: [x]\n---\n# Model\n", "apache-2.0"},
		{"quoted", "---\nlicense: \"mit\"\n---\n", "mit"},
		{"after the front matter", "---\nlanguage: en\n---\nlicense: mit\n", ""},
		{"no front matter", "# Model\nlicense: mit\n", ""},
		{"CRLF", "---\r\nlicense: mit\r\n---\r\n", "mit"},
		// A hostile card: gigantic front matter; the licence past the
		// bound is not read, and the read stays bounded.
		{"beyond the bound", "---\n" + strings.Repeat("a: b\n", maxCardHead/5+10) + "license: mit\n---\n", ""},
	} {
		p := filepath.Join(dir, "README.md")
		os.WriteFile(p, []byte(c.card), 0o644)
		if got := cardLicense(p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := cardLicense(filepath.Join(dir, "missing.md")); got != "" {
		t.Errorf("missing card: %q", got)
	}
}
