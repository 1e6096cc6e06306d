package pyparse

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/pelletier/go-toml/v2"
)

// decodeTOML decodes data into a generic document, after bounding the
// nesting of arrays and inline tables the decoder would recurse into.
func decodeTOML(data []byte, lim Limits) (doc map[string]any, err error) {
	if err := checkNesting(data, lim.MaxNesting, lim.MaxTOMLKeys); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, &SyntaxError{Msg: fmt.Sprintf("TOML decoder failed: %v", p)}
		}
	}()
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, &SyntaxError{Line: row, Msg: de.Error()}
		}
		return nil, &SyntaxError{Msg: err.Error()}
	}
	return doc, nil
}

// checkNesting rejects TOML whose arrays and inline tables nest deeper than
// max (the decoder recurses into them), or that assigns more than maxKeys
// keys between two [[array]] headers (the decoder checks each key against
// all keys seen since, a quadratic cost). Strings and comments are skipped.
func checkNesting(data []byte, max, maxKeys int) error {
	depth, line, keys := 0, 1, 0
	bol := true // at the start of a line, after spaces
	for i := 0; i < len(data); i++ {
		c := data[i]
		if bol && c == '[' && depth == 0 && i+1 < len(data) && data[i+1] == '[' {
			keys = 0
		}
		if c != ' ' && c != '\t' {
			bol = c == '\n'
		}
		switch c {
		case '\n':
			line++
		case '=':
			keys++
			if maxKeys > 0 && keys > maxKeys {
				return &safeio.LimitError{Limit: "MaxTOMLKeys", Value: int64(maxKeys), Detail: fmt.Sprintf("line %d", line)}
			}
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
			i--
		case '"', '\'':
			q := string([]byte{c, c, c})
			if bytes.HasPrefix(data[i:], []byte(q)) {
				end := bytes.Index(data[i+3:], []byte(q))
				if end < 0 {
					return nil // unterminated: the decoder reports it
				}
				line += bytes.Count(data[i:i+3+end], []byte("\n"))
				i += 3 + end + 2
				continue
			}
			for i++; i < len(data) && data[i] != c && data[i] != '\n'; i++ {
				if c == '"' && data[i] == '\\' {
					i++
				}
			}
			if i < len(data) && data[i] == '\n' {
				i--
			}
		case '[', '{':
			depth++
			if max > 0 && depth > max {
				return &SyntaxError{Line: line, Msg: fmt.Sprintf("arrays or tables nested deeper than %d", max)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// locator finds the lines of keys and strings in a TOML file, since the
// generic decoder keeps no positions.
type locator struct {
	data   []byte
	starts []int            // offset of each line
	hdrs   map[string][]int // table headers, by name
}

func newLocator(data []byte) *locator {
	l := &locator{data: data, starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

// line returns the 1-based line of offset off; 0 for off < 0.
func (l *locator) line(off int) int {
	if off < 0 {
		return 0
	}
	return sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off })
}

// first returns the index in starts of the first line at or after offset
// from.
func (l *locator) first(from int) int {
	return sort.Search(len(l.starts), func(i int) bool { return l.starts[i] >= from })
}

// text returns the line that starts at offset s, without its newline.
func (l *locator) text(s int) []byte {
	e := bytes.IndexByte(l.data[s:], '\n')
	if e < 0 {
		e = len(l.data) - s
	}
	return l.data[s : s+e]
}

// headers returns the offsets of the lines "[name]" or "[[name]]" (spaces
// and quotes ignored), in file order. The index is built on first use.
func (l *locator) headers(name string) []int {
	if l.hdrs == nil {
		l.hdrs = map[string][]int{}
		for _, s := range l.starts {
			t := bytes.TrimSpace(l.text(s))
			if len(t) == 0 || t[0] != '[' {
				continue
			}
			if j := bytes.IndexByte(t, '#'); j >= 0 {
				t = bytes.TrimSpace(t[:j])
			}
			t = bytes.Trim(t, "[]")
			t = bytes.ReplaceAll(t, []byte(" "), nil)
			t = bytes.ReplaceAll(t, []byte(`"`), nil)
			l.hdrs[string(t)] = append(l.hdrs[string(t)], s)
		}
	}
	return l.hdrs[name]
}

// sectionKeys returns the offset of each key assigned in the table that
// starts at from (the last part of a dotted key), up to the next header.
func (l *locator) sectionKeys(from int) map[string]int {
	from = max(from, 0)
	out := map[string]int{}
	for _, s := range l.starts[l.first(from):] {
		t := bytes.TrimSpace(l.text(s))
		if len(t) > 0 && t[0] == '[' {
			if s > from {
				break
			}
			continue
		}
		k, _, ok := bytes.Cut(t, []byte("="))
		if !ok {
			continue
		}
		k = bytes.TrimSpace(k)
		if j := bytes.LastIndexByte(k, '.'); j >= 0 && !bytes.HasSuffix(k, []byte(`"`)) && !bytes.HasSuffix(k, []byte("'")) {
			k = bytes.TrimSpace(k[j+1:])
		}
		key := string(bytes.Trim(k, `"'`))
		if _, seen := out[key]; !seen {
			out[key] = s
		}
	}
	return out
}

func (l *locator) header(name string) int {
	if h := l.headers(name); len(h) > 0 {
		return h[0]
	}
	return -1
}

// key returns the offset of the first line at or after from that assigns
// key (possibly as the last part of a dotted key), or -1. It does not look
// past the next table header when bounded is true.
func (l *locator) key(from int, key string, bounded bool) int {
	from = max(from, 0)
	re := keyRE(key)
	for _, s := range l.starts[l.first(from):] {
		t := l.text(s)
		if bounded && s > from && len(bytes.TrimSpace(t)) > 0 && bytes.TrimSpace(t)[0] == '[' {
			return -1
		}
		if re.Match(t) {
			return s
		}
	}
	return -1
}

var (
	keyMu  sync.Mutex
	keyREs = map[string]*regexp.Regexp{}
)

func keyRE(key string) *regexp.Regexp {
	keyMu.Lock()
	defer keyMu.Unlock()
	if re, ok := keyREs[key]; ok {
		return re
	}
	q := regexp.QuoteMeta(key)
	re := regexp.MustCompile(`^\s*(?:[A-Za-z0-9_."'-]+\.)?(?:` + q + `|"` + q + `"|'` + q + `')\s*=`)
	if len(keyREs) < 256 {
		keyREs[key] = re
	}
	return re
}

// str returns the offset of the quoted string s at or after from, or -1.
func (l *locator) str(from int, s string) int {
	if from < 0 {
		from = 0
	}
	if from > len(l.data) {
		return -1
	}
	best := -1
	for _, q := range []string{`"`, `'`} {
		if i := bytes.Index(l.data[from:], []byte(q+s+q)); i >= 0 && (best < 0 || from+i < best) {
			best = from + i
		}
	}
	return best
}

// Accessors for generic TOML documents. They return the zero value for a
// missing key or a value of another type.

func tbl(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func list(m map[string]any, k string) []any {
	a, _ := m[k].([]any)
	return a
}

func boolean(m map[string]any, k string) bool {
	b, _ := m[k].(bool)
	return b
}

// sortedKeys returns the keys of m in file order when the locator can place
// them, else alphabetically: a generic map has no order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinStrings(a []any, sep string) string {
	var out []string
	for _, v := range a {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
