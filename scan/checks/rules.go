package checks

import "github.com/aigis-sec/aigis/finding"

// MITRE ATLAS ids used by the scan rules.
const (
	atlasSupplyChainModel  = "AML.T0010.003" // ML Supply Chain Compromise: Model
	atlasUserExecMalicious = "AML.T0011.000" // User Execution: Unsafe ML Artifacts
	atlasBackdoorModel     = "AML.T0018"     // Manipulate AI Model
	atlasEvade             = "AML.T0015"     // Evade ML Model (here: evade the scanner)
)

const (
	remPickle = "Do not load this file. If you need the weights, ask the publisher for a safetensors copy, " +
		"or load it in an isolated sandbox with torch.load(weights_only=True). Report the repository to the hub."
	remUnknown = "Check that you trust the module named: loading imports it and calls it. " +
		"Prefer safetensors, or load with torch.load(weights_only=True) and an explicit allow-list."
	remMalformed = "Do not load this file: Python's loader runs everything before the break, and the break " +
		"hides the rest from scanners. Re-download it from a trusted source and compare hashes."
	remLimit = "The file exceeded a scan limit, so part of it was not analysed. Treat it as unscanned; " +
		"raise the limit only for files you have reason to trust."
	remContainer = "Do not load this file: the archive is malformed in a way used to hide payloads from scanners. " +
		"Re-download it from a trusted source and compare hashes."
)

var pickleAtlas = []string{atlasUserExecMalicious, atlasSupplyChainModel}

// The rules of the pickle and container checks.
var (
	RulePickleExec = finding.Rule{
		ID: "pickle-code-execution", Severity: finding.Critical,
		Title:       "Loading runs code or commands",
		Description: "The pickle makes the loader call a function that executes code, runs a command, starts a process or constructs code objects.",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleNested = finding.Rule{
		ID: "pickle-nested-deserialization", Severity: finding.Critical,
		Title:       "Loading deserialises a second payload",
		Description: "The pickle hands bytes to another deserialiser (pickle.loads, torch.load, numpy.load…), a second stage that escapes a scanner reading only the outer stream. The inner payload is analysed and reported too.",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleFile = finding.Rule{
		ID: "pickle-file-access", Severity: finding.High,
		Title:       "Loading reads, writes or deletes files",
		Description: "The pickle makes the loader call a function that opens, writes, copies or deletes files.",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleNetwork = finding.Rule{
		ID: "pickle-network", Severity: finding.High,
		Title:       "Loading opens network connections",
		Description: "The pickle makes the loader call a function that connects to a host (exfiltration, second-stage download, DNS beacons).",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleResolver = finding.Rule{
		ID: "pickle-dynamic-resolution", Severity: finding.High,
		Title:       "Loading reaches names that cannot be resolved statically",
		Description: "The pickle uses a resolver (getattr, importlib, pkgutil.resolve_name, operator.attrgetter/methodcaller, extension codes) or computes a callable at load time; one such resolver reaches every dangerous function.",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleStdlib = finding.Rule{
		ID: "pickle-stdlib-callable", Severity: finding.High,
		Title:       "Loading calls a standard-library function that models do not need",
		Description: "The callable is in the Python standard library but not on the allow-list of what real models contain. New gadgets keep being found in the standard library, so aigis fails closed.",
		ATLAS:       pickleAtlas, Remediation: remPickle,
	}
	RulePickleUnknown = finding.Rule{
		ID: "pickle-unknown-callable", Severity: finding.Medium,
		Title:       "Loading imports and calls a third-party or user module",
		Description: "The callable is neither allowed nor denied: typically a custom class in a whole-model pickle. Loading imports its module, which may run code.",
		ATLAS:       pickleAtlas, Remediation: remUnknown,
	}
	RulePickleMalformed = finding.Rule{
		ID: "pickle-malformed", Severity: finding.High,
		Title:       "The pickle is broken after content that a loader executes",
		Description: "The stream breaks before its end (truncated, invalid opcode, missing memo entry). Python's loader executes everything before the break; scanners that give up on broken files report them clean (nullifAI).",
		ATLAS:       []string{atlasUserExecMalicious, atlasEvade}, Remediation: remMalformed,
	}
	RulePickleAnomaly = finding.Rule{
		ID: "pickle-anomaly", Severity: finding.Low,
		Title:       "The pickle has a structure that normal writers do not produce",
		Description: "A PROTO in the middle of a stream, an opcode straddling a frame, or data after the last pickle: signs of hand-crafting that tools disagree on.",
		ATLAS:       []string{atlasEvade}, Remediation: "Check where the file came from; regenerate it with the library that made it.",
	}
	RulePickleFormat = finding.Rule{
		ID: "pickle-format", Severity: finding.Info,
		Title:       "The model is stored as a pickle",
		Description: "Pickle-based formats can run code when loaded; every callable in this one is on the allow-list.",
		ATLAS:       []string{atlasUserExecMalicious}, Remediation: "Prefer safetensors for weights, and torch.load(weights_only=True) for pickles you must load.",
	}
	RuleArchiveTampered = finding.Rule{
		ID: "archive-tampered", Severity: finding.High,
		Title:       "The archive is malformed in a way used to hide payloads",
		Description: "A bad CRC, unusual flag bits, local and central headers that disagree, overlapping members or a missing central directory: Python's zipfile refuses such archives and scanners skip them, while PyTorch loads them (CVE-2025-10156, CVE-2025-1945, CVE-2025-1944).",
		ATLAS:       []string{atlasSupplyChainModel, atlasEvade}, Remediation: remContainer,
	}
	RuleArchivePath = finding.Rule{
		ID: "archive-path-traversal", Severity: finding.High,
		Title:       "An archive member would be written outside the extraction folder",
		Description: "A member name is absolute or climbs out with '..' (tar slip, zip slip): extracting the archive overwrites files elsewhere.",
		ATLAS:       []string{atlasSupplyChainModel}, Remediation: "Do not extract this archive; if you must, use an extractor that rejects such names.",
	}
	RuleLinkOutside = finding.Rule{
		ID: "link-outside-tree", Severity: finding.High,
		Title:       "A link points outside the scanned folder",
		Description: "A symbolic link in a model repository or archive leads outside it: loading the model reads (or writing it overwrites) a file the repository does not contain, such as a credential or a system file. aigis does not follow it.",
		ATLAS:       []string{atlasSupplyChainModel}, Remediation: "Do not load the model from this folder; replace the link with the file it should contain, or remove it.",
	}
	RuleEncrypted = finding.Rule{
		ID: "archive-encrypted", Severity: finding.Medium,
		Title:       "An encrypted member cannot be scanned",
		Description: "The member is encrypted, so its content could not be analysed. The scan is incomplete.",
		ATLAS:       []string{atlasEvade}, Remediation: "Decrypt the archive and scan its content before use.",
	}
	RuleLimit = finding.Rule{
		ID: "scan-limit", Severity: finding.Medium,
		Title:       "A scan limit was reached",
		Description: "A size, count, depth, ratio or opcode limit was reached, so part of the input was not analysed. The scan is incomplete: treat the file as unscanned.",
		ATLAS:       []string{atlasEvade}, Remediation: remLimit,
	}
	RuleUnreadable = finding.Rule{
		ID: "scan-unreadable", Severity: finding.Medium,
		Title:       "A file or member could not be read",
		Description: "An I/O error, an unsupported compression method or a corrupt container stopped the analysis of this input. The scan is incomplete.",
		ATLAS:       []string{atlasEvade}, Remediation: "Check the file; re-download it and scan it again.",
	}
)
