package policy

// The keys of a policy file, one function per top-level key. The
// machinery they use (mapping, str, list, problems) is in parse.go.

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"go.yaml.in/yaml/v3"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/lookalike"
	"github.com/aigis-sec/aigis/signing/oms"
)

func (ps *parser) sources(n *yaml.Node, p *Policy) {
	var fields []field
	for _, name := range knownSources {
		fields = append(fields, field{name, func(k, v *yaml.Node) {
			at := "sources." + name
			r := &sourceRule{name: name}
			ps.mapping(v, at, []field{
				{"allow", func(k, v *yaml.Node) { r.allow = ps.globs(v, at+".allow") }},
				{"deny", func(k, v *yaml.Node) { r.deny = ps.globs(v, at+".deny") }},
			})
			p.sources[name] = r
		}})
	}
	ps.mapping(n, "sources", fields)
}

// lookalikeNames adds the organisation's own names to the well-known ones
// that look-alikes are checked against.
func (ps *parser) lookalikeNames(n *yaml.Node, p *Policy) {
	items, lines := ps.list(n, "lookalike_names")
	var ok []string
	for i, s := range items {
		if _, err := lookalike.Load(strings.NewReader(s)); err != nil || strings.ContainsAny(s, "#\n") {
			ps.add(lines[i], fmt.Sprintf("lookalike_names[%d]", i), "%q is not an organisation or org/model id (letters, digits, '-', '_', '.'): write for example \"acme\" or \"acme/bert-base\"", s)
			continue
		}
		ok = append(ok, s)
	}
	if len(ok) == 0 {
		return
	}
	own, err := lookalike.Load(strings.NewReader(strings.Join(ok, "\n")))
	if err != nil {
		ps.add(n.Line, "lookalike_names", "%v", err)
		return
	}
	p.lookalikeList = lookalike.Default().Merge(own)
	p.lookalikeNames = ok
}

func (ps *parser) gate(n *yaml.Node, p *Policy) {
	ps.mapping(n, "gate", []field{
		{"fail_on", func(k, v *yaml.Node) {
			s, ok := ps.str(v, "gate.fail_on")
			if !ok {
				return
			}
			sev, err := finding.ParseSeverity(s)
			if err != nil || !strings.EqualFold(s, sev.String()) {
				ps.add(v.Line, "gate.fail_on", "unknown severity %q: write one of critical, high, medium, low, info", s)
				return
			}
			p.failOn = sev
		}},
		{"incomplete", func(k, v *yaml.Node) {
			if s, ok := ps.enum(v, "gate.incomplete", "quarantine", "allow"); ok {
				p.incompleteAllow = s == "allow"
			}
		}},
		{"ignore_rules", func(k, v *yaml.Node) {
			items, lines := ps.list(v, "gate.ignore_rules")
			for i, r := range items {
				if ps.rule(r, lines[i], fmt.Sprintf("gate.ignore_rules[%d]", i)) && !p.ignoreRules[r] {
					p.ignoreRules[r] = true
					p.ignoreList = append(p.ignoreList, r)
				}
			}
		}},
	})
}

// rule checks a rule id against every rule aigis can report.
func (ps *parser) rule(id string, line int, at string) bool {
	if knownRules()[id] {
		return true
	}
	if ps.full() {
		return false
	}
	msg := fmt.Sprintf("unknown rule id %q", id)
	if s := closest(id, ruleIDs()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	ps.add(line, at, "%s (`aigis rules` lists every rule id)", msg)
	return false
}

func (ps *parser) signatures(n *yaml.Node, p *Policy) {
	if !ps.kind(n, "signatures", yaml.SequenceNode, "a list of entries, each starting with \"- repos: [...]\"") {
		return
	}
	for i, c := range n.Content {
		at := fmt.Sprintf("signatures[%d]", i)
		req := &SignatureRequirement{Require: true, Line: c.Line}
		var haveRepos bool
		ps.mapping(c, at, []field{
			{"repos", func(k, v *yaml.Node) {
				haveRepos = true
				for _, g := range ps.globs(v, at+".repos") {
					req.repos = append(req.repos, g)
					req.Repos = append(req.Repos, g.text)
				}
			}},
			{"require", func(k, v *yaml.Node) {
				if b, ok := ps.boolean(v, at+".require"); ok {
					req.Require = b
				}
			}},
			{"keys", func(k, v *yaml.Node) {
				materials(ps, v, at+".keys", "public key", oms.ParsePublicKey,
					"write the path of an ECDSA public key in PEM, as `openssl ec -pubout` writes it",
					func(pub *ecdsa.PublicKey, name string) {
						req.Keys = append(req.Keys, PublicKey{Name: name, Key: pub})
					})
			}},
			{"certificates", func(k, v *yaml.Node) {
				cat := at + ".certificates"
				ps.mapping(v, cat, []field{
					{"roots", func(k, v *yaml.Node) {
						materials(ps, v, cat+".roots", "CA certificate", oms.ParseCertificates,
							"write the path of a PEM CA certificate",
							func(certs []*x509.Certificate, name string) {
								req.Roots = append(req.Roots, certs...)
								req.RootNames = append(req.RootNames, name)
							})
					}},
					{"identities", func(k, v *yaml.Node) {
						req.CertificateIdentities, _ = ps.list(v, cat+".identities")
					}},
				})
			}},
			{"sigstore", func(k, v *yaml.Node) {
				sat := at + ".sigstore"
				if !ps.kind(v, sat, yaml.SequenceNode, `a list of {identity: "…", issuer: "https://…"}`) {
					return
				}
				for j, e := range v.Content {
					eat := fmt.Sprintf("%s[%d]", sat, j)
					var id SigstoreIdentity
					ps.mapping(e, eat, []field{
						{"identity", func(k, v *yaml.Node) { id.Identity, _ = ps.str(v, eat+".identity") }},
						{"issuer", func(k, v *yaml.Node) {
							id.Issuer, _ = ps.str(v, eat+".issuer")
							if id.Issuer != "" && !strings.HasPrefix(id.Issuer, "https://") {
								ps.add(v.Line, eat+".issuer", "%q is not an OIDC issuer URL: write for example https://accounts.google.com or https://token.actions.githubusercontent.com", id.Issuer)
							}
						}},
					})
					if e.Kind == yaml.MappingNode && (id.Identity == "" || id.Issuer == "") {
						ps.add(e.Line, eat, "needs both identity (the signer's email or workflow URI) and issuer (the OIDC issuer URL)")
						continue
					}
					if id.Identity != "" {
						req.Sigstore = append(req.Sigstore, id)
					}
				}
			}},
			{"trusted_root", func(k, v *yaml.Node) {
				s, ok := ps.str(v, at+".trusted_root")
				if !ok {
					return
				}
				data, name, ok := ps.material(s, v.Line, at+".trusted_root", "Sigstore trusted root")
				if !ok {
					return
				}
				if _, err := root.NewTrustedRootFromJSON(data); err != nil {
					ps.add(v.Line, at+".trusted_root", "%s: %v (write the path of a Sigstore trusted_root.json)", name, err)
					return
				}
				req.TrustedRoot, req.TrustedRootName = data, name
			}},
			{"allow_unsigned_files", func(k, v *yaml.Node) {
				if b, ok := ps.boolean(v, at+".allow_unsigned_files"); ok {
					req.AllowUnsignedFiles = b
				}
			}},
		})
		if c.Kind != yaml.MappingNode {
			continue
		}
		if !haveRepos || len(req.repos) == 0 {
			ps.add(c.Line, at, "needs repos: the org/name patterns it applies to, for example repos: [\"acme/*\"]")
		}
		if req.Require && !req.hasMethods() && !ps.reportedUnder(at+".") {
			ps.add(c.Line, at, "requires a signature but names nothing to verify it with: add keys, certificates.roots or sigstore (or set require: false)")
		}
		if len(req.CertificateIdentities) > 0 && len(req.Roots) == 0 {
			ps.add(c.Line, at+".certificates", "identities need roots: the CA certificates the signing certificates chain to")
		}
		if req.TrustedRoot != nil && len(req.Sigstore) == 0 {
			ps.add(c.Line, at+".trusted_root", "is only used for sigstore identities: add sigstore entries or remove it")
		}
		p.signatures = append(p.signatures, req)
	}
}

// materials reads the list at at, loads each key or certificate file it names
// (ps.material) and parses it; what parses is handed to use with its name,
// what does not is reported with hint.
func materials[T any](ps *parser, n *yaml.Node, at, what string, parse func([]byte) (T, error), hint string, use func(T, string)) {
	items, lines := ps.list(n, at)
	for i, s := range items {
		key := fmt.Sprintf("%s[%d]", at, i)
		data, name, ok := ps.material(s, lines[i], key, what)
		if !ok {
			continue
		}
		x, err := parse(data)
		if err != nil {
			ps.add(lines[i], key, "%s: %v (%s)", name, err, hint)
			continue
		}
		use(x, name)
	}
}

func (ps *parser) licenses(n *yaml.Node, p *Policy) {
	var unknownSet bool
	ps.mapping(n, "licenses", []field{
		{"allow", func(k, v *yaml.Node) {
			items, _ := ps.list(v, "licenses.allow")
			for _, s := range items {
				l := strings.ToLower(strings.TrimSpace(s))
				if !p.licenseAllow[l] {
					p.licenseAllow[l] = true
					p.licenseList = append(p.licenseList, l)
				}
			}
		}},
		{"unknown", func(k, v *yaml.Node) {
			if s, ok := ps.enum(v, "licenses.unknown", "quarantine", "allow"); ok {
				unknownSet = true
				p.unknownLicenseAllow = s == "allow"
			}
		}},
	})
	// With an allow list, a card without a license is refused unless the
	// file says otherwise: "any of these licenses" should not admit "none".
	if !unknownSet && len(p.licenseList) > 0 {
		p.unknownLicenseAllow = false
	}
}

func (ps *parser) limits(n *yaml.Node, p *Policy) {
	size := func(v *yaml.Node, at string) int64 {
		s, ok := ps.str(v, at)
		if !ok {
			return 0
		}
		b, err := ParseSize(s)
		if err != nil {
			ps.add(v.Line, at, "%v", err)
			return 0
		}
		if b == 0 {
			ps.add(v.Line, at, "0 would refuse everything: remove the key for no limit")
		}
		return b
	}
	ps.mapping(n, "limits", []field{
		{"max_file_size", func(k, v *yaml.Node) { p.limits.MaxFileSize = size(v, "limits.max_file_size") }},
		{"max_total_size", func(k, v *yaml.Node) { p.limits.MaxTotalSize = size(v, "limits.max_total_size") }},
		{"max_files", func(k, v *yaml.Node) {
			s, ok := ps.str(v, "limits.max_files")
			if !ok {
				return
			}
			c, err := strconv.ParseInt(s, 10, 32)
			if err != nil || c <= 0 {
				ps.add(v.Line, "limits.max_files", "%q is not a positive whole number of files (for example 20000); remove the key for no limit", s)
				return
			}
			p.limits.MaxFiles = int(c)
		}},
	})
}

var commitRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$`)

func (ps *parser) exceptions(n *yaml.Node, p *Policy) {
	if !ps.kind(n, "exceptions", yaml.SequenceNode, "a list of entries, each starting with \"- repo: org/name\"") {
		return
	}
	for i, c := range n.Content {
		at := fmt.Sprintf("exceptions[%d]", i)
		e := Exception{Line: c.Line}
		ps.mapping(c, at, []field{
			{"repo", func(k, v *yaml.Node) {
				s, ok := ps.str(v, at+".repo")
				if !ok {
					return
				}
				if !validRepoID(s) {
					ps.add(v.Line, at+".repo", "%q is not a repository id: write org/name exactly (no patterns: an exception names one repository)", s)
					return
				}
				e.Repo = s
			}},
			{"commit", func(k, v *yaml.Node) {
				s, ok := ps.str(v, at+".commit")
				if !ok {
					return
				}
				if !commitRE.MatchString(s) {
					ps.add(v.Line, at+".commit", "%q is not a full commit id: write all 40 hex digits (the commit shown on the findings page), or remove the key for every commit", s)
					return
				}
				e.Commit = strings.ToLower(s)
			}},
			{"rules", func(k, v *yaml.Node) {
				items, lines := ps.list(v, at+".rules")
				for j, r := range items {
					if ps.rule(r, lines[j], fmt.Sprintf("%s.rules[%d]", at, j)) {
						e.Rules = append(e.Rules, r)
					}
				}
			}},
			{"reason", func(k, v *yaml.Node) { e.Reason, _ = ps.str(v, at+".reason") }},
			{"expires", func(k, v *yaml.Node) {
				s, ok := ps.str(v, at+".expires")
				if !ok {
					return
				}
				t, err := parseExpiry(s)
				if err != nil {
					ps.add(v.Line, at+".expires", "%q is not a date: write YYYY-MM-DD (the exception applies through that day, UTC) or an RFC 3339 time such as 2027-01-31T18:00:00Z", s)
					return
				}
				e.Expires, e.ExpiresRaw = t, s
			}},
			{"approved_by", func(k, v *yaml.Node) { e.ApprovedBy, _ = ps.str(v, at+".approved_by") }},
		})
		if c.Kind != yaml.MappingNode {
			continue
		}
		var missing []string
		for _, m := range []struct {
			key string
			set bool
		}{{"repo", e.Repo != ""}, {"reason", e.Reason != ""}, {"expires", e.ExpiresRaw != ""}, {"approved_by", e.ApprovedBy != ""}} {
			if !m.set && !ps.reported(at+"."+m.key) {
				missing = append(missing, m.key)
			}
		}
		if len(missing) > 0 {
			ps.add(c.Line, at, "missing %s: every exception names the repo, why it is safe (reason), until when (expires: YYYY-MM-DD) and who approved it (approved_by)", strings.Join(missing, ", "))
			continue
		}
		if e.Repo != "" && e.Reason != "" && e.ExpiresRaw != "" && e.ApprovedBy != "" {
			p.exceptions = append(p.exceptions, e)
		}
	}
}
