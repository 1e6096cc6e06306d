package pyparse

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRequirements5000 parses a 5,000-line requirements file in
// pip-compile style (a pin and two hashes per requirement, continued).
func BenchmarkRequirements5000(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() == 0 || strings.Count(sb.String(), "\n") < 5000; i++ {
		fmt.Fprintf(&sb, "package-%d[extra]==1.%d.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:%064x \\\n    --hash=sha256:%064x\n", i, i, i, i+1)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := ParseAs(KindRequirements, "requirements.txt", data, DefaultLimits())
		if err != nil || len(m.Problems) > 0 {
			b.Fatal(err, m.Problems)
		}
	}
}

// BenchmarkUVLock2000 parses a uv.lock of 2,000 packages, each with an
// sdist and two wheels.
func BenchmarkUVLock2000(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version = 1\nrequires-python = \">=3.10\"\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&sb, "\n[[package]]\nname = \"package-%d\"\nversion = \"1.%d.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n", i, i)
		fmt.Fprintf(&sb, "dependencies = [\n    { name = \"package-%d\" },\n]\n", (i+1)%2000)
		fmt.Fprintf(&sb, "sdist = { url = \"https://files.pythonhosted.org/packages/aa/bb/package-%d-1.%d.0.tar.gz\", hash = \"sha256:%064x\", size = 12345 }\n", i, i, i)
		fmt.Fprintf(&sb, "wheels = [\n    { url = \"https://files.pythonhosted.org/packages/cc/dd/package_%d-1.%d.0-py3-none-any.whl\", hash = \"sha256:%064x\", size = 2345 },\n", i, i, i+1)
		fmt.Fprintf(&sb, "    { url = \"https://files.pythonhosted.org/packages/ee/ff/package_%d-1.%d.0-cp311-cp311-manylinux_2_17_x86_64.whl\", hash = \"sha256:%064x\", size = 3456 },\n]\n", i, i, i+2)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := ParseAs(KindUVLock, "uv.lock", data, DefaultLimits())
		if err != nil || len(m.Requirements) != 2000 || m.Requirements[1999].Line == 0 {
			b.Fatal(err)
		}
	}
}
