package jinja

import (
	"os"
	"path/filepath"
	"testing"
)

// templateFiles lists the committed chat templates (benign and malicious).
func templateFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "*", "*.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no templates in testdata/templates")
	}
	return files
}

func TestParseTemplates(t *testing.T) {
	for _, f := range templateFiles(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := Parse(string(src), Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			n := 0
			Walk(tmpl, func(Node) bool { n++; return true })
			if n != tmpl.Nodes {
				t.Errorf("Walk visited %d nodes, Template.Nodes = %d", n, tmpl.Nodes)
			}
		})
	}
}
