package integrity

import (
	"encoding/hex"
	"strings"
)

// Column names that hold the URL of an item, after normalisation (lower
// case, '-' and ' ' read as '_'). img2dataset reads "url" by default;
// LAION and DataComp use "url", COYO "url", CC3M/CC12M "image_url" and
// WIT "image_url"; hand-made lists use the others.
var urlColumnNames = []string{
	"url", "image_url", "img_url", "imageurl", "photo_url", "video_url", "audio_url",
	"file_url", "download_url", "source_url", "media_url", "link", "image_link",
	"href", "uri", "src",
}

// Column names that hold the expected digest of an item, with the algorithm
// the name implies ("" when the name does not say: the value's length does).
// img2dataset writes "sha256" (--compute_hash) and checks the column given
// to --verify_hash; LAION's "hash" is not a cryptographic digest, which the
// value's length reveals.
var hashColumnNames = []struct{ name, algo string }{
	{"sha256", "sha256"}, {"sha_256", "sha256"}, {"sha256sum", "sha256"}, {"image_sha256", "sha256"},
	{"sha512", "sha512"}, {"sha_512", "sha512"},
	{"sha1", "sha1"}, {"sha_1", "sha1"},
	{"md5", "md5"}, {"md5sum", "md5"}, {"image_md5", "md5"},
	{"hash", ""}, {"checksum", ""}, {"digest", ""}, {"content_hash", ""}, {"file_hash", ""}, {"image_hash", ""},
}

// hexLen maps the length of a hex digest to its algorithm. Preferred order
// when a column name says nothing: the length is unambiguous.
var hexLen = map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

// URLList says which columns of a dataset name its items: the URL column
// and, when there is one, the column with the expected digest of each item.
type URLList struct {
	URL      int    // index of the URL column
	URLName  string // its name as written
	Hash     int    // index of the hash column, -1 when there is none
	HashName string
	Algo     string // the algorithm the hash column's name declares; "" when only the values tell
}

func normColumn(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	return strings.NewReplacer("-", "_", " ", "_").Replace(c)
}

// DetectColumns finds the URL and hash columns among cols. It reports false
// when no column is named like a URL column. Exact names win over suffixes
// ("photo_url"), and the first of several candidates wins.
func DetectColumns(cols []string) (URLList, bool) {
	l := URLList{URL: -1, Hash: -1}
	l.URL = pick(cols, func(n string) bool { return contains(urlColumnNames, n) })
	if l.URL < 0 {
		l.URL = pick(cols, func(n string) bool { return strings.HasSuffix(n, "_url") || strings.HasSuffix(n, "_uri") })
	}
	if l.URL < 0 {
		return l, false
	}
	l.URLName = cols[l.URL]
	for _, h := range hashColumnNames {
		i := pick(cols, func(n string) bool { return n == h.name })
		if i >= 0 {
			l.Hash, l.HashName, l.Algo = i, cols[i], h.algo
			break
		}
	}
	if l.Hash < 0 {
		// "image_sha256", "jpg_md5", "url_hash": a known algorithm as the last word.
		for i, c := range cols {
			n := normColumn(c)
			for _, a := range []string{"sha256", "sha512", "sha1", "md5"} {
				if strings.HasSuffix(n, "_"+a) {
					l.Hash, l.HashName, l.Algo = i, c, a
					break
				}
			}
			if l.Hash >= 0 {
				break
			}
		}
	}
	return l, true
}

func pick(cols []string, ok func(string) bool) int {
	for i, c := range cols {
		if ok(normColumn(c)) {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseDigest reads an expected digest as written in a dataset: hex, with an
// optional "sha256:" style prefix. algo is what the column name declared
// ("" when it did not). It returns the algorithm and the lower-case hex
// digest, and false when the value is not a digest of a known algorithm
// (empty, not hex, a length that fits no algorithm, or one that contradicts
// the declared algorithm).
func ParseDigest(algo, v string) (string, string, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i > 0 {
		prefix := strings.ToLower(strings.ReplaceAll(v[:i], "-", ""))
		if _, known := algoOf(prefix); !known {
			return "", "", false
		}
		if algo != "" && algo != prefix {
			return "", "", false
		}
		algo, v = prefix, v[i+1:]
	}
	if v == "" {
		return "", "", false
	}
	if _, err := hex.DecodeString(v); err != nil {
		return "", "", false
	}
	byLen, ok := hexLen[len(v)]
	if !ok || (algo != "" && algo != byLen) {
		return "", "", false
	}
	return byLen, strings.ToLower(v), true
}

func algoOf(name string) (string, bool) {
	for _, a := range hexLen {
		if a == name {
			return a, true
		}
	}
	return "", false
}
