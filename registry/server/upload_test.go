package server

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/auth"
)

func TestParseCommit(t *testing.T) {
	oid := hubtest.SHA256([]byte("x"))
	body := `{"key":"header","value":{"summary":"s","parentCommit":"` + hubtest.CommitID("p") + `"}}
{"key":"file","value":{"path":"a/b.txt","content":"` + base64.StdEncoding.EncodeToString([]byte("hi")) + `","encoding":"base64"}}
{"key":"lfsFile","value":{"path":"w.bin","algo":"sha256","oid":"` + oid + `","size":1}}
{"key":"deletedFile","value":{"path":"old.txt"}}
{"key":"deletedFolder","value":{"path":"logs/"}}
`
	h, ops, err := parseCommit(strings.NewReader(body))
	if err != nil || h.Summary != "s" || len(ops) != 4 || string(ops[0].Content) != "hi" || ops[1].OID != oid || ops[3].Path != "logs" {
		t.Fatalf("parseCommit = %+v, %+v, %v", h, ops, err)
	}
	for name, bad := range map[string]string{
		"no header":     `{"key":"file","value":{"path":"a","content":"","encoding":"base64"}}`,
		"traversal":     `{"key":"header","value":{}}` + "\n" + `{"key":"deletedFile","value":{"path":"../x"}}`,
		"bad oid":       `{"key":"header","value":{}}` + "\n" + `{"key":"lfsFile","value":{"path":"a","algo":"sha256","oid":"nothex","size":1}}`,
		"unknown op":    `{"key":"header","value":{}}` + "\n" + `{"key":"copyFile","value":{"path":"a"}}`,
		"not base64":    `{"key":"header","value":{}}` + "\n" + `{"key":"file","value":{"path":"a","content":"@@","encoding":"base64"}}`,
		"bad parent":    `{"key":"header","value":{"parentCommit":"main"}}`,
		"empty":         ``,
		"truncated":     `{"key":"header","value":{`,
		"absolute path": `{"key":"header","value":{}}` + "\n" + `{"key":"deletedFile","value":{"path":"/etc/passwd"}}`,
	} {
		if _, _, err := parseCommit(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseCommit: any body is refused or yields operations whose paths
// stay inside the repository and whose digests are well formed.
func FuzzParseCommit(f *testing.F) {
	f.Add([]byte(`{"key":"header","value":{"summary":"s"}}` + "\n" + `{"key":"file","value":{"path":"a","content":"aGk=","encoding":"base64"}}`))
	f.Add([]byte(`{"key":"header","value":{}}` + "\n" + `{"key":"lfsFile","value":{"path":"w","oid":"` + strings.Repeat("a", 64) + `","size":3}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, ops, err := parseCommit(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, op := range ops {
			if _, ok := filePath(strings.Split(op.Path, "/")); !ok || op.Path == "" {
				t.Fatalf("path %q accepted", op.Path)
			}
			if op.Kind == "lfsFile" && len(op.OID) != 64 {
				t.Fatalf("oid %q accepted", op.OID)
			}
		}
	})
}

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.bind("user:reader", "*", auth.RoleReader)
	reader := e.token("user:reader", "read")
	e.bind("user:pub", "acme/*", auth.RolePublisher)
	pub := e.token("user:pub", "write")
	if r := e.do("POST", "/api/models/acme/m/preupload/main", reader, strings.NewReader(`{"files":[]}`)); r.status != http.StatusForbidden {
		t.Errorf("reader preupload: %d", r.status)
	}
	if r := e.do("POST", "/api/models/other/m/commit/main", pub, strings.NewReader(`{"key":"header","value":{}}`)); r.status != http.StatusForbidden {
		t.Errorf("publisher outside its namespace: %d", r.status)
	}
	// An lfsFile that was never uploaded.
	body := `{"key":"header","value":{}}` + "\n" + `{"key":"lfsFile","value":{"path":"w","algo":"sha256","oid":"` + strings.Repeat("a", 64) + `","size":3}}`
	if r := e.do("POST", "/api/models/acme/m/commit/main", pub, strings.NewReader(body)); r.status != http.StatusBadRequest || !strings.Contains(r.header.Get("X-Error-Message"), "not uploaded") {
		t.Errorf("commit of a missing LFS object: %d %q", r.status, r.header.Get("X-Error-Message"))
	}
	// A forged or altered upload URL is refused.
	r := e.do("POST", "/acme/m.git/info/lfs/objects/batch", pub, strings.NewReader(`{"operation":"upload","objects":[{"oid":"`+hubtest.SHA256([]byte("abc"))+`","size":3}]}`))
	var batch struct {
		Objects []struct {
			Actions struct{ Upload struct{ Href string } }
		}
	}
	r.json(t, &batch)
	href := batch.Objects[0].Actions.Upload.Href
	if !strings.Contains(href, "sig=") {
		t.Fatalf("batch answer: %s", r.body)
	}
	path := strings.TrimPrefix(href, e.http.URL)
	if r := e.do("PUT", strings.Replace(path, "size=3", "size=4", 1), "", strings.NewReader("abcd")); r.status != http.StatusForbidden {
		t.Errorf("altered upload URL: %d", r.status)
	}
	if r := e.do("PUT", path, "", strings.NewReader("abx")); r.status != http.StatusBadRequest {
		t.Errorf("wrong bytes at a valid URL: %d", r.status)
	}
	if r := e.do("PUT", path, "", strings.NewReader("abc")); r.status != http.StatusOK {
		t.Errorf("the announced bytes: %d %s", r.status, r.body)
	}
	// Commits apply to the branch head: a second commit that deletes a file
	// keeps the rest.
	abc := hubtest.SHA256([]byte("abc"))
	first := `{"key":"header","value":{}}` + "\n" + `{"key":"lfsFile","value":{"path":"w.bin","algo":"sha256","oid":"` + abc + `","size":3}}` + "\n" +
		`{"key":"file","value":{"path":"notes.txt","content":"aGk=","encoding":"base64"}}`
	var c1, c2 struct{ CommitOid string }
	e.do("POST", "/api/models/acme/m/commit/main", pub, strings.NewReader(first)).json(t, &c1)
	second := `{"key":"header","value":{"parentCommit":"` + c1.CommitOid + `"}}` + "\n" + `{"key":"deletedFile","value":{"path":"notes.txt"}}`
	e.do("POST", "/api/models/acme/m/commit/main", pub, strings.NewReader(second)).json(t, &c2)
	var rv revisionView
	e.do("GET", "/api/aigis/repos/models/acme/m/revisions/"+c2.CommitOid, pub, nil).json(t, &rv)
	if c2.CommitOid == "" || c2.CommitOid == c1.CommitOid || len(rv.Files) != 1 || rv.Files[0].Path != "w.bin" {
		t.Errorf("second commit %s after %s has files %+v, want only w.bin", c2.CommitOid, c1.CommitOid, rv.Files)
	}
	// Parent commit that is not the head.
	body = `{"key":"header","value":{"parentCommit":"` + hubtest.CommitID("x") + `"}}` + "\n" + `{"key":"file","value":{"path":"a","content":"aGk=","encoding":"base64"}}`
	if r := e.do("POST", "/api/models/acme/m/commit/main", pub, strings.NewReader(body)); r.status != http.StatusPreconditionFailed {
		t.Errorf("stale parent: %d", r.status)
	}
}
