package hub

import (
	"net/url"
	"testing"
)

// FuzzNextLink: the Link header of a paginated listing comes from the
// server. No panic, and a next page is always an absolute URL (resolved
// against the current one); the caller refuses one on another host.
func FuzzNextLink(f *testing.F) {
	f.Add(`<https://huggingface.co/api/models/a/b/tree/main?cursor=x>; rel="next"`)
	f.Add(`<https://evil.example/x>; rel="next"`)
	f.Add(`<>; rel=next, <//x>; rel="next"`)
	cur, _ := url.Parse("https://huggingface.co/api/models/a/b/tree/main")
	f.Fuzz(func(t *testing.T, header string) {
		u, err := nextLink(cur, header)
		if err == nil && u != nil && !u.IsAbs() {
			t.Fatalf("next page not absolute: %s", u)
		}
	})
}
