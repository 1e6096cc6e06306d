package lookalike

import (
	"strings"
	"testing"
	"time"
)

func TestCheckFindsImitations(t *testing.T) {
	tests := []struct {
		in, looksLike, reason string
	}{
		// visual confusions
		{"meta-IIama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "look alike"},
		{"meta-1lama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", "look alike"},
		{"micrsoft/phi-2", "microsoft/phi-2", "typo"},
		{"rnicrosoft/phi-2", "microsoft/phi-2", "look alike"},
		{"EleutherAl/gpt-j-6b", "EleutherAI/gpt-j-6b", "look alike"}, // l for I
		{"0penai/whisper-large-v3", "openai/whisper-large-v3", "look alike"},
		{"Qvven/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "look alike"},
		// homoglyphs: Cyrillic а and о, full-width letters
		{"metа-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "U+0430"},
		{"gооgle/gemma-2b", "google/gemma-2b", "non-ASCII"},
		{"ｇｏｏｇｌｅ/gemma-7b", "google/gemma-7b", "non-ASCII"},
		// edit distance and transpositions
		{"facebok/opt-125m", "facebook/opt-125m", "one typo"},
		{"faecbook/bart-large-cnn", "facebook/bart-large-cnn", "one typo"},
		{"mistrakai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "one typo"},
		{"stabilityia/sdxl-turbo", "stabilityai/sdxl-turbo", "one typo"},
		{"sentence-transfromers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "one typo"},
		{"huggingfase/some-model", "huggingface", "one typo"},
		// separators
		{"mistral-ai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "separators"},
		{"deepseekai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1", "separators"},
		{"meta_llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "separators"},
		// added words
		{"meta-llama-official/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", `adds "official"`},
		{"real-openai/gpt-oss-20b", "openai/gpt-oss-20b", `adds "real"`},
		{"mistralai-hf/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-v0.1", `adds "hf"`},
		{"TheBloke-official/unknown-GGUF", "TheBloke", `adds "official"`},
		// case tricks
		{"Meta-Llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "letter case"},
		{"qwen/Qwen3-8B", "Qwen/Qwen3-8B", "letter case"},
		// legacy single-segment ids
		{"bert-base-uncaesd", "google-bert/bert-base-uncased", "model name"},
		{"gpt2-Iarge", "openai-community/gpt2-large", "look alike"},
		{"facebok", "facebook", "organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Check(tt.in)
			if len(got) == 0 {
				t.Fatalf("Check(%q) = nothing, want it to look like %s", tt.in, tt.looksLike)
			}
			m := got[0]
			if m.Input != tt.in || m.LooksLike != tt.looksLike || !strings.Contains(m.Reason, tt.reason) || m.Score <= 0 || m.Score > 1 {
				t.Errorf("Check(%q)[0] = %+v, want LooksLike %q and a reason with %q", tt.in, m, tt.looksLike, tt.reason)
			}
		})
	}
}

func TestCheckLeavesRealNamesAlone(t *testing.T) {
	for _, in := range []string{
		// every known name
		"meta-llama/Llama-2-7b-hf", "google/gemma-2b", "google/gemma-7b", "google-bert/bert-base-uncased",
		"google-bert/bert-base-cased", "HuggingFaceH4/zephyr-7b-beta", "HuggingFaceTB/SmolLM2-135M",
		"openai-community/gpt2", "FacebookAI/roberta-base", "facebook/opt-125m", "01-ai/Yi-6B",
		// known organisations with models not on the list: only they can publish there
		"google/gemma-2b-somethingnew", "meta-llama/Llama-9-1T", "meta-llama/LIama-2-7b-hf",
		"mistralai/Mistral-Large-Instruct-2411", "TheBloke/whatever-GGUF",
		// organisations alone, and legacy ids
		"meta-llama", "google", "gpt2", "bert-base-uncased", "distilgpt2",
		// unrelated real names
		"someuser/my-finetune", "nlpaueb/legal-bert-base-uncased", "emilyalsentzer/Bio_ClinicalBERT",
		"openbmb/MiniCPM-V-2_6", "Intel/neural-chat-7b-v3-1", "ibm/knowgl-large",
		"gpt3", "gemma-9b", "llama", "roberta-large-mnli",
		// re-uploads under another owner are common and not impersonation
		"someone/Llama-2-7b-hf",
		// short names only match on exact look-alikes
		"Qwan/model", "timn/x", "amd/x",
		// nothing
		"", "/", "a/b/c", strings.Repeat("x", 300),
	} {
		if got := Check(in); len(got) != 0 {
			t.Errorf("Check(%q) = %+v, want nothing", in, got)
		}
	}
}

func TestKnownListIsLarge(t *testing.T) {
	l := Default()
	if len(l.orgs) < 80 || len(l.models) < 100 {
		t.Errorf("known.txt has %d organisations and %d models, want at least 80 and 100", len(l.orgs), len(l.models))
	}
	// Real organisations can be a typo apart (xai-org, zai-org) and known
	// names never match, but none may be a character-for-character
	// look-alike of another: that would say the list itself is wrong.
	for _, a := range l.order {
		for _, b := range l.order {
			if a == b {
				continue
			}
			if r, s := resemble(a, b, l.orgs[b].key, false); s >= scoreSeparator {
				t.Errorf("known %q %s known %q: add one of them to the other's allow-list or check the list", a, r, b)
			}
		}
	}
}

func TestLoadAndMerge(t *testing.T) {
	extra, err := Load(strings.NewReader("# our own\nacme-corp   # the team\nacme-corp/secret-model\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := Default().Merge(extra)
	if got := l.Check("acme-corpp/secret-model"); len(got) == 0 || got[0].LooksLike != "acme-corp/secret-model" {
		t.Errorf("merged list: %+v", got)
	}
	if got := l.Check("facebok/opt-125m"); len(got) == 0 {
		t.Error("merged list lost the default names")
	}
	if got := Check("acme-corpp/secret-model"); len(got) != 0 {
		t.Errorf("Merge changed the default list: %+v", got)
	}
	for _, bad := range []string{"a/b/c\n", "white space\n", "../x\n", "org/\n"} {
		if _, err := Load(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Load(%q) error = %v, want one naming line 1", bad, err)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"facebook", "facebook", 2, 0},
		{"facebook", "facebok", 2, 1},
		{"facebook", "faecbook", 2, 1}, // transposition
		{"ca", "abc", 3, 3},            // optimal string alignment
		{"kitten", "sitting", 5, 3},
		{"kitten", "sitting", 1, 2}, // capped at limit+1
		{"", "abc", 5, 3},
	} {
		if got := Distance([]rune(tt.a), []rune(tt.b), tt.limit); got != tt.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"meta-IIama/Llama-2-7b-hf", "gооgle/gemma-2b", "facebok", "ｇｏｏｇｌｅ/x", "a/b/c", "\xff\xfe", "rnrnrnrn/vvvv", strings.Repeat("é", 100)} {
		f.Add(s)
	}
	l := Default()
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		got := l.Check(s)
		if d := time.Since(start); d > time.Second {
			t.Errorf("Check took %v on %d bytes", d, len(s))
		}
		if len(got) > maxMatches {
			t.Errorf("%d matches", len(got))
		}
		_, known := l.models[s]
		if _, org := l.orgs[s]; (known || org) && len(got) > 0 {
			t.Errorf("known name %q matched %+v", s, got)
		}
		for _, m := range got {
			if m.Input != s || m.LooksLike == "" || m.LooksLike == s || m.Reason == "" || m.Score <= 0 || m.Score > 1 {
				t.Errorf("bad match %+v for %q", m, s)
			}
		}
	})
}
