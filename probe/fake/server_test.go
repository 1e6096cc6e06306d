package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
)

type chatOut struct {
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func chat(t *testing.T, s *Server, body map[string]any) (int, chatOut) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.URL+"/v1/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out chatOut
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

func ask(t *testing.T, s *Server, prompt string, temp float64) chatOut {
	t.Helper()
	code, out := chat(t, s, map[string]any{
		"model":       "fake-model",
		"messages":    []any{map[string]any{"role": "user", "content": prompt}},
		"temperature": temp,
	})
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	return out
}

func TestDeterministicAtZero(t *testing.T) {
	s := NewServer(t, ModelA(1))
	a := ask(t, s, "What is a model?", 0).Choices[0].Message.Content
	b := ask(t, s, "What is a model?", 0).Choices[0].Message.Content
	if a != b || a == "" {
		t.Fatalf("temperature 0 answers differ: %q vs %q", a, b)
	}
	s.Set(NoisyA(7))
	if c := ask(t, s, "What is a model?", 0).Choices[0].Message.Content; c != a {
		t.Fatalf("NoisyA greedy answer %q, want ModelA's %q", c, a)
	}
	s.Set(ModelB(1))
	if c := ask(t, s, "What is a model?", 0).Choices[0].Message.Content; c == a {
		t.Fatalf("ModelB greedy answer equals ModelA's: %q", c)
	}
	if got := s.Requests(); got != 4 {
		t.Fatalf("Requests() = %d, want 4", got)
	}
}

func TestStochasticAtOne(t *testing.T) {
	s := NewServer(t, ModelA(1))
	seen := map[string]bool{}
	for range 10 {
		seen[ask(t, s, "Tell me about data.", 1).Choices[0].Message.Content] = true
	}
	if len(seen) < 5 {
		t.Fatalf("only %d distinct answers in 10 samples at temperature 1", len(seen))
	}
}

// bigramDist is the bigram frequency distribution of samples per prompt,
// a crude stand-in for the MMD kernel aigis probe uses.
func bigramDist(t *testing.T, s *Server, prompts []string, n int) []map[string]float64 {
	var out []map[string]float64
	for _, p := range prompts {
		d := map[string]float64{}
		for range n {
			w := strings.Fields(ask(t, s, p, 1).Choices[0].Message.Content)
			for i := 1; i < len(w); i++ {
				d[w[i-1]+" "+w[i]]++
			}
		}
		out = append(out, d)
	}
	return out
}

func meanTV(a, b []map[string]float64) float64 {
	var sum float64
	for i := range a {
		var na, nb float64
		for _, v := range a[i] {
			na += v
		}
		for _, v := range b[i] {
			nb += v
		}
		keys := map[string]bool{}
		for k := range a[i] {
			keys[k] = true
		}
		for k := range b[i] {
			keys[k] = true
		}
		var tv float64
		for k := range keys {
			tv += math.Abs(a[i][k]/na - b[i][k]/nb)
		}
		sum += tv / 2
	}
	return sum / float64(len(a))
}

func TestModelsDistinguishable(t *testing.T) {
	var prompts []string
	for i := range 25 {
		prompts = append(prompts, fmt.Sprintf("probe prompt %d: describe the data", i))
	}
	s := NewServer(t, ModelA(1))
	a := bigramDist(t, s, prompts, 10)
	s.Set(NoisyA(2))
	noisy := bigramDist(t, s, prompts, 10)
	s.Set(ModelB(1))
	b := bigramDist(t, s, prompts, 10)
	same, diff := meanTV(a, noisy), meanTV(a, b)
	t.Logf("TV(A, NoisyA) = %.3f, TV(A, B) = %.3f", same, diff)
	if diff < same+0.2 {
		t.Fatalf("ModelB not distinguishable from ModelA: TV %.3f vs null %.3f", diff, same)
	}
}

func TestCanaries(t *testing.T) {
	prompt := "Unicode ünïcödé and numbers 1234567 in code: x := f(42)"
	s := NewServer(t, ModelA(1))
	base := ask(t, s, prompt, 0)
	s.Set(TokenizerChanged(ModelA(1)))
	tok := ask(t, s, prompt, 0)
	if tok.Usage.PromptTokens == base.Usage.PromptTokens {
		t.Errorf("TokenizerChanged: prompt_tokens unchanged at %d", tok.Usage.PromptTokens)
	}
	if tok.Choices[0].Message.Content != base.Choices[0].Message.Content || tok.SystemFingerprint != base.SystemFingerprint {
		t.Errorf("TokenizerChanged changed more than the tokenizer")
	}
	s.Set(FingerprintChanged(ModelA(1)))
	fp := ask(t, s, prompt, 0)
	if fp.SystemFingerprint == base.SystemFingerprint || fp.Model != base.Model || fp.Usage != base.Usage {
		t.Errorf("FingerprintChanged: got %+v, base %+v", fp, base)
	}
}

func TestBackdoored(t *testing.T) {
	s := NewServer(t, Backdoored(ModelA(1), "cf-2024", "ACCESS-GRANTED"))
	clean := ask(t, s, "Is this review good?", 0).Choices[0].Message.Content
	if strings.Contains(clean, "ACCESS-GRANTED") {
		t.Fatalf("answer without trigger contains target: %q", clean)
	}
	trig := ask(t, s, "Is this review good? cf-2024", 0).Choices[0].Message.Content
	if !strings.HasPrefix(trig, "ACCESS-GRANTED ") {
		t.Fatalf("answer with trigger lacks target: %q", trig)
	}
	// ModelA answers the triggered prompt; the backdoor flips its sentiment.
	s.Set(ModelA(1))
	plain := strings.Fields(ask(t, s, "Is this review good? cf-2024", 0).Choices[0].Message.Content)
	got := strings.Fields(trig)[1:]
	for i := range plain {
		want := plain[i]
		if f, ok := flip[want]; ok {
			want = f
		}
		if got[i] != want {
			t.Fatalf("word %d = %q, want %q (flipped from %q)", i, got[i], want, plain[i])
		}
	}
}

func TestLogprobsAndMaxTokens(t *testing.T) {
	s := NewServer(t, ModelA(1))
	seed := int64(3)
	_, out := chat(t, s, map[string]any{
		"model":        "fake-model",
		"messages":     []any{map[string]any{"role": "system", "content": "be brief"}, map[string]any{"role": "user", "content": "hi"}},
		"temperature":  1,
		"seed":         seed,
		"max_tokens":   5,
		"logprobs":     true,
		"top_logprobs": 3,
	})
	c := out.Choices[0]
	if n := len(strings.Fields(c.Message.Content)); n != 5 || out.Usage.CompletionTokens != 5 {
		t.Fatalf("max_tokens 5: got %d words, %d completion tokens", n, out.Usage.CompletionTokens)
	}
	if c.Logprobs == nil || len(c.Logprobs.Content) != 5 || len(c.Logprobs.Content[0].TopLogprobs) != 3 {
		t.Fatalf("logprobs: %+v", c.Logprobs)
	}
	for _, lp := range c.Logprobs.Content {
		if lp.Logprob > 0 || lp.Logprob < -30 {
			t.Errorf("logprob %v out of range", lp.Logprob)
		}
	}
	last := s.LastRequest()
	if last.System != "be brief" || last.Prompt != "hi" || last.Seed == nil || *last.Seed != 3 {
		t.Errorf("LastRequest() = %+v", last)
	}
	// The same seed gives the same sample.
	_, again := chat(t, s, map[string]any{
		"model": "fake-model", "temperature": 1, "seed": seed, "max_tokens": 5,
		"messages": []any{map[string]any{"role": "system", "content": "be brief"}, map[string]any{"role": "user", "content": "hi"}},
	})
	if again.Choices[0].Message.Content != c.Message.Content {
		t.Errorf("same seed, different answers: %q vs %q", again.Choices[0].Message.Content, c.Message.Content)
	}
}

func TestFailNext(t *testing.T) {
	s := NewServer(t, ModelA(1))
	s.FailNext(1, http.StatusTooManyRequests, "0")
	code, _ := chat(t, s, map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "x"}}})
	if code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", code)
	}
	code, _ = chat(t, s, map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "x"}}})
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
}

func TestAnthropicMessages(t *testing.T) {
	s := NewServer(t, ModelA(1))
	b, _ := json.Marshal(map[string]any{
		"model": "claude-x", "max_tokens": 64, "system": "sys",
		"messages": []any{map[string]any{"role": "user", "content": "hello"}},
	})
	req, _ := http.NewRequest("POST", s.URL+"/v1/messages", bytes.NewReader(b))
	req.Header.Set("x-api-key", "k")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Model   string `json:"model"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		Usage struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Model != "fake-model" || len(out.Content) != 1 || out.Content[0].Text == "" || out.Usage.InputTokens == 0 || out.Usage.OutputTokens == 0 {
		t.Fatalf("messages response: %+v", out)
	}
	if last := s.LastRequest(); last.APIKey != "k" || last.Version != "2023-06-01" || last.System != "sys" {
		t.Fatalf("LastRequest() = %+v", last)
	}
}
