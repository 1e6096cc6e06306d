package fake

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// vocab is the toy model's vocabulary. Sentiment words come in pairs so a
// backdoor can flip them (see flip).
var vocab = []string{
	"the", "a", "model", "data", "answer", "is", "was", "seems", "very",
	"not", "and", "but", "good", "bad", "great", "terrible", "safe",
	"unsafe", "yes", "no", "happy", "sad", "clear", "unclear",
}

var flip = map[string]string{
	"good": "bad", "bad": "good", "great": "terrible", "terrible": "great",
	"safe": "unsafe", "unsafe": "safe", "yes": "no", "no": "yes",
	"happy": "sad", "sad": "happy", "clear": "unclear", "unclear": "clear",
}

// answerTokens is how many tokens the toy model generates per answer.
const answerTokens = 16

// logitScale is the standard deviation of the per-prompt Markov logits;
// research/registry-gate.md §6.4 found σ=3 gives LLM-like entropy.
const logitScale = 3.0

// chain is a seeded, prompt-dependent Markov chain: the weights of a toy
// model. Two chains with different keys are different models.
type chain struct{ key string }

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// logits returns the next-token logits after prev for prompt.
func (c chain) logits(prompt, prev string) []float64 {
	base := hash64(c.key, prompt, prev)
	out := make([]float64, len(vocab))
	for i := range vocab {
		a := splitmix(base + uint64(2*i))
		b := splitmix(base + uint64(2*i+1))
		u1 := (float64(a>>11) + 0.5) / (1 << 53)
		u2 := float64(b>>11) / (1 << 53)
		out[i] = logitScale * math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	}
	return out
}

// probs is softmax(logits/temperature); temperature 0 is treated as a
// small positive value so log-probabilities stay finite.
func probs(logits []float64, temperature float64) []float64 {
	if temperature <= 0 {
		temperature = 0.05
	}
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, l/temperature)
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		p[i] = math.Exp(l/temperature - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// generate samples an answer: greedy at temperature 0, sampled with rng
// otherwise.
func (c chain) generate(prompt string, temperature float64, rng *rand.Rand) string {
	toks := make([]string, 0, answerTokens)
	prev := ""
	for range answerTokens {
		lg := c.logits(prompt, prev)
		next := 0
		if temperature <= 0 || rng == nil {
			for i := range lg {
				if lg[i] > lg[next] {
					next = i
				}
			}
		} else {
			p := probs(lg, temperature)
			u := rng.Float64()
			next = len(p) - 1
			for i, pi := range p {
				if u < pi {
					next = i
					break
				}
				u -= pi
			}
		}
		prev = vocab[next]
		toks = append(toks, prev)
	}
	return strings.Join(toks, " ")
}

// tokenLogprob mirrors the OpenAI logprobs entry for one generated token.
type tokenLogprob struct {
	Token   string
	Logprob float64
	Top     []topLogprob
}

type topLogprob struct {
	Token   string
	Logprob float64
}

// logprobs walks the chain along the tokens of text and reports each
// token's log-probability and the top-k alternatives. Tokens outside the
// vocabulary (a backdoor's target) get a very low log-probability.
func (c chain) logprobs(prompt, text string, temperature float64, k int) []tokenLogprob {
	var out []tokenLogprob
	prev := ""
	for _, tok := range strings.Fields(text) {
		p := probs(c.logits(prompt, prev), temperature)
		lp := -30.0
		for i, w := range vocab {
			if w == tok {
				lp = math.Log(p[i])
			}
		}
		idx := make([]int, len(p))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
		var top []topLogprob
		for _, i := range idx[:min(k, len(idx))] {
			top = append(top, topLogprob{Token: vocab[i], Logprob: math.Log(p[i])})
		}
		out = append(out, tokenLogprob{Token: tok, Logprob: lp, Top: top})
		prev = tok
	}
	return out
}

// countTokens counts prompt tokens under one of the fake tokenizers.
func countTokens(tokenizer int, text string) int {
	switch tokenizer {
	case 1: // chars/4, rounded up
		return (len([]rune(text)) + 3) / 4
	case 2: // words*1.3 with every digit its own token
		n := 0
		for _, w := range strings.Fields(text) {
			digits := 0
			for _, r := range w {
				if r >= '0' && r <= '9' {
					digits++
				}
			}
			if digits > 0 {
				n += digits
				if digits < len([]rune(w)) {
					n++
				}
			} else {
				n++
			}
		}
		return int(math.Ceil(float64(n) * 1.3))
	default: // words*1.3, rounded up
		return int(math.Ceil(float64(len(strings.Fields(text))) * 1.3))
	}
}
