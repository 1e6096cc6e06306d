package bom

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// skipDirs are folders that hold tools, caches or installed packages, not
// the project: analysing a virtualenv would list every library's own calls.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "__pycache__": true,
	".venv": true, "venv": true, ".tox": true, ".nox": true, ".mypy_cache": true,
	".pytest_cache": true, ".ruff_cache": true, "site-packages": true, ".ipynb_checkpoints": true,
}

// tree is what the walk found, as slash-separated paths relative to root.
type tree struct {
	python []string
	other  []string // candidates for the model scan
}

func (b *builder) walk(ctx context.Context) (*tree, error) {
	max := b.opt.MaxFiles
	if max <= 0 {
		max = 1_000_000
	}
	t := &tree{}
	n := 0
	err := filepath.WalkDir(b.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == b.root {
				return err
			}
			rel, _ := filepath.Rel(b.root, p)
			b.incomplete(filepath.ToSlash(rel), "walk", err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(b.root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p == b.root {
				return nil
			}
			name := d.Name()
			if skipDirs[name] || isVirtualenv(p) {
				return filepath.SkipDir
			}
			// A Hugging Face cache keeps each file once under blobs/ and
			// links it from snapshots/<commit>/: list the snapshot names.
			if name == "blobs" && isCacheRepo(filepath.Base(filepath.Dir(p))) {
				return filepath.SkipDir
			}
			return nil
		}
		if n++; n > max {
			b.incomplete(rel, "walk", &safeio.LimitError{Limit: "MaxFiles", Value: int64(max), Detail: "files not inventoried"})
			return errStop
		}
		typ := d.Type()
		if typ&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !typ.IsRegular() {
			return nil
		}
		if strings.HasSuffix(d.Name(), ".py") {
			t.python = append(t.python, rel)
		} else {
			t.other = append(t.other, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("bom: walk %s: %w", b.root, err)
	}
	return t, nil
}

var errStop = errors.New("stop")

func isVirtualenv(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}

func isCacheRepo(name string) bool {
	return strings.HasPrefix(name, "models--") || strings.HasPrefix(name, "datasets--")
}

// cacheRef reads a Hugging Face cache path
// …/models--org--name/snapshots/<commit>/file into the repository id,
// commit and the file's path inside the repository.
func cacheRef(rel string) (repoID, commit, file string, ok bool) {
	parts := strings.Split(rel, "/")
	for i := 0; i+3 < len(parts); i++ {
		if !strings.HasPrefix(parts[i], "models--") || parts[i+1] != "snapshots" {
			continue
		}
		id := strings.ReplaceAll(strings.TrimPrefix(parts[i], "models--"), "--", "/")
		return id, parts[i+2], strings.Join(parts[i+3:], "/"), true
	}
	return "", "", "", false
}
