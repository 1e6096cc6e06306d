package oms

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/aigis-sec/aigis/signing/manifest"
)

// PublicGoodTrustedRoot is the public-good Sigstore trusted root
// (Fulcio, Rekor, CT logs, timestamp authorities) that aigis ships, as in
// sigstore-go's examples. Sigstore bundles are verified offline against
// it unless another root is given.
//
//go:embed trusted_root_public_good.json
var PublicGoodTrustedRoot []byte

// ErrVerification wraps every reason a signature or a model is rejected;
// I/O errors do not wrap it.
var ErrVerification = errors.New("verification failed")

func failf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrVerification, fmt.Sprintf(format, a...))
}

// VerifyOptions choose what a signature must be checked against. Exactly
// one of PublicKey, Roots or Identity (with Issuer) is set.
type VerifyOptions struct {
	// Hash carries the caller's ignores (added to the signature's
	// ignore_paths and the git paths), workers and progress; the
	// algorithm and serialization come from the signature.
	Hash manifest.Options
	// SignaturePath is left out of the model when it lies inside it.
	SignaturePath string
	// IgnoreUnsignedFiles accepts files that the signature does not list.
	IgnoreUnsignedFiles bool

	// PublicKey verifies key-method bundles (and certificate-method ones
	// made with the same key).
	PublicKey *ecdsa.PublicKey
	// Roots are the trust anchors of certificate-method bundles. As in the
	// reference, the chain is checked at the leaf's notBefore.
	Roots []*x509.Certificate
	// Identity (certificate SAN) and Issuer (OIDC issuer) are the policy
	// for Sigstore bundles, checked offline against TrustedRoot (JSON;
	// PublicGoodTrustedRoot when nil).
	Identity, Issuer string
	TrustedRoot      []byte
}

// Result describes a verified model.
type Result struct {
	Method    Method
	Statement *Statement
	Manifest  *manifest.Manifest // the local model as hashed
}

// MismatchError lists the files on which the model and its signature
// disagree.
type MismatchError struct {
	Differences []manifest.Difference
}

func (e *MismatchError) Error() string {
	var parts []string
	for _, d := range e.Differences {
		switch d.Kind {
		case manifest.Modified:
			parts = append(parts, d.Name+" was modified")
		case manifest.Missing:
			parts = append(parts, d.Name+" is signed but missing")
		case manifest.Extra:
			parts = append(parts, d.Name+" is not signed")
		default:
			parts = append(parts, d.String())
		}
	}
	return "model does not match its signature: " + strings.Join(parts, "; ")
}

// Unwrap makes a MismatchError an ErrVerification.
func (e *MismatchError) Unwrap() error { return ErrVerification }

// Verify checks an OMS signature (the bytes of model.sig) and then that
// the model at modelPath is exactly what it signs. Every rejection wraps
// ErrVerification and says which check or which file failed; other
// errors are I/O.
func Verify(ctx context.Context, modelPath string, bundleJSON []byte, opt VerifyOptions) (*Result, error) {
	b, err := ParseBundle(bundleJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	st, err := ParseStatement(b.Envelope.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	// The statement must be consistent before its subject is trusted as
	// the digest of everything it lists (the reference does the same).
	if !bytes.Equal(RootDigest(st.Resources), st.RootDigest) {
		return nil, failf("statement is inconsistent: its subject digest is not the root digest of its resources")
	}
	if err := verifySignature(b, st, &opt); err != nil {
		return nil, err
	}
	m, err := hashLocal(ctx, modelPath, st, &opt)
	if err != nil {
		return nil, err
	}
	want := &manifest.Manifest{Resources: make([]manifest.Resource, len(st.Resources))}
	for i, r := range st.Resources {
		want.Resources[i] = manifest.Resource{Name: r.Name, Algorithm: r.Algorithm, Digest: r.Digest}
	}
	// A single-file model is named "." by the reference and by its
	// basename in the spec: both name the file.
	if len(m.Resources) == 1 && m.Resources[0].Name == "." && len(want.Resources) == 1 && want.Resources[0].Name == filepath.Base(filepath.Clean(modelPath)) {
		want.Resources[0].Name = "."
	}
	var diffs []manifest.Difference
	for _, d := range manifest.Diff(want, m) {
		if d.Kind == manifest.Extra && opt.IgnoreUnsignedFiles {
			continue
		}
		if d.Name == "." {
			d.Name = filepath.Base(filepath.Clean(modelPath))
		}
		diffs = append(diffs, d)
	}
	if len(diffs) > 0 {
		return nil, &MismatchError{Differences: diffs}
	}
	return &Result{Method: b.Method, Statement: st, Manifest: m}, nil
}

func hashLocal(ctx context.Context, modelPath string, st *Statement, opt *VerifyOptions) (*manifest.Manifest, error) {
	h := opt.Hash
	h.Algorithm = st.Serialization.HashType
	h.Serialization = st.Serialization.Method
	h.ShardSize = st.Serialization.ShardSize
	h.AllowSymlinks = st.Serialization.AllowSymlinks
	h.Ignore = append(append([]string(nil), h.Ignore...), st.Serialization.IgnorePaths...)
	if rel, ok := insideModel(modelPath, opt.SignaturePath); ok {
		h.Ignore = append(h.Ignore, rel)
	}
	m, err := manifest.Hash(ctx, modelPath, h)
	if err != nil {
		if errors.Is(err, manifest.ErrSymlink) || errors.Is(err, manifest.ErrSpecialFile) {
			return nil, fmt.Errorf("%w: %w", ErrVerification, err)
		}
		return nil, fmt.Errorf("oms: hash model: %w", err)
	}
	return m, nil
}

func verifySignature(b *Bundle, st *Statement, opt *VerifyOptions) error {
	switch {
	case opt.PublicKey != nil:
		return verifyKey(b, opt.PublicKey)
	case len(opt.Roots) > 0:
		return verifyCertificate(b, opt.Roots)
	case opt.Identity != "" || opt.Issuer != "":
		return verifySigstore(b, st, opt)
	}
	return errors.New("oms: verify: no public key, certificate chain or Sigstore identity to verify against")
}

func verifyKey(b *Bundle, pub *ecdsa.PublicKey) error {
	if b.Method == MethodSigstore {
		return failf("the signature is a Sigstore bundle: verify it with an identity and issuer, not a key")
	}
	if b.PublicKeyHint != "" {
		want, err := PublicKeyHint(pub)
		if err != nil {
			return err
		}
		if !hintMatches(b.PublicKeyHint, want) {
			return failf("the signature names public key %s, not the given key %s", b.PublicKeyHint, want)
		}
	}
	if err := verifyEnvelope(pub, &b.Envelope); err != nil {
		return failf("the signature was not made with the given public key: %v", err)
	}
	return nil
}

func verifyCertificate(b *Bundle, roots []*x509.Certificate) error {
	if b.Method != MethodCertificate {
		return failf("the signature carries no certificate chain (it is a %s signature)", b.Method)
	}
	certs := make([]*x509.Certificate, len(b.Certificates))
	for i, der := range b.Certificates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return failf("certificate %d of the signature: %v", i, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range roots {
		rootPool.AddCert(c)
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	// The reference checks the chain at the leaf's notBefore: a signature
	// outlives its certificate.
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: rootPool, Intermediates: inter, CurrentTime: leaf.NotBefore,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return failf("signing certificate %q does not chain to the given CA: %v", leaf.Subject, err)
	}
	codeSigning := false
	for _, u := range leaf.ExtKeyUsage {
		codeSigning = codeSigning || u == x509.ExtKeyUsageCodeSigning
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !codeSigning {
		return failf("signing certificate %q allows neither digital signatures nor code signing", leaf.Subject)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return failf("signing certificate %q has a %T key, only ECDSA is supported", leaf.Subject, leaf.PublicKey)
	}
	if err := verifyEnvelope(pub, &b.Envelope); err != nil {
		return failf("the signature was not made with the key of certificate %q: %v", leaf.Subject, err)
	}
	return nil
}

func verifySigstore(b *Bundle, st *Statement, opt *VerifyOptions) error {
	if opt.Identity == "" || opt.Issuer == "" {
		return errors.New("oms: verify: a Sigstore identity needs both an identity and an issuer")
	}
	if b.Method != MethodSigstore {
		return failf("the signature is not a Sigstore bundle (it is a %s signature)", b.Method)
	}
	trJSON := opt.TrustedRoot
	if trJSON == nil {
		trJSON = PublicGoodTrustedRoot
	}
	tr, err := root.NewTrustedRootFromJSON(trJSON)
	if err != nil {
		return fmt.Errorf("oms: trusted root: %w", err)
	}
	var sb bundle.Bundle
	if err := sb.UnmarshalJSON(b.Raw); err != nil {
		return failf("sigstore bundle: %v", err)
	}
	v, err := verify.NewVerifier(tr, verify.WithSignedCertificateTimestamps(1), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		return fmt.Errorf("oms: sigstore verifier: %w", err)
	}
	id, err := verify.NewShortCertificateIdentity(opt.Issuer, "", opt.Identity, "")
	if err != nil {
		return fmt.Errorf("oms: sigstore identity: %w", err)
	}
	// The statement's subject is the root digest: sigstore-go checks the
	// envelope's signature, the certificate, the log entry and that the
	// statement's subject is this digest.
	if _, err := v.Verify(&sb, verify.NewPolicy(verify.WithArtifactDigest("sha256", st.RootDigest), verify.WithCertificateIdentity(id))); err != nil {
		return failf("sigstore: %v", err)
	}
	return nil
}
