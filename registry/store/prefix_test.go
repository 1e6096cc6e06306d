package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"", ""},
		{"a", "b"},
		{"onnx/", "onnx0"},
		{"\u07ff", "\u0800"},         // two bytes to three
		{"\uffff", "\U00010000"},     // three to four
		{"\ud7ff", "\ue000"},         // over the surrogates
		{"a\U0010ffff", "b"},         // the last rune has no successor
		{"\U0010ffff\U0010ffff", ""}, // nothing is greater
	} {
		if got := prefixEnd(tc.prefix); got != tc.want {
			t.Errorf("prefixEnd(%+q) = %+q, want %+q", tc.prefix, got, tc.want)
		}
	}
}

// FuzzPrefixEnd checks that [prefix, prefixEnd(prefix)) holds exactly the
// strings that start with prefix, and that the bound is valid UTF-8 (which
// PostgreSQL requires of every text parameter).
func FuzzPrefixEnd(f *testing.F) {
	for _, seed := range []string{"", "a", "onnx/", "\u07ff", "\uffff", "\ud7ff", "a\U0010ffff", "日本語/", "\x00"} {
		f.Add(seed, seed+"x")
	}
	f.Fuzz(func(t *testing.T, prefix, s string) {
		if !utf8.ValidString(prefix) || !utf8.ValidString(s) {
			return // ListFiles refuses these before bounding
		}
		end := prefixEnd(prefix)
		if !utf8.ValidString(end) {
			t.Fatalf("prefixEnd(%+q) = %+q, not UTF-8", prefix, end)
		}
		if end == "" {
			if strings.Trim(prefix, "\U0010ffff") != "" {
				t.Fatalf("prefixEnd(%+q) = \"\", but greater strings exist", prefix)
			}
			return
		}
		if end <= prefix || len(end) > len(prefix)+utf8.UTFMax {
			t.Fatalf("prefixEnd(%+q) = %+q", prefix, end)
		}
		if ext := prefix + s; ext >= end {
			t.Fatalf("%+q starts with %+q but is not below the bound %+q", ext, prefix, end)
		}
		if in := s >= prefix && s < end; in != strings.HasPrefix(s, prefix) {
			t.Fatalf("%+q in [%+q, %+q) = %v, starts with the prefix = %v", s, prefix, end, in, !in)
		}
	})
}
