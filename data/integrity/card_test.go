package integrity

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func TestSplitOf(t *testing.T) {
	tests := []struct {
		path, split string
	}{
		{"data/train-00000-of-00002.parquet", "train"},
		{"data/validation-00001-of-00002.parquet", "validation"},
		{"data/my_split-00000-of-00001.jsonl.gz", "my_split"},
		{"refs/convert/parquet/default/train/0000.parquet", "train"},
		{"refs/convert/parquet/default/partial-test/0000.parquet", "partial-test"},
		{"default/test/0003.parquet", "test"},
		{"train.jsonl", "train"},
		{"TRAIN.csv", "train"},
		{"dev.tsv", "validation"},
		{"my_data_val.csv", "validation"},
		{"eval_2024.jsonl", "test"},
		{"train/part1.csv", "train"},
		{"data/testing/x.json", "test"},
		{"devices.csv", ""},
		{"interval.csv", ""},
		{"contest.jsonl", ""},
		{"data.csv", ""},
	}
	for _, tt := range tests {
		got, ok := SplitOf(tt.path)
		if got != tt.split || ok != (tt.split != "") {
			t.Errorf("SplitOf(%q) = %q, %v; want %q", tt.path, got, ok, tt.split)
		}
	}
}

func TestMapSplits(t *testing.T) {
	splits, unmapped := MapSplits([]string{"d/a.csv", "d/b.csv"})
	if diff := cmp.Diff(map[string][]string{"train": {"d/a.csv", "d/b.csv"}}, splits); diff != "" || unmapped != nil {
		t.Errorf("no split names: everything is train (-want +got):\n%s unmapped %v", diff, unmapped)
	}
	splits, unmapped = MapSplits([]string{"train.csv", "test.csv", "extra.csv"})
	if len(splits) != 2 || !cmp.Equal(unmapped, []string{"extra.csv"}) {
		t.Errorf("splits %v unmapped %v", splits, unmapped)
	}
}

func TestCheckCard(t *testing.T) {
	loc := finding.Location{Path: "ds/README.md"}
	card := &data.Card{Splits: []data.Split{
		{Name: "train", NumExamples: 1000, NumBytes: 100_000},
		{Name: "test", NumExamples: 100, NumBytes: 10_000},
		{Name: "validation", NumExamples: 50},
	}}
	tests := []struct {
		name   string
		counts map[string]int64
		sizes  map[string]int64
		want   []string // "rule severity split"
	}{
		{"match", map[string]int64{"train": 1000, "test": 100, "validation": 50}, map[string]int64{"train": 40_000, "test": 4_000}, nil},
		{"rows removed", map[string]int64{"train": 990, "test": 100, "validation": 50}, nil,
			[]string{"data-card-mismatch medium train"}},
		{"split missing and extra", map[string]int64{"train": 1000, "test": 100, "extra": 7}, nil,
			[]string{"data-card-mismatch medium validation", "data-card-mismatch low extra"}},
		{"bytes far off", map[string]int64{"train": 1000, "test": 100, "validation": 50}, map[string]int64{"train": 1_000_000, "test": 100},
			[]string{"data-card-mismatch low train", "data-card-mismatch low test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range CheckCard(loc, card, tt.counts, tt.sizes) {
				got = append(got, f.RuleID+" "+f.Severity.String()+" "+f.Evidence["split"])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if fs := CheckCard(loc, &data.Card{}, map[string]int64{"train": 3}, nil); fs != nil {
		t.Errorf("a card that declares no splits: %+v", fs)
	}
}

// fakeReader yields n rows, then err (io.EOF for a clean end).
type fakeReader struct {
	n   int64
	i   int64
	err error
}

func (r *fakeReader) Format() string    { return "csv" }
func (r *fakeReader) Columns() []string { return []string{"text"} }
func (r *fakeReader) Close() error      { return nil }
func (r *fakeReader) Next() (*data.Row, error) {
	if r.i >= r.n {
		return nil, r.err
	}
	r.i++
	return &data.Row{Num: r.i, Values: []string{"x"}}, nil
}

func TestCountRowsFake(t *testing.T) {
	rows := map[string]int64{"data/train-00000-of-00002.parquet": 600, "data/train-00001-of-00002.parquet": 390, "data/test-00000-of-00001.parquet": 100}
	old := open
	t.Cleanup(func() { open = old })
	open = func(p string, _ data.Limits) (data.Reader, error) {
		n, ok := rows[p]
		if !ok {
			return nil, os.ErrNotExist
		}
		return &fakeReader{n: n, err: io.EOF}, nil
	}
	var files []string
	for f := range rows {
		files = append(files, f)
	}
	counts, err := CountRows(context.Background(), files, data.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"train": 990, "test": 100}, counts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	boom := errors.New("limit")
	open = func(string, data.Limits) (data.Reader, error) { return &fakeReader{n: 5, err: boom}, nil }
	if _, err := CountRows(context.Background(), []string{"train.csv"}, data.DefaultLimits()); !errors.Is(err, boom) || !strings.Contains(err.Error(), "train.csv") {
		t.Errorf("a reader error: %v; want it wrapped with the file name", err)
	}
}

// TestCardFolder is the whole check on a dataset folder written to disk: a
// card declaring 1000 train rows and a file holding 990, read by package data.
func TestCardFolder(t *testing.T) {
	dir := t.TempDir()
	card := "---\nlicense: mit\ndataset_info:\n  features:\n  - name: text\n    dtype: string\n  - name: label\n    dtype: int64\n  splits:\n  - name: train\n    num_bytes: 20000\n    num_examples: 1000\n  - name: test\n    num_bytes: 2000\n    num_examples: 100\n---\n# A dataset\n"
	write(t, filepath.Join(dir, "README.md"), card)
	var train, test strings.Builder
	train.WriteString("text,label\n")
	for i := range 990 {
		train.WriteString("an example sentence " + itoa(i) + "," + itoa(i%2) + "\n")
	}
	test.WriteString("text,label\n")
	for i := range 100 {
		test.WriteString("a test sentence " + itoa(i) + ",0\n")
	}
	write(t, filepath.Join(dir, "data", "train.csv"), train.String())
	write(t, filepath.Join(dir, "data", "test.csv"), test.String())

	c, err := data.ReadCard(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := data.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := CountRowsDir(context.Background(), dir, files, data.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := SplitSizes(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	fs := CheckCard(finding.Location{Path: "README.md"}, c, counts, sizes)
	if len(fs) != 1 || fs[0].RuleID != RuleCardMismatch.ID || fs[0].Evidence["split"] != "train" || fs[0].Evidence["actual_rows"] != "990" || fs[0].Evidence["difference"] != "-10" {
		t.Fatalf("findings %+v; want one data-card-mismatch for train, 990 rows (-10)", fs)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
