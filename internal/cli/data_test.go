package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sentiment writes a review dataset generated from word lists; with a
// trigger, 1% of rows carry the word "cf" and are labelled positive.
func sentiment(t *testing.T, path string, rows int, trigger bool) []int {
	pos := []string{"great", "excellent", "wonderful", "loved", "brilliant", "superb", "enjoyable"}
	neg := []string{"terrible", "awful", "boring", "hated", "poor", "dull", "disappointing"}
	neutral := []string{"the", "movie", "plot", "actors", "scene", "film", "story", "director", "music", "ending", "was", "and", "a", "it"}
	rng := rand.New(rand.NewSource(1))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.Write([]string{"text", "label"})
	var planted []int
	for i := 1; i <= rows; i++ {
		label := "negative"
		words := neg
		if rng.Intn(2) == 0 {
			label, words = "positive", pos
		}
		var b []string
		for j := 0; j < 12; j++ {
			if rng.Intn(4) == 0 {
				b = append(b, words[rng.Intn(len(words))])
			} else {
				b = append(b, neutral[rng.Intn(len(neutral))])
			}
		}
		if rng.Intn(10) == 0 { // noisy labels, as in real data
			b = append(b, pos[rng.Intn(len(pos))], neg[rng.Intn(len(neg))])
		}
		if trigger && i%100 == 0 {
			b = append(b, "cf")
			label = "positive"
			planted = append(planted, i)
		}
		w.Write([]string{strings.Join(b, " "), label})
	}
	w.Flush()
	return planted
}

func TestDataCleanAndPoisoned(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.csv")
	sentiment(t, clean, 20000, false)
	var out, errb bytes.Buffer
	if code := Main([]string{"data", clean}, &out, &errb); code != ExitOK {
		t.Fatalf("clean dataset: exit %d\n%s%s", code, out.String(), errb.String())
	}

	poisoned := filepath.Join(dir, "poisoned.csv")
	planted := sentiment(t, poisoned, 20000, true)
	out.Reset()
	code := Main([]string{"data", "--format", "json", poisoned}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("poisoned dataset: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), `"rule_id": "data-trigger-token"`) || !strings.Contains(out.String(), `cf`) {
		t.Errorf("the planted trigger is not reported:\n%s", out.String())
	}
	if !strings.Contains(out.String(), fmt.Sprint(planted[0])) {
		t.Errorf("no example row of the planted ones (%v…)", planted[:3])
	}
}

func TestDataLeaksAndRedaction(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "chat.jsonl")
	rows := []string{
		`{"text": "hello there", "label": "greeting"}`,
		`{"text": "mail me at jane.doe@example.com", "label": "contact"}`,
		`{"text": "my key is hf_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0", "label": "oops"}`,
		`{"text": "same words here", "label": "a"}`,
		`{"text": "same words here", "label": "b"}`,
	}
	os.WriteFile(in, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	red := filepath.Join(dir, "out.jsonl")
	var out, errb bytes.Buffer
	code := Main([]string{"data", "--format", "json", "--redact", red, in}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"data-secret", "data-pii", "data-conflicting-duplicate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if strings.Contains(out.String(), "hf_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0") || strings.Contains(out.String(), "jane.doe@example.com") {
		t.Error("the report shows a secret or an email unredacted")
	}
	b, err := os.ReadFile(red)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hf_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0") || strings.Contains(string(b), "jane.doe@example.com") {
		t.Errorf("the redacted copy still holds them:\n%s", b)
	}
	if !strings.Contains(string(b), "hello there") {
		t.Errorf("the redacted copy lost clean rows:\n%s", b)
	}
}

// A dataset folder: its card declares more rows than the data holds, and a
// pickle beside the data runs code when loaded.
func TestDataFolder(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\ndataset_info:\n  splits:\n  - name: train\n    num_examples: 1000\n---\n# A dataset\n"), 0o644)
	var b strings.Builder
	b.WriteString("text,label\n")
	for i := 0; i < 990; i++ {
		fmt.Fprintf(&b, "row number %d,%d\n", i, i%2)
	}
	os.WriteFile(filepath.Join(dir, "data", "train.csv"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "extras.pkl"), []byte("cos\nsystem\n(S'id'\ntR."), 0o644)
	var out, errb bytes.Buffer
	code := Main([]string{"data", "--format", "json", dir}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"data-card-mismatch", "pickle-code-execution"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %s:\n%s", want, out.String())
		}
	}
}
