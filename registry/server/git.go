package server

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/registry/store"
)

// gitBlobID is git's object id of a file: sha1("blob <len>\x00" + content).
func gitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// gitTreeID is a stable identifier for a folder in tree listings. The Hub
// sends git tree ids; clients use them only as opaque names.
func gitTreeID(p string) string {
	h := sha1.Sum([]byte("tree " + p))
	return hex.EncodeToString(h[:])
}

// commitID is the commit id of an internal revision: a digest of its file
// list (paths, sizes, sha256) and its parent, so the same push gives the
// same id and any change of content gives a new one.
func commitID(parent string, files []store.File) string {
	lines := make([]string, 0, len(files))
	for _, f := range files {
		lines = append(lines, fmt.Sprintf("%s\x00%d\x00%s", f.Path, f.Size, f.SHA256))
	}
	sort.Strings(lines)
	h := sha1.New()
	fmt.Fprintf(h, "aigis-commit v1\nparent %s\n%s", parent, strings.Join(lines, "\n"))
	return hex.EncodeToString(h.Sum(nil))
}
