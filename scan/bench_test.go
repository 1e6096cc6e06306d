package scan

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// tensorPickle writes the data.pkl of a state dict of n float32 tensors of
// numel elements each, as torch.save does (protocol 2, storages by
// persistent id).
func tensorPickle(n int, numel uint32) []byte {
	var b []byte
	str := func(s string) {
		b = append(b, 'X')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	binint := func(v uint32) { b = append(b, 'J'); b = binary.LittleEndian.AppendUint32(b, v) }
	b = append(b, 0x80, 2)
	b = append(b, "ccollections\nOrderedDict\n)R("...)
	for i := 0; i < n; i++ {
		str(fmt.Sprintf("layer%d.weight", i))
		b = append(b, "ctorch._utils\n_rebuild_tensor_v2\n("...)
		b = append(b, '(')
		str("storage")
		b = append(b, "ctorch\nFloatStorage\n"...)
		str(fmt.Sprint(i))
		str("cpu")
		binint(numel)
		b = append(b, 't', 'Q')
		b = append(b, 'K', 0)
		binint(numel)
		b = append(b, 0x85, 'K', 1, 0x85, 0x89)
		b = append(b, "ccollections\nOrderedDict\n)R"...)
		b = append(b, 't', 'R')
	}
	b = append(b, 'u', '.')
	return b
}

// sparseWriter writes runs of zeros as holes, so a 2 GiB checkpoint costs
// little disk and time to make.
type sparseWriter struct{ f *os.File }

func (w sparseWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 0 {
			return w.f.Write(p)
		}
	}
	_, err := w.f.Seek(int64(len(p)), io.SeekCurrent)
	return len(p), err
}

// makeCheckpoint writes a PyTorch zip checkpoint of n tensors totalling
// about size bytes.
func makeCheckpoint(tb testing.TB, path string, n int, size int64) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(sparseWriter{f})
	per := size / int64(n) / 4
	add := func(name string, data []byte, zeros int64) {
		h := &zip.FileHeader{Name: name, Method: zip.Store}
		crc := crc32.ChecksumIEEE(data)
		if zeros > 0 {
			chunk := make([]byte, 1<<20)
			for left := zeros; left > 0; left -= int64(len(chunk)) {
				if left < int64(len(chunk)) {
					chunk = chunk[:left]
				}
				crc = crc32.Update(crc, crc32.IEEETable, chunk)
			}
		}
		h.CRC32 = crc
		h.CompressedSize64 = uint64(int64(len(data)) + zeros)
		h.UncompressedSize64 = h.CompressedSize64
		w, err := zw.CreateRaw(h)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(data)
		zero := make([]byte, 1<<20)
		for left := zeros; left > 0; left -= int64(len(zero)) {
			if left < int64(len(zero)) {
				zero = zero[:left]
			}
			if _, err := w.Write(zero); err != nil {
				tb.Fatal(err)
			}
		}
	}
	add("model/data.pkl", tensorPickle(n, uint32(per)), 0)
	add("model/version", []byte("3\n"), 0)
	for i := 0; i < n; i++ {
		add(fmt.Sprintf("model/data/%d", i), nil, per*4)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	st, _ := f.Stat()
	f.Truncate(st.Size())
}

// BenchmarkScanLargeCheckpoint scans a 2 GiB PyTorch zip checkpoint of 64
// tensors: only data.pkl and the first bytes of small members are read.
func BenchmarkScanLargeCheckpoint(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.pt")
	makeCheckpoint(b, path, 64, 2<<30)
	st, _ := os.Stat(path)
	b.ReportMetric(float64(st.Size())/(1<<30), "GiB")
	opt := DefaultOptions()
	opt.HashLimit = 0
	for b.Loop() {
		rep, err := Scan(context.Background(), []string{path}, opt)
		if err != nil {
			b.Fatal(err)
		}
		if max, ok := rep.Max(); ok && max > 0 {
			b.Fatalf("findings in a clean checkpoint: %+v", rep.Findings)
		}
	}
}

// sparseFile writes header and then extends the file to size bytes with a
// hole, so multi-GiB inputs cost little disk.
func sparseFile(tb testing.TB, path string, header []byte, size int64) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(header); err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		tb.Fatal(err)
	}
}

// safetensorsShard is a shard of n F32 tensors of numel elements each.
func safetensorsShard(n int, numel int64) ([]byte, int64) {
	hdr := "{"
	var off int64
	for i := 0; i < n; i++ {
		end := off + numel*4
		hdr += fmt.Sprintf(`"layers.%d.weight":{"dtype":"F32","shape":[%d],"data_offsets":[%d,%d]},`, i, numel, off, end)
		off = end
	}
	hdr += `"__metadata__":{"format":"pt"}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return b, int64(len(b)) + off
}

// ggufFile is a GGUF v3 file of n F32 tensors of numel elements each.
func ggufFile(n int, numel int64) ([]byte, int64) {
	var b []byte
	str := func(s string) { b = binary.LittleEndian.AppendUint64(b, uint64(len(s))); b = append(b, s...) }
	b = append(b, "GGUF"...)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = binary.LittleEndian.AppendUint64(b, 2)
	str("general.architecture")
	b = binary.LittleEndian.AppendUint32(b, 8) // string
	str("llama")
	str("general.alignment")
	b = binary.LittleEndian.AppendUint32(b, 4) // uint32
	b = binary.LittleEndian.AppendUint32(b, 32)
	var off int64
	for i := 0; i < n; i++ {
		str(fmt.Sprintf("blk.%d.weight", i))
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint64(b, uint64(numel))
		b = binary.LittleEndian.AppendUint32(b, 0) // F32
		b = binary.LittleEndian.AppendUint64(b, uint64(off))
		off += numel * 4
	}
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return b, int64(len(b)) + off
}

// BenchmarkScanShardedRepo scans a model folder of 4 safetensors shards and
// a GGUF file, 10 GiB in all: only headers are read.
func BenchmarkScanShardedRepo(b *testing.B) {
	dir := b.TempDir()
	var total int64
	for i := 0; i < 4; i++ {
		hdr, size := safetensorsShard(256, 2<<30/256/4)
		sparseFile(b, filepath.Join(dir, fmt.Sprintf("model-%05d-of-00004.safetensors", i+1)), hdr, size)
		total += size
	}
	hdr, size := ggufFile(512, 2<<30/512/4)
	sparseFile(b, filepath.Join(dir, "model.Q8_0.gguf"), hdr, size)
	total += size
	b.ReportMetric(float64(total)/(1<<30), "GiB")
	opt := DefaultOptions()
	opt.HashLimit = 0
	for b.Loop() {
		rep, err := Scan(context.Background(), []string{dir}, opt)
		if err != nil {
			b.Fatal(err)
		}
		if max, ok := rep.Max(); ok && max > 0 {
			b.Fatalf("findings in clean shards: %+v", rep.Findings)
		}
	}
}
