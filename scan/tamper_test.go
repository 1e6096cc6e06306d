package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

// patchCentral applies f to the central directory header of member name
// in a zip archive.
func patchCentral(t *testing.T, zipBytes []byte, name string, f func(hdr []byte)) []byte {
	t.Helper()
	out := append([]byte(nil), zipBytes...)
	sig := []byte("PK\x01\x02")
	for i := bytes.Index(out, sig); i >= 0; {
		nameLen := int(binary.LittleEndian.Uint16(out[i+28:]))
		if string(out[i+46:i+46+nameLen]) == name {
			f(out[i : i+46])
			return out
		}
		j := bytes.Index(out[i+4:], sig)
		if j < 0 {
			break
		}
		i += 4 + j
	}
	t.Fatalf("no central header for %s", name)
	return nil
}

func patchLocal(t *testing.T, zipBytes []byte, name string, f func(hdr []byte)) []byte {
	t.Helper()
	out := append([]byte(nil), zipBytes...)
	i := bytes.Index(out, []byte("PK\x03\x04"))
	for i >= 0 {
		nameLen := int(binary.LittleEndian.Uint16(out[i+26:]))
		if string(out[i+30:i+30+nameLen]) == name {
			f(out[i : i+30])
			return out
		}
		j := bytes.Index(out[i+4:], []byte("PK\x03\x04"))
		if j < 0 {
			break
		}
		i += 4 + j
	}
	t.Fatalf("no local header for %s", name)
	return nil
}

func scanBytes(t *testing.T, name string, b []byte) *finding.Report {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(context.Background(), []string{p}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func rules(rep *finding.Report, min finding.Severity) map[string]bool {
	out := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Severity >= min {
			out[f.RuleID] = true
		}
	}
	return out
}

// A real checkpoint with no payload, tampered the way published bypasses
// tamper with zips: the tampering alone fails the gate, because it exists
// to hide content from scanners that give up.
func TestZipTamperingIsAFinding(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "testdata", "models", "benign", "torch", "state_dict_zip.pt"))
	if err != nil {
		t.Fatal(err)
	}
	const member = "state_dict_zip/data.pkl"
	if got := rules(scanBytes(t, "clean.pt", orig), finding.Low); len(got) != 0 {
		t.Fatalf("the untouched checkpoint has findings: %v", got)
	}
	tests := []struct {
		name  string
		patch func([]byte) []byte
	}{
		{"bad CRC (CVE-2025-10156)", func(b []byte) []byte {
			return patchCentral(t, b, member, func(h []byte) { h[16] ^= 0xff })
		}},
		{"encrypted flag on plaintext (CVE-2025-1945)", func(b []byte) []byte {
			b = patchCentral(t, b, member, func(h []byte) { h[8] |= 0x1 })
			return patchLocal(t, b, member, func(h []byte) { h[6] |= 0x1 })
		}},
		{"flag 0x20 in the local header only", func(b []byte) []byte {
			return patchLocal(t, b, member, func(h []byte) { h[6] |= 0x20 })
		}},
		{"local name differs from central name (CVE-2025-1944)", func(b []byte) []byte {
			out := append([]byte(nil), b...)
			i := bytes.Index(out, []byte("PK\x03\x04"))
			for i >= 0 && string(out[i+30:i+30+len(member)]) != member {
				i += 4 + bytes.Index(out[i+4:], []byte("PK\x03\x04"))
			}
			out[i+30+len(member)-1] = 'x' // data.pkx in the local header only
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := scanBytes(t, "tampered.pt", tt.patch(orig))
			got := rules(rep, finding.High)
			if !got["archive-tampered"] {
				t.Errorf("no archive-tampered finding; findings: %+v", rep.Findings)
			}
			if got["pickle-malformed"] {
				t.Errorf("the pickle was not read past the tampering: %+v", rep.Findings)
			}
		})
	}
}

// A zip whose member is really encrypted cannot be scanned: that is
// incomplete (exit 3), not a finding that fails the gate.
func TestEncryptedMemberIsIncomplete(t *testing.T) {
	corpus := filepath.Join("..", "..", "shared", "corpora", "picklescan", "benign_password_protected.zip")
	b, err := os.ReadFile(corpus)
	if err != nil {
		t.Skip("corpus not found")
	}
	rep := scanBytes(t, "secret.zip", b)
	if got := rules(rep, finding.High); len(got) != 0 {
		t.Errorf("findings at or above high: %v", got)
	}
	if !rules(rep, finding.Medium)["archive-encrypted"] || len(rep.Incomplete) == 0 {
		t.Errorf("want archive-encrypted and an incomplete entry; got %+v %+v", rep.Findings, rep.Incomplete)
	}
}
