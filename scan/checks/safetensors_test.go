package checks

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/compress"
	"github.com/aigis-sec/aigis/format/pickle"
	"github.com/aigis-sec/aigis/format/safetensors"
	"github.com/google/go-cmp/cmp"
)

func safetensorsFile(header string, data int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(make([]byte, data))
	return b.Bytes()
}

func ruleCounts(fs []finding.Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.RuleID]++
	}
	return m
}

func TestCheckSafetensors(t *testing.T) {
	loc := finding.Location{Path: "m/model.safetensors"}
	for _, tc := range []struct {
		name   string
		header string
		data   int
		want   map[string]int
	}{
		{"clean", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}`, 8,
			map[string]int{"safetensors-inventory": 1}},
		{"polyglot tail", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 64,
			map[string]int{"safetensors-malformed": 1, "safetensors-inventory": 1}},
		{"duplicate and overlap", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8,
			map[string]int{"safetensors-malformed": 2, "safetensors-inventory": 1}},
		{"metadata", `{"__metadata__":{"format":"pt","n":{"a":1}}}`, 0,
			map[string]int{"safetensors-metadata": 1, "safetensors-inventory": 1}},
		{"leading space", ` {}`, 0, map[string]int{"safetensors-anomaly": 1, "safetensors-inventory": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := safetensorsFile(tc.header, tc.data)
			f, err := safetensors.Parse(bytes.NewReader(data), int64(len(data)), safetensors.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			got := CheckSafetensors(loc, f)
			if diff := cmp.Diff(tc.want, ruleCounts(got)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\n%+v", diff, got)
			}
			for _, g := range got {
				if g.Path != loc.Path || len(g.ATLAS) == 0 || g.Remediation == "" {
					t.Errorf("finding %+v", g)
				}
			}
		})
	}
}

// The committed real files must pass the default gate (high) clean.
func TestCheckSafetensorsCommittedFilesAreClean(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/models/benign/safetensors/*.safetensors")
	if len(files) == 0 {
		t.Fatal("no committed safetensors files")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Parse(bytes.NewReader(data), int64(len(data)), safetensors.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range CheckSafetensors(finding.Location{Path: name}, f) {
			if g.Severity > finding.Info {
				t.Errorf("%s: %s %s", name, g.RuleID, g.Message)
			}
		}
	}
}

func TestCheckSafetensorsCapsFindingsPerKind(t *testing.T) {
	f := &safetensors.File{}
	for i := 0; i < 50; i++ {
		f.Anomalies = append(f.Anomalies, safetensors.Anomaly{Kind: safetensors.KindHole, Detail: "hole"})
	}
	got := CheckSafetensors(finding.Location{Path: "x"}, f)
	if n := ruleCounts(got)["safetensors-malformed"]; n != modelPerKind+1 {
		t.Errorf("%d findings", n)
	}
}

func TestCheckSafetensorsIndex(t *testing.T) {
	idx, err := safetensors.ParseIndex([]byte(`{"weight_map":{"a":"../x.safetensors","b":"s1.safetensors","b":"s2.safetensors"}}`))
	if err != nil {
		t.Fatal(err)
	}
	problems := safetensors.CheckIndex(idx, func(string) bool { return false }, nil)
	got := CheckSafetensorsIndex(finding.Location{Path: "m/model.safetensors.index.json"}, idx, problems)
	want := map[string]int{"safetensors-index-path": 1, "safetensors-index-mismatch": 2}
	if diff := cmp.Diff(want, ruleCounts(got)); diff != "" {
		t.Errorf("rules (-want +got):\n%s\n%+v", diff, got)
	}
}

func TestModelRulesAreComplete(t *testing.T) {
	for _, r := range append(SafetensorsRules(), GGUFRules()...) {
		if r.ID == "" || r.Title == "" || r.Description == "" || r.Remediation == "" || len(r.ATLAS) == 0 {
			t.Errorf("incomplete rule %+v", r)
		}
	}
	var c Checker = SafetensorsChecker{}
	var g Checker = GGUFChecker{}
	if len(c.Rules()) != len(SafetensorsRules()) || len(g.Rules()) != len(GGUFRules()) {
		t.Error("checker rules differ")
	}
}

// Two committed files have header lengths whose first bytes are a pickle
// PROTO opcode (0x80 0x02) and a zlib header (0x78 0x01). The pickle and
// compress sniffers look further and reject them today; trying
// safetensors.Sniff before them keeps such files safetensors whatever those
// sniffers learn later.
func TestSafetensorsSniffOrder(t *testing.T) {
	for name, other := range map[string]func([]byte) bool{
		"header_len_looks_like_pickle_proto2.safetensors": pickle.Sniff,
		"header_len_looks_like_zlib.safetensors":          func(h []byte) bool { _, ok := compress.Sniff(h); return ok },
	} {
		data, err := os.ReadFile(filepath.Join("../../testdata/models/benign/safetensors", name))
		if err != nil {
			t.Fatal(err)
		}
		if !safetensors.Sniff(data, int64(len(data))) {
			t.Errorf("%s: safetensors.Sniff = false", name)
		}
		if other(data) {
			t.Logf("%s: another sniffer claims it too: sniff safetensors first", name)
		}
	}
}
