package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aigis-sec/aigis/probe/model"
)

type messagesRequest struct {
	Model       string        `json:"model"`
	System      string        `json:"system,omitempty"`
	Messages    []chatMessage `json:"messages"`
	MaxTokens   int           `json:"max_tokens"`
	Temperature float64       `json:"temperature"`
}

// anthropicRequest builds POST {endpoint}/v1/messages. The Messages API has
// no seed and no log-probabilities; those fields of req are ignored.
func (c *Client) anthropicRequest(req model.Request) (string, []byte, http.Header, error) {
	in := messagesRequest{
		Model:       c.Model,
		System:      req.System,
		Messages:    []chatMessage{{"user", req.Prompt}},
		MaxTokens:   req.MaxTokens,
		Temperature: req.Temperature,
	}
	if in.MaxTokens <= 0 {
		in.MaxTokens = defaultMaxTokens // required by the API
	}
	body, err := json.Marshal(in)
	if err != nil {
		return "", nil, nil, fmt.Errorf("anthropic: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("anthropic-version", anthropicVer)
	if c.APIKey != "" {
		h.Set("x-api-key", c.APIKey)
	}
	return c.baseURL() + "/v1/messages", body, h, nil
}

type messagesResponse struct {
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
	Usage      struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func parseAnthropic(body []byte) (*model.Response, error) {
	var out messagesResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	var text strings.Builder
	for _, b := range out.Content {
		if b.Type == "text" || b.Type == "" {
			text.WriteString(b.Text)
		}
	}
	return &model.Response{
		Text:             text.String(),
		Model:            out.Model,
		PromptTokens:     out.Usage.InputTokens,
		CompletionTokens: out.Usage.OutputTokens,
		FinishReason:     out.StopReason,
	}, nil
}
