package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// BaselineVersion is the version of the baseline format written by
// [WriteBaseline]. [ReadBaseline] refuses other versions.
const BaselineVersion = 1

// maxBaselineBytes caps what [ReadBaseline] reads: a default baseline is
// well under a megabyte.
const maxBaselineBytes = 64 << 20

// ErrBaselineVersion is returned by [ReadBaseline] for a baseline of an
// unknown format version.
var ErrBaselineVersion = errors.New("probe: unsupported baseline version")

// Baseline is what [Record] measured of an endpoint: the reference a later
// [Check] compares with.
type Baseline struct {
	Version  int       `json:"version"`
	Endpoint string    `json:"endpoint,omitempty"` // set by the caller
	Model    string    `json:"model"`              // the model string the API returned
	API      string    `json:"api,omitempty"`      // set by the caller, e.g. "openai", "anthropic"
	Created  time.Time `json:"created"`

	Canaries      []Canary     `json:"canaries"`
	Deterministic []DetAnswer  `json:"deterministic"`
	Samples       []SampleSet  `json:"samples"`
	Logprobs      []LogprobSet `json:"logprobs,omitempty"`

	// Noise is the measured disagreement rate of the deterministic set
	// across runs: the fraction of (prompt, run) answers that match none of
	// the other runs' answers to the same prompt.
	Noise float64 `json:"noise"`
}

// Canary is the metadata an endpoint returned for one fixed prompt.
type Canary struct {
	Prompt       string `json:"prompt"`
	Model        string `json:"model"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	PromptTokens int    `json:"prompt_tokens"`
}

// DetAnswer holds the answers of repeated runs of one prompt at temperature
// 0 with a fixed seed.
type DetAnswer struct {
	Prompt  string   `json:"prompt"`
	Answers []string `json:"answers"`
}

// SampleSet holds answers to one prompt sampled at temperature 1.
type SampleSet struct {
	Prompt  string   `json:"prompt"`
	Answers []string `json:"answers"`
}

// LogprobSet holds, for one deterministic prompt, the top log-probabilities
// of the first generated token in each run, where the API returns them.
type LogprobSet struct {
	Prompt string               `json:"prompt"`
	Runs   []map[string]float64 `json:"runs"`
}

// WriteBaseline writes b as indented JSON.
func WriteBaseline(w io.Writer, b *Baseline) error {
	if b == nil {
		return errors.New("probe: write baseline: nil baseline")
	}
	c := *b
	if c.Version == 0 {
		c.Version = BaselineVersion
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("probe: write baseline: %w", err)
	}
	return nil
}

// ReadBaseline reads a baseline written by [WriteBaseline]. It reads at most
// 64 MiB and rejects unknown fields, unknown versions and baselines without
// any probe.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	lr := &io.LimitedReader{R: r, N: maxBaselineBytes + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("probe: read baseline: %w", err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("probe: read baseline: larger than %d bytes", maxBaselineBytes)
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("%w %d (want %d)", ErrBaselineVersion, b.Version, BaselineVersion)
	}
	if len(b.Canaries)+len(b.Deterministic)+len(b.Samples) == 0 {
		return nil, errors.New("probe: read baseline: no probes")
	}
	if b.Noise < 0 || b.Noise > 1 {
		return nil, fmt.Errorf("probe: read baseline: noise %v outside [0,1]", b.Noise)
	}
	return &b, nil
}
