package signals

import "github.com/aigis-sec/aigis/finding"

// MITRE ATLAS ids used by the data rules.
const (
	atlasPoison      = "AML.T0020"     // Poison Training Data
	atlasPublishPois = "AML.T0019"     // Publish Poisoned Datasets
	atlasSupplyData  = "AML.T0010.002" // ML Supply Chain Compromise: Data
	atlasCredentials = "AML.T0055"     // Unsecured Credentials
	atlasLeakage     = "AML.T0057"     // LLM Data Leakage
	atlasMembership  = "AML.T0024.000" // Infer Training Data Membership
	atlasEvade       = "AML.T0015"     // Evade ML Model (hidden characters)
)

const remReview = "Review the rows named in the evidence: this is a statistical signal, not a verdict. " +
	"Remove or relabel rows that do not belong, and keep a baseline (--baseline) of the reviewed version."

// The rules of the dataset signals.
var (
	RuleTriggerToken = finding.Rule{ID: "data-trigger-token", Severity: finding.High,
		Title:       "A token predicts one label far more than chance (possible backdoor trigger)",
		Description: "Insertion backdoors (BadNets-style rare tokens such as \"cf\", \"mn\", \"bb\", or fixed phrases) put a token on a few rows and flip their label; the token then almost always carries that label. Z-defence (He et al., EMNLP 2023) finds them by the z-score of the token's label count against the label's base rate.",
		ATLAS:       []string{atlasPoison, atlasPublishPois}, Remediation: remReview}
	RuleConflictingDuplicate = finding.Rule{ID: "data-conflicting-duplicate", Severity: finding.High,
		Title:       "Identical texts carry different labels",
		Description: "The same (normalised) text appears with two or more labels: label-flip poisoning or annotation errors; either way the model is taught a contradiction.",
		ATLAS:       []string{atlasPoison}, Remediation: remReview}
	RuleNearDuplicate = finding.Rule{ID: "data-near-duplicate", Severity: finding.Low,
		Title:       "Clusters of near-duplicate rows",
		Description: "MinHash over word 3-shingles estimates Jaccard similarity; repeated or lightly edited rows are how spam and poison are injected at scale (Lee et al. 2022), and they leak test data into training.",
		ATLAS:       []string{atlasPoison}, Remediation: remReview}
	RuleLabelShift = finding.Rule{ID: "data-label-shift", Severity: finding.Medium,
		Title:       "The label distribution changed since the baseline",
		Description: "A shift of label proportions between a trusted version and this one is what bulk label flipping or injected rows look like.",
		ATLAS:       []string{atlasPoison, atlasSupplyData}, Remediation: remReview}
	RuleRowsChanged = finding.Rule{ID: "data-rows-changed", Severity: finding.Medium,
		Title:       "Rows were added, removed or changed since the baseline",
		Description: "Rows whose content hash is not in the trusted baseline (and baseline rows that are gone). Silent replacement of rows is how split-view and frontrunning poisoning land (Carlini et al. 2024).",
		ATLAS:       []string{atlasSupplyData, atlasPoison}, Remediation: "Diff the rows named in the evidence against the trusted version and find out who changed them."}
	RuleUnicodeAnomaly = finding.Rule{ID: "data-unicode-anomaly", Severity: finding.Medium,
		Title:       "Cells hold invisible characters, mixed-script words or enormous values",
		Description: "Zero-width and bidi control characters and Cyrillic/Greek look-alikes inside Latin words are invisible to a reviewer but not to a tokenizer: they make triggers a human cannot see and evade filters.",
		ATLAS:       []string{atlasPoison, atlasEvade}, Remediation: "Normalise text (NFKC, strip format characters) before training, and review the rows named."}
	RuleLengthOutlier = finding.Rule{ID: "data-length-outlier", Severity: finding.Low,
		Title:       "Cells far longer than the rest of their column",
		Description: "A cell ten times longer than the 99.9th percentile of its column is often pasted content, a payload or a parsing error.",
		ATLAS:       []string{atlasPoison}, Remediation: "Look at the rows named; truncate or drop them if they are not real data."}
	RuleSecret = finding.Rule{ID: "data-secret", Severity: finding.High,
		Title:       "Credentials in dataset cells",
		Description: "API keys, tokens and private keys in training data are public to everyone who downloads it, and models trained on it can repeat them.",
		ATLAS:       []string{atlasCredentials, atlasLeakage}, Remediation: "Revoke the credentials, then remove them from the data (aigis data --redact OUT writes a masked copy) and from the repository history."}
	RulePII = finding.Rule{ID: "data-pii", Severity: finding.Medium,
		Title:       "Personal data in dataset cells",
		Description: "E-mail addresses, phone numbers, payment card numbers, IBANs and national ids (validated by their checksums) in training data can be extracted from the model and identify people.",
		ATLAS:       []string{atlasLeakage, atlasMembership}, Remediation: "Remove or mask the values (aigis data --redact OUT) unless there is a legal basis to train on them (AML.M0007 Sanitize Training Data)."}
	RuleIncomplete = finding.Rule{ID: "data-analysis-incomplete", Severity: finding.Info,
		Title:       "A memory bound of the dataset analysis was reached",
		Description: "The analysis keeps bounded memory; past a bound some signals cover only part of the rows. The evidence says which.",
		Remediation: "Raise the bound (more memory) or split the dataset."}
)

// Rules lists the rules the analyser emits.
func Rules() []finding.Rule {
	return []finding.Rule{RuleTriggerToken, RuleConflictingDuplicate, RuleNearDuplicate, RuleLabelShift, RuleRowsChanged,
		RuleUnicodeAnomaly, RuleLengthOutlier, RuleSecret, RulePII, RuleIncomplete}
}
