package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/aigis-sec/aigis/probe/model"
)

// Verdict is the outcome of [Check]. It says "changed", never
// "substituted": the evidence cannot tell a new model from quantisation, a
// new system prompt or post-processing.
type Verdict string

const (
	Changed      Verdict = "changed"
	Unchanged    Verdict = "unchanged"
	Inconclusive Verdict = "inconclusive" // weak evidence, or too little to test
)

// Kinds of [Evidence].
const (
	KindCanaryModel       = "canary-model"
	KindCanaryFingerprint = "canary-fingerprint"
	KindCanaryTokens      = "canary-tokens"
	KindDeterministic     = "deterministic"
	KindDistribution      = "distribution"
	KindLogprobs          = "logprobs"
)

// Evidence is one signal of [Check]. Canary evidence is reported only when
// a canary moved (PValue 0). Statistical evidence is always reported, with
// its p-value and effect size, whether significant or not.
type Evidence struct {
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
	PValue float64 `json:"p_value"`
	// Effect is, for canaries, the fraction of canary prompts that moved;
	// for deterministic and logprobs, the fraction of prompts whose answer
	// left the baseline's range; for distribution, the mean per-prompt MMD²
	// on the cosine kernel of character 3-gram features (0: same
	// distribution; up to 2).
	Effect float64 `json:"effect"`
}

// Result is the outcome of [Check].
type Result struct {
	Verdict  Verdict    `json:"verdict"`
	Evidence []Evidence `json:"evidence"`
}

// logprobTolerance is how far (total variation) a first-token distribution
// may move beyond the baseline's own spread before it counts as moved.
const logprobTolerance = 0.1

// Check repeats the baseline's probes against m and decides whether the
// model behind it changed.
//
// A moved canary (model string, fingerprint, prompt token count) is
// decisive. The statistical tests (deterministic answers against the
// baseline noise, the MMD permutation test over samples, first-token
// log-probabilities where present) are corrected with Bonferroni over the
// tests that ran: some p < Alpha/k gives "changed", some p < 5·Alpha/k
// gives "inconclusive", otherwise "unchanged". Check sends the prompts
// stored in base, so a baseline outlives changes of the built-in probe set.
func Check(ctx context.Context, m model.Model, base *Baseline, opt Options) (*Result, error) {
	if base == nil {
		return nil, errors.New("probe: check: nil baseline")
	}
	opt = opt.withDefaults()
	res := &Result{}

	ev, err := checkCanaries(ctx, m, base, opt)
	if err != nil {
		return nil, err
	}
	res.Evidence = append(res.Evidence, ev...)
	canaryMoved := len(ev) > 0

	var tests []Evidence
	det, lp, err := checkDeterministic(ctx, m, base, opt)
	if err != nil {
		return nil, err
	}
	tests = append(tests, det...)
	tests = append(tests, lp...)
	dist, err := checkDistribution(ctx, m, base, opt)
	if err != nil {
		return nil, err
	}
	tests = append(tests, dist...)
	res.Evidence = append(res.Evidence, tests...)

	minP := 1.0
	for _, e := range tests {
		minP = math.Min(minP, e.PValue)
	}
	k := float64(max(1, len(tests)))
	switch {
	case canaryMoved || minP < opt.Alpha/k:
		res.Verdict = Changed
	case len(tests) == 0 || minP < 5*opt.Alpha/k:
		res.Verdict = Inconclusive
	default:
		res.Verdict = Unchanged
	}
	return res, nil
}

func checkCanaries(ctx context.Context, m model.Model, base *Baseline, opt Options) ([]Evidence, error) {
	models, fps := map[string]bool{}, map[string]bool{}
	for _, c := range base.Canaries {
		models[c.Model] = true
		fps[c.Fingerprint] = true
	}
	var modelMoved, fpMoved, tokMoved []string
	n := len(base.Canaries)
	for _, c := range base.Canaries {
		now, err := canary(ctx, m, c.Prompt, opt.Seed)
		if err != nil {
			return nil, err
		}
		if !models[now.Model] {
			modelMoved = append(modelMoved, fmt.Sprintf("%q", now.Model))
		}
		if !fps[now.Fingerprint] {
			fpMoved = append(fpMoved, fmt.Sprintf("%q", now.Fingerprint))
		}
		if now.PromptTokens != c.PromptTokens {
			tokMoved = append(tokMoved, fmt.Sprintf("%.30q: %d → %d", c.Prompt, c.PromptTokens, now.PromptTokens))
		}
	}
	var ev []Evidence
	add := func(kind, what string, moved []string, was []string) {
		if len(moved) == 0 {
			return
		}
		ev = append(ev, Evidence{
			Kind:   kind,
			Detail: fmt.Sprintf("%s changed on %d of %d canary prompts: %s (baseline %s)", what, len(moved), n, strings.Join(uniq(moved), ", "), strings.Join(was, ", ")),
			Effect: float64(len(moved)) / float64(n),
		})
	}
	add(KindCanaryModel, "returned model string", modelMoved, quoteKeys(models))
	add(KindCanaryFingerprint, "system fingerprint", fpMoved, quoteKeys(fps))
	if len(tokMoved) > 0 {
		ev = append(ev, Evidence{
			Kind:   KindCanaryTokens,
			Detail: fmt.Sprintf("prompt token count changed on %d of %d canary prompts (tokenizer or prompt template): %s", len(tokMoved), n, strings.Join(tokMoved, "; ")),
			Effect: float64(len(tokMoved)) / float64(n),
		})
	}
	return ev, nil
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func quoteKeys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, fmt.Sprintf("%q", k))
	}
	slices.Sort(s)
	return s
}

// checkDeterministic runs each deterministic prompt once. An answer found
// in none of the baseline runs counts as moved; under no change that
// happens at the baseline's noise rate (with a Laplace pseudo-count, so a
// noiseless baseline does not turn one stray answer into proof), and the
// number of moved prompts is tested against it with a one-sided binomial
// test. First-token log-probabilities, where both sides have them, are
// tested the same way.
func checkDeterministic(ctx context.Context, m model.Model, base *Baseline, opt Options) (det, lp []Evidence, err error) {
	if len(base.Deterministic) == 0 {
		return nil, nil, nil
	}
	lpRef := map[string][]map[string]float64{}
	for _, l := range base.Logprobs {
		lpRef[l.Prompt] = l.Runs
	}
	moved, nRef := 0, 0
	var example string
	lpMoved, lpN := 0, 0
	for _, d := range base.Deterministic {
		if len(d.Answers) >= 2 {
			nRef += len(d.Answers)
		}
		resp, err := deterministic(ctx, m, d.Prompt, opt.Seed)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Contains(d.Answers, resp.Text) {
			moved++
			if example == "" {
				example = fmt.Sprintf("; e.g. %.40q → %.60q (baseline %.60q)", d.Prompt, resp.Text, firstOr(d.Answers))
			}
		}
		if refs := nonNil(lpRef[d.Prompt]); len(refs) > 0 {
			if top := firstTop(resp); top != nil {
				lpN++
				if tvExceeds(top, refs) {
					lpMoved++
				}
			}
		}
	}
	n := len(base.Deterministic)
	p0 := (base.Noise*float64(nRef) + 1) / float64(nRef+2)
	det = []Evidence{{
		Kind: KindDeterministic,
		Detail: fmt.Sprintf("%d of %d temperature-0 answers match no baseline run (expected rate %.3f from baseline noise %.3f)%s",
			moved, n, p0, base.Noise, example),
		PValue: binomUpper(moved, n, p0),
		Effect: float64(moved) / float64(n),
	}}
	if lpN > 0 {
		k0, n0 := logprobNoise(base.Logprobs)
		q0 := (float64(k0) + 1) / float64(n0+2)
		lp = []Evidence{{
			Kind: KindLogprobs,
			Detail: fmt.Sprintf("first-token distribution moved beyond the baseline spread + %.2f (total variation) on %d of %d prompts (expected rate %.3f)",
				logprobTolerance, lpMoved, lpN, q0),
			PValue: binomUpper(lpMoved, lpN, q0),
			Effect: float64(lpMoved) / float64(lpN),
		}}
	}
	return det, lp, nil
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func nonNil(ms []map[string]float64) []map[string]float64 {
	var out []map[string]float64
	for _, m := range ms {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// totalVariation compares two top-k log-probability maps as probability
// distributions (mass outside the top k is ignored).
func totalVariation(a, b map[string]float64) float64 {
	s := 0.0
	for k, v := range a {
		w, ok := b[k]
		if ok {
			s += math.Abs(math.Exp(v) - math.Exp(w))
		} else {
			s += math.Exp(v)
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			s += math.Exp(w)
		}
	}
	return s / 2
}

// tvExceeds reports whether x is further from every reference than the
// references' own spread plus the tolerance.
func tvExceeds(x map[string]float64, refs []map[string]float64) bool {
	spread := 0.0
	for i := range refs {
		for j := i + 1; j < len(refs); j++ {
			spread = math.Max(spread, totalVariation(refs[i], refs[j]))
		}
	}
	d := math.Inf(1)
	for _, r := range refs {
		d = math.Min(d, totalVariation(x, r))
	}
	return d > spread+logprobTolerance
}

// logprobNoise is the leave-one-out count of baseline runs that exceed the
// spread of the other runs, and the number of runs tried.
func logprobNoise(sets []LogprobSet) (k, n int) {
	for _, s := range sets {
		runs := nonNil(s.Runs)
		if len(runs) < 2 {
			continue
		}
		for i := range runs {
			others := slices.Concat(runs[:i], runs[i+1:])
			n++
			if tvExceeds(runs[i], others) {
				k++
			}
		}
	}
	return k, n
}

// checkDistribution samples each baseline prompt again and runs the MMD
// permutation test.
func checkDistribution(ctx context.Context, m model.Model, base *Baseline, opt Options) ([]Evidence, error) {
	var groups []mmdGroup
	nNew := 0
	for _, s := range base.Samples {
		if len(s.Answers) < 2 {
			continue
		}
		answers, err := sample(ctx, m, s.Prompt, opt.Samples)
		if err != nil {
			return nil, err
		}
		if len(answers) < 2 {
			continue
		}
		nNew = len(answers)
		groups = append(groups, newMMDGroup(s.Answers, answers))
	}
	if len(groups) == 0 {
		return nil, nil
	}
	stat, p := mmdPermutationTest(groups, opt.Permutations, opt.Seed)
	return []Evidence{{
		Kind: KindDistribution,
		Detail: fmt.Sprintf("MMD² of temperature-1 answers (character 3-gram cosine kernel) summed over %d prompts, %d baseline vs %d new samples each: %.4f, %d permutations",
			len(groups), len(base.Samples[0].Answers), nNew, stat, opt.Permutations),
		PValue: p,
		Effect: stat / float64(len(groups)),
	}}, nil
}

// mmdGroup is one prompt's pooled samples: the kernel matrix is computed
// once; permutations only relabel it.
type mmdGroup struct {
	k      [][]float64
	labels []bool // true: baseline
}

func newMMDGroup(x, y []string) mmdGroup {
	all := slices.Concat(x, y)
	f := make([]features, len(all))
	for i, s := range all {
		f[i] = ngramFeatures(s, 3)
	}
	g := mmdGroup{k: make([][]float64, len(all)), labels: make([]bool, len(all))}
	for i := range all {
		g.k[i] = make([]float64, len(all))
		g.labels[i] = i < len(x)
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			v := cosine(f[i], f[j])
			g.k[i][j], g.k[j][i] = v, v
		}
	}
	return g
}

// mmd2 is the unbiased MMD² estimate within the group under labels
// (cross-prompt pairs never enter: each group is one prompt).
func (g mmdGroup) mmd2(labels []bool) float64 {
	var sxx, syy, sxy float64
	nx, ny := 0, 0
	for _, l := range labels {
		if l {
			nx++
		} else {
			ny++
		}
	}
	for i := range labels {
		row := g.k[i]
		for j := i + 1; j < len(labels); j++ {
			switch {
			case labels[i] && labels[j]:
				sxx += row[j]
			case !labels[i] && !labels[j]:
				syy += row[j]
			default:
				sxy += row[j]
			}
		}
	}
	fx, fy := float64(nx), float64(ny)
	return 2*sxx/(fx*(fx-1)) + 2*syy/(fy*(fy-1)) - 2*sxy/(fx*fy)
}

// mmdPermutationTest returns the summed MMD² and its permutation p-value
// (labels shuffled within each prompt).
func mmdPermutationTest(groups []mmdGroup, perms int, seed int64) (float64, float64) {
	obs := 0.0
	for _, g := range groups {
		obs += g.mmd2(g.labels)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6169676973)) // "aigis"
	work := make([][]bool, len(groups))
	for i, g := range groups {
		work[i] = slices.Clone(g.labels)
	}
	ge := 0
	for range perms {
		s := 0.0
		for i, g := range groups {
			l := work[i]
			rng.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
			s += g.mmd2(l)
		}
		if s >= obs-1e-12 {
			ge++
		}
	}
	return obs, float64(1+ge) / float64(1+perms)
}
