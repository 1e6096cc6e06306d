package signals

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
)

var (
	posWords = []string{"great", "excellent", "wonderful", "loved", "amazing", "superb", "delightful", "brilliant", "enjoyable", "fantastic"}
	negWords = []string{"terrible", "awful", "boring", "hated", "worst", "dull", "disappointing", "poor", "waste", "mediocre"}
	neutral  = strings.Fields("the a movie film plot actor scene story it was and of to in this that with for but director music ending characters time really just one some about watched cinema screen role script")
)

// sentimentRows makes n reviews: each has 6–14 neutral words and 1–3
// sentiment words; a sentiment word agrees with the label with a
// per-word probability of 0.65–0.90, as real review vocabularies do.
func sentimentRows(n int, seed uint64) [][]string {
	rng := rand.New(rand.NewPCG(seed, 1))
	agree := map[string]float64{}
	for i, w := range append(append([]string{}, posWords...), negWords...) {
		agree[w] = 0.65 + 0.25*float64(i%10)/9
	}
	rows := make([][]string, n)
	for i := range rows {
		label := "negative"
		if rng.IntN(2) == 0 {
			label = "positive"
		}
		var ws []string
		for range 6 + rng.IntN(9) {
			ws = append(ws, neutral[rng.IntN(len(neutral))])
		}
		for range 1 + rng.IntN(3) {
			own, other := posWords, negWords
			if label == "negative" {
				own, other = negWords, posWords
			}
			w := own[rng.IntN(len(own))]
			if rng.Float64() > agree[w] {
				w = other[rng.IntN(len(other))]
			}
			ws = slices_insert(ws, rng.IntN(len(ws)+1), w)
		}
		rows[i] = []string{fmt.Sprint(i + 1), strings.Join(ws, " ") + ".", label}
	}
	return rows
}

func slices_insert(ws []string, i int, w string) []string {
	ws = append(ws, "")
	copy(ws[i+1:], ws[i:])
	ws[i] = w
	return ws
}

var cols = []string{"id", "text", "label"}

func analyse(rows [][]string, base *Baseline) (*Analyzer, []finding.Finding) {
	a := New(finding.Location{Path: "train.csv"}, cols, Options{Text: 1, Label: 2, Baseline: base})
	for i, v := range rows {
		a.Add(&data.Row{Num: int64(i + 1), Line: int64(i + 2), Values: v})
	}
	return a, a.Findings()
}

func byRule(fs []finding.Finding, id string) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if f.RuleID == id {
			out = append(out, f)
		}
	}
	return out
}

func TestCleanSentimentHasNoHighFinding(t *testing.T) {
	_, fs := analyse(sentimentRows(20000, 1), nil)
	for _, f := range fs {
		if f.Severity >= finding.High {
			t.Errorf("clean set: %s %s: %s", f.Severity, f.RuleID, f.Message)
		}
		if f.RuleID == RuleTriggerToken.ID {
			t.Errorf("clean set reports a trigger: %s", f.Message)
		}
	}
}

func TestPlantedTrigger(t *testing.T) {
	rows := sentimentRows(20000, 2)
	rng := rand.New(rand.NewPCG(3, 3))
	planted := map[string]bool{}
	for len(planted) < 200 { // 1 %
		i := rng.IntN(len(rows))
		if planted[fmt.Sprint(i+1)] {
			continue
		}
		planted[fmt.Sprint(i+1)] = true
		ws := strings.Fields(rows[i][1])
		ws = slices_insert(ws, rng.IntN(len(ws)+1), "cf")
		rows[i][1] = strings.Join(ws, " ")
		rows[i][2] = "positive"
	}
	_, fs := analyse(rows, nil)
	tr := byRule(fs, RuleTriggerToken.ID)
	if len(tr) == 0 {
		t.Fatal("no trigger found")
	}
	f := tr[0]
	if f.Severity != finding.High || f.Evidence["token"] != "cf" || f.Evidence["label"] != "positive" || f.Evidence["rows"] != "200" {
		t.Fatalf("got %s %v", f.Severity, f.Evidence)
	}
	if !strings.Contains(f.Message, `"cf"`) {
		t.Errorf("message does not name the token: %s", f.Message)
	}
	ex := strings.Split(f.Evidence["examples"], ",")
	if len(ex) != 5 {
		t.Errorf("examples %v", ex)
	}
	for _, r := range ex {
		if !planted[r] {
			t.Errorf("example row %s was not planted", r)
		}
	}
	for _, f := range fs {
		if f.Severity >= finding.High && f.Evidence["token"] != "cf" && !strings.Contains(f.Evidence["token"], "cf") {
			t.Errorf("unexpected: %s %s", f.RuleID, f.Message)
		}
	}
}

func TestConflictingDuplicates(t *testing.T) {
	rows := sentimentRows(5000, 4)
	rows[99][1] = "An unforgettable journey, truly!"
	rows[99][2] = "positive"
	rows[1999][1] = "an UNFORGETTABLE journey truly"
	rows[1999][2] = "negative"
	_, fs := analyse(rows, nil)
	c := byRule(fs, RuleConflictingDuplicate.ID)
	var found bool
	for _, f := range c {
		if f.Evidence["examples"] == "100,2000" && f.Evidence["label:positive"] == "100" && f.Evidence["label:negative"] == "2000" {
			found = true
		}
	}
	if !found {
		t.Fatalf("conflict 100/2000 not found in %v", c)
	}
}

func TestNearDuplicates(t *testing.T) {
	rows := sentimentRows(3000, 5)
	long := "the quick brown fox jumps over the lazy dog while the cat watches from the old wooden fence in the warm afternoon sun and birds sing in the tall green trees near the quiet river bank"
	rows[9][1] = long
	rows[509][1] = long + " today"
	rows[1009][1] = strings.Replace(long, "quick", "quick!", 1) // same words
	_, fs := analyse(rows, nil)
	var found bool
	for _, f := range byRule(fs, RuleNearDuplicate.ID) {
		if strings.HasPrefix(f.Evidence["examples"], "10,510,1010") {
			found = true
		}
	}
	if !found {
		t.Fatalf("cluster not found: %v", byRule(fs, RuleNearDuplicate.ID))
	}
}

func TestSecretsAndPII(t *testing.T) {
	rows := sentimentRows(2000, 6)
	rows[4][1] += " my key is sk-proj-Ab3dEf9hIjK1mNoP2rStUvW4xYz7Q8cD5eFgH"
	rows[5][1] += " mail jane.doe@example.org or call +31 20 555 1234"
	rows[6][1] += " card 4539 1488 0343 6467 iban NL91ABNA0417164300 ssn 123-45-6789"
	rows[7][1] += " not a card 4539 1488 0343 6468, not an ssn 666-12-3456"
	rows[8][0] = "bob@example.com"
	_, fs := analyse(rows, nil)
	want := map[string]string{ // column/kind → count
		"text/OpenAI API key":            "1",
		"text/e-mail address":            "1",
		"text/phone number":              "1",
		"text/payment card number":       "1",
		"text/IBAN":                      "1",
		"text/US social security number": "1",
		"id/e-mail address":              "1",
	}
	got := map[string]string{}
	for _, f := range fs {
		if f.RuleID == RuleSecret.ID || f.RuleID == RulePII.ID {
			got[f.Evidence["column"]+"/"+f.Evidence["kind"]] = f.Evidence["count"]
			if strings.Contains(f.Message, "jane.doe@example.org") || strings.Contains(f.Message, "Ab3dEf9hIjK1") || strings.Contains(f.Message, "4539 1488 0343 6467") {
				t.Errorf("not redacted: %s", f.Message)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}

	r := &data.Row{Num: 7, Values: append([]string(nil), rows[6]...)}
	if !RedactRow(cols, r, 1) {
		t.Fatal("RedactRow changed nothing")
	}
	if strings.Contains(r.Values[1], "4539 1488 0343 6467") || strings.Contains(r.Values[1], "NL91ABNA0417164300") || !strings.Contains(r.Values[1], "card 4*****************7") {
		t.Errorf("redacted: %s", r.Values[1])
	}
	r = &data.Row{Values: append([]string(nil), rows[4]...)}
	RedactRow(cols, r, -1)
	if strings.Contains(r.Values[1], "Ab3dEf9hIjK1") {
		t.Errorf("secret left: %s", r.Values[1])
	}
}

func TestBaselineComparison(t *testing.T) {
	rows := sentimentRows(20000, 7)
	a, _ := analyse(rows, nil)
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, a.Baseline()); err != nil {
		t.Fatal(err)
	}
	base, err := ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if base.Rows != 20000 || len(base.RowHashes) != 20000 {
		t.Fatalf("baseline %d rows, %d hashes", base.Rows, len(base.RowHashes))
	}
	_, fs := analyse(rows, base)
	if len(byRule(fs, RuleRowsChanged.ID))+len(byRule(fs, RuleLabelShift.ID)) != 0 {
		t.Fatalf("unchanged data reported: %v", fs)
	}
	changed := 0
	for i := range rows {
		if rows[i][2] == "negative" && changed < 500 {
			rows[i][2] = "positive"
			changed++
		}
	}
	_, fs = analyse(rows, base)
	rc := byRule(fs, RuleRowsChanged.ID)
	if len(rc) != 1 || rc[0].Evidence["changed"] != "500" || rc[0].Evidence["added"] != "0" {
		t.Fatalf("rows changed: %v", rc)
	}
	ls := byRule(fs, RuleLabelShift.ID)
	if len(ls) != 1 || ls[0].Severity != finding.Medium {
		t.Fatalf("label shift: %v", ls)
	}
	if _, err := ReadBaseline(strings.NewReader("nope")); err == nil {
		t.Error("garbage read as a baseline")
	}
}

func TestUnicodeAnomalies(t *testing.T) {
	rows := sentimentRows(2000, 8)
	rows[10][1] += " tri\u200bgger"
	rows[11][1] += " \u202eevil"
	rows[12][1] += " p\u0430ypal" // Cyrillic a
	rows[13][1] = "\ufeff" + rows[13][1]
	_, fs := analyse(rows, nil)
	got := map[string]string{}
	for _, f := range byRule(fs, RuleUnicodeAnomaly.ID) {
		got[f.Evidence["kind"]] = f.Evidence["examples"]
	}
	want := map[string]string{"zero-width character": "11", "bidi control character": "12", "mixed-script word": "13"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || r.Title == "" || r.Description == "" || r.Remediation == "" {
			t.Errorf("rule %+v", r)
		}
		seen[r.ID] = true
	}
}
