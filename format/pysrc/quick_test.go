package pysrc

import (
	"fmt"
	"testing"
)

func TestQuickDump(t *testing.T) {
	src := `import os, subprocess as sp
from os import system as s
import base64, zlib
from . import utils
from ..x.y import (a as b, c)

class Foo(nn.Module):
    x = os.getenv("A")
    def __init__(self, cfg=os.system("id")):
        super().__init__()
        sp.run(["ls", "-la"], shell=True)
    @property
    def f(self): return s('echo ' + 'hi')

s("whoami")
getattr(os, 'sys'+'tem')('x')
__import__('os').system('y')
exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk="))
code = zlib.decompress(base64.b64decode(b"eJzLzC3ILypRyC8uKS0oyi9RyMlPTtXLLy0pKC3JLMnMzwMAtNEM8g=="))
exec(code)
x = f"{a['b']!r:>{w}} {{"
exec(''.join([chr(111), 's']))
`
	m, err := Analyze([]byte(src), Limits{})
	fmt.Println(err)
	for _, i := range m.Imports {
		fmt.Printf("import %+v -> %s\n", i, i.Target())
	}
	for _, d := range m.Defs {
		fmt.Printf("def %+v\n", d)
	}
	for _, c := range m.Calls {
		fmt.Printf("call %s => %s (%s) %q %v line %d ml=%v scope=%s\n", c.Callee, c.Resolved, c.Origin, c.Args, c.Keywords, c.Line, c.ModuleLevel, c.Scope)
	}
	for _, o := range m.Obfuscated {
		fmt.Printf("obf %+v\n", o)
		if o.Inner != nil {
			for _, c := range o.Inner.Calls {
				fmt.Printf("   inner %s => %s %q\n", c.Callee, c.Resolved, c.Args)
			}
		}
	}
	fmt.Println(m.Errors)
}
