package oms

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseBundle feeds signature files to the bundle, envelope and
// statement parsers: no panic, and either a result or an ErrMalformed.
func FuzzParseBundle(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(vectorsDir, "model-transparency", "*", "model.sig"))
	spec, _ := filepath.Glob(filepath.Join(vectorsDir, "model-signing-spec", "test-vectors", "v1.0", "*", "*.json"))
	for _, p := range append(seeds, spec...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"00"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"00"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"serialization":{"method":"shards","hash_type":"sha256","shard_size":8.0},"resources":[{"name":"f:0:8","algorithm":"sha256-sharded-8","digest":"00"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if b != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseBundle = %v, %v", b, err)
			}
		} else if len(b.Envelope.Signatures) == 0 || b.Method == "" {
			t.Fatalf("ParseBundle accepted a bundle without signature or method")
		}
		// The statement parser sees the raw input too, so both layers are fuzzed.
		for _, p := range [][]byte{data, payloadOf(b)} {
			st, err := ParseStatement(p)
			if err != nil {
				if st != nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseStatement = %v, %v", st, err)
				}
				continue
			}
			if len(st.RootDigest) != 32 {
				t.Fatalf("statement root digest has %d bytes", len(st.RootDigest))
			}
			if st.Serialization.Method == "shards" && st.Serialization.ShardSize <= 0 {
				t.Fatal("shards without a positive shard size")
			}
		}
	})
}

func payloadOf(b *Bundle) []byte {
	if b == nil {
		return nil
	}
	return b.Envelope.Payload
}
