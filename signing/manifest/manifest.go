package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Serialization methods and hash algorithms, spelled as in the OMS predicate.
const (
	MethodFiles  = "files"
	MethodShards = "shards"

	SHA256  = "sha256"
	BLAKE2b = "blake2b" // BLAKE2b-512, Python's hashlib.blake2b()
	BLAKE3  = "blake3"

	// DefaultShardSize is the reference's shard size (1 GB, not 1 GiB).
	DefaultShardSize int64 = 1_000_000_000
)

// GitPaths are ignored at the model root unless Options.IncludeGitPaths,
// as the reference does by default.
var GitPaths = []string{".git", ".gitattributes", ".github", ".gitignore"}

// Errors callers branch on; the message around them names the path.
var (
	// ErrSymlink: a symbolic link in the model and AllowSymlinks is off.
	ErrSymlink = errors.New("symbolic link")
	// ErrSpecialFile: neither a regular file nor a directory (a socket, a
	// pipe, a device, a broken link).
	ErrSpecialFile = errors.New("not a regular file or directory")
	// ErrOptions: the options are invalid.
	ErrOptions = errors.New("invalid hashing options")
)

// Options choose how a model is hashed. The zero value is the reference's
// default: files, SHA-256, git paths ignored, no links.
type Options struct {
	Algorithm     string   // "sha256" (default), "blake2b", "blake3"
	Serialization string   // "files" (default) or "shards"
	ShardSize     int64    // shards mode; default DefaultShardSize
	Ignore        []string // paths relative to the model root (absolute ones inside it are accepted); a directory drops its subtree
	// IncludeGitPaths hashes .git, .gitattributes, .github and .gitignore
	// too (the reference's --no-ignore-git-paths).
	IncludeGitPaths bool
	AllowSymlinks   bool
	Workers         int // default GOMAXPROCS
	// Progress, if set, is called from one goroutine a few times a second
	// and once at the end with the bytes hashed and the bytes to hash.
	Progress func(done, total int64)
}

// Resource is one file or shard of the manifest, as the OMS predicate lists it.
type Resource struct {
	Name      string // "path/to/file", "." for a single-file model, "path:start:end" for a shard
	Algorithm string // "sha256", "blake2b", "blake3", or "sha256-sharded-N" for a shard
	Digest    []byte
}

// Manifest is the hashed model.
type Manifest struct {
	Name      string     // the statement's subject name: the final component of the model path
	Options   Options    // as used: defaults filled, Ignore normalised (root-relative, '/', sorted)
	Resources []Resource // in the reference's order
	Bytes     int64      // bytes hashed
}

// RootDigest is the digest of the in-toto statement's subject: SHA-256
// over the concatenated raw digests of the resources, in manifest order.
// A manifest with no resources has the digest of the empty string, as in
// the reference.
func (m *Manifest) RootDigest() ([]byte, error) {
	h := sha256.New()
	for _, r := range m.Resources {
		if len(r.Digest) == 0 {
			return nil, fmt.Errorf("manifest: resource %q has no digest", r.Name)
		}
		h.Write(r.Digest)
	}
	return h.Sum(nil), nil
}

// Serialization is the predicate's "serialization" object as the reference
// writes it: method, hash_type, allow_symlinks, shard_size for shards (an
// integer here; the reference's protobuf Struct writes 8.0, which parses
// to the same number), and ignore_paths when any path is ignored.
func (m *Manifest) Serialization() map[string]any {
	o := m.Options
	s := map[string]any{
		"method":         o.Serialization,
		"hash_type":      o.Algorithm,
		"allow_symlinks": o.AllowSymlinks,
	}
	if o.Serialization == MethodShards {
		s["shard_size"] = o.ShardSize
	}
	if ig := ignorePaths(o); len(ig) > 0 {
		s["ignore_paths"] = ig
	}
	return s
}

// IgnorePaths are the root-relative paths left out of the manifest: the
// git paths unless included, and Options.Ignore; sorted, without duplicates.
func (m *Manifest) IgnorePaths() []string { return ignorePaths(m.Options) }

func ignorePaths(o Options) []string {
	var all []string
	if !o.IncludeGitPaths {
		all = append(all, GitPaths...)
	}
	all = append(all, o.Ignore...)
	sort.Strings(all)
	out := all[:0]
	for i, p := range all {
		if i == 0 || p != all[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// ShardAlgorithm is the algorithm name the reference writes on each shard
// resource, e.g. "sha256-sharded-1000000000".
func ShardAlgorithm(hash string, shardSize int64) string {
	return hash + "-sharded-" + strconv.FormatInt(shardSize, 10)
}

// BaseAlgorithm strips the "-sharded-N" suffix of a shard algorithm name.
func BaseAlgorithm(alg string) string {
	if i := strings.Index(alg, "-sharded-"); i > 0 {
		return alg[:i]
	}
	return alg
}

// ParseShardName splits "path:start:end". The offsets are the last two
// fields, since a path may itself contain ':'.
func ParseShardName(name string) (path string, start, end int64, err error) {
	j := strings.LastIndexByte(name, ':')
	if j < 0 {
		return "", 0, 0, fmt.Errorf("manifest: shard name %q: want path:start:end", name)
	}
	i := strings.LastIndexByte(name[:j], ':')
	if i < 0 {
		return "", 0, 0, fmt.Errorf("manifest: shard name %q: want path:start:end", name)
	}
	start, err1 := strconv.ParseInt(name[i+1:j], 10, 64)
	end, err2 := strconv.ParseInt(name[j+1:], 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return "", 0, 0, fmt.Errorf("manifest: shard name %q: offsets are not 0 <= start <= end", name)
	}
	return name[:i], start, end, nil
}

// lessPath orders root-relative '/' paths as Python's PurePosixPath does:
// component by component, each compared by code point (byte order of
// UTF-8 is code point order).
func lessPath(a, b string) bool { return comparePath(a, b) < 0 }

func comparePath(a, b string) int {
	for {
		ai := strings.IndexByte(a, '/')
		bi := strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if c := strings.Compare(ac, bc); c != 0 {
			return c
		}
		switch {
		case ai < 0 && bi < 0:
			return 0
		case ai < 0: // a is a prefix of b: shorter first
			return -1
		case bi < 0:
			return 1
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

// Kinds of Difference.
const (
	Modified = "modified" // in both, different digest or algorithm
	Missing  = "missing"  // expected, not found
	Extra    = "extra"    // found, not expected
)

// Difference is one resource on which two manifests disagree.
type Difference struct {
	Name string
	Kind string // Modified, Missing or Extra
}

func (d Difference) String() string { return d.Kind + ": " + d.Name }

// Diff compares the expected manifest want (the signed one) with got (the
// local one) resource by resource: the same names, and for each the same
// digest under the same base algorithm ("sha256-sharded-N" and "sha256"
// are one algorithm). The result is sorted by name; nil when they agree.
func Diff(want, got *Manifest) []Difference {
	type entry struct {
		alg    string
		digest []byte
	}
	have := make(map[string]entry, len(got.Resources))
	for _, r := range got.Resources {
		have[r.Name] = entry{BaseAlgorithm(r.Algorithm), r.Digest}
	}
	var diffs []Difference
	seen := make(map[string]bool, len(want.Resources))
	for _, r := range want.Resources {
		seen[r.Name] = true
		e, ok := have[r.Name]
		switch {
		case !ok:
			diffs = append(diffs, Difference{r.Name, Missing})
		case e.alg != BaseAlgorithm(r.Algorithm) || !bytes.Equal(e.digest, r.Digest):
			diffs = append(diffs, Difference{r.Name, Modified})
		}
	}
	for _, r := range got.Resources {
		if !seen[r.Name] {
			diffs = append(diffs, Difference{r.Name, Extra})
		}
	}
	sort.SliceStable(diffs, func(i, j int) bool { return lessPath(diffs[i].Name, diffs[j].Name) })
	return diffs
}

// Equal reports whether the two manifests list the same resources with the
// same digests (Diff is empty). Order and options are not compared.
func Equal(a, b *Manifest) bool { return len(Diff(a, b)) == 0 }
