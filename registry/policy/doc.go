// Package policy is the registry gate's policy: a versioned YAML file that
// says which repositories may enter the registry, which findings quarantine
// them, which signatures and licenses they need, how large they may be, and
// which reviewed exceptions waive what, until when.
//
// The server loads the file once ([Load]) or falls back to [Default], asks
// [Policy.AllowSource] before it fetches anything, verifies the repository's
// OMS signature with [VerifySignature] against [Policy.SignatureRequirement],
// and then asks [Policy.Evaluate] for a [Decision]. Evaluate is pure: the same
// policy and input give the same decision, with its reasons in a fixed order,
// so decisions can be recorded in the audit log next to [Policy.Version].
//
// Loading is strict: unknown keys, unknown severities, bad globs, bad dates,
// missing or unparsable keys and certificates are all errors that name the
// file, the line and what to write instead (see [ParseError]). The file
// format is documented, key by key, in docs/policy.md.
package policy
