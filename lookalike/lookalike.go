// Package lookalike reports Hugging Face model ids that look like a
// well-known organisation or model but are not it: the typosquats and
// impersonations (AML.T0010.003) that trick a user into loading an attacker's
// upload.
//
// A name is compared with a list of known names ([Default] embeds
// known.txt; [Load] reads more) after a series of normalisations, each of
// which is a reason: letter case ("Meta-Llama"), non-ASCII homoglyphs
// (Cyrillic "а" for "a"), characters that look alike in common fonts
// (l/I/1, 0/O, rn/m, vv/w), separators ("mistral-ai" for "mistralai"),
// added words ("-official", "-hf", "real-") and finally a small
// Damerau-Levenshtein edit distance ("facebok"). A known name never matches,
// and neither does an unknown model of a known organisation: only that
// organisation can publish under its name.
package lookalike

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Match is one known name that an input looks like.
type Match struct {
	Input     string
	LooksLike string
	// Reason says what makes the two look alike.
	Reason string
	// Score is in (0, 1]: higher means more likely a deliberate imitation.
	Score float64
}

// Scores of each kind of resemblance, highest first.
const (
	scoreHomoglyph = 0.95
	scoreVisual    = 0.9
	scoreSeparator = 0.85
	scoreAffix     = 0.8
	scoreEdit1     = 0.75
	scoreCase      = 0.6
	scoreEdit2     = 0.6
)

// maxInput bounds the work per call; Hub ids are at most 96 characters.
const maxInput = 256

// maxMatches bounds the answer.
const maxMatches = 5

// List is a set of known organisations and models.
type List struct {
	orgs   map[string]*org     // by exact name
	models map[string]bool     // exact "org/name"
	names  map[string][]string // model name → full ids, for single-segment inputs
	order  []string            // org names in file order, for stable output
}

type org struct {
	name   string
	key    string   // skeleton(name)
	models []string // model names
	keys   []string // skeletons of models
}

//go:embed known.txt
var knownTxt string

var (
	defaultOnce sync.Once
	defaultList *List
)

// Default returns the embedded list of well-known names (known.txt).
func Default() *List {
	defaultOnce.Do(func() {
		l, err := Load(strings.NewReader(knownTxt))
		if err != nil {
			panic("lookalike: embedded known.txt: " + err.Error())
		}
		defaultList = l
	})
	return defaultList
}

// Load reads a list: one organisation or "org/model" per line, '#' starts a
// comment, blank lines are ignored.
func Load(r io.Reader) (*List, error) {
	l := &List{orgs: map[string]*org{}, models: map[string]bool{}, names: map[string][]string{}}
	if err := l.read(r); err != nil {
		return nil, err
	}
	return l, nil
}

// Merge returns a list holding the names of l and o; neither is changed.
func (l *List) Merge(o *List) *List {
	m := &List{orgs: map[string]*org{}, models: map[string]bool{}, names: map[string][]string{}}
	for _, src := range []*List{l, o} {
		for _, name := range src.order {
			m.addOrg(name)
			for _, model := range src.orgs[name].models {
				m.addModel(name, model)
			}
		}
	}
	return m
}

func (l *List) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		orgName, model, isModel := strings.Cut(line, "/")
		if !validSegment(orgName) || isModel && !validSegment(model) {
			return fmt.Errorf("lookalike: line %d: %q is not an organisation or org/model id (letters, digits, '-', '_', '.')", n, line)
		}
		l.addOrg(orgName)
		if isModel {
			l.addModel(orgName, model)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("lookalike: %w", err)
	}
	return nil
}

func (l *List) addOrg(name string) {
	if _, ok := l.orgs[name]; !ok {
		l.orgs[name] = &org{name: name, key: skeleton(name)}
		l.order = append(l.order, name)
	}
}

func (l *List) addModel(orgName, model string) {
	id := orgName + "/" + model
	if l.models[id] {
		return
	}
	l.models[id] = true
	o := l.orgs[orgName]
	o.models = append(o.models, model)
	o.keys = append(o.keys, skeleton(model))
	l.names[model] = append(l.names[model], id)
}

func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 96 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Check compares modelID ("org/name", "org" or a legacy "name") with the
// default list.
func Check(modelID string) []Match { return Default().Check(modelID) }

// Check reports the known names modelID looks like, most suspicious first.
// It returns nil for a known name, for any model of a known organisation,
// and for names that resemble nothing on the list.
func (l *List) Check(modelID string) []Match {
	if modelID == "" || len(modelID) > maxInput || !utf8.ValidString(modelID) {
		return nil
	}
	orgName, model, hasModel := strings.Cut(modelID, "/")
	if !hasModel {
		// A legacy id ("gpt2") or an organisation on its own.
		if _, ok := l.orgs[orgName]; ok || len(l.names[orgName]) > 0 {
			return nil
		}
		var out []Match
		for _, o := range l.order {
			if r, s := resemble(orgName, o, l.orgs[o].key, false); s > 0 {
				out = append(out, Match{Input: modelID, LooksLike: o, Score: s,
					Reason: fmt.Sprintf("%q %s the organisation %q", orgName, r, o)})
			}
		}
		for _, o := range l.order {
			for i, m := range l.orgs[o].models {
				if r, s := resemble(orgName, m, l.orgs[o].keys[i], true); s > 0 {
					out = append(out, Match{Input: modelID, LooksLike: o + "/" + m, Score: s,
						Reason: fmt.Sprintf("%q %s the model name %q", orgName, r, m)})
				}
			}
		}
		return best(out)
	}
	if _, ok := l.orgs[orgName]; ok {
		return nil
	}
	var out []Match
	for _, name := range l.order {
		o := l.orgs[name]
		r, s := resemble(orgName, o.name, o.key, false)
		if s == 0 {
			continue
		}
		m := Match{Input: modelID, LooksLike: o.name, Reason: fmt.Sprintf("organisation %q %s %q; only %q can publish under its name", orgName, r, o.name, o.name), Score: s}
		// Name the model being imitated when the rest of the id matches one.
		if i := slices.Index(o.keys, skeleton(model)); i >= 0 {
			m.LooksLike = o.name + "/" + o.models[i]
		}
		out = append(out, m)
	}
	return best(out)
}

func best(out []Match) []Match {
	slices.SortStableFunc(out, func(a, b Match) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(out) > maxMatches {
		out = out[:maxMatches]
	}
	return out
}

// resemble says how in looks like known (whose skeleton is key), or returns
// a zero score. strict is for model names, where small differences are
// usually real variants (cased/uncased), so only one edit counts.
func resemble(in, known, key string, strict bool) (string, float64) {
	if in == known {
		return "", 0
	}
	if strings.EqualFold(in, known) {
		return "differs only in letter case from", scoreCase
	}
	folded := foldHomoglyphs(in)
	if folded != in {
		if r, s := resemble(folded, known, key, strict); s > 0 || folded == known {
			if r == "" {
				r = "imitates"
			}
			return fmt.Sprintf("uses non-ASCII look-alike characters (%s; Hub ids are ASCII) and %s", firstNonASCII(in), r), scoreHomoglyph
		}
		return "", 0
	}
	vin, vknown := visual(folded), visual(known)
	if vin == vknown {
		return "swaps characters that look alike (l/I/1, 0/O, rn/m, vv/w) to imitate", scoreVisual
	}
	sin := stripSeparators(vin)
	if sin == key {
		return "changes only the separators of", scoreSeparator
	}
	if a := affixOf(sin, key); a != "" {
		return fmt.Sprintf("adds %q to", a), scoreAffix
	}
	limit := 0
	switch n := utf8.RuneCountInString(key); {
	case strict && n >= 8:
		limit = 1
	case !strict && n >= 10:
		limit = 2
	case !strict && n >= 5:
		limit = 1
	}
	if limit == 0 || abs(utf8.RuneCountInString(sin)-utf8.RuneCountInString(key)) > limit {
		return "", 0
	}
	// Different numbers are different models (gemma-2b, gemma-7b).
	if d1, d2 := digits(sin), digits(key); d1 != "" && d2 != "" && d1 != d2 {
		return "", 0
	}
	d := Distance([]rune(sin), []rune(key), limit)
	switch {
	case d == 1:
		return "is one typo away from", scoreEdit1
	case d <= limit:
		return fmt.Sprintf("is %d typos away from", d), scoreEdit2
	}
	return "", 0
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func firstNonASCII(s string) string {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			name := "non-ASCII"
			if a, ok := homoglyphs[r]; ok {
				name = fmt.Sprintf("looks like %q", a)
			}
			return fmt.Sprintf("%U %s", r, name)
		}
	}
	return ""
}

// skeleton is the form names are compared in: homoglyphs folded, look-alike
// characters merged, lower case, no separators.
func skeleton(s string) string { return stripSeparators(visual(foldHomoglyphs(s))) }

func stripSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// visual merges characters that look alike in common fonts. Upper-case I
// and digit 1 look like l; digit 0 like O. It runs before lower-casing so
// that a lower-case i is still an i.
var visualMap = strings.NewReplacer("I", "l", "1", "l", "|", "l", "0", "o")
var visualPairs = strings.NewReplacer("rn", "m", "vv", "w")

func visual(s string) string {
	return visualPairs.Replace(strings.ToLower(visualMap.Replace(s)))
}

// homoglyphs maps non-ASCII characters that render like ASCII letters
// (Unicode confusables, the common subset) to them.
var homoglyphs = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'Х': 'X', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ү': 'Y',
	// Greek
	'α': 'a', 'ο': 'o', 'ν': 'v', 'ρ': 'p', 'ι': 'i', 'κ': 'k', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Latin look-alikes and punctuation
	'ı': 'i', 'ɩ': 'i', 'ℓ': 'l', 'ɡ': 'g', 'ß': 'b', 'ɑ': 'a', 'ǀ': 'l',
	'‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-', '﹣': '-',
}

// foldHomoglyphs maps homoglyphs and full-width forms to ASCII and drops
// invisible characters.
func foldHomoglyphs(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf {
			return r
		}
		if a, ok := homoglyphs[r]; ok {
			return a
		}
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			return r - 0xFEE0
		}
		if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) { // zero-width, combining marks
			return -1
		}
		return r
	}, s)
}

// Words that impersonators add to a name, compared on skeletons.
var (
	suffixes = []string{"official", "hf", "ai", "org", "inc", "team", "labs", "real", "verified", "original", "models", "community", "io", "llc", "corp"}
	prefixes = []string{"official", "real", "the", "hf", "original", "verified", "true"}
)

// affixOf returns the word in adds to key, or "".
func affixOf(in, key string) string {
	for _, s := range suffixes {
		if in == key+s {
			return s
		}
	}
	for _, p := range prefixes {
		if in == p+key {
			return p
		}
	}
	for _, p := range prefixes {
		for _, s := range suffixes {
			if in == p+key+s {
				return p + "…" + s
			}
		}
	}
	return ""
}

// Distance is the Damerau-Levenshtein distance (optimal string alignment:
// adjacent transpositions count as one edit, and no substring is edited
// twice) between a and b, or limit+1 when it is larger than limit. It
// compares elements: pass runes to count characters, bytes to count bytes.
func Distance[E comparable](a, b []E, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}
