package report

import (
	"bytes"
	"encoding/json"

	"github.com/aigis-sec/aigis/finding"
)

// writeJSON writes the DESIGN.md JSON report. r comes from prepare, so its
// lists are non-nil and it is sorted.
func writeJSON(buf *bytes.Buffer, r *finding.Report) error {
	return encodeJSON(buf, r)
}

// rulesDoc wraps the rule list in an object so that fields can be added
// later without breaking a consumer that expects an array.
type rulesDoc struct {
	Rules []finding.Rule `json:"rules"`
}

func writeRulesJSON(buf *bytes.Buffer, rules []finding.Rule) error {
	doc := rulesDoc{Rules: make([]finding.Rule, len(rules))}
	for i, r := range rules {
		if r.ATLAS == nil {
			r.ATLAS = []string{}
		}
		doc.Rules[i] = r
	}
	return encodeJSON(buf, doc)
}

// encodeJSON indents by two spaces and ends with a newline (Encoder adds
// it). HTML escaping is off: messages quote Python such as "<lambda>" and
// "a & b", and \u003c helps no one reading the output or piping it to jq.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
