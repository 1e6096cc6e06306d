package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aigis-sec/aigis/probe/model"
)

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	Seed        *int64        `json:"seed,omitempty"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Logprobs    bool          `json:"logprobs,omitempty"`
	TopLogprobs int           `json:"top_logprobs,omitempty"`
}

// openAIRequest builds POST {endpoint}/v1/chat/completions.
func (c *Client) openAIRequest(req model.Request) (string, []byte, http.Header, error) {
	in := chatRequest{
		Model:       c.Model,
		Temperature: req.Temperature,
		Seed:        req.Seed,
		MaxTokens:   req.MaxTokens,
	}
	if req.System != "" {
		in.Messages = append(in.Messages, chatMessage{"system", req.System})
	}
	in.Messages = append(in.Messages, chatMessage{"user", req.Prompt})
	if req.TopLogprobs > 0 {
		in.Logprobs = true
		in.TopLogprobs = min(req.TopLogprobs, 20) // the API's maximum
	}
	body, err := json.Marshal(in)
	if err != nil {
		return "", nil, nil, fmt.Errorf("openai: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		h.Set("Authorization", "Bearer "+c.APIKey)
	}
	return c.baseURL() + "/v1/chat/completions", body, h, nil
}

type chatResponse struct {
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
		Logprobs     *struct {
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

func parseOpenAI(body []byte) (*model.Response, error) {
	var out chatResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(out.Choices) == 0 {
		return nil, errors.New("response has no choices")
	}
	ch := out.Choices[0]
	resp := &model.Response{
		Model:             out.Model,
		SystemFingerprint: out.SystemFingerprint,
		PromptTokens:      out.Usage.PromptTokens,
		CompletionTokens:  out.Usage.CompletionTokens,
		FinishReason:      ch.FinishReason,
	}
	if ch.Message.Content != nil {
		resp.Text = *ch.Message.Content
	}
	if ch.Logprobs != nil {
		for _, t := range ch.Logprobs.Content {
			lp := model.TokenLogprob{Token: t.Token, Logprob: t.Logprob}
			if len(t.TopLogprobs) > 0 {
				lp.Top = make(map[string]float64, len(t.TopLogprobs))
				for _, a := range t.TopLogprobs {
					lp.Top[a.Token] = a.Logprob
				}
			}
			resp.Logprobs = append(resp.Logprobs, lp)
		}
	}
	return resp, nil
}
