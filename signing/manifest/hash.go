package manifest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/blake2b"
)

// bufSize is what one worker reads at a time; memory is Workers × bufSize.
const bufSize = 1 << 20

// file is a regular file of the model.
type file struct {
	rel  string // root-relative, '/', "." for a single-file model
	abs  string
	size int64
}

// Hash computes the manifest of the model at root, a file or a folder.
func Hash(ctx context.Context, root string, opt Options) (*Manifest, error) {
	opt, err := normalize(root, opt)
	if err != nil {
		return nil, err
	}
	files, err := enumerate(root, opt)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Name: modelName(root), Options: opt}

	// Resources in their final order; each task fills one slot.
	type task struct {
		slot      int
		f         *file
		off, size int64
		whole     bool
	}
	var tasks []task
	sort.Slice(files, func(i, j int) bool { return lessPath(files[i].rel, files[j].rel) })
	for i := range files {
		f := &files[i]
		m.Bytes += f.size
		if opt.Serialization == MethodFiles {
			m.Resources = append(m.Resources, Resource{Name: f.rel, Algorithm: opt.Algorithm})
			tasks = append(tasks, task{slot: len(m.Resources) - 1, f: f, size: f.size, whole: true})
			continue
		}
		alg := ShardAlgorithm(opt.Algorithm, opt.ShardSize)
		for off := int64(0); off < f.size; off += opt.ShardSize {
			n := min(opt.ShardSize, f.size-off)
			m.Resources = append(m.Resources, Resource{Name: fmt.Sprintf("%s:%d:%d", f.rel, off, off+n), Algorithm: alg})
			tasks = append(tasks, task{slot: len(m.Resources) - 1, f: f, off: off, size: n})
		}
	}
	// Largest first, so one big file does not start last and run alone.
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].size > tasks[j].size })

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		done atomic.Int64
		wg   sync.WaitGroup
	)
	stopProgress := startProgress(opt.Progress, &done, m.Bytes)
	for w := 0; w < min(opt.Workers, len(tasks)); w++ {
		wg.Go(func() {
			buf := make([]byte, bufSize)
			h := newHash(opt.Algorithm)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) || ctx.Err() != nil {
					return
				}
				t := tasks[i]
				h.Reset()
				if err := hashRange(ctx, h, buf, t.f, t.off, t.size, t.whole, &done); err != nil {
					cancel(err)
					return
				}
				m.Resources[t.slot].Digest = h.Sum(nil)
			}
		})
	}
	wg.Wait()
	stopProgress()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// normalize fills the defaults and checks the options.
func normalize(root string, opt Options) (Options, error) {
	switch strings.ToLower(opt.Algorithm) {
	case "", SHA256:
		opt.Algorithm = SHA256
	case BLAKE2b, "blake2": // "blake2" is the reference's configuration name
		opt.Algorithm = BLAKE2b
	case BLAKE3:
		opt.Algorithm = BLAKE3
	default:
		return opt, fmt.Errorf("%w: algorithm %q: use sha256, blake2b or blake3", ErrOptions, opt.Algorithm)
	}
	switch strings.ToLower(opt.Serialization) {
	case "", MethodFiles:
		opt.Serialization = MethodFiles
	case MethodShards:
		opt.Serialization = MethodShards
	default:
		return opt, fmt.Errorf("%w: serialization %q: use files or shards", ErrOptions, opt.Serialization)
	}
	if opt.ShardSize == 0 {
		opt.ShardSize = DefaultShardSize
	}
	if opt.ShardSize < 0 {
		return opt, fmt.Errorf("%w: shard size %d: must be positive", ErrOptions, opt.ShardSize)
	}
	if opt.Algorithm == BLAKE3 && opt.Serialization == MethodShards {
		// The reference hashes BLAKE3 by files even when asked for shards.
		opt.Serialization = MethodFiles
	}
	if opt.Serialization == MethodFiles {
		opt.ShardSize = 0
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	ig, err := normalizeIgnores(root, opt.Ignore)
	if err != nil {
		return opt, err
	}
	opt.Ignore = ig
	return opt, nil
}

// normalizeIgnores makes the ignore paths root-relative, '/'-separated and
// clean; those that leave the root are dropped, as the reference does.
func normalizeIgnores(root string, in []string) ([]string, error) {
	var absRoot string
	var out []string
	for _, p := range in {
		if p == "" {
			return nil, fmt.Errorf("%w: empty ignore path", ErrOptions)
		}
		if filepath.IsAbs(p) {
			if absRoot == "" {
				a, err := filepath.Abs(root)
				if err != nil {
					return nil, fmt.Errorf("manifest: %w", err)
				}
				absRoot = a
			}
			r, err := filepath.Rel(absRoot, p)
			if err != nil {
				continue
			}
			p = r
		}
		p = path.Clean(filepath.ToSlash(p))
		if p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// ignored reports whether rel (root-relative, '/') is or lies below one of
// the ignore paths (Python's path.is_relative_to).
func ignored(rel string, ignores []string) bool {
	for _, ig := range ignores {
		if ig == "." || rel == ig || strings.HasPrefix(rel, ig+"/") {
			return true
		}
	}
	return false
}

// modelName is the statement's subject name: the final path component, or
// that of the absolute path for ".", ".." and the like.
func modelName(root string) string {
	name := filepath.Base(filepath.Clean(root))
	if name == "." || name == ".." || name == string(filepath.Separator) {
		if abs, err := filepath.Abs(root); err == nil {
			name = filepath.Base(abs)
		}
	}
	if name == string(filepath.Separator) {
		return ""
	}
	return name
}

// enumerate lists the regular files of the model with the reference's
// rules for ignores and links.
func enumerate(root string, opt Options) ([]file, error) {
	ignores := opt.Ignore
	if !opt.IncludeGitPaths {
		ignores = append(append([]string(nil), ignores...), GitPaths...)
	}
	if ignored(".", ignores) {
		return nil, nil
	}
	fi, err := classify(root, root, opt.AllowSymlinks)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		return []file{{rel: ".", abs: root, size: fi.Size()}}, nil
	}
	var files []file
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("manifest: read folder: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !utf8.ValidString(name) {
				return fmt.Errorf("manifest: %q: file name is not valid UTF-8, which a manifest cannot name; rename it or ignore it", filepath.Join(dir, name))
			}
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			if ignored(r, ignores) {
				continue
			}
			abs := filepath.Join(dir, name)
			fi, err := classify(abs, r, opt.AllowSymlinks)
			if err != nil {
				return err
			}
			switch {
			case fi.Mode().IsRegular():
				files = append(files, file{rel: r, abs: abs, size: fi.Size()})
			case e.Type()&fs.ModeSymlink != 0:
				// A link to a folder: the reference's glob does not enter it.
			default:
				if err := walk(abs, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, err
	}
	return files, nil
}

// classify returns what path is (following an allowed link): a regular
// file or a directory; anything else is an error naming it.
func classify(abs, rel string, allowSymlinks bool) (fs.FileInfo, error) {
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if !allowSymlinks {
			target, _ := os.Readlink(abs)
			return nil, fmt.Errorf("manifest: %s is a %w (to %s): links are refused unless allowed (--allow-symlinks), then the target's bytes are hashed under the link's name", abs, ErrSymlink, target)
		}
		fi, err = os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("manifest: %s: %w (a broken link: %v)", abs, ErrSpecialFile, err)
		}
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, fmt.Errorf("manifest: %s: %w (%v); ignore it to hash the rest", abs, ErrSpecialFile, fi.Mode().Type())
	}
	return fi, nil
}

func newHash(alg string) hash.Hash {
	switch alg {
	case BLAKE2b:
		h, _ := blake2b.New512(nil) // cannot fail without a key
		return h
	case BLAKE3:
		return blake3.New()
	default:
		return sha256.New()
	}
}

// hashRange hashes size bytes of f from off, or the whole file to its end
// when whole; a shard that comes up short means the file changed.
func hashRange(ctx context.Context, h hash.Hash, buf []byte, f *file, off, size int64, whole bool, done *atomic.Int64) error {
	fd, err := os.Open(f.abs)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer fd.Close()
	end := off + size
	for whole || off < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf
		if !whole && int64(len(b)) > end-off {
			b = b[:end-off]
		}
		n, err := fd.ReadAt(b, off)
		h.Write(b[:n])
		off += int64(n)
		done.Add(int64(n))
		if err == io.EOF {
			if whole {
				return nil
			}
			if off < end {
				return fmt.Errorf("manifest: %s: file shrank while being hashed (%d bytes, expected %d); hash again when it is stable", f.abs, off, end)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("manifest: read %s: %w", f.abs, err)
		}
	}
	return nil
}

// startProgress reports done/total every 200ms from one goroutine and once
// at the end; the returned func stops it.
func startProgress(progress func(done, total int64), done *atomic.Int64, total int64) func() {
	if progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress(done.Load(), total)
			case <-stop:
				progress(done.Load(), total)
				return
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}
