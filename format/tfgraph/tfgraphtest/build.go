// Package tfgraphtest builds TensorFlow graph files byte by byte, for
// tests and for the fixture generator (testdata/tensorflow/gen): a
// protobuf writer and the messages of saved_model.pb, GraphDef and
// keras_metadata.pb that the parser reads.
package tfgraphtest

import "encoding/binary"

// Tag returns the key of field num with wire type t.
func Tag(num int, t int) []byte { return binary.AppendUvarint(nil, uint64(num)<<3|uint64(t)) }

// Varint is field num holding v.
func Varint(num int, v uint64) []byte { return binary.AppendUvarint(Tag(num, 0), v) }

// Bytes is a length-delimited field num holding the parts concatenated.
func Bytes(num int, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := binary.AppendUvarint(Tag(num, 2), uint64(n))
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Str is a string field.
func Str(num int, s string) []byte { return Bytes(num, []byte(s)) }

// Cat concatenates fields into a message.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// AttrS is a NodeDef.attr entry holding a string (AttrValue.s).
func AttrS(key, val string) []byte { return Bytes(5, Str(1, key), Bytes(2, Str(2, val))) }

// AttrList is an attr entry holding a list of strings (AttrValue.list.s).
func AttrList(key string, vals ...string) []byte {
	var l []byte
	for _, v := range vals {
		l = append(l, Str(2, v)...)
	}
	return Bytes(5, Str(1, key), Bytes(2, Bytes(1, l)))
}

// AttrFunc is an attr entry naming a function (AttrValue.func).
func AttrFunc(key, fn string) []byte { return Bytes(5, Str(1, key), Bytes(2, Bytes(10, Str(1, fn)))) }

// AttrType is an attr entry holding a DataType (AttrValue.type).
func AttrType(key string, dt uint64) []byte { return Bytes(5, Str(1, key), Bytes(2, Varint(6, dt))) }

// AttrTensor is an attr entry holding a float tensor whose
// tensor_content has n bytes (a Const node's value).
func AttrTensor(key string, n int) []byte {
	tensor := Cat(Varint(1, 1), Bytes(4, make([]byte, n))) // dtype DT_FLOAT, tensor_content
	return Bytes(5, Str(1, key), Bytes(2, Bytes(8, tensor)))
}

// Node is the content of a NodeDef.
func Node(name, op string, attrs ...[]byte) []byte {
	return Cat(Str(1, name), Str(2, op), Cat(attrs...))
}

// Function is the content of a FunctionDef named name with body nodes.
func Function(name string, nodes ...[]byte) []byte {
	b := Bytes(1, Str(1, name)) // signature: OpDef.name
	for _, n := range nodes {
		b = append(b, Bytes(3, n)...)
	}
	return b
}

// GraphDef is the content of a GraphDef with nodes and a library of
// functions.
func GraphDef(nodes [][]byte, functions ...[]byte) []byte {
	var b []byte
	for _, n := range nodes {
		b = append(b, Bytes(1, n)...)
	}
	if len(functions) > 0 {
		var lib []byte
		for _, f := range functions {
			lib = append(lib, Bytes(1, f)...)
		}
		b = append(b, Bytes(2, lib)...)
	}
	return append(b, Bytes(4, Varint(1, 1286))...) // versions.producer
}

// MetaGraph is the content of a MetaGraphDef.
func MetaGraph(tfVersion string, tags []string, graph []byte) []byte {
	var info []byte
	for _, t := range tags {
		info = append(info, Str(4, t)...)
	}
	info = append(info, Str(5, tfVersion)...)
	info = append(info, Str(6, "v"+tfVersion+"-0-gdeadbeef")...)
	return Cat(Bytes(1, info), Bytes(2, graph))
}

// SavedModel is a whole saved_model.pb.
func SavedModel(metas ...[]byte) []byte {
	b := Varint(1, 1)
	for _, m := range metas {
		b = append(b, Bytes(2, m)...)
	}
	return b
}

// KerasObject is one SavedObject of keras_metadata.pb.
func KerasObject(id int, path, identifier, metadata string) []byte {
	return Bytes(1, Bytes(1, Varint(1, 1)), Varint(2, uint64(id)), Str(3, path), Str(4, identifier), Str(5, metadata))
}

// BenignSavedModel is what tf.saved_model.save writes for a small dense
// layer: variables read through handles, a call function with the math,
// and the save and restore functions every SavedModel has.
func BenignSavedModel() []byte {
	call := Function("__inference_call_142",
		Node("dense/MatMul/ReadVariableOp", "ReadVariableOp", AttrType("dtype", 1)),
		Node("dense/MatMul", "MatMul", AttrType("T", 1)),
		Node("dense/BiasAdd/ReadVariableOp", "ReadVariableOp", AttrType("dtype", 1)),
		Node("dense/Add", "Add", AttrType("T", 1)),
		Node("dense/Relu", "Relu", AttrType("T", 1)),
		Node("Identity", "Identity", AttrType("T", 1)),
	)
	save := Function("__inference__traced_save_201",
		Node("StringJoin", "StringJoin"),
		Node("ShardedFilename", "ShardedFilename"),
		Node("SaveV2", "SaveV2"),
		Node("MergeV2Checkpoints", "MergeV2Checkpoints"),
		Node("Identity", "Identity"),
	)
	restore := Function("__inference__traced_restore_230",
		Node("RestoreV2", "RestoreV2"),
		Node("AssignVariableOp", "AssignVariableOp"),
		Node("NoOp", "NoOp"),
	)
	graph := GraphDef([][]byte{
		Node("dense/kernel", "VarHandleOp", AttrS("shared_name", "dense/kernel"), AttrType("dtype", 1)),
		Node("dense/bias", "VarHandleOp", AttrS("shared_name", "dense/bias"), AttrType("dtype", 1)),
		Node("serving_default_input_1", "Placeholder", AttrType("dtype", 1)),
		Node("Const", "Const", AttrTensor("value", 4096), AttrType("dtype", 1)),
		Node("StatefulPartitionedCall", "StatefulPartitionedCall", AttrFunc("f", "__inference_call_142"), AttrS("config_proto", "\n\x07\n\x03CPU\x10\x01")),
		Node("saver_filename", "Placeholder", AttrType("dtype", 7)),
		Node("StatefulPartitionedCall_1", "StatefulPartitionedCall", AttrFunc("f", "__inference__traced_save_201")),
		Node("StatefulPartitionedCall_2", "StatefulPartitionedCall", AttrFunc("f", "__inference__traced_restore_230")),
	}, call, save, restore)
	return SavedModel(MetaGraph("2.15.0", []string{"serve"}, graph))
}

// MaliciousSavedModel reads and writes files from the main graph, calls
// Python from a library function, and dumps tensors to a file:// URL.
func MaliciousSavedModel() []byte {
	payload := Function("__inference_payload_7",
		Node("PyFunc", "PyFunc", AttrS("token", "pyfunc_0"), AttrList("Tin"), AttrList("Tout")),
		Node("Identity", "Identity"),
	)
	graph := GraphDef([][]byte{
		Node("path", "Const", AttrTensor("value", 16)),
		Node("ReadFile", "ReadFile"),
		Node("WriteFile", "WriteFile"),
		Node("dump", "DebugIdentity", AttrList("debug_urls", "file:///tmp/tfdbg_dump"), AttrS("tensor_name", "x:0")),
		Node("print", "PrintV2", AttrS("output_stream", "file:///root/.bashrc")),
		Node("call", "StatefulPartitionedCall", AttrFunc("f", "__inference_payload_7")),
	}, payload)
	return SavedModel(MetaGraph("2.15.0", []string{"serve"}, graph))
}

// FrozenGraph is a bare GraphDef as tf.io.write_graph writes a frozen
// inference graph.
func FrozenGraph() []byte {
	return GraphDef([][]byte{
		Node("input", "Placeholder", AttrType("dtype", 1)),
		Node("w", "Const", AttrTensor("value", 1024)),
		Node("MatMul", "MatMul"),
		Node("Softmax", "Softmax"),
	})
}

// KerasMetadataFile is keras_metadata.pb with a model and one layer.
func KerasMetadataFile(layerConfig string) []byte {
	return Cat(
		KerasObject(0, "root", "_tf_keras_sequential", `{"name": "sequential", "class_name": "Sequential", "config": {"name": "sequential", "layers": []}}`),
		KerasObject(1, "root.layer-0", "_tf_keras_layer", layerConfig),
	)
}
