package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/finding"
)

const examplePath = "../../testdata/policy/example.yaml"

func mustParse(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := Parse("policy.yaml", []byte(src), t.TempDir())
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return p
}

func TestLoadExample(t *testing.T) {
	p, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(examplePath)
	fileSum := sha256.Sum256(data)
	if !strings.HasPrefix(p.Version(), "2026-11-22.1+sha256:") || len(p.Version()) != len("2026-11-22.1+sha256:")+12 {
		t.Errorf("Version() = %q, want 2026-11-22.1+sha256:<12 hex>", p.Version())
	}
	// The example names key files, so its digest covers them too.
	if p.Digest() == hex.EncodeToString(fileSum[:]) {
		t.Errorf("Digest() ignores the key and certificate files the policy names")
	}
	if p.FailOn() != finding.High || p.Lookalikes() != LookalikeBlock {
		t.Errorf("fail_on %v lookalikes %v", p.FailOn(), p.Lookalikes())
	}
	if got, want := p.Limits(), (Limits{MaxFileSize: 100 << 30, MaxTotalSize: 500 << 30, MaxFiles: 20000}); got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
	req := p.SignatureRequirement("acme/bert")
	if req == nil || !req.Require || len(req.Keys) != 1 || len(req.Roots) != 1 || len(req.Sigstore) != 1 {
		t.Fatalf("SignatureRequirement(acme/bert) = %+v", req)
	}
	if req.Keys[0].Name != "keys/acme-release.pub" || req.Line != 30 {
		t.Errorf("key %q line %d", req.Keys[0].Name, req.Line)
	}
	if r := p.SignatureRequirement("acme/experimental-7b"); r == nil || r.Require || r.hasMethods() {
		t.Errorf("acme/experimental-7b should hit the exempting first entry, got %+v", r)
	}
	if r := p.SignatureRequirement("google/gemma-2b"); r != nil {
		t.Errorf("google/gemma-2b needs no signature, got entry at line %d", r.Line)
	}
	ex := p.Exceptions()
	if len(ex) != 2 || ex[0].Commit != "0123456789abcdef0123456789abcdef01234567" || !ex[0].Expires.Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("exceptions = %+v", ex)
	}
}

func TestVersionIsFileDigestWithoutKeyFiles(t *testing.T) {
	src := "apiVersion: aigis/v1\nversion: v7\n"
	p := mustParse(t, src)
	sum := sha256.Sum256([]byte(src))
	want := "v7+sha256:" + hex.EncodeToString(sum[:])[:12]
	if p.Version() != want {
		t.Errorf("Version() = %q, want %q", p.Version(), want)
	}
	// A change anywhere changes the version.
	if q := mustParse(t, src+"lookalikes: warn\n"); q.Version() == p.Version() {
		t.Errorf("two different files have the same Version %q", q.Version())
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if !strings.HasPrefix(p.Version(), "builtin+sha256:") {
		t.Errorf("Version() = %q", p.Version())
	}
	if p.FailOn() != finding.High || p.Lookalikes() != LookalikeBlock || p.incompleteAllow || !p.unknownLicenseAllow {
		t.Errorf("default = fail_on %v lookalikes %v incompleteAllow %v unknownLicenseAllow %v", p.FailOn(), p.Lookalikes(), p.incompleteAllow, p.unknownLicenseAllow)
	}
	for _, src := range []string{SourceUpstream, SourceInternal} {
		if ok, msg := p.AllowSource("someone/anything", src); !ok {
			t.Errorf("default refuses %s: %s", src, msg)
		}
	}
	if p.SignatureRequirement("acme/x") != nil || p.Limits() != (Limits{}) {
		t.Errorf("default requires signatures or limits")
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "garbage.pem"), []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	const head = "apiVersion: aigis/v1\nversion: \"1\"\n"
	tests := []struct {
		name, src string
		want      []string // substrings of the error, in order of problems
	}{
		{"empty", "", []string{"policy.yaml: the file is empty"}},
		{"not yaml", "apiVersion: [\n", []string{"policy.yaml:", "not valid YAML"}},
		{"not a mapping", "- a\n- b\n", []string{"policy.yaml:1: is a list: write a mapping"}},
		{"wrong api version", "apiVersion: aigis/v2\nversion: x\n", []string{`policy.yaml:1: apiVersion: unsupported version "aigis/v2": this aigis reads ` + "`apiVersion: aigis/v1`"}},
		{"missing api version and version", "lookalikes: warn\n", []string{"missing `apiVersion: aigis/v1`", "missing `version:`"}},
		{"bad version", "apiVersion: aigis/v1\nversion: \"a b\"\n", []string{`policy.yaml:2: version: "a b" is not a usable version`}},
		{"unknown top key", head + "gates:\n  fail_on: high\n", []string{`policy.yaml:3: unknown key "gates"; did you mean "gate"?`}},
		{"unknown nested key", head + "gate:\n  fail_on: high\n  failon: low\n", []string{`policy.yaml:5: unknown key "failon"; did you mean "fail_on"? (known keys in gate: fail_on, incomplete, ignore_rules)`}},
		{"duplicate key", head + "lookalikes: warn\nlookalikes: off\n", []string{"policy.yaml:4: lookalikes: set twice (first on line 3)"}},
		{"bad severity", head + "gate:\n  fail_on: hgh\n", []string{`policy.yaml:4: gate.fail_on: unknown severity "hgh": write one of critical, high, medium, low, info`}},
		{"bad incomplete", head + "gate:\n  incomplete: maybe\n", []string{`policy.yaml:4: gate.incomplete: "maybe" is not one of: quarantine, allow`}},
		{"unknown rule", head + "gate:\n  ignore_rules: [pickle-code-exec]\n", []string{`policy.yaml:4: gate.ignore_rules[0]: unknown rule id "pickle-code-exec"`}},
		{"bad lookalikes", head + "lookalikes: yes\n", []string{`policy.yaml:3: lookalikes: "yes" is not one of: block, warn, off`}},
		{"unknown source", head + "sources:\n  hub:\n    allow: [\"a/*\"]\n", []string{`policy.yaml:4: unknown key "hub" (known keys in sources: upstream, internal)`}},
		{"bad glob", head + "sources:\n  upstream:\n    allow: [\"acme/[x\"]\n", []string{`policy.yaml:5: sources.upstream.allow[0]: "acme/[x" is not a valid pattern`}},
		{"star alone", head + "sources:\n  upstream:\n    deny: [\"*\"]\n", []string{`policy.yaml:5: sources.upstream.deny[0]: "*" matches only single-word ids: write "*/*"`}},
		{"allow not a list", head + "sources:\n  upstream:\n    allow: acme/*\n", []string{`policy.yaml:5: sources.upstream.allow: is a single value: write a list`}},
		{"bad date", head + "exceptions:\n  - repo: a/b\n    reason: r\n    expires: 31/01/2027\n    approved_by: me\n", []string{`policy.yaml:6: exceptions[0].expires: "31/01/2027" is not a date: write YYYY-MM-DD`}},
		{"exception missing fields", head + "exceptions:\n  - repo: a/b\n    rules: [pickle-code-execution]\n", []string{"policy.yaml:4: exceptions[0]: missing reason, expires, approved_by"}},
		{"exception pattern repo", head + "exceptions:\n  - repo: \"a/*\"\n    reason: r\n    expires: 2027-01-01\n    approved_by: me\n", []string{`policy.yaml:4: exceptions[0].repo: "a/*" is not a repository id`}},
		{"short commit", head + "exceptions:\n  - repo: a/b\n    commit: abc123\n    reason: r\n    expires: 2027-01-01\n    approved_by: me\n", []string{`policy.yaml:5: exceptions[0].commit: "abc123" is not a full commit id`}},
		{"bad size", head + "limits:\n  max_file_size: 10 parsecs\n", []string{`policy.yaml:4: limits.max_file_size: "10 parsecs" is not a size`}},
		{"fractional size", head + "limits:\n  max_total_size: 1.5GiB\n", []string{`policy.yaml:4: limits.max_total_size: "1.5GiB" is not a size`}},
		{"zero files", head + "limits:\n  max_files: 0\n", []string{`policy.yaml:4: limits.max_files: "0" is not a positive whole number`}},
		{"missing key file", head + "signatures:\n  - repos: [\"a/*\"]\n    keys: [\"nope.pub\"]\n", []string{`policy.yaml:5: signatures[0].keys[0]: public key file "nope.pub": no such file or directory (paths are relative to the policy file's folder)`}},
		{"garbage key file", head + "signatures:\n  - repos: [\"a/*\"]\n    keys: [\"garbage.pem\"]\n", []string{`policy.yaml:5: signatures[0].keys[0]: garbage.pem: no PEM public key or certificate found`}},
		{"garbage root", head + "signatures:\n  - repos: [\"a/*\"]\n    certificates: {roots: [\"garbage.pem\"]}\n", []string{`policy.yaml:5: signatures[0].certificates.roots[0]: garbage.pem: no PEM certificate found`}},
		{"require without methods", head + "signatures:\n  - repos: [\"a/*\"]\n", []string{"policy.yaml:4: signatures[0]: requires a signature but names nothing to verify it with"}},
		{"signature without repos", head + "signatures:\n  - require: false\n", []string{"policy.yaml:4: signatures[0]: needs repos"}},
		{"sigstore without issuer", head + "signatures:\n  - repos: [\"a/*\"]\n    sigstore: [{identity: me@example.com}]\n", []string{"policy.yaml:5: signatures[0].sigstore[0]: needs both identity"}},
		{"sigstore issuer not a URL", head + "signatures:\n  - repos: [\"a/*\"]\n    sigstore: [{identity: me@example.com, issuer: google}]\n", []string{`signatures[0].sigstore[0].issuer: "google" is not an OIDC issuer URL`}},
		{"bad bool", head + "signatures:\n  - repos: [\"a/*\"]\n    require: sometimes\n", []string{`policy.yaml:5: signatures[0].require: "sometimes" is not true or false`}},
		{"bad license unknown", head + "licenses:\n  unknown: deny\n", []string{`policy.yaml:4: licenses.unknown: "deny" is not one of: quarantine, allow`}},
		{"alias", head + "sources:\n  upstream:\n    allow: &a [\"x/*\"]\n  internal:\n    allow: *a\n", []string{"policy.yaml:7: sources.internal.allow: YAML aliases (*name) are not supported"}},
		{"two documents", head + "---\n" + head, []string{"policy.yaml:3: the file holds more than one YAML document"}},
		{"empty value", head + "gate:\n  fail_on:\n", []string{"policy.yaml:4: gate.fail_on: is empty"}},
		{"not utf8", head + "version: \"\xff\"\n", []string{"not UTF-8"}},
		{"too big", head + "# " + strings.Repeat("x", MaxFileSize) + "\n", []string{"larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("policy.yaml", []byte(tt.src), dir)
			if err == nil {
				t.Fatalf("Parse succeeded (%s); want an error", p.Version())
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain (in order) %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// Every problem of a file is reported at once, each with its line.
func TestParseReportsAllProblems(t *testing.T) {
	src := `apiVersion: aigis/v1
version: "1"
gate:
  fail_on: severe
lookalikes: sometimes
limits:
  max_files: many
`
	_, err := Parse("p.yaml", []byte(src), t.TempDir())
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, p := range pe.Problems {
		lines = append(lines, p.Line)
	}
	if diff := cmp.Diff([]int{4, 5, 7}, lines); diff != "" {
		t.Errorf("problem lines (-want +got):\n%s\n%v", diff, err)
	}
}

func TestParseInlineKeyAndAbsolutePath(t *testing.T) {
	pubPEM, _ := os.ReadFile("../../testdata/policy/keys/acme-release.pub")
	abs, _ := filepath.Abs("../../testdata/policy/keys/acme-ca.pem")
	src := "apiVersion: aigis/v1\nversion: \"1\"\nsignatures:\n  - repos: [\"a/*\"]\n    keys:\n      - |\n" +
		indent(string(pubPEM), "        ") + "    certificates:\n      roots: [\"" + abs + "\"]\n"
	p := mustParse(t, src)
	r := p.SignatureRequirement("A/B") // patterns are case-insensitive
	if r == nil || len(r.Keys) != 1 || r.Keys[0].Name != "inline public key" || len(r.Roots) != 1 {
		t.Fatalf("requirement = %+v", r)
	}
}

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1024": 1024, "10B": 10, "1KiB": 1024, "2 MiB": 2 << 20, "100GiB": 100 << 30, "3TiB": 3 << 40,
		"1KB": 1000, "1kB": 1000, "5MB": 5e6, "7GB": 7e9, "2TB": 2e12,
	}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1GiB", "+1GiB", "1.5GiB", "1 PiB", "ten", "9999999999999TiB", "1 GiBB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

// The largest file Parse accepts, full of problems, is still parsed quickly.
func TestParseWorstCaseIsFast(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: aigis/v1\nversion: x\ngate:\n  ignore_rules:\n")
	for b.Len() < MaxFileSize-100 {
		b.WriteString("    - pickle-code-executiox\n")
	}
	start := time.Now()
	_, err := Parse("big.yaml", []byte(b.String()), t.TempDir())
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != maxProblems {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse took %v", d)
	}
}

// docs/policy.md shows the example file as it is.
func TestDocsShowExample(t *testing.T) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs), "```yaml\n"+string(example)+"```\n") {
		t.Errorf("docs/policy.md does not show testdata/policy/example.yaml verbatim: copy it into the \"A complete example\" section")
	}
	// Every top-level key is documented.
	for _, key := range []string{"apiVersion", "version", "sources", "lookalikes", "lookalike_names", "gate", "signatures", "licenses", "limits", "exceptions"} {
		if !strings.Contains(string(docs), "### `"+key+"`") {
			t.Errorf("docs/policy.md has no section for %s", key)
		}
	}
}
