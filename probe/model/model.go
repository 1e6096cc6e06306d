// Package model is the interface between aigis probe and the endpoints it
// measures: one completion request and its answer, whatever the API
// (OpenAI chat completions, Anthropic messages) or a test double.
package model

import "context"

// Request is one completion request.
type Request struct {
	System      string
	Prompt      string
	Temperature float64
	Seed        *int64 // sent when the API supports it
	MaxTokens   int
	// TopLogprobs asks for the top-k log-probabilities of each generated
	// token (0: none), where the API gives them.
	TopLogprobs int
}

// TokenLogprob is one generated token with its top alternatives.
type TokenLogprob struct {
	Token   string
	Logprob float64
	Top     map[string]float64
}

// Response is what the endpoint answered, with the metadata that act as
// canaries when the model behind it changes.
type Response struct {
	Text              string
	Model             string // the model string the API returned
	SystemFingerprint string // OpenAI's system_fingerprint, when present
	PromptTokens      int    // a tokenizer change moves these
	CompletionTokens  int
	FinishReason      string
	Logprobs          []TokenLogprob
}

// Model answers completion requests.
type Model interface {
	Complete(ctx context.Context, req Request) (*Response, error)
}
