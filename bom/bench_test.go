package bom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchTree writes a project of about 5,000 files: small Python modules in
// nested packages (some loading Hub models and calling APIs), a few model
// files, and dependency files.
func benchTree(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	model, err := os.ReadFile("../testdata/models/benign/safetensors/model.safetensors")
	if err != nil {
		b.Fatal(err)
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 4950; i++ {
		var src string
		switch i % 10 {
		case 0:
			src = fmt.Sprintf("from transformers import AutoModel\nm = AutoModel.from_pretrained('org%d/model-%d')\n", i%7, i%50)
		case 1:
			src = fmt.Sprintf("from openai import OpenAI\nc = OpenAI(base_url='https://llm%d.example.com/v1')\nr = c.chat.completions.create(model='m%d')\n", i%5, i%3)
		default:
			src = fmt.Sprintf("import os\n\n\ndef f%d(x):\n    \"\"\"Helper %d.\"\"\"\n    y = [v * 2 for v in x if v]\n    return os.path.join(*map(str, y))\n\n\nclass C%d:\n    def run(self, a, b=3):\n        return f%d([a, b])\n", i, i, i, i)
		}
		write(fmt.Sprintf("pkg%02d/sub%02d/mod%04d.py", i%40, i%13, i), []byte(src))
	}
	for i := 0; i < 20; i++ {
		write(fmt.Sprintf("models/m%02d/model.safetensors", i), model)
		write(fmt.Sprintf("models/m%02d/README.md", i), []byte("---\nlicense: mit\nbase_model: org/base\n---\n# m\n"))
	}
	write("requirements.txt", []byte("torch==2.4.1\ntransformers==4.44.2\nopenai\n"))
	return root
}

func BenchmarkBuild(b *testing.B) {
	root := benchTree(b)
	b.ResetTimer()
	for b.Loop() {
		bom, _, err := Build(context.Background(), root, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if bom.Components == nil || len(*bom.Components) < 40 {
			b.Fatalf("components: %d", len(*bom.Components))
		}
	}
}
