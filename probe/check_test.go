package probe

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// small keeps request counts modest: 8 canaries + 3·20 deterministic + 10·6
// samples to record, 8 + 20 + 60 to check.
var small = Options{Runs: 3, SamplePrompts: 10, Samples: 6, Alpha: 0.01, Permutations: 300, Seed: 7}

func record(t *testing.T, m *fakeModel, opt Options) *Baseline {
	t.Helper()
	b, err := Record(context.Background(), m, opt)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return b
}

func evidence(r *Result, kind string) *Evidence {
	for i := range r.Evidence {
		if r.Evidence[i].Kind == kind {
			return &r.Evidence[i]
		}
	}
	return nil
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	base := record(t, newFake("gpt-x", 1, 100), small)
	if base.Model != "gpt-x" || len(base.Canaries) != len(canaryPrompts) || len(base.Samples) != 10 || len(base.Logprobs) == 0 {
		t.Fatalf("baseline: model %q, %d canaries, %d sample sets, %d logprob sets", base.Model, len(base.Canaries), len(base.Samples), len(base.Logprobs))
	}

	tests := []struct {
		name      string
		model     *fakeModel
		want      Verdict
		wantKinds []string // evidence that must be significant (p < Alpha) or a canary
	}{
		{"identical model", newFake("gpt-x", 1, 100), Unchanged, nil},
		{"same model, other sampling noise", newFake("gpt-x", 1, 555), Unchanged, nil},
		{"other weights behind the same name", newFake("gpt-x", 2, 100), Changed, []string{KindDistribution, KindDeterministic}},
		{"quantised", func() *fakeModel { f := newFake("gpt-x", 1, 9); f.quantise = 1.5; return f }(), Changed, []string{KindDistribution}},
		{"tokenizer change", func() *fakeModel { f := newFake("gpt-x", 1, 9); f.splitDigits = true; return f }(), Changed, []string{KindCanaryTokens}},
		{"fingerprint only", func() *fakeModel { f := newFake("gpt-x", 1, 9); f.fingerprint = "fp_new"; return f }(), Changed, []string{KindCanaryFingerprint}},
		{"model string only", func() *fakeModel {
			f := newFake("gpt-x", 1, 9)
			f.name = "gpt-x-2"
			f.fingerprint = "fp_gpt-x"
			return f
		}(), Changed, []string{KindCanaryModel}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(ctx, tc.model, base, small)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.want {
				t.Errorf("verdict %s, want %s; evidence %+v", r.Verdict, tc.want, r.Evidence)
			}
			for _, k := range tc.wantKinds {
				e := evidence(r, k)
				if e == nil || e.PValue >= small.Alpha {
					t.Errorf("no significant %s evidence: %+v", k, e)
				}
			}
			if tc.want == Unchanged {
				for _, e := range r.Evidence {
					if strings.HasPrefix(e.Kind, "canary") {
						t.Errorf("canary evidence on an unchanged model: %+v", e)
					}
				}
			}
		})
	}
}

// TestCheckFalsePositiveRate runs the null case (same model, fresh sampling
// noise, a little temperature-0 nondeterminism) 50 times with fixed seeds.
func TestCheckFalsePositiveRate(t *testing.T) {
	if testing.Short() {
		t.Skip("50 record/check rounds")
	}
	const runs = 50
	opt := small
	opt.Alpha = 0.05
	opt.Permutations = 200
	changed, inconclusive := 0, 0
	for i := range runs {
		a := newFake("gpt-x", 42, uint64(1000+i))
		a.detNoise = 0.03
		opt.Seed = int64(i)
		base := record(t, a, opt)
		b := newFake("gpt-x", 42, uint64(5000+i))
		b.detNoise = 0.03
		r, err := Check(context.Background(), b, base, opt)
		if err != nil {
			t.Fatal(err)
		}
		switch r.Verdict {
		case Changed:
			changed++
			t.Logf("run %d: false positive: %+v", i, r.Evidence)
		case Inconclusive:
			inconclusive++
		}
	}
	t.Logf("null case at alpha %.2f: %d/%d changed, %d/%d inconclusive", opt.Alpha, changed, runs, inconclusive, runs)
	if limit := int(2 * opt.Alpha * runs); changed > limit {
		t.Errorf("false positives %d/%d, want ≤ %d (2·alpha)", changed, runs, limit)
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	b := record(t, newFake("gpt-x", 1, 1), Options{Runs: 2, SamplePrompts: 2, Samples: 2})
	b.Endpoint, b.API = "https://api.example.com/v1", "openai"
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBaseline(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteBaseline(&again, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("round trip changed the baseline:\n%s\n---\n%s", buf.String(), again.String())
	}

	for name, in := range map[string]string{
		"version":       `{"version":2,"model":"x","canaries":[{"prompt":"p","model":"x","prompt_tokens":1}]}`,
		"unknown field": `{"version":1,"model":"x","extra":1}`,
		"no probes":     `{"version":1,"model":"x"}`,
		"bad noise":     `{"version":1,"model":"x","noise":3,"canaries":[{"prompt":"p","model":"x","prompt_tokens":1}]}`,
		"not json":      `<html>`,
	} {
		if _, err := ReadBaseline(strings.NewReader(in)); err == nil {
			t.Errorf("%s: ReadBaseline accepted %s", name, in)
		}
	}
	if _, err := ReadBaseline(strings.NewReader(`{"version":9,"canaries":[{"prompt":"p"}]}`)); !errors.Is(err, ErrBaselineVersion) {
		t.Errorf("version 9: err %v, want ErrBaselineVersion", err)
	}
}

func TestRecordError(t *testing.T) {
	f := newFake("gpt-x", 1, 1)
	f.failAfter = 5
	if _, err := Record(context.Background(), f, small); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("Record on a failing endpoint: err %v", err)
	}
}
