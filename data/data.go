// Package data reads training datasets as streams of rows: CSV, TSV, JSON
// Lines, JSON arrays of objects and Parquet, plain or gzip/zstd-compressed,
// and the layout of Hugging Face dataset folders (the card's YAML front
// matter and the data files).
//
// Every reader keeps memory flat: rows are read one at a time and every
// untrusted size (line, field, columns, rows, nesting) is bounded by Limits.
// A bound that is hit is a *safeio.LimitError, never a silent end of input.
// The package is a parser: it says what the bytes are; checkers decide what
// that means.
package data

// Row is one record of a dataset, streamed.
type Row struct {
	Num    int64    // 1-based row number in its file (a CSV header is not a row)
	Line   int64    // line in the file where the row starts (CSV, JSONL), 0 when not known (Parquet)
	Values []string // one per Columns(); nested JSON values as compact JSON text; nulls as ""
}

// Reader streams the rows of one dataset file with flat memory.
type Reader interface {
	Format() string      // "csv", "tsv", "jsonl", "json", "parquet"
	Columns() []string   // the column names; for JSON Lines it may grow as new keys are seen
	Next() (*Row, error) // io.EOF at the end; a *safeio.LimitError when a limit is hit (the caller reports it)
	Close() error
}

// Limits bound the work done on one dataset file.
type Limits struct {
	MaxLineBytes  int   // bytes in one line (CSV, JSONL) or one JSON value
	MaxFieldBytes int   // bytes in one field value
	MaxColumns    int   // columns of one file
	MaxRows       int64 // rows read from one file; 0 means no limit
	MaxDepth      int   // nesting of JSON values
}

// DefaultLimits are generous for real datasets and small enough that a
// hostile file cannot exhaust memory.
func DefaultLimits() Limits {
	return Limits{
		MaxLineBytes:  64 << 20,
		MaxFieldBytes: 16 << 20,
		MaxColumns:    10000,
		MaxRows:       0,
		MaxDepth:      100,
	}
}

// Card is what the YAML front matter of a dataset card (README.md) says.
type Card struct {
	Splits   []Split        // from dataset_info.splits, with files from configs.data_files
	Features []string       // feature names from dataset_info.features
	License  string         // the license field
	Raw      map[string]any // the whole front matter
}

// Split is one split of a dataset (train, test, validation…).
type Split struct {
	Name        string
	NumExamples int64
	NumBytes    int64
	Files       []string // paths or globs from configs.data_files
}
