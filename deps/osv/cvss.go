package osv

import (
	"math"
	"strconv"
	"strings"
)

func newSeverity(s severity) Severity {
	out := Severity{Type: s.Type, Score: s.Score}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s.Score), 64); err == nil && f >= 0 && f <= 10 {
		out.Base = f
		return out
	}
	if strings.HasPrefix(s.Score, "CVSS:3.") {
		if b, ok := cvss3Base(s.Score); ok {
			out.Base = b
		}
	}
	return out
}

// cvss3Base computes the CVSS v3.0/v3.1 base score of a vector, following
// the specification's formulas (https://www.first.org/cvss/v3.1/specification-document §7.1).
func cvss3Base(vector string) (float64, bool) {
	m := map[string]string{}
	parts := strings.Split(vector, "/")
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, ":")
		if !ok {
			return 0, false
		}
		m[k] = val
	}
	pick := func(key string, table map[string]float64) (float64, bool) {
		f, ok := table[m[key]]
		return f, ok
	}
	scope := m["S"]
	if scope != "U" && scope != "C" {
		return 0, false
	}
	av, ok1 := pick("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	ac, ok2 := pick("AC", map[string]float64{"L": 0.77, "H": 0.44})
	prTable := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if scope == "C" {
		prTable = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	pr, ok3 := pick("PR", prTable)
	ui, ok4 := pick("UI", map[string]float64{"N": 0.85, "R": 0.62})
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	c, ok5 := pick("C", cia)
	i, ok6 := pick("I", cia)
	a, ok7 := pick("A", cia)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return 0, false
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if scope == "U" {
		impact = 6.42 * iss
	} else {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	expl := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, true
	}
	if scope == "U" {
		return roundUp(math.Min(impact+expl, 10)), true
	}
	return roundUp(math.Min(1.08*(impact+expl), 10)), true
}

// roundUp is the specification's Roundup (Appendix A), which avoids
// floating-point surprises.
func roundUp(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return float64(n/10000+1) / 10
}
