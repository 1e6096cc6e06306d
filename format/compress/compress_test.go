package compress

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// decompress sniffs data, opens it and reads it all.
func decompress(t testing.TB, data []byte, lim safeio.Limits) (Kind, []byte, error) {
	t.Helper()
	kind, ok := Sniff(data)
	if !ok {
		t.Fatalf("Sniff(% x…) = false", data[:min(len(data), 16)])
	}
	r, err := NewReader(kind, bytes.NewReader(data), int64(len(data)), lim)
	if err != nil {
		return kind, nil, err
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	return kind, out, err
}

// The joblib files are written by real joblib (testdata/gen.py): a small
// dict dumped with each of its compressors.
func TestJoblibFiles(t *testing.T) {
	tests := map[string]Kind{
		"joblib.pkl.z":    Zlib, // compress=3: joblib's default compressor
		"joblib.pkl.gz":   Gzip,
		"joblib.pkl.bz2":  Bzip2,
		"joblib.pkl.lzma": LZMA,
		"joblib.pkl.xz":   XZ,
		"joblib.pkl.lz4":  LZ4,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			kind, out, err := decompress(t, readFixture(t, name), safeio.Default())
			if err != nil {
				t.Fatalf("decompress: %v", err)
			}
			if kind != want {
				t.Errorf("Sniff = %s, want %s", kind, want)
			}
			if len(out) < 2 || out[0] != 0x80 || out[len(out)-1] != '.' {
				t.Errorf("decompressed % x… is not a pickle (PROTO … STOP)", out[:min(len(out), 8)])
			}
		})
	}
}

// The payload files are payload.bin compressed by Python and by the xz and
// zstd commands, several as concatenated streams, which Python reads as one.
func TestPayloadFiles(t *testing.T) {
	want := readFixture(t, "payload.bin")
	tests := map[string]Kind{
		"payload.bz2":        Bzip2,
		"payload.multi.bz2":  Bzip2,
		"payload.lzma":       LZMA,
		"payload.multi.lzma": LZMA, // a .lzma stream, then an .xz stream
		"payload.sha256.xz":  XZ,
		"payload.nocheck.xz": XZ,
		"payload.multi.xz":   XZ,
		"payload.blocks.xz":  XZ, // xz -T2: many blocks whose headers hold their sizes
		"payload.multi.zlib": Zlib,
		"payload.multi.lz4":  LZ4,
		"payload.multi.gz":   Gzip,
		"payload.zst":        Zstd,
	}
	for name, wantKind := range tests {
		t.Run(name, func(t *testing.T) {
			kind, out, err := decompress(t, readFixture(t, name), safeio.Default())
			if err != nil {
				t.Fatalf("decompress: %v", err)
			}
			if kind != wantKind {
				t.Errorf("Sniff = %s, want %s", kind, wantKind)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("decompressed %d bytes, want the %d of payload.bin", len(out), len(want))
			}
		})
	}
}

// encoders compress with the Go encoders of each kind that has one, in
// several configurations.
var encoders = map[string]func(testing.TB, []byte) []byte{
	"gzip": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
	},
	"zlib fastest": func(t testing.TB, b []byte) []byte { return zlibLevel(t, b, zlib.BestSpeed) },
	"zlib default": func(t testing.TB, b []byte) []byte { return zlibLevel(t, b, zlib.DefaultCompression) },
	"zlib best":    func(t testing.TB, b []byte) []byte { return zlibLevel(t, b, zlib.BestCompression) },
	"zlib stored":  func(t testing.TB, b []byte) []byte { return zlibLevel(t, b, zlib.NoCompression) },
	"xz": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser { return must(xz.NewWriter(w)) })
	},
	"xz blocks": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser {
			return must(xz.WriterConfig{BlockSize: 1000, DictCap: 1 << 16, CheckSum: xz.SHA256}.NewWriter(w))
		})
	},
	"lzma": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser { return must(lzma.NewWriter(w)) })
	},
	"lzma sized": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser {
			// The writer needs an end marker for an empty stream.
			return must(lzma.WriterConfig{SizeInHeader: true, Size: int64(len(b)), EOSMarker: len(b) == 0, DictCap: 1 << 16}.NewWriter(w))
		})
	},
	"lz4": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser { return lz4.NewWriter(w) })
	},
	"lz4 options": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser {
			zw := lz4.NewWriter(w)
			if err := zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.BlockChecksumOption(true), lz4.SizeOption(uint64(len(b)))); err != nil {
				t.Fatal(err)
			}
			return zw
		})
	},
	"zstd": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser { return must(zstd.NewWriter(w)) })
	},
	"zstd best": func(t testing.TB, b []byte) []byte {
		return encode(t, b, func(w io.Writer) io.WriteCloser {
			return must(zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderCRC(true)))
		})
	},
}

var encoderKinds = map[string]Kind{
	"gzip": Gzip, "zlib fastest": Zlib, "zlib default": Zlib, "zlib best": Zlib, "zlib stored": Zlib,
	"xz": XZ, "xz blocks": XZ, "lzma": LZMA, "lzma sized": LZMA, "lz4": LZ4, "lz4 options": LZ4,
	"zstd": Zstd, "zstd best": Zstd,
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func encode(t testing.TB, b []byte, newWriter func(io.Writer) io.WriteCloser) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := newWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zlibLevel(t testing.TB, b []byte, level int) []byte {
	return encode(t, b, func(w io.Writer) io.WriteCloser { return must(zlib.NewWriterLevel(w, level)) })
}

func inputs() map[string][]byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	return map[string][]byte{
		"empty":  {},
		"byte":   {0x80},
		"text":   []byte(strings.Repeat("the quick brown fox jumps over the lazy dog\n", 2000)),
		"random": random,
	}
}

func TestRoundTrip(t *testing.T) {
	for enc, compress := range encoders {
		for in, data := range inputs() {
			t.Run(enc+"/"+in, func(t *testing.T) {
				kind, out, err := decompress(t, compress(t, data), safeio.Default())
				if err != nil {
					t.Fatalf("decompress: %v", err)
				}
				if kind != encoderKinds[enc] {
					t.Errorf("Sniff = %s, want %s", kind, encoderKinds[enc])
				}
				if !bytes.Equal(out, data) {
					t.Errorf("round trip lost data: got %d bytes, want %d", len(out), len(data))
				}
			})
		}
	}
}

// TestBombGzip is the classic decompression bomb: 100 MiB of zeros in about
// 100 KB. The default ratio limit stops it long before the end.
func TestBombGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := must(gzip.NewWriterLevel(&buf, gzip.BestCompression))
	if _, err := io.Copy(zw, io.LimitReader(zeros{}, 100<<20)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	bomb := buf.Bytes()

	r, err := NewReader(Gzip, bytes.NewReader(bomb), int64(len(bomb)), safeio.Default())
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	le, ok := safeio.IsLimit(err)
	if !ok || le.Limit != "MaxRatio" {
		t.Fatalf("read %d bytes of %d compressed, error %v; want a MaxRatio LimitError", n, len(bomb), err)
	}
	if max := int64(len(bomb))*200 + 1<<20; n != max {
		t.Errorf("read %d bytes before the limit, want exactly %d", n, max)
	}
}

// TestBombEveryKind compresses 4 MiB of zeros with every encoder, then
// reads it with a ratio of 20, and again with a MaxMemberBytes of 1 MiB.
func TestBombEveryKind(t *testing.T) {
	zero := make([]byte, 4<<20)
	bombs := map[string][]byte{"bzip2": readFixture(t, "zeros.bz2")}
	for enc, compress := range encoders {
		if enc == "zlib stored" || enc == "xz blocks" {
			continue // no bombs: stored, or 1000-byte blocks
		}
		bombs[enc] = compress(t, zero)

	}
	for name, bomb := range bombs {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				limit string
				lim   safeio.Limits
			}{
				{"MaxRatio", safeio.Limits{MaxMemberBytes: 1 << 30, MaxRatio: 20}},
				{"MaxMemberBytes", safeio.Limits{MaxMemberBytes: 1 << 20, MaxRatio: 1 << 20}},
			} {
				kind, out, err := decompress(t, bomb, tc.lim)
				le, ok := safeio.IsLimit(err)
				if !ok || le.Limit != tc.limit {
					t.Errorf("%s: %s of %d bytes gave %d bytes, error %v; want a %s LimitError", tc.limit, kind, len(bomb), len(out), err, tc.limit)
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestExactlyAtLimit: output that ends exactly at MaxMemberBytes is fine.
func TestExactlyAtLimit(t *testing.T) {
	want := readFixture(t, "payload.bin")
	lim := safeio.Default()
	lim.MaxMemberBytes = int64(len(want))
	if _, out, err := decompress(t, readFixture(t, "payload.zst"), lim); err != nil || !bytes.Equal(out, want) {
		t.Errorf("got %d bytes, %v", len(out), err)
	}
	lim.MaxMemberBytes--
	if _, _, err := decompress(t, readFixture(t, "payload.zst"), lim); err == nil {
		t.Errorf("one byte over MaxMemberBytes: no error")
	}
}

// TestUnknownSize: a negative compressed size turns the ratio check off;
// MaxMemberBytes still applies.
func TestUnknownSize(t *testing.T) {
	bomb := encoders["gzip"](t, make([]byte, 4<<20))
	lim := safeio.Limits{MaxMemberBytes: 8 << 20, MaxRatio: 2}
	r, err := NewReader(Gzip, bytes.NewReader(bomb), -1, lim)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, r); err != nil || n != 4<<20 {
		t.Errorf("read %d bytes, %v", n, err)
	}
}

// TestTruncated cuts each stream at many points: every cut must be an
// error, never a panic or a quiet short read.
func TestTruncated(t *testing.T) {
	streams := map[string][]byte{
		"bzip2": readFixture(t, "payload.bz2"),
		"lzma":  readFixture(t, "payload.lzma"),
		"xz":    readFixture(t, "payload.blocks.xz"),
		"zstd":  readFixture(t, "payload.zst"),
	}
	text := inputs()["text"][:20000]
	for enc, compress := range encoders {
		streams[enc] = compress(t, text)
	}
	for name, data := range streams {
		t.Run(name, func(t *testing.T) {
			kind, _ := Sniff(data)
			for cut := 0; cut < len(data); cut += 1 + cut/64 {
				r, err := NewReader(kind, bytes.NewReader(data[:cut]), int64(cut), safeio.Default())
				if err == nil {
					_, err = io.ReadAll(r)
				}
				if err == nil {
					t.Errorf("cut at %d of %d: no error", cut, len(data))
				}
			}
		})
	}
}

// TestTrailingData: bytes after the last stream that are not another stream
// are an error, so nothing hides behind a valid stream.
func TestTrailingData(t *testing.T) {
	text := inputs()["text"][:5000]
	streams := map[string][]byte{"bzip2": readFixture(t, "payload.bz2")}
	for enc, compress := range encoders {
		streams[enc] = compress(t, text)
	}
	for name, data := range streams {
		for _, tail := range []string{"garbage!", "\x00\x00\x00\x00\x00"} {
			t.Run(fmt.Sprintf("%s/%q", name, tail), func(t *testing.T) {
				_, out, err := decompress(t, append(bytes.Clone(data), tail...), safeio.Default())
				if err == nil {
					t.Errorf("no error; got %d bytes", len(out))
				}
			})
		}
	}
}

// TestDictionaryBombs are tiny streams whose headers ask for a huge window
// or dictionary, which decoders allocate up front. They must fail with a
// LimitError before any such allocation.
func TestDictionaryBombs(t *testing.T) {
	small := encoders["xz"](t, []byte("hello"))
	tests := map[string][]byte{
		"xz 4 GiB dictionary":     xzWithDict(t, small, 40),
		"xz 1.5 GiB dictionary":   xzWithDict(t, small, 37),
		"xz second block 3 GiB":   xzWithDict(t, encoders["xz blocks"](t, bytes.Repeat([]byte("hello"), 500)), 39),
		"lzma 4 GiB dictionary":   append([]byte{0x5d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}, make([]byte, 20)...),
		"zstd 2 GiB window":       append([]byte("\x28\xb5\x2f\xfd\x00\xa8\x29\x00\x00"), "hello"...),
		"zstd 1 TiB content size": append(binary.LittleEndian.AppendUint64([]byte("\x28\xb5\x2f\xfd\xe0"), 1<<40), "\x29\x00\x00hello"...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			kind, out, err := decompress(t, data, safeio.Default())
			runtime.ReadMemStats(&after)
			if _, ok := safeio.IsLimit(err); !ok {
				t.Errorf("%s: got %d bytes, error %v; want a LimitError", kind, len(out), err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestDictionaryChurn: an xz file of many blocks, each declaring a 64 MiB
// dictionary the decoder allocates anew, stops at a LimitError once the
// dictionaries add up to 16 times what one may be.
func TestDictionaryChurn(t *testing.T) {
	data := encoders["xz blocks"](t, inputs()["random"][:50_000])
	blocks := 0
	for i := 12; ; blocks++ {
		j := bytes.Index(data[i:], []byte{0x02, 0x00, 0x21, 0x01})
		if j < 0 {
			break
		}
		i += j
		data[i+4] = 28 // 64 MiB
		binary.LittleEndian.PutUint32(data[i+8:], crc32.ChecksumIEEE(data[i:i+8]))
		i += 12
	}
	if blocks < 40 {
		t.Fatalf("only %d blocks", blocks)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, out, err := decompress(t, data, safeio.Default())
	runtime.ReadMemStats(&after)
	if le, ok := safeio.IsLimit(err); !ok || !strings.Contains(le.Detail, "add up") {
		t.Errorf("%d blocks gave %d bytes, error %v; want a LimitError for the sum of dictionaries", blocks, len(out), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<30 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

// xzWithDict rewrites the LZMA2 dictionary code of the last block header of
// an xz file made by xz.NewWriter (block headers without sizes, one filter)
// and fixes its CRC.
func xzWithDict(t *testing.T, data []byte, code byte) []byte {
	t.Helper()
	data = bytes.Clone(data)
	// Block headers of xz.Writer: size byte 2 (12 bytes), flags 0, filter
	// 0x21 with one properties byte, padding, CRC32.
	pat := []byte{0x02, 0x00, 0x21, 0x01}
	i := bytes.LastIndex(data, pat)
	if i < 0 {
		t.Fatal("no block header found")
	}
	data[i+4] = code
	binary.LittleEndian.PutUint32(data[i+8:], crc32.ChecksumIEEE(data[i:i+8]))
	return data
}

// TestDictionaryWithinBound: a stream with a large declared dictionary is
// fine when the limits allow that much output, as they do for real models.
func TestDictionaryWithinBound(t *testing.T) {
	data := readFixture(t, "payload.lzma") // Python: 4 MiB dictionary, unknown size
	lim := safeio.Default()
	if _, _, err := decompress(t, data, lim); err != nil {
		t.Errorf("default limits: %v", err)
	}
}

// TestSniffNotCompressed: the starts of common uncompressed files must not
// sniff as compressed.
func TestSniffNotCompressed(t *testing.T) {
	safetensors := func(n uint64) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`...)
	}
	tests := map[string][]byte{
		"pickle 2":       []byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01u."),
		"pickle 4":       []byte("\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."),
		"pickle 0":       []byte("(dp0\nS'a'\np1\nI1\ns."),
		"zip":            []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00archive/data.pkl"),
		"npy":            []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"),
		"json":           []byte(`{"architectures": ["BertModel"], "hidden_size": 768}`),
		"gguf":           []byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"),
		"png":            []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"),
		"hdf5":           []byte("\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00"),
		"onnx":           []byte("\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x9a\x01\n"),
		"text x^":        []byte("x^2 + y^2 = z^2, for some positive integers x, y and z"),
		"x\\x01 stored":  []byte("x\x01\x00\x00\x00\x00\x00\x00"),
		"7z":             []byte("7z\xbc\xaf\x27\x1c\x00\x04"),
		"tar":            append(make([]byte, 257), "ustar\x0000"...),
		"empty":          nil,
		"gzip too short": []byte("\x1f\x8b\x08"),
		"gzip method 0":  []byte("\x1f\x8b\x00\x00\x00\x00\x00\x00\x00\x03"),
		"bzip2 bad size": []byte("BZh0\x31\x41\x59\x26\x53\x59"),
		"lz4 bad flags":  []byte("\x04\x22\x4d\x18\x00\x40\x00"),
		"zlib with dict": []byte("\x78\xbb\x00\x00\x00\x01"),
	}
	for _, n := range []uint64{0x0178, 0x5e78, 0x9c78, 0xda78, 0x015e78, 0x025e78, 0x035e78, 0x5d, 0x100005d, 0x02000000005d} {
		tests[fmt.Sprintf("safetensors %#x", n)] = safetensors(n)
	}
	for name, data := range tests {
		if kind, ok := Sniff(data); ok {
			t.Errorf("%s: Sniff = %s", name, kind)
		}
	}
}

// TestSniffRandom bounds the false positive rate on random bytes.
func TestSniffRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, SniffLen)
	hits := map[Kind]int{}
	const n = 200_000
	for range n {
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		// Half of them start with the zlib byte, the weakest magic.
		if rnd.IntN(2) == 0 {
			b[0] = 0x78
		}
		if k, ok := Sniff(b); ok {
			hits[k]++
		}
	}
	total := 0
	for _, c := range hits {
		total += c
	}
	if total > 5 {
		t.Errorf("%d of %d random headers sniffed as compressed: %v", total, n, hits)
	}
}

func TestSniffShortPrefixes(t *testing.T) {
	// Every prefix of a real stream sniffs as that kind, or not at all.
	for enc, compress := range encoders {
		data := compress(t, inputs()["text"])
		for i := 0; i <= min(len(data), 2*SniffLen); i++ {
			if k, ok := Sniff(data[:i]); ok && k != encoderKinds[enc] {
				t.Errorf("%s: prefix of %d bytes sniffs as %s", enc, i, k)
			}
		}
		if k, ok := Sniff(data[:min(len(data), SniffLen)]); !ok || k != encoderKinds[enc] {
			t.Errorf("%s: %d bytes sniff as %q, %v", enc, SniffLen, k, ok)
		}
	}
}

func TestNewReaderErrors(t *testing.T) {
	if _, err := NewReader("rar", strings.NewReader("x"), 1, safeio.Default()); err == nil {
		t.Error("unknown kind: no error")
	}
	for _, k := range Kinds {
		if _, err := NewReader(k, strings.NewReader(""), 0, safeio.Default()); err == nil {
			t.Errorf("%s: empty input: no error", k)
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("%s: empty input: %v", k, err)
		}
		if _, err := NewReader(k, strings.NewReader("not compressed at all, just some text"), 37, safeio.Default()); err == nil {
			r, _ := NewReader(k, strings.NewReader("not compressed at all, just some text"), 37, safeio.Default())
			if _, err := io.ReadAll(r); err == nil {
				t.Errorf("%s: text input: no error", k)
			}
		}
	}
}

func TestClose(t *testing.T) {
	for enc, compress := range encoders {
		data := compress(t, []byte("hello"))
		r, err := NewReader(encoderKinds[enc], bytes.NewReader(data), int64(len(data)), safeio.Default())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: Close: %v", enc, err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: second Close: %v", enc, err)
		}
	}
}

func TestKindsComplete(t *testing.T) {
	var got []Kind
	for k := range sniffers {
		got = append(got, k)
	}
	if diff := cmp.Diff(Kinds, got, cmpSortKinds); diff != "" {
		t.Errorf("sniffers and Kinds differ:\n%s", diff)
	}
}

var cmpSortKinds = cmp.Transformer("sort", func(in []Kind) map[Kind]bool {
	m := map[Kind]bool{}
	for _, k := range in {
		m[k] = true
	}
	return m
})

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func BenchmarkSniff(b *testing.B) {
	headers := map[string][]byte{
		"zlib": readFixture(b, "joblib.pkl.z"),
		"lzma": readFixture(b, "payload.lzma"),
		"none": []byte("\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."),
	}
	for name, h := range headers {
		h = h[:min(len(h), SniffLen)]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Sniff(h)
			}
		})
	}
}

func BenchmarkDecompress(b *testing.B) {
	data := inputs()["text"]
	for _, enc := range []string{"gzip", "zlib default", "xz", "lz4", "zstd"} {
		c := encoders[enc](b, data)
		b.Run(enc, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := NewReader(encoderKinds[enc], bytes.NewReader(c), int64(len(c)), safeio.Default())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
