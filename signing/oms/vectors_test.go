package oms

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shared vectors live next to the repository; tests skip without them.
const vectorsDir = "../../../shared/vectors/model-signing"

func vectors(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{vectorsDir}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("vectors not present: %v", err)
	}
	return p
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testPublicKey(t testing.TB) *ecdsa.PublicKey {
	k, err := ParsePublicKey(readFile(t, filepath.Join(vectors(t, "model-transparency", "keys", "certificate"), "signing-key-pub.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testPrivateKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ParsePrivateKey(readFile(t, filepath.Join(vectors(t, "model-transparency", "keys", "certificate"), "signing-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCerts(t testing.TB, name string) []*x509.Certificate {
	c, err := ParseCertificates(readFile(t, filepath.Join(vectors(t, "model-transparency", "keys", "certificate"), name)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	sigstoreIdentity = "stefanb@us.ibm.com"
	sigstoreIssuer   = "https://sigstore.verify.ibm.com/oauth2"
)

// referenceCase is one row of the vectors' README: how the reference's
// own tests verify a folder.
type referenceCase struct {
	dir    string
	model  string // relative to dir; "" is the folder
	ignore bool   // --ignore ignore-me
	opts   func(t testing.TB) VerifyOptions
}

func byCA(t testing.TB) VerifyOptions  { return VerifyOptions{Roots: testCerts(t, "ca-cert.pem")} }
func byKey(t testing.TB) VerifyOptions { return VerifyOptions{PublicKey: testPublicKey(t)} }
func bySigstore(t testing.TB) VerifyOptions {
	return VerifyOptions{Identity: sigstoreIdentity, Issuer: sigstoreIssuer}
}

var referenceCases = []referenceCase{
	{"v0.2.0-certificate", "", false, byCA},
	{"v0.3.1-certificate", "", false, byCA},
	{"v0.3.1-certificate", "", false, byKey},
	{"v1.0.0-certificate", "", false, byCA},
	{"v1.0.0-certificate", "", false, byKey},
	{"v1.0.1-certificate", "", true, byCA},
	{"v1.1.0-certificate", "", true, byCA},
	{"v0.3.1-elliptic-key", "signme-1", false, byKey},
	{"v1.0.0-elliptic-key", "signme-1", false, byKey},
	{"v1.0.1-elliptic-key", "", true, byKey},
	{"v1.1.0-elliptic-key", "", true, byKey},
	{"v0.3.1-sigstore", "", false, bySigstore},
	{"v1.0.0-sigstore", "", false, bySigstore},
	{"v1.0.1-sigstore", "", true, bySigstore},
	{"v1.1.0-sigstore", "", true, bySigstore},
}

func (c referenceCase) name(t testing.TB) string {
	o := c.opts(t)
	switch {
	case o.PublicKey != nil:
		return c.dir + "/key"
	case o.Roots != nil:
		return c.dir + "/ca"
	}
	return c.dir + "/sigstore"
}

func (c referenceCase) verify(t testing.TB, dir string, tweak func(*VerifyOptions)) (*Result, error) {
	opt := c.opts(t)
	opt.SignaturePath = filepath.Join(dir, "model.sig")
	if c.ignore {
		opt.Hash.Ignore = []string{"ignore-me"}
	}
	if tweak != nil {
		tweak(&opt)
	}
	return Verify(context.Background(), filepath.Join(dir, c.model), readFile(t, opt.SignaturePath), opt)
}

func TestReferenceVectors(t *testing.T) {
	base := vectors(t, "model-transparency")
	for _, c := range referenceCases {
		t.Run(c.name(t), func(t *testing.T) {
			res, err := c.verify(t, filepath.Join(base, c.dir), nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res.Manifest.Resources) == 0 {
				t.Error("no resources verified")
			}
		})
	}
}

// copyDir copies a vector folder so it can be changed.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestReferenceVectorsRejectChanges(t *testing.T) {
	base := vectors(t, "model-transparency")
	for _, c := range referenceCases {
		t.Run(c.name(t), func(t *testing.T) {
			signed := "signme-2"
			if c.model != "" {
				signed = c.model
			}
			cases := []struct {
				name   string
				change func(t *testing.T, dir string)
				tweak  func(*VerifyOptions) bool // false: the case does not apply
				want   string
			}{
				{"tampered", func(t *testing.T, dir string) {
					appendTo(t, filepath.Join(dir, signed), "x")
				}, nil, signed},
				{"missing", func(t *testing.T, dir string) {
					if c.model != "" {
						t.Skip("a single-file model cannot lose a file")
					}
					if err := os.Remove(filepath.Join(dir, signed)); err != nil {
						t.Fatal(err)
					}
				}, nil, signed + " is signed but missing"},
				{"extra", func(t *testing.T, dir string) {
					if c.model != "" {
						t.Skip("a single-file model has no room for an extra file")
					}
					appendTo(t, filepath.Join(dir, "unsigned.bin"), "x")
				}, nil, "unsigned.bin is not signed"},
				{"not ignored", func(t *testing.T, dir string) {
					if !c.ignore || strings.HasPrefix(c.dir, "v1.1") {
						t.Skip("ignore-me is recorded in the signature or absent")
					}
				}, func(o *VerifyOptions) bool { o.Hash.Ignore = nil; return true }, "ignore-me is not signed"},
				{"wrong key", nil, func(o *VerifyOptions) bool {
					if o.PublicKey == nil {
						return false
					}
					o.PublicKey = otherKey(t)
					return true
				}, "public key"},
				{"wrong CA", nil, func(o *VerifyOptions) bool {
					if o.Roots == nil {
						return false
					}
					o.Roots = []*x509.Certificate{otherCA(t)}
					return true
				}, "does not chain"},
				{"wrong identity", nil, func(o *VerifyOptions) bool {
					if o.Identity == "" {
						return false
					}
					o.Identity = "someone@example.com"
					return true
				}, "sigstore"},
				{"wrong issuer", nil, func(o *VerifyOptions) bool {
					if o.Identity == "" {
						return false
					}
					o.Issuer = "https://accounts.google.com"
					return true
				}, "sigstore"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					dir := filepath.Join(base, c.dir)
					if tc.change != nil {
						dir = copyDir(t, dir)
						tc.change(t, dir)
					}
					applies := true
					_, err := c.verify(t, dir, func(o *VerifyOptions) {
						if tc.tweak != nil {
							applies = tc.tweak(o)
						}
					})
					if !applies {
						t.Skip("does not apply to this method")
					}
					if !errors.Is(err, ErrVerification) {
						t.Fatalf("Verify = %v, want a verification failure", err)
					}
					if !strings.Contains(err.Error(), tc.want) {
						t.Errorf("Verify = %v, want a message naming %q", err, tc.want)
					}
				})
			}
		})
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
