package onnx

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/format/internal/protowire"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// Protobuf encoders for hostile inputs built byte by byte.

func varint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func tag(num, wire int) []byte { return varint(uint64(num)<<3 | uint64(wire)) }

func vfield(num int, v uint64) []byte { return append(tag(num, protowire.Varint), varint(v)...) }

func bfield(num int, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(append(tag(num, protowire.Bytes), varint(uint64(len(body)))...), body...)
}

func str(num int, s string) []byte { return bfield(num, []byte(s)) }

// node is a NodeProto of the given type and domain with extra fields.
func node(typ, domain string, extra ...[]byte) []byte {
	return bfield(1, append([][]byte{str(4, typ), str(7, domain)}, extra...)...)
}

// model is a ModelProto with IR version 8, opset 13 and graph fields.
func model(graph ...[]byte) []byte {
	return bytes.Join([][]byte{vfield(1, 8), bfield(8, str(1, ""), vfield(2, 13)), bfield(7, graph...)}, nil)
}

// externalTensor is an initializer whose bytes are at location.
func externalTensor(name, location string) []byte {
	return bfield(5, str(8, name), bfield(13, str(1, "location"), str(2, location)), vfield(14, 1))
}

func parseBytes(b []byte, lim Limits) (*Model, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), lim)
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated ir_version", []byte{0x08}, "truncated varint"},
		{"truncated varint in value", []byte{0x08, 0x80}, "truncated varint"},
		{"truncated varint in graph", model([]byte{0x0a, 0x80}), "truncated varint"},
		{"varint of 11 bytes", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), "overflows"},
		{"length beyond the end", append(vfield(1, 8), 0x3a, 0xff, 0xff, 0x03), "more than remain"},
		{"length beyond its message", model(bfield(1, append(str(4, "Add"), 0x3a, 0x7f))), "more than remain"},
		{"billion-byte repeated field", model(bfield(5, append(tag(1, protowire.Bytes), varint(1e9)...))), "more than remain"},
		{"field number zero", append(vfield(1, 8), 0x02, 0x00), "invalid field number"},
		{"truncated fixed64", append(vfield(1, 8), 0x11, 1, 2), "truncated fixed-size"},
		{"stray end group", append(vfield(1, 8), byte(9<<3|protowire.EndGroup)), "unexpected wire type"},
		{"unclosed group", append(vfield(1, 8), byte(9<<3|protowire.StartGroup)), "truncated varint"},
		{"empty", nil, "not an ONNX model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseBytes(tt.in, DefaultLimits())
			if m == nil {
				t.Fatal("nil model")
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMalformed with %q", err, tt.want)
			}
			_, err = ParseReader(bytes.NewReader(tt.in), DefaultLimits())
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseReader err = %v, want ErrMalformed", err)
			}
		})
	}
}

// nested returns a model whose graph holds an If node whose branch holds
// an If node… levels deep, with a custom operator at the bottom.
func nested(levels int) []byte {
	g := node("Backdoor", "com.evil")
	for i := 0; i < levels; i++ {
		g = node("If", "", bfield(5, str(1, "then_branch"), bfield(6, g)))
	}
	return model(g)
}

func TestDeepNesting(t *testing.T) {
	m, err := parseBytes(nested(1000), DefaultLimits())
	le, ok := safeio.IsLimit(err)
	if !ok || le.Limit != "onnx.MaxGraphDepth" {
		t.Fatalf("err = %v, want the onnx.MaxGraphDepth limit", err)
	}
	if m.Graphs != DefaultLimits().MaxGraphDepth {
		t.Errorf("walked %d graphs before the limit, want %d", m.Graphs, DefaultLimits().MaxGraphDepth)
	}
	// With room for them, all 1000 levels are walked and the operator at
	// the bottom is found.
	lim := DefaultLimits()
	lim.MaxGraphDepth = 2000
	m, err = parseBytes(nested(1000), lim)
	if err != nil {
		t.Fatal(err)
	}
	if m.Nodes != 1001 || m.Graphs != 1001 || len(m.Ops) != 2 || m.Ops[0].Type != "Backdoor" {
		t.Fatalf("nodes %d graphs %d ops %+v", m.Nodes, m.Graphs, m.Ops)
	}
	if want := strings.Repeat("/If#0.then_branch", 1000); m.Ops[0].Graph != "graph"+want {
		t.Errorf("path of the deepest operator has %d bytes", len(m.Ops[0].Graph))
	}
}

func TestLimits(t *testing.T) {
	many := model(bytes.Repeat(node("Add", ""), 100))
	lim := DefaultLimits()
	lim.MaxNodes = 10
	m, err := parseBytes(many, lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "onnx.MaxNodes" {
		t.Fatalf("err = %v, want onnx.MaxNodes", err)
	}
	if m.Nodes != 10 {
		t.Errorf("nodes = %d, want 10", m.Nodes)
	}

	// A reference read before a limit is kept: it is evidence.
	b := model(externalTensor("w", "../../etc/passwd"), bytes.Repeat(externalTensor("v", "ok.bin"), 5))
	lim = DefaultLimits()
	lim.MaxTensors = 3
	m, err = parseBytes(b, lim)
	if _, ok := safeio.IsLimit(err); !ok {
		t.Fatalf("err = %v, want a limit", err)
	}
	if len(m.ExternalData) != 3 || m.ExternalData[0].Location != "../../etc/passwd" {
		t.Errorf("external data = %+v", m.ExternalData)
	}

	long := model(node("Add", strings.Repeat("d", 70000)))
	if _, err := parseBytes(long, DefaultLimits()); err == nil {
		t.Fatal("a 70000-byte domain was accepted")
	} else if le, ok := safeio.IsLimit(err); !ok || le.Limit != "onnx.MaxStringBytes" {
		t.Fatalf("err = %v, want onnx.MaxStringBytes", err)
	}

	distinct := model(func() []byte {
		var b []byte
		for i := 0; i < 50; i++ {
			b = append(b, node(strings.Repeat("x", i+1), "")...)
		}
		return b
	}())
	lim = DefaultLimits()
	lim.MaxDistinct = 20
	if _, err := parseBytes(distinct, lim); err == nil {
		t.Fatal("50 distinct operators accepted with MaxDistinct 20")
	}
}

// TestProtobufRules checks that fields are read the way protobuf reads
// them, so a model cannot mean one thing to a loader and another here.
func TestProtobufRules(t *testing.T) {
	// An unknown group before the graph is skipped, as protobuf does.
	group := append(append(tag(99, protowire.StartGroup), vfield(1, 5)...), tag(99, protowire.EndGroup)...)
	b := append(group, model(node("Backdoor", "com.evil"))...)
	m, err := parseBytes(b, DefaultLimits())
	if err != nil || len(m.Ops) != 1 || m.Ops[0].Domain != "com.evil" {
		t.Fatalf("after a group: %+v, %v", m.Ops, err)
	}
	// A graph sent with the wrong wire type is an unknown field to
	// protobuf, so it holds no nodes.
	b = append(vfield(1, 8), vfield(7, 1)...)
	if m, err := parseBytes(b, DefaultLimits()); err != nil || m.Nodes != 0 {
		t.Fatalf("varint graph: %+v, %v", m, err)
	}
	// Two graph fields are merged by protobuf: both are walked.
	b = append(model(node("A", "x.one")), bfield(7, node("B", "x.two"))...)
	if m, err := parseBytes(b, DefaultLimits()); err != nil || len(m.Domains) != 2 {
		t.Fatalf("two graphs: %+v, %v", m, err)
	}
	// external_data without data_location is reported, not Declared.
	b = model(bfield(5, str(8, "w"), bfield(13, str(1, "location"), str(2, "/etc/shadow"))))
	m, err = parseBytes(b, DefaultLimits())
	if err != nil || len(m.ExternalData) != 1 || m.ExternalData[0].Declared || m.ExternalData[0].Location != "/etc/shadow" {
		t.Fatalf("undeclared external: %+v, %v", m.ExternalData, err)
	}
	// Tensors in attributes, sparse initializers and training graphs are
	// walked too: onnx.load_external_data_for_model reads them all.
	ext := func(name, loc string) []byte {
		return bytes.Join([][]byte{str(8, name), bfield(13, str(1, "location"), str(2, loc)), vfield(14, 1)}, nil)
	}
	b = model(
		node("Constant", "", bfield(5, str(1, "value"), bfield(5, ext("c", "/a")))),
		bfield(15, bfield(1, ext("s", "/b"))),
	)
	sparseAttr := bfield(5, str(1, "value"), bfield(22, bfield(2, ext("i", "/c"))))
	b = append(b, bfield(20, bfield(2, node("Evil", "com.train", sparseAttr)))...)
	m, err = parseBytes(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, e := range m.ExternalData {
		locs = append(locs, e.Location+"@"+e.Graph)
	}
	if got := strings.Join(locs, " "); got != "/a@graph /b@graph /c@training.algorithm" {
		t.Errorf("locations: %s", got)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"minimal model", model(node("Add", "")), true},
		{"torch.onnx.export start", append(append(vfield(1, 7), str(2, "pytorch")...), str(3, "2.1.0")...), true},
		{"cut inside the graph", model(node("Add", ""))[:12], true},
		{"ir_version alone", vfield(1, 8), false},
		{"ir_version zero", append(vfield(1, 0), str(2, "x")...), false},
		{"huge ir_version", append(vfield(1, 1000), str(2, "x")...), false},
		{"unknown field", append(vfield(1, 8), vfield(9, 1)...), false},
		{"producer not UTF-8", append(vfield(1, 8), str(2, "\xff\xfe")...), false},
		{"graph not a graph", append(vfield(1, 8), bfield(7, vfield(1, 1))...), false},
		{"pickle", []byte("\x80\x04\x95"), false},
		{"zip", []byte("PK\x03\x04"), false},
		{"text", []byte("hello world"), false},
	}
	for _, tt := range tests {
		if got := Sniff(tt.in); got != tt.want {
			t.Errorf("Sniff(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
