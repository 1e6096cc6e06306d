// Package checks turns parsed artifacts into findings. Each checker
// declares the rules it can emit, so `aigis rules` and SARIF can list them
// without scanning; the checkers are listed in list.go.
package checks

import (
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pickle"
	"github.com/aigis-sec/aigis/format/safetensors"
)

// Artifact is one parsed thing the engine hands to the checkers: a pickle
// stream, an archive, a model header. Only the field that matches Kind is set.
type Artifact struct {
	Loc  finding.Location
	Kind string // see the Kind* constants

	Pickle *pickle.Result
	// TrailingExpected is set when data after the last pickle is normal
	// (legacy PyTorch files store tensor bytes there).
	TrailingExpected bool
	// Nested is a description of how this pickle was reached inside another
	// ("pickle.loads at offset 79"), empty for top-level pickles.
	Nested string

	// Anomalies of a container (zip, tar) that the container parser found.
	Anomalies []ContainerAnomaly

	// Text is the content of a config or a chat template.
	Text []byte
	// Name names a chat template (tokenizer.chat_template, chat_template…).
	Name string

	// Model is the parsed header of a safetensors, GGUF or ONNX file.
	Model any
	// Problems are the shard-index anomalies (KindShardIndex).
	Problems []safetensors.Anomaly
	// Resolve tells where an ONNX external-data location leads (nil for
	// archive members).
	Resolve ResolveExternal

	// Storages are the members that hold the tensor bytes a PyTorch pickle
	// refers to, by storage key (KindTensors).
	Storages map[string]StorageBlob
}

// StorageBlob is one storage member of a PyTorch archive.
type StorageBlob struct {
	Size int64
	Read func(max int64) ([]byte, error)
}

// ContainerAnomaly is a structural problem of an archive, already described
// by its parser.
type ContainerAnomaly struct {
	Member string
	Kind   string
	Detail string
	Offset int64
}

// Artifact kinds.
const (
	KindPickle     = "pickle"
	KindContainer  = "container"
	KindTensors    = "tensors"           // a PyTorch pickle with the storages it names
	KindConfig     = "config"            // a YAML config that may be instantiated
	KindShardIndex = "safetensors-index" // Model is a *safetensors.Index; Problems what CheckIndex found
	KindONNX       = "onnx"              // Model is an *onnx.Model; Resolve finds external data
	KindTemplate   = "template"          // Text is a Jinja chat template; Name says where it was found
)

// Checker turns artifacts of the kinds it accepts into findings.
type Checker interface {
	Name() string
	Rules() []finding.Rule
	Accepts(kind string) bool
	Check(a *Artifact) []finding.Finding
}

// Artifact kinds of TensorFlow and Keras files.
const (
	KindTFGraph       = "tf-graph"       // Model is a *tfgraph.Graph
	KindTFLite        = "tflite"         // Model is a *tflite.Model
	KindKerasMetadata = "keras-metadata" // Model is a *tfgraph.KerasMetadata
	KindKerasConfig   = "keras-config"   // Text is a Keras model config; Name says where it was found
)

// Artifact kinds of text.
const (
	KindPython  = "python"   // Text is Python source; Name is its role (RoleRemoteCode…)
	KindText    = "text"     // Text is any text file, searched for secrets
	KindModelID = "model-id" // Name is a hub model id (org/name); Text says where it was found
)
