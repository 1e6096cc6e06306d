package pysrc

import (
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	f.Add([]byte("import os\nos.system('id')\n"))
	f.Add([]byte("class A:\n    def f(self, x=(1,\n 2)):\n        return f'{x!r:>{w}}'\n"))
	f.Add([]byte("exec(__import__('zlib').decompress(__import__('base64').b64decode('eJzLzC3ILypRyC8uKS0oyi9RyMlPTtXLLy0pKC3JLMnMzwMAtNEM8g==')))"))
	f.Add([]byte("x = 'abc\nf'{a['b']}' rb'\\'' \"\"\"x"))
	f.Add([]byte("exec(''.join([chr(105), 'd'])[::-1]); getattr(os, 'sys'+'tem')('x')"))
	files, _ := filepath.Glob("../../testdata/repos/*/*.py")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		toks, err := Tokenize(src, Limits{MaxNesting: 50})
		if err == nil && (len(toks) == 0 || toks[len(toks)-1].Kind != EndMarker) {
			t.Fatal("no ENDMARKER without error")
		}
		prev := -1
		for _, tk := range toks {
			if tk.Offset < prev || tk.Offset+len(tk.Text) > len(src) || tk.Line < 1 {
				t.Fatalf("token %+v out of order or range", tk)
			}
			if tk.Text != string(src[tk.Offset:tk.Offset+len(tk.Text)]) {
				t.Fatalf("token text %q is not the source at %d", tk.Text, tk.Offset)
			}
			prev = tk.Offset
		}
	})
}

func FuzzAnalyze(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		m, _ := Analyze(src, Limits{MaxNesting: 50, MaxDecoded: 1 << 16})
		if m == nil {
			t.Fatal("nil module")
		}
		for _, c := range m.Calls {
			if c.Line < 1 || c.Offset < 0 || c.Offset > len(src) {
				t.Fatalf("call %+v out of range", c)
			}
		}
		for _, d := range m.Defs {
			if d.EndLine < d.Line {
				t.Fatalf("def %+v ends before it starts", d)
			}
		}
	})
}
