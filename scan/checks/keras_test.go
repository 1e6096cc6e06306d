package checks

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/hdf5"
)

// kerasConfigs returns the configs the engine would hand to
// CheckKerasConfig for a fixture: the model_config and training_config
// attributes of a legacy .h5, or config.json of a .keras zip.
func kerasConfigs(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if strings.HasSuffix(path, ".keras") {
		z, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		for _, f := range z.File {
			if f.Name != "config.json" {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out["config.json"] = b
		}
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := hdf5.ReadRootAttributes(f, st.Size(), hdf5.DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, k := range []string{"model_config", "training_config"} {
		if a, ok := attrs[k]; ok {
			out[k+" attribute"] = []byte(a.Value)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no model_config", path)
	}
	return out
}

func checkKerasFile(t *testing.T, path string) []finding.Finding {
	var all []finding.Finding
	for src, cfg := range kerasConfigs(t, path) {
		all = append(all, CheckKerasConfig(finding.Location{Path: path}, src, cfg)...)
	}
	return all
}

func TestKerasFixturesBenign(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/keras/benign*")
	if len(files) < 5 {
		t.Fatalf("only %d benign fixtures", len(files))
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			for _, f := range checkKerasFile(t, p) {
				if f.Severity >= finding.Medium {
					t.Errorf("benign file flagged: %s %s %s %v", f.RuleID, f.Severity, f.Message, f.Evidence)
				}
			}
		})
	}
}

func TestKerasFixturesMalicious(t *testing.T) {
	want := map[string]struct{ rule, evidence string }{
		"malicious_lambda.h5":           {"keras-lambda", "lambda"},
		"malicious_popen.h5":            {"keras-unsafe-object", "subprocess.Popen"},
		"malicious_nested_lambda.h5":    {"keras-lambda", "hidden_lambda"},
		"malicious_popen.keras":         {"keras-unsafe-object", "subprocess.Popen"},
		"malicious_get_file.keras":      {"keras-gadget", "keras.utils.get_file"},
		"malicious_unsafe_deser.keras":  {"keras-gadget", "enable_unsafe_deserialization"},
		"malicious_lambda.keras":        {"keras-lambda", "lambda"},
		"malicious_torch_wrapper.keras": {"keras-torch-module", "TorchModuleWrapper"},
	}
	files, _ := filepath.Glob("../../testdata/keras/malicious*")
	if len(files) != len(want) {
		t.Fatalf("%d malicious fixtures, %d expected", len(files), len(want))
	}
	for _, p := range files {
		w, ok := want[filepath.Base(p)]
		if !ok {
			t.Errorf("no expectation for %s", p)
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			fs := checkKerasFile(t, p)
			for _, f := range fs {
				if f.RuleID != w.rule || f.Severity < finding.High {
					continue
				}
				for _, v := range f.Evidence {
					if strings.Contains(v, w.evidence) {
						if f.Evidence["path"] == "" && f.RuleID != "keras-yaml" {
							t.Errorf("finding without a JSON path: %v", f.Evidence)
						}
						return
					}
				}
				if strings.Contains(f.Message, w.evidence) {
					return
				}
			}
			t.Errorf("no %s finding ≥ high naming %q; got:", w.rule, w.evidence)
			for _, f := range fs {
				t.Logf("  %s %s %s %v", f.RuleID, f.Severity, f.Message, f.Evidence)
			}
		})
	}
}

func TestKerasNestedPathAndH5Note(t *testing.T) {
	fs := checkKerasFile(t, "../../testdata/keras/malicious_nested_lambda.h5")
	for _, f := range fs {
		if f.RuleID == "keras-lambda" && f.Evidence["layer"] == "hidden_lambda" {
			if got, want := f.Evidence["path"], "config.layers[1].config.layer.config.layers[2].config.function"; got != want {
				t.Errorf("path = %q, want %q", got, want)
			}
			if !strings.Contains(f.Message, "CVE-2025-9905") || f.Severity != finding.Critical {
				t.Errorf("message %q severity %s", f.Message, f.Severity)
			}
			return
		}
	}
	t.Fatalf("nested Lambda not found: %v", fs)
}

func TestKerasDenseAttributes(t *testing.T) {
	f, err := os.Open("../../testdata/keras/dense_attrs.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if _, err := hdf5.ReadRootAttributes(f, st.Size(), hdf5.DefaultLimits()); !errors.Is(err, hdf5.ErrDenseAttributes) {
		t.Fatalf("err = %v, want ErrDenseAttributes", err)
	}
}

func TestCheckKerasConfig(t *testing.T) {
	tests := []struct {
		name   string
		config string
		rule   string // "" = nothing at or above medium
		sev    finding.Severity
		want   string // substring of the message
	}{
		{"keras2 dense", `{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"name":"d","units":3,"activation":"relu","kernel_initializer":{"class_name":"GlorotUniform","config":{"seed":null}}}}]}}`, "", 0, ""},
		{"keras3 function", `{"module":"keras.activations","class_name":"function","config":"relu","registered_name":"function"}`, "", 0, ""},
		{"keras2 training", `{"loss":"mse","metrics":[[{"class_name":"MeanMetricWrapper","config":{"name":"acc","fn":"binary_accuracy"}}]],"optimizer_config":{"class_name":"Custom>Adam","config":{"name":"Adam"}}}`, "", 0, ""},
		{"keras_hub registered", `{"module":"keras_hub.src.models.bert.bert_backbone","class_name":"BertBackbone","config":{"name":"bert"},"registered_name":"keras_hub>BertBackbone"}`, "", 0, ""},
		{"popen", `{"module":"keras.models","class_name":"Functional","config":{"layers":[{"module":"subprocess","class_name":"Popen","config":{"name":"x","args":["id"]}}]}}`, "keras-unsafe-object", finding.Critical, "subprocess.Popen"},
		{"os.system function", `{"class_name":"Dense","config":{"name":"d","activation":{"module":"os","class_name":"function","config":"system","registered_name":"system"}}}`, "keras-unsafe-object", finding.Critical, "os.system"},
		{"stdlib not allowed", `{"module":"shutil","class_name":"rmtree","config":{}}`, "keras-unsafe-object", finding.High, "shutil.rmtree"},
		{"third party", `{"module":"my_layers","class_name":"Fancy","config":{"name":"fancy"}}`, "keras-custom-object", finding.Medium, "my_layers.Fancy"},
		{"custom registered", `{"class_name":"Fancy","config":{"name":"fancy"},"registered_name":"acme>Fancy"}`, "keras-custom-object", finding.Medium, "acme>Fancy"},
		{"fn_module", `{"class_name":"MeanMetricWrapper","config":{"name":"m","fn":"system","fn_module":"os"}}`, "keras-unsafe-object", finding.Critical, "os.system"},
		{"lambda named function", `{"class_name":"Lambda","config":{"name":"l","function":"system","function_type":"function","module":"os"}}`, "keras-lambda", finding.Critical, "os.system"},
		{"lambda user function", `{"class_name":"Lambda","config":{"name":"l","function":"preprocess","function_type":"function","module":"__main__"}}`, "keras-lambda", finding.High, "__main__.preprocess"},
		{"tf py_function", `{"class_name":"TFOpLambda","config":{"name":"tf.py_function","function":"py_function"}}`, "keras-tfop", finding.Critical, "py_function"},
		{"tf write_file", `{"class_name":"TFOpLambda","config":{"name":"w","function":"io.write_file"}}`, "keras-tfop", finding.High, "io.write_file"},
		{"tf not tf", `{"class_name":"TFOpLambda","config":{"name":"w","function":"subprocess.run"}}`, "keras-tfop", finding.High, "subprocess.run"},
		{"tf math", `{"class_name":"TFOpLambda","config":{"name":"tf.math.add","function":"math.add"}}`, "", 0, ""},
		{"get_file class", `{"module":"keras.utils","class_name":"get_file","config":{"origin":"http://x"}}`, "keras-gadget", finding.High, "get_file"},
		{"unsafe deser", `[{"module":"keras.config","class_name":"function","config":"enable_unsafe_deserialization"}]`, "keras-gadget", finding.Critical, "safe_mode"},
		{"yaml", "class_name: Sequential\nconfig: !!python/object/apply:os.system [\"id\"]\n", "keras-yaml", finding.Critical, "yaml.unsafe_load"},
		{"not json", "class_name: Sequential\n", "scan-unreadable", finding.Medium, "not valid JSON"},
		{"deep", strings.Repeat("[", 300) + strings.Repeat("]", 300), "scan-limit", finding.Medium, "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := CheckKerasConfig(finding.Location{Path: "m.h5"}, "model_config attribute", []byte(tc.config))
			if tc.rule == "" {
				for _, f := range fs {
					if f.Severity >= finding.Medium {
						t.Errorf("unexpected %s %s: %s", f.RuleID, f.Severity, f.Message)
					}
				}
				return
			}
			for _, f := range fs {
				if f.RuleID == tc.rule && f.Severity == tc.sev && strings.Contains(f.Message, tc.want) {
					return
				}
			}
			t.Errorf("want %s %s with %q; got:", tc.rule, tc.sev, tc.want)
			for _, f := range fs {
				t.Logf("  %s %s %s", f.RuleID, f.Severity, f.Message)
			}
		})
	}
}

func TestKerasRulesDeclared(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range KerasRules() {
		if ids[r.ID] || len(r.ATLAS) == 0 || r.Remediation == "" {
			t.Errorf("rule %s duplicated or incomplete", r.ID)
		}
		ids[r.ID] = true
	}
}

// FuzzCheckKerasConfig: any bytes give findings without a panic, and every
// finding names a declared rule.
func FuzzCheckKerasConfig(f *testing.F) {
	f.Add([]byte(`{"class_name":"Lambda","config":{"name":"l","function":["YQ==",null,null],"function_type":"lambda"}}`))
	f.Add([]byte(`{"module":"subprocess","class_name":"Popen","config":{}}`))
	f.Add([]byte(`{"class_name":"TFOpLambda","config":{"function":"io.write_file"}}`))
	f.Add([]byte("a: !!python/object:os.system\n"))
	known := map[string]bool{RuleLimit.ID: true, RuleUnreadable.ID: true}
	for _, r := range KerasRules() {
		known[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fd := range CheckKerasConfig(finding.Location{Path: "f"}, "config.json", data) {
			if !known[fd.RuleID] {
				t.Fatalf("undeclared rule %s", fd.RuleID)
			}
		}
	})
}

func TestKerasChecker(t *testing.T) {
	var c Checker = KerasChecker{}
	if !c.Accepts(KindKeras) || !c.Accepts(KindKerasH5) || c.Accepts("pickle") {
		t.Fatal("Accepts")
	}
	fs := c.Check(&Artifact{Kind: KindKerasH5, Text: []byte(`{"module":"os","class_name":"system","config":{}}`)})
	if len(fs) == 0 || fs[0].Severity != finding.Critical || !strings.Contains(fs[0].Message, "CVE-2025-9905") {
		t.Fatalf("got %v", fs)
	}
}

func BenchmarkCheckKerasConfigBig(b *testing.B) {
	f, err := os.Open("../../testdata/keras/benign_big.h5")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	attrs, err := hdf5.ReadRootAttributes(f, st.Size(), hdf5.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	cfg := []byte(attrs["model_config"].Value)
	b.SetBytes(int64(len(cfg)))
	b.ReportAllocs()
	for b.Loop() {
		CheckKerasConfig(finding.Location{Path: "m.h5"}, "model_config attribute", cfg)
	}
}
