package pysrc

import (
	"strings"
	"testing"
	"time"
)

// Inputs built to make folding or resolving expensive finish quickly.
func TestAnalyzePathological(t *testing.T) {
	var b strings.Builder
	b.WriteString("a = '" + strings.Repeat("x", 1<<16) + "'\n")
	for i := 0; i < 20000; i++ {
		b.WriteString("a = a + a\nf(a)\n")
	}
	b.WriteString(strings.Repeat("g = getattr(g, 'x')(g)\n", 2000) + "g()\n")
	start := time.Now()
	if _, err := Analyze([]byte(b.String()), Limits{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
