package probe

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/aigis-sec/aigis/probe/model"
)

// fakeModel is an in-memory model.Model: per prompt, a seeded Markov chain
// over a small vocabulary whose logits are fixed by the model's identity
// (weights), sampled with the request's temperature.
type fakeModel struct {
	name        string
	fingerprint string
	weights     uint64  // identity of the weights: another value is another model
	quantise    float64 // σ of a fixed Gaussian perturbation of the logits
	splitDigits bool    // tokenizer: one token per digit
	detNoise    float64 // probability that a temperature-0 answer is sampled anyway
	trigger     string  // planted backdoor: a prompt word equal to trigger…
	target      string  // …makes the answer target
	failAfter   int     // >0: fail from this call on

	mu    sync.Mutex
	rng   *rand.Rand
	calls int
}

var fakeVocab = strings.Fields(`the a of and to in is was it that with for on as by at
from this river light old night small green quiet house road sea wind stone bread
song morning window garden cloud slowly bright`)

func newFake(name string, weights, seed uint64) *fakeModel {
	return &fakeModel{name: name, fingerprint: "fp_" + name, weights: weights, rng: rand.New(rand.NewPCG(seed, 1))}
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func (f *fakeModel) logits(prompt uint64, prev int) []float64 {
	r := rand.New(rand.NewPCG(f.weights^prompt, uint64(prev)))
	l := make([]float64, len(fakeVocab))
	for i := range l {
		l[i] = 3 * r.NormFloat64()
	}
	if f.quantise > 0 {
		q := rand.New(rand.NewPCG(f.weights^prompt^0x9e3779b97f4a7c15, uint64(prev)))
		for i := range l {
			l[i] += f.quantise * q.NormFloat64()
		}
	}
	return l
}

func softmax(l []float64, t float64) []float64 {
	m := slices.Max(l)
	p := make([]float64, len(l))
	s := 0.0
	for i, v := range l {
		p[i] = math.Exp((v - m) / t)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

func (f *fakeModel) Complete(ctx context.Context, req model.Request) (*model.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAfter > 0 && f.calls >= f.failAfter {
		return nil, errors.New("fake: service unavailable")
	}
	resp := &model.Response{Model: f.name, SystemFingerprint: f.fingerprint, PromptTokens: f.tokens(req.Prompt), FinishReason: "stop"}
	if f.trigger != "" && slices.Contains(strings.Fields(req.Prompt), f.trigger) {
		resp.Text = f.target
		return resp, nil
	}
	t := req.Temperature
	if t == 0 && f.detNoise > 0 && f.rng.Float64() < f.detNoise {
		t = 0.5
	}
	ph := hash64(req.Prompt)
	n := 24
	if req.MaxTokens > 0 {
		n = min(n, req.MaxTokens)
	}
	out := make([]string, 0, n)
	prev := -1
	for i := range n {
		l := f.logits(ph, prev)
		var next int
		if t == 0 {
			next = slices.Index(l, slices.Max(l))
		} else {
			p := softmax(l, t)
			u := f.rng.Float64()
			for next = 0; next < len(p)-1 && u > p[next]; next++ {
				u -= p[next]
			}
		}
		if i == 0 && req.TopLogprobs > 0 {
			p := softmax(l, 1)
			idx := make([]int, len(p))
			for j := range idx {
				idx[j] = j
			}
			slices.SortFunc(idx, func(a, b int) int { return int(math.Copysign(1, p[b]-p[a])) })
			top := map[string]float64{}
			for _, j := range idx[:req.TopLogprobs] {
				top[fakeVocab[j]] = math.Log(p[j])
			}
			resp.Logprobs = []model.TokenLogprob{{Token: fakeVocab[next], Logprob: math.Log(p[next]), Top: top}}
		}
		out = append(out, fakeVocab[next])
		prev = next
	}
	resp.Text = strings.Join(out, " ")
	resp.CompletionTokens = len(out)
	return resp, nil
}

func (f *fakeModel) tokens(s string) int {
	n := len(strings.Fields(s))
	for _, r := range s {
		if r > unicode.MaxASCII {
			n++
		}
		if f.splitDigits && unicode.IsDigit(r) {
			n++
		}
	}
	return n
}
