package bom

import (
	"context"
	"testing"
)

func TestBuildProjectSmoke(t *testing.T) {
	b, _, err := Build(context.Background(), "../testdata/project", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Components == nil || len(*b.Components) == 0 {
		t.Fatal("no components")
	}
}
