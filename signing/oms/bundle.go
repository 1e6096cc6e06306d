package oms

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Identifiers of the format.
const (
	// BundleMediaType is what the reference and aigis write. Readers accept
	// any "application/vnd.dev.sigstore.bundle" media type (the spec's
	// vectors omit "+json").
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto Statement v1 type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is the OMS v1.0 predicate.
	PredicateType = "https://model_signing/signature/v1.0"
	// LegacyPredicateType is the v0.2 reference's predicate: one subject
	// per file. It is verified, never written.
	LegacyPredicateType = "https://model_signing/Digests/v0.1"
)

// MaxBundleSize caps a signature file: real ones are a few KiB, a
// manifest of a million files a few hundred MiB is not a signature.
const MaxBundleSize = 256 << 20

// ErrMalformed marks a bundle, envelope or statement that does not have
// the shape of the format.
var ErrMalformed = errors.New("malformed signature")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Method is how a bundle was signed, judged by its verification material.
type Method string

// Signing methods.
const (
	MethodKey         Method = "key"         // a public key (hint or rawBytes)
	MethodCertificate Method = "certificate" // an X.509 chain, leaf first
	MethodSigstore    Method = "sigstore"    // a Fulcio certificate and a transparency log entry
)

// Bundle is a parsed OMS signature file: a Sigstore bundle holding a DSSE
// envelope. Raw keeps the bytes, which sigstore-go parses again.
type Bundle struct {
	Raw       []byte
	MediaType string
	Method    Method
	// PublicKeyHint is the key method's hint (hex SHA-256 of the PEM
	// public key, or a prefix of it); PublicKeyRaw the pre-1.1 rawBytes.
	PublicKeyHint string
	PublicKeyRaw  []byte
	// Certificates is the chain of the certificate method (leaf first),
	// or the single Fulcio certificate of the sigstore method, DER.
	Certificates [][]byte
	TlogEntries  int
	Envelope     Envelope
}

// Envelope is a DSSE envelope with its payload decoded.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  [][]byte
}

type jsonBundle struct {
	MediaType            *string         `json:"mediaType"`
	VerificationMaterial *jsonMaterial   `json:"verificationMaterial"`
	DSSEEnvelope         json.RawMessage `json:"dsseEnvelope"`
}

type jsonCert struct {
	RawBytes string `json:"rawBytes"`
}

type jsonMaterial struct {
	PublicKey *struct {
		Hint     string `json:"hint"`
		RawBytes string `json:"rawBytes"`
	} `json:"publicKey"`
	X509CertificateChain *struct {
		Certificates []jsonCert `json:"certificates"`
	} `json:"x509CertificateChain"`
	Certificate *jsonCert         `json:"certificate"`
	TlogEntries []json.RawMessage `json:"tlogEntries"`
}

type jsonEnvelope struct {
	Payload     *string `json:"payload"`
	PayloadType *string `json:"payloadType"`
	Signatures  []struct {
		Sig   string  `json:"sig"`
		KeyID *string `json:"keyid"`
	} `json:"signatures"`
}

// ParseBundle reads an OMS signature file. It checks the shape of every
// layer that aigis relies on and decodes the envelope's payload; it does
// not verify anything.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, malformed("bundle is larger than %d bytes", MaxBundleSize)
	}
	var jb jsonBundle
	if err := json.Unmarshal(data, &jb); err != nil {
		return nil, malformed("bundle is not JSON: %v", err)
	}
	if jb.MediaType == nil || !strings.HasPrefix(*jb.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, malformed("bundle has no Sigstore bundle mediaType")
	}
	b := &Bundle{Raw: data, MediaType: *jb.MediaType}
	vm := jb.VerificationMaterial
	if vm == nil {
		return nil, malformed("bundle has no verificationMaterial")
	}
	b.TlogEntries = len(vm.TlogEntries)
	switch {
	case vm.PublicKey != nil:
		b.Method = MethodKey
		b.PublicKeyHint = vm.PublicKey.Hint
		if vm.PublicKey.RawBytes != "" {
			raw, err := base64.StdEncoding.DecodeString(vm.PublicKey.RawBytes)
			if err != nil {
				return nil, malformed("publicKey.rawBytes: %v", err)
			}
			b.PublicKeyRaw = raw
		}
		if b.PublicKeyHint == "" && b.PublicKeyRaw == nil {
			return nil, malformed("publicKey has neither hint nor rawBytes")
		}
	case vm.X509CertificateChain != nil:
		b.Method = MethodCertificate
		if len(vm.X509CertificateChain.Certificates) == 0 {
			return nil, malformed("x509CertificateChain has no certificates")
		}
		for i, c := range vm.X509CertificateChain.Certificates {
			der, err := base64.StdEncoding.DecodeString(c.RawBytes)
			if err != nil || len(der) == 0 {
				return nil, malformed("x509CertificateChain certificate %d: no DER bytes", i)
			}
			b.Certificates = append(b.Certificates, der)
		}
	case vm.Certificate != nil:
		b.Method = MethodSigstore
		der, err := base64.StdEncoding.DecodeString(vm.Certificate.RawBytes)
		if err != nil || len(der) == 0 {
			return nil, malformed("certificate has no DER bytes")
		}
		b.Certificates = [][]byte{der}
		// A Fulcio certificate is short-lived: without a log entry that
		// proves when it was used, nothing can be verified.
		if b.TlogEntries == 0 {
			return nil, malformed("sigstore bundle has no transparency log entry")
		}
	default:
		return nil, malformed("verificationMaterial has no publicKey, x509CertificateChain or certificate")
	}
	if len(jb.DSSEEnvelope) == 0 || bytes.Equal(jb.DSSEEnvelope, []byte("null")) {
		return nil, malformed("bundle has no dsseEnvelope")
	}
	env, err := parseEnvelope(jb.DSSEEnvelope)
	if err != nil {
		return nil, err
	}
	b.Envelope = *env
	return b, nil
}

func parseEnvelope(data []byte) (*Envelope, error) {
	var je jsonEnvelope
	if err := json.Unmarshal(data, &je); err != nil {
		return nil, malformed("dsseEnvelope: %v", err)
	}
	if je.PayloadType == nil || *je.PayloadType != PayloadType {
		return nil, malformed("dsseEnvelope payloadType is not %s", PayloadType)
	}
	if je.Payload == nil || *je.Payload == "" {
		return nil, malformed("dsseEnvelope has no payload")
	}
	payload, err := base64.StdEncoding.DecodeString(*je.Payload)
	if err != nil {
		return nil, malformed("dsseEnvelope payload: %v", err)
	}
	if len(je.Signatures) == 0 {
		return nil, malformed("dsseEnvelope has no signature")
	}
	env := &Envelope{PayloadType: *je.PayloadType, Payload: payload}
	for i, s := range je.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || len(sig) == 0 {
			return nil, malformed("dsseEnvelope signature %d is empty or not base64", i)
		}
		env.Signatures = append(env.Signatures, sig)
	}
	return env, nil
}

// Statement is an OMS in-toto statement with its predicate read.
type Statement struct {
	SubjectName   string
	RootDigest    []byte // subject digest sha256
	PredicateType string
	Serialization Serialization
	// Resources in payload order; the root digest is computed over them in
	// this order.
	Resources []Resource
}

// Serialization is the predicate's record of how the model was hashed.
type Serialization struct {
	Method        string // "files" or "shards"
	HashType      string // "sha256", "blake2b" or "blake3"
	ShardSize     int64
	AllowSymlinks bool
	IgnorePaths   []string
}

// Resource is one signed file or shard.
type Resource struct {
	Name      string
	Algorithm string // as written; the reference writes "sha256-sharded-N" for shards
	Digest    []byte
}

type jsonStatement struct {
	Type    *string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType *string         `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type jsonPredicate struct {
	Serialization *struct {
		Method        string          `json:"method"`
		HashType      string          `json:"hash_type"`
		ShardSize     json.RawMessage `json:"shard_size"`
		AllowSymlinks bool            `json:"allow_symlinks"`
		IgnorePaths   []string        `json:"ignore_paths"`
	} `json:"serialization"`
	Resources []struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	} `json:"resources"`
}

// ParseStatement reads the in-toto statement of an envelope's payload:
// the v1.0 predicate, or the v0.2 reference's legacy one (one subject per
// file, files/sha256 implied). Unknown fields are ignored, as the spec
// requires; numbers may be integer-valued floats (the reference builds
// the predicate through a protobuf Struct).
func ParseStatement(payload []byte) (*Statement, error) {
	var js jsonStatement
	if err := json.Unmarshal(payload, &js); err != nil {
		return nil, malformed("statement is not JSON: %v", err)
	}
	if js.Type == nil || *js.Type != StatementType {
		return nil, malformed("statement _type is not %s", StatementType)
	}
	if js.PredicateType == nil {
		return nil, malformed("statement has no predicateType")
	}
	st := &Statement{PredicateType: *js.PredicateType}
	switch st.PredicateType {
	case PredicateType:
		return parseV1(st, &js)
	case LegacyPredicateType:
		return parseLegacy(st, &js)
	default:
		return nil, malformed("statement predicateType %q is not %s", st.PredicateType, PredicateType)
	}
}

func parseV1(st *Statement, js *jsonStatement) (*Statement, error) {
	if len(js.Subject) != 1 {
		return nil, malformed("statement has %d subjects, want exactly 1", len(js.Subject))
	}
	st.SubjectName = js.Subject[0].Name
	d, err := hexDigest(js.Subject[0].Digest["sha256"])
	if err != nil || len(d) != 32 {
		return nil, malformed("statement subject has no sha256 digest")
	}
	st.RootDigest = d
	var jp jsonPredicate
	if err := json.Unmarshal(js.Predicate, &jp); err != nil {
		return nil, malformed("predicate: %v", err)
	}
	if jp.Serialization == nil {
		return nil, malformed("predicate has no serialization")
	}
	s := jp.Serialization
	st.Serialization = Serialization{Method: s.Method, HashType: s.HashType, AllowSymlinks: s.AllowSymlinks, IgnorePaths: s.IgnorePaths}
	switch s.HashType {
	case "sha256", "blake2b", "blake3":
	default:
		return nil, malformed("serialization hash_type %q is not sha256, blake2b or blake3", s.HashType)
	}
	switch s.Method {
	case "files":
	case "shards":
		n, err := jsonInt(s.ShardSize)
		if err != nil || n <= 0 {
			return nil, malformed("serialization shard_size %s is not a positive integer", s.ShardSize)
		}
		st.Serialization.ShardSize = n
	default:
		return nil, malformed("serialization method %q is not files or shards", s.Method)
	}
	seen := make(map[string]bool, len(jp.Resources))
	for i, r := range jp.Resources {
		if r.Name == "" {
			return nil, malformed("resource %d has no name", i)
		}
		if seen[r.Name] {
			return nil, malformed("resource %q is listed twice", r.Name)
		}
		seen[r.Name] = true
		if !algorithmMatches(r.Algorithm, s.HashType, st.Serialization.ShardSize) {
			return nil, malformed("resource %q: algorithm %q does not match hash_type %q", r.Name, r.Algorithm, s.HashType)
		}
		d, err := hexDigest(r.Digest)
		if err != nil || len(d) == 0 {
			return nil, malformed("resource %q: digest is not hex", r.Name)
		}
		st.Resources = append(st.Resources, Resource{Name: r.Name, Algorithm: r.Algorithm, Digest: d})
	}
	return st, nil
}

// algorithmMatches accepts the bare hash_type (the spec) and the
// reference's "<hash>-sharded-<N>" for shards.
func algorithmMatches(alg, hashType string, shardSize int64) bool {
	if alg == hashType {
		return true
	}
	return shardSize > 0 && alg == hashType+"-sharded-"+strconv.FormatInt(shardSize, 10)
}

func parseLegacy(st *Statement, js *jsonStatement) (*Statement, error) {
	if len(js.Subject) == 0 {
		return nil, malformed("legacy statement has no subjects")
	}
	st.Serialization = Serialization{Method: "files", HashType: "sha256"}
	seen := map[string]bool{}
	for i, s := range js.Subject {
		if s.Name == "" || seen[s.Name] {
			return nil, malformed("legacy subject %d: empty or repeated name", i)
		}
		seen[s.Name] = true
		d, err := hexDigest(s.Digest["sha256"])
		if err != nil || len(d) != 32 {
			return nil, malformed("legacy subject %q has no sha256 digest", s.Name)
		}
		st.Resources = append(st.Resources, Resource{Name: s.Name, Algorithm: "sha256", Digest: d})
	}
	// Legacy statements sign the files directly; the root digest is what
	// v1.0 would have said, so callers treat both alike.
	st.RootDigest = RootDigest(st.Resources)
	return st, nil
}

// Legacy reports whether the statement is the v0.2 reference's format.
func (s *Statement) Legacy() bool { return s.PredicateType == LegacyPredicateType }

func hexDigest(s string) ([]byte, error) {
	if s == "" || strings.ToLower(s) != s {
		return nil, errors.New("not lower-case hex")
	}
	return hex.DecodeString(s)
}

// jsonInt reads an integer that may be written as an integer-valued float
// ("shard_size": 8.0).
func jsonInt(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 {
		return 0, errors.New("absent")
	}
	var f json.Number
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, err
	}
	if n, err := f.Int64(); err == nil {
		return n, nil
	}
	v, err := f.Float64()
	if err != nil || v != math.Trunc(v) || v > math.MaxInt64/2 || v < 0 {
		return 0, fmt.Errorf("%s is not an integer", f)
	}
	return int64(v), nil
}
