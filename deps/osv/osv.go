// Package osv matches Python packages against OSV advisories
// (https://ossf.github.io/osv-schema/): known vulnerabilities (PYSEC-, GHSA-)
// and known malicious packages (MAL-, from OpenSSF malicious-packages).
//
// Offline first: [OpenZip] reads the database the user downloads once,
// https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip (one JSON
// record per advisory), and [OpenDir] reads a folder of such records. The
// data is CC-BY-4.0 / Apache-2.0 and is never shipped with aigis.
//
//	db, err := osv.OpenZip("PyPI-all.zip")
//	vulns := db.Query("Torch", "2.0.0") // name is PEP 503-normalised
//
// Online, [Client] asks the osv.dev API (POST /v1/querybatch, then GET
// /v1/vulns/{id} for each advisory), with timeouts, bounded retries on 429
// and 5xx, and an on-disk cache.
//
// Matching follows the schema's evaluation rule: a version is affected when
// it is listed in affected[].versions, or when the ECOSYSTEM range events
// (introduced, fixed, last_affected, limit) put it inside a range, comparing
// versions by PEP 440 (github.com/google/osv-scalibr/semantic, the code
// osv.dev itself uses). Withdrawn records are skipped.
package osv

import (
	"strings"
)

// Vuln is one advisory as it applies to one package.
type Vuln struct {
	ID      string
	Aliases []string
	Summary string
	// Severity holds the CVSS entries of the record (and of the affected
	// package), with the base score computed for CVSS v3 vectors.
	Severity []Severity
	// Rating is the record's qualitative severity when it gives one
	// (GHSA's database_specific.severity: LOW, MODERATE, HIGH, CRITICAL).
	Rating string
	// Malicious is true for a malicious-package report: an id starting with
	// MAL-, or a database_specific block from OpenSSF malicious-packages.
	Malicious bool
	// FixedIn lists the versions that fix it, from the ranges' fixed events.
	FixedIn    []string
	References []string
	Modified   string
}

// Severity is one severity entry of an OSV record.
type Severity struct {
	Type  string  // CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu…
	Score string  // as written: a vector, or a number
	Base  float64 // base score: computed for CVSS v3 vectors, parsed for plain numbers; 0 when unknown
}

// Score returns the highest known base score of v, and whether one is known.
// A CVSS v3 vector is scored; other vectors fall back on Rating
// (CRITICAL 9.0, HIGH 7.0, MODERATE/MEDIUM 5.0, LOW 3.0).
func (v Vuln) Score() (float64, bool) {
	best, ok := 0.0, false
	for _, s := range v.Severity {
		if s.Base > 0 && (!ok || s.Base > best) {
			best, ok = s.Base, true
		}
	}
	if ok {
		return best, true
	}
	switch strings.ToUpper(v.Rating) {
	case "CRITICAL":
		return 9.0, true
	case "HIGH":
		return 7.0, true
	case "MODERATE", "MEDIUM":
		return 5.0, true
	case "LOW":
		return 3.0, true
	}
	return 0, false
}

// Package is one package version to look up.
type Package struct {
	Name    string
	Version string
}

// record is the part of the OSV schema (1.7) that aigis reads.
type record struct {
	ID        string     `json:"id"`
	Modified  string     `json:"modified"`
	Withdrawn string     `json:"withdrawn"`
	Aliases   []string   `json:"aliases"`
	Summary   string     `json:"summary"`
	Details   string     `json:"details"`
	Severity  []severity `json:"severity"`
	Affected  []affected `json:"affected"`
	Refs      []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

type severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		Purl      string `json:"purl"`
	} `json:"package"`
	Severity         []severity     `json:"severity"`
	Ranges           []rangeJSON    `json:"ranges"`
	Versions         []string       `json:"versions"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

type rangeJSON struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced   string `json:"introduced,omitempty"`
		Fixed        string `json:"fixed,omitempty"`
		LastAffected string `json:"last_affected,omitempty"`
		Limit        string `json:"limit,omitempty"`
	} `json:"events"`
}

// isPyPI reports whether an affected entry is about the PyPI ecosystem
// ("PyPI", or "PyPI:<suffix>").
func isPyPI(eco string) bool {
	return eco == "PyPI" || strings.HasPrefix(eco, "PyPI:")
}

// malicious reports whether a record is a malicious-package report.
func (r *record) malicious() bool {
	if strings.HasPrefix(r.ID, "MAL-") {
		return true
	}
	for _, a := range r.Aliases {
		if strings.HasPrefix(a, "MAL-") {
			return true
		}
	}
	// OpenSSF malicious-packages records carry their origins here, also
	// when republished under another id.
	if _, ok := r.DatabaseSpecific["malicious-packages-origins"]; ok {
		return true
	}
	if m, ok := r.DatabaseSpecific["malicious"].(bool); ok && m {
		return true
	}
	return false
}

// vuln builds the Vuln of r for the affected entries in aff.
func (r *record) vuln(aff []*affected) Vuln {
	v := Vuln{
		ID:        r.ID,
		Aliases:   append([]string(nil), r.Aliases...),
		Summary:   r.Summary,
		Malicious: r.malicious(),
		Modified:  r.Modified,
	}
	if v.Summary == "" {
		v.Summary = firstLine(r.Details)
	}
	for _, s := range r.Severity {
		v.Severity = append(v.Severity, newSeverity(s))
	}
	if s, ok := r.DatabaseSpecific["severity"].(string); ok {
		v.Rating = s
	}
	seen := map[string]bool{}
	for _, a := range aff {
		for _, s := range a.Severity {
			v.Severity = append(v.Severity, newSeverity(s))
		}
		for _, rg := range a.Ranges {
			for _, e := range rg.Events {
				if e.Fixed != "" && !seen[e.Fixed] {
					seen[e.Fixed] = true
					v.FixedIn = append(v.FixedIn, e.Fixed)
				}
			}
		}
	}
	for _, ref := range r.Refs {
		if ref.URL != "" {
			v.References = append(v.References, ref.URL)
		}
	}
	return v
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
