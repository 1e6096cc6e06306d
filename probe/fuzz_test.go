package probe

import (
	"bytes"
	"testing"
)

// FuzzReadBaseline: baselines are files users exchange and sign; reading
// one never panics, and what is accepted writes back and reads again.
func FuzzReadBaseline(f *testing.F) {
	f.Add([]byte(`{"version": 1, "model": "m", "created": "2026-01-01T00:00:00Z", "canaries": [{"prompt": "p", "model": "m", "prompt_tokens": 3}], "deterministic": [{"prompt": "q", "answers": ["a", "b"]}], "samples": [], "noise": 0.1}`))
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		base, err := ReadBaseline(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteBaseline(&buf, base); err != nil {
			t.Fatalf("write an accepted baseline: %v", err)
		}
		if _, err := ReadBaseline(&buf); err != nil {
			t.Fatalf("read back: %v", err)
		}
	})
}
