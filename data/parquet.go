package data

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// parquetReader streams the rows of a Parquet file row group by row group,
// a few rows at a time, so memory stays near one page per column. Columns
// are the leaf paths joined with "."; a repeated leaf (a list) is returned
// as a JSON array of its values.
type parquetReader struct {
	f      *os.File
	pf     *parquet.File
	lim    Limits
	cols   []string
	rep    []bool // the leaf has a repeated node on its path
	groups []parquet.RowGroup
	group  int
	rows   parquet.Rows
	buf    []parquet.Row
	n, i   int // rows in buf, next row in buf
	num    int64
	err    error
}

// parquetBatch is how many rows are read at once.
const parquetBatch = 64

func newParquet(f *os.File, size int64, lim Limits) (r *parquetReader, err error) {
	defer func() {
		// parquet-go may panic on a corrupt footer; that is a bad file, not a crash.
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("parquet: corrupt file: %v", p)
		}
	}()
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(256<<10))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	paths := pf.Schema().Columns()
	if err := columnLimit(len(paths), lim, "Parquet schema"); err != nil {
		return nil, err
	}
	cols := make([]string, len(paths))
	rep := make([]bool, len(paths))
	for i, p := range paths {
		cols[i] = strings.Join(p, ".")
		leaf, ok := pf.Schema().Lookup(p...)
		rep[i] = ok && leaf.MaxRepetitionLevel > 0
	}
	return &parquetReader{f: f, pf: pf, lim: lim, cols: cols, rep: rep, groups: pf.RowGroups(), buf: make([]parquet.Row, parquetBatch)}, nil
}

func (p *parquetReader) Format() string    { return "parquet" }
func (p *parquetReader) Columns() []string { return p.cols }

func (p *parquetReader) Close() error {
	if p.rows != nil {
		p.rows.Close()
		p.rows = nil
	}
	return p.f.Close()
}

func (p *parquetReader) Next() (row *Row, err error) {
	if p.err != nil {
		return nil, p.err
	}
	defer func() {
		if r := recover(); r != nil {
			row, err = nil, fmt.Errorf("parquet: corrupt file at row %d: %v", p.num+1, r)
			p.err = err
		}
	}()
	for p.i >= p.n {
		if err := p.fill(); err != nil {
			p.err = err
			return nil, err
		}
	}
	pr := p.buf[p.i]
	p.i++
	p.num++
	if err := rowLimit(p.num, p.lim); err != nil {
		p.err = err
		return nil, err
	}
	vals, err := p.values(pr)
	if err != nil {
		p.err = err
		return nil, err
	}
	return &Row{Num: p.num, Values: vals}, nil
}

// fill reads the next batch of rows, moving to the next row group when one
// is done.
func (p *parquetReader) fill() error {
	for {
		if p.rows == nil {
			if p.group >= len(p.groups) {
				return io.EOF
			}
			p.rows = p.groups[p.group].Rows()
			p.group++
		}
		n, err := p.rows.ReadRows(p.buf)
		if n > 0 {
			p.n, p.i = n, 0
			return nil
		}
		if err == io.EOF || err == nil {
			p.rows.Close()
			p.rows = nil
			continue
		}
		return fmt.Errorf("parquet: row group %d: %w", p.group-1, err)
	}
}

func (p *parquetReader) values(pr parquet.Row) ([]string, error) {
	vals := make([]string, len(p.cols))
	var lists map[int][]string
	seen := make([]bool, len(p.cols))
	for _, v := range pr {
		c := v.Column()
		if c < 0 || c >= len(p.cols) {
			return nil, fmt.Errorf("parquet: row %d: column index %d out of range", p.num, c)
		}
		s := parquetText(v)
		if err := fieldLimit(len(s), p.lim, fmt.Sprintf("row %d column %s", p.num, p.cols[c])); err != nil {
			return nil, err
		}
		if !seen[c] {
			seen[c] = true
			vals[c] = s
			if v.RepetitionLevel() == 0 && v.IsNull() {
				continue
			}
		}
		if lists == nil {
			lists = map[int][]string{}
		}
		if !v.IsNull() {
			lists[c] = append(lists[c], s)
		}
	}
	for c, l := range lists {
		// More than one value, or a repeated leaf: render as a JSON list.
		if len(l) == 1 && !p.rep[c] {
			continue
		}
		var b strings.Builder
		b.WriteByte('[')
		for i, s := range l {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(s))
		}
		b.WriteByte(']')
		if err := fieldLimit(b.Len(), p.lim, fmt.Sprintf("row %d column %s", p.num, p.cols[c])); err != nil {
			return nil, err
		}
		vals[c] = b.String()
	}
	return vals, nil
}

func parquetText(v parquet.Value) string {
	if v.IsNull() {
		return ""
	}
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	}
	return v.String()
}
