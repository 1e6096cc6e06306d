package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/probe/fake"
	"github.com/aigis-sec/aigis/probe/model"
)

const testKey = "sk-test-SECRET-0123456789"

func newClient(s *fake.Server, api string) *Client {
	return &Client{Endpoint: s.URL, Model: "fake-model", API: api, APIKey: testKey, backoff: time.Millisecond}
}

func TestOpenAI(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	for _, endpoint := range []string{s.URL, s.URL + "/", s.URL + "/v1", s.URL + "/v1/"} {
		c := newClient(s, OpenAI)
		c.Endpoint = endpoint
		seed := int64(9)
		resp, err := c.Complete(context.Background(), model.Request{
			System: "be brief", Prompt: "What is a model?", Temperature: 0, Seed: &seed, MaxTokens: 8, TopLogprobs: 3,
		})
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if resp.Model != "fake-model" || resp.SystemFingerprint != "fp_a1" || resp.FinishReason != "length" {
			t.Errorf("%s: metadata %+v", endpoint, resp)
		}
		if n := len(strings.Fields(resp.Text)); n != 8 || resp.CompletionTokens != 8 || resp.PromptTokens == 0 {
			t.Errorf("%s: text %q (%d words), usage %d/%d", endpoint, resp.Text, n, resp.PromptTokens, resp.CompletionTokens)
		}
		if len(resp.Logprobs) != 8 || len(resp.Logprobs[0].Top) != 3 || resp.Logprobs[0].Token != strings.Fields(resp.Text)[0] {
			t.Errorf("%s: logprobs %+v", endpoint, resp.Logprobs)
		}
		got := s.LastRequest()
		if got.Path != "/v1/chat/completions" || got.APIKey != testKey || got.Model != "fake-model" ||
			got.System != "be brief" || got.Prompt != "What is a model?" ||
			got.Temperature == nil || *got.Temperature != 0 || got.Seed == nil || *got.Seed != 9 ||
			got.MaxTokens != 8 || !got.Logprobs || got.TopLogprobs != 3 {
			t.Errorf("%s: server saw %+v", endpoint, got)
		}
	}
}

func TestOpenAIWithoutLogprobs(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	resp, err := newClient(s, OpenAI).Complete(context.Background(), model.Request{Prompt: "hi", Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Logprobs != nil || s.LastRequest().Logprobs || s.LastRequest().Seed != nil {
		t.Errorf("logprobs or seed sent unasked: %+v", s.LastRequest())
	}
}

func TestAnthropic(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	c := newClient(s, Anthropic)
	c.Endpoint = s.URL + "/v1"
	resp, err := c.Complete(context.Background(), model.Request{System: "sys", Prompt: "hello", Temperature: 0.5, TopLogprobs: 5})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "fake-model" || resp.Text == "" || resp.PromptTokens == 0 || resp.CompletionTokens == 0 ||
		resp.FinishReason != "end_turn" || resp.Logprobs != nil || resp.SystemFingerprint != "" {
		t.Errorf("response %+v", resp)
	}
	got := s.LastRequest()
	if got.Path != "/v1/messages" || got.APIKey != testKey || got.Version != "2023-06-01" || got.System != "sys" ||
		got.Prompt != "hello" || got.MaxTokens != defaultMaxTokens || got.Temperature == nil || *got.Temperature != 0.5 {
		t.Errorf("server saw %+v", got)
	}
}

func TestModelSwitchVisible(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	c := newClient(s, OpenAI)
	req := model.Request{Prompt: "numbers 12345 and ünïcödé"}
	a, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s.Set(fake.TokenizerChanged(fake.FingerprintChanged(fake.ModelA(1))))
	b, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.PromptTokens == b.PromptTokens || a.SystemFingerprint == b.SystemFingerprint || a.Text != b.Text {
		t.Errorf("before %+v, after %+v", a, b)
	}
}

func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		fails      int
		retryAfter string
		wantErr    bool
		wantReqs   int
	}{
		{"429 then success", http.StatusTooManyRequests, 2, "0", false, 3},
		{"500 then success", http.StatusInternalServerError, 1, "", false, 2},
		{"503 every time", http.StatusServiceUnavailable, 10, "", true, maxAttempts},
		{"400 not retried", http.StatusBadRequest, 1, "", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake.NewServer(t, fake.ModelA(1))
			s.FailNext(tc.fails, tc.status, tc.retryAfter)
			c := newClient(s, OpenAI)
			resp, err := c.Complete(context.Background(), model.Request{Prompt: "hi"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && resp.Text == "" {
				t.Error("empty answer")
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
				t.Errorf("error %q lacks the status", err)
			}
			if got := s.Requests(); got != tc.wantReqs || c.Requests() != tc.wantReqs {
				t.Errorf("server saw %d requests, client counted %d, want %d", got, c.Requests(), tc.wantReqs)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	s.FailNext(1, http.StatusTooManyRequests, "1")
	start := time.Now()
	if _, err := newClient(s, OpenAI).Complete(context.Background(), model.Request{Prompt: "hi"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want ≥ 1 s (Retry-After: 1)", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": -1, "0": 0, "2": 2 * time.Second, "1.5": 1500 * time.Millisecond, "3600": maxBackoff, "soon": -1,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): 0,
	} {
		if got := parseRetryAfter(in); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRequestBudget(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	c := newClient(s, OpenAI)
	c.MaxRequests = 3
	for i := range 3 {
		if _, err := c.Complete(context.Background(), model.Request{Prompt: "hi"}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := c.Complete(context.Background(), model.Request{Prompt: "hi"})
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("4th request: err = %v, want ErrBudget", err)
	}
	if s.Requests() != 3 {
		t.Errorf("server saw %d requests, want 3", s.Requests())
	}
}

func TestRetriesCountAgainstBudget(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	s.FailNext(5, http.StatusTooManyRequests, "0")
	c := newClient(s, OpenAI)
	c.MaxRequests = 2
	_, err := c.Complete(context.Background(), model.Request{Prompt: "hi"})
	if !errors.Is(err, ErrBudget) || s.Requests() != 2 {
		t.Fatalf("err = %v after %d requests, want ErrBudget after 2", err, s.Requests())
	}
}

func TestCostBudget(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	c := newClient(s, OpenAI)
	// $1 per token out: a request allowing 16 output tokens is estimated
	// at ≥ $16 and charged its actual 16 tokens.
	c.PriceOut = 1e6
	c.MaxCostUSD = 40
	req := model.Request{Prompt: "hi", MaxTokens: 16}
	for i := range 2 {
		if _, err := c.Complete(context.Background(), req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := c.SpentUSD(); got != 32 {
		t.Errorf("SpentUSD() = %v, want 32", got)
	}
	if _, err := c.Complete(context.Background(), req); !errors.Is(err, ErrBudget) {
		t.Fatalf("3rd request: err = %v, want ErrBudget", err)
	}
	if s.Requests() != 2 {
		t.Errorf("server saw %d requests, want 2", s.Requests())
	}
}

func TestTimeout(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	s.SetDelay(2 * time.Second)
	c := newClient(s, OpenAI)
	c.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := c.Complete(context.Background(), model.Request{Prompt: "hi"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want about the 100 ms timeout", d)
	}
}

func TestContextCancelled(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newClient(s, OpenAI).Complete(ctx, model.Request{Prompt: "hi"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestKeyNeverInErrors runs a server that echoes the request headers in
// its error bodies, as some misbehaving gateways do.
func TestKeyNeverInErrors(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"bad key: Authorization: %s x-api-key=%s body=%s"}}`,
			r.Header.Get("Authorization"), r.Header.Get("x-api-key"), body)
	}))
	t.Cleanup(echo.Close)
	for _, api := range []string{OpenAI, Anthropic} {
		c := &Client{Endpoint: echo.URL, Model: "m", API: api, APIKey: testKey}
		_, err := c.Complete(context.Background(), model.Request{Prompt: "hi"})
		if err == nil {
			t.Fatalf("%s: no error from a 401", api)
		}
		if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error leaks the key: %v", api, err)
		}
		if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("%s: error %q lacks status or redaction mark", api, err)
		}
	}
	// A transport error on an unreachable loopback port.
	c := &Client{Endpoint: "http://127.0.0.1:1", Model: "m", API: OpenAI, APIKey: testKey, backoff: time.Millisecond}
	if _, err := c.Complete(context.Background(), model.Request{Prompt: "hi"}); err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("transport error: %v", err)
	}
}

func TestRedact(t *testing.T) {
	c := &Client{APIKey: "k-123"}
	for in, want := range map[string]string{
		"Authorization: Bearer abc.def":  "Authorization: Bearer [REDACTED]",
		`{"api_key": "xyz"}`:             `{"api_key": "[REDACTED]"}`,
		"key k-123 echoed":               "key [REDACTED] echoed",
		"x-api-key=other rest":           "x-api-key=[REDACTED] rest",
		"nothing secret here, HTTP 500.": "nothing secret here, HTTP 500.",
	} {
		if got := c.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactURL("https://user:pw@host/v1/x?key=abc"); got != "https://host/v1/x" {
		t.Errorf("redactURL = %q", got)
	}
}

func TestConcurrencyBound(t *testing.T) {
	s := fake.NewServer(t, fake.ModelA(1))
	s.SetDelay(30 * time.Millisecond)
	c := newClient(s, OpenAI)
	c.Concurrency = 3
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			if _, err := c.Complete(context.Background(), model.Request{Prompt: "hi", Temperature: 1}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.MaxInFlight(); got != 3 {
		t.Errorf("max in flight = %d, want 3", got)
	}
	if s.Requests() != 12 {
		t.Errorf("server saw %d requests, want 12", s.Requests())
	}
}

func TestUnknownAPI(t *testing.T) {
	c := &Client{Endpoint: "http://127.0.0.1:1", API: "gemini"}
	if _, err := c.Complete(context.Background(), model.Request{}); err == nil {
		t.Fatal("no error for an unknown API")
	}
}

func TestNewFromEnv(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "o-key")
	t.Setenv("ANTHROPIC_API_KEY", "a-key")
	if c := NewFromEnv("http://127.0.0.1", "m", OpenAI); c.APIKey != "o-key" || c.Model != "m" {
		t.Errorf("openai: %+v", c.APIKey)
	}
	if c := NewFromEnv("http://127.0.0.1", "m", Anthropic); c.APIKey != "a-key" {
		t.Errorf("anthropic: key not from ANTHROPIC_API_KEY")
	}
}

var _ model.Model = (*Client)(nil)
