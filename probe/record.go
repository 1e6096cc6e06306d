package probe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aigis-sec/aigis/probe/model"
)

// Options sizes [Record] and [Check]. Zero fields take the defaults.
type Options struct {
	Runs          int     // repeats of each deterministic prompt in Record (default 3); Check runs each once
	SamplePrompts int     // open-ended prompts sampled (default 25, at most the built-in set)
	Samples       int     // answers per sampled prompt (default 10)
	Alpha         float64 // significance level of Check (default 0.01)
	Permutations  int     // permutations of the MMD test (default 1000)
	Seed          int64   // the seed sent with deterministic prompts and used for permutations
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = 3
	}
	if o.SamplePrompts <= 0 {
		o.SamplePrompts = 25
	}
	o.SamplePrompts = min(o.SamplePrompts, len(samplingPrompts))
	if o.Samples <= 0 {
		o.Samples = 10
	}
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.01
	}
	if o.Permutations <= 0 {
		o.Permutations = 1000
	}
	return o
}

// Token budgets of each kind of request.
const (
	canaryMaxTokens = 16
	detMaxTokens    = 64
	sampleMaxTokens = 128
	topLogprobs     = 5
)

// Record measures m with the built-in probe set and returns the baseline.
// It makes len(canaries) + Runs·20 + SamplePrompts·Samples requests (with
// the defaults: 8 + 60 + 250). The caller fills in Endpoint and API.
func Record(ctx context.Context, m model.Model, opt Options) (*Baseline, error) {
	opt = opt.withDefaults()
	b := &Baseline{Version: BaselineVersion, Created: time.Now().UTC()}

	for _, p := range canaryPrompts {
		c, err := canary(ctx, m, p, opt.Seed)
		if err != nil {
			return nil, err
		}
		b.Canaries = append(b.Canaries, c)
	}
	if len(b.Canaries) > 0 {
		b.Model = b.Canaries[0].Model
	}

	anyLogprobs := false
	lps := make([]LogprobSet, len(deterministicPrompts))
	for _, p := range deterministicPrompts {
		b.Deterministic = append(b.Deterministic, DetAnswer{Prompt: p})
	}
	// Runs are the outer loop, so that a drift during recording spreads over
	// all prompts instead of hitting the last ones.
	for range opt.Runs {
		for i, p := range deterministicPrompts {
			resp, err := deterministic(ctx, m, p, opt.Seed)
			if err != nil {
				return nil, err
			}
			b.Deterministic[i].Answers = append(b.Deterministic[i].Answers, resp.Text)
			lps[i].Prompt = p
			lps[i].Runs = append(lps[i].Runs, firstTop(resp))
			if len(resp.Logprobs) > 0 {
				anyLogprobs = true
			}
		}
	}
	if anyLogprobs {
		b.Logprobs = lps
	}
	b.Noise = noise(b.Deterministic)

	for _, p := range samplingPrompts[:opt.SamplePrompts] {
		answers, err := sample(ctx, m, p, opt.Samples)
		if err != nil {
			return nil, err
		}
		b.Samples = append(b.Samples, SampleSet{Prompt: p, Answers: answers})
	}
	return b, nil
}

func canary(ctx context.Context, m model.Model, prompt string, seed int64) (Canary, error) {
	resp, err := complete(ctx, m, model.Request{Prompt: prompt, Temperature: 0, Seed: &seed, MaxTokens: canaryMaxTokens})
	if err != nil {
		return Canary{}, err
	}
	return Canary{Prompt: prompt, Model: resp.Model, Fingerprint: resp.SystemFingerprint, PromptTokens: resp.PromptTokens}, nil
}

func deterministic(ctx context.Context, m model.Model, prompt string, seed int64) (*model.Response, error) {
	return complete(ctx, m, model.Request{Prompt: prompt, Temperature: 0, Seed: &seed, MaxTokens: detMaxTokens, TopLogprobs: topLogprobs})
}

// sample asks n times without a seed: a fixed seed would make the samples
// repeat each other.
func sample(ctx context.Context, m model.Model, prompt string, n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		resp, err := complete(ctx, m, model.Request{Prompt: prompt, Temperature: 1, MaxTokens: sampleMaxTokens})
		if err != nil {
			return nil, err
		}
		out = append(out, truncateRunes(resp.Text, maxAnswerRunes))
	}
	return out, nil
}

func complete(ctx context.Context, m model.Model, req model.Request) (*model.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := m.Complete(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("probe: prompt %.40q: %w", req.Prompt, err)
	}
	if resp == nil {
		return nil, fmt.Errorf("probe: prompt %.40q: %w", req.Prompt, errors.New("nil response"))
	}
	return resp, nil
}

// firstTop is the top log-probabilities of the first generated token, or
// nil.
func firstTop(resp *model.Response) map[string]float64 {
	if len(resp.Logprobs) == 0 {
		return nil
	}
	t := resp.Logprobs[0]
	top := make(map[string]float64, len(t.Top)+1)
	for k, v := range t.Top {
		top[k] = v
	}
	if _, ok := top[t.Token]; !ok {
		top[t.Token] = t.Logprob
	}
	return top
}

// noise is the fraction of (prompt, run) answers that match none of the
// other runs' answers to the same prompt: a leave-one-out estimate of how
// often a fresh answer is unseen in the baseline although nothing changed.
func noise(det []DetAnswer) float64 {
	n, k := 0, 0
	for _, d := range det {
		if len(d.Answers) < 2 {
			continue
		}
		for i, a := range d.Answers {
			n++
			seen := false
			for j, o := range d.Answers {
				if i != j && o == a {
					seen = true
					break
				}
			}
			if !seen {
				k++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}
