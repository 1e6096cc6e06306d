package pkgscan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// file is one member of a package built by a test.
type file struct {
	name string
	data string
}

// sdist writes a .tar.gz with the files under a name-version/ folder.
func sdist(t testing.TB, dir, name string, files []file) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	top := name[:len(name)-len(".tar.gz")]
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// zipBytes builds a zip (a wheel, or an sdist in zip form).
func zipBytes(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wheel(t testing.TB, dir, name string, files []file) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, zipBytes(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// elf is the header of a 64-bit little-endian ELF file of type typ (2
// executable, 3 shared object), padded.
func elf(typ byte) string {
	h := make([]byte, 128)
	copy(h, "\x7fELF\x02\x01\x01")
	h[16] = typ
	h[18] = 0x3e
	return string(h)
}

func scan(t testing.TB, p string) []finding.Finding {
	t.Helper()
	fs, err := Scan(context.Background(), p, safeio.Default())
	if err != nil {
		t.Fatalf("Scan(%s): %v", p, err)
	}
	return fs
}

// worst returns the highest severity of findings of rule (any rule when "").
func worst(fs []finding.Finding, rule string) (finding.Severity, bool) {
	var s finding.Severity
	found := false
	for _, f := range fs {
		if rule != "" && f.RuleID != rule {
			continue
		}
		if !found || f.Severity > s {
			s, found = f.Severity, true
		}
	}
	return s, found
}

func dump(t testing.TB, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		t.Logf("%s %s %s: %s %v", f.Severity, f.RuleID, f.Member, f.Message, f.Evidence)
	}
}

func safeioDefault() safeio.Limits { return safeio.Default() }
