package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/signing/oms"
)

// TestApprovalSignsWithServerKey: a pushed revision approved by two
// reviewers (four-eyes) is signed with the server's key, and the signature
// verifies against the downloaded files with the OMS verifier; a changed
// file fails it.
func TestApprovalSignsWithServerKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *Config) { c.Signer = &Signer{Key: key}; c.Approvals = 2 })
	e.bind("user:pub", "acme/*", auth.RolePublisher)
	e.bind("user:r1", "acme/*", auth.RoleReviewer)
	e.bind("user:r2", "acme/*", auth.RoleReviewer)
	pub, r1, r2 := e.token("user:pub", "write"), e.token("user:r1", "approve"), e.token("user:r2", "approve")

	files := map[string][]byte{"config.json": []byte(`{"model_type":"bert"}`), "model.safetensors": readFixture(t, "models/benign/safetensors/model.safetensors")}
	var list []string
	for p, b := range files {
		sum := hubtest.SHA256(b)
		if r := e.do("PUT", "/api/aigis/repos/models/acme/m/blobs/"+sum, pub, strings.NewReader(string(b))); r.status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", p, r.status, r.body)
		}
		list = append(list, `{"path":"`+p+`","sha256":"`+sum+`"}`)
	}
	r := e.do("POST", "/api/aigis/repos/models/acme/m/commits", pub, strings.NewReader(`{"files":[`+strings.Join(list, ",")+`]}`))
	var c struct{ Commit string }
	r.json(t, &c)
	if r.status != http.StatusCreated {
		t.Fatalf("commit: %d %s", r.status, r.body)
	}
	e.work()
	approve := func(tok string) int {
		return e.do("POST", "/api/aigis/repos/models/acme/m/revisions/"+c.Commit+"/approve", tok, strings.NewReader(`{"comment":"ok"}`)).status
	}
	if st := approve(r1); st != http.StatusAccepted {
		t.Fatalf("first approval: %d", st)
	}
	if r := e.do("GET", "/acme/m/resolve/main/config.json", pub, nil); r.status != http.StatusForbidden {
		t.Errorf("served after one of two approvals: %d", r.status)
	}
	if st := approve(r1); st != http.StatusAccepted {
		t.Errorf("the same reviewer twice counted: %d", st)
	}
	if st := approve(r2); st != http.StatusOK {
		t.Fatalf("second approval: %d", st)
	}
	sig := e.do("GET", "/api/aigis/repos/models/acme/m/revisions/"+c.Commit+"/signature", pub, nil)
	if sig.status != http.StatusOK {
		t.Fatalf("signature: %d %s", sig.status, sig.body)
	}
	dir := t.TempDir()
	for p := range files {
		g := e.do("GET", "/acme/m/resolve/main/"+p, pub, nil)
		if g.status != http.StatusOK {
			t.Fatalf("download %s: %d", p, g.status)
		}
		os.WriteFile(filepath.Join(dir, p), g.body, 0o644)
	}
	if _, err := oms.Verify(context.Background(), dir, sig.body, oms.VerifyOptions{PublicKey: &key.PublicKey}); err != nil {
		t.Fatalf("the server's signature does not verify on the downloaded files: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"evil"}`), 0o644)
	if _, err := oms.Verify(context.Background(), dir, sig.body, oms.VerifyOptions{PublicKey: &key.PublicKey}); err == nil {
		t.Error("a changed file still verifies")
	}
}
