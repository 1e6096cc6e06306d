package integrity

import "github.com/aigis-sec/aigis/finding"

// MITRE ATLAS ids used by the integrity rules.
const (
	atlasSupplyChainData = "AML.T0010.002" // ML Supply Chain Compromise: Data
	atlasPoison          = "AML.T0020"     // Poison Training Data
)

var dataAtlas = []string{atlasSupplyChainData, atlasPoison}

const (
	remUnhashed = "Ask the publisher for a hash of every item (img2dataset: --compute_hash sha256), " +
		"or download once, hash what you got and pin that manifest. Drop items whose hash differs at " +
		"download time instead of training on them."
	remMismatch = "Do not train on this item: drop it, or restore the copy that was published. " +
		"If many items changed, check whether their domains changed owner (split-view poisoning)."
)

// The rules of the integrity checks.
var (
	RuleURLUnhashed = finding.Rule{
		ID: "data-url-unhashed", Severity: finding.Medium,
		Title:       "Items are named by URL without an expected hash",
		Description: "The dataset lists items by URL, but some rows carry no hash of the content. The content behind a URL can change after the dataset is published (split-view poisoning: an expired domain is bought and serves new content), and without a hash nobody can tell.",
		ATLAS:       dataAtlas, Remediation: remUnhashed,
	}
	RuleURLInsecure = finding.Rule{
		ID: "data-url-insecure", Severity: finding.Low,
		Title:       "Items are downloaded over plain HTTP",
		Description: "Some URLs use http, not https: anyone on the network path can replace the content while it is downloaded. A hash next to the URL still detects this.",
		ATLAS:       dataAtlas, Remediation: "Download over https where the host supports it, and verify every item against its hash.",
	}
	RuleURLMismatch = finding.Rule{
		ID: "data-url-mismatch", Severity: finding.High,
		Title:       "The content behind a URL changed since the dataset was published",
		Description: "The bytes served at the URL do not match the hash published with the dataset: the item was replaced after curation, which is how split-view poisoning works.",
		ATLAS:       dataAtlas, Remediation: remMismatch,
	}
	RuleURLUnreachable = finding.Rule{
		ID: "data-url-unreachable", Severity: finding.Low,
		Title:       "Items could not be downloaded",
		Description: "Some URLs failed (HTTP error, timeout, connection refused). Their domains no longer resolving is worse (medium): an expired domain can be registered by anyone, who then serves whatever they want to the next download.",
		ATLAS:       dataAtlas, Remediation: "Drop the unreachable items, or restore them from a copy verified against the published hashes. Do not re-download from domains that changed owner.",
	}
	RuleURLTooLarge = finding.Rule{
		ID: "data-url-too-large", Severity: finding.Medium,
		Title:       "An item exceeded the download limit and was not verified",
		Description: "The content behind the URL is larger than the per-file limit, so its hash was not checked. The verification is incomplete.",
		ATLAS:       dataAtlas, Remediation: "Check the item by hand, or raise the limit if you expect files this large.",
	}
	RuleURLSampled = finding.Rule{
		ID: "data-url-sampled", Severity: finding.Info,
		Title:       "Only a sample of the URLs was verified",
		Description: "The dataset lists more hashed URLs than the download limit allows; an evenly spaced sample was verified. Poison can be as rare as 0.01 % of items, so a sample can miss it.",
		ATLAS:       dataAtlas, Remediation: "Raise the URL limit to verify every item, or verify the items as you download them for training.",
	}
	RuleCardMismatch = finding.Rule{
		ID: "data-card-mismatch", Severity: finding.Medium,
		Title:       "The data files do not match the dataset card",
		Description: "The dataset card declares a number of examples (or bytes) per split that differs from the data files: rows were added or removed after the card was written, or files were replaced.",
		ATLAS:       dataAtlas, Remediation: "Compare the files with the revision the card was written for (pin a commit), and find out which rows were added or removed before training on them.",
	}
)

// Rules lists every rule this package can emit.
func Rules() []finding.Rule {
	return []finding.Rule{
		RuleURLUnhashed, RuleURLInsecure, RuleURLMismatch, RuleURLUnreachable,
		RuleURLTooLarge, RuleURLSampled, RuleCardMismatch,
	}
}
