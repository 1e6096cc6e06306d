package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/signing/oms"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePublicKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ca is a CA that issues signing certificates.
type ca struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newCA(t *testing.T, dir, name string) *ca {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &ca{key: k, cert: c}
}

// issue makes a code-signing certificate for email, for key k.
func (c *ca) issue(t *testing.T, k *ecdsa.PrivateKey, email string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "model signer"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		EmailAddresses: []string{email},
		KeyUsage:       x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &k.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return leaf
}

// signedModel writes a small model folder and signs it into sigName.
func signedModel(t *testing.T, opt oms.SignOptions, sigName string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"config.json":       `{"model_type": "bert"}`,
		"model.safetensors": strings.Repeat("\x00", 4096),
		"sub/tokenizer.txt": "hello",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opt.SignaturePath = filepath.Join(dir, sigName)
	signed, err := oms.Sign(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(opt.SignaturePath, signed.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// policyWith parses a policy in a folder holding the given key files.
func policyIn(t *testing.T, dir, body string) *Policy {
	t.Helper()
	p, err := Parse("policy.yaml", []byte("apiVersion: aigis/v1\nversion: t\n"+body), dir)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return p
}

func TestVerifySignatureKey(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	signer, stranger := newKey(t), newKey(t)
	writePublicKey(t, filepath.Join(keys, "release.pub"), signer)
	writePublicKey(t, filepath.Join(keys, "other.pub"), stranger)
	good := policyIn(t, keys, "signatures:\n  - repos: [\"acme/*\"]\n    keys: [\"other.pub\", \"release.pub\"]\n")
	wrong := policyIn(t, keys, "signatures:\n  - repos: [\"acme/*\"]\n    keys: [\"other.pub\"]\n")
	lenient := policyIn(t, keys, "signatures:\n  - repos: [\"acme/*\"]\n    keys: [\"release.pub\"]\n    allow_unsigned_files: true\n")

	model := signedModel(t, oms.SignOptions{Key: signer}, "model.sig")
	res := VerifySignature(ctx, model, good.SignatureRequirement("acme/bert"))
	if res == nil || !res.Verified || res.Method != "key" || res.Signer != "key release.pub" || res.File != "model.sig" {
		t.Fatalf("VerifySignature = %+v", res)
	}
	in := Input{RepoID: "acme/bert", Source: SourceUpstream, Now: now, Signature: res}
	if d := good.Evaluate(in); !d.Allow {
		t.Errorf("verified model refused: %+v", d.Reasons)
	}

	res = VerifySignature(ctx, model, wrong.SignatureRequirement("acme/bert"))
	if res == nil || res.Verified || !strings.Contains(res.Error, "not by key other.pub") {
		t.Fatalf("wrong key: %+v", res)
	}
	in.Signature = res
	if d := wrong.Evaluate(in); d.Allow || codes(d)[0] != CodeSignatureInvalid || !strings.Contains(d.Reasons[0].Message, "not by key other.pub") {
		t.Errorf("wrong key decision = %+v", d)
	}

	// A file added after signing: refused, unless the policy allows it.
	if err := os.WriteFile(filepath.Join(model, "README.md"), []byte("# bert"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(ctx, model, good.SignatureRequirement("acme/bert")); res.Verified || !strings.Contains(res.Error, "README.md is not signed") {
		t.Errorf("unsigned file: %+v", res)
	}
	if res := VerifySignature(ctx, model, lenient.SignatureRequirement("acme/bert")); !res.Verified {
		t.Errorf("allow_unsigned_files: %+v", res)
	}

	// A tampered file.
	if err := os.WriteFile(filepath.Join(model, "sub", "tokenizer.txt"), []byte("hellO"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = VerifySignature(ctx, model, lenient.SignatureRequirement("acme/bert"))
	if res == nil || res.Verified || !strings.Contains(res.Error, "model.sig is signed by key release.pub, but model does not match its signature: sub/tokenizer.txt was modified") {
		t.Fatalf("tampered: %+v", res)
	}
	in.Signature = res
	if d := lenient.Evaluate(in); d.Allow || codes(d)[0] != CodeSignatureInvalid {
		t.Errorf("tampered decision = %+v", d)
	}
}

func TestVerifySignatureMissing(t *testing.T) {
	keys := t.TempDir()
	writePublicKey(t, filepath.Join(keys, "release.pub"), newKey(t))
	p := policyIn(t, keys, `signatures:
  - repos: ["acme/optional-*"]
    require: false
    keys: ["release.pub"]
  - repos: ["acme/*"]
    keys: ["release.pub"]
`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(context.Background(), dir, p.SignatureRequirement("acme/bert")); res != nil {
		t.Fatalf("no signature file, got %+v", res)
	}
	d := p.Evaluate(Input{RepoID: "acme/bert", Source: SourceUpstream, Now: now})
	if len(d.Reasons) != 1 || d.Reasons[0].Code != CodeSignatureMissing || !strings.Contains(d.Reasons[0].Message, "signatures entry at line 7") {
		t.Errorf("decision = %+v", d)
	}
	// require: false lets an unsigned model in, but not a badly signed one.
	if d := p.Evaluate(Input{RepoID: "acme/optional-x", Source: SourceUpstream, Now: now}); !d.Allow {
		t.Errorf("optional signature: %+v", d.Reasons)
	}
	bad := &SignatureResult{Method: "key", File: "model.sig", Error: "model.sig does not verify"}
	if d := p.Evaluate(Input{RepoID: "acme/optional-x", Source: SourceUpstream, Now: now, Signature: bad}); d.Allow {
		t.Errorf("optional signature that does not verify was allowed")
	}
	// No requirement: nothing to verify.
	if res := VerifySignature(context.Background(), dir, p.SignatureRequirement("google/gemma")); res != nil {
		t.Errorf("no requirement, got %+v", res)
	}
	if d := p.Evaluate(Input{RepoID: "google/gemma", Source: SourceUpstream, Now: now}); !d.Allow {
		t.Errorf("repository without a requirement refused: %+v", d.Reasons)
	}
}

func TestVerifySignatureCertificate(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	acme := newCA(t, keys, "acme-ca")
	newCA(t, keys, "other-ca")
	k := newKey(t)
	leaf := acme.issue(t, k, "release@acme.example")
	model := signedModel(t, oms.SignOptions{Key: k, Certificates: []*x509.Certificate{leaf}}, "model.sig")

	tests := []struct {
		name, policy string
		verified     bool
		want         string // Signer or Error substring
	}{
		{"any certificate of the CA", "certificates:\n      roots: [acme-ca.pem]\n", true, "certificate CN=model signer"},
		{"the required identity", "certificates:\n      roots: [acme-ca.pem]\n      identities: [release@acme.example]\n", true, "certificate release@acme.example"},
		{"another identity", "certificates:\n      roots: [acme-ca.pem]\n      identities: [ceo@acme.example]\n", false,
			"the signing certificate is issued to release@acme.example, model signer, not to ceo@acme.example"},
		{"another CA", "certificates:\n      roots: [other-ca.pem]\n", false, "does not chain to the given CA"},
		{"sigstore only", "sigstore: [{identity: release@acme.example, issuer: \"https://accounts.google.com\"}]\n", false,
			"model.sig is a certificate signature, but the policy accepts only Sigstore identity release@acme.example (issuer https://accounts.google.com)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyIn(t, keys, "signatures:\n  - repos: [\"acme/*\"]\n    "+tt.policy)
			res := VerifySignature(ctx, model, p.SignatureRequirement("acme/bert"))
			if res == nil || res.Verified != tt.verified || res.Method != "certificate" {
				t.Fatalf("VerifySignature = %+v", res)
			}
			got := res.Signer
			if !tt.verified {
				got = res.Error
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestVerifySignatureFiles(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	k := newKey(t)
	writePublicKey(t, filepath.Join(keys, "release.pub"), k)
	p := policyIn(t, keys, "signatures:\n  - repos: [\"acme/*\"]\n    keys: [\"release.pub\"]\n")
	req := p.SignatureRequirement("acme/bert")

	// Another name at the root is found.
	model := signedModel(t, oms.SignOptions{Key: k}, "bert.sigstore.json")
	if res := VerifySignature(ctx, model, req); res == nil || !res.Verified || res.File != "bert.sigstore.json" {
		t.Fatalf("bert.sigstore.json: %+v", res)
	}
	// A broken model.sig next to it: model.sig is tried first, the good
	// one still verifies, and neither counts as an unsigned file.
	if err := os.WriteFile(filepath.Join(model, "model.sig"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(ctx, model, req); res == nil || !res.Verified || res.File != "bert.sigstore.json" {
		t.Fatalf("with a broken model.sig: %+v", res)
	}
	// Only the broken one.
	if err := os.Remove(filepath.Join(model, "bert.sigstore.json")); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(ctx, model, req); res == nil || res.Verified || !strings.Contains(res.Error, "model.sig is not an OMS signature") {
		t.Fatalf("broken model.sig: %+v", res)
	}
	// Signatures in sub-folders and symlinks are not signatures of the repository.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "model.sig"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(model, "model.sig"), filepath.Join(dir, "model.sig")); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(ctx, dir, req); res != nil {
		t.Errorf("found %+v", res)
	}
	if res := VerifySignature(ctx, dir, nil); res != nil {
		t.Errorf("nil requirement: %+v", res)
	}
	// Too many signature files is an error, not a search.
	for i := range 9 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.sig", i)), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if res := VerifySignature(ctx, dir, req); res == nil || res.Verified || !strings.Contains(res.Error, "holds 9 signature files") {
		t.Errorf("9 signature files: %+v", res)
	}
}

func TestSignatureCandidatesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.sig", "signature.json", "model.sig", "a.sigstore.json", "x.sigstore", "config.json", "sig"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := signatureCandidates(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "model.sig a.sigstore.json b.sig signature.json x.sigstore"
	if strings.Join(got, " ") != want {
		t.Errorf("candidates = %v, want %s", got, want)
	}
}

// Replacing a trusted key changes the policy's version even though the
// YAML did not change.
func TestVersionCoversKeyFiles(t *testing.T) {
	dir := t.TempDir()
	src := []byte("apiVersion: aigis/v1\nversion: t\nsignatures:\n  - repos: [\"a/*\"]\n    keys: [release.pub]\n")
	writePublicKey(t, filepath.Join(dir, "release.pub"), newKey(t))
	p1, err := Parse("p.yaml", src, dir)
	if err != nil {
		t.Fatal(err)
	}
	writePublicKey(t, filepath.Join(dir, "release.pub"), newKey(t))
	p2, err := Parse("p.yaml", src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Version() == p2.Version() {
		t.Errorf("a new key file gives the same version %s", p1.Version())
	}
}

// A real keyless Sigstore signature from the OpenSSF model-signing
// reference's test vectors, verified offline against the embedded
// public-good root. Skipped when ../shared/vectors is absent (CI has it).
func TestVerifySignatureSigstoreVector(t *testing.T) {
	src := "../../../shared/vectors/model-signing/model-transparency/v1.0.0-sigstore"
	if _, err := os.Stat(src); err != nil {
		t.Skipf("vectors not present: %v", err)
	}
	model := filepath.Join(t.TempDir(), "m")
	if err := os.CopyFS(model, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := policyIn(t, "", "signatures:\n  - repos: [\"ibm/*\"]\n    sigstore: [{identity: stefanb@us.ibm.com, issuer: \"https://sigstore.verify.ibm.com/oauth2\"}]\n")
	other := policyIn(t, "", "signatures:\n  - repos: [\"ibm/*\"]\n    sigstore: [{identity: mallory@example.com, issuer: \"https://sigstore.verify.ibm.com/oauth2\"}]\n")

	res := VerifySignature(ctx, model, good.SignatureRequirement("ibm/model"))
	if res == nil || !res.Verified || res.Method != "sigstore" || res.Signer != "stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2)" {
		t.Fatalf("VerifySignature = %+v", res)
	}
	if res := VerifySignature(ctx, model, other.SignatureRequirement("ibm/model")); res == nil || res.Verified || !strings.Contains(res.Error, "not by mallory@example.com") {
		t.Errorf("another identity: %+v", res)
	}
	p := filepath.Join(model, "signme-1")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := VerifySignature(ctx, model, good.SignatureRequirement("ibm/model")); res == nil || res.Verified || !strings.Contains(res.Error, "signme-1 was modified") {
		t.Errorf("tampered: %+v", res)
	}
}
