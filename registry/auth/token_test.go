package auth

import (
	"hash/crc32"
	"regexp"
	"strings"
	"testing"
)

// tokenRE is what a secret scanner would use to find leaked aigis tokens.
var tokenRE = regexp.MustCompile(`^aigis_(pat|sat)_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$`)

func TestNewTokenRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, kind := range []string{KindPersonal, KindService} {
		for range 200 {
			s, err := NewToken(kind)
			if err != nil {
				t.Fatal(err)
			}
			if !tokenRE.MatchString(s) || len(s) != TokenLen {
				t.Fatalf("token %q does not have the documented shape", s)
			}
			if seen[s] {
				t.Fatalf("token %q generated twice", s)
			}
			seen[s] = true
			got, ok := ParseToken(s)
			if !ok || got != kind {
				t.Fatalf("ParseToken(%q) = %q, %v; want %q, true", s, got, ok, kind)
			}
			if p := DisplayPrefix(s); p != s[:14] || !strings.HasPrefix(p, "aigis_"+kind+"_") {
				t.Fatalf("DisplayPrefix(%q) = %q", s, p)
			}
		}
	}
}

func TestNewTokenRefusesUnknownKind(t *testing.T) {
	for _, kind := range []string{"", "pa", "xyz", "PAT", "pat_"} {
		if s, err := NewToken(kind); err == nil {
			t.Errorf("NewToken(%q) = %q, want an error", kind, s)
		}
	}
}

// TestChecksumMatchesSpec recomputes the checksum independently: the IEEE
// CRC32 of the text before the last underscore, in 6 base62 digits.
func TestChecksumMatchesSpec(t *testing.T) {
	s, err := NewToken(KindService)
	if err != nil {
		t.Fatal(err)
	}
	head := s[:len(s)-7]
	sum := uint64(crc32.ChecksumIEEE([]byte(head)))
	var digits []byte
	for range 6 {
		digits = append([]byte{base62Alphabet[sum%62]}, digits...)
		sum /= 62
	}
	if want := head + "_" + string(digits); s != want {
		t.Fatalf("token %q, want checksum suffix %q", s, want)
	}
}

func TestParseTokenRejects(t *testing.T) {
	good, err := NewToken(KindPersonal)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	// 62^43 - 1 is a valid base62 body but more than 32 bytes.
	over := strings.Repeat("z", 43)
	overHead := "aigis_pat_" + over
	overTok := overHead + "_" + base62Big(uint64(crc32.ChecksumIEEE([]byte(overHead))))
	for name, s := range map[string]string{
		"empty":           "",
		"truncated":       good[:len(good)-1],
		"extended":        good + "a",
		"body changed":    flip(20),
		"checksum change": flip(len(good) - 1),
		"kind changed":    strings.Replace(good, "_pat_", "_sat_", 1),
		"unknown kind":    strings.Replace(good, "_pat_", "_xyz_", 1),
		"wrong prefix":    "Aigis" + good[5:],
		"not base62":      good[:30] + "-" + good[31:],
		"separator":       good[:53] + "-" + good[54:],
		"body over 2^256": overTok,
		"github token":    "ghp_" + strings.Repeat("a", 36),
	} {
		if kind, ok := ParseToken(s); ok {
			t.Errorf("%s: ParseToken(%q) = %q, true; want rejection", name, s, kind)
		}
		if p := DisplayPrefix(s); p != "" {
			t.Errorf("%s: DisplayPrefix(%q) = %q, want \"\"", name, s, p)
		}
	}
}

func base62Big(v uint64) string {
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = base62Alphabet[v%62]
		v /= 62
	}
	return string(out)
}

func TestHashTokenIsHexSHA256(t *testing.T) {
	// sha256("abc") from FIPS 180-2, appendix B.1: the store computes the same.
	if got, want := HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashToken(abc) = %s, want %s", got, want)
	}
}

// FuzzParseToken: no panic; whatever is accepted has the documented shape,
// a known kind, survives a second parse and has a display prefix that is a
// prefix of it.
func FuzzParseToken(f *testing.F) {
	for _, kind := range []string{KindPersonal, KindService} {
		s, err := NewToken(kind)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
		f.Add(s[:len(s)-1] + "0")
	}
	f.Add("")
	f.Add("aigis_pat_")
	f.Add("aigis_pat_" + strings.Repeat("z", 43) + "_zzzzzz")
	f.Add(strings.Repeat("_", TokenLen))
	f.Fuzz(func(t *testing.T, s string) {
		kind, ok := ParseToken(s)
		if !ok {
			if kind != "" || DisplayPrefix(s) != "" {
				t.Fatalf("rejected %q but returned kind %q / a display prefix", s, kind)
			}
			return
		}
		if !tokenRE.MatchString(s) || (kind != KindPersonal && kind != KindService) {
			t.Fatalf("accepted malformed token %q (kind %q)", s, kind)
		}
		if p := DisplayPrefix(s); !strings.HasPrefix(s, p) || len(p) != 14 {
			t.Fatalf("DisplayPrefix(%q) = %q", s, p)
		}
	})
}
