package manifest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// write creates files (name → content) below dir.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func names(m *Manifest) []string {
	var out []string
	for _, r := range m.Resources {
		out = append(out, r.Name)
	}
	return out
}

// The fixtures of the reference's TestPayload goldens
// (tests/conftest.py), rebuilt here, and the root digests and resource
// names the reference signed for them.
func TestReferenceGoldens(t *testing.T) {
	const known = "This is a simple model"
	sampleFolder := map[string]string{}
	for i := range 2 {
		for j := range 3 {
			sampleFolder[fmt.Sprintf("d%d/f%d%d", i, i, j)] = fmt.Sprintf("This is file f%d%d in d%d.", i, j, i)
		}
	}
	for i := range 4 {
		sampleFolder[fmt.Sprintf("f%d", i)] = fmt.Sprintf("This is file f%d in root.", i)
	}
	deepFolder := map[string]string{}
	for i := range 4 {
		deepFolder[fmt.Sprintf("d0/d1/d2/d3/d4/f%d", i)] = fmt.Sprintf("This is file f%d.", i)
	}
	const (
		emptyRoot  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		sampleRoot = "143cc682e555951649f18e2761c3d526d2502996f5e32dc187ef7f8a614f8df7"
		fileRoot   = "002d162f867c5eee944e5080d25829b6625be0e3f081f6fbafc7dd655ca2e178"
		fileSmall  = "57d54248751a51781ac2bed647670df0c45d3926e337021585c34a82384b6573"
	)
	cases := []struct {
		golden    string
		name      string            // model folder or file name
		files     map[string]string // nil: a single file with content single
		single    *string
		shardSize int64 // 0: files
		root      string
		first     []string
		count     int
	}{
		{"sample_model_file", "file_model", nil, ptr(known), 0, fileRoot, []string{"."}, 1},
		{"sample_model_file_shard", "file_model", nil, ptr(known), DefaultShardSize, fileRoot, []string{".:0:22"}, 1},
		{"sample_model_file_small_shards", "file_model", nil, ptr(known), 8, fileSmall, []string{".:0:8", ".:8:16", ".:16:22"}, 3},
		{"empty_model_file", "empty_file_model", nil, ptr(""), 0, "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", []string{"."}, 1},
		{"empty_model_file_small_shards", "empty_file_model", nil, ptr(""), 8, emptyRoot, nil, 0},
		{"empty_model_folder", "empty_folder_model", map[string]string{}, nil, 0, emptyRoot, nil, 0},
		{"model_folder_with_empty_file", "empty_file_inside_model", map[string]string{"empty_file": ""}, nil, 0, "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", []string{"empty_file"}, 1},
		{"model_folder_with_empty_file_shard", "empty_file_inside_model", map[string]string{"empty_file": ""}, nil, DefaultShardSize, emptyRoot, nil, 0},
		{"sample_model_folder", "sample_model", sampleFolder, nil, 0, sampleRoot, []string{"d0/f00", "d0/f01", "d0/f02", "d1/f10", "d1/f11", "d1/f12", "f0", "f1", "f2", "f3"}, 10},
		{"sample_model_folder_shard", "sample_model", sampleFolder, nil, DefaultShardSize, sampleRoot, []string{"d0/f00:0:23"}, 10},
		{"sample_model_folder_small_shards", "sample_model", sampleFolder, nil, 8, "2139af57fd2a4f324ac7cd0fc04898cce73d0871b363c8eb3fc07ab7da4c8445",
			[]string{"d0/f00:0:8", "d0/f00:8:16", "d0/f00:16:23", "d0/f01:0:8"}, 30},
		{"deep_model_folder", "deep_model", deepFolder, nil, 0, "18b5a45fe7983f7194e8ffd96c80f5f0ec53191bf4a32b6aff293f043e816d7a", []string{"d0/d1/d2/d3/d4/f0"}, 4},
		{"deep_model_folder_small_shards", "deep_model", deepFolder, nil, 8, "fe81b684c60474cea9b27ba1de9993e54bb19806664613758aa4d335ee398497", []string{"d0/d1/d2/d3/d4/f0:0:8", "d0/d1/d2/d3/d4/f0:8:16", "d0/d1/d2/d3/d4/f1:0:8"}, 8},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			model := filepath.Join(t.TempDir(), c.name)
			if c.single != nil {
				write(t, filepath.Dir(model), map[string]string{c.name: *c.single})
			} else {
				if err := os.Mkdir(model, 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, model, c.files)
			}
			opt := Options{AllowSymlinks: true, IncludeGitPaths: true}
			want := map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": true}
			if c.shardSize != 0 {
				opt.Serialization, opt.ShardSize = MethodShards, c.shardSize
				want["method"], want["shard_size"] = "shards", c.shardSize
			}
			m, err := Hash(context.Background(), model, opt)
			if err != nil {
				t.Fatal(err)
			}
			root, _ := m.RootDigest()
			if got := hex.EncodeToString(root); got != c.root {
				t.Errorf("root digest %s, golden %s", got, c.root)
			}
			if len(m.Resources) != c.count {
				t.Errorf("%d resources, golden %d: %v", len(m.Resources), c.count, names(m))
			}
			if got := names(m); len(got) < len(c.first) || !cmp.Equal(got[:len(c.first)], c.first) {
				t.Errorf("names %v, golden starts %v", got, c.first)
			}
			if m.Name != c.name {
				t.Errorf("name %q, golden %q", m.Name, c.name)
			}
			if d := cmp.Diff(want, m.Serialization()); d != "" {
				t.Errorf("serialization (-golden +got):\n%s", d)
			}
			for _, r := range m.Resources {
				wantAlg := "sha256"
				if c.shardSize != 0 {
					wantAlg = fmt.Sprintf("sha256-sharded-%d", c.shardSize)
				}
				if r.Algorithm != wantAlg {
					t.Errorf("%s: algorithm %q, want %q", r.Name, r.Algorithm, wantAlg)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Python's PurePosixPath order, not byte order; numeric shard offsets.
func TestOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a/b": "1", "a/c": "2", "a-b/c": "3", "a.b": "4", "f": strings.Repeat("x", 23), "é": "5", "Z": "6"})
	m, err := Hash(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"Z", "a/b", "a/c", "a-b/c", "a.b", "f", "é"}, names(m)); d != "" {
		t.Errorf("files order (-want +got):\n%s", d)
	}
	m, err = Hash(context.Background(), dir, Options{Serialization: MethodShards, ShardSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"Z:0:1", "a/b:0:1", "a/c:0:1", "a-b/c:0:1", "a.b:0:1", "f:0:8", "f:8:16", "f:16:23", "é:0:1"}, names(m)); d != "" {
		t.Errorf("shards order (-want +got):\n%s", d)
	}
}

func TestIgnore(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		".git/HEAD": "ref", ".gitattributes": "x", ".github/workflows/ci.yml": "y", ".gitignore": "z",
		"sub/.git/HEAD": "kept: only the root's git paths are ignored",
		"model.bin":     "m", "cache/a": "a", "cache/b": "b", "cache2": "c", "README.md": "r",
	})
	m, err := Hash(context.Background(), dir, Options{Ignore: []string{"cache", "./README.md", filepath.Join(dir, "model.sig"), "../outside", "x/../../y"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"cache2", "model.bin", "sub/.git/HEAD"}, names(m)); d != "" {
		t.Errorf("resources (-want +got):\n%s", d)
	}
	want := []any{".git", ".gitattributes", ".github", ".gitignore", "README.md", "cache", "model.sig"}
	if d := cmp.Diff(want, jsonRoundTrip(t, m.Serialization())["ignore_paths"]); d != "" {
		t.Errorf("ignore_paths (-want +got):\n%s", d)
	}

	m, err = Hash(context.Background(), dir, Options{IncludeGitPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Resources) != 10 {
		t.Errorf("with git paths: %v", names(m))
	}
	if _, ok := m.Serialization()["ignore_paths"]; ok {
		t.Errorf("ignore_paths recorded with nothing ignored: %v", m.Serialization())
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, map[string]string{"target": "This is a simple model", "d/f": "in a linked folder"})
	dir := t.TempDir()
	write(t, dir, map[string]string{"real": "r"})
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink(filepath.Join(outside, "d"), filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}

	_, err := Hash(context.Background(), dir, Options{})
	if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), filepath.Join(dir, "link")) {
		t.Fatalf("refused link: got %v", err)
	}
	m, err := Hash(context.Background(), dir, Options{AllowSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"link", "real"}, names(m)); d != "" {
		t.Errorf("allowed links (-want +got):\n%s", d)
	}
	if got := hex.EncodeToString(m.Resources[0].Digest); got != "3aab065c7181a173b5dd9e9d32a9f79923440b413be1e1ffcdba26a7365f719b" {
		t.Errorf("link digest %s: not the target's", got)
	}
	if m.Serialization()["allow_symlinks"] != true {
		t.Errorf("serialization %v", m.Serialization())
	}
	// An ignored link is not an error (ignores are applied first).
	if _, err := Hash(context.Background(), dir, Options{Ignore: []string{"link", "linkdir"}}); err != nil {
		t.Errorf("ignored links: %v", err)
	}
	// A broken link is an error even when links are allowed.
	if err := os.Symlink(filepath.Join(outside, "nothing"), filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(context.Background(), dir, Options{AllowSymlinks: true}); !errors.Is(err, ErrSpecialFile) {
		t.Errorf("broken link: got %v", err)
	}
}

// Every algorithm, every serialization, every worker count: the same
// digests as hashing the bytes directly.
func TestAlgorithms(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*bufSize)/16+7) // several buffers, odd tail
	write(t, dir, map[string]string{"big": string(big), "small": "s", "empty": ""})
	for _, alg := range []string{SHA256, BLAKE2b, BLAKE3} {
		for _, ser := range []string{MethodFiles, MethodShards} {
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/%d", alg, ser, workers), func(t *testing.T) {
					const shard = bufSize + 5
					m, err := Hash(context.Background(), dir, Options{Algorithm: alg, Serialization: ser, ShardSize: shard, Workers: workers})
					if err != nil {
						t.Fatal(err)
					}
					if alg == BLAKE3 {
						ser = MethodFiles // the reference never shards BLAKE3
					}
					if m.Options.Serialization != ser || m.Serialization()["hash_type"] != alg {
						t.Errorf("options %+v", m.Options)
					}
					want := map[string][]byte{}
					content := map[string][]byte{"big": big, "small": []byte("s"), "empty": nil}
					for name, b := range content {
						if ser == MethodFiles {
							want[name] = sum(alg, b)
							continue
						}
						for off := 0; off < len(b); off += shard {
							end := min(off+shard, len(b))
							want[fmt.Sprintf("%s:%d:%d", name, off, end)] = sum(alg, b[off:end])
						}
					}
					got := map[string][]byte{}
					for _, r := range m.Resources {
						got[r.Name] = r.Digest
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("digests (-want +got):\n%s", d)
					}
					if m.Bytes != int64(len(big)+1) {
						t.Errorf("bytes %d", m.Bytes)
					}
				})
			}
		}
	}
}

func sum(alg string, b []byte) []byte {
	h := newHash(alg)
	h.Write(b)
	return h.Sum(nil)
}

func TestProgressAndCancel(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a": strings.Repeat("a", 3*bufSize), "b": "b"})
	var last, total int64
	_, err := Hash(context.Background(), dir, Options{Progress: func(d, t int64) { last, total = d, t }})
	if err != nil {
		t.Fatal(err)
	}
	if last != total || total != 3*bufSize+1 {
		t.Errorf("progress ended at %d of %d", last, total)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, opt := range []Options{{Algorithm: "md5"}, {Serialization: "tensors"}, {Serialization: MethodShards, ShardSize: -1}, {Ignore: []string{""}}} {
		if _, err := Hash(context.Background(), dir, opt); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v", opt, err)
		}
	}
	if _, err := Hash(context.Background(), filepath.Join(dir, "nope"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing model: got %v", err)
	}
}

func TestDiff(t *testing.T) {
	d := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	want := &Manifest{Resources: []Resource{{"a", "sha256", d(1)}, {"b", "sha256", d(2)}, {"c/d", "sha256", d(3)}}}
	got := &Manifest{Resources: []Resource{{"a", "sha256", d(1)}, {"b", "sha256", d(9)}, {"c-e", "sha256", d(4)}}}
	if diff := cmp.Diff([]Difference{{"b", Modified}, {"c/d", Missing}, {"c-e", Extra}}, Diff(want, got)); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	if Equal(want, got) || !Equal(want, want) {
		t.Error("Equal")
	}
	// The reference's shard algorithm spelling and the spec's bare one agree.
	a := &Manifest{Resources: []Resource{{"f:0:8", "sha256-sharded-8", d(1)}}}
	b := &Manifest{Resources: []Resource{{"f:0:8", "sha256", d(1)}}}
	if !Equal(a, b) {
		t.Error("sha256-sharded-8 and sha256 differ")
	}
}

func TestParseShardName(t *testing.T) {
	p, s, e, err := ParseShardName("dir/a:b:16:23")
	if err != nil || p != "dir/a:b" || s != 16 || e != 23 {
		t.Errorf("got %q %d %d %v", p, s, e, err)
	}
	for _, bad := range []string{"f", "f:1", "f:x:2", "f:3:2", "f:-1:2"} {
		if _, _, _, err := ParseShardName(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
