package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotCached is returned by [FromCache] when the cache does not hold the
// repository or revision.
var ErrNotCached = errors.New("hub: not in the local cache")

// DefaultCacheDir returns the Hugging Face hub cache folder the way
// huggingface_hub finds it: $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func DefaultCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// CacheRepoDir returns the folder of a model repository in a hub cache:
// models--{org}--{name}.
func CacheRepoDir(cacheDir, repoID string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repoID, "/", "--"))
}

// FromCache reads the expected hashes of a model repository from a local
// Hugging Face hub cache, with no network. revision is a 40-hex commit or a
// ref name (a branch such as "main", or "refs/pr/1") that the cache's refs/
// folder maps to a commit.
//
// In the cache, snapshots/<commit>/<path> is a link to ../../blobs/<etag>, and
// the etag is the file's sha256 for LFS files and its git blob sha1
// otherwise; that name is the expected hash. The snapshot is Partial: the
// cache holds only what was downloaded. A file that is a copy rather than a
// link (caches made where links are unavailable) carries no hash, and is an
// error that says so.
func FromCache(cacheDir, repoID, revision string) (*Snapshot, error) {
	revision, err := checkRef(repoID, revision)
	if err != nil {
		return nil, err
	}
	repoDir := CacheRepoDir(cacheDir, repoID)
	if _, err := os.Stat(repoDir); err != nil {
		return nil, fmt.Errorf("%w: %s has no folder %s (%v); download it once with network, or pass the right cache folder", ErrNotCached, repoID, repoDir, err)
	}
	commit := revision
	if !IsCommit(revision) {
		b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s has no ref %q in %s; pin a commit instead", ErrNotCached, repoID, revision, repoDir)
		}
		commit = strings.TrimSpace(string(b))
		if !IsCommit(commit) {
			return nil, fmt.Errorf("hub: cache: %s: refs/%s holds %q, not a commit id", repoID, revision, commit)
		}
	}
	commit = strings.ToLower(commit)
	snapDir := filepath.Join(repoDir, "snapshots", commit)
	if st, err := os.Stat(snapDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s has no snapshot for commit %s in %s", ErrNotCached, repoID, commit, repoDir)
	}
	blobsDir := filepath.Join(repoDir, "blobs")

	s := &Snapshot{RepoID: repoID, Commit: commit, Partial: true, Source: snapDir}
	err = filepath.WalkDir(snapDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(snapDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s: %s is a copy, not a link to blobs/, so the cache does not record its hash; verify against the hub with network instead", repoID, rel)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		if filepath.Dir(filepath.Clean(target)) != filepath.Clean(blobsDir) {
			return fmt.Errorf("%s: %s links to %s, outside the repository's blobs folder; the cache has been altered", repoID, rel, target)
		}
		etag := strings.ToLower(filepath.Base(target))
		f := File{Path: rel, Size: -1}
		switch {
		case len(etag) == 64 && isHex(etag):
			f.SHA256 = etag
		case len(etag) == 40 && isHex(etag):
			f.BlobSHA1 = etag
		default:
			return fmt.Errorf("%s: %s links to blob %q, which is neither a sha256 nor a git sha1", repoID, rel, etag)
		}
		s.Files = append(s.Files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hub: cache: %w", err)
	}
	slices.SortFunc(s.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return s, nil
}
