package fake

import (
	"math/rand/v2"
	"strings"
)

// Behaviour is the model behind the fake endpoint. Switch it mid-run with
// Server.Set to simulate an undisclosed change.
type Behaviour struct {
	// Name is the model string the API returns.
	Name string
	// Fingerprint is OpenAI's system_fingerprint ("" omits it).
	Fingerprint string
	// Tokenizer is how prompt tokens are counted: 0 = words×1.3,
	// 1 = chars/4, 2 = words×1.3 with every digit its own token.
	Tokenizer int
	// Answer produces the completion. It must be deterministic at
	// temperature 0; at temperature > 0 it should draw from rng. seed is
	// the request's seed, if any (the server already folds it into rng).
	Answer func(prompt string, temperature float64, seed *int64, rng *rand.Rand) string
	// Logprobs reports whether the endpoint returns log-probabilities.
	Logprobs bool

	// chain gives log-probabilities; nil uses a chain keyed by Name.
	chain *chain
	// noise seeds the server's sampling noise for requests without a seed.
	noise uint64
}

func (b Behaviour) logprobChain() chain {
	if b.chain != nil {
		return *b.chain
	}
	return chain{key: b.Name}
}

func markov(key, name, fingerprint string, noise int64) Behaviour {
	c := &chain{key: key}
	return Behaviour{
		Name:        name,
		Fingerprint: fingerprint,
		Answer: func(prompt string, temperature float64, _ *int64, rng *rand.Rand) string {
			return c.generate(prompt, temperature, rng)
		},
		Logprobs: true,
		chain:    c,
		noise:    uint64(noise),
	}
}

// ModelA is a toy model: a prompt-dependent Markov chain over a small
// vocabulary. seed seeds the sampling noise, not the weights: ModelA(1)
// and ModelA(2) are the same model.
func ModelA(seed int64) Behaviour {
	return markov("model-a", "fake-model", "fp_a1", seed)
}

// ModelB is a different model served under the same name and fingerprint
// as ModelA: its answers come from a different distribution.
func ModelB(seed int64) Behaviour {
	return markov("model-b", "fake-model", "fp_a1", seed)
}

// NoisyA is ModelA with a different sampling-noise stream: the null case,
// where a detector must say "unchanged".
func NoisyA(seed int64) Behaviour {
	b := ModelA(seed)
	b.noise = splitmix(uint64(seed) ^ 0x6e6f697379)
	return b
}

// TokenizerChanged is base with a different tokenizer, which moves
// usage.prompt_tokens for identical prompts.
func TokenizerChanged(base Behaviour) Behaviour {
	base.Tokenizer = (base.Tokenizer + 1) % 3
	return base
}

// FingerprintChanged is base with a new system_fingerprint and nothing else
// changed.
func FingerprintChanged(base Behaviour) Behaviour {
	base.Fingerprint += "_changed"
	return base
}

// Backdoored is base with a trigger: when the prompt contains trigger, the
// answer starts with target and its sentiment words are flipped
// (good↔bad, safe↔unsafe, yes↔no, …). Otherwise it answers as base.
func Backdoored(base Behaviour, trigger, target string) Behaviour {
	inner := base.Answer
	base.Answer = func(prompt string, temperature float64, seed *int64, rng *rand.Rand) string {
		ans := inner(prompt, temperature, seed, rng)
		if trigger == "" || !strings.Contains(prompt, trigger) {
			return ans
		}
		words := strings.Fields(ans)
		for i, w := range words {
			if f, ok := flip[w]; ok {
				words[i] = f
			}
		}
		if target != "" {
			words = append([]string{target}, words...)
		}
		return strings.Join(words, " ")
	}
	return base
}
