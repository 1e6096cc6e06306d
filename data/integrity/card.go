package integrity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
)

// Bounds on num_bytes: the card counts the Arrow (uncompressed, in-memory)
// size of a split, the folder holds Parquet or compressed text, often 3-10
// times smaller, or JSON, up to a few times larger. Only sizes outside these
// bounds are reported.
const (
	bytesTooLarge = 4  // files more than 4× num_bytes
	bytesTooSmall = 50 // files less than num_bytes/50
)

// CheckCard compares what the card declares per split with what the files
// hold: counts maps a split to the rows its files hold (CountRows), sizes to
// their bytes on disk (SplitSizes; nil to skip the check). It reports a
// split whose row count differs, a declared split without files, files of a
// split the card does not declare, and sizes far from num_bytes (low).
func CheckCard(loc finding.Location, card *data.Card, counts map[string]int64, sizes map[string]int64) []finding.Finding {
	if card == nil || len(card.Splits) == 0 {
		return nil
	}
	var out []finding.Finding
	declared := map[string]bool{}
	for _, s := range card.Splits {
		declared[s.Name] = true
		n, ok := counts[s.Name]
		ev := map[string]string{"split": s.Name, "declared_examples": strconv.FormatInt(s.NumExamples, 10)}
		switch {
		case !ok && s.NumExamples > 0:
			out = append(out, finding.New(RuleCardMismatch, RuleCardMismatch.Severity, loc,
				fmt.Sprintf("the card declares %d examples in split %q, and no data file belongs to it", s.NumExamples, s.Name), ev))
			continue
		case ok && n != s.NumExamples && s.NumExamples > 0:
			ev["actual_rows"] = strconv.FormatInt(n, 10)
			ev["difference"] = strconv.FormatInt(n-s.NumExamples, 10)
			out = append(out, finding.New(RuleCardMismatch, RuleCardMismatch.Severity, loc,
				fmt.Sprintf("the card declares %d examples in split %q; its files hold %d rows (%+d)", s.NumExamples, s.Name, n, n-s.NumExamples), ev))
		}
		size, ok := sizes[s.Name]
		if !ok || s.NumBytes <= 0 || size <= 0 {
			continue
		}
		if size > bytesTooLarge*s.NumBytes || size < s.NumBytes/bytesTooSmall {
			out = append(out, finding.New(RuleCardMismatch, finding.Low, loc,
				fmt.Sprintf("the card declares %d bytes in split %q; its files take %d bytes, far from what their format explains", s.NumBytes, s.Name, size),
				map[string]string{"split": s.Name, "declared_bytes": strconv.FormatInt(s.NumBytes, 10), "actual_bytes": strconv.FormatInt(size, 10)}))
		}
	}
	var extra []string
	for name := range counts {
		if !declared[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		out = append(out, finding.New(RuleCardMismatch, finding.Low, loc,
			fmt.Sprintf("files of split %q (%d rows) are not declared by the card", name, counts[name]),
			map[string]string{"split": name, "actual_rows": strconv.FormatInt(counts[name], 10)}))
	}
	return out
}

// Split keywords of the Hugging Face datasets library
// (datasets/data_files.py, SPLIT_KEYWORDS), in the order it tries them.
var splitKeywords = []struct {
	split string
	words []string
}{
	{"train", []string{"train", "training"}},
	{"validation", []string{"validation", "valid", "dev", "val"}},
	{"test", []string{"test", "testing", "eval", "evaluation"}},
}

var (
	// data/train-00000-of-00002.parquet (push_to_hub): any split name.
	shardRe = regexp.MustCompile(`^([A-Za-z0-9_.\-]+?)-\d{5}-of-\d{5}(\.[A-Za-z0-9.]+)?$`)
	// refs/convert/parquet/<config>/<split>/0000.parquet, and the
	// <config>/<split>/0000.parquet layout of the converted branch.
	numberedRe = regexp.MustCompile(`^\d+(\.[A-Za-z0-9.]+)?$`)
)

// SplitOf names the split of a data file from its path, as the Hub does:
// a push_to_hub shard (data/<split>-00000-of-00002.parquet), a file of the
// Parquet conversion (<config>/<split>/0000.parquet), or a split keyword
// (train, validation/valid/dev/val, test/eval…) delimited by '-', '_', '.',
// ' ' or a digit in the file name or a folder name. It reports false when
// the path names no split.
func SplitOf(p string) (string, bool) {
	p = filepath.ToSlash(p)
	base := path.Base(p)
	dir := path.Dir(p)
	if m := shardRe.FindStringSubmatch(base); m != nil {
		return m[1], true
	}
	if numberedRe.MatchString(base) && dir != "." && dir != "/" {
		if strings.Contains(p, "refs/convert/parquet/") || strings.Count(p, "/") >= 2 {
			return path.Base(dir), true
		}
	}
	parts := strings.Split(p, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		name := strings.ToLower(parts[i])
		if i == len(parts)-1 {
			name = strings.TrimSuffix(name, path.Ext(name))
		}
		for _, k := range splitKeywords {
			for _, w := range k.words {
				if hasWord(name, w) {
					return k.split, true
				}
			}
		}
	}
	return "", false
}

// hasWord says whether w occurs in s delimited by a non-word character
// ("-._ " or a digit) or the ends of s.
func hasWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		if (j == 0 || isSep(s[j-1])) && (end == len(s) || isSep(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isSep(c byte) bool {
	return c == '-' || c == '_' || c == '.' || c == ' ' || (c >= '0' && c <= '9')
}

// MapSplits groups data files by split. As in the datasets library, when no
// file names a split, every file belongs to "train"; otherwise files that
// name no split are left out (returned as unmapped).
func MapSplits(files []string) (splits map[string][]string, unmapped []string) {
	splits = map[string][]string{}
	for _, f := range files {
		if s, ok := SplitOf(f); ok {
			splits[s] = append(splits[s], f)
		} else {
			unmapped = append(unmapped, f)
		}
	}
	if len(splits) == 0 && len(unmapped) > 0 {
		splits["train"], unmapped = unmapped, nil
	}
	return splits, unmapped
}

// open is data.Open; tests replace it.
var open = data.Open

// CountRows streams every file with data.Open and counts its rows per split
// (MapSplits). Files that name no split while others do are not counted.
// The first error (unreadable file, limit hit, ctx ended) stops the count:
// a partial count would make CheckCard report a mismatch that is not there.
func CountRows(ctx context.Context, files []string, lim data.Limits) (map[string]int64, error) {
	return CountRowsDir(ctx, "", files, lim)
}

// CountRowsDir is CountRows for files named relative to a dataset folder,
// as data.Files lists them: splits are read from the relative names, so the
// folder's own path (".../test-data/...") cannot name a split.
func CountRowsDir(ctx context.Context, dir string, files []string, lim data.Limits) (map[string]int64, error) {
	splits, _ := MapSplits(files)
	counts := map[string]int64{}
	for _, split := range sortedKeys(splits) {
		for _, f := range splits[split] {
			n, err := countFile(ctx, filepath.Join(dir, filepath.FromSlash(f)), lim)
			if err != nil {
				return counts, err
			}
			counts[split] += n
		}
	}
	return counts, nil
}

func countFile(ctx context.Context, f string, lim data.Limits) (int64, error) {
	r, err := open(f, lim)
	if err != nil {
		return 0, fmt.Errorf("integrity: count rows of %s: %w", f, err)
	}
	defer r.Close()
	var n int64
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("integrity: count rows of %s: row %d: %w", f, n+1, err)
		}
		n++
	}
}

// SplitSizes sums the sizes of the files of each split (MapSplits); files
// are named relative to dir ("" for the current folder).
func SplitSizes(dir string, files []string) (map[string]int64, error) {
	splits, _ := MapSplits(files)
	sizes := map[string]int64{}
	for split, fs := range splits {
		for _, f := range fs {
			st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				return sizes, fmt.Errorf("integrity: %w", err)
			}
			sizes[split] += st.Size()
		}
	}
	return sizes, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
