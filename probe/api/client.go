// Package api is the HTTP client aigis probe uses to query hosted models:
// OpenAI chat completions (and the many servers that speak it: vLLM,
// llama.cpp, …) and Anthropic messages. A Client implements model.Model.
//
//	c := api.NewFromEnv("https://api.openai.com", "gpt-4o-mini", "openai")
//	c.MaxRequests, c.MaxCostUSD = 300, 0.50
//	resp, err := c.Complete(ctx, model.Request{Prompt: "…", MaxTokens: 64})
//
// Probing costs money, so every Client is bounded: a per-attempt timeout,
// at most four attempts with exponential backoff on 429 and 5xx (honouring
// Retry-After), a request budget and a cost budget (ErrBudget once
// either would be exceeded), and a concurrency limit.
//
// The API key is sent only in its header. It never appears in an error:
// error text is redacted of the key and of any Authorization value.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aigis-sec/aigis/probe/model"
)

// ErrBudget is returned when a request would go past MaxRequests or the
// estimated cost past MaxCostUSD. Nothing is sent.
var ErrBudget = errors.New("api: probe budget exhausted")

// The APIs a Client speaks.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
)

const (
	defaultTimeout     = 60 * time.Second
	defaultConcurrency = 4
	// defaultMaxTokens is sent to Anthropic, which requires max_tokens,
	// and used for the cost estimate when a request sets none.
	defaultMaxTokens = 1024
	maxAttempts      = 4
	maxBackoff       = 30 * time.Second
	// maxResponseBody caps what is read from an endpoint's answer.
	maxResponseBody = 8 << 20
	anthropicVer    = "2023-06-01"
)

// Client queries one model behind one endpoint. Set its fields before the
// first Complete; a Client is safe for concurrent use after that.
type Client struct {
	Endpoint string // base URL, with or without a trailing /v1
	Model    string
	API      string // "openai" (also when empty) or "anthropic"
	// APIKey is set from the environment by NewFromEnv. It is never
	// logged or written anywhere.
	APIKey string
	HTTP   *http.Client // nil: a client without its own timeout
	// Timeout bounds each attempt (0: 60 s).
	Timeout time.Duration
	// MaxRequests bounds the HTTP requests sent, retries included (0: no bound).
	MaxRequests int
	// MaxCostUSD bounds the estimated spend (0: no bound).
	MaxCostUSD float64
	// PriceIn and PriceOut are USD per million input and output tokens,
	// for the cost estimate.
	PriceIn, PriceOut float64
	// Concurrency bounds the requests in flight (0: 4).
	Concurrency int

	// backoff is the first retry delay (0: 500 ms); tests shorten it.
	backoff time.Duration

	once     sync.Once
	sem      chan struct{}
	mu       sync.Mutex
	requests int
	spent    float64 // USD: actual usage, plus reservations in flight
}

// NewFromEnv returns a Client whose key comes from OPENAI_API_KEY or
// ANTHROPIC_API_KEY, according to api.
func NewFromEnv(endpoint, modelName, api string) *Client {
	c := &Client{Endpoint: endpoint, Model: modelName, API: api}
	switch api {
	case Anthropic:
		c.APIKey = os.Getenv("ANTHROPIC_API_KEY")
	default:
		c.APIKey = os.Getenv("OPENAI_API_KEY")
	}
	return c
}

// Requests is the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// SpentUSD is the estimated cost so far, from the usage endpoints reported.
func (c *Client) SpentUSD() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spent
}

func (c *Client) init() {
	c.once.Do(func() {
		n := c.Concurrency
		if n <= 0 {
			n = defaultConcurrency
		}
		c.sem = make(chan struct{}, n)
	})
}

// Complete sends req and returns the endpoint's answer.
func (c *Client) Complete(ctx context.Context, req model.Request) (*model.Response, error) {
	c.init()
	var build func(model.Request) (string, []byte, http.Header, error)
	var parse func([]byte) (*model.Response, error)
	switch c.API {
	case OpenAI, "":
		build, parse = c.openAIRequest, parseOpenAI
	case Anthropic:
		build, parse = c.anthropicRequest, parseAnthropic
	default:
		return nil, fmt.Errorf("api: unknown API %q (want %q or %q)", c.API, OpenAI, Anthropic)
	}
	url, body, header, err := build(req)
	if err != nil {
		return nil, err
	}

	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()

	estimate := c.estimate(req)
	backoff := c.backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := c.reserve(estimate); err != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("%w (after: %v)", err, lastErr)
			}
			return nil, err
		}
		status, respBody, retryAfter, err := c.send(ctx, url, body, header)
		if err != nil {
			c.settle(estimate, estimate) // a request that may have run is charged
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			lastErr = err
		} else if status == http.StatusOK {
			resp, perr := parse(respBody)
			if perr != nil {
				c.settle(estimate, estimate)
				return nil, c.errorf("%s %s: %v", c.API, redactURL(url), perr)
			}
			c.settle(estimate, c.cost(resp.PromptTokens, resp.CompletionTokens))
			return resp, nil
		} else {
			c.settle(estimate, 0) // failed requests are not billed
			lastErr = c.errorf("%s %s: HTTP %d: %s", c.API, redactURL(url), status, errorMessage(respBody))
			if status != http.StatusTooManyRequests && status < 500 {
				return nil, lastErr
			}
		}
		if attempt == maxAttempts-1 {
			break
		}
		wait := backoff << attempt
		if retryAfter >= 0 {
			wait = retryAfter
		}
		wait = min(wait, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (after: %v)", ctx.Err(), lastErr)
		}
	}
	return nil, fmt.Errorf("api: giving up after %d attempts: %w", maxAttempts, lastErr)
}

// send makes one attempt. retryAfter is -1 when the header is absent.
func (c *Client) send(ctx context.Context, url string, body []byte, header http.Header) (status int, respBody []byte, retryAfter time.Duration, err error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, -1, c.errorf("api: %v", err)
	}
	hreq.Header = header.Clone()
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, -1, fmt.Errorf("%s %s: %w", c.API, redactURL(url), ctx.Err())
		}
		return 0, nil, -1, c.errorf("%s: %v", c.API, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, -1, fmt.Errorf("%s %s: read: %w", c.API, redactURL(url), ctx.Err())
		}
		return 0, nil, -1, c.errorf("%s %s: read: %v", c.API, redactURL(url), err)
	}
	if len(respBody) > maxResponseBody {
		return 0, nil, -1, fmt.Errorf("%s %s: response larger than %d bytes", c.API, redactURL(url), maxResponseBody)
	}
	return resp.StatusCode, respBody, parseRetryAfter(resp.Header.Get("Retry-After")), nil
}

func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return min(time.Duration(s*float64(time.Second)), maxBackoff)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxBackoff)
	}
	return -1
}

// estimate is the worst-case cost of one request: the prompt at ~4
// characters a token (rounded up generously) and every allowed output token.
func (c *Client) estimate(req model.Request) float64 {
	in := (len(req.System)+len(req.Prompt))/3 + 16
	out := req.MaxTokens
	if out <= 0 {
		out = defaultMaxTokens
	}
	return c.cost(in, out)
}

func (c *Client) cost(in, out int) float64 {
	return (float64(in)*c.PriceIn + float64(out)*c.PriceOut) / 1e6
}

// reserve counts one request and sets aside its estimated cost, or
// returns ErrBudget.
func (c *Client) reserve(estimate float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.MaxRequests > 0 && c.requests >= c.MaxRequests {
		return fmt.Errorf("%w: %d requests sent, limit %d", ErrBudget, c.requests, c.MaxRequests)
	}
	if c.MaxCostUSD > 0 && c.spent+estimate > c.MaxCostUSD+1e-12 {
		return fmt.Errorf("%w: estimated cost $%.4f + $%.4f past limit $%.4f", ErrBudget, c.spent, estimate, c.MaxCostUSD)
	}
	c.requests++
	c.spent += estimate
	return nil
}

// settle replaces a reservation with the actual cost.
func (c *Client) settle(estimate, actual float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spent = math.Max(0, c.spent-estimate+actual)
}

// authRe matches credentials that might be echoed back in error text.
var authRe = regexp.MustCompile(`(?i)(authorization|x-api-key|api[_-]?key)(["']?\s*[:=]\s*["']?)(bearer\s+)?[^\s"',}]+`)

// redact removes the API key and any Authorization value from s.
func (c *Client) redact(s string) string {
	if c.APIKey != "" {
		s = strings.ReplaceAll(s, c.APIKey, "[REDACTED]")
	}
	return authRe.ReplaceAllString(s, "${1}${2}${3}[REDACTED]")
}

func (c *Client) errorf(format string, args ...any) error {
	return errors.New(c.redact(fmt.Sprintf(format, args...)))
}

// redactURL drops any userinfo and query (some gateways take keys there).
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			u = u[:i+3] + rest[at+1:]
		}
	}
	return u
}

// errorMessage is the error text of an API error body, short.
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	} else {
		msg = strings.TrimSpace(string(body))
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// baseURL is the endpoint with any trailing slash and /v1 removed.
func (c *Client) baseURL() string {
	u := strings.TrimRight(c.Endpoint, "/")
	return strings.TrimSuffix(u, "/v1")
}
