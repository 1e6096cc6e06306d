package oms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// RootDigest is the statement's subject digest: SHA-256 over the
// concatenated raw digests of the resources, in the order given. It is
// SHA-256 whatever hash the files were hashed with.
func RootDigest(rs []Resource) []byte {
	h := sha256.New()
	for _, r := range rs {
		h.Write(r.Digest)
	}
	return h.Sum(nil)
}

// PAE is DSSE's pre-authentication encoding of a payload: what is
// signed.
func PAE(payloadType string, payload []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	return append([]byte(b.String()), payload...)
}

// compatPAE is what the reference's v0.2 signed instead of PAE: a capital
// V and the payload as Python's repr of bytes. It is only ever verified.
func compatPAE(payloadType string, payload []byte) []byte {
	return []byte(fmt.Sprintf("DSSEV1 %d %s %d %s", len(payloadType), payloadType, len(payload), pyBytesRepr(payload)))
}

// pyBytesRepr renders b as Python's repr(bytes) does.
func pyBytesRepr(b []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	var s strings.Builder
	s.WriteByte('b')
	s.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(quote)
	return s.String()
}

// hashForCurve is the hash the reference pairs with each curve.
func hashForCurve(c elliptic.Curve) (crypto.Hash, error) {
	switch c {
	case elliptic.P256():
		return crypto.SHA256, nil
	case elliptic.P384():
		return crypto.SHA384, nil
	case elliptic.P521():
		return crypto.SHA512, nil
	}
	return 0, errors.New("only ECDSA keys on P-256, P-384 and P-521 are supported")
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	d := h.New()
	d.Write(msg)
	return d.Sum(nil)
}

// ErrSignature is returned when no signature of the envelope verifies.
var ErrSignature = errors.New("signature does not verify")

// verifyEnvelope checks that one of the envelope's signatures is pub's
// over the envelope: PAE first, then the v0.2 compat encoding. Legacy
// certificate bundles hashed the compat encoding with SHA-256 whatever
// the curve, so both hashes are tried for it.
func verifyEnvelope(pub *ecdsa.PublicKey, env *Envelope) error {
	h, err := hashForCurve(pub.Curve)
	if err != nil {
		return err
	}
	pae := PAE(env.PayloadType, env.Payload)
	compat := compatPAE(env.PayloadType, env.Payload)
	for _, sig := range env.Signatures {
		if ecdsa.VerifyASN1(pub, digestOf(h, pae), sig) {
			return nil
		}
		if ecdsa.VerifyASN1(pub, digestOf(h, compat), sig) || ecdsa.VerifyASN1(pub, digestOf(crypto.SHA256, compat), sig) {
			return nil
		}
	}
	return ErrSignature
}

// PublicKeyHint is the reference's key hint: hex SHA-256 of the public
// key as canonical PEM ("PUBLIC KEY", 64-column base64), not of a file.
func PublicKeyHint(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:]), nil
}

// hintMatches accepts the full hint and a prefix of it of at least 16 hex
// digits (the spec's vectors carry 40).
func hintMatches(hint, want string) bool {
	hint = strings.ToLower(hint)
	return hint == want || (len(hint) >= 16 && strings.HasPrefix(want, hint))
}

// ParsePublicKey reads an ECDSA public key from PEM (SPKI "PUBLIC KEY",
// or a certificate's key). Text around the PEM blocks (certtool output)
// is skipped.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM public key or certificate found")
		}
		var k any
		var err error
		switch blk.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			c, err = x509.ParseCertificate(blk.Bytes)
			if err == nil {
				k = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", strings.ToLower(blk.Type), err)
		}
		pub, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%T keys are not supported: only ECDSA", k)
		}
		if _, err := hashForCurve(pub.Curve); err != nil {
			return nil, err
		}
		return pub, nil
	}
}

// ParsePrivateKey reads an unencrypted ECDSA private key from PEM
// ("PRIVATE KEY" PKCS #8 or "EC PRIVATE KEY" SEC 1).
func ParsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM private key found")
		}
		var k any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not supported")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		priv, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%T keys are not supported: only ECDSA", k)
		}
		if _, err := hashForCurve(priv.Curve); err != nil {
			return nil, err
		}
		return priv, nil
	}
}

// ParseCertificates reads every PEM certificate in data.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}
