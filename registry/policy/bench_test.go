package policy

import (
	"fmt"
	"os"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(examplePath, data, "../../testdata/policy"); err != nil {
			b.Fatal(err)
		}
	}
}

// A large repository: 20,000 files and 200 findings, some waived.
func BenchmarkEvaluate(b *testing.B) {
	p, err := Load(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{RepoID: "acme/legacy-bert", Source: SourceUpstream, Commit: "0123456789abcdef0123456789abcdef01234567", License: "mit", Now: now,
		Signature: &SignatureResult{Verified: true, Method: "key"}}
	for i := range 20000 {
		in.Files = append(in.Files, File{Path: fmt.Sprintf("shard-%05d.safetensors", i), Size: 5 << 20})
	}
	rules := []string{"pickle-stdlib-callable", "pickle-network", "pickle-unknown-callable", "pickle-format"}
	for i := range 200 {
		in.Findings = append(in.Findings, finding.Finding{RuleID: rules[i%4], Severity: finding.Severity(4 - i%4), Path: fmt.Sprintf("f%d.bin", i), Message: "x"})
	}
	for b.Loop() {
		if d := p.Evaluate(in); d.Allow {
			b.Fatal("allowed")
		}
	}
}
