package safeio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLimitReader(t *testing.T) {
	// Input that ends exactly at the limit is read whole.
	got, err := io.ReadAll(LimitReader(strings.NewReader("abcd"), 4, "X"))
	if err != nil || string(got) != "abcd" {
		t.Fatalf("at the limit: %q, %v", got, err)
	}
	// One byte more is a LimitError naming the limit, not a silent EOF.
	_, err = io.ReadAll(LimitReader(strings.NewReader("abcde"), 4, "MaxMemberBytes"))
	le, ok := IsLimit(err)
	if !ok || le.Limit != "MaxMemberBytes" || le.Value != 4 {
		t.Fatalf("past the limit: %v", err)
	}
}

func TestRatioReader(t *testing.T) {
	// 10 compressed bytes at ratio 2 allow 20 bytes plus the 1 MiB allowance.
	in := bytes.Repeat([]byte{0}, 1<<20+21)
	_, err := io.ReadAll(RatioReader(bytes.NewReader(in), 10, 2))
	if le, ok := IsLimit(err); !ok || le.Limit != "MaxRatio" {
		t.Fatalf("err = %v, want MaxRatio", err)
	}
	if _, err := io.ReadAll(RatioReader(bytes.NewReader(in[:1<<20+20]), 10, 2)); err != nil {
		t.Fatalf("within the ratio: %v", err)
	}
}

func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := ContextReader(ctx, strings.NewReader("abcdef"))
	p := make([]byte, 3)
	if n, err := r.Read(p); n != 3 || err != nil {
		t.Fatalf("before cancel: %d, %v", n, err)
	}
	cancel()
	if n, err := r.Read(p); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %d, %v", n, err)
	}
}
