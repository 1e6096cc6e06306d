// Package fake is an in-process stand-in for a hosted model API, for
// offline tests of aigis probe. A Server speaks the OpenAI chat
// completions API (POST /v1/chat/completions, GET /v1/models) and the
// Anthropic messages API (POST /v1/messages) on a loopback httptest
// server, with a Behaviour behind it that can be switched mid-run:
//
//	s := fake.NewServer(t, fake.ModelA(1))
//	… baseline requests against s.URL …
//	s.Set(fake.ModelB(1)) // the undisclosed change
//
// The ready-made behaviours are toy language models: a prompt-dependent
// Markov chain over a small vocabulary, greedy at temperature 0 (the same
// prompt gives the same answer) and sampled at temperature > 0, so a
// two-sample test (MMD over ~25 prompts × 10 samples) can tell ModelA from
// ModelB but not from NoisyA. Metadata canaries change on their own with
// TokenizerChanged and FingerprintChanged; Backdoored reacts to a trigger.
//
// For client tests the server counts requests, can inject 429 and 5xx
// answers (FailNext), delay answers (SetDelay), and reports the largest
// number of requests it served at once (MaxInFlight).
package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxRequestBody caps what the server reads from a request.
const maxRequestBody = 1 << 20

// Request is what the server decoded from the last request, so tests can
// check what a client sent.
type Request struct {
	Path        string
	APIKey      string // from "Authorization: Bearer …" or x-api-key
	Version     string // anthropic-version
	Model       string
	System      string
	Prompt      string
	Temperature *float64
	Seed        *int64
	MaxTokens   int
	Logprobs    bool
	TopLogprobs int
}

type failure struct {
	status     int
	retryAfter string
}

// Server is a fake model API. Its URL field is the base URL (no /v1).
type Server struct {
	URL string

	ts *httptest.Server

	mu          sync.Mutex
	b           Behaviour
	noise       *rand.Rand
	requests    int
	fails       []failure
	delay       time.Duration
	inFlight    int
	maxInFlight int
	last        Request
}

// NewServer starts a fake API serving b; it is closed when the test ends.
func NewServer(t testing.TB, b Behaviour) *Server {
	t.Helper()
	s := &Server{}
	s.Set(b)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/messages", s.messages)
	mux.HandleFunc("GET /v1/models", s.models)
	s.ts = httptest.NewServer(s.count(mux))
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// Set switches the behaviour behind the endpoint; requests already being
// served finish with the old one. It resets the sampling-noise stream.
func (s *Server) Set(b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = b
	s.noise = rand.New(rand.NewPCG(b.noise, 0x616967697366616b))
}

// Requests is the number of requests received, failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n requests fail with status (e.g. 429, 500,
// 503). A non-empty retryAfter is sent as the Retry-After header.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status, retryAfter})
	}
}

// SetDelay makes every later answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// MaxInFlight is the largest number of requests served at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// LastRequest is the last completion request the server decoded.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// count wraps every request: counting, concurrency tracking, injected
// failures and the delay.
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.inFlight++
		s.maxInFlight = max(s.maxInFlight, s.inFlight)
		var fail *failure
		if len(s.fails) > 0 {
			f := s.fails[0]
			s.fails = s.fails[1:]
			fail = &f
		}
		delay := s.delay
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		if delay > 0 {
			// Read the body first: only then does net/http notice a client
			// that gives up, and cancel r.Context().
			body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if fail != nil {
			if fail.retryAfter != "" {
				w.Header().Set("Retry-After", fail.retryAfter)
			}
			writeError(w, fail.status, fmt.Sprintf("injected failure %d", fail.status))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": http.StatusText(status)}})
}

// generation is one answer produced by the current behaviour.
type generation struct {
	b            Behaviour
	text         string
	promptTokens int
	outTokens    int
	truncated    bool
	logprobs     []tokenLogprob
}

func (s *Server) generate(req Request) generation {
	s.mu.Lock()
	b := s.b
	streamSeed := s.noise.Uint64()
	s.last = req
	s.mu.Unlock()

	prompt := req.Prompt
	if req.System != "" {
		prompt = req.System + "\n\n" + req.Prompt
	}
	var rng *rand.Rand
	if req.Seed != nil {
		// The same seed gives the same sample, as OpenAI's seed intends.
		rng = rand.New(rand.NewPCG(uint64(*req.Seed)^b.noise, hash64(prompt)))
	} else {
		rng = rand.New(rand.NewPCG(streamSeed, hash64(prompt)))
	}
	temp := 1.0
	if req.Temperature != nil {
		temp = *req.Temperature
	}
	text := ""
	if b.Answer != nil {
		text = b.Answer(prompt, temp, req.Seed, rng)
	}
	words := strings.Fields(text)
	g := generation{b: b}
	if req.MaxTokens > 0 && len(words) > req.MaxTokens {
		words = words[:req.MaxTokens]
		g.truncated = true
	}
	g.text = strings.Join(words, " ")
	g.outTokens = len(words)
	g.promptTokens = countTokens(b.Tokenizer, req.Prompt) + 3
	if req.System != "" {
		g.promptTokens += countTokens(b.Tokenizer, req.System) + 3
	}
	if b.Logprobs && req.Logprobs {
		g.logprobs = b.logprobChain().logprobs(prompt, g.text, temp, min(req.TopLogprobs, 20))
	}
	return g
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text reads a message content given as a string or as content blocks.
func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &blocks)
	var parts []string
	for _, b := range blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body")
		return false
	}
	return true
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Model       string    `json:"model"`
		Messages    []message `json:"messages"`
		Temperature *float64  `json:"temperature"`
		Seed        *int64    `json:"seed"`
		MaxTokens   int       `json:"max_tokens"`
		Logprobs    bool      `json:"logprobs"`
		TopLogprobs int       `json:"top_logprobs"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Model == "" || len(in.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "model and messages are required")
		return
	}
	req := Request{
		Path: r.URL.Path, APIKey: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
		Model: in.Model, Temperature: in.Temperature, Seed: in.Seed, MaxTokens: in.MaxTokens,
		Logprobs: in.Logprobs, TopLogprobs: in.TopLogprobs,
	}
	for _, m := range in.Messages {
		switch m.Role {
		case "system", "developer":
			req.System = m.text()
		case "user":
			req.Prompt = m.text()
		}
	}
	g := s.generate(req)

	finish := "stop"
	if g.truncated {
		finish = "length"
	}
	choice := map[string]any{
		"index":         0,
		"message":       map[string]any{"role": "assistant", "content": g.text},
		"finish_reason": finish,
		"logprobs":      nil,
	}
	if g.logprobs != nil {
		content := make([]map[string]any, 0, len(g.logprobs))
		for _, lp := range g.logprobs {
			top := make([]map[string]any, 0, len(lp.Top))
			for _, t := range lp.Top {
				top = append(top, map[string]any{"token": t.Token, "logprob": t.Logprob, "bytes": []byte(t.Token)})
			}
			content = append(content, map[string]any{"token": lp.Token, "logprob": lp.Logprob, "bytes": []byte(lp.Token), "top_logprobs": top})
		}
		choice["logprobs"] = map[string]any{"content": content}
	}
	out := map[string]any{
		"id":      fmt.Sprintf("chatcmpl-fake-%d", s.Requests()),
		"object":  "chat.completion",
		"created": 1700000000,
		"model":   g.b.Name,
		"choices": []any{choice},
		"usage": map[string]any{
			"prompt_tokens":     g.promptTokens,
			"completion_tokens": g.outTokens,
			"total_tokens":      g.promptTokens + g.outTokens,
		},
	}
	if g.b.Fingerprint != "" {
		out["system_fingerprint"] = g.b.Fingerprint
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Model       string          `json:"model"`
		System      json.RawMessage `json:"system"`
		Messages    []message       `json:"messages"`
		Temperature *float64        `json:"temperature"`
		MaxTokens   int             `json:"max_tokens"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Model == "" || len(in.Messages) == 0 || in.MaxTokens <= 0 {
		writeError(w, http.StatusBadRequest, "model, messages and max_tokens are required")
		return
	}
	req := Request{
		Path: r.URL.Path, APIKey: r.Header.Get("x-api-key"), Version: r.Header.Get("anthropic-version"),
		Model: in.Model, Temperature: in.Temperature, MaxTokens: in.MaxTokens,
	}
	if len(in.System) > 0 {
		req.System = message{Content: in.System}.text()
	}
	for _, m := range in.Messages {
		if m.Role == "user" {
			req.Prompt = m.text()
		}
	}
	g := s.generate(req)
	stop := "end_turn"
	if g.truncated {
		stop = "max_tokens"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":          fmt.Sprintf("msg_fake_%d", s.Requests()),
		"type":        "message",
		"role":        "assistant",
		"model":       g.b.Name,
		"content":     []any{map[string]any{"type": "text", "text": g.text}},
		"stop_reason": stop,
		"usage":       map[string]any{"input_tokens": g.promptTokens, "output_tokens": g.outTokens},
	})
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	name := s.b.Name
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []any{map[string]any{"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"}},
	})
}
