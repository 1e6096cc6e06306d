package integrity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
	"github.com/google/go-cmp/cmp"
)

func TestDetectColumns(t *testing.T) {
	tests := []struct {
		cols []string
		want URLList
		ok   bool
	}{
		{[]string{"url", "caption", "sha256"}, URLList{URL: 0, URLName: "url", Hash: 2, HashName: "sha256", Algo: "sha256"}, true},
		{[]string{"caption", "URL", "md5"}, URLList{URL: 1, URLName: "URL", Hash: 2, HashName: "md5", Algo: "md5"}, true},
		{[]string{"Image-URL", "text"}, URLList{URL: 0, URLName: "Image-URL", Hash: -1}, true},
		{[]string{"thumbnail_url", "jpg_sha256"}, URLList{URL: 0, URLName: "thumbnail_url", Hash: 1, HashName: "jpg_sha256", Algo: "sha256"}, true},
		{[]string{"thumb_url", "link", "hash"}, URLList{URL: 1, URLName: "link", Hash: 2, HashName: "hash"}, true}, // exact names first
		{[]string{"text", "label"}, URLList{URL: -1, Hash: -1}, false},
		{[]string{"curl", "urls"}, URLList{URL: -1, Hash: -1}, false},
	}
	for _, tt := range tests {
		got, ok := DetectColumns(tt.cols)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("DetectColumns(%q) = %+v, %v; want %+v, %v", tt.cols, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDigest(t *testing.T) {
	h := sha([]byte("x"))
	tests := []struct {
		algo, v, wantAlgo, want string
	}{
		{"sha256", h, "sha256", h},
		{"", strings.ToUpper(h), "sha256", h},
		{"", "sha256:" + h, "sha256", h},
		{"", md([]byte("x")), "md5", md([]byte("x"))},
		{"md5", h, "", ""},                      // length contradicts the column name
		{"", "sha1:" + h, "", ""},               // and the prefix
		{"", "-4563623456345", "", ""},          // LAION's "hash": not a digest
		{"", "zz" + h[2:], "", ""},              // not hex
		{"", "", "", ""},                        // missing
		{"", "rot13:" + h, "", ""},              // unknown prefix
		{"sha256", "  " + h + " ", "sha256", h}, // spaces around
	}
	for _, tt := range tests {
		a, d, ok := ParseDigest(tt.algo, tt.v)
		if a != tt.wantAlgo || d != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseDigest(%q, %q) = %q, %q, %v; want %q, %q", tt.algo, tt.v, a, d, ok, tt.wantAlgo, tt.want)
		}
	}
}

// readAll feeds every row of a dataset file read by package data to a checker.
func readAll(t *testing.T, p string) *URLChecker {
	t.Helper()
	r, err := data.Open(p, data.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var c *URLChecker
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c == nil {
			var ok bool
			if c, ok = NewURLChecker(finding.Location{Path: p}, r.Columns()); !ok {
				t.Fatalf("%s: no URL column in %q", p, r.Columns())
			}
		}
		c.Add(row)
	}
	return c
}

// TestURLListCSV is an img2dataset-style CSV (url, caption, sha256) on a
// host where one item changed: 20 rows, 3 without a hash, 1 with a
// malformed hash, 2 over plain http, 1 without a URL.
func TestURLListCSV(t *testing.T) {
	h := newFakeHost(t)
	var b strings.Builder
	b.WriteString("url,caption,sha256\n")
	for i := range 20 {
		p := fmt.Sprintf("/img/%d.jpg", i%5)
		u, digest := h.URL+p, sha(h.files[p])
		switch i {
		case 3, 7, 11:
			digest = ""
		case 12:
			digest = "not-a-hash"
		case 13:
			u = ""
		case 15:
			u, digest = h.URL+"/img/changed.jpg", sha([]byte("the image that was curated"))
		}
		if i == 4 || i == 9 {
			u = strings.Replace(u, "http://", "HTTP://", 1) // the scheme is case-insensitive
		}
		fmt.Fprintf(&b, "%s,a photo %d,%s\n", u, i, digest)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "urls.csv")
	write(t, p, b.String())

	c := readAll(t, p)
	fs := c.Findings()
	type sum struct{ Rule, Sev, Unhashed, Malformed, Insecure, Rows string }
	var got []sum
	for _, f := range fs {
		got = append(got, sum{f.RuleID, f.Severity.String(), f.Evidence["unhashed"], f.Evidence["malformed"], f.Evidence["insecure"], f.Evidence["rows"]})
	}
	// httptest serves plain http, so every URL is insecure here.
	want := []sum{
		{"data-url-unhashed", "medium", "4", "1", "", "19"},
		{"data-url-insecure", "low", "", "", "19", "19"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if ex := fs[0].Evidence["examples"]; !strings.HasPrefix(ex, "row 4: ") {
		t.Errorf("examples %q: want the rows without a hash, by row number", ex)
	}
	if n := len(c.Items()); n != 15 {
		t.Fatalf("%d items to verify, want 15", n)
	}
	var mismatches []string
	for _, f := range Fetch(context.Background(), c.Items(), FetchOptions{Client: h.Client()}) {
		mismatches = append(mismatches, f.RuleID+" row "+f.Evidence["row"]+" "+f.Path)
	}
	if diff := cmp.Diff([]string{"data-url-mismatch row 16 " + p}, mismatches); diff != "" {
		t.Errorf("Fetch (-want +got):\n%s", diff)
	}
}

// TestURLListJSONL has no hash column at all.
func TestURLListJSONL(t *testing.T) {
	var b strings.Builder
	for i := range 10 {
		line, _ := json.Marshal(map[string]any{"image_url": fmt.Sprintf("https://cdn%d.example/%d.jpg", i%3, i), "text": "a cat"})
		b.Write(line)
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "pairs.jsonl")
	write(t, p, b.String())
	fs := readAll(t, p).Findings()
	if len(fs) != 1 || fs[0].RuleID != RuleURLUnhashed.ID || fs[0].Evidence["unhashed"] != "10" || fs[0].Evidence["hash_column"] != "" {
		t.Fatalf("findings %+v; want one data-url-unhashed for 10 rows and no hash column", fs)
	}
	if !strings.Contains(fs[0].Message, "no hash column") {
		t.Errorf("message %q", fs[0].Message)
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || !strings.HasPrefix(r.ID, "data-") || r.Remediation == "" || len(r.ATLAS) == 0 || r.Description == "" {
			t.Errorf("rule %+v: duplicate, or missing id prefix, ATLAS, description or remediation", r)
		}
		seen[r.ID] = true
	}
}

func FuzzDetectColumns(f *testing.F) {
	f.Add("url,caption,sha256", "https://a.example/1.jpg,x,"+sha(nil))
	f.Add("URL,md5", "http://b.example/2.png,"+md(nil))
	f.Add("image_url,hash", "x,-1234")
	f.Add("a,b", "c,d")
	f.Fuzz(func(t *testing.T, header, row string) {
		cols := strings.Split(header, ",")
		l, ok := DetectColumns(cols)
		if ok != (l.URL >= 0) || l.URL >= len(cols) || l.Hash >= len(cols) || (ok && l.Hash == l.URL) {
			t.Fatalf("DetectColumns(%q) = %+v, %v", cols, l, ok)
		}
		c, ok := NewURLChecker(finding.Location{Path: "f"}, cols)
		if !ok {
			return
		}
		c.Add(&data.Row{Num: 1, Values: strings.Split(row, ",")})
		c.Add(&data.Row{Num: 2})
		for _, it := range c.Items() {
			if a, d, ok := ParseDigest(it.Algo, it.Digest); !ok || a != it.Algo || d != it.Digest {
				t.Fatalf("item %+v: digest does not round-trip", it)
			}
		}
		c.Findings()
	})
}

func TestItemsReservoir(t *testing.T) {
	old := maxItems
	t.Cleanup(func() { maxItems = old })
	maxItems = 10
	c, _ := NewURLChecker(finding.Location{}, []string{"url", "sha256"})
	for i := range 1000 {
		c.Add(&data.Row{Num: int64(i + 1), Values: []string{fmt.Sprintf("https://x.example/%d", i), sha(nil)}})
	}
	if c.Hashed() != 1000 || len(c.Items()) != 10 {
		t.Fatalf("hashed %d, items %d; want 1000 and 10", c.Hashed(), len(c.Items()))
	}
	late := 0
	for _, it := range c.Items() {
		if it.Row > 10 {
			late++
		}
	}
	if late == 0 {
		t.Errorf("the sample holds only the first rows: %+v", c.Items())
	}
}
