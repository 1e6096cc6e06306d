package integrity

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
)

const (
	maxExamples = 5   // rows quoted in a finding's evidence
	maxURLShown = 200 // bytes of one URL quoted in evidence
)

// maxItems bounds the hashed URLs kept for Fetch: beyond it, a uniform
// random sample (reservoir, fixed seed: runs are reproducible) is kept.
var maxItems = 100_000

// URLItem is one item of a URL list that can be verified: its URL and the
// digest published with it.
type URLItem struct {
	Loc    finding.Location // the dataset file
	Row    int64            // row number in that file
	URL    string
	Algo   string // "sha256", "sha512", "sha1" or "md5"
	Digest string // lower-case hex
}

// URLChecker reads the rows of one URL-list file and reports the rows that
// cannot be verified. Use NewURLChecker, then Add every row, then Findings.
type URLChecker struct {
	loc  finding.Location
	cols URLList

	rows, urls int64
	unhashed   int64 // rows with a URL and no usable digest
	malformed  int64 // of which: a hash value that is not a digest
	insecure   int64
	unhashedEx []string
	insecureEx []string
	items      []URLItem
	hashed     int64 // rows with a URL and a digest, kept or not
	rng        *rand.Rand
}

// NewURLChecker returns a checker for a file at loc with columns cols, and
// false when no column holds URLs (the file is not a URL list).
func NewURLChecker(loc finding.Location, cols []string) (*URLChecker, bool) {
	l, ok := DetectColumns(cols)
	if !ok {
		return nil, false
	}
	return &URLChecker{loc: loc, cols: l}, true
}

// Columns says which columns the checker reads.
func (c *URLChecker) Columns() URLList { return c.cols }

// Add reads one row. Rows without a URL are counted and otherwise ignored.
func (c *URLChecker) Add(r *data.Row) {
	c.rows++
	u := field(r.Values, c.cols.URL)
	if u == "" {
		return
	}
	c.urls++
	if pu, err := url.Parse(u); err == nil && strings.EqualFold(pu.Scheme, "http") {
		c.insecure++
		if len(c.insecureEx) < maxExamples {
			c.insecureEx = append(c.insecureEx, example(r, u))
		}
	}
	raw := field(r.Values, c.cols.Hash)
	algo, digest, ok := ParseDigest(c.cols.Algo, raw)
	if !ok {
		c.unhashed++
		if raw != "" {
			c.malformed++
		}
		if len(c.unhashedEx) < maxExamples {
			c.unhashedEx = append(c.unhashedEx, example(r, u))
		}
		return
	}
	c.hashed++
	it := URLItem{Loc: c.loc, Row: r.Num, URL: u, Algo: algo, Digest: digest}
	if len(c.items) < maxItems {
		c.items = append(c.items, it)
		return
	}
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(1, 2))
	}
	if j := c.rng.Int64N(c.hashed); j < int64(maxItems) {
		c.items[j] = it
	}
}

// Items are the rows that carry a URL and a digest, for Fetch: all of them
// up to 100,000, a uniform sample of 100,000 beyond (Hashed says how many
// there were).
func (c *URLChecker) Items() []URLItem { return c.items }

// Hashed is the number of rows with a URL and a usable digest.
func (c *URLChecker) Hashed() int64 { return c.hashed }

// Findings reports rows that cannot be verified and plain-HTTP URLs.
func (c *URLChecker) Findings() []finding.Finding {
	var out []finding.Finding
	if c.unhashed > 0 {
		ev := map[string]string{
			"url_column": c.cols.URLName,
			"rows":       strconv.FormatInt(c.urls, 10),
			"unhashed":   strconv.FormatInt(c.unhashed, 10),
			"examples":   strings.Join(c.unhashedEx, "; "),
		}
		var msg string
		if c.cols.Hash < 0 {
			msg = fmt.Sprintf("%d rows name their item by URL (column %q) and the dataset has no hash column: the content behind a URL can change after the dataset is published (split-view poisoning)", c.unhashed, c.cols.URLName)
		} else {
			ev["hash_column"] = c.cols.HashName
			ev["malformed"] = strconv.FormatInt(c.malformed, 10)
			msg = fmt.Sprintf("%d of %d rows with a URL have no usable hash in column %q (%d malformed): the content behind those URLs can change after the dataset is published (split-view poisoning)", c.unhashed, c.urls, c.cols.HashName, c.malformed)
		}
		out = append(out, finding.New(RuleURLUnhashed, RuleURLUnhashed.Severity, c.loc, msg, ev))
	}
	if c.insecure > 0 {
		out = append(out, finding.New(RuleURLInsecure, RuleURLInsecure.Severity, c.loc,
			fmt.Sprintf("%d of %d URLs use plain http", c.insecure, c.urls),
			map[string]string{
				"url_column": c.cols.URLName,
				"rows":       strconv.FormatInt(c.urls, 10),
				"insecure":   strconv.FormatInt(c.insecure, 10),
				"examples":   strings.Join(c.insecureEx, "; "),
			}))
	}
	return out
}

func field(v []string, i int) string {
	if i < 0 || i >= len(v) {
		return ""
	}
	return strings.TrimSpace(v[i])
}

func example(r *data.Row, u string) string {
	return fmt.Sprintf("row %d: %s", r.Num, shorten(u))
}

func shorten(s string) string {
	if len(s) <= maxURLShown {
		return s
	}
	return s[:maxURLShown] + "…"
}
