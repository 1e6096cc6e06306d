package oms

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aigis-sec/aigis/signing/manifest"
)

// SignOptions choose how a model is hashed and signed.
type SignOptions struct {
	// Hash chooses the manifest: algorithm, files or shards, ignores.
	Hash manifest.Options
	// SignaturePath is where the signature will be written; when it is
	// inside the model it is left out of the manifest and recorded in
	// ignore_paths, as the reference does.
	SignaturePath string
	// Key signs. Only ECDSA on P-256, P-384 or P-521.
	Key *ecdsa.PrivateKey
	// Certificates, if set, selects the certificate method: the signing
	// certificate first (its key must be Key's), then intermediates.
	// Otherwise the key method is used, with the public-key hint.
	Certificates []*x509.Certificate
	// ReferenceShardAlgorithm writes each shard's algorithm as the
	// reference does ("sha256-sharded-N"), which its verifier needs but
	// the spec's schema rejects. By default the bare hash_type is written.
	ReferenceShardAlgorithm bool
}

// Signed is what Sign produced.
type Signed struct {
	Bundle    []byte // the signature file's bytes
	Statement []byte // the signed in-toto statement
	Manifest  *manifest.Manifest
}

// The statement's JSON, in the reference's field order.
type outStatement struct {
	Type          string       `json:"_type"`
	Subject       []outSubject `json:"subject"`
	PredicateType string       `json:"predicateType"`
	Predicate     outPredicate `json:"predicate"`
}

type outSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type outPredicate struct {
	Serialization map[string]any `json:"serialization"`
	Resources     []outResource  `json:"resources"`
}

type outResource struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

type outBundle struct {
	MediaType            string         `json:"mediaType"`
	VerificationMaterial map[string]any `json:"verificationMaterial"`
	DSSEEnvelope         outEnvelope    `json:"dsseEnvelope"`
}

type outEnvelope struct {
	Payload     string         `json:"payload"`
	PayloadType string         `json:"payloadType"`
	Signatures  []outSignature `json:"signatures"`
}

type outSignature struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid"`
}

// Sign hashes the model at modelPath and returns an OMS v1.0 signature:
// a Sigstore bundle v0.3 holding a DSSE envelope of an in-toto statement
// whose subject is the model's root digest.
func Sign(ctx context.Context, modelPath string, opt SignOptions) (*Signed, error) {
	if opt.Key == nil {
		return nil, errors.New("oms: sign: no private key")
	}
	if _, err := hashForCurve(opt.Key.Curve); err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	material := map[string]any{"tlogEntries": []any{}}
	if len(opt.Certificates) > 0 {
		leafKey, ok := opt.Certificates[0].PublicKey.(*ecdsa.PublicKey)
		if !ok || !leafKey.Equal(&opt.Key.PublicKey) {
			return nil, errors.New("oms: sign: the signing certificate is not for the private key")
		}
		var certs []map[string]string
		for _, c := range opt.Certificates {
			certs = append(certs, map[string]string{"rawBytes": base64.StdEncoding.EncodeToString(c.Raw)})
		}
		material["x509CertificateChain"] = map[string]any{"certificates": certs}
	} else {
		hint, err := PublicKeyHint(&opt.Key.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("oms: sign: %w", err)
		}
		material["publicKey"] = map[string]string{"hint": hint}
	}

	hopt := opt.Hash
	if rel, ok := insideModel(modelPath, opt.SignaturePath); ok {
		hopt.Ignore = append(append([]string(nil), hopt.Ignore...), rel)
	}
	m, err := manifest.Hash(ctx, modelPath, hopt)
	if err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	root, err := m.RootDigest()
	if err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	st := outStatement{
		Type:          StatementType,
		Subject:       []outSubject{{Name: m.Name, Digest: map[string]string{"sha256": hex.EncodeToString(root)}}},
		PredicateType: PredicateType,
		Predicate:     outPredicate{Serialization: m.Serialization(), Resources: []outResource{}},
	}
	for _, r := range m.Resources {
		alg := r.Algorithm
		if !opt.ReferenceShardAlgorithm {
			alg = manifest.BaseAlgorithm(alg)
		}
		st.Predicate.Resources = append(st.Predicate.Resources, outResource{Name: r.Name, Algorithm: alg, Digest: hex.EncodeToString(r.Digest)})
	}
	payload, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	sig, err := signPAE(opt.Key, payload)
	if err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	b := outBundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: material,
		DSSEEnvelope: outEnvelope{
			Payload:     base64.StdEncoding.EncodeToString(payload),
			PayloadType: PayloadType,
			Signatures:  []outSignature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("oms: sign: %w", err)
	}
	return &Signed{Bundle: buf.Bytes(), Statement: payload, Manifest: m}, nil
}

// insideModel returns sig's path relative to the model folder when the
// signature lies inside it.
func insideModel(modelPath, sig string) (string, bool) {
	if sig == "" {
		return "", false
	}
	root, err1 := filepath.Abs(modelPath)
	s, err2 := filepath.Abs(sig)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(root, s)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// signPAE signs a statement's PAE with the hash the curve calls for.
func signPAE(key *ecdsa.PrivateKey, payload []byte) ([]byte, error) {
	h, err := hashForCurve(key.Curve)
	if err != nil {
		return nil, err
	}
	return ecdsa.SignASN1(rand.Reader, key, digestOf(h, PAE(PayloadType, payload)))
}
