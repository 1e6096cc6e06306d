package checks

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/deps/pyparse"
	"github.com/aigis-sec/aigis/lookalike"
)

//go:embed popular.txt
var popularTxt string

// maxNameLen bounds the names compared: PyPI names are short, and the
// comparisons are quadratic in the length.
const maxNameLen = 128

// DefaultPopular returns the embedded list of popular package names
// (popular.txt), normalised.
func DefaultPopular() []string {
	names, _ := LoadPopular(strings.NewReader(popularTxt)) // the embedded list is valid (tested)
	return names
}

// LoadPopular reads a popular-packages list: one name per line, "#" starts
// a comment. Names are PEP 503-normalised and deduplicated, in file order.
func LoadPopular(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	seen := map[string]bool{}
	var out []string
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n := pyparse.Normalize(line)
		if len(n) > maxNameLen {
			return nil, fmt.Errorf("checks: popular list: name too long: %.40q…", line)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("checks: popular list: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("checks: popular list: no names")
	}
	return out, nil
}

// popularIndex answers look-alike questions about one popular list.
type popularIndex struct {
	names []string
	set   map[string]bool
	ultra map[string]string // ultranormalised form → name
	words map[string]string // sorted words of multi-word names → name
	heads map[string]string // first word (4+ letters) of multi-word names → name
}

func newPopularIndex(names []string) *popularIndex {
	p := &popularIndex{set: map[string]bool{}, ultra: map[string]string{}, words: map[string]string{}, heads: map[string]string{}}
	for _, n := range names {
		n = pyparse.Normalize(n)
		if n == "" || p.set[n] {
			continue
		}
		p.names = append(p.names, n)
		p.set[n] = true
		if _, ok := p.ultra[ultranormalize(n)]; !ok {
			p.ultra[ultranormalize(n)] = n
		}
		if strings.Contains(n, "-") {
			if _, ok := p.words[wordKey(n)]; !ok {
				p.words[wordKey(n)] = n
			}
			if h, _, _ := strings.Cut(n, "-"); len(h) >= 4 {
				if _, ok := p.heads[h]; !ok {
					p.heads[h] = n
				}
			}
		}
	}
	return p
}

// ultranormalize is Warehouse's collision rule for new project names: drop
// separators, read l and i as 1 and o as 0.
func ultranormalize(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		switch c := n[i]; c {
		case '-', '_', '.':
		case 'l', 'i':
			b.WriteByte('1')
		case 'o':
			b.WriteByte('0')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func wordKey(n string) string {
	w := strings.Split(n, "-")
	sort.Strings(w)
	return strings.Join(w, "-")
}

// squat is why a name looks like a popular one.
type squat struct {
	Target    string // the popular name imitated
	Technique string // how
}

// Affixes that make a name look official (python-nmap vs nmap-python,
// pytorch vs torch). A target must be at least minAffixTarget long, so
// "py" + a two-letter name is not a match.
var (
	squatPrefixes  = []string{"python-", "python", "py-", "py"}
	squatSuffixes  = []string{"-python", "python", "-py", "py", "-lib", "lib"}
	minAffixTarget = 3
)

// confusions are keyboard and visual look-alikes (after pypi/warehouse's
// TypoSnyper and typomania): each pair is tried both ways.
var confusions = [][2]string{
	{"rn", "m"}, {"vv", "w"}, {"cl", "d"}, {"l", "1"}, {"i", "1"}, {"l", "i"}, {"o", "0"},
}

// hallucinationSuffixes are the shapes code assistants invent around a real
// name (huggingface-cli for huggingface-hub[cli]; Lasso Security, 2024).
var hallucinationSuffixes = []string{"-cli", "-sdk", "-api", "-tools"}

// typosquat reports whether the normalised name n imitates a popular name.
// Popular names never match. The work is bounded by maxNameLen and the
// size of the list.
func (p *popularIndex) typosquat(n string) (squat, bool) {
	if n == "" || p.set[n] || len(n) > maxNameLen {
		return squat{}, false
	}
	// Separators and look-alike characters: scikitlearn, scikit-1earn.
	if t, ok := p.ultra[ultranormalize(n)]; ok {
		if strings.ReplaceAll(n, "-", "") == strings.ReplaceAll(t, "-", "") {
			return squat{t, "separator variant"}, true
		}
		return squat{t, "look-alike characters"}, true
	}
	if strings.Contains(n, "-") {
		if t, ok := p.words[wordKey(n)]; ok {
			return squat{t, "words reordered"}, true
		}
	}
	for _, a := range squatPrefixes {
		if rest, ok := strings.CutPrefix(n, a); ok && len(rest) >= minAffixTarget && p.set[strings.TrimPrefix(rest, "-")] {
			return squat{strings.TrimPrefix(rest, "-"), fmt.Sprintf("prefix %q", a)}, true
		}
	}
	for _, a := range squatSuffixes {
		if rest, ok := strings.CutSuffix(n, a); ok && len(rest) >= minAffixTarget && p.set[strings.TrimSuffix(rest, "-")] {
			return squat{strings.TrimSuffix(rest, "-"), fmt.Sprintf("suffix %q", a)}, true
		}
	}
	for _, c := range confusions {
		for _, pair := range [2][2]string{c, {c[1], c[0]}} {
			from, to := pair[0], pair[1]
			for i := 0; ; {
				j := strings.Index(n[i:], from)
				if j < 0 {
					break
				}
				j += i
				if v := n[:j] + to + n[j+len(from):]; p.set[v] {
					return squat{v, fmt.Sprintf("look-alike characters (%s for %s)", from, to)}, true
				}
				i = j + 1
			}
		}
	}
	for i := 1; i < len(n); i++ {
		if n[i] == n[i-1] {
			if v := n[:i] + n[i+1:]; p.set[v] {
				return squat{v, "repeated character"}, true
			}
		}
	}
	b := []byte(n)
	for i := 0; i+1 < len(b); i++ {
		if b[i] == b[i+1] {
			continue
		}
		b[i], b[i+1] = b[i+1], b[i]
		v := string(b)
		b[i], b[i+1] = b[i+1], b[i]
		if p.set[v] {
			return squat{v, "swapped characters"}, true
		}
	}
	nw := strings.Split(n, "-")
	for _, t := range p.names {
		thr := threshold(nw, t)
		if thr == 0 || abs(len(n)-len(t)) > thr {
			continue
		}
		if d := osa(n, t, thr); d <= thr {
			return squat{t, fmt.Sprintf("edit distance %d", d)}, true
		}
	}
	return squat{}, false
}

// threshold is the edit distance tolerated between n (split in words nw)
// and the popular name t. When both have the same words but one, the
// differing word decides: a typo in "learn" of scikit-learn counts, but
// langchain-core and langchain-cohere are different packages. Words
// shorter than 5 letters tolerate no plain edits (swaps, repeats and
// look-alikes are checked separately); 5 to 9 tolerate one; longer, two.
func threshold(nw []string, t string) int {
	tw := strings.Split(t, "-")
	byLen := func(l int) int {
		switch {
		case l < 5:
			return 0
		case l < 10:
			return 1
		}
		return 2
	}
	if len(tw) != len(nw) {
		return min(1, byLen(len(t)))
	}
	diff := -1
	for i := range tw {
		if tw[i] != nw[i] {
			if diff >= 0 {
				return min(1, byLen(len(t)))
			}
			diff = i
		}
	}
	if diff < 0 {
		return 0
	}
	return byLen(len(tw[diff]))
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// osa is [lookalike.Distance] on the bytes of a and b, or max+1 when
// either is longer than maxNameLen.
func osa(a, b string, max int) int {
	if len(a) > maxNameLen || len(b) > maxNameLen {
		return max + 1
	}
	return lookalike.Distance([]byte(a), []byte(b), max)
}

// hallucinatedShape reports whether n is a popular name, or the first
// word of one (huggingface of huggingface-hub), plus one of the suffixes
// assistants invent, and is not itself a popular name. It returns the
// popular name meant.
func (p *popularIndex) hallucinatedShape(n string) (string, bool) {
	if p.set[n] {
		return "", false
	}
	for _, s := range hallucinationSuffixes {
		base, ok := strings.CutSuffix(n, s)
		if !ok {
			continue
		}
		if p.set[base] {
			return base, true
		}
		if t, ok := p.heads[base]; ok {
			return t, true
		}
	}
	return "", false
}
