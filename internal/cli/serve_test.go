package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/audit"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, buf *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server output never matched %s:\n%s", re, buf.String())
	return nil
}

type call struct {
	status int
	header http.Header
	body   []byte
}

func httpDo(t *testing.T, method, url, token string, body io.Reader) call {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return call{resp.StatusCode, resp.Header, b}
}

// TestServeEndToEnd runs `aigis serve` as a user would: first start with an
// admin token, a benign model pulled through and served, a malicious one
// refused with the reason, an internal model pushed, approved by a reviewer
// and served, then `aigis audit verify` on the data folder, before and after
// tampering with the log.
func TestServeEndToEnd(t *testing.T) {
	st, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", "benign", "safetensors", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", "malicious", "torch", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	up := hubtest.NewHub(t, map[string]hubtest.Repo{
		"acme/bert": {Files: []hubtest.File{{Path: "config.json", Content: []byte(`{"model_type":"bert"}`)}, {Path: "model.safetensors", Content: st, LFS: true}}},
		"evil/bert": {Files: []hubtest.File{{Path: "pytorch_model.bin", Content: evil, LFS: true}}},
	})
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	f := serveFlags{addr: "127.0.0.1:0", data: data, upstream: up.URL, workers: 1, anonymous: "request", wait: 30 * time.Second,
		approvals: 1, role: "all", checkpointEvery: time.Hour, s3Prefix: "aigis/", s3Region: "us-east-1"}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, f, io.Discard, &stderr) }()
	addr := waitFor(t, &stderr, regexp.MustCompile(`listening on (http://[0-9.:]+)`))[1]
	admin := waitFor(t, &stderr, regexp.MustCompile(`(aigis_pat_\S+)`))[1]

	// A benign model through the gate: the request waits for the scan.
	r := httpDo(t, "GET", addr+"/api/models/acme/bert/revision/main", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("benign model: %d %s", r.status, r.body)
	}
	r = httpDo(t, "GET", addr+"/acme/bert/resolve/main/model.safetensors", "", nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, st) {
		t.Fatalf("benign download: %d, %d bytes", r.status, len(r.body))
	}
	// A malicious one is refused with the reason.
	r = httpDo(t, "GET", addr+"/evil/bert/resolve/main/pytorch_model.bin", "", nil)
	if r.status != http.StatusForbidden || r.header.Get("X-Error-Code") != "GatedRepo" || !strings.Contains(r.header.Get("X-Error-Message"), "pytorch_model.bin") {
		t.Fatalf("malicious download: %d %q %q", r.status, r.header.Get("X-Error-Code"), r.header.Get("X-Error-Message"))
	}

	// An internal model: pushed by the admin, approved by a reviewer.
	if r := httpDo(t, "POST", addr+"/api/aigis/bindings", admin, strings.NewReader(`{"Principal":"user:rev","Namespace":"acme/*","Role":"reviewer"}`)); r.status != http.StatusCreated {
		t.Fatalf("add binding: %d %s", r.status, r.body)
	}
	r = httpDo(t, "POST", addr+"/api/aigis/tokens", admin, strings.NewReader(`{"owner":"user:rev","scopes":["approve"]}`))
	var tok struct{ Token string }
	json.Unmarshal(r.body, &tok)
	if r.status != http.StatusCreated || tok.Token == "" {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	model := t.TempDir()
	os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type":"bert","hidden_size":4}`), 0o644)
	os.WriteFile(filepath.Join(model, "model.safetensors"), st, 0o644)
	var out bytes.Buffer
	if err := push(ctx, &out, model, addr, "acme/internal", "model", "main", "first", admin); err != nil {
		t.Fatal(err)
	}
	commit := regexp.MustCompile(`@([0-9a-f]{40})`).FindStringSubmatch(out.String())[1]
	revURL := addr + "/api/aigis/repos/models/acme/internal/revisions/" + commit
	var rv struct{ Status, Reason string }
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		json.Unmarshal(httpDo(t, "GET", revURL, admin, nil).body, &rv)
		if strings.HasPrefix(rv.Reason, "awaiting approval") {
			break
		}
	}
	if !strings.HasPrefix(rv.Reason, "awaiting approval") {
		t.Fatalf("pushed revision: %+v, want awaiting approval", rv)
	}
	if r := httpDo(t, "GET", addr+"/acme/internal/resolve/main/config.json", admin, nil); r.status != http.StatusForbidden {
		t.Errorf("an unapproved push was served: %d", r.status)
	}
	if r := httpDo(t, "POST", revURL+"/approve", admin, strings.NewReader(`{"comment":"mine"}`)); r.status != http.StatusForbidden {
		t.Errorf("the pusher approved their own push: %d %s", r.status, r.body)
	}
	if r := httpDo(t, "POST", revURL+"/approve", tok.Token, strings.NewReader(`{"comment":"reviewed"}`)); r.status != http.StatusOK {
		t.Fatalf("reviewer approval: %d %s", r.status, r.body)
	}
	if r := httpDo(t, "GET", addr+"/acme/internal/resolve/main/model.safetensors", admin, nil); r.status != http.StatusOK || !bytes.Equal(r.body, st) {
		t.Fatalf("approved push: %d, %d bytes", r.status, len(r.body))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	var vout, verr bytes.Buffer
	if code := Main([]string{"audit", "verify", "--data", data}, &vout, &verr); code != ExitOK || !strings.Contains(vout.String(), "audit log verified") {
		t.Fatalf("audit verify: exit %d\n%s%s", code, vout.String(), verr.String())
	}
	// An exported inclusion proof checks against the last published
	// checkpoint's root.
	vout.Reset()
	if code := Main([]string{"audit", "proof", "--data", data, "--index", "2"}, &vout, &verr); code != ExitOK {
		t.Fatalf("audit proof: exit %d %s", code, verr.String())
	}
	var proof struct {
		TreeSize     int64 `json:"tree_size"`
		Root, Record string
		Proof        []string
	}
	if err := json.Unmarshal(vout.Bytes(), &proof); err != nil {
		t.Fatal(err)
	}
	cps, _ := filepath.Glob(filepath.Join(data, "checkpoints", "*.note"))
	pub, _ := os.ReadFile(filepath.Join(data, "keys", "audit.pub"))
	verifier, err := note.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil || len(cps) == 0 {
		t.Fatalf("checkpoints %v, key %v", cps, err)
	}
	last, _ := os.ReadFile(cps[len(cps)-1])
	cpSize, cpRoot, err := audit.OpenCheckpoint(last, verifier)
	if err != nil || cpSize != proof.TreeSize {
		t.Fatalf("checkpoint size %d (%v), proof for %d", cpSize, err, proof.TreeSize)
	}
	rec, _ := base64.StdEncoding.DecodeString(proof.Record)
	var rp tlog.RecordProof
	for _, h := range proof.Proof {
		b, _ := base64.StdEncoding.DecodeString(h)
		rp = append(rp, tlog.Hash(b))
	}
	if err := tlog.CheckRecord(rp, proof.TreeSize, cpRoot, 2, tlog.RecordHash(rec)); err != nil {
		t.Errorf("exported proof does not check against the signed checkpoint: %v", err)
	}
	// Change one byte of one record: verify names the entry and exits 1.
	recs := filepath.Join(data, "audit", "records")
	b, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"allow"`))
	if i < 0 {
		t.Fatal("no allow decision in the records")
	}
	copy(b[i:], `"alloW"`)
	if err := os.WriteFile(recs, b, 0o600); err != nil {
		t.Fatal(err)
	}
	vout.Reset()
	if code := Main([]string{"audit", "verify", "--data", data}, &vout, &verr); code != ExitFindings || !strings.Contains(vout.String(), "changed") {
		t.Fatalf("tampered log: exit %d\n%s", code, vout.String())
	}
}

// TestServeTwoProcessesShareOneAuditLog runs two aigis serve instances on
// one database with the audit log kept in it (--audit-in database): both
// serve and record downloads into the same log, which `aigis audit verify
// --in database` proves, and a record changed in the database is named.
func TestServeTwoProcessesShareOneAuditLog(t *testing.T) {
	st, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", "benign", "safetensors", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	up := hubtest.NewHub(t, map[string]hubtest.Repo{"acme/bert": {Files: []hubtest.File{{Path: "model.safetensors", Content: st, LFS: true}}}})
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs []string
	var admin string
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		var stderr syncBuffer
		f := serveFlags{addr: "127.0.0.1:0", data: data, upstream: up.URL, workers: 1, anonymous: "request", wait: 30 * time.Second,
			approvals: 1, role: "all", checkpointEvery: time.Hour, s3Prefix: "aigis/", s3Region: "us-east-1", auditIn: "database"}
		go func() { done <- runServe(ctx, f, io.Discard, &stderr) }()
		addrs = append(addrs, waitFor(t, &stderr, regexp.MustCompile(`listening on (http://[0-9.:]+)`))[1])
		if i == 0 {
			admin = waitFor(t, &stderr, regexp.MustCompile(`(aigis_pat_\S+)`))[1]
		}
	}
	for _, a := range addrs {
		if r := httpDo(t, "GET", a+"/acme/bert/resolve/main/model.safetensors", admin, nil); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", a, r.status, r.header.Get("X-Error-Message"))
		}
	}
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"audit", "verify", "--data", data, "--in", "database", "--json"}, &out, &errb); code != ExitOK {
		t.Fatalf("audit verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var rep struct{ Size int64 }
	json.Unmarshal(out.Bytes(), &rep)
	db, err := sql.Open("sqlite", filepath.Join(data, "aigis.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var downloads int
	db.QueryRow(`SELECT COUNT(*) FROM audit_records WHERE CAST(body AS TEXT) LIKE '%artifact.download%'`).Scan(&downloads)
	if downloads < 2 || rep.Size < 4 {
		t.Errorf("one log of %d entries with %d downloads, want both servers' downloads in it", rep.Size, downloads)
	}
	if _, err := db.Exec(`UPDATE audit_records SET body = CAST(REPLACE(CAST(body AS TEXT), 'allow', 'alloW') AS BLOB) WHERE CAST(body AS TEXT) LIKE '%artifact.download%'`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := Main([]string{"audit", "verify", "--data", data, "--in", "database"}, &out, &errb); code != ExitFindings || !strings.Contains(out.String(), "changed") {
		t.Fatalf("tampered shared log: exit %d\n%s", code, out.String())
	}
}

// TestServeTLS: with --tls-cert and --tls-key the gate answers over HTTPS.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	f := serveFlags{addr: "127.0.0.1:0", data: filepath.Join(dir, "data"), offline: true, workers: 1, anonymous: "read", role: "all",
		checkpointEvery: time.Hour, s3Prefix: "aigis/", s3Region: "us-east-1", tlsCert: certFile, tlsKey: keyFile}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, f, io.Discard, &stderr) }()
	addr := waitFor(t, &stderr, regexp.MustCompile(`listening on (https://[0-9.:]+)`))[1]
	pool := x509.NewCertPool()
	pool.AddCert(mustParse(t, der))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("healthz over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
