package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// jsonlReader reads JSON Lines: one object per line. The columns are the
// top-level keys in the order first seen; a key first seen in a later row
// is appended, so Columns grows and earlier rows are shorter. Blank lines
// are skipped; a line that is not an object is an error naming the line.
type jsonlReader struct {
	objectRows
	lr lineReader
}

func newJSONL(br *bufio.Reader, lim Limits, closers []io.Closer) *jsonlReader {
	return &jsonlReader{objectRows: newObjectRows("jsonl", lim, closers), lr: lineReader{br: br, max: lim.MaxLineBytes}}
}

func (j *jsonlReader) Next() (*Row, error) {
	if j.err != nil {
		return nil, j.err
	}
	for {
		line, err := j.lr.next()
		if err != nil {
			j.err = err
			return nil, err
		}
		if j.lr.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return j.row(line, j.lr.line, fmt.Sprintf("line %d", j.lr.line))
	}
}

// objectRows is what the two JSON readers share: the columns as first seen,
// the rows counted, and a sticky error.
type objectRows struct {
	format  string // "jsonl" or "json"
	lim     Limits
	cols    []string
	index   map[string]int
	num     int64
	closers []io.Closer
	err     error
}

func newObjectRows(format string, lim Limits, closers []io.Closer) objectRows {
	return objectRows{format: format, lim: lim, index: map[string]int{}, closers: closers}
}

func (o *objectRows) Format() string    { return o.format }
func (o *objectRows) Columns() []string { return o.cols }
func (o *objectRows) Close() error      { return closeAll(o.closers) }

// row counts the object obj, read at line (0 when not known) and named
// where in errors, and gives its values in column order.
func (o *objectRows) row(obj []byte, line int64, where string) (*Row, error) {
	o.num++
	if err := rowLimit(o.num, o.lim); err != nil {
		o.err = err
		return nil, err
	}
	vals, err := objectValues(obj, o.lim, &o.cols, o.index, where)
	if err != nil {
		if _, ok := safeio.IsLimit(err); ok {
			o.err = err
		}
		return nil, fmt.Errorf("%s: %s: %w", o.format, where, err)
	}
	return &Row{Num: o.num, Line: line, Values: vals}, nil
}

// jsonArrayReader reads a JSON array of objects element by element with
// encoding/json's Decoder, so the file is never held whole. One element is
// at most MaxLineBytes.
type jsonArrayReader struct {
	objectRows
	dec    *json.Decoder
	budget *budgetReader
}

func newJSONArray(br *bufio.Reader, lim Limits, closers []io.Closer) (*jsonArrayReader, error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	budget := &budgetReader{r: br, max: int64(lim.MaxLineBytes)}
	a := &jsonArrayReader{objectRows: newObjectRows("json", lim, closers), dec: json.NewDecoder(budget), budget: budget}
	tok, err := a.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("json: not an array of objects")
	}
	return a, nil
}

func (a *jsonArrayReader) Next() (*Row, error) {
	if a.err != nil {
		return nil, a.err
	}
	a.budget.reset()
	if !a.dec.More() {
		tok, err := a.dec.Token()
		if err == nil && tok == json.Delim(']') {
			// Anything after the array but blanks is an error.
			if _, err := a.dec.Token(); err != io.EOF {
				a.err = fmt.Errorf("json: data after the top-level array")
				return nil, a.err
			}
			a.err = io.EOF
			return nil, io.EOF
		}
		a.err = a.wrap(err, "unexpected end of the array")
		return nil, a.err
	}
	var raw json.RawMessage
	if err := a.dec.Decode(&raw); err != nil {
		a.err = a.wrap(err, "")
		return nil, a.err
	}
	return a.row(raw, 0, fmt.Sprintf("element %d", a.num+1))
}

func (a *jsonArrayReader) wrap(err error, msg string) error {
	if _, ok := safeio.IsLimit(err); ok {
		return err
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if strings.Contains(err.Error(), "exceeded max depth") {
		// encoding/json's own bound on nesting, deeper than any MaxDepth.
		return &safeio.LimitError{Limit: "MaxDepth", Value: int64(a.lim.MaxDepth), Detail: fmt.Sprintf("element %d", a.num+1)}
	}
	if msg != "" {
		return fmt.Errorf("json: element %d: %s: %w", a.num+1, msg, err)
	}
	return fmt.Errorf("json: element %d: %w", a.num+1, err)
}

// budgetReader fails with a *safeio.LimitError once more than max bytes
// were read since the last reset: it bounds one array element, which the
// Decoder would otherwise buffer whole.
type budgetReader struct {
	r         io.Reader
	n, max    int64
	exhausted bool
}

func (b *budgetReader) reset() { b.n = 0 }

func (b *budgetReader) Read(p []byte) (int, error) {
	// The Decoder reads ahead; allow its buffer on top of the budget.
	if b.n > b.max+64<<10 {
		return 0, &safeio.LimitError{Limit: "MaxLineBytes", Value: b.max, Detail: "one JSON array element"}
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// objectValues parses one JSON object and returns its values in the order
// of *cols, appending keys not seen before.
func objectValues(b []byte, lim Limits, cols *[]string, index map[string]int, where string) ([]string, error) {
	if err := checkDepth(b, lim.MaxDepth, where); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	vals := make([]string, len(*cols))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("bad object key")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		v, err := valueText(raw)
		if err != nil {
			return nil, err
		}
		if err := fieldLimit(len(v), lim, where); err != nil {
			return nil, err
		}
		i, ok := index[key]
		if !ok {
			if err := columnLimit(len(*cols)+1, lim, where); err != nil {
				return nil, err
			}
			i = len(*cols)
			index[key] = i
			*cols = append(*cols, key)
		}
		for len(vals) <= i {
			vals = append(vals, "")
		}
		vals[i] = v // a duplicate key: the last one wins, as in encoding/json
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return vals, nil
}

// valueText renders one JSON value: strings unquoted, null as "", numbers
// and booleans as written, objects and arrays as compact JSON.
func valueText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case 'n':
		return "", nil
	case '"':
		if !bytes.ContainsAny(raw[1:len(raw)-1], "\\") {
			s := raw[1 : len(raw)-1]
			if utf8.Valid(s) {
				return string(s), nil
			}
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	return string(raw), nil
}

// checkDepth fails when JSON text nests arrays and objects deeper than max.
// It only counts brackets outside strings; validity is left to the parser.
func checkDepth(b []byte, max int, where string) error {
	depth := 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > max {
				return &safeio.LimitError{Limit: "MaxDepth", Value: int64(max), Detail: where}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
