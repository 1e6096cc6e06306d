// Package probe asks two questions of a hosted model endpoint, through the
// [model.Model] interface, without access to its weights:
//
//   - Has the model behind it changed without notice? [Record] stores a
//     [Baseline]: metadata canaries (the returned model string, the system
//     fingerprint, the prompt token counts of fixed prompts, which move when
//     the tokenizer or the prompt template changes), answers to short
//     deterministic prompts repeated Options.Runs times at temperature 0 (the
//     repeats measure the endpoint's own nondeterminism), and Options.Samples
//     answers per open-ended prompt at temperature 1. [Check] repeats the
//     probes and compares: a canary change is decisive; deterministic answers
//     are tested against the baseline's measured noise with a binomial test;
//     the sampled answers go through a permutation test of the maximum mean
//     discrepancy (MMD²) over character 3-gram features, prompt by prompt, as
//     in Model Equality Testing (Gao, Liang, Guestrin; ICLR 2025). The verdict
//     is "changed", "unchanged" or "inconclusive", never "substituted": a
//     change may be a new model, quantisation, a system prompt or
//     post-processing.
//
//   - Does it react to a backdoor trigger? [Triggers] inserts candidate
//     triggers from published backdoor attacks into benign prompts and
//     compares the answers with those for random control strings of the same
//     shape: target-string appearance, refusals, length, similarity to the
//     answer without insertion, collapse onto one answer across prompts and
//     label flips. Each candidate gets a p-value; the Benjamini–Hochberg
//     procedure controls the false discovery rate over candidates. This
//     screens only the candidates it is given: a backdoor with an unknown
//     trigger passes unnoticed, and a clean result is no proof of a clean
//     model.
//
// A baseline is a versioned JSON document ([WriteBaseline], [ReadBaseline]),
// so it can be signed with aigis sign and verified before a check.
//
// ATLAS: AML.T0018 Manipulate AI Model, AML.T0010.003 (Model); mitigations
// AML.M0008 Validate AI Model, AML.M0024 AI Telemetry Logging.
package probe
