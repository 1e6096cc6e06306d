package signals

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// Hashes are FNV-1a with a murmur3 finaliser: stable across runs and
// machines, so a Baseline written by one run compares with the next.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// rowHash identifies a row by all its values (a 0xff byte separates them:
// it never occurs in UTF-8).
func rowHash(values []string) uint64 {
	h := uint64(fnvOffset)
	for _, v := range values {
		h = fnvString(h, v)
		h ^= 0xff
		h *= fnvPrime
	}
	return mix(h)
}

// hashWords is the hash of the normalised text: lower-cased words, with
// punctuation and spacing ignored.
func hashWords(words []string) uint64 {
	h := uint64(fnvOffset)
	for _, w := range words {
		h = fnvString(h, w)
		h ^= ' '
		h *= fnvPrime
	}
	return mix(h)
}

// MinHash: numPerm permutations over word 3-shingles, each minimum kept as
// its lowest 8 bits (b-bit MinHash, Li and König 2010): 64 bytes per row.
// Two 8-bit values also agree by chance with probability 1/256, which the
// estimate corrects for. LSH uses 8 bands of 8 values: pairs with Jaccard
// 0.9 share a band with probability 0.99, pairs with 0.5 with 0.03.
const (
	numPerm  = 64
	numBands = 8
	bandRows = numPerm / numBands
	shingle  = 3
)

var permA, permB [numPerm]uint64

func init() {
	x := uint64(0x9e3779b97f4a7c15)
	for i := range numPerm {
		x = mix(x + 0x9e3779b97f4a7c15)
		permA[i] = x | 1
		x = mix(x + 0x9e3779b97f4a7c15)
		permB[i] = x
	}
}

func minhash(words []string, dst []byte) []byte {
	var mins [numPerm]uint64
	for i := range mins {
		mins[i] = ^uint64(0)
	}
	n := max(1, len(words)-shingle+1)
	for i := 0; i < n; i++ {
		h := uint64(fnvOffset)
		for _, w := range words[i:min(len(words), i+shingle)] {
			h = fnvString(h, w)
			h ^= ' '
			h *= fnvPrime
		}
		h = mix(h)
		for j := range mins {
			v := h*permA[j] + permB[j]
			v = bits.RotateLeft64(v, 31) * permA[(j+1)%numPerm]
			if v < mins[j] {
				mins[j] = v
			}
		}
	}
	for _, m := range mins {
		dst = append(dst, byte(m>>56))
	}
	return dst
}

func (a *Analyzer) sig(i int) []byte { return a.sigs[i*numPerm : (i+1)*numPerm] }

// similarity estimates the Jaccard similarity of signatures i and j.
func (a *Analyzer) similarity(i, j int) float64 {
	x, y := a.sig(i), a.sig(j)
	eq := 0
	for k := range x {
		if x[k] == y[k] {
			eq++
		}
	}
	const c = 1.0 / 256
	return (float64(eq)/numPerm - c) / (1 - c)
}

type unionFind []int32

func (u unionFind) find(x int32) int32 {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(x, y int32) {
	x, y = u.find(x), u.find(y)
	if x != y {
		if x < y {
			u[y] = x
		} else {
			u[x] = y
		}
	}
}

func (a *Analyzer) duplicateFindings() []finding.Finding {
	if a.opt.Text < 0 || len(a.textHash) == 0 {
		return nil
	}
	var out []finding.Finding
	out = append(out, a.conflictFindings()...)
	out = append(out, a.nearDupFindings()...)
	return out
}

// conflictFindings groups rows by normalised text and reports groups with
// more than one label.
func (a *Analyzer) conflictFindings() []finding.Finding {
	if a.opt.Label < 0 {
		return nil
	}
	idx := make([]int32, len(a.textHash))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := cmpU64(a.textHash[x], a.textHash[y]); c != 0 {
			return c
		}
		return int(x - y)
	})
	type group struct{ rows []int32 }
	var groups []group
	total := 0
	for s := 0; s < len(idx); {
		e := s + 1
		mixed := false
		for e < len(idx) && a.textHash[idx[e]] == a.textHash[idx[s]] {
			if a.rowLabel[idx[e]] != a.rowLabel[idx[s]] {
				mixed = true
			}
			e++
		}
		if mixed && a.textHash[idx[s]] != emptyTextHash {
			groups = append(groups, group{idx[s:e]})
			total += e - s
		}
		s = e
	}
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].rows) > len(groups[j].rows) })
	var out []finding.Finding
	for gi, g := range groups {
		if gi == maxClusters {
			out = append(out, finding.New(RuleConflictingDuplicate, RuleConflictingDuplicate.Severity, a.loc,
				fmt.Sprintf("%d more groups of identical texts with different labels are not listed", len(groups)-gi),
				map[string]string{"omitted": fmt.Sprint(len(groups) - gi), "rows_in_conflict": fmt.Sprint(total)}))
			break
		}
		perLabel := map[string][]int64{}
		var order []string
		for _, r := range g.rows {
			l := a.labels[a.rowLabel[r]]
			if _, ok := perLabel[l]; !ok {
				order = append(order, l)
			}
			perLabel[l] = append(perLabel[l], a.rowNum[r])
		}
		var parts []string
		ev := map[string]string{"rows": fmt.Sprint(len(g.rows)), "column": a.column(a.opt.Text)}
		var ex []int64
		for _, l := range order {
			parts = append(parts, fmt.Sprintf("%q in %d", l, len(perLabel[l])))
			ev["label:"+l] = joinRows(perLabel[l][:min(maxExamples, len(perLabel[l]))])
			ex = append(ex, perLabel[l]...)
		}
		slices.Sort(ex)
		ev["examples"] = joinRows(ex[:min(maxExamples, len(ex))])
		out = append(out, finding.New(RuleConflictingDuplicate, RuleConflictingDuplicate.Severity, a.loc,
			fmt.Sprintf("%d rows with the same text in column %q carry different labels (%s), e.g. rows %s",
				len(g.rows), a.column(a.opt.Text), strings.Join(parts, ", "), ev["examples"]), ev))
	}
	return out
}

var emptyTextHash = hashWords(nil)

func cmpU64(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// nearDupFindings clusters rows whose signatures share an LSH band and whose
// estimated similarity reaches the threshold. Exact copies count too, but a
// cluster is only reported when it holds at least two distinct texts or
// more than one row with the same label (copies with conflicting labels are
// data-conflicting-duplicate's).
func (a *Analyzer) nearDupFindings() []finding.Finding {
	n := len(a.sigRow)
	if n < 2 {
		return nil
	}
	uf := make(unionFind, n)
	for i := range uf {
		uf[i] = int32(i)
	}
	idx := make([]int32, n)
	keys := make([]uint64, n)
	for b := range numBands {
		for i := range n {
			idx[i] = int32(i)
			keys[i] = binary.LittleEndian.Uint64(a.sig(i)[b*bandRows:])
		}
		slices.SortFunc(idx, func(x, y int32) int {
			if c := cmpU64(keys[x], keys[y]); c != 0 {
				return c
			}
			return int(x - y)
		})
		for s := 0; s < n; {
			e := s + 1
			for e < n && keys[idx[e]] == keys[idx[s]] {
				// Compare with the group's first member and the previous
				// one: linear in the group, even for 60,000 copies.
				if uf.find(idx[e]) != uf.find(idx[s]) && a.similarity(int(idx[e]), int(idx[s])) >= a.opt.NearDupThreshold {
					uf.union(idx[e], idx[s])
				} else if uf.find(idx[e]) != uf.find(idx[e-1]) && a.similarity(int(idx[e]), int(idx[e-1])) >= a.opt.NearDupThreshold {
					uf.union(idx[e], idx[e-1])
				}
				e++
			}
			s = e
		}
	}
	clusters := map[int32][]int32{}
	for i := range n {
		r := uf.find(int32(i))
		clusters[r] = append(clusters[r], int32(i))
	}
	type cluster struct {
		rows   []int32 // indexes into per-row state
		texts  int
		labels int
	}
	var cs []cluster
	dupRows := 0
	for _, m := range clusters {
		if len(m) < 2 {
			continue
		}
		texts, labels := map[uint64]bool{}, map[uint16]bool{}
		var rows []int32
		for _, s := range m {
			r := a.sigRow[s]
			rows = append(rows, r)
			texts[a.textHash[r]] = true
			labels[a.rowLabel[r]] = true
		}
		if len(texts) < 2 && len(labels) > 1 {
			continue
		}
		slices.Sort(rows)
		cs = append(cs, cluster{rows, len(texts), len(labels)})
		dupRows += len(rows) - 1
	}
	sort.Slice(cs, func(i, j int) bool {
		if len(cs[i].rows) != len(cs[j].rows) {
			return len(cs[i].rows) > len(cs[j].rows)
		}
		return cs[i].rows[0] < cs[j].rows[0]
	})
	var out []finding.Finding
	for ci, c := range cs {
		if ci == maxClusters {
			out = append(out, finding.New(RuleNearDuplicate, finding.Low, a.loc,
				fmt.Sprintf("%d more near-duplicate clusters are not listed; %d rows in all are copies", len(cs)-ci, dupRows),
				map[string]string{"omitted": fmt.Sprint(len(cs) - ci), "duplicate_rows": fmt.Sprint(dupRows)}))
			break
		}
		sev := finding.Low
		what := "the same label"
		if a.opt.Label >= 0 && c.labels > 1 {
			sev, what = finding.Medium, fmt.Sprintf("%d different labels", c.labels)
		}
		if a.opt.Label < 0 {
			what = "no label column"
		}
		ex := make([]int64, 0, maxExamples)
		for _, r := range c.rows[:min(maxExamples, len(c.rows))] {
			ex = append(ex, a.rowNum[r])
		}
		out = append(out, finding.New(RuleNearDuplicate, sev, a.loc,
			fmt.Sprintf("%d near-identical rows in column %q (%d distinct texts, %s), e.g. rows %s",
				len(c.rows), a.column(a.opt.Text), c.texts, what, joinRows(ex)),
			map[string]string{"rows": fmt.Sprint(len(c.rows)), "distinct_texts": fmt.Sprint(c.texts),
				"labels": fmt.Sprint(c.labels), "examples": joinRows(ex), "column": a.column(a.opt.Text),
				"threshold": fmt.Sprint(a.opt.NearDupThreshold)}))
	}
	return out
}
