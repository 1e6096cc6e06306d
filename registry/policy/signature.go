package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aigis-sec/aigis/signing/manifest"
	"github.com/aigis-sec/aigis/signing/oms"
)

// SignatureRequirement is one entry of signatures: the repositories it
// applies to and what their OMS signature must verify against. Any one
// method that verifies suffices.
type SignatureRequirement struct {
	Repos   []string // patterns as written
	repos   []glob
	Require bool // a repository without a signature is quarantined

	Keys []PublicKey // key method

	Roots                 []*x509.Certificate // certificate method: trusted CAs
	RootNames             []string            // their files, for messages
	CertificateIdentities []string            // if set, the signing certificate must name one (email, URI, DNS SAN or subject CN)

	Sigstore        []SigstoreIdentity // Sigstore method
	TrustedRoot     []byte             // Sigstore trusted root JSON; nil for the public-good root
	TrustedRootName string

	// AllowUnsignedFiles accepts files the signature does not list
	// (a README added after signing). By default every file must be signed.
	AllowUnsignedFiles bool

	Line int // line of the entry in the policy file
}

// PublicKey is a trusted signing key and the file it came from.
type PublicKey struct {
	Name string
	Key  *ecdsa.PublicKey
}

// SigstoreIdentity is a keyless signer: the certificate's identity (an
// email or a workflow URI) and the OIDC issuer that vouched for it.
type SigstoreIdentity struct {
	Identity string
	Issuer   string
}

func (r *SignatureRequirement) hasMethods() bool {
	return len(r.Keys) > 0 || len(r.Roots) > 0 || len(r.Sigstore) > 0
}

// Describe names what a signature must verify against, for messages.
func (r *SignatureRequirement) Describe() string {
	var parts []string
	for _, k := range r.Keys {
		parts = append(parts, "the key "+k.Name)
	}
	if len(r.Roots) > 0 {
		s := "a certificate issued by " + strings.Join(r.RootNames, ", ")
		if len(r.CertificateIdentities) > 0 {
			s += " to " + strings.Join(r.CertificateIdentities, " or ")
		}
		parts = append(parts, s)
	}
	for _, id := range r.Sigstore {
		parts = append(parts, fmt.Sprintf("Sigstore identity %s (issuer %s)", id.Identity, id.Issuer))
	}
	if len(parts) == 0 {
		return "nothing (the entry only exempts these repositories)"
	}
	return strings.Join(parts, " or ")
}

// SignatureRequirement returns the first signatures entry whose repos
// match repoID, or nil when none does.
func (p *Policy) SignatureRequirement(repoID string) *SignatureRequirement {
	for _, r := range p.signatures {
		for _, g := range r.repos {
			if g.match(repoID) {
				return r
			}
		}
	}
	return nil
}

// SignatureResult is what VerifySignature found.
type SignatureResult struct {
	Verified bool   `json:"verified"`
	Method   string `json:"method,omitempty"` // "key", "certificate" or "sigstore"; "" when the file is not an OMS signature
	Signer   string `json:"signer,omitempty"` // the key file, certificate subject or Sigstore identity that verified
	File     string `json:"file,omitempty"`   // the signature file, relative to the model folder
	Error    string `json:"error,omitempty"`  // why it did not verify, for the user
}

// SignatureFile is the name VerifySignature looks for first.
const SignatureFile = "model.sig"

// Bounds on signature discovery.
const (
	maxSignatureCandidates = 8
	maxSignatureSize       = 32 << 20 // real ones are KiB; a manifest of 20,000 files is ~3 MiB
)

// signatureCandidates lists the signature files at the root of dir:
// model.sig first, then *.sig, *.sigstore.json, *.sigstore and
// signature.json in name order. Only regular files count, not symlinks.
func signatureCandidates(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isSignatureName(name) {
			continue
		}
		out = append(out, name)
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == SignatureFile:
			return -1
		case b == SignatureFile:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out, nil
}

func isSignatureName(name string) bool {
	return name == SignatureFile || name == "signature.json" ||
		strings.HasSuffix(name, ".sig") || strings.HasSuffix(name, ".sigstore.json") || strings.HasSuffix(name, ".sigstore")
}

// VerifySignature finds the OMS signature at the root of the model folder
// dir — model.sig, or else any *.sig, *.sigstore.json, *.sigstore or
// signature.json — and verifies it, and that every file of the folder is
// what it signs, against req's keys, certificate roots and Sigstore
// identities: any one that verifies suffices. It returns nil when req is nil
// or names nothing to verify with, and when the folder holds no signature
// file (Evaluate then decides by req.Require). Other signature files are
// left out of the model; the git paths are too, as in `aigis verify`.
func VerifySignature(ctx context.Context, dir string, req *SignatureRequirement) *SignatureResult {
	if req == nil || !req.hasMethods() {
		return nil
	}
	names, err := signatureCandidates(dir)
	if err != nil {
		return &SignatureResult{Error: fmt.Sprintf("could not list the model folder to find its signature: %v", err)}
	}
	if len(names) == 0 {
		return nil
	}
	if len(names) > maxSignatureCandidates {
		return &SignatureResult{File: names[0], Error: fmt.Sprintf("the repository holds %d signature files (%s, …); keep one model.sig", len(names), strings.Join(names[:3], ", "))}
	}
	var first *SignatureResult
	for _, name := range names {
		res := verifyOne(ctx, dir, name, names, req)
		if res.Verified {
			return res
		}
		if first == nil || first.Method == "" && res.Method != "" {
			first = res
		}
	}
	return first
}

func verifyOne(ctx context.Context, dir, name string, all []string, req *SignatureRequirement) *SignatureResult {
	res := &SignatureResult{File: name}
	data, err := readSignature(filepath.Join(dir, name))
	if err != nil {
		res.Error = fmt.Sprintf("could not read %s: %v", name, err)
		return res
	}
	b, err := oms.ParseBundle(data)
	if err != nil {
		res.Error = fmt.Sprintf("%s is not an OMS signature: %v", name, err)
		return res
	}
	res.Method = string(b.Method)
	var ignore []string
	for _, other := range all {
		if other != name {
			ignore = append(ignore, other)
		}
	}
	base := oms.VerifyOptions{
		Hash:                manifest.Options{Ignore: ignore},
		SignaturePath:       filepath.Join(dir, name),
		IgnoreUnsignedFiles: req.AllowUnsignedFiles,
	}
	type attempt struct {
		signer string
		opt    oms.VerifyOptions
	}
	var attempts []attempt
	tryKeys := func() {
		for _, k := range req.Keys {
			o := base
			o.PublicKey = k.Key
			attempts = append(attempts, attempt{"key " + k.Name, o})
		}
	}
	var skipped string
	switch b.Method {
	case oms.MethodKey:
		tryKeys()
	case oms.MethodCertificate:
		if len(req.Roots) > 0 {
			signer, err := certificateSigner(b, req.CertificateIdentities)
			if err != nil {
				skipped = err.Error()
				break
			}
			o := base
			o.Roots = req.Roots
			attempts = append(attempts, attempt{signer, o})
		}
		// A certificate-method signature made with a trusted key also
		// verifies with that key (the reference accepts this).
		tryKeys()
	case oms.MethodSigstore:
		for _, id := range req.Sigstore {
			o := base
			o.Identity, o.Issuer, o.TrustedRoot = id.Identity, id.Issuer, req.TrustedRoot
			attempts = append(attempts, attempt{fmt.Sprintf("%s (issuer %s)", id.Identity, id.Issuer), o})
		}
	}
	if len(attempts) == 0 {
		res.Error = fmt.Sprintf("%s is a %s signature, but the policy accepts only %s", name, b.Method, req.Describe())
		if skipped != "" {
			res.Error = fmt.Sprintf("%s: %s; the policy accepts %s", name, skipped, req.Describe())
		}
		return res
	}
	var errs []string
	var mismatch string
	for _, a := range attempts {
		_, err := oms.Verify(ctx, dir, data, a.opt)
		if err == nil {
			res.Verified, res.Signer = true, a.signer
			return res
		}
		if me := (*oms.MismatchError)(nil); errors.As(err, &me) {
			// The signature itself verified: the files are what is wrong.
			mismatch = fmt.Sprintf("%s is signed by %s, but %v", name, a.signer, err)
			continue
		}
		if !errors.Is(err, oms.ErrVerification) {
			errs = append(errs, fmt.Sprintf("could not verify with %s: %v", a.signer, err))
			continue
		}
		errs = append(errs, fmt.Sprintf("not by %s: %v", a.signer, strings.TrimPrefix(err.Error(), oms.ErrVerification.Error()+": ")))
	}
	if mismatch != "" {
		res.Error = mismatch
		return res
	}
	if skipped != "" {
		errs = append([]string{skipped}, errs...)
	}
	res.Error = fmt.Sprintf("%s does not verify: %s", name, strings.Join(errs, "; "))
	return res
}

func readSignature(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSignatureSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSignatureSize {
		return nil, fmt.Errorf("larger than %d bytes, which no real signature is", maxSignatureSize)
	}
	return data, nil
}

// certificateSigner names the signing certificate of a certificate-method
// bundle and, when identities are required, checks that it carries one.
func certificateSigner(b *oms.Bundle, identities []string) (string, error) {
	if len(b.Certificates) == 0 {
		return "", errors.New("the signature carries no certificate")
	}
	leaf, err := x509.ParseCertificate(b.Certificates[0])
	if err != nil {
		return "", fmt.Errorf("the signing certificate cannot be parsed: %v", err)
	}
	names := certificateNames(leaf)
	if len(identities) == 0 {
		return "certificate " + leaf.Subject.String(), nil
	}
	for _, want := range identities {
		for _, n := range names {
			if n == want {
				return "certificate " + n, nil
			}
		}
	}
	return "", fmt.Errorf("the signing certificate is issued to %s, not to %s", strings.Join(names, ", "), strings.Join(identities, " or "))
}

func certificateNames(c *x509.Certificate) []string {
	var out []string
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	out = append(out, c.DNSNames...)
	if c.Subject.CommonName != "" {
		out = append(out, c.Subject.CommonName)
	}
	if len(out) == 0 {
		out = append(out, c.Subject.String())
	}
	return out
}
