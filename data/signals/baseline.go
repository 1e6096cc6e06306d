package signals

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// Baseline is what a later run compares with: the label counts and the row
// hashes of a trusted version.
type Baseline struct {
	Rows      int64            `json:"rows"`
	Labels    map[string]int64 `json:"labels,omitempty"`
	RowHashes []uint64         `json:"-"` // sorted; a multiset (duplicate rows repeat)
}

// Baseline returns the baseline of the rows added so far. Its hashes cover
// at most MaxRows rows.
func (a *Analyzer) Baseline() *Baseline {
	b := &Baseline{Rows: a.rows, RowHashes: slices.Clone(a.rowHash)}
	slices.Sort(b.RowHashes)
	if a.opt.Label >= 0 {
		b.Labels = map[string]int64{}
		for i, l := range a.labels {
			b.Labels[l] = a.labelN[i]
		}
	}
	return b
}

const baselineMagic = "aigis-data-baseline v1\n"

// maxBaselineHashes bounds what ReadBaseline allocates from untrusted input.
const maxBaselineHashes = 1 << 28

type baselineHeader struct {
	Rows   int64            `json:"rows"`
	Labels map[string]int64 `json:"labels,omitempty"`
	Hashes int64            `json:"hashes"`
}

// WriteBaseline writes b: a magic line, a JSON header line, then the sorted
// hashes as little-endian 64-bit words.
func WriteBaseline(w io.Writer, b *Baseline) error {
	bw := bufio.NewWriter(w)
	hdr, err := json.Marshal(baselineHeader{Rows: b.Rows, Labels: b.Labels, Hashes: int64(len(b.RowHashes))})
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	bw.WriteString(baselineMagic)
	bw.Write(hdr)
	bw.WriteByte('\n')
	hs := slices.Clone(b.RowHashes)
	slices.Sort(hs)
	var buf [8]byte
	for _, h := range hs {
		binary.LittleEndian.PutUint64(buf[:], h)
		bw.Write(buf[:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("baseline: write: %w", err)
	}
	return nil
}

// ErrBaseline is wrapped by ReadBaseline's errors about malformed input.
var ErrBaseline = errors.New("not an aigis data baseline")

// ReadBaseline reads what WriteBaseline wrote.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(baselineMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != baselineMagic {
		return nil, fmt.Errorf("baseline: %w", ErrBaseline)
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("baseline: header: %w", ErrBaseline)
	}
	var hdr baselineHeader
	if err := json.Unmarshal(line, &hdr); err != nil {
		return nil, fmt.Errorf("baseline: header: %w: %v", ErrBaseline, err)
	}
	if hdr.Hashes < 0 || hdr.Hashes > maxBaselineHashes || hdr.Rows < 0 {
		return nil, fmt.Errorf("baseline: %d hashes: %w", hdr.Hashes, ErrBaseline)
	}
	b := &Baseline{Rows: hdr.Rows, Labels: hdr.Labels}
	var buf [8]byte
	for range hdr.Hashes { // grows as bytes arrive: a lying header cannot make us allocate
		if _, err := io.ReadFull(br, buf[:]); err != nil {
			return nil, fmt.Errorf("baseline: hashes: %w", err)
		}
		b.RowHashes = append(b.RowHashes, binary.LittleEndian.Uint64(buf[:]))
	}
	if !slices.IsSorted(b.RowHashes) {
		slices.Sort(b.RowHashes)
	}
	return b, nil
}

// Label shift thresholds: total-variation distance (half the L1 distance of
// the proportions) of 0.02 is medium and 0.10 high, and only when a
// chi-square test against the baseline proportions is significant (z ≥ 4 by
// the Wilson–Hilferty approximation), so small sets do not alarm on noise.
const (
	shiftTVMedium = 0.02
	shiftTVHigh   = 0.10
	shiftZ        = 4
)

func (a *Analyzer) baselineFindings() []finding.Finding {
	b := a.opt.Baseline
	if b == nil {
		return nil
	}
	var out []finding.Finding
	if a.opt.Label >= 0 && len(b.Labels) > 0 && a.rows > 0 && b.Rows > 0 {
		var base int64
		for _, n := range b.Labels {
			base += n
		}
		names := map[string]bool{}
		for l := range b.Labels {
			names[l] = true
		}
		for _, l := range a.labels {
			names[l] = true
		}
		var keys []string
		for l := range names {
			keys = append(keys, l)
		}
		sort.Strings(keys)
		tv, chi2 := 0.0, 0.0
		var parts []string
		ev := map[string]string{}
		for _, l := range keys {
			cur := int64(0)
			if i, ok := a.labelIdx[l]; ok {
				cur = a.labelN[i]
			}
			q := float64(b.Labels[l]) / float64(base)
			p := float64(cur) / float64(a.rows)
			tv += math.Abs(p-q) / 2
			// Laplace smoothing keeps a new label from dividing by zero.
			exp := float64(a.rows) * (float64(b.Labels[l]) + 0.5) / (float64(base) + 0.5*float64(len(keys)))
			chi2 += (float64(cur) - exp) * (float64(cur) - exp) / exp
			parts = append(parts, fmt.Sprintf("%q %.1f%% → %.1f%%", l, 100*q, 100*p))
			ev["label:"+l] = fmt.Sprintf("%d→%d", b.Labels[l], cur)
		}
		df := float64(max(1, len(keys)-1))
		z := (math.Cbrt(chi2/df) - (1 - 2/(9*df))) / math.Sqrt(2/(9*df))
		if tv >= shiftTVMedium && z >= shiftZ {
			sev := finding.Medium
			if tv >= shiftTVHigh {
				sev = finding.High
			}
			ev["total_variation"] = fmt.Sprintf("%.4f", tv)
			ev["chi2"] = fmt.Sprintf("%.1f", chi2)
			ev["baseline_rows"] = fmt.Sprint(b.Rows)
			ev["rows"] = fmt.Sprint(a.rows)
			ev["column"] = a.column(a.opt.Label)
			out = append(out, finding.New(RuleLabelShift, sev, a.loc,
				fmt.Sprintf("labels in column %q moved by %.1f%% (total variation) since the baseline: %s",
					a.column(a.opt.Label), 100*tv, strings.Join(parts, ", ")), ev))
		}
	}
	if len(b.RowHashes) > 0 || b.Rows > 0 {
		base := b.RowHashes
		if !slices.IsSorted(base) {
			base = slices.Clone(base)
			slices.Sort(base)
		}
		cur := make([]int, len(a.rowHash))
		for i := range cur {
			cur[i] = i
		}
		slices.SortFunc(cur, func(x, y int) int {
			if c := cmpU64(a.rowHash[x], a.rowHash[y]); c != 0 {
				return c
			}
			return x - y
		})
		// Merge the two sorted multisets.
		var added []int64
		removed := 0
		i, j := 0, 0
		for i < len(cur) || j < len(base) {
			switch {
			case j == len(base) || (i < len(cur) && a.rowHash[cur[i]] < base[j]):
				added = append(added, a.rowNum[cur[i]])
				i++
			case i == len(cur) || base[j] < a.rowHash[cur[i]]:
				removed++
				j++
			default:
				i++
				j++
			}
		}
		if len(added) > 0 || removed > 0 {
			slices.Sort(added)
			changed := min(len(added), removed)
			sev := finding.Medium
			if len(a.rowHash) > 0 && float64(len(added)+removed) >= 0.05*float64(len(a.rowHash)) {
				sev = finding.High
			}
			ex := added[:min(maxExamples, len(added))]
			out = append(out, finding.New(RuleRowsChanged, sev, a.loc,
				fmt.Sprintf("%d rows are not in the baseline and %d baseline rows are gone (about %d changed, %d added, %d removed), e.g. rows %s",
					len(added), removed, changed, len(added)-changed, removed-changed, joinRows(ex)),
				map[string]string{"new_rows": fmt.Sprint(len(added)), "missing_rows": fmt.Sprint(removed),
					"changed": fmt.Sprint(changed), "added": fmt.Sprint(len(added) - changed), "removed": fmt.Sprint(removed - changed),
					"examples": joinRows(ex), "baseline_rows": fmt.Sprint(b.Rows), "rows": fmt.Sprint(a.rows)}))
		}
	}
	return out
}
