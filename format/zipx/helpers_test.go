package zipx

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// Member contents shaped like a PyTorch checkpoint: a pickle that calls
// posix.system, and a stored float tensor.
const (
	payload = "\x80\x02cposix\nsystem\nq\x00X\x06\x00\x00\x00id; lsq\x01\x85q\x02Rq\x03."
	pklName = "archive/data.pkl"
	tenName = "archive/data/0"
)

var tensor = strings.Repeat("\x00\x00\x80?", 16)

type member struct {
	name   string
	data   string
	method uint16
}

// pytorchLike is the usual test archive: a deflated pickle and a stored
// tensor.
func pytorchLike() []member {
	return []member{{pklName, payload, Deflate}, {tenName, tensor, Store}}
}

// buildRaw writes members the way miniz (PyTorch) does: CRC and sizes in
// the local header, no data descriptors.
func buildRaw(tb testing.TB, ms []member, prefix int64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.SetOffset(prefix)
	for _, m := range ms {
		raw := []byte(m.data)
		if m.method == Deflate {
			raw = deflate(tb, m.data)
		}
		f, err := w.CreateRaw(&zip.FileHeader{
			Name:               m.name,
			Method:             m.method,
			CRC32:              crc32.ChecksumIEEE([]byte(m.data)),
			CompressedSize64:   uint64(len(raw)),
			UncompressedSize64: uint64(len(m.data)),
		})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.Write(raw); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// buildStreamed writes members with archive/zip's defaults: data
// descriptors after the data, sizes and CRC only in the central directory.
func buildStreamed(tb testing.TB, ms []member) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range ms {
		f, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.Write([]byte(m.data)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func deflate(tb testing.TB, s string) []byte {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write([]byte(s))
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// nth returns the offset of the i-th (from 0) occurrence of a record
// signature. The test data holds no "PK" of its own.
func nth(tb testing.TB, b []byte, sig string, i int) int {
	tb.Helper()
	off := 0
	for {
		j := bytes.Index(b[off:], []byte(sig))
		if j < 0 {
			tb.Fatalf("signature %q number %d not found", sig, i)
		}
		if i == 0 {
			return off + j
		}
		i--
		off += j + 1
	}
}

const (
	pkLocal   = "PK\x03\x04"
	pkCentral = "PK\x01\x02"
	pkEnd     = "PK\x05\x06"
)

func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// Field offsets inside the local and central headers.
const (
	localFlags, localMethod, localCRC, localName        = 6, 8, 14, 30
	centralFlags, centralMethod, centralCRC             = 8, 10, 16
	centralCSize, centralUSize, centralOffset, cNameOff = 20, 24, 42, 46
)

// le builds records byte by byte.
type le struct{ bytes.Buffer }

func (w *le) u16(v uint16) { w.Write(binary.LittleEndian.AppendUint16(nil, v)) }
func (w *le) u32(v uint32) { w.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *le) u64(v uint64) { w.Write(binary.LittleEndian.AppendUint64(nil, v)) }

// zip64Archive builds a one-member stored archive with every size and
// offset in zip64 fields, as writers do for members over 4 GiB, and zip64
// end records.
func zip64Archive(name, data string) []byte {
	var w le
	crc := crc32.ChecksumIEEE([]byte(data))
	size := uint64(len(data))

	w.u32(sigLocal)
	w.u16(45) // version needed
	w.u16(0)  // flags
	w.u16(Store)
	w.u32(0) // time, date
	w.u32(crc)
	w.u32(max32)
	w.u32(max32)
	w.u16(uint16(len(name)))
	w.u16(20)
	w.WriteString(name)
	w.u16(zip64ExtraID)
	w.u16(16)
	w.u64(size)
	w.u64(size)
	w.WriteString(data)

	dir := uint64(w.Len())
	w.u32(sigCentral)
	w.u16(45) // made by
	w.u16(45) // needed
	w.u16(0)
	w.u16(Store)
	w.u32(0)
	w.u32(crc)
	w.u32(max32)
	w.u32(max32)
	w.u16(uint16(len(name)))
	w.u16(28)
	w.u16(0) // comment
	w.u16(0) // disk
	w.u16(0) // internal attributes
	w.u32(0) // external attributes
	w.u32(max32)
	w.WriteString(name)
	w.u16(zip64ExtraID)
	w.u16(24)
	w.u64(size)
	w.u64(size)
	w.u64(0)
	dirSize := uint64(w.Len()) - dir

	end64 := uint64(w.Len())
	w.u32(sigEnd64)
	w.u64(end64Len - 12)
	w.u16(45)
	w.u16(45)
	w.u32(0)
	w.u32(0)
	w.u64(1)
	w.u64(1)
	w.u64(dirSize)
	w.u64(dir)

	w.u32(sigLocator64)
	w.u32(0)
	w.u64(end64)
	w.u32(1)

	w.u32(sigEnd)
	w.u16(0)
	w.u16(0)
	w.u16(max16)
	w.u16(max16)
	w.u32(max32)
	w.u32(max32)
	w.u16(0)
	return w.Bytes()
}
