package checks

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func TestCheckSecretsFixture(t *testing.T) {
	env := repoFile(t, "malicious-remote-code", ".env")
	fs := CheckSecrets(finding.Location{Path: ".env"}, env)
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+" line "+f.Evidence["line"])
	}
	want := []string{"secret-huggingface-token line 2", "secret-aws-access-key-id line 3", "secret-aws-secret-key line 4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The secrets never appear in the findings.
	js, _ := json.Marshal(fs)
	for _, line := range strings.Split(string(env), "\n") {
		if _, v, ok := strings.Cut(line, "="); ok && len(v) > 8 && bytes.Contains(js, []byte(v[4:])) {
			t.Errorf("finding leaks %s…", v[:4])
		}
	}
	if !strings.Contains(fs[0].Message, "hf_Q…[redacted, 37 chars]") {
		t.Errorf("message %q", fs[0].Message)
	}
}

func TestCheckSecretsPlaceholders(t *testing.T) {
	for _, name := range []string{"README.md", "modeling_custom.py", "config.json"} {
		if fs := CheckSecrets(finding.Location{Path: name}, repoFile(t, "benign-custom-model", name)); len(fs) > 0 {
			t.Errorf("%s:%s", name, describeFindings(fs))
		}
	}
}

func randToken(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.Intn(len(alphabet))]
	}
	return string(b)
}

func TestCheckSecretsKinds(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + randToken(r, alnum+"+/", 70) + "\n" + randToken(r, alnum+"+/", 70) + "\n-----END OPENSSH PRIVATE KEY-----\n"
	tests := []struct{ text, rule string }{
		{`token = "hf_` + randToken(r, alnum, 34) + `"`, "secret-huggingface-token"},
		{"OPENAI_API_KEY=sk-proj-" + randToken(r, alnum+"_-", 120), "secret-openai-key"},
		{"key: sk-" + randToken(r, alnum, 48), "secret-openai-key"},
		{"ANTHROPIC_API_KEY=sk-ant-api03-" + randToken(r, alnum+"_-", 93) + "AA", "secret-anthropic-key"},
		{"id=ASIA" + randToken(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "secret-aws-access-key-id"},
		{"GH=ghp_" + randToken(r, alnum, 36), "secret-github-token"},
		{"github_pat_" + randToken(r, alnum+"_", 82), "secret-github-token"},
		{"maps_key='AIza" + randToken(r, alnum+"_-", 35) + "'", "secret-google-api-key"},
		{"SLACK=xoxb-123456789012-1234567890123-" + randToken(r, alnum, 24), "secret-slack-token"},
		{pem, "secret-private-key"},
	}
	for _, tt := range tests {
		fs := CheckSecrets(finding.Location{Path: "f"}, []byte("x\n"+tt.text+"\n"))
		if len(fs) != 1 || fs[0].RuleID != tt.rule || fs[0].Evidence["line"] != "2" || fs[0].Severity != finding.High {
			t.Errorf("%.30s…: want %s at line 2, got:%s", tt.text, tt.rule, describeFindings(fs))
			continue
		}
		if strings.Contains(fs[0].Message, tt.text[len(tt.text)-12:]) {
			t.Errorf("%s: message leaks the secret: %s", tt.rule, fs[0].Message)
		}
	}
	quiet := []string{
		"hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk-...", "<your token>", "YOUR_API_KEY", "sk-your-openai-key-goes-here-please",
		"hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "AKIAIOSFODNN7EXAMPLE", "task-" + randToken(r, alnum, 30),
		"mask_hf_" + "1234", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
	}
	for _, q := range quiet {
		if fs := CheckSecrets(finding.Location{Path: "f"}, []byte(q)); len(fs) > 0 {
			t.Errorf("%q:%s", q, describeFindings(fs))
		}
	}
}

func FuzzCheckSecrets(f *testing.F) {
	f.Add([]byte("HF_TOKEN=hf_QWGKhAWvKeiuz0W3V32oG2wTvTGGIfk2xq\nAKIALYZOTB7AFGDFNLKS"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"))
	f.Add([]byte("aws_secret_access_key = 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"))
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, fd := range CheckSecrets(finding.Location{Path: "f"}, text) {
			s := fd.Evidence["secret"]
			if s != "" && !strings.Contains(s, "redacted") {
				t.Fatalf("unredacted evidence %q", s)
			}
			if fd.Offset < 0 || fd.Offset > int64(len(text)) {
				t.Fatalf("offset %d out of range", fd.Offset)
			}
		}
	})
}

func BenchmarkCheckSecrets10MiB(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	var buf bytes.Buffer
	for buf.Len() < 10<<20 {
		buf.WriteString("def f(x):\n    return x.mask - task_sk + " + randToken(r, "abcdefghij klmnop", 60) + " # hf_hub sk-learn AIzaAKIA\n")
	}
	text := buf.Bytes()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		CheckSecrets(finding.Location{Path: "f"}, text)
	}
}
