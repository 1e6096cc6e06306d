package data

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// fuzzLimits are small so the fuzzer reaches the limits.
var fuzzLimits = Limits{MaxLineBytes: 4096, MaxFieldBytes: 1024, MaxColumns: 64, MaxRows: 1000, MaxDepth: 16}

// drain reads every row and checks the invariants every reader keeps: rows
// are numbered from 1, each has no more values than there are columns, the
// limits hold, and after an error the reader returns an error again.
func drain(t *testing.T, r Reader) {
	var num int64
	for {
		row, err := r.Next()
		if err != nil {
			if err != io.EOF {
				if _, err2 := r.Next(); err2 == nil && isSticky(err) {
					t.Fatalf("Next after %v returned a row", err)
				}
			}
			return
		}
		num++
		if row.Num != num {
			t.Fatalf("row %d numbered %d", num, row.Num)
		}
		if len(row.Values) > len(r.Columns()) || len(r.Columns()) > fuzzLimits.MaxColumns {
			t.Fatalf("row %d: %d values, %d columns", num, len(row.Values), len(r.Columns()))
		}
		for _, v := range row.Values {
			if len(v) > fuzzLimits.MaxFieldBytes {
				t.Fatalf("row %d: value of %d bytes", num, len(v))
			}
		}
		if num > fuzzLimits.MaxRows {
			t.Fatalf("more than MaxRows rows")
		}
	}
}

// isSticky reports whether err ends the stream (limits and CSV errors do;
// a bad JSON line does not).
func isSticky(err error) bool {
	_, ok := safeio.IsLimit(err)
	return ok
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"text,label\r\n\"hello, \"\"world\"\"\",1\r\n\"two\r\nlines\",0\r\n",
		"\xef\xbb\xbfa\tb\n1\t2\n",
		"a;b\n\"x\"y;2\n",
		"a,b\n1,\"open\n",
		"a,b,\n,,\n\n\n1,2,3,4\n",
		"a\n\xff\xfe\n",
		"\"\"\"\n\"",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, tsv bool) {
		format, delim := "csv", byte(',')
		if tsv {
			format, delim = "tsv", '\t'
		}
		r := newCSV(bufio.NewReaderSize(bytes.NewReader(b), 16), format, delim, fuzzLimits, nil)
		drain(t, r)
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		"{\"text\":\"a\",\"label\":1}\n\n{\"text\":\"b\",\"meta\":{\"x\": [1, 2]},\"label\":null}\n",
		"{\"a\":1}\n[1,2]\n{\"a\":\n",
		"{\"a\":\"\\ud800\",\"a\":\"\xff\"}\r\n",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}",
		"\xef\xbb\xbf{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newJSONL(bufio.NewReaderSize(bytes.NewReader(b), 16), fuzzLimits, nil)
		drain(t, r)
	})
}

func FuzzJSONArray(f *testing.F) {
	for _, s := range []string{
		" [ {\"text\":\"a\",\"label\":1},\n {\"label\":2,\"text\":\"b\\u00e9\"} ] ",
		"[]",
		"[{\"a\":1},{\"a\":",
		"[{\"a\":1}] x",
		"[1, \"x\", {\"a\":{\"b\":[]}}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := newJSONArray(bufio.NewReaderSize(bytes.NewReader(b), 16), fuzzLimits, nil)
		if err != nil {
			return
		}
		drain(t, r)
	})
}
