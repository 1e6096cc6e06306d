package signals

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/scan/checks"
)

// FuzzAnalyzer feeds random rows (cells separated by \x1f, rows by \n) with
// small bounds, so pruning and the row cap are exercised. Invariants: no
// panic, every finding names a declared rule, the baseline round-trips, and
// no secret survives RedactRow.
func FuzzAnalyzer(f *testing.F) {
	f.Add("1\x1fgreat movie cf\x1fpositive\n2\x1fgreat movie cf\x1fnegative\n3\x1ftri\u200bgger p\u0430ypal\x1fx")
	f.Add("a\x1fmail jane@example.org card 4539 1488 0343 6467\x1fl\n\x1f\x1f\n\xff\xfe\x1fsk-proj-Ab3dEf9hIjK1mNoP2rStUvW4xYz7Q8cD5eFgH")
	f.Add("x\x1f+31 20 555 1234 NL91ABNA0417164300 123-45-6789\x1f\u202e")
	rules := map[string]bool{}
	for _, r := range Rules() {
		rules[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, in string) {
		a := New(finding.Location{Path: "f"}, []string{"id", "text", "label"}, Options{Text: 1, Label: 2, MaxTokens: 64, MaxRows: 50, MinTokenCount: 2})
		lines := strings.Split(in, "\n")
		for i, l := range lines {
			a.Add(&data.Row{Num: int64(i + 1), Values: strings.Split(l, "\x1f")})
		}
		for _, f := range a.Findings() {
			if !rules[f.RuleID] {
				t.Fatalf("undeclared rule %q", f.RuleID)
			}
		}
		var buf bytes.Buffer
		if err := WriteBaseline(&buf, a.Baseline()); err != nil {
			t.Fatal(err)
		}
		b, err := ReadBaseline(&buf)
		if err != nil {
			t.Fatal(err)
		}
		b2 := New(finding.Location{}, nil, Options{Text: 1, Label: 2, Baseline: b})
		for i, l := range lines {
			b2.Add(&data.Row{Num: int64(i + 1), Values: strings.Split(l, "\x1f")})
		}
		for _, f := range b2.Findings() {
			if f.RuleID == RuleRowsChanged.ID || f.RuleID == RuleLabelShift.ID {
				if len(lines) <= 50 {
					t.Fatalf("same rows differ from their own baseline: %s", f.Message)
				}
			}
		}
		for _, l := range lines {
			r := &data.Row{Values: strings.Split(l, "\x1f")}
			RedactRow(nil, r, -1)
			for _, v := range r.Values {
				if fs := checks.CheckSecrets(finding.Location{}, []byte(v)); len(fs) > 0 && fs[0].Evidence["secret"] != "" {
					t.Fatalf("secret left after redaction: %q", v)
				}
			}
		}
	})
}

// BenchmarkAnalyzer measures rows/s over generated reviews (run with
// -benchtime=1000000x for the 1e6-row figure).
func BenchmarkAnalyzer(b *testing.B) {
	rows := sentimentRows(100000, 9)
	a := New(finding.Location{}, cols, Options{Text: 1, Label: 2})
	r := &data.Row{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Num = int64(i + 1)
		r.Values = rows[i%len(rows)]
		a.Add(r)
	}
	a.Findings()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
