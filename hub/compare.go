package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Snapshot is the Hub's record of a repository at one commit.
type Snapshot struct {
	RepoID string
	// Commit is the 40-hex commit the revision resolved to.
	Commit string
	// Files are sorted by Path.
	Files []File
	// Partial is true when Files may not list the whole repository: a local
	// cache holds only the files that were downloaded, so a file absent
	// locally is not reported as missing.
	Partial bool
	// Source says where the record came from: the endpoint URL or the cache
	// folder.
	Source string
}

// File is one file of a [Snapshot].
type File struct {
	// Path is slash-separated and relative to the repository root.
	Path string
	// Size is the file's length in bytes, or -1 when unknown.
	Size int64
	// SHA256 is the hex sha256 of the content, set for LFS files.
	SHA256 string
	// BlobSHA1 is the hex git blob id, sha1("blob <len>\x00" + content).
	// The Hub sets it for every file; for LFS files it names the pointer, not
	// the content, so Compare uses it only when SHA256 is empty.
	BlobSHA1 string
}

// Kinds of [Mismatch].
const (
	Modified = "modified"
	Missing  = "missing"
	Extra    = "extra"
)

// Algorithms named in [Mismatch].
const (
	AlgSHA256  = "sha256"
	AlgGitSHA1 = "git-sha1"
	AlgSize    = "size"
)

// Mismatch is one difference between a local folder and a [Snapshot].
type Mismatch struct {
	// Path is slash-separated and relative to the compared folder.
	Path string
	// Kind is Modified, Missing or Extra.
	Kind string
	// Want and Got are the expected and actual hashes (or sizes in bytes
	// when Algorithm is AlgSize). Want is empty for Extra, Got for Missing.
	Want, Got string
	Algorithm string
}

// String says which file differs and what to do about it.
func (m Mismatch) String() string {
	switch m.Kind {
	case Modified:
		return fmt.Sprintf("%s: modified: %s is %s, the hub has %s; do not load it, download it again from the pinned revision", m.Path, m.Algorithm, m.Got, m.Want)
	case Missing:
		return fmt.Sprintf("%s: missing: the hub's revision has this file but the folder does not; download it, or check you verify the right folder", m.Path)
	case Extra:
		return fmt.Sprintf("%s: extra: the file is not in the hub's revision; find out who added it and remove it before loading", m.Path)
	}
	return fmt.Sprintf("%s: %s", m.Path, m.Kind)
}

// ignoredDirs are folders at the root of a local copy that tools create and
// the Hub never lists: git metadata and huggingface_hub's local_dir cache.
var ignoredDirs = []string{".git", ".cache/huggingface"}

// Compare hashes every regular file under localRoot and compares it with s.
// A file listed with a sha256 is checked by sha256, otherwise by git blob
// sha1. Files are read in a fixed-size buffer, so memory stays flat whatever
// their size. Symbolic links are followed, because a Hugging Face cache
// snapshot is made of links into its blobs folder and a loader reads what
// they point to. Mismatches are sorted by path; an error means the comparison
// could not be completed (unreadable file, cancelled context, unsafe path).
func Compare(ctx context.Context, localRoot string, s *Snapshot) ([]Mismatch, error) {
	if s == nil {
		return nil, errors.New("hub: compare: nil snapshot")
	}
	want := make(map[string]File, len(s.Files))
	for _, f := range s.Files {
		if !validFilePath(f.Path) {
			return nil, fmt.Errorf("hub: compare: the snapshot lists an unsafe path %q; refusing to read outside %s", f.Path, localRoot)
		}
		want[f.Path] = f
	}
	st, err := os.Stat(localRoot)
	if err != nil {
		return nil, fmt.Errorf("hub: compare: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("hub: compare: %s is not a folder; pass the model's folder", localRoot)
	}

	var out []Mismatch
	seen := make(map[string]bool, len(want))
	buf := make([]byte, 1<<20)
	err = filepath.WalkDir(localRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("hub: compare: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(localRoot, p)
		if err != nil {
			return fmt.Errorf("hub: compare: %w", err)
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if slices.Contains(ignoredDirs, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p) // follows links
		if err != nil {
			return fmt.Errorf("hub: compare: %s: %w (a broken link in a cache means the blob was deleted; download the file again)", rel, err)
		}
		if info.IsDir() {
			// A link to a folder: the Hub has no such thing; report it.
			if _, ok := want[rel]; !ok {
				out = append(out, Mismatch{Path: rel, Kind: Extra})
			}
			return nil
		}
		if !info.Mode().IsRegular() {
			out = append(out, Mismatch{Path: rel, Kind: Extra})
			return nil
		}
		f, ok := want[rel]
		if !ok {
			out = append(out, Mismatch{Path: rel, Kind: Extra})
			return nil
		}
		seen[rel] = true
		m, err := checkFile(ctx, p, info.Size(), f, buf)
		if err != nil {
			return fmt.Errorf("hub: compare: %s: %w", rel, err)
		}
		if m != nil {
			m.Path = rel
			out = append(out, *m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !s.Partial {
		for _, f := range s.Files {
			if !seen[f.Path] {
				want := f.SHA256
				alg := AlgSHA256
				if want == "" {
					want, alg = f.BlobSHA1, AlgGitSHA1
				}
				out = append(out, Mismatch{Path: f.Path, Kind: Missing, Want: want, Algorithm: alg})
			}
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// checkFile returns nil when the file at p matches f.
func checkFile(ctx context.Context, p string, size int64, f File, buf []byte) (*Mismatch, error) {
	if f.Size >= 0 && f.Size != size && (f.SHA256 != "" || f.BlobSHA1 != "") {
		// Different length: no need to read gigabytes to know.
		return &Mismatch{Kind: Modified, Algorithm: AlgSize,
			Want: strconv.FormatInt(f.Size, 10), Got: strconv.FormatInt(size, 10)}, nil
	}
	var h hash.Hash
	var want, alg string
	switch {
	case f.SHA256 != "":
		h, want, alg = sha256.New(), strings.ToLower(f.SHA256), AlgSHA256
	case f.BlobSHA1 != "":
		h, want, alg = sha1.New(), strings.ToLower(f.BlobSHA1), AlgGitSHA1
		fmt.Fprintf(h, "blob %d\x00", size)
	default:
		return nil, errors.New("the snapshot has no hash for this file, so it cannot be verified")
	}
	file, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	n, err := io.CopyBuffer(h, safeio.ContextReader(ctx, file), buf)
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("the file changed while it was read (%d bytes, then %d)", size, n)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got == want {
		return nil, nil
	}
	return &Mismatch{Kind: Modified, Want: want, Got: got, Algorithm: alg}, nil
}

// GitBlobSHA1 returns the git blob id of content: sha1("blob <len>\x00" +
// content), the id the Hub lists for non-LFS files.
func GitBlobSHA1(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}
