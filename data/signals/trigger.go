package signals

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
)

// tokenize appends the lower-cased words of s (runs of Unicode letters and
// digits) to dst. Short and odd tokens are kept: "cf", "mn" and "bb" are the
// classic insertion triggers.
func tokenize(s string, dst []string) []string {
	start := -1
	lower := true
	for i, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start, lower = i, true
			}
			if unicode.IsUpper(r) {
				lower = false
			}
			continue
		}
		if start >= 0 {
			dst = appendWord(dst, s[start:i], lower)
			start = -1
		}
	}
	if start >= 0 {
		dst = appendWord(dst, s[start:], lower)
	}
	return dst
}

const maxWordBytes = 64 // longer runs are cut: a token is a word, not a blob

func appendWord(dst []string, w string, lower bool) []string {
	if len(w) > maxWordBytes {
		w = w[:maxWordBytes]
		for len(w) > 0 && !utf8.ValidString(w) { // words are valid UTF-8: only the cut rune is broken
			w = w[:len(w)-1]
		}
	}
	if !lower {
		w = strings.ToLower(w)
	}
	return append(dst, w)
}

// feature is a unigram or bigram with its label counts.
type feature struct {
	name   string
	n      int64
	k      []int64 // rows per label index
	ex     [maxExamples]int64
	exl    [maxExamples]uint16
	nex    uint8
	lastRw int64 // last row counted, so a feature counts once per row
}

// tokenTable counts features per label in bounded memory: when it holds max
// features, those seen in fewer than cut rows are dropped (lossy counting,
// Manku and Motwani 2002) and cut grows, so memory stays flat and frequent
// features, which are the only ones that can reach a z-score, survive.
type tokenTable struct {
	max    int
	m      map[string]*feature
	cut    int64
	pruned int
	rowID  int64
}

func (t *tokenTable) init(max int) {
	t.max = max
	t.m = make(map[string]*feature)
	t.cut = 2
}

func (t *tokenTable) addRow(words []string, lab int, num int64) {
	t.rowID++
	for i, w := range words {
		t.add(w, lab, num)
		if i > 0 {
			t.add(words[i-1]+" "+w, lab, num)
		}
	}
}

func (t *tokenTable) add(name string, lab int, num int64) {
	f := t.m[name]
	if f == nil {
		if len(t.m) >= t.max {
			t.prune()
		}
		f = &feature{name: strings.Clone(name)}
		t.m[f.name] = f
	}
	if f.lastRw == t.rowID {
		return
	}
	f.lastRw = t.rowID
	f.n++
	for len(f.k) <= lab {
		f.k = append(f.k, 0)
	}
	f.k[lab]++
	if int(f.nex) < maxExamples {
		f.ex[f.nex], f.exl[f.nex] = num, uint16(lab)
		f.nex++
	}
}

func (t *tokenTable) prune() {
	for len(t.m) >= t.max*3/4 {
		for k, f := range t.m {
			if f.n < t.cut {
				delete(t.m, k)
			}
		}
		t.pruned++
		if len(t.m) >= t.max*3/4 {
			t.cut *= 2
		}
	}
}

// wilsonLower is the lower end of the Wilson score interval (z = 2) of the
// proportion k/n: a purity that small samples reach by chance stays low.
func wilsonLower(k, n float64) float64 {
	const z = 2
	p := k / n
	return (p + z*z/(2*n) - z*math.Sqrt(p*(1-p)/n+z*z/(4*n*n))) / (1 + z*z/n)
}

type trigger struct {
	f      *feature
	lab    int
	z      float64
	purity float64
}

func (a *Analyzer) triggerFindings() []finding.Finding {
	if a.opt.Label < 0 || a.opt.Text < 0 || a.rows == 0 {
		return nil
	}
	var hits []trigger
	for _, f := range a.tok.m {
		if f.n < int64(a.opt.MinTokenCount) {
			continue
		}
		best := 0
		for l, k := range f.k {
			if k > f.k[best] {
				best = l
			}
		}
		p := float64(a.labelN[best]) / float64(a.rows)
		if p <= 0 || p >= 1 {
			continue
		}
		n, k := float64(f.n), float64(f.k[best])
		z := (k - n*p) / math.Sqrt(n*p*(1-p))
		purity := wilsonLower(k, n)
		if z >= a.opt.TriggerZ && purity >= triggerPurityMedium {
			hits = append(hits, trigger{f, best, z, purity})
		}
	}
	// A bigram that contains a reported unigram with the same label says
	// nothing new.
	uni := map[string]int{}
	for _, h := range hits {
		if !strings.Contains(h.f.name, " ") {
			uni[h.f.name] = h.lab
		}
	}
	kept := hits[:0]
	for _, h := range hits {
		if a, b, ok := strings.Cut(h.f.name, " "); ok {
			if l, ok := uni[a]; ok && l == h.lab {
				continue
			}
			if l, ok := uni[b]; ok && l == h.lab {
				continue
			}
		}
		kept = append(kept, h)
	}
	hits = kept
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].z != hits[j].z {
			return hits[i].z > hits[j].z
		}
		return hits[i].f.name < hits[j].f.name
	})
	var out []finding.Finding
	for i, h := range hits {
		if i == maxTriggers {
			out = append(out, finding.New(RuleTriggerToken, finding.Medium, a.loc,
				fmt.Sprintf("%d more trigger candidates are not listed", len(hits)-i),
				map[string]string{"omitted": fmt.Sprint(len(hits) - i)}))
			break
		}
		sev := finding.Medium
		if h.purity >= triggerPurityHigh {
			sev = finding.High
		}
		var ex []int64
		for j := 0; j < int(h.f.nex); j++ {
			if int(h.f.exl[j]) == h.lab {
				ex = append(ex, h.f.ex[j])
			}
		}
		label := a.labels[h.lab]
		base := float64(a.labelN[h.lab]) / float64(a.rows)
		kind := "token"
		if strings.Contains(h.f.name, " ") {
			kind = "bigram"
		}
		out = append(out, finding.New(RuleTriggerToken, sev, a.loc,
			fmt.Sprintf("%s %q is in %d rows, %d of them (%.1f%%) labelled %q against a base rate of %.1f%% (z = %.1f): review as a possible backdoor trigger",
				kind, h.f.name, h.f.n, h.f.k[h.lab], 100*float64(h.f.k[h.lab])/float64(h.f.n), label, 100*base, h.z),
			map[string]string{
				"token":      h.f.name,
				"kind":       kind,
				"label":      label,
				"rows":       fmt.Sprint(h.f.n),
				"label_rows": fmt.Sprint(h.f.k[h.lab]),
				"base_rate":  fmt.Sprintf("%.4f", base),
				"z":          fmt.Sprintf("%.2f", h.z),
				"examples":   joinRows(ex),
				"column":     a.column(a.opt.Text),
			}))
	}
	return out
}
