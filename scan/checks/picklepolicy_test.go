package checks

import (
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		module, name string
		sev          finding.Severity
		allowed      bool
		rule         string
	}{
		// Aliases and sub-modules reach the denied module.
		{"posix", "system", finding.Critical, false, "pickle-code-execution"},
		{"nt", "system", finding.Critical, false, "pickle-code-execution"},
		{"__builtin__", "eval", finding.Critical, false, "pickle-code-execution"},
		{"commands", "getoutput", finding.Critical, false, "pickle-code-execution"},
		{"asyncio.unix_events", "_UnixSubprocessTransport._start", finding.Critical, false, "pickle-code-execution"},
		// Dotted names are walked: pathlib.os.system is os.system.
		{"pathlib", "os.system", finding.Critical, false, "pickle-code-execution"},
		{"zipfile", "os.system", finding.Critical, false, "pickle-code-execution"},
		// ...but a module's own path is not: numpy.random._pickle is not pickle.
		{"numpy.random._pickle", "__randomstate_ctor", finding.Info, true, ""},
		{"torch.jit._pickle", "build_intlist", finding.Info, true, ""},
		// Nested deserialisation, resolvers, files, network.
		{"_pickle", "loads", finding.Critical, false, "pickle-nested-deserialization"},
		{"torch.storage", "_load_from_bytes", finding.Critical, false, "pickle-nested-deserialization"},
		{"pkgutil", "resolve_name", finding.High, false, "pickle-dynamic-resolution"},
		{"builtins", "getattr", finding.High, false, "pickle-dynamic-resolution"},
		{"_io", "FileIO", finding.High, false, "pickle-file-access"},
		{"ssl", "get_server_certificate", finding.High, false, "pickle-network"},
		{"requests.api", "get", finding.High, false, "pickle-network"},
		// Standard library not on the allow-list fails closed; third
		// party is medium.
		{"builtins", "print", finding.High, false, "pickle-stdlib-callable"},
		{"_pydecimal", "getcontext", finding.High, false, "pickle-stdlib-callable"},
		{"mylib.layers", "Custom", finding.Medium, false, "pickle-unknown-callable"},
		// What real models contain.
		{"torch._utils", "_rebuild_tensor_v2", finding.Info, true, ""},
		{"collections", "OrderedDict", finding.Info, true, ""},
		{"copy_reg", "_reconstructor", finding.Info, true, ""},
		{"numpy.core.multiarray", "_reconstruct", finding.Info, true, ""},
		{"sklearn.ensemble._forest", "RandomForestClassifier", finding.Info, true, ""},
		{"torch.nn.modules.linear", "Linear", finding.Info, true, ""},
		{"scipy.sparse._csr", "csr_matrix", finding.Info, true, ""},
		// Class namespaces allow classes, not functions or methods.
		{"sklearn.utils", "helper_function", finding.Medium, false, "pickle-unknown-callable"},
		{"torch.nn.modules.linear", "Linear.forward", finding.Medium, false, "pickle-unknown-callable"},
		// What checkpoints of training stacks carry: typing generics, enum
		// members by name, user classes of the training script.
		{"typing", "List", finding.Info, true, ""},
		{"typing", "get_type_hints", finding.High, false, "pickle-stdlib-callable"},
		{"_operator", "getitem", finding.Info, true, ""},
		{"re", "RegexFlag.IGNORECASE", finding.Info, true, ""},
		{"sklearn.utils._tags", "Tag.SOME_MEMBER", finding.Info, true, ""},
		{"__main__", "Net", finding.Medium, false, "pickle-unknown-callable"},
		{"types", "NoneType", finding.Info, true, ""},
		{"numpy.core._ufunc_reconstruct", "", finding.High, false, "pickle-dynamic-resolution"},
		// The deny-list wins over class namespaces.
		{"torch._dynamo.guards", "GuardBuilder.get", finding.Critical, false, "pickle-code-execution"},
	}
	for _, tt := range tests {
		v := Judge(tt.module, tt.name)
		if v.Severity != tt.sev || v.Allowed != tt.allowed || v.Rule.ID != tt.rule {
			t.Errorf("Judge(%q, %q) = %s allowed=%v rule=%q, want %s allowed=%v rule=%q",
				tt.module, tt.name, v.Severity, v.Allowed, v.Rule.ID, tt.sev, tt.allowed, tt.rule)
		}
	}
}

// Every deny-list entry says why, and no entry is also allowed.
func TestPolicyLists(t *testing.T) {
	for _, e := range denyList {
		if e.why == "" {
			t.Errorf("deny %s: no reason", e.pattern)
		}
		if _, ok := allowList[e.pattern]; ok {
			t.Errorf("%s is both denied and allowed", e.pattern)
		}
	}
	for name, why := range allowList {
		if why == "" {
			t.Errorf("allow %s: no reason", name)
		}
		if _, denied := denyMatch(name); denied {
			t.Errorf("allow %s is shadowed by the deny-list", name)
		}
	}
}
