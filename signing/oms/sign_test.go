package oms

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aigis-sec/aigis/signing/manifest"
)

// schemas compiles the spec's four schemas; bundle.schema.json refers to
// the others by $id.
func schemas(t *testing.T) (bundle, statement *jsonschema.Schema) {
	t.Helper()
	dir := vectors(t, "model-signing-spec", "schemas", "v1.0")
	c := jsonschema.NewCompiler()
	for _, n := range []string{"bundle", "envelope", "statement", "predicate"} {
		f, err := os.Open(filepath.Join(dir, n+".schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("https://model_signing/"+n+"/v1.0/schema", doc); err != nil {
			t.Fatal(err)
		}
	}
	bundle, err := c.Compile("https://model_signing/bundle/v1.0/schema")
	if err != nil {
		t.Fatal(err)
	}
	statement, err = c.Compile("https://model_signing/statement/v1.0/schema")
	if err != nil {
		t.Fatal(err)
	}
	return bundle, statement
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func TestSpecVectors(t *testing.T) {
	dir := vectors(t, "model-signing-spec", "test-vectors", "v1.0")
	bundleSchema, statementSchema := schemas(t)
	key := testPublicKey(t)
	ca := testCerts(t, "ca-cert.pem")
	for _, kind := range []string{"valid", "invalid", "invalid-payload"} {
		files, _ := filepath.Glob(filepath.Join(dir, kind, "*.json"))
		for _, f := range files {
			t.Run(kind+"/"+filepath.Base(f), func(t *testing.T) {
				data := readFile(t, f)
				b, err := ParseBundle(data)
				if err == nil {
					_, err = ParseStatement(b.Envelope.Payload)
				}
				if kind != "valid" {
					if err == nil {
						t.Fatal("parsed an invalid vector")
					}
					if !errors.Is(err, ErrMalformed) {
						t.Errorf("error %v is not ErrMalformed", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(t, bundleSchema, data); err != nil {
					t.Errorf("bundle schema: %v", err)
				}
				if err := validate(t, statementSchema, b.Envelope.Payload); err != nil {
					t.Errorf("statement schema: %v", err)
				}
				// The key and certificate vectors are signed with the
				// reference's test key: their signatures must verify.
				switch b.Method {
				case MethodKey:
					if err := verifyKey(b, key); err != nil {
						t.Error(err)
					}
				case MethodCertificate:
					if err := verifyCertificate(b, ca); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
}

// statementOf decodes the statement of a signature file.
func statementOf(t *testing.T, data []byte) map[string]any {
	t.Helper()
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b.Envelope.Payload, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSignLikeReference signs the reference's v1.1.0 folders with the
// same key and options and compares statements: the same subject, root
// digest, resources in the same order, the same serialization.
func TestSignLikeReference(t *testing.T) {
	base := vectors(t, "model-transparency")
	for _, c := range []struct {
		dir   string
		certs bool
	}{{"v1.1.0-elliptic-key", false}, {"v1.1.0-certificate", true}} {
		t.Run(c.dir, func(t *testing.T) {
			dir := copyDir(t, filepath.Join(base, c.dir))
			ref := readFile(t, filepath.Join(dir, "model.sig"))
			opt := SignOptions{Key: testPrivateKey(t), SignaturePath: filepath.Join(dir, "model.sig"), Hash: manifest.Options{Ignore: []string{"ignore-me"}}}
			if c.certs {
				opt.Certificates = append(testCerts(t, "signing-key-cert.pem"), testCerts(t, "int-ca-cert.pem")...)
			}
			s, err := Sign(context.Background(), dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			want, got := statementOf(t, ref), statementOf(t, s.Bundle)
			sortIgnores := func(st map[string]any) {
				ser := st["predicate"].(map[string]any)["serialization"].(map[string]any)
				var ps []string
				for _, p := range ser["ignore_paths"].([]any) {
					ps = append(ps, p.(string))
				}
				ser["ignore_paths"] = strings.Join(sortStrings(ps), ",")
			}
			sortIgnores(want)
			sortIgnores(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("statement differs from the reference's (-ref +aigis):\n%s", d)
			}
			var wb, gb map[string]any
			json.Unmarshal(ref, &wb)
			json.Unmarshal(s.Bundle, &gb)
			if d := cmp.Diff(wb["verificationMaterial"], gb["verificationMaterial"]); d != "" && !c.certs {
				t.Errorf("verificationMaterial differs (-ref +aigis):\n%s", d)
			}
			if c.certs {
				// The reference's chain may hold different certificates; the shape must be the same.
				if _, ok := gb["verificationMaterial"].(map[string]any)["x509CertificateChain"]; !ok {
					t.Error("no x509CertificateChain")
				}
			}
			if wb["mediaType"] != gb["mediaType"] {
				t.Errorf("mediaType %v, reference %v", gb["mediaType"], wb["mediaType"])
			}
		})
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestSignVerifyRoundTrip signs a model with nested folders and names
// whose orders differ (component-wise vs bytes), in both serialisations
// and both methods, validates what was written against the spec's
// schemas, and verifies it.
func TestSignVerifyRoundTrip(t *testing.T) {
	bundleSchema, statementSchema := schemas(t)
	key := testPrivateKey(t)
	chain := append(testCerts(t, "signing-key-cert.pem"), testCerts(t, "int-ca-cert.pem")...)
	for _, ser := range []string{manifest.MethodFiles, manifest.MethodShards} {
		for _, method := range []Method{MethodKey, MethodCertificate} {
			t.Run(ser+"/"+string(method), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "model")
				for name, content := range map[string]string{
					"a/b": "first", "a/c": "second file", "a-b/c": "third, somewhat longer", "a.b": "", "weights.bin": strings.Repeat("w", 40),
				} {
					p := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				sigPath := filepath.Join(dir, "model.sig")
				opt := SignOptions{Key: key, SignaturePath: sigPath, Hash: manifest.Options{Serialization: ser, ShardSize: 8}}
				vopt := VerifyOptions{SignaturePath: sigPath, PublicKey: &key.PublicKey}
				if method == MethodCertificate {
					opt.Certificates = chain
					vopt = VerifyOptions{SignaturePath: sigPath, Roots: testCerts(t, "ca-cert.pem")}
				}
				s, err := Sign(context.Background(), dir, opt)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sigPath, s.Bundle, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := validate(t, bundleSchema, s.Bundle); err != nil {
					t.Errorf("bundle schema: %v", err)
				}
				if err := validate(t, statementSchema, s.Statement); err != nil {
					t.Errorf("statement schema: %v", err)
				}
				res, err := Verify(context.Background(), dir, s.Bundle, vopt)
				if err != nil {
					t.Fatal(err)
				}
				if res.Method != method {
					t.Errorf("method %s, want %s", res.Method, method)
				}
				var names []string
				for _, r := range res.Statement.Resources {
					names = append(names, r.Name)
				}
				want := []string{"a/b", "a/c", "a-b/c", "a.b", "weights.bin"}
				if ser == manifest.MethodShards {
					want = []string{"a/b:0:5", "a/c:0:8", "a/c:8:11", "a-b/c:0:8", "a-b/c:8:16", "a-b/c:16:22", "weights.bin:0:8", "weights.bin:8:16", "weights.bin:16:24", "weights.bin:24:32", "weights.bin:32:40"}
				}
				if d := cmp.Diff(want, names); d != "" {
					t.Errorf("resource order (-want +got):\n%s", d)
				}
				appendTo(t, filepath.Join(dir, "a-b", "c"), "!")
				if _, err := Verify(context.Background(), dir, s.Bundle, vopt); !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "a-b/c") {
					t.Errorf("tampered a-b/c: Verify = %v", err)
				}
			})
		}
	}
}

func TestSingleFileBasename(t *testing.T) {
	// The spec names a single-file model's resource by its basename, the
	// reference by ".": both verify.
	dir := t.TempDir()
	model := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(model, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	key := testPrivateKey(t)
	s, err := Sign(context.Background(), model, SignOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), model, s.Bundle, VerifyOptions{PublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
	renamed := bytes.Replace(s.Statement, []byte(`"name": "."`), []byte(`"name": "model.bin"`), 1)
	b, err := ParseBundle(resign(t, s.Bundle, renamed, key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), model, b.Raw, VerifyOptions{PublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
}

func TestFloatShardSizeAndReferenceAlgorithm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789abcdefghijklmnopqrstuvw"), 0o644)
	key := testPrivateKey(t)
	s, err := Sign(context.Background(), dir, SignOptions{Key: key, ReferenceShardAlgorithm: true, Hash: manifest.Options{Serialization: manifest.MethodShards, ShardSize: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s.Statement, []byte(`"sha256-sharded-8"`)) {
		t.Fatalf("no reference shard algorithm in %s", s.Statement)
	}
	float := bytes.Replace(s.Statement, []byte(`"shard_size": 8`), []byte(`"shard_size": 8.0`), 1)
	if bytes.Equal(float, s.Statement) {
		t.Fatal("no shard_size to rewrite")
	}
	if _, err := Verify(context.Background(), dir, resign(t, s.Bundle, float, key), VerifyOptions{PublicKey: &key.PublicKey}); err != nil {
		t.Fatal(err)
	}
}

// resign replaces a bundle's statement and signs it again.
func resign(t *testing.T, bundle, statement []byte, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	sig, err := signPAE(key, statement)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	env["payload"] = base64.StdEncoding.EncodeToString(statement)
	env["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig)}}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
