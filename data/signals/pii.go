package signals

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/scan/checks"
)

// piiPattern finds one kind of personal data: a regular expression (RE2,
// linear time) and a validator that rejects look-alikes, so that the counts
// are of real values, not of every long number.
type piiPattern struct {
	kind  string
	re    *regexp.Regexp
	valid func(string) bool
	need  func(stats cellStats) bool // cheap prefilter
}

type cellStats struct{ digits, at int }

var piiPatterns = []piiPattern{
	{"e-mail address", regexp.MustCompile(`[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}`),
		func(string) bool { return true }, func(s cellStats) bool { return s.at > 0 }},
	// Cards: 13–19 digits, optionally grouped, Luhn-valid, with a known
	// issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners).
	{"payment card number", regexp.MustCompile(`\b\d(?:[ \-]?\d){12,18}\b`), validCard, func(s cellStats) bool { return s.digits >= 13 }},
	// IBAN: country, check digits, 11–30 alphanumerics, optionally grouped
	// by four; ISO 13616 mod-97 check.
	{"IBAN", regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`), validIBAN, func(s cellStats) bool { return s.digits >= 4 }},
	// US SSN in its dashed form only (bare nine digits are too common);
	// area 000, 666 and 900–999, group 00 and serial 0000 are never issued.
	{"US social security number", regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`), validSSN, func(s cellStats) bool { return s.digits >= 9 }},
	// Phones: E.164 (+ and 8–15 digits, optionally grouped) and the North
	// American (NNN) NNN-NNNN / NNN-NNN-NNNN forms.
	{"phone number", regexp.MustCompile(`\+[1-9]\d{0,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}\b|\(\d{3}\) ?\d{3}-\d{4}\b|\b\d{3}[\-.]\d{3}[\-.]\d{4}\b`),
		validPhone, func(s cellStats) bool { return s.digits >= 8 }},
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func luhn(d string) bool {
	sum, dbl := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if dbl {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		dbl = !dbl
	}
	return sum%10 == 0
}

func validCard(s string) bool {
	d := onlyDigits(s)
	if len(d) < 13 || len(d) > 19 || !luhn(d) {
		return false
	}
	p2, _ := strconv.Atoi(d[:2])
	p4, _ := strconv.Atoi(d[:4])
	p3, _ := strconv.Atoi(d[:3])
	switch {
	case d[0] == '4' && (len(d) == 13 || len(d) == 16 || len(d) == 19): // Visa
	case p2 >= 51 && p2 <= 55 && len(d) == 16, p4 >= 2221 && p4 <= 2720 && len(d) == 16: // Mastercard
	case (p2 == 34 || p2 == 37) && len(d) == 15: // American Express
	case (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) && len(d) >= 16: // Discover
	case p4 >= 3528 && p4 <= 3589 && len(d) >= 16: // JCB
	case (p3 >= 300 && p3 <= 305 || p2 == 36 || p2 == 38) && len(d) == 14: // Diners Club
	default:
		return false
	}
	// A run of one digit ("4444 4444 4444 4448") is a test number, not a card.
	return strings.Count(d, d[len(d)-2:len(d)-1]) < len(d)-2
}

func validIBAN(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	r := s[4:] + s[:4]
	rem := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func validSSN(s string) bool {
	area, group, serial := s[:3], s[4:6], s[7:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

func validPhone(s string) bool {
	n := len(onlyDigits(s))
	if strings.HasPrefix(s, "+") {
		return n >= 8 && n <= 15
	}
	return n == 10
}

// findPII calls found for each personal value in v, without overlaps
// (earlier patterns win: a card number is not also a phone number).
func findPII(v string, found func(kind string, start, end int)) {
	var st cellStats
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			st.digits++
		case c == '@':
			st.at++
		}
	}
	if st.digits < 4 && st.at == 0 {
		return
	}
	var taken [][2]int
	for pi := range piiPatterns {
		p := &piiPatterns[pi]
		if !p.need(st) {
			continue
		}
		for _, m := range p.re.FindAllStringIndex(v, 100) {
			if overlaps(taken, m[0], m[1]) || !p.valid(v[m[0]:m[1]]) {
				continue
			}
			taken = append(taken, [2]int{m[0], m[1]})
			found(p.kind, m[0], m[1])
		}
	}
}

func overlaps(taken [][2]int, s, e int) bool {
	for _, t := range taken {
		if s < t[1] && t[0] < e {
			return true
		}
	}
	return false
}

// mask keeps the first and last characters of s and stars the rest (all of
// it when s is short), so a reviewer can recognise a value without reading it.
func mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return string(first) + strings.Repeat("*", n-2) + string(last)
}

// RedactRow masks secrets and personal data in r in place, for writing a
// cleaned copy (aigis data --redact OUT). It redacts column text, or every
// column when text < 0; cols names the columns (reserved for per-column
// policies). It reports whether anything changed.
func RedactRow(cols []string, r *data.Row, text int) (changed bool) {
	_ = cols
	for i, v := range r.Values {
		if text >= 0 && i != text {
			continue
		}
		if nv := redactCell(v); nv != v {
			r.Values[i] = nv
			changed = true
		}
	}
	return changed
}

func redactCell(v string) string {
	if v == "" {
		return v
	}
	var spans [][2]int
	for _, f := range checks.CheckSecrets(finding.Location{}, unsafe.Slice(unsafe.StringData(v), len(v))) {
		if f.Evidence["secret"] == "" {
			continue
		}
		start := int(f.Offset)
		end := secretEnd(v, start, f.Evidence["secret"])
		if start >= 0 && end > start && end <= len(v) {
			spans = append(spans, [2]int{start, end})
		}
	}
	findPII(v, func(_ string, s, e int) {
		if !overlaps(spans, s, e) {
			spans = append(spans, [2]int{s, e})
		}
	})
	if len(spans) == 0 {
		return v
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	var b strings.Builder
	pos := 0
	for _, s := range spans {
		if s[0] < pos {
			continue
		}
		b.WriteString(v[pos:s[0]])
		b.WriteString(mask(v[s[0]:s[1]]))
		pos = s[1]
	}
	b.WriteString(v[pos:])
	return b.String()
}

// secretEnd finds where a secret reported by CheckSecrets ends: its
// redaction says "…[redacted, N chars]"; a private key runs to its END line.
func secretEnd(v string, start int, red string) int {
	if i := strings.LastIndex(red, "[redacted, "); i >= 0 {
		n, err := strconv.Atoi(strings.TrimSuffix(red[i+len("[redacted, "):], " chars]"))
		if err == nil {
			return start + n
		}
	}
	if i := strings.Index(v[start:], "-----END "); i >= 0 {
		j := strings.Index(v[start+i+9:], "-----")
		if j >= 0 {
			return start + i + 9 + j + 5
		}
	}
	return len(v)
}
