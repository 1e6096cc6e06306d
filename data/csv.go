package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// csvReader reads RFC 4180 CSV (and TSV, the same with tabs): quoted
// fields may hold delimiters, doubled quotes and line breaks. A quote inside
// an unquoted field is kept as text, as most writers produce it; text after
// a closing quote is an error. Lines end in "\n" or "\r\n"; line breaks in
// quoted fields are returned as "\n". Blank lines are skipped. Bytes that
// are not UTF-8 are kept as they are.
//
// encoding/csv is not used because it holds a whole record in memory
// without bound; here a record is at most MaxLineBytes.
type csvReader struct {
	lr      lineReader
	format  string
	delim   byte
	lim     Limits
	cols    []string
	num     int64
	closers []io.Closer
	fields  [][]byte
	field   []byte
	err     error // sticky; the error reading the header is returned by the first Next
}

func newCSV(br *bufio.Reader, format string, delim byte, lim Limits, closers []io.Closer) *csvReader {
	c := &csvReader{lr: lineReader{br: br, max: lim.MaxLineBytes}, format: format, delim: delim, lim: lim, closers: closers}
	rec, _, err := c.record(true)
	if err != nil {
		if err == io.EOF {
			err = nil // an empty file: no columns, no rows
		}
		c.err = err
		return c
	}
	c.cols = make([]string, len(rec))
	for i, f := range rec {
		c.cols[i] = string(f)
	}
	return c
}

func (c *csvReader) Format() string    { return c.format }
func (c *csvReader) Columns() []string { return c.cols }
func (c *csvReader) Close() error      { return closeAll(c.closers) }

func (c *csvReader) Next() (*Row, error) {
	if c.err != nil {
		return nil, c.err
	}
	rec, line, err := c.record(false)
	if err != nil {
		c.err = err
		return nil, err
	}
	c.num++
	if err := rowLimit(c.num, c.lim); err != nil {
		c.err = err
		return nil, err
	}
	// Ragged rows: extra fields get made-up column names rather than
	// being dropped (a poisoned value must not hide there).
	for len(c.cols) < len(rec) {
		c.cols = append(c.cols, "column_"+strconv.Itoa(len(c.cols)+1))
	}
	row := &Row{Num: c.num, Line: line, Values: make([]string, len(c.cols))}
	for i, f := range rec {
		row.Values[i] = string(f)
	}
	return row, nil
}

// record parses the next record; its fields are valid until the next call.
func (c *csvReader) record(first bool) ([][]byte, int64, error) {
	var line []byte
	var err error
	for {
		line, err = c.lr.next()
		if err != nil {
			return nil, 0, err
		}
		if first && c.lr.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) > 0 {
			break
		}
	}
	start := c.lr.line
	total := len(line)
	c.fields = c.fields[:0]
	c.field = c.field[:0]
	fieldStarts := make([]int, 0, 16)
	// All fields of the record go into c.field; fieldStarts marks them.
	addField := func(b []byte) error {
		if err := fieldLimit(len(b), c.lim, fmt.Sprintf("line %d", start)); err != nil {
			return err
		}
		if err := columnLimit(len(fieldStarts)+1, c.lim, fmt.Sprintf("line %d", start)); err != nil {
			return err
		}
		fieldStarts = append(fieldStarts, len(c.field))
		c.field = append(c.field, b...)
		return nil
	}
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			// Quoted field, possibly over several lines.
			var q []byte
			j := i + 1
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					q = append(q, line[j:]...)
					q = append(q, '\n')
					if err := fieldLimit(len(q), c.lim, fmt.Sprintf("line %d", start)); err != nil {
						return nil, 0, err
					}
					line, err = c.lr.next()
					if err == io.EOF {
						return nil, 0, fmt.Errorf("csv: line %d: quoted field not closed before the end of the file", start)
					}
					if err != nil {
						return nil, 0, err
					}
					total += len(line) + 1
					if total > c.lim.MaxLineBytes {
						return nil, 0, &safeio.LimitError{Limit: "MaxLineBytes", Value: int64(c.lim.MaxLineBytes), Detail: fmt.Sprintf("record at line %d", start)}
					}
					j = 0
					continue
				}
				q = append(q, line[j:j+k]...)
				j += k + 1
				if j < len(line) && line[j] == '"' {
					q = append(q, '"')
					j++
					continue
				}
				break
			}
			if err := addField(q); err != nil {
				return nil, 0, err
			}
			if j == len(line) {
				break
			}
			if line[j] != c.delim {
				return nil, 0, fmt.Errorf("csv: line %d: unexpected %q after a closing quote", c.lr.line, line[j])
			}
			i = j + 1
			if i == len(line) {
				if err := addField(nil); err != nil {
					return nil, 0, err
				}
				break
			}
			continue
		}
		k := bytes.IndexByte(line[i:], c.delim)
		if k < 0 {
			if err := addField(line[i:]); err != nil {
				return nil, 0, err
			}
			break
		}
		if err := addField(line[i : i+k]); err != nil {
			return nil, 0, err
		}
		i += k + 1
		if i == len(line) {
			if err := addField(nil); err != nil {
				return nil, 0, err
			}
			break
		}
	}
	for n, s := range fieldStarts {
		end := len(c.field)
		if n+1 < len(fieldStarts) {
			end = fieldStarts[n+1]
		}
		c.fields = append(c.fields, c.field[s:end])
	}
	return c.fields, start, nil
}
