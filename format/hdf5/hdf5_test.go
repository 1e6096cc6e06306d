package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// builder writes a minimal HDF5 file by hand: a version 0 superblock whose
// root entry points at a version 1 object header, and whatever else a test
// appends. Addresses are absolute (base 0).
type builder struct{ b []byte }

func (w *builder) u8(v byte)    { w.b = append(w.b, v) }
func (w *builder) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *builder) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *builder) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *builder) pad8() {
	for len(w.b)%8 != 0 {
		w.b = append(w.b, 0)
	}
}

const rootAt = 96 // superblock v0 with 8-byte offsets is 96 bytes

func superblock0() *builder {
	w := &builder{}
	w.b = append(w.b, Signature...)
	w.b = append(w.b, 0, 0, 0, 0, 0, 8, 8, 0)
	w.u16(4)
	w.u16(16)
	w.u32(0)
	w.u64(0)          // base
	w.u64(^uint64(0)) // free space
	w.u64(0)          // EOF (patched)
	w.u64(^uint64(0)) // driver
	w.u64(0)          // link name offset
	w.u64(rootAt)     // object header
	w.u32(1)
	w.u32(0)
	w.b = append(w.b, make([]byte, 16)...)
	if len(w.b) != rootAt {
		panic(len(w.b))
	}
	return w
}

// msg1 encodes a version 1 header message.
func msg1(typ uint16, data []byte) []byte {
	w := &builder{}
	w.u16(typ)
	n := (len(data) + 7) &^ 7
	w.u16(uint16(n))
	w.u8(0)
	w.b = append(w.b, 0, 0, 0)
	w.b = append(w.b, data...)
	w.pad8()
	return w.b
}

// attr1 encodes a version 1 attribute message holding a fixed-length string.
func attr1(name, value string) []byte {
	w := &builder{}
	w.u8(1)
	w.u8(0)
	w.u16(uint16(len(name) + 1))
	w.u16(8)
	w.u16(8)
	w.b = append(w.b, name...)
	w.u8(0)
	w.pad8()
	w.u8(0x13) // version 1, class string
	w.b = append(w.b, 0, 0, 0)
	w.u32(uint32(len(value)))
	w.u8(1) // dataspace v1, rank 0: scalar
	w.u8(0)
	w.u8(0)
	w.b = append(w.b, 0, 0, 0, 0, 0)
	w.b = append(w.b, value...)
	return w.b
}

func continuation(addr, n uint64) []byte {
	w := &builder{}
	w.u64(addr)
	w.u64(n)
	return msg1(0x10, w.b)
}

// file1 is a file whose root header holds msgs.
func file1(msgs ...[]byte) []byte {
	w := superblock0()
	body := bytes.Join(msgs, nil)
	w.u8(1)
	w.u8(0)
	w.u16(uint16(len(msgs)))
	w.u32(1)
	w.u32(uint32(len(body)))
	w.u32(0)
	w.b = append(w.b, body...)
	return w.b
}

func read(b []byte) (map[string]Attribute, error) {
	lim := DefaultLimits()
	lim.MaxHeapBytes = 1 << 20
	lim.MaxHeaderBytes = 1 << 20
	return ReadRootAttributes(bytes.NewReader(b), int64(len(b)), lim)
}

func TestBuiltFile(t *testing.T) {
	a, err := read(file1(msg1(0x0C, attr1("model_config", `{"class_name":"Sequential"}`)), msg1(0x0C, attr1("backend", "tensorflow"))))
	if err != nil {
		t.Fatal(err)
	}
	if a["model_config"].Value != `{"class_name":"Sequential"}` || a["backend"].Value != "tensorflow" {
		t.Fatalf("got %+v", a)
	}
}

func TestContinuation(t *testing.T) {
	// The root header's only message continues at the end of the file.
	base := file1(continuation(0, 0))
	more := msg1(0x0C, attr1("keras_version", "2.13.1"))
	at := uint64(len(base))
	b := file1(continuation(at, uint64(len(more))))
	b = append(b, more...)
	a, err := read(b)
	if err != nil {
		t.Fatal(err)
	}
	if a["keras_version"].Value != "2.13.1" {
		t.Fatalf("got %+v", a)
	}
}

func TestHostile(t *testing.T) {
	good := file1(msg1(0x0C, attr1("model_config", "{}")))
	cycleAt := uint64(rootAt + 16)
	loop := file1(continuation(cycleAt, 24))
	// A chain of continuations longer than MaxChunks, each pointing to the next.
	var chain []byte
	{
		chain = file1(continuation(0, 0))
		for i := 0; i < 2000; i++ {
			next := uint64(len(chain) + 24)
			chain = append(chain, continuation(next, 24)...)
		}
		binary.LittleEndian.PutUint64(chain[rootAt+16+8:], uint64(len(file1(continuation(0, 0)))))
		binary.LittleEndian.PutUint64(chain[rootAt+16+16:], 24)
	}
	hugeMsg := file1(msg1(0x0C, attr1("a", "b")))
	binary.LittleEndian.PutUint16(hugeMsg[rootAt+16+2:], 0xfff0)
	pastEOF := file1(msg1(0x0C, attr1("model_config", "{}")))
	// The string's declared size (datatype size field) is far past the message.
	binary.LittleEndian.PutUint32(pastEOF[rootAt+16+8+8+16+4:], 1<<30)
	hugeHeader := file1(msg1(0x0C, attr1("a", "b")))
	binary.LittleEndian.PutUint32(hugeHeader[rootAt+8:], 0xffffffff)
	vlenPastEOF := file1(msg1(0x0C, vlenAttr("model_config", 1<<40, 1, 10)))
	tests := []struct {
		name  string
		b     []byte
		limit string // a *LimitError with this Limit, or "" for ErrMalformed / ErrNotHDF5
		err   error
	}{
		{"empty", nil, "", ErrNotHDF5},
		{"truncated superblock", good[:20], "", ErrMalformed},
		{"truncated root entry", good[:70], "", ErrMalformed},
		{"truncated header", good[:rootAt+20], "", ErrMalformed},
		{"continuation cycle", loop, "", ErrMalformed},
		{"continuation chain", chain, "MaxChunks", nil},
		{"huge message size", hugeMsg, "", ErrMalformed},
		{"huge header size", hugeHeader, "MaxHeaderBytes", nil},
		{"attribute past its message", pastEOF, "", ErrMalformed},
		{"vlen heap past EOF", vlenPastEOF, "", ErrMalformed},
		{"bad sizes", append(append([]byte{}, good[:13]...), append([]byte{3, 3}, good[15:]...)...), "", ErrMalformed},
		{"superblock v9", append(append([]byte{}, good[:8]...), append([]byte{9}, good[9:]...)...), "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := read(tc.b)
			if err == nil || a != nil {
				t.Fatalf("got %v, %v; want an error and no attributes", a, err)
			}
			if tc.limit != "" {
				if le, ok := safeio.IsLimit(err); !ok || le.Limit != tc.limit {
					t.Fatalf("err = %v, want limit %s", err, tc.limit)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// vlenAttr is a version 1 attribute holding a variable-length string stored
// as object idx of the global heap collection at coll.
func vlenAttr(name string, coll uint64, idx uint32, n uint32) []byte {
	w := &builder{}
	w.u8(1)
	w.u8(0)
	w.u16(uint16(len(name) + 1))
	w.u16(20)
	w.u16(8)
	w.b = append(w.b, name...)
	w.u8(0)
	w.pad8()
	w.u8(0x19) // version 1, class vlen
	w.u8(1)    // string
	w.u8(0)
	w.u8(0)
	w.u32(16)
	w.u8(0x13) // base type: 1-byte string
	w.b = append(w.b, 0, 0, 0)
	w.u32(1)
	w.pad8()
	w.u8(1)
	w.b = append(w.b, 0, 0, 0, 0, 0, 0, 0)
	w.u32(n)
	w.u64(coll)
	w.u32(idx)
	return w.b
}

func TestSniff(t *testing.T) {
	ub := make([]byte, 1024)
	copy(ub[512:], Signature)
	if !Sniff([]byte(Signature)) || !Sniff(ub) || Sniff([]byte("PK\x03\x04")) {
		t.Fatal("Sniff")
	}
}

func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/keras/*.h5")
	if len(files) < 8 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			a, err := read(b)
			if strings.Contains(p, "dense_attrs") {
				if !errors.Is(err, ErrDenseAttributes) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mc := a["model_config"]
			if !strings.HasPrefix(mc.Value, `{"class_name": `) || a["keras_version"].Value != "2.13.1" || a["backend"].Value != "tensorflow" {
				t.Fatalf("attributes %v %q", len(a), mc.Value[:min(40, len(mc.Value))])
			}
			if strings.Contains(p, "big") && len(mc.Value) < 250<<10 {
				t.Fatalf("big model_config is only %d bytes", len(mc.Value))
			}
			if strings.Contains(p, "fixed") && mc.Class != "string" {
				t.Fatalf("class %s", mc.Class)
			}
		})
	}
}

func TestTruncatedValue(t *testing.T) {
	b, err := os.ReadFile("../../testdata/keras/benign_big.h5")
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	lim.MaxValueBytes = 1000
	a, err := ReadRootAttributes(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		t.Fatal(err)
	}
	if mc := a["model_config"]; !mc.Truncated || len(mc.Value) != 1000 {
		t.Fatalf("truncated %v len %d", mc.Truncated, len(mc.Value))
	}
}

func BenchmarkReadBigConfig(b *testing.B) {
	data, err := os.ReadFile("../../testdata/keras/benign_big.h5")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadRootAttributes(bytes.NewReader(data), int64(len(data)), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReadRootAttributes(f *testing.F) {
	f.Add(file1(msg1(0x0C, attr1("model_config", "{}"))))
	f.Add(file1(msg1(0x0C, attr1("model_config", `{"a":1}`)), msg1(0x0C, vlenAttr("v", 0, 0, 0))))
	f.Add(file1(continuation(rootAt+16, 24)))
	for _, p := range []string{"benign_latest.h5", "benign_userblock.h5", "dense_attrs.h5", "benign_cnn_fixed.h5"} {
		if b, err := os.ReadFile(filepath.Join("../../testdata/keras", p)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		lim.MaxHeapBytes = 1 << 20
		lim.MaxHeaderBytes = 1 << 20
		lim.MaxValueBytes = 1 << 16
		a, err := ReadRootAttributes(bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			if a != nil {
				t.Fatalf("attributes returned with error %v", err)
			}
			return
		}
		if !bytes.Contains(data, []byte(Signature)) {
			t.Fatal("read a file without the signature")
		}
		for k, v := range a {
			if k != v.Name || len(v.Value) > lim.MaxValueBytes+int(lim.MaxElements) {
				t.Fatalf("attribute %q: name %q, %d bytes", k, v.Name, len(v.Value))
			}
		}
	})
}
