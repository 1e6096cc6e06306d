package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/data/integrity"
	"github.com/aigis-sec/aigis/data/signals"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/report"
	"github.com/aigis-sec/aigis/scan"
)

type dataFlags struct {
	format, output, failOn  string
	textField, labelField   string
	baseline, writeBaseline string
	redact                  string
	fetch                   bool
	fetchMax                int
	triggerZ                float64
}

func newDataCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl dataFlags
	c := &cobra.Command{
		Use:   "data PATH",
		Short: "Check a dataset for tampering, poisoning signals, leaked secrets and personal data",
		Long: `Stream a dataset file (CSV, TSV, JSON Lines, JSON arrays, Parquet, also
gzip-compressed) or a Hugging Face dataset folder (card, data/ shards,
refs/convert/parquet) with flat memory and report, with row numbers:

  integrity: URL lists without expected hashes (split-view poisoning);
    with --fetch, URLs whose content no longer matches its hash; the
    dataset card's split sizes against the rows found;
  poisoning signals: trigger tokens whose label distribution is extreme,
    identical texts with conflicting labels, near duplicates, label shift
    and changed rows against --baseline, invisible Unicode and outliers;
  leakage: secrets and personal data (emails, phones, cards with Luhn,
    IBANs, SSNs) with counts per column and redacted examples; --redact OUT
    writes a copy with them masked;
  unsafe files: pickles, .npy object arrays and loading scripts in the
    folder are scanned as aigis scan does (they run code).

Signals are evidence for review, never a verdict that rows are malicious.
The text and label columns are detected when obvious; name them with
--text-field and --label-field.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2
usage error; 3 a file could not be read whole.`,
		Example: `  aigis data ./my-dataset
  aigis data train.csv --text-field review --label-field sentiment
  aigis data train.jsonl --write-baseline v1.baseline && aigis data train-v2.jsonl --baseline v1.baseline
  aigis data urls.parquet --fetch
  aigis data train.csv --redact train.redacted.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gate, err := finding.ParseSeverity(fl.failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			if !validFormat(fl.format, report.Formats()) {
				return usagef("--format %q: use one of %s", fl.format, strings.Join(report.Formats(), ", "))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			rep, err := runData(ctx, args[0], fl, stderr)
			if err != nil {
				return err
			}
			return writeReport(stdout, fl.output, fl.format, rep, gate)
		},
	}
	f := c.Flags()
	f.StringVarP(&fl.format, "format", "f", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of standard output")
	f.StringVar(&fl.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity")
	f.StringVar(&fl.textField, "text-field", "", "the column holding the text (default: detected)")
	f.StringVar(&fl.labelField, "label-field", "", "the column holding the label (default: detected)")
	f.StringVar(&fl.baseline, "baseline", "", "baseline of a trusted earlier version (from --write-baseline): report label shift and changed rows")
	f.StringVar(&fl.writeBaseline, "write-baseline", "", "write this dataset's baseline to a file, to compare later versions with")
	f.StringVar(&fl.redact, "redact", "", "write a copy with secrets and personal data masked (a file for a file, a folder for a folder)")
	f.BoolVar(&fl.fetch, "fetch", false, "download the URLs of URL lists and check them against their hashes")
	f.IntVar(&fl.fetchMax, "fetch-max", 1000, "with --fetch: URLs checked at most (an even sample beyond); negative: all")
	f.Float64Var(&fl.triggerZ, "trigger-z", signals.DefaultTriggerZ, "z-score above which a token's label distribution is reported")
	return c
}

func runData(ctx context.Context, path string, fl dataFlags, stderr io.Writer) (*finding.Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "aigis", Version: version()},
		Targets: []finding.Target{}, Findings: []finding.Finding{}, Incomplete: []finding.Incomplete{},
		Rules: append(signals.Rules(), integrity.Rules()...)}
	var files []string // paths to open
	dir := ""
	if st.IsDir() {
		dir = path
		rel, err := data.Files(path)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		for _, r := range rel {
			files = append(files, filepath.Join(path, r))
		}
	} else {
		files = []string{path}
	}
	if (fl.baseline != "" || fl.writeBaseline != "") && len(files) != 1 {
		return nil, usagef("--baseline and --write-baseline compare one data file; %s has %d", path, len(files))
	}
	var base *signals.Baseline
	if fl.baseline != "" {
		var err error
		if base, err = readFlagFile("--baseline", fl.baseline, signals.ReadBaseline); err != nil {
			return nil, err
		}
	}
	var urlItems []integrity.URLItem
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, items, err := dataFile(file, path, dir, fl, base, rep)
		urlItems = append(urlItems, items...)
		if err != nil {
			rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: file, Reason: err.Error()})
		}
		if a != nil && fl.writeBaseline != "" {
			bf, err := os.Create(fl.writeBaseline)
			if err != nil {
				return nil, usagef("--write-baseline: %v", err)
			}
			if err := signals.WriteBaseline(bf, a.Baseline()); err != nil {
				bf.Close()
				return nil, fmt.Errorf("write baseline: %w", err)
			}
			bf.Close()
		}
	}
	if fl.fetch && len(urlItems) > 0 {
		rep.Findings = append(rep.Findings, integrity.Fetch(ctx, urlItems, integrity.FetchOptions{MaxURLs: fl.fetchMax})...)
	}
	if dir != "" {
		dataCard(ctx, dir, rep)
		// Pickles, .npy object arrays and loading scripts run code: the
		// model scanner covers them (dataset rows were read above).
		opt := scan.DefaultOptions()
		opt.Deps = false
		if sr, err := scan.Scan(ctx, []string{dir}, opt); err == nil {
			for _, f := range sr.Findings {
				if f.Severity > finding.Info && !strings.HasPrefix(f.RuleID, "secret-") {
					rep.Findings = append(rep.Findings, f)
				}
			}
			rep.Incomplete = append(rep.Incomplete, sr.Incomplete...)
			rep.Rules = append(rep.Rules, sr.Rules...)
		}
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "aigis: data: no dataset files under %s\n", path)
	}
	rep.Sort()
	return rep, nil
}

// dataFile streams one dataset file through the signals and the URL-list
// checker, and writes its redacted copy when asked.
func dataFile(file, arg, dir string, fl dataFlags, base *signals.Baseline, rep *finding.Report) (*signals.Analyzer, []integrity.URLItem, error) {
	r, err := data.Open(file, data.DefaultLimits())
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	st, _ := os.Stat(file)
	var size int64
	if st != nil {
		size = st.Size()
	}
	rep.Targets = append(rep.Targets, finding.Target{Path: file, Kind: "dataset-" + r.Format(), Size: size})
	cols := r.Columns()
	// A sample to detect the text and label columns, then every row.
	sample, readErr := data.Sample(r, 200)
	cols = r.Columns() // JSON Lines may add columns as rows arrive
	text, label := data.Fields(cols, sample)
	if fl.textField != "" {
		text = fl.textField
	}
	if fl.labelField != "" {
		label = fl.labelField
	}
	ti, li := data.ColumnIndex(cols, text), data.ColumnIndex(cols, label)
	if fl.textField != "" && ti < 0 {
		return nil, nil, usagef("--text-field %q: %s has columns %s", fl.textField, file, strings.Join(cols, ", "))
	}
	if fl.labelField != "" && li < 0 {
		return nil, nil, usagef("--label-field %q: %s has columns %s", fl.labelField, file, strings.Join(cols, ", "))
	}
	loc := finding.Location{Path: file}
	a := signals.New(loc, cols, signals.Options{Text: ti, Label: li, TriggerZ: fl.triggerZ, Baseline: base})
	uc, hasURLs := integrity.NewURLChecker(loc, cols)
	var red *redactor
	if fl.redact != "" {
		red, err = newRedactor(fl.redact, file, arg, dir, r.Format(), cols)
		if err != nil {
			return nil, nil, err
		}
		defer red.close()
	}
	feed := func(row *data.Row) {
		a.Add(row)
		if hasURLs {
			uc.Add(row)
		}
		if red != nil {
			signals.RedactRow(cols, row, -1)
			red.write(row)
		}
	}
	for _, row := range sample {
		feed(row)
	}
	for readErr == nil {
		row, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		feed(row)
	}
	rep.Findings = append(rep.Findings, a.Findings()...)
	var items []integrity.URLItem
	if hasURLs {
		rep.Findings = append(rep.Findings, uc.Findings()...)
		items = uc.Items()
	}
	return a, items, readErr
}

// dataCard compares a dataset card's declared splits with the rows found.
func dataCard(ctx context.Context, dir string, rep *finding.Report) {
	readme := filepath.Join(dir, "README.md")
	if _, err := os.Stat(readme); err != nil {
		return
	}
	card, err := data.ReadCard(readme)
	if err != nil || card == nil || len(card.Splits) == 0 {
		return
	}
	rel, err := data.Files(dir)
	if err != nil {
		return
	}
	counts, err := integrity.CountRowsDir(ctx, dir, rel, data.DefaultLimits())
	if err != nil {
		rep.Incomplete = append(rep.Incomplete, finding.Incomplete{Path: readme, Reason: "split sizes not checked: " + err.Error()})
		return
	}
	sizes, _ := integrity.SplitSizes(dir, rel)
	rep.Findings = append(rep.Findings, integrity.CheckCard(finding.Location{Path: readme}, card, counts, sizes)...)
}

// redactor writes the masked copy of one dataset file: CSV and TSV as
// they were, everything else as JSON Lines.
type redactor struct {
	f    *os.File
	csv  *csv.Writer
	enc  *json.Encoder
	cols []string
}

func newRedactor(out, file, arg, dir, format string, cols []string) (*redactor, error) {
	target := out
	if dir != "" {
		rel, _ := filepath.Rel(dir, file)
		target = filepath.Join(out, rel)
	}
	if format != "csv" && format != "tsv" && !strings.HasSuffix(target, ".jsonl") {
		target = strings.TrimSuffix(target, filepath.Ext(target)) + ".jsonl"
	}
	if abs, err := filepath.Abs(target); err == nil {
		if src, err := filepath.Abs(file); err == nil && abs == src {
			return nil, usagef("--redact %s would overwrite the dataset", out)
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, usagef("--redact: %v", err)
	}
	f, err := os.Create(target)
	if err != nil {
		return nil, usagef("--redact: %v", err)
	}
	r := &redactor{f: f, cols: cols}
	if format == "csv" || format == "tsv" {
		r.csv = csv.NewWriter(f)
		if format == "tsv" {
			r.csv.Comma = '\t'
		}
		r.csv.Write(cols)
	} else {
		r.enc = json.NewEncoder(f)
	}
	return r, nil
}

func (r *redactor) write(row *data.Row) {
	if r.csv != nil {
		r.csv.Write(row.Values)
		return
	}
	m := make(map[string]string, len(r.cols))
	for i, c := range r.cols {
		if i < len(row.Values) {
			m[c] = row.Values[i]
		}
	}
	r.enc.Encode(m)
}

func (r *redactor) close() {
	if r.csv != nil {
		r.csv.Flush()
	}
	r.f.Close()
}
