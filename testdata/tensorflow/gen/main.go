// Command gen writes the TensorFlow fixtures of testdata/tensorflow:
// SavedModels, a frozen GraphDef, keras_metadata.pb files and TFLite
// models, built byte by byte (TensorFlow is not needed). Run it from the
// repository root:
//
//	go run ./testdata/tensorflow/gen
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/aigis-sec/aigis/format/tfgraph/tfgraphtest"
	"github.com/aigis-sec/aigis/format/tflite/tflitetest"
)

const denseLayer = `{"name": "dense", "trainable": true, "expects_training_arg": false, "dtype": "float32", "batch_input_shape": null, ` +
	`"stateful": false, "must_restore_from_config": false, "class_name": "Dense", "config": {"name": "dense", "trainable": true, ` +
	`"dtype": "float32", "units": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"class_name": "GlorotUniform", ` +
	`"config": {"seed": null}}, "bias_initializer": {"class_name": "Zeros", "config": {}}}}`

// lambdaLayer is a Keras Lambda layer whose function is marshalled
// Python bytecode (CVE-2024-3660); the bytes are a placeholder, not code.
const lambdaLayer = `{"name": "lambda", "trainable": true, "expects_training_arg": false, "dtype": "float32", "class_name": "Lambda", ` +
	`"config": {"name": "lambda", "trainable": true, "dtype": "float32", "function": {"class_name": "__lambda__", "config": ` +
	`{"code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTAKkBTqkAKQHaAXhyAgAAAHICAAAA", "defaults": null, "closure": null}}, ` +
	`"function_type": "lambda", "module": "__main__", "output_shape": null, "output_shape_type": "raw", "output_shape_module": null, "arguments": {}}}`

func main() {
	root := filepath.Join("testdata", "tensorflow")
	files := map[string][]byte{
		"benign/saved_model.pb":          tfgraphtest.BenignSavedModel(),
		"benign/frozen_graph.pb":         tfgraphtest.FrozenGraph(),
		"benign/keras_metadata.pb":       tfgraphtest.KerasMetadataFile(denseLayer),
		"benign/model.tflite":            tflitetest.BenignModel(),
		"malicious/saved_model.pb":       tfgraphtest.MaliciousSavedModel(),
		"malicious/keras_metadata.pb":    tfgraphtest.KerasMetadataFile(lambdaLayer),
		"malicious/custom_op.tflite":     tflitetest.CustomModel(),
		"malicious/flex_readfile.tflite": tflitetest.FlexModel(),
	}
	for name, data := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
