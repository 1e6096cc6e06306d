package probe

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode/utf8"
)

// maxAnswerRunes truncates answers before they are compared: the start of an
// answer carries most of the signal and bounds the work.
const maxAnswerRunes = 500

// features is an L2-normalised bag of hashed character n-grams.
type features map[uint32]float64

// ngramFeatures maps s to its character n-gram counts, hashed with FNV-1a,
// normalised to unit length. Bag-of-n-gram kernels keep their power when
// samples drift out of step, where positional kernels lose it.
func ngramFeatures(s string, n int) features {
	rs := []rune(truncateRunes(s, maxAnswerRunes))
	f := features{}
	if len(rs) < n {
		if len(rs) > 0 {
			f[hashString(string(rs))] = 1
		}
		return f
	}
	for i := 0; i+n <= len(rs); i++ {
		f[hashString(string(rs[i:i+n]))]++
	}
	norm := 0.0
	for _, v := range f {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	for k, v := range f {
		f[k] = v / norm
	}
	return f
}

func hashString(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// cosine is the dot product of two normalised feature vectors; two empty
// answers are identical.
func cosine(a, b features) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	s := 0.0
	for k, v := range a {
		s += v * b[k]
	}
	return s
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// words splits an answer into lower-case word tokens.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r == '\'' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && !isSpaceOrPunct(r))
	})
}

func isSpaceOrPunct(r rune) bool {
	return strings.ContainsRune(" \t\n\r\u00a0.,;:!?\"()[]{}«»“”‘’—–…", r)
}

// jaccard is the Jaccard similarity of the word sets of a and b.
func jaccard(a, b string) float64 {
	wa, wb := map[string]bool{}, map[string]bool{}
	for _, w := range words(a) {
		wa[w] = true
	}
	for _, w := range words(b) {
		wb[w] = true
	}
	if len(wa) == 0 && len(wb) == 0 {
		return 1
	}
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(wa)+len(wb)-inter)
}
