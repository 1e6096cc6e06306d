package manifest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vectorsDir holds the reference's signed models (see its README.md).
const vectorsDir = "../../../shared/vectors/model-signing/model-transparency"

type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Serialization map[string]any `json:"serialization"`
		Resources     []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	} `json:"predicate"`
}

func readStatement(t *testing.T, sig string) statement {
	t.Helper()
	raw, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatalf("%s: %v", sig, err)
	}
	payload, err := base64.StdEncoding.DecodeString(bundle.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatalf("%s: payload: %v", sig, err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatalf("%s: statement: %v", sig, err)
	}
	return st
}

// TestReferenceVectors hashes every signed model of the reference's
// releases (v0.2.0 to v1.1.0) and compares with what the reference signed:
// resources, their order, names and digests, the serialization object and
// the root digest.
func TestReferenceVectors(t *testing.T) {
	if _, err := os.Stat(vectorsDir); err != nil {
		t.Skipf("vectors not available: %v", err)
	}
	// From the vectors' README: the model path and the ignores the
	// reference's own tests use; the signature file is always excluded.
	cases := []struct {
		dir, model string
		ignore     []string
	}{
		{"v0.2.0-certificate", "", nil},
		{"v0.3.1-certificate", "", nil},
		{"v0.3.1-elliptic-key", "signme-1", nil},
		{"v0.3.1-sigstore", "", nil},
		{"v1.0.0-certificate", "", nil},
		{"v1.0.0-elliptic-key", "signme-1", nil},
		{"v1.0.0-sigstore", "", nil},
		{"v1.0.1-certificate", "", []string{"ignore-me"}},
		{"v1.0.1-elliptic-key", "", []string{"ignore-me"}},
		{"v1.0.1-sigstore", "", []string{"ignore-me"}},
		{"v1.1.0-certificate", "", []string{"ignore-me"}},
		{"v1.1.0-elliptic-key", "", []string{"ignore-me"}},
		{"v1.1.0-sigstore", "", []string{"ignore-me"}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join(vectorsDir, c.dir)
			st := readStatement(t, filepath.Join(dir, "model.sig"))
			model := filepath.Join(dir, c.model)
			m, err := Hash(context.Background(), model, Options{Ignore: append(c.ignore, "model.sig")})
			if err != nil {
				t.Fatal(err)
			}

			if st.PredicateType == "https://model_signing/Digests/v0.1" {
				// Legacy v0.2: one subject per file, no root digest.
				var want, got []string
				for _, s := range st.Subject {
					want = append(want, s.Name+" "+s.Digest["sha256"])
				}
				for _, r := range m.Resources {
					got = append(got, r.Name+" "+hex.EncodeToString(r.Digest))
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("legacy subjects (-signed +hashed):\n%s", d)
				}
				return
			}

			type res struct{ Name, Algorithm, Digest string }
			var want, got []res
			for _, r := range st.Predicate.Resources {
				want = append(want, res{r.Name, r.Algorithm, r.Digest})
			}
			for _, r := range m.Resources {
				got = append(got, res{r.Name, r.Algorithm, hex.EncodeToString(r.Digest)})
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("resources (-signed +hashed):\n%s", d)
			}

			root, err := m.RootDigest()
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Subject) != 1 {
				t.Fatalf("%d subjects", len(st.Subject))
			}
			if got, want := hex.EncodeToString(root), st.Subject[0].Digest["sha256"]; got != want {
				t.Errorf("root digest %s, signed %s", got, want)
			}
			if m.Name != st.Subject[0].Name {
				t.Errorf("subject name %q, signed %q", m.Name, st.Subject[0].Name)
			}

			// Before v1.1 the reference did not record ignore_paths; from
			// v1.1 it does, in a set's order.
			gotSer := jsonRoundTrip(t, m.Serialization())
			wantSer := st.Predicate.Serialization
			if _, ok := wantSer["ignore_paths"]; !ok {
				delete(gotSer, "ignore_paths")
			}
			for _, s := range []map[string]any{gotSer, wantSer} {
				if ig, ok := s["ignore_paths"].([]any); ok {
					sort.Slice(ig, func(i, j int) bool { return ig[i].(string) < ig[j].(string) })
				}
			}
			if d := cmp.Diff(wantSer, gotSer); d != "" {
				t.Errorf("serialization (-signed +hashed):\n%s", d)
			}
		})
	}
}

func jsonRoundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
