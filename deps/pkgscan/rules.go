package pkgscan

import (
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/scan/checks"
)

// MITRE ATLAS ids of a malicious dependency.
const (
	atlasSupplyChainSoftware = "AML.T0010.001" // ML Supply Chain Compromise: AI Software
	atlasMaliciousPackage    = "AML.T0011.001" // User Execution: Malicious Package
)

var pkgAtlas = []string{atlasSupplyChainSoftware, atlasMaliciousPackage}

const (
	remMalicious = "Do not install this package. Remove it where it is installed, rotate any credentials the machine " +
		"held (SSH keys, cloud and registry tokens, environment variables), and report it to the package index " +
		"(PyPI: the \"Report project as malware\" link)."
	remReview = "Review the code before installing or importing the package; pin the version by hash " +
		"(pip --require-hashes) once reviewed, and prefer a wheel from a publisher you trust."
	remBinary = "Find out what the executable is for and who built it; do not install packages that carry " +
		"programs their source does not build. Compiled extensions belong in platform wheels built by the publisher."
	remMetadata = "Check that the package is the project you meant to install: compare its name, home page and " +
		"repository with the index page and the project's own site."
)

// The rules of the package scanner. GuardDog (DataDog, Apache-2.0) names the
// same families: cmd-overwrite and code-execution in setup.py, exec-base64,
// download-executable, exfiltrate-sensitive-data, dns-exfiltration,
// bundled-binary, metadata mismatches.
var (
	RuleInstallHook = finding.Rule{
		ID: "pkg-install-hook", Severity: finding.Critical,
		Title:       "setup.py replaces an install command with its own code",
		Description: "setup(cmdclass={'install': …}) or a subclass of setuptools' install, develop, egg_info or build command: pip runs that class when it installs the sdist, before the user ever imports the package. It is the most common way malicious packages run their payload (GuardDog: cmd-overwrite).",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RuleSetupCode = finding.Rule{
		ID: "pkg-setup-code-execution", Severity: finding.Critical,
		Title:       "setup.py runs commands, network calls or code at install time",
		Description: "Code at module level of setup.py runs whenever pip builds or installs the sdist: a command, a download, exec of a payload or a file write there runs with the installing user's rights (GuardDog: code-execution, download-executable).",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RulePthExec = finding.Rule{
		ID: "pkg-pth-exec", Severity: finding.High,
		Title:       "A .pth file runs code whenever Python starts",
		Description: "site.py executes every line of a site-packages .pth file that starts with `import`: the code runs at every interpreter start, in every program, without the package being imported. Critical when the line runs commands, network calls or exec.",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RuleExecAtImport = finding.Rule{
		ID: "pkg-exec-at-import", Severity: finding.Critical,
		Title:       "Importing the package runs commands or code",
		Description: "A module runs a command, native code, exec/eval or a deserialiser when it is imported (module level, or a function that module level calls).",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RuleNetworkAtImport = finding.Rule{
		ID: "pkg-network-at-import", Severity: finding.High,
		Title:       "Importing the package opens network connections",
		Description: "A module opens a connection when it is imported: a second stage is downloaded or data is sent out before any function of the package is used.",
		ATLAS:       pkgAtlas, Remediation: remReview,
	}
	RuleFileWriteAtImport = finding.Rule{
		ID: "pkg-file-write-at-import", Severity: finding.High,
		Title:       "Importing the package writes or deletes files",
		Description: "A module writes, moves or deletes files when it is imported: persistence, or overwriting other code.",
		ATLAS:       pkgAtlas, Remediation: remReview,
	}
	RuleObfuscation = finding.Rule{
		ID: "pkg-obfuscation", Severity: finding.Critical,
		Title:       "The package executes decoded or downloaded code",
		Description: "exec, eval or compile of base64/hex/zlib/marshal-decoded or downloaded code: the way payloads are hidden from reviewers (GuardDog: exec-base64, obfuscation). Constant payloads are decoded and what they call is reported.",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RuleExfiltration = finding.Rule{
		ID: "pkg-exfiltration", Severity: finding.Critical,
		Title:       "The package sends data or a shell to someone else",
		Description: "A reverse shell (a socket handed to a shell), DNS lookups of names built from data, or credentials (~/.ssh, ~/.aws/credentials, browser profiles, the environment) read in a file that also makes network calls (GuardDog: exfiltrate-sensitive-data, dns-exfiltration, silent-process-execution).",
		ATLAS:       pkgAtlas, Remediation: remMalicious,
	}
	RuleBundledBinary = finding.Rule{
		ID: "pkg-bundled-binary", Severity: finding.High,
		Title:       "The package carries an executable",
		Description: "An ELF, PE or Mach-O program, or a shell script that pipes a download into a shell. Programs in a source distribution or outside a compiled extension are not built from the reviewed source (GuardDog: bundled-binary). Compiled extension modules (.so, .pyd) in platform wheels and installed packages are expected and reported as info.",
		ATLAS:       pkgAtlas, Remediation: remBinary,
	}
	RuleMetadata = finding.Rule{
		ID: "pkg-metadata", Severity: finding.Medium,
		Title:       "The package metadata does not match the package",
		Description: "The name in METADATA/PKG-INFO differs from the file or folder name, the home page is on another domain than the project URLs, or a package with no description overrides the install command: signs of a re-uploaded or impersonating package.",
		ATLAS:       pkgAtlas, Remediation: remMetadata,
	}
	RuleCapability = finding.Rule{
		ID: "pkg-capability", Severity: finding.Low,
		Title:       "The package can run commands or use the network when its functions are called",
		Description: "Calls of commands, network, file writes or dynamic code inside functions that nothing runs at import or install time. Ordinary for many packages; listed so a reviewer knows where to look.",
		ATLAS:       pkgAtlas, Remediation: remReview,
	}
)

// Rules lists every rule Scan can emit.
func Rules() []finding.Rule {
	return []finding.Rule{RuleInstallHook, RuleSetupCode, RulePthExec, RuleExecAtImport, RuleNetworkAtImport,
		RuleFileWriteAtImport, RuleObfuscation, RuleExfiltration, RuleBundledBinary, RuleMetadata, RuleCapability,
		checks.RuleLimit, checks.RuleUnreadable}
}
