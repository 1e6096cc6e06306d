package checks

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

const atlasUnsecuredCredentials = "AML.T0055" // Unsecured Credentials

const remSecret = "Revoke the credential now (it is public the moment the file is), then remove it from the file " +
	"and from the repository's history. Load secrets from the environment or a secret store instead."

func secretRule(id, title, desc string) finding.Rule {
	return finding.Rule{ID: id, Severity: finding.High, Title: title, Description: desc,
		ATLAS: []string{atlasUnsecuredCredentials}, Remediation: remSecret}
}

// The rules of the secrets check, one per kind of credential.
var (
	RuleSecretHF        = secretRule("secret-huggingface-token", "A Hugging Face access token is exposed", "hf_ followed by 34 or more letters and digits: with write scope it lets anyone replace the models and datasets of its owner.")
	RuleSecretOpenAI    = secretRule("secret-openai-key", "An OpenAI API key is exposed", "sk-, sk-proj- or sk-svcacct- keys are billed to their owner and expose the organisation's files and fine-tunes.")
	RuleSecretAnthropic = secretRule("secret-anthropic-key", "An Anthropic API key is exposed", "sk-ant- keys are billed to their owner.")
	RuleSecretAWSKeyID  = secretRule("secret-aws-access-key-id", "An AWS access key id is exposed", "AKIA (long-term) or ASIA (temporary) key ids; with the secret key next to them they give access to the account.")
	RuleSecretAWSSecret = secretRule("secret-aws-secret-key", "An AWS secret access key is exposed", "A 40-character secret key next to an access key id or an aws_secret_access_key setting.")
	RuleSecretGitHub    = secretRule("secret-github-token", "A GitHub token is exposed", "ghp_, gho_, ghu_, ghs_, ghr_ and github_pat_ tokens give access to repositories and CI of their owner.")
	RuleSecretGoogle    = secretRule("secret-google-api-key", "A Google API key is exposed", "AIza keys are billed to their project (Gemini, Maps, Vertex).")
	RuleSecretSlack     = secretRule("secret-slack-token", "A Slack token is exposed", "xoxb-, xoxp-, xoxa-, xoxr-, xoxs- tokens read and post in a workspace.")
	RuleSecretKey       = secretRule("secret-private-key", "A private key is exposed", "A PEM private key (RSA, EC, OpenSSH, PKCS#8): whoever has it can impersonate its owner.")
)

// SecretRules lists the rules CheckSecrets emits.
func SecretRules() []finding.Rule {
	return []finding.Rule{RuleSecretHF, RuleSecretOpenAI, RuleSecretAnthropic, RuleSecretAWSKeyID, RuleSecretAWSSecret,
		RuleSecretGitHub, RuleSecretGoogle, RuleSecretSlack, RuleSecretKey, RuleLimit}
}

// secretPattern finds one kind of credential: a literal anchor located with
// bytes.Index (fast), then an anchored regular expression on a short window
// (linear time, Go's regexp).
type secretPattern struct {
	rule    *finding.Rule
	kind    string
	anchors []string
	re      *regexp.Regexp // matched at the anchor; group 1 (if any) is the part whose entropy is checked
	minBits float64        // minimum Shannon entropy per character of the random part
}

var secretPatterns = []secretPattern{
	{&RuleSecretHF, "Hugging Face token", []string{"hf_"}, regexp.MustCompile(`^hf_([A-Za-z0-9]{34,})`), 3.5},
	{&RuleSecretAnthropic, "Anthropic API key", []string{"sk-ant-"}, regexp.MustCompile(`^sk-ant-(?:api|admin)\d{2}-([A-Za-z0-9_-]{80,})`), 4},
	{&RuleSecretOpenAI, "OpenAI API key", []string{"sk-"}, regexp.MustCompile(`^sk-(?:(?:proj|svcacct|admin|None)-)?([A-Za-z0-9_-]{20,})`), 3.5},
	{&RuleSecretAWSKeyID, "AWS access key id", []string{"AKIA", "ASIA"}, regexp.MustCompile(`^(?:AKIA|ASIA)([A-Z2-7]{16})`), 2.5},
	{&RuleSecretGitHub, "GitHub token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, regexp.MustCompile(`^gh[pousr]_([A-Za-z0-9]{36,})`), 3.5},
	{&RuleSecretGitHub, "GitHub fine-grained token", []string{"github_pat_"}, regexp.MustCompile(`^github_pat_([A-Za-z0-9_]{60,})`), 3.5},
	{&RuleSecretGoogle, "Google API key", []string{"AIza"}, regexp.MustCompile(`^AIza([0-9A-Za-z_-]{35})`), 3.5},
	{&RuleSecretSlack, "Slack token", []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"}, regexp.MustCompile(`^xox[bpares]-((?:[0-9A-Za-z]+-){1,4}[0-9A-Za-z]{8,})`), 3},
	{&RuleSecretKey, "private key", []string{"-----BEGIN "}, regexp.MustCompile(`^-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----\s*((?:[A-Za-z0-9+/=:\-, ]*\r?\n)*?[A-Za-z0-9+/=\r\n]{64,})`), 0},
}

// awsSecretAnchors are settings that hold an AWS secret key.
var awsSecretAnchors = []string{"ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey", "ecret-access-key"}

var awsSecretRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`)

// SecretsMaxBytes bounds the text CheckSecrets reads.
const SecretsMaxBytes = 64 << 20

const maxSecretFindings = 100

type secretHit struct {
	off      int
	end      int
	rule     *finding.Rule
	kind     string
	redacted string
}

// CheckSecrets reports credentials in text, one finding per occurrence
// (at most 100 per file), with the line and byte offset. The secret itself
// never appears in a finding: only its first four characters and length.
func CheckSecrets(loc finding.Location, text []byte) []finding.Finding {
	var out []finding.Finding
	if len(text) > SecretsMaxBytes {
		out = append(out, finding.New(RuleLimit, RuleLimit.Severity, loc,
			fmt.Sprintf("only the first %d bytes were searched for secrets", SecretsMaxBytes), map[string]string{"limit": "SecretsMaxBytes"}))
		text = text[:SecretsMaxBytes]
	}
	var hits []secretHit
	taken := map[int]bool{}
	for pi := range secretPatterns {
		sp := &secretPatterns[pi]
		for _, a := range sp.anchors {
			for from := 0; from < len(text); {
				i := bytes.Index(text[from:], []byte(a))
				if i < 0 {
					break
				}
				i += from
				from = i + len(a)
				if taken[i] || (i > 0 && isTokenChar(text[i-1]) && sp.rule != &RuleSecretKey) {
					continue
				}
				window := text[i:min(len(text), i+secretWindow(sp))]
				m := sp.re.FindSubmatchIndex(window)
				if m == nil {
					continue
				}
				end := m[1]
				if end < len(window) && isTokenChar(window[end]) && sp.rule != &RuleSecretKey {
					continue
				}
				secret := window[:end]
				body := secret
				if len(m) >= 4 && m[2] >= 0 {
					body = window[m[2]:m[3]]
				}
				if sp.rule == &RuleSecretKey {
					if isPlaceholder(body) {
						continue
					}
				} else if isPlaceholder(secret) || entropy(body) < sp.minBits {
					continue
				}
				taken[i] = true
				red := redact(secret)
				if sp.rule == &RuleSecretKey {
					red = fmt.Sprintf("-----BEGIN %s----- [redacted]", window[m[2]:m[3]])
				}
				hits = append(hits, secretHit{off: i, end: i + end, rule: sp.rule, kind: sp.kind, redacted: red})
				from = i + end
			}
		}
	}
	hits = append(hits, awsSecrets(text, hits)...)
	if len(hits) == 0 {
		return out
	}
	sortHits(hits)
	line, pos := 1, 0
	for n, h := range hits {
		if n == maxSecretFindings {
			out = append(out, finding.New(*h.rule, h.rule.Severity, loc.At(int64(h.off)),
				fmt.Sprintf("%d more secrets are not listed", len(hits)-n), map[string]string{"omitted": fmt.Sprint(len(hits) - n)}))
			break
		}
		line += bytes.Count(text[pos:h.off], []byte{'\n'})
		pos = h.off
		out = append(out, finding.New(*h.rule, h.rule.Severity, loc.At(int64(h.off)),
			fmt.Sprintf("%s %s at line %d", h.kind, h.redacted, line),
			map[string]string{"kind": h.kind, "secret": h.redacted, "line": fmt.Sprint(line)}))
	}
	return out
}

func secretWindow(sp *secretPattern) int {
	if sp.rule == &RuleSecretKey {
		return 1024
	}
	return 256
}

// awsSecrets finds 40-character secret keys within 512 bytes of an access
// key id, and after aws_secret_access_key settings.
func awsSecrets(text []byte, hits []secretHit) []secretHit {
	var centers []int
	for _, h := range hits {
		if h.rule == &RuleSecretAWSKeyID {
			centers = append(centers, h.end)
		}
	}
	for _, a := range awsSecretAnchors {
		for from := 0; from < len(text); {
			i := bytes.Index(text[from:], []byte(a))
			if i < 0 {
				break
			}
			i += from
			centers = append(centers, i+len(a))
			from = i + len(a)
		}
	}
	// Each center scans 1 KiB: cap them so text made of anchors stays linear.
	if len(centers) > 1000 {
		centers = centers[:1000]
	}
	var out []secretHit
	seen := map[int]bool{}
	for _, c := range centers {
		lo, hi := max(0, c-512), min(len(text), c+512)
		w := text[lo:hi]
		for _, m := range awsSecretRe.FindAllSubmatchIndex(w, -1) {
			s := w[m[2]:m[3]]
			off := lo + m[2]
			if seen[off] || isPlaceholder(s) || entropy(s) < 4 || !mixed(s) {
				continue
			}
			seen[off] = true
			out = append(out, secretHit{off: off, end: off + len(s), rule: &RuleSecretAWSSecret, kind: "AWS secret access key", redacted: redact(s)})
		}
	}
	return out
}

// mixed: real secret keys have upper and lower case letters and digits.
func mixed(s []byte) bool {
	var up, lo, dig bool
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			lo = true
		case c >= '0' && c <= '9':
			dig = true
		}
	}
	return up && lo && dig
}

func sortHits(h []secretHit) {
	// insertion sort is fine for the few hits of a file; use sort for many
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].off < h[j-1].off; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// redact keeps the first four characters and the length.
func redact(s []byte) string {
	return fmt.Sprintf("%s…[redacted, %d chars]", s[:min(4, len(s))], len(s))
}

// placeholderWords appear in documentation values, not in real secrets.
var placeholderWords = []string{"xxxx", "XXXX", "****", "...", "your", "YOUR", "Your", "example", "EXAMPLE",
	"Example", "<", ">", "{", "}", "$", "placeholder", "PLACEHOLDER", "dummy", "DUMMY", "fake", "FAKE", "test_token",
	"abcdefgh", "ABCDEFGH", "replace", "REPLACE", "token_here", "TOKEN_HERE", "here"}

func isPlaceholder(s []byte) bool {
	str := string(s)
	for _, w := range placeholderWords {
		if strings.Contains(str, w) {
			return true
		}
	}
	// a run of one character (hf_aaaaaaaa…)
	run := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			run++
			if run >= 6 {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range s {
		counts[c]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
