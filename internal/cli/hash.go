package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aigis-sec/aigis/signing/manifest"
)

func newHashCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		opt           manifest.Options
		format        string
		output        string
		quiet         bool
		noIgnoreGit   bool
		ignoreFlagArg []string
	)
	c := &cobra.Command{
		Use:   "hash PATH",
		Short: "Compute the OpenSSF Model Signing manifest of a model file or folder",
		Long: `Compute the manifest of a model as the OpenSSF Model Signing (OMS)
reference implementation does when it signs: a digest per file (or per
shard), in the reference's order, and the root digest that a signature's
subject carries. The same folder and options give the same manifest as
'model_signing digest', so the root digest can be compared with a signature
or a publisher's record.

By default every regular file is hashed with SHA-256; .git, .gitattributes,
.github and .gitignore at the model root are left out, and symbolic links
are refused. --ignore leaves out more paths (a folder drops everything below
it; paths are from the current directory, as in model_signing, and must lie
inside the model). With --serialization shards each file is cut into
--shard-size ranges hashed in parallel (BLAKE3 is always hashed by files,
as in the reference).

Exit codes: 0 hashed; 2 usage error (bad option, missing model, a link or
special file in the model); 3 a file could not be read.`,
		Example: `  aigis hash ./my-model
  aigis hash ./my-model --algorithm blake3 --format json --output manifest.json
  aigis hash model.safetensors --serialization shards --shard-size 100000000
  aigis hash ./my-model --ignore my-model/README.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := args[0]
			if format != "table" && format != "json" {
				return usagef("--format %q: use table or json", format)
			}
			if cmd.Flags().Changed("shard-size") && !strings.EqualFold(opt.Serialization, manifest.MethodShards) {
				return usagef("--shard-size applies to --serialization shards only")
			}
			if cmd.Flags().Changed("shard-size") && opt.ShardSize <= 0 {
				return usagef("--shard-size %d: give a positive number of bytes", opt.ShardSize)
			}
			fi, err := os.Stat(root)
			if err != nil {
				return usagef("%v: give the path of a model file or folder", err)
			}
			opt.IncludeGitPaths = noIgnoreGit
			if opt.Ignore, err = hashIgnoreFromCwd(root, fi.IsDir(), ignoreFlagArg); err != nil {
				return err
			}

			// Open the output first: a bad --output should not cost a long hash.
			w, done, err := createOutput(stdout, output)
			if err != nil {
				return err
			}
			defer done()

			var bar *hashProgressBar
			if !quiet && hashIsTerminal(stderr) {
				bar = &hashProgressBar{w: stderr, start: time.Now()}
				opt.Progress = bar.update
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			m, err := manifest.Hash(ctx, root, opt)
			bar.clear()
			if err != nil {
				if output != "" {
					os.Remove(output)
				}
				if errors.Is(err, manifest.ErrOptions) || errors.Is(err, manifest.ErrSymlink) ||
					errors.Is(err, manifest.ErrSpecialFile) || errors.Is(err, fs.ErrNotExist) {
					return usageError{err}
				}
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("hash %s: interrupted", root)
				}
				return fmt.Errorf("hash %s: %w", root, err)
			}
			if !quiet && strings.EqualFold(opt.Serialization, manifest.MethodShards) && m.Options.Serialization == manifest.MethodFiles {
				fmt.Fprintln(stderr, "aigis: note: BLAKE3 is hashed by files, as the reference implementation does; --serialization shards was not used")
			}

			if format == "json" {
				err = writeHashJSON(w, root, m)
			} else {
				err = writeHashTable(w, root, m)
			}
			if err != nil {
				return fmt.Errorf("write manifest: %w", err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&opt.Algorithm, "algorithm", "a", manifest.SHA256, "hash of each file or shard: sha256, blake2b or blake3")
	f.StringVar(&opt.Serialization, "serialization", manifest.MethodFiles, "files (a digest per file) or shards (a digest per --shard-size range)")
	f.Int64Var(&opt.ShardSize, "shard-size", manifest.DefaultShardSize, "bytes per shard with --serialization shards")
	f.StringArrayVar(&ignoreFlagArg, "ignore", nil, "leave this path out (from the current directory, inside the model; a folder drops its contents); repeatable")
	f.BoolVar(&noIgnoreGit, "no-ignore-git-paths", false, "hash .git, .gitattributes, .github and .gitignore at the model root too")
	f.BoolVar(&opt.AllowSymlinks, "allow-symlinks", false, "hash the target of a symbolic link to a file under the link's name (links to folders are not entered)")
	f.IntVar(&opt.Workers, "workers", 0, "files or shards hashed at once (default: one per CPU)")
	f.StringVarP(&format, "format", "f", "table", "output format: table or json")
	f.StringVarP(&output, "output", "o", "", "write the manifest to this file instead of standard output")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no notes on standard error")
	return c
}

// hashIgnoreFromCwd turns --ignore paths, given from the current directory as
// in model_signing, into paths relative to the model root.
func hashIgnoreFromCwd(root string, isDir bool, paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	if !isDir {
		return nil, usagef("--ignore: %s is a single file, there is nothing to leave out", root)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(absRoot, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, usagef("--ignore %s: not inside the model %s; paths are from the current directory, e.g. %s",
				p, root, filepath.Join(root, p))
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

type hashJSON struct {
	SchemaVersion string         `json:"schema_version"`
	Path          string         `json:"path"`
	Name          string         `json:"name"`
	Algorithm     string         `json:"algorithm"`
	Serialization map[string]any `json:"serialization"`
	RootDigest    string         `json:"root_digest"`
	Bytes         int64          `json:"bytes"`
	Resources     []hashResource `json:"resources"`
}

type hashResource struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

func writeHashJSON(w io.Writer, root string, m *manifest.Manifest) error {
	rd, err := m.RootDigest()
	if err != nil {
		return err
	}
	out := hashJSON{
		SchemaVersion: "1",
		Path:          root,
		Name:          m.Name,
		Algorithm:     m.Options.Algorithm,
		Serialization: m.Serialization(),
		RootDigest:    hex.EncodeToString(rd),
		Bytes:         m.Bytes,
		Resources:     []hashResource{},
	}
	for _, r := range m.Resources {
		out.Resources = append(out.Resources, hashResource{r.Name, hex.EncodeToString(r.Digest)})
	}
	return writeJSON(w, out)
}

func writeHashTable(w io.Writer, root string, m *manifest.Manifest) error {
	rd, err := m.RootDigest()
	if err != nil {
		return err
	}
	o := m.Options
	method := o.Serialization + ", " + o.Algorithm
	if o.Serialization == manifest.MethodShards {
		method += fmt.Sprintf(", shards of %d bytes", o.ShardSize)
	}
	if o.AllowSymlinks {
		method += ", links followed"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s (%d resources, %s)\n", root, len(m.Resources), hashHumanBytes(m.Bytes))
	fmt.Fprintf(tw, "method\t%s\n", method)
	if ig := m.IgnorePaths(); len(ig) > 0 {
		fmt.Fprintf(tw, "ignored\t%s\n", strings.Join(ig, ", "))
	}
	fmt.Fprintf(tw, "root digest\tsha256:%x\n", rd)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Resources) > 0 {
		fmt.Fprintln(w)
	}
	// One line per resource, as sha256sum writes them.
	for _, r := range m.Resources {
		if _, err := fmt.Fprintf(w, "%x  %s\n", r.Digest, r.Name); err != nil {
			return err
		}
	}
	return nil
}

func hashIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// hashProgressBar draws bytes, rate and time left on one terminal line. It
// waits a second before drawing, so small models hash without flicker.
type hashProgressBar struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
	drawn bool
}

func (p *hashProgressBar) update(done, total int64) {
	elapsed := time.Since(p.start)
	if elapsed < time.Second || done >= total {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s", hashProgressLine(done, total, elapsed))
	p.drawn = true
}

func (p *hashProgressBar) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// hashProgressLine is e.g. "hashing [=====>    ] 1.2 GiB / 4.0 GiB  30%  850 MB/s  ETA 0:03".
func hashProgressLine(done, total int64, elapsed time.Duration) string {
	const width = 24
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "--:--"
	if rate > 0 {
		left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		eta = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	return fmt.Sprintf("hashing [%s] %s / %s  %3.0f%%  %.0f MB/s  ETA %s",
		bar, hashHumanBytes(done), hashHumanBytes(total), frac*100, rate/1e6, eta)
}

func hashHumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
