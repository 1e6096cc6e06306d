package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/aigis-sec/aigis/internal/safeio"
)

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every row; it stops at the first error.
func readAll(t testing.TB, r Reader) ([][]string, []int64, error) {
	t.Helper()
	var rows [][]string
	var lines []int64
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, lines, nil
		}
		if err != nil {
			return rows, lines, err
		}
		rows = append(rows, row.Values)
		lines = append(lines, row.Line)
		if int64(len(rows)) != row.Num {
			t.Fatalf("row %d has Num %d", len(rows), row.Num)
		}
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	return w.EncodeAll(b, nil)
}

func TestFormats(t *testing.T) {
	dir := t.TempDir()
	csvText := "\xef\xbb\xbftext,label\r\n\"hello, \"\"world\"\"\",1\r\n\"two\r\nlines\",0\r\n\r\nplain,1\r\n"
	jsonl := "{\"text\":\"a\",\"label\":1}\n\n{\"text\":\"b\",\"meta\":{\"x\": [1, 2]},\"label\":null}\n"
	jsonArr := " [ {\"text\":\"a\",\"label\":1},\n {\"label\":2,\"text\":\"b\\u00e9\"} ] "
	tests := []struct {
		name    string
		content []byte
		format  string
		cols    []string
		rows    [][]string
		lines   []int64
	}{
		{"a.csv", []byte(csvText), "csv", []string{"text", "label"},
			[][]string{{`hello, "world"`, "1"}, {"two\nlines", "0"}, {"plain", "1"}}, []int64{2, 3, 6}},
		{"a.csv.gz", gz([]byte(csvText)), "csv", []string{"text", "label"},
			[][]string{{`hello, "world"`, "1"}, {"two\nlines", "0"}, {"plain", "1"}}, []int64{2, 3, 6}},
		{"a.tsv", []byte("text\tlabel\nx, y\t1\n"), "tsv", []string{"text", "label"}, [][]string{{"x, y", "1"}}, []int64{2}},
		{"noext", []byte("a;b;c\n1;2;3\n"), "csv", []string{"a", "b", "c"}, [][]string{{"1", "2", "3"}}, []int64{2}},
		{"ragged.csv", []byte("a,b\n1\n1,2,3\n"), "csv", []string{"a", "b", "column_3"}, [][]string{{"1", ""}, {"1", "2", "3"}}, []int64{2, 3}},
		{"bad-utf8.csv", []byte("a\n\xff\xfe\n"), "csv", []string{"a"}, [][]string{{"\xff\xfe"}}, []int64{2}},
		{"a.jsonl", []byte(jsonl), "jsonl", []string{"text", "label", "meta"},
			[][]string{{"a", "1"}, {"b", "", `{"x":[1,2]}`}}, []int64{1, 3}},
		{"a.jsonl.zst", zst([]byte(jsonl)), "jsonl", []string{"text", "label", "meta"},
			[][]string{{"a", "1"}, {"b", "", `{"x":[1,2]}`}}, []int64{1, 3}},
		{"a.json", []byte(jsonArr), "json", []string{"text", "label"}, [][]string{{"a", "1"}, {"bé", "2"}}, []int64{0, 0}},
		{"a.json.gz", gz([]byte(jsonArr)), "json", []string{"text", "label"}, [][]string{{"a", "1"}, {"bé", "2"}}, []int64{0, 0}},
		{"empty.csv", nil, "csv", nil, nil, nil},
		{"empty.json", []byte("[]"), "json", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.content)
			r, err := Open(p, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Format() != tt.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tt.format)
			}
			rows, lines, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.cols, r.Columns()); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostile(t *testing.T) {
	dir := t.TempDir()
	lim := Limits{MaxLineBytes: 1 << 20, MaxFieldBytes: 1 << 19, MaxColumns: 1000, MaxDepth: 50}
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	tests := []struct {
		name    string
		content string
		limit   string // the LimitError expected, or "" for another error
		errText string
	}{
		{"huge-line.csv", "a,b\n" + strings.Repeat("x", 2<<20) + "\n", "MaxLineBytes", ""},
		{"huge-line.jsonl", `{"a":"` + strings.Repeat("x", 2<<20) + "\"}\n", "MaxLineBytes", ""},
		{"huge-field.csv", "a\n" + strings.Repeat("x", 600<<10) + "\n", "MaxFieldBytes", ""},
		{"unclosed.csv", "a,b\n1,\"open\n2,3\n4,5\n", "", "line 2: quoted field not closed"},
		{"unclosed-huge.csv", "a\n\"" + strings.Repeat("x\n", 1<<20), "MaxFieldBytes", ""},
		{"after-quote.csv", "a,b\n\"x\"y,2\n", "", "line 2"},
		{"columns.csv", strings.Repeat("c,", 1000000) + "c\n1\n", "MaxColumns", ""},
		{"columns.jsonl", "{" + strings.Repeat(`"k":1,`, 0) + manyKeys(2000) + "}\n", "MaxColumns", ""},
		{"deep.jsonl", `{"a":` + deep + "}\n", "MaxDepth", ""},
		{"deep.json", `[{"a":` + deep + "}]", "MaxDepth", ""},
		{"notobject.jsonl", "{\"a\":1}\n[1,2]\n", "", "line 2"},
		{"truncated.json", `[{"a":1},{"a":`, "", "element 2"},
		{"huge-element.json", `[{"a":"` + strings.Repeat("x", 3<<20) + `"}]`, "MaxLineBytes", ""},
		{"trailing.json", `[{"a":1}] x`, "", "after"},
		{"bad.jsonl", "{\"a\":1}\n{\"a\":\n", "", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, []byte(tt.content))
			lim := lim
			if tt.name == "columns.csv" {
				lim = DefaultLimits()
			}
			r, err := Open(p, lim)
			if err == nil {
				_, _, err = readAll(t, r)
				r.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			le, isLimit := safeio.IsLimit(err)
			switch {
			case tt.limit != "" && (!isLimit || le.Limit != tt.limit):
				t.Fatalf("err = %v, want limit %s", err, tt.limit)
			case tt.limit == "" && isLimit:
				t.Fatalf("err = %v, want a format error", err)
			case tt.errText != "" && !strings.Contains(err.Error(), tt.errText):
				t.Fatalf("err = %v, want it to contain %q", err, tt.errText)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k`)
		b.WriteString(strings.Repeat("x", 0))
		b.WriteString(itoa(i))
		b.WriteString(`":1`)
	}
	return b.String()
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

func TestMaxRows(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.jsonl", []byte("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"))
	r, err := Open(p, Limits{MaxRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, _, err := readAll(t, r)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxRows" || len(rows) != 2 {
		t.Fatalf("rows %d, err %v; want 2 rows and MaxRows", len(rows), err)
	}
}

type pqRecord struct {
	Text  string   `parquet:"text"`
	Label int64    `parquet:"label"`
	Score float64  `parquet:"score"`
	Note  *string  `parquet:"note,optional"`
	Tags  []string `parquet:"tags,list"`
}

func writeParquet(t testing.TB, path string, n int, rowGroup int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[pqRecord](f, parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(64<<10))
	note := "n"
	batch := make([]pqRecord, 0, 1024)
	for i := range n {
		r := pqRecord{Text: "row " + fmtInt(i) + " some text here", Label: int64(i % 3), Score: 0.5}
		if i%2 == 0 {
			r.Note = &note
			r.Tags = []string{"a", "b"}
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			if _, err := w.Write(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
		if rowGroup > 0 && (i+1)%rowGroup == 0 {
			if _, err := w.Write(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquet(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "train-00000-of-00001.parquet")
	writeParquet(t, p, 5000, 2000)
	head, _ := os.ReadFile(p)
	if f, ok := Detect("x", head[:16]); !ok || f != "parquet" {
		t.Errorf("Detect = %q %v", f, ok)
	}
	r, err := Open(p, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantCols := []string{"text", "label", "score", "note", "tags.list.element"}
	if diff := cmp.Diff(wantCols, r.Columns()); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	rows, _, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5000 {
		t.Fatalf("%d rows", len(rows))
	}
	if diff := cmp.Diff([]string{"row 0 some text here", "0", "0.5", "n", `["a","b"]`}, rows[0]); diff != "" {
		t.Errorf("row 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"row 4999 some text here", "1", "0.5", "", ""}, rows[4999]); diff != "" {
		t.Errorf("row 5000 (-want +got):\n%s", diff)
	}
	// A truncated file is an error, not a panic.
	bad := writeFile(t, dir, "bad.parquet", append(head[:len(head)/2:len(head)/2], []byte("PAR1")...))
	if r, err := Open(bad, DefaultLimits()); err == nil {
		_, _, err = readAll(t, r)
		r.Close()
		if err == nil {
			t.Error("truncated Parquet read without error")
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		path, head, format string
		ok                 bool
	}{
		{"x.csv", "a,b\n1,2\n", "csv", true},
		{"x.txt", "a\tb\n", "tsv", true},
		{"x.json", "{\"a\":1}\n{\"a\":2}", "jsonl", true},
		{"x.jsonl", "  [\n{}]", "json", true},
		{"x.bin", "\x00\x01\x02", "", false},
		{"README", "hello world", "", false},
	}
	for _, tt := range tests {
		f, ok := Detect(tt.path, []byte(tt.head))
		if f != tt.format || ok != tt.ok {
			t.Errorf("Detect(%q, %q) = %q %v, want %q %v", tt.path, tt.head, f, ok, tt.format, tt.ok)
		}
	}
}

func TestFields(t *testing.T) {
	rows := func(vals ...[]string) []*Row {
		var out []*Row
		for i := range 12 {
			for _, v := range vals {
				out = append(out, &Row{Values: []string{v[0], v[1] + fmtInt(i%len(v[1]+"x")), v[2]}})
			}
		}
		return out
	}
	tests := []struct {
		name        string
		cols        []string
		sample      []*Row
		text, label string
	}{
		{"names", []string{"id", "Sentence", "Label"}, nil, "Sentence", "Label"},
		{"instruction", []string{"instruction", "output"}, nil, "instruction", ""},
		{"by content", []string{"a", "b", "c"}, rows([]string{"pos", "this is a fairly long review of a film", "x"}), "b", ""},
		{"nothing", []string{"a", "b"}, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, label := Fields(tt.cols, tt.sample)
			if text != tt.text || label != tt.label {
				t.Errorf("Fields = %q, %q; want %q, %q", text, label, tt.text, tt.label)
			}
		})
	}
	// A low-cardinality column is the label when nothing is named so.
	var sample []*Row
	for i := range 40 {
		sample = append(sample, &Row{Values: []string{"an example sentence number " + fmtInt(i), []string{"pos", "neg"}[i%2], fmtInt(i)}})
	}
	if text, label := Fields([]string{"a", "b", "c"}, sample); text != "a" || label != "b" {
		t.Errorf("Fields = %q, %q; want a, b", text, label)
	}
}

const card = `---
annotations_creators:
- expert-generated
language:
- en
license: apache-2.0
task_categories:
- text-classification
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
  splits:
  - name: train
    num_bytes: 33432823
    num_examples: 25000
  - name: test
    num_bytes: 32650685
    num_examples: 25000
  download_size: 41729483
  dataset_size: 66083508
configs:
- config_name: plain_text
  data_files:
  - split: train
    path: plain_text/train-*
  - split: test
    path:
    - plain_text/test-00000-of-00002.parquet
    - plain_text/test-00001-of-00002.parquet
  default: true
---

# Dataset Card for "imdb"
`

func TestReadCard(t *testing.T) {
	p := writeFile(t, t.TempDir(), "README.md", []byte(strings.ReplaceAll(card, "\n", "\r\n")))
	c, err := ReadCard(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Split{
		{Name: "train", NumExamples: 25000, NumBytes: 33432823, Files: []string{"plain_text/train-*"}},
		{Name: "test", NumExamples: 25000, NumBytes: 32650685, Files: []string{"plain_text/test-00000-of-00002.parquet", "plain_text/test-00001-of-00002.parquet"}},
	}
	if diff := cmp.Diff(want, c.Splits); diff != "" {
		t.Errorf("splits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"text", "label"}, c.Features); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}
	if c.License != "apache-2.0" || c.Raw["task_categories"] == nil {
		t.Errorf("license %q, raw %v", c.License, c.Raw)
	}
	// No front matter: an empty card. Broken YAML: an error.
	p2 := writeFile(t, t.TempDir(), "README.md", []byte("# hi\n"))
	if c, err := ReadCard(p2); err != nil || len(c.Splits) != 0 {
		t.Errorf("no front matter: %v %v", c, err)
	}
	p3 := writeFile(t, t.TempDir(), "README.md", []byte("---\na: [\n---\n"))
	if _, err := ReadCard(p3); err == nil {
		t.Error("broken YAML: no error")
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"README.md", ".gitattributes", "dataset_info.json", "loader.py",
		".git/objects/x.parquet",
		"data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "data/test-00000-of-00001.parquet",
		"refs/convert/parquet/default/train/0000.parquet",
		"train.jsonl.gz", "extra.csv",
	} {
		writeFile(t, dir, f, nil)
	}
	got, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"data/test-00000-of-00001.parquet", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet",
		"extra.csv", "refs/convert/parquet/default/train/0000.parquet", "train.jsonl.gz",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if _, err := Files(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}
