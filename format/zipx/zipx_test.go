package zipx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// seen is what a scanner notices about an archive: anomaly kinds, and for
// each entry its data and what reading it reported.
type seen struct {
	Archive []string
	Entries []seenEntry
}

type seenEntry struct {
	Name      string
	Kinds     []string // Entry.Anomalies
	Data      string
	ReadKinds []string // Reader.Anomalies
	Err       string   // from Archive.Open or Read
}

func kinds(as []Anomaly) []string {
	var ks []string
	for _, a := range as {
		ks = append(ks, a.Kind)
	}
	return ks
}

func look(tb testing.TB, a *Archive) seen {
	tb.Helper()
	s := seen{Archive: kinds(a.Anomalies)}
	for _, e := range a.Entries {
		se := seenEntry{Name: e.Name, Kinds: kinds(e.Anomalies)}
		r, err := a.Open(e)
		if err != nil {
			se.Err = err.Error()
			s.Entries = append(s.Entries, se)
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			se.Err = err.Error()
		}
		se.Data = string(data)
		se.ReadKinds = kinds(r.Anomalies())
		if r.CRCMismatch() != strings.Contains(fmt.Sprint(se.ReadKinds), AnomalyCRC) {
			tb.Errorf("%s: CRCMismatch() = %v, read anomalies %v", e.Name, r.CRCMismatch(), se.ReadKinds)
		}
		r.Close()
		s.Entries = append(s.Entries, se)
	}
	return s
}

type openCase struct {
	name string
	zip  func(tb testing.TB) []byte
	want seen
}

// clean is what a well-formed pytorchLike archive looks like.
var clean = []seenEntry{{Name: pklName, Data: payload}, {Name: tenName, Data: tensor}}

// with returns clean with the entry named name changed by f.
func with(name string, f func(*seenEntry)) []seenEntry {
	out := append([]seenEntry(nil), clean...)
	for i := range out {
		if out[i].Name == name {
			f(&out[i])
		}
	}
	return out
}

func openCases() []openCase {
	raw := func(tb testing.TB) []byte { return buildRaw(tb, pytorchLike(), 0) }
	// patch builds the raw archive and changes it.
	patch := func(f func(tb testing.TB, b []byte) []byte) func(testing.TB) []byte {
		return func(tb testing.TB) []byte { return f(tb, raw(tb)) }
	}
	return []openCase{
		{
			name: "clean, no data descriptors (miniz, PyTorch)",
			zip:  raw,
			want: seen{Entries: clean},
		},
		{
			name: "clean, data descriptors (archive/zip)",
			zip:  func(tb testing.TB) []byte { return buildStreamed(tb, pytorchLike()) },
			want: seen{Entries: clean},
		},
		{
			name: "empty archive",
			zip:  func(tb testing.TB) []byte { return buildRaw(tb, nil, 0) },
			want: seen{},
		},
		{
			// CVE-2025-10156: the data no longer matches its CRC; PyTorch
			// loads it anyway.
			name: "data changed after the CRC was computed",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				d := nth(tb, b, pkLocal, 1) + localName + len(tenName)
				b[d] ^= 0xff
				return b
			}),
			want: seen{Entries: with(tenName, func(e *seenEntry) {
				e.Data = "\xff" + tensor[1:]
				e.ReadKinds = []string{AnomalyCRC}
			})},
		},
		{
			name: "central CRC differs from local CRC and data",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put32(b, nth(tb, b, pkCentral, 0)+centralCRC, 0xdeadbeef)
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) {
				e.Kinds = []string{AnomalyCRC}
				e.ReadKinds = []string{AnomalyCRC}
			})},
		},
		{
			// CVE-2025-1945: Python refuses "encrypted" members, PyTorch
			// reads them as plaintext.
			name: "encrypted flag in both headers",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put16(b, nth(tb, b, pkLocal, 0)+localFlags, 0x1)
				put16(b, nth(tb, b, pkCentral, 0)+centralFlags, 0x1)
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) { e.Kinds = []string{AnomalyFlags} })},
		},
		{
			name: "patched-data flag in the local header only",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put16(b, nth(tb, b, pkLocal, 0)+localFlags, 0x20)
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) { e.Kinds = []string{AnomalyFlags} })},
		},
		{
			name: "strong-encryption flag in the central directory only",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put16(b, nth(tb, b, pkCentral, 0)+centralFlags, 0x40)
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) { e.Kinds = []string{AnomalyFlags, AnomalyFlags} })},
		},
		{
			// CVE-2025-1944: tools that list by local headers see another
			// file than PyTorch, which loads by central directory name.
			name: "local header names another file",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				copy(b[nth(tb, b, pkLocal, 0)+localName:], "archive/data.pk_")
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) { e.Kinds = []string{AnomalyNameMismatch} })},
		},
		{
			name: "central directory missing, sizes in local headers",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				return b[:nth(tb, b, pkCentral, 0)]
			}),
			want: seen{Archive: []string{AnomalyNoCentralDirectory}, Entries: clean},
		},
		{
			name: "central directory missing, sizes in data descriptors",
			zip: func(tb testing.TB) []byte {
				b := buildStreamed(tb, pytorchLike())
				return b[:nth(tb, b, pkCentral, 0)]
			},
			want: seen{Archive: []string{AnomalyNoCentralDirectory}, Entries: clean},
		},
		{
			// The directory is found by its size, as if data had been
			// prepended; the local headers are where they were written.
			name: "end record's directory offset is wrong",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put32(b, nth(tb, b, pkEnd, 0)+16, 3)
				return b
			}),
			want: seen{Archive: []string{AnomalyDirectory}, Entries: clean},
		},
		{
			name: "end record points nowhere",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				e := nth(tb, b, pkEnd, 0)
				put32(b, e+12, 1<<20) // directory size
				put32(b, e+16, 3)     // directory offset
				return b
			}),
			want: seen{Archive: []string{AnomalyDirectory, AnomalyNoCentralDirectory}, Entries: clean},
		},
		{
			name: "file truncated inside the last member",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				return b[:nth(tb, b, pkLocal, 1)+localName+len(tenName)+10]
			}),
			want: seen{Archive: []string{AnomalyNoCentralDirectory}, Entries: with(tenName, func(e *seenEntry) {
				e.Kinds = []string{AnomalySize}
				e.Data = tensor[:10]
				e.ReadKinds = []string{AnomalyCRC, AnomalySize}
			})},
		},
		{
			name: "central directory declares more data than the file has",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				c := nth(tb, b, pkCentral, 1)
				put32(b, c+centralCSize, 1<<20)
				put32(b, c+centralUSize, 1<<20)
				return b
			}),
			want: seen{Entries: []seenEntry{
				clean[0],
				{
					Name:      tenName,
					Kinds:     []string{AnomalySize, AnomalySize, AnomalySize, AnomalyOverlap},
					Data:      "", // filled in by the test: the rest of the file
					ReadKinds: []string{AnomalyCRC, AnomalySize},
				},
			}},
		},
		{
			name: "self-extractor stub in front, offsets relative to the archive",
			zip: func(tb testing.TB) []byte {
				return append([]byte("#!/bin/sh\nexec python3 -c 'x'\n"), raw(tb)...)
			},
			want: seen{Archive: []string{AnomalyPrepended}, Entries: clean},
		},
		{
			name: "self-extractor stub in front, offsets absolute",
			zip: func(tb testing.TB) []byte {
				stub := "#!/bin/sh\nexec python3 -c 'x'\n"
				return append([]byte(stub), buildRaw(tb, pytorchLike(), int64(len(stub)))...)
			},
			want: seen{Archive: []string{AnomalyPrepended}, Entries: clean},
		},
		{
			name: "bytes after the end record",
			zip: func(tb testing.TB) []byte {
				return append(raw(tb), "\x80\x02cos\nsystem\n"...)
			},
			want: seen{Archive: []string{AnomalyTrailing}, Entries: clean},
		},
		{
			name: "archive comment",
			zip: func(tb testing.TB) []byte {
				var buf bytes.Buffer
				w := zip.NewWriter(&buf)
				w.SetComment("a comment")
				w.Close()
				return buf.Bytes()
			},
			want: seen{},
		},
		{
			name: "zip64 sizes and offsets",
			zip:  func(testing.TB) []byte { return zip64Archive(tenName, tensor) },
			want: seen{Entries: []seenEntry{{Name: tenName, Data: tensor}}},
		},
		{
			name: "python zipfile: deflate, stored, bzip2, zip64 local header, comment",
			zip: func(tb testing.TB) []byte {
				b, err := os.ReadFile(filepath.Join("testdata", "python.zip"))
				if err != nil {
					tb.Fatal(err)
				}
				return b
			},
			want: seen{Entries: []seenEntry{
				{Name: pklName, Data: payload},
				{Name: tenName, Data: tensor},
				{Name: "archive/data/1", Data: strings.Repeat(tensor, 4)},
				{Name: "archive/zip64", Data: payload},
			}},
		},
		{
			name: "duplicate names",
			zip: func(tb testing.TB) []byte {
				return buildRaw(tb, []member{{pklName, "benign", Store}, {pklName, payload, Deflate}}, 0)
			},
			want: seen{Entries: []seenEntry{
				{Name: pklName, Data: "benign"},
				{Name: pklName, Kinds: []string{AnomalyDuplicateName}, Data: payload},
			}},
		},
		{
			name: "names that escape the extraction folder",
			zip: func(tb testing.TB) []byte {
				return buildRaw(tb, []member{
					{"../../etc/cron.d/job", "x", Store},
					{"/root/.bashrc", "x", Store},
					{`archive\..\..\x`, "x", Store},
					{"C:x", "x", Store},
					{"ok\x00.pkl", "x", Store},
				}, 0)
			},
			want: seen{Entries: []seenEntry{
				{Name: "../../etc/cron.d/job", Kinds: []string{AnomalyPath}, Data: "x"},
				{Name: "/root/.bashrc", Kinds: []string{AnomalyPath}, Data: "x"},
				{Name: `archive\..\..\x`, Kinds: []string{AnomalyPath}, Data: "x"},
				{Name: "C:x", Kinds: []string{AnomalyPath}, Data: "x"},
				{Name: "ok\x00.pkl", Kinds: []string{AnomalyPath}, Data: "x"},
			}},
		},
		{
			name: "unsupported compression method",
			zip: patch(func(tb testing.TB, b []byte) []byte {
				put16(b, nth(tb, b, pkLocal, 0)+localMethod, 14)
				put16(b, nth(tb, b, pkCentral, 0)+centralMethod, 14)
				return b
			}),
			want: seen{Entries: with(pklName, func(e *seenEntry) {
				e.Kinds = []string{AnomalyMethod}
				e.Data = ""
				e.Err = `zipx: "archive/data.pkl": method 14: zipx: unsupported compression method`
			})},
		},
		{
			// Two central entries share one local header and its data, as
			// in overlapping zip bombs; the second member's own header and
			// data are left unreferenced.
			name: "two entries share one local header",
			zip: func(tb testing.TB) []byte {
				b := buildRaw(tb, []member{{"a", "same", Store}, {"b", "same", Store}}, 0)
				put32(b, nth(tb, b, pkCentral, 1)+centralOffset, 0)
				return b
			},
			want: seen{Entries: []seenEntry{
				{Name: "a", Kinds: []string{AnomalyGap}, Data: "same"},
				{Name: "b", Kinds: []string{AnomalyNameMismatch, AnomalyOverlap}, Data: "same"},
			}},
		},
		{
			// Streaming extractors see the middle member; PyTorch does not.
			name: "member left out of the central directory",
			zip: func(tb testing.TB) []byte {
				return dropCentral(tb, buildRaw(tb, threeMembers, 0), 1, true)
			},
			want: seen{Entries: []seenEntry{
				{Name: "m0", Kinds: []string{AnomalyGap}, Data: "zero"},
				{Name: "m2", Data: "two"},
			}},
		},
		{
			name: "central directory shorter than the end record says",
			zip: func(tb testing.TB) []byte {
				return dropCentral(tb, buildRaw(tb, threeMembers, 0), 1, false)
			},
			want: seen{Archive: []string{AnomalyDirectory}, Entries: []seenEntry{
				{Name: "m0", Data: "zero"},
				{Name: "m2", Data: "two"},
				{Name: "m1", Kinds: []string{AnomalyNoCentralDirectory}, Data: payload},
			}},
		},
		{
			name: "bytes hidden after the end of a deflate stream",
			zip: func(tb testing.TB) []byte {
				var buf bytes.Buffer
				w := zip.NewWriter(&buf)
				raw := append(deflate(tb, payload), "hidden"...)
				f, err := w.CreateRaw(&zip.FileHeader{
					Name: pklName, Method: Deflate,
					CRC32:            crcOf(payload),
					CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(len(payload)),
				})
				if err != nil {
					tb.Fatal(err)
				}
				f.Write(raw)
				w.Close()
				return buf.Bytes()
			},
			want: seen{Entries: []seenEntry{{Name: pklName, Data: payload, ReadKinds: []string{AnomalySize}}}},
		},
	}
}

var threeMembers = []member{{"m0", "zero", Store}, {"m1", payload, Deflate}, {"m2", "two", Store}}

// dropCentral removes the i-th central directory record and fixes the
// directory size, and the entry count if fixCount is set.
func dropCentral(tb testing.TB, b []byte, i int, fixCount bool) []byte {
	start := nth(tb, b, pkCentral, i)
	end := nth(tb, b, pkEnd, 0)
	if next := bytes.Index(b[start+1:], []byte(pkCentral)); next >= 0 {
		end = start + 1 + next
	}
	out := append(b[:start:start], b[end:]...)
	e := nth(tb, out, pkEnd, 0)
	put32(out, e+12, u32(out[e+12:])-uint32(end-start))
	if fixCount {
		put16(out, e+8, u16(out[e+8:])-1)
		put16(out, e+10, u16(out[e+10:])-1)
	}
	return out
}

func TestOpen(t *testing.T) {
	for _, tc := range openCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.zip(t)
			a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			want := tc.want
			if tc.name == "central directory declares more data than the file has" {
				// The reader gives what the file holds past the data offset.
				want.Entries[1].Data = string(b[a.Entries[1].DataOffset:])
			}
			if diff := cmp.Diff(want, look(t, a)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
				for _, x := range a.Anomalies {
					t.Logf("archive: %s: %s", x.Kind, x.Detail)
				}
				for _, e := range a.Entries {
					for _, x := range e.Anomalies {
						t.Logf("%s: %s: %s", e.Name, x.Kind, x.Detail)
					}
				}
			}
		})
	}
}

func crcOf(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }

// TestEntryFields checks the header fields a finding quotes as evidence.
func TestEntryFields(t *testing.T) {
	b := zip64Archive(tenName, tensor)
	a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := *a.Entries[0]
	got.hasLocal = false
	want := Entry{
		Name: tenName, LocalName: tenName, Method: Store, LocalMethod: Store,
		CRC32: crcOf(tensor), LocalCRC32: crcOf(tensor),
		CompressedSize: 64, UncompressedSize: 64, LocalCompressedSize: 64, LocalUncompressedSize: 64,
		HeaderOffset: 0, DataOffset: int64(localLen + len(tenName) + 20),
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Entry{})); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	if !a.Zip64 || a.DirectoryOffset != int64(want.DataOffset+64) {
		t.Errorf("Zip64 = %v, DirectoryOffset = %d", a.Zip64, a.DirectoryOffset)
	}

	p, err := os.ReadFile(filepath.Join("testdata", "python.zip"))
	if err != nil {
		t.Fatal(err)
	}
	a, err = Open(bytes.NewReader(p), int64(len(p)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Comment != "made by Python zipfile" {
		t.Errorf("Comment = %q", a.Comment)
	}
	if e := a.Entries[3]; e.LocalCompressedSize != e.CompressedSize || e.CompressedSize == max32 {
		t.Errorf("zip64 local sizes not read: local %d, central %d", e.LocalCompressedSize, e.CompressedSize)
	}
}

// TestLocalNameBudget checks that central entries pointing at one local
// header with a long name do not each get a copy of it.
func TestLocalNameBudget(t *testing.T) {
	var w le
	long := strings.Repeat("a", 60_000)
	w.u32(sigLocal)
	w.Write(make([]byte, 22))
	w.u16(uint16(len(long)))
	w.u16(0)
	w.WriteString(long)
	dir := w.Len()
	const n = 2000
	for i := range n {
		name := fmt.Sprintf("x%d", i)
		w.u32(sigCentral)
		w.Write(make([]byte, 24))
		w.u16(uint16(len(name)))
		w.Write(make([]byte, 16))
		w.WriteString(name)
	}
	size := w.Len() - dir
	w.u32(sigEnd)
	w.u32(0)
	w.u16(n)
	w.u16(n)
	w.u32(uint32(size))
	w.u32(uint32(dir))
	w.u16(0)
	b := w.Bytes()

	a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range a.Entries {
		total += len(e.LocalName)
	}
	if len(a.Entries) != n || total > len(b)+256*n {
		t.Errorf("%d entries, %d bytes of local names from a %d-byte file", len(a.Entries), total, len(b))
	}
}

func TestOpenNotZip(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("PK"), []byte("\x80\x02}q\x00."), bytes.Repeat([]byte("PK\x03"), 100)} {
		if a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{}); !errors.Is(err, ErrNotZip) || a != nil {
			t.Errorf("Open(%q) = %v, %v; want ErrNotZip", b, a, err)
		}
	}
}

func TestMaxEntries(t *testing.T) {
	var ms []member
	for i := range 10 {
		ms = append(ms, member{fmt.Sprintf("m%d", i), "x", Store})
	}
	full := buildRaw(t, ms, 0)
	for _, tc := range []struct {
		name string
		zip  []byte
	}{
		{"central directory", full},
		{"local headers", full[:nth(t, full, pkCentral, 0)]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Open(bytes.NewReader(tc.zip), int64(len(tc.zip)), Limits{MaxEntries: 4})
			le, ok := safeio.IsLimit(err)
			if !ok || le.Limit != "MaxEntries" || le.Value != 4 {
				t.Fatalf("err = %v; want a MaxEntries limit error", err)
			}
			if a == nil || len(a.Entries) != 4 {
				t.Fatalf("want the 4 entries read before the limit, got %v", a)
			}
			// Exactly at the limit is fine.
			if _, err := Open(bytes.NewReader(tc.zip), int64(len(tc.zip)), Limits{MaxEntries: 10}); err != nil {
				t.Errorf("MaxEntries 10 with 10 entries: %v", err)
			}
		})
	}
}

// TestManyEntries checks an archive whose entry count needs the zip64 end
// record (archive/zip writes one above 65,535 entries).
func TestManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70,000-entry archive")
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	const n = 70_000
	for i := range n {
		if _, err := w.CreateRaw(&zip.FileHeader{Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	b := buf.Bytes()
	a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != n || !a.Zip64 || len(a.Anomalies) != 0 {
		t.Errorf("%d entries, Zip64 %v, anomalies %v", len(a.Entries), a.Zip64, a.Anomalies)
	}
}

// TestPartialRead checks what a format sniffer does: read 16 bytes and
// close. Nothing is judged before the end of the data.
func TestPartialRead(t *testing.T) {
	b := buildRaw(t, pytorchLike(), 0)
	put32(b, nth(t, b, pkCentral, 0)+centralCRC, 1) // would mismatch if read to the end
	put32(b, nth(t, b, pkLocal, 0)+localCRC, 1)
	a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range a.Entries {
		r, err := a.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 16)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if r.CRCMismatch() || r.Anomalies() != nil {
			t.Errorf("%s: judged before the end: %v", e.Name, r.Anomalies())
		}
		want := map[string]string{pklName: payload, tenName: tensor}[e.Name][:16]
		if string(head) != want {
			t.Errorf("%s: head %q, want %q", e.Name, head, want)
		}
		r.Close()
		if _, err := r.Read(head); err == nil {
			t.Errorf("%s: read after close succeeded", e.Name)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		b    string
		want bool
	}{
		{"PK\x03\x04\x14\x00", true},
		{"PK\x05\x06\x00\x00", true},
		{"PK\x01\x02", false},
		{"PK", false},
		{"\x80\x02", false},
		{"", false},
	} {
		if got := Sniff([]byte(tc.b)); got != tc.want {
			t.Errorf("Sniff(%q) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

var knownKinds = map[string]bool{
	AnomalyNameMismatch: true, AnomalyFlags: true, AnomalyCRC: true, AnomalySize: true,
	AnomalyMethod: true, AnomalyPath: true, AnomalyDuplicateName: true, AnomalyOverlap: true,
	AnomalyGap: true, AnomalyLocalHeader: true, AnomalyNoCentralDirectory: true,
	AnomalyDirectory: true, AnomalyPrepended: true, AnomalyTrailing: true,
}

func FuzzOpen(f *testing.F) {
	for _, tc := range openCases() {
		f.Add(tc.zip(f))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 64
		a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: max})
		if a == nil {
			if err == nil {
				t.Fatal("nil archive and nil error")
			}
			return
		}
		if _, ok := safeio.IsLimit(err); err != nil && !ok {
			t.Fatalf("archive with a non-limit error: %v", err)
		}
		if len(a.Entries) > max {
			t.Fatalf("%d entries, limit %d", len(a.Entries), max)
		}
		for _, x := range a.Anomalies {
			if !knownKinds[x.Kind] {
				t.Fatalf("unknown anomaly kind %q", x.Kind)
			}
		}
		budget := int64(8 << 20) // keeps executions fast when entries share one bomb
		for _, e := range a.Entries {
			for _, x := range e.Anomalies {
				if !knownKinds[x.Kind] {
					t.Fatalf("unknown anomaly kind %q", x.Kind)
				}
			}
			r, err := a.Open(e)
			if err != nil {
				continue
			}
			n, _ := io.Copy(io.Discard, io.LimitReader(r, min(1<<20, budget)))
			budget -= n
			for _, x := range r.Anomalies() {
				if !knownKinds[x.Kind] {
					t.Fatalf("unknown anomaly kind %q", x.Kind)
				}
			}
			r.Close()
		}
	})
}

// BenchmarkOpen opens a checkpoint-shaped archive of 5,000 stored members
// and sniffs 16 bytes of each, as the scanner does.
func BenchmarkOpen(b *testing.B) {
	var ms []member
	for i := range 5000 {
		ms = append(ms, member{fmt.Sprintf("archive/data/%d", i), tensor, Store})
	}
	z := buildRaw(b, ms, 0)
	path := filepath.Join(b.TempDir(), "model.pt")
	if err := os.WriteFile(path, z, 0o600); err != nil {
		b.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()

	for _, src := range []struct {
		name string
		r    io.ReaderAt
	}{{"memory", bytes.NewReader(z)}, {"file", file}} {
		b.Run(src.name, func(b *testing.B) {
			b.ReportAllocs()
			head := make([]byte, 16)
			for b.Loop() {
				a, err := Open(src.r, int64(len(z)), Limits{})
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range a.Entries {
					r, err := a.Open(e)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(r, head); err != nil {
						b.Fatal(err)
					}
					r.Close()
				}
			}
		})
	}
}

// TestConcurrentReads reads the same entries from several goroutines, as a
// scanner with workers does; run with -race.
func TestConcurrentReads(t *testing.T) {
	b := buildRaw(t, pytorchLike(), 0)
	a, err := Open(bytes.NewReader(b), int64(len(b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := look(t, a)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if diff := cmp.Diff(want, look(t, a)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}
