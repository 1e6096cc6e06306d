package data

import (
	"errors"
	"io"
	"slices"
	"strings"
)

// Column names that hold the text of an example or its label, best first.
var (
	textNames  = []string{"text", "sentence", "content", "prompt", "instruction", "question", "input", "document", "review", "body", "message", "query", "context", "sentence1", "premise", "tweet", "comment"}
	labelNames = []string{"label", "labels", "class", "target", "sentiment", "category", "output_label", "is_toxic", "toxic", "y", "gold_label", "answer_label"}
)

// maxLabelClasses is the most distinct values a column may have in the
// sample to be taken for a label when its name says nothing.
const maxLabelClasses = 20

// Sample reads up to n rows of r for Fields, each a copy that later reads
// leave alone. err is the error that stopped the reading, nil at the end of
// the file.
func Sample(r Reader, n int) (sample []*Row, err error) {
	for len(sample) < n {
		row, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return sample, err
		}
		cp := *row
		cp.Values = append([]string(nil), row.Values...)
		sample = append(sample, &cp)
	}
	return sample, nil
}

// ColumnIndex is the index of column name in cols, -1 when name is "" or
// not among them.
func ColumnIndex(cols []string, name string) int {
	if name == "" {
		return -1
	}
	return slices.Index(cols, name)
}

// Fields guesses the text and label columns from the column names and a
// sample of rows: names like text/sentence/content/prompt/instruction and
// label/labels/class/target/sentiment first; then, for the text, the
// column with the longest values when they are clearly prose, and for the
// label a low-cardinality column of short values. It returns "" for a
// column it is unsure of.
func Fields(cols []string, sample []*Row) (text, label string) {
	text = byName(cols, textNames)
	label = byName(cols, labelNames)
	if text == "" {
		text = longestColumn(cols, sample, label)
	}
	if label == "" {
		label = lowCardinality(cols, sample, text)
	}
	return text, label
}

func byName(cols []string, names []string) string {
	for _, want := range names {
		for _, c := range cols {
			if strings.EqualFold(strings.TrimSpace(c), want) {
				return c
			}
		}
	}
	return ""
}

// longestColumn is the column whose values average the most bytes, if
// they look like prose (at least 20 bytes and a space on average).
func longestColumn(cols []string, sample []*Row, skip string) string {
	if len(sample) == 0 {
		return ""
	}
	best, bestAvg := "", 0.0
	for i, c := range cols {
		if c == skip {
			continue
		}
		total, spaces, n := 0, 0, 0
		for _, r := range sample {
			if i < len(r.Values) {
				v := r.Values[i]
				if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
					continue
				}
				total += len(v)
				if strings.Contains(v, " ") {
					spaces++
				}
				n++
			}
		}
		if n == 0 {
			continue
		}
		avg := float64(total) / float64(n)
		if avg >= 20 && spaces*2 >= n && avg > bestAvg {
			best, bestAvg = c, avg
		}
	}
	return best
}

// lowCardinality is the column with the fewest distinct short values, from
// 2 to maxLabelClasses, when the sample is big enough to tell (each class
// seen more than once on average). Ties are unsure.
func lowCardinality(cols []string, sample []*Row, skip string) string {
	if len(sample) < 10 {
		return ""
	}
	best, bestN, tie := "", maxLabelClasses+1, false
	for i, c := range cols {
		if c == skip {
			continue
		}
		distinct := map[string]bool{}
		ok := true
		for _, r := range sample {
			if i >= len(r.Values) {
				continue
			}
			v := r.Values[i]
			if len(v) > 32 {
				ok = false
				break
			}
			distinct[v] = true
			if len(distinct) > maxLabelClasses {
				ok = false
				break
			}
		}
		n := len(distinct)
		if !ok || n < 2 || n*2 > len(sample) {
			continue
		}
		switch {
		case n < bestN:
			best, bestN, tie = c, n, false
		case n == bestN:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}
