package checks

import "github.com/aigis-sec/aigis/finding"

// MITRE ATLAS ids used by the dependency rules (ATLAS.yaml 5.6).
const (
	atlasSupplyChainSoftware = "AML.T0010.001" // AI Supply Chain Compromise: AI Software
	atlasMaliciousPackage    = "AML.T0011.001" // User Execution: Malicious Package
	atlasHallucinated        = "AML.T0060"     // Publish Hallucinated Entities
)

// The rules of the dependency checks.
var (
	RuleMalicious = finding.Rule{
		ID: "dep-malicious", Severity: finding.Critical,
		Title:       "A dependency is a known malicious package",
		Description: "OSV lists this package (or this version) as malicious (a MAL- report from OpenSSF malicious-packages): installing it runs the attacker's code, usually from setup.py or at import.",
		ATLAS:       []string{atlasMaliciousPackage, atlasSupplyChainSoftware},
		Remediation: "Remove the dependency, do not install it anywhere, and treat machines where it was installed as compromised (rotate credentials they held). Check the spelling of the name you meant.",
	}
	RuleVulnerable = finding.Rule{
		ID: "dep-vulnerable", Severity: finding.High,
		Title:       "A dependency has a known vulnerability",
		Description: "OSV lists an advisory (PYSEC, GHSA, CVE) affecting the version this project installs. High when the CVSS base score is 7 or more or unknown, medium below.",
		ATLAS:       []string{atlasSupplyChainSoftware},
		Remediation: "Upgrade to a fixed version (listed in the finding) and regenerate the lock file; if no fix exists, check whether the vulnerable code path is reachable and track the advisory.",
	}
	RuleTyposquat = finding.Rule{
		ID: "dep-typosquat", Severity: finding.High,
		Title:       "A dependency's name imitates a popular package",
		Description: "The name differs from a popular package by a typo (one or two edits, a swapped pair, a keyboard or look-alike character such as rn/m, l/1, 0/o), a missing or extra separator, reordered words, or an affix such as python-/py/-lib. Typosquats install malware under a near-identical name.",
		ATLAS:       []string{atlasMaliciousPackage, atlasSupplyChainSoftware},
		Remediation: "Check that you meant this package and not the popular one named in the finding; fix the name, or if it is intended, pin it by hash after reviewing it.",
	}
	RuleHallucinated = finding.Rule{
		ID: "dep-hallucinated", Severity: finding.High,
		Title:       "A dependency does not exist, or has the shape of a hallucinated name",
		Description: "The package is not in the registry (absent from the snapshot, or 404 on PyPI), or follows the <popular>-cli/-sdk/-api/-tools pattern that code assistants invent (huggingface-cli). Attackers register such names (slopsquatting), so the next install gets their code.",
		ATLAS:       []string{atlasHallucinated, atlasMaliciousPackage, atlasSupplyChainSoftware},
		Remediation: "Find the real package that provides what you need (its documentation names it) and depend on that; never install a name suggested by an assistant without checking it exists and is the project you expect.",
	}
	RuleNewPackage = finding.Rule{
		ID: "dep-new-package", Severity: finding.Medium,
		Title:       "A dependency is brand new or barely released",
		Description: "PyPI shows its first release less than 30 days ago, or at most 2 releases. New, obscure packages are how typosquats and slopsquats appear.",
		ATLAS:       []string{atlasHallucinated, atlasMaliciousPackage, atlasSupplyChainSoftware},
		Remediation: "Review the project (maintainers, repository, code) before depending on it, and pin it by version and hash.",
	}
	RuleIndex = finding.Rule{
		ID: "dep-index", Severity: finding.High,
		Title:       "Packages may come from an unsafe or ambiguous index",
		Description: "An extra index (pip --extra-index-url, uv unsafe-best-match/unsafe-first-match) lets a public package with the same name as a private one win (dependency confusion, as with torchtriton in the PyTorch nightly index); a plain-http index or --trusted-host lets the network rewrite packages; credentials in an index URL leak with the file.",
		ATLAS:       []string{atlasSupplyChainSoftware},
		Remediation: "Use a single index (a proxy that serves both private and public packages), or pin private packages to their index (uv: [tool.uv.sources] with explicit indexes and the default first-index strategy). Use https only, never --trusted-host, and pass credentials through the environment or a keyring.",
	}
	RuleUnpinned = finding.Rule{
		ID: "dep-unpinned", Severity: finding.Medium,
		Title:       "A dependency is not pinned to an exact version",
		Description: "Without == the installed version changes over time, so a compromised or broken release is picked up silently. Medium in requirements files, low in pyproject.toml/setup.cfg, where ranges are normal and a lock file should pin.",
		ATLAS:       []string{atlasSupplyChainSoftware},
		Remediation: "Pin exact versions in a lock file (uv lock, poetry lock, pip-compile --generate-hashes) and install from it.",
	}
	RuleUnhashed = finding.Rule{
		ID: "dep-unhashed", Severity: finding.Low,
		Title:       "A pinned dependency has no hash",
		Description: "Other entries of the file carry --hash (pip then checks every package and fails on this one), or a lock entry has no hash: the file does not protect against a replaced artefact.",
		ATLAS:       []string{atlasSupplyChainSoftware},
		Remediation: "Regenerate the file with hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes, uv lock) and install with --require-hashes.",
	}
	RuleVCSUnpinned = finding.Rule{
		ID: "dep-vcs-unpinned", Severity: finding.Medium,
		Title:       "A dependency comes from a VCS or URL that is not pinned",
		Description: "A git/hg reference without a full commit id (a branch or tag can move), or a download URL without a #sha256= hash, installs whatever the remote serves today.",
		ATLAS:       []string{atlasSupplyChainSoftware},
		Remediation: "Pin VCS dependencies to a full commit id (git+https://…@<40-hex>) and URL dependencies with #sha256=<hash>, or publish the package to your index.",
	}
	RuleLockSource = finding.Rule{
		ID: "dep-lock-source", Severity: finding.Medium,
		Title:       "A lock entry comes from an unexpected index or URL",
		Description: "The lock file records a source that is neither PyPI nor an index the project declares, or a plain-http source: the lock may have been generated against a rogue index or edited.",
		ATLAS:       []string{atlasSupplyChainSoftware, atlasMaliciousPackage},
		Remediation: "Check where this package should come from, declare that index in the project, and regenerate the lock file from trusted indexes only.",
	}
)

// Rules returns every rule the dependency checks can emit.
func Rules() []finding.Rule {
	return []finding.Rule{
		RuleMalicious, RuleVulnerable, RuleTyposquat, RuleHallucinated, RuleNewPackage,
		RuleIndex, RuleUnpinned, RuleUnhashed, RuleVCSUnpinned, RuleLockSource,
	}
}
