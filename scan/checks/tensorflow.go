package checks

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/tfgraph"
	"github.com/aigis-sec/aigis/format/tflite"
)

const (
	remTFGraph = "Do not serve or call this model. Loading a SavedModel does not run its graph, but serving it, calling a " +
		"signature or a restored function does. Ask the publisher for a model without these operators, or inspect the graph " +
		"(saved_model_cli show --all) in an isolated sandbox."
	remTFCustom = "Find out which library registers these operators (tf.load_op_library) and who publishes it; load only " +
		"libraries you have reviewed and pinned, never one shipped next to the model."
)

var tfAtlas = []string{atlasUserExecMalicious, atlasSupplyChainModel}

// The rules of the TensorFlow and TFLite checks.
var (
	// RuleTFPythonOp: PyFunc and friends call a Python function by token.
	RuleTFPythonOp = finding.Rule{
		ID: "tf-python-op", Severity: finding.Critical,
		Title: "The graph calls back into Python",
		Description: "PyFunc, PyFuncStateless and EagerPyFunc run a Python function registered in the process (tf.py_function, " +
			"tf.numpy_function) when the graph executes. Loading alone does not run it, and the function must exist in the loading " +
			"process under the same token; but a model that carries such a node expects code outside the graph, and serving it runs " +
			"whatever the process registered.",
		ATLAS: tfAtlas, Remediation: remTFGraph,
	}
	// RuleTFFileAccess: operators that read, list or write files.
	RuleTFFileAccess = finding.Rule{
		ID: "tf-file-access", Severity: finding.High,
		Title: "The graph reads or writes files",
		Description: "An operator reads, lists or writes files chosen by the graph (ReadFile, WriteFile, MatchingFiles, PrintV2 to a " +
			"file:// stream, dataset writers…) when the graph executes: a model that reads ~/.ssh or overwrites ~/.bashrc when served.",
		ATLAS: tfAtlas, Remediation: remTFGraph,
	}
	// RuleTFNetwork: operators that connect to other hosts.
	RuleTFNetwork = finding.Rule{
		ID: "tf-network", Severity: finding.High,
		Title:       "The graph opens network connections",
		Description: "An operator connects to another host (tf.data service, RPC operators) when the graph executes: exfiltration or a second stage.",
		ATLAS:       tfAtlas, Remediation: remTFGraph,
	}
	// RuleTFDebugDump: tfdbg operators send tensors to URLs.
	RuleTFDebugDump = finding.Rule{
		ID: "tf-debug-dump", Severity: finding.High,
		Title: "The graph dumps tensors to a file or a remote debugger",
		Description: "A tfdbg operator (DebugIdentity, DebugNumericSummary…) writes the tensors flowing through it to its debug_urls " +
			"(file:// paths, grpc:// hosts) when the graph executes: inputs and weights leave the process.",
		ATLAS: tfAtlas, Remediation: remTFGraph,
	}
	// RuleTFCustomOp: operators TensorFlow does not define.
	RuleTFCustomOp = finding.Rule{
		ID: "tf-custom-op", Severity: finding.Medium,
		Title: "The graph uses operators TensorFlow does not define",
		Description: "A node names an operator that is neither a standard TensorFlow operator nor a function of the graph's library. " +
			"It can only run after a custom-op library (native code, tf.load_op_library) registers it, and that library runs with the " +
			"application's rights.",
		ATLAS: tfAtlas, Remediation: remTFCustom,
	}
	// RuleTFModel describes the graph.
	RuleTFModel = finding.Rule{
		ID: "tf-model", Severity: finding.Info,
		Title: "TensorFlow graph",
		Description: "The file is a TensorFlow SavedModel or GraphDef: its TensorFlow version, tags and operators. Graphs run no " +
			"Python when loaded; operators that touch files, the network or Python are reported separately.",
		ATLAS: []string{atlasSupplyChainModel}, Remediation: "No action needed.",
	}
	// RuleTFLiteCustomOp: TFLite custom operators need a native kernel.
	RuleTFLiteCustomOp = finding.Rule{
		ID: "tflite-custom-op", Severity: finding.Medium,
		Title: "The TFLite model uses custom operators",
		Description: "An operator code is CUSTOM: the interpreter runs it only if the application registers a native kernel under " +
			"that name (or, for Flex operators, links the TensorFlow select-ops delegate). That kernel is native code outside the model.",
		ATLAS: tfAtlas, Remediation: "Find out which kernel implements each custom operator and who publishes it; register only kernels you have reviewed.",
	}
	// RuleTFLiteModel describes the model.
	RuleTFLiteModel = finding.Rule{
		ID: "tflite-model", Severity: finding.Info,
		Title: "TensorFlow Lite model",
		Description: "The file is a TensorFlow Lite flatbuffer: its schema version, subgraphs and operators. Built-in operators are " +
			"kernels of the interpreter; custom operators are reported separately.",
		ATLAS: []string{atlasSupplyChainModel}, Remediation: "No action needed.",
	}
)

// TensorFlowRules lists the rules CheckTFGraph, CheckTFLite and
// CheckKerasMetadata emit (the last also emits the Keras config rules).
func TensorFlowRules() []finding.Rule {
	return []finding.Rule{RuleTFPythonOp, RuleTFFileAccess, RuleTFNetwork, RuleTFDebugDump, RuleTFCustomOp,
		RuleTFModel, RuleTFLiteCustomOp, RuleTFLiteModel}
}

// tfOp is the judgement of one operator type.
type tfOp struct {
	rule   *finding.Rule
	sev    finding.Severity
	reason string
}

// tfDenied are the operators that reach outside the tensor world, with
// why. Names are those of tf.raw_ops.
var tfDenied = map[string]tfOp{
	// Python callbacks.
	"PyFunc":          {&RuleTFPythonOp, finding.Critical, "calls the Python function registered under its token (tf.numpy_function)"},
	"PyFuncStateless": {&RuleTFPythonOp, finding.Critical, "calls the Python function registered under its token"},
	"EagerPyFunc":     {&RuleTFPythonOp, finding.Critical, "calls the Python function registered under its token (tf.py_function)"},

	// Files.
	"ReadFile":                         {&RuleTFFileAccess, finding.High, "reads a whole file, from any registered file system (local, gs://, s3://, hdfs://)"},
	"WriteFile":                        {&RuleTFFileAccess, finding.High, "writes a file, creating its folders"},
	"MatchingFiles":                    {&RuleTFFileAccess, finding.High, "lists files matching a glob pattern"},
	"ImmutableConst":                   {&RuleTFFileAccess, finding.High, "memory-maps the file named by memory_region_name"},
	"WholeFileReader":                  {&RuleTFFileAccess, finding.High, "reads whole files queued by name"},
	"WholeFileReaderV2":                {&RuleTFFileAccess, finding.High, "reads whole files queued by name"},
	"DatasetToTFRecord":                {&RuleTFFileAccess, finding.High, "writes a dataset to a TFRecord file"},
	"ExperimentalDatasetToTFRecord":    {&RuleTFFileAccess, finding.High, "writes a dataset to a TFRecord file"},
	"SaveDataset":                      {&RuleTFFileAccess, finding.High, "writes a dataset to a folder"},
	"SaveDatasetV2":                    {&RuleTFFileAccess, finding.High, "writes a dataset to a folder"},
	"DistributedSave":                  {&RuleTFFileAccess, finding.High, "writes a dataset to a folder through the tf.data service"},
	"LoadDataset":                      {&RuleTFFileAccess, finding.Medium, "reads a dataset from a folder"},
	"SqlDataset":                       {&RuleTFFileAccess, finding.High, "opens a database file and runs an SQL query on it"},
	"ExperimentalSqlDataset":           {&RuleTFFileAccess, finding.High, "opens a database file and runs an SQL query on it"},
	"CreateSummaryFileWriter":          {&RuleTFFileAccess, finding.Medium, "creates an event file in a log folder"},
	"CreateSummaryDbWriter":            {&RuleTFFileAccess, finding.Medium, "writes summaries to an SQLite database"},
	"TFRecordDataset":                  {&RuleTFFileAccess, finding.Medium, "reads TFRecord files by name"},
	"TFRecordDatasetV2":                {&RuleTFFileAccess, finding.Medium, "reads TFRecord files by name"},
	"TextLineDataset":                  {&RuleTFFileAccess, finding.Medium, "reads text files by name"},
	"FixedLengthRecordDataset":         {&RuleTFFileAccess, finding.Medium, "reads files by name"},
	"FixedLengthRecordDatasetV2":       {&RuleTFFileAccess, finding.Medium, "reads files by name"},
	"CSVDataset":                       {&RuleTFFileAccess, finding.Medium, "reads CSV files by name"},
	"CSVDatasetV2":                     {&RuleTFFileAccess, finding.Medium, "reads CSV files by name"},
	"ExperimentalCSVDataset":           {&RuleTFFileAccess, finding.Medium, "reads CSV files by name"},
	"LMDBDataset":                      {&RuleTFFileAccess, finding.Medium, "reads an LMDB database by name"},
	"ExperimentalLMDBDataset":          {&RuleTFFileAccess, finding.Medium, "reads an LMDB database by name"},
	"LMDBReader":                       {&RuleTFFileAccess, finding.Medium, "reads an LMDB database by name"},
	"MatchingFilesDataset":             {&RuleTFFileAccess, finding.Medium, "lists files matching glob patterns"},
	"ExperimentalMatchingFilesDataset": {&RuleTFFileAccess, finding.Medium, "lists files matching glob patterns"},
	"TFRecordReader":                   {&RuleTFFileAccess, finding.Medium, "reads TFRecord files by name"},
	"TFRecordReaderV2":                 {&RuleTFFileAccess, finding.Medium, "reads TFRecord files by name"},
	"TextLineReader":                   {&RuleTFFileAccess, finding.Medium, "reads text files by name"},
	"TextLineReaderV2":                 {&RuleTFFileAccess, finding.Medium, "reads text files by name"},
	"FixedLengthRecordReader":          {&RuleTFFileAccess, finding.Medium, "reads files by name"},
	"FixedLengthRecordReaderV2":        {&RuleTFFileAccess, finding.Medium, "reads files by name"},
	"SnapshotDataset":                  {&RuleTFFileAccess, finding.Medium, "writes and reads dataset snapshots in a folder"},
	"SnapshotDatasetV2":                {&RuleTFFileAccess, finding.Medium, "writes and reads dataset snapshots in a folder"},

	// Network.
	"DataServiceDataset":   {&RuleTFNetwork, finding.High, "reads elements from a tf.data service at an address"},
	"DataServiceDatasetV2": {&RuleTFNetwork, finding.High, "reads elements from a tf.data service at an address"},
	"DataServiceDatasetV3": {&RuleTFNetwork, finding.High, "reads elements from a tf.data service at an address"},
	"DataServiceDatasetV4": {&RuleTFNetwork, finding.High, "reads elements from a tf.data service at an address"},
	"RegisterDataset":      {&RuleTFNetwork, finding.High, "sends a dataset to a tf.data service at an address"},
	"RegisterDatasetV2":    {&RuleTFNetwork, finding.High, "sends a dataset to a tf.data service at an address"},
	"Rpc":                  {&RuleTFNetwork, finding.High, "calls a gRPC method on an address"},
	"TryRpc":               {&RuleTFNetwork, finding.High, "calls a gRPC method on an address"},
	"RpcClient":            {&RuleTFNetwork, finding.High, "connects to an RPC server at an address"},
	"RpcCall":              {&RuleTFNetwork, finding.High, "calls a remote function"},
	"RpcServer":            {&RuleTFNetwork, finding.High, "starts an RPC server listening on an address"},
	"RpcServerStart":       {&RuleTFNetwork, finding.High, "starts an RPC server"},
	"RpcServerRegister":    {&RuleTFNetwork, finding.High, "exposes a function on an RPC server"},

	// Debuggers: high when they name a URL (checked below), else medium.
	"DebugIdentity":         {&RuleTFDebugDump, finding.Medium, "copies tensors to its debug_urls"},
	"DebugIdentityV2":       {&RuleTFDebugDump, finding.Medium, "writes tensors to the tfdbg dump folder of the process"},
	"DebugIdentityV3":       {&RuleTFDebugDump, finding.Medium, "copies tensors to its debug_urls"},
	"DebugNanCount":         {&RuleTFDebugDump, finding.Medium, "sends NaN counts to its debug_urls"},
	"DebugNumericSummary":   {&RuleTFDebugDump, finding.Medium, "sends tensor summaries to its debug_urls"},
	"DebugNumericSummaryV2": {&RuleTFDebugDump, finding.Medium, "computes tensor summaries for tfdbg"},
}

// tfCheckpointOps save and restore variables. Every SavedModel has them
// in its saver (TF1 nodes in the "save/" scope, TF2 functions
// __inference__traced_save_N and __inference__traced_restore_N), fed with
// the path the loader chooses; there they are not reported. Elsewhere they
// read or write the path the graph gives them.
var tfCheckpointOps = map[string]bool{
	"Save": true, "SaveV2": true, "SaveSlices": true, "Restore": true, "RestoreV2": true, "RestoreSlice": true,
	"MergeV2Checkpoints": true,
}

var saverScope = regexp.MustCompile(`^(save|saver)(_\d+)?/|^__inference__traced_(save|restore)_|^__inference_(save|restore)_fn_`)

// CheckTFGraph reports the operators of a SavedModel or GraphDef that
// reach outside the tensor world, the operators TensorFlow does not
// define, and a description of the graph.
func CheckTFGraph(loc finding.Location, g *tfgraph.Graph) []finding.Finding {
	var out []finding.Finding
	funcs := map[string]bool{}
	for _, n := range g.FunctionNames {
		funcs[n] = true
	}
	urls := map[string][]tfgraph.URL{} // function "\x00" op → URLs
	for _, u := range g.URLs {
		k := u.Function + "\x00" + u.Op
		urls[k] = append(urls[k], u)
	}
	where := func(o tfgraph.Op) string {
		if o.Function == "" {
			return fmt.Sprintf("node %q of the main graph", o.Node)
		}
		return fmt.Sprintf("node %q of function %q", o.Node, o.Function)
	}
	evidence := func(o tfgraph.Op) map[string]string {
		ev := map[string]string{"op": o.Name, "node": o.Node, "count": fmt.Sprint(o.Count)}
		if o.Function != "" {
			ev["function"] = o.Function
		}
		for _, k := range []string{"token", "memory_region_name", "output_stream"} {
			if v, ok := o.Attrs[k]; ok {
				ev[k] = v
			}
		}
		return ev
	}
	unknown := map[string]bool{}
	for _, o := range g.Ops {
		l := loc.At(o.Offset)
		us := urls[o.Function+"\x00"+o.Name]
		if d, ok := tfDenied[o.Name]; ok {
			sev := d.sev
			ev := evidence(o)
			msg := fmt.Sprintf("%s (%s) %s when the graph runs", o.Name, where(o), d.reason)
			if len(us) > 0 {
				if d.rule.ID == RuleTFDebugDump.ID {
					sev = finding.High
				}
				ev["urls"] = joinURLs(us)
				msg += "; it names " + ev["urls"]
			}
			if d.rule.ID == RuleTFPythonOp.ID {
				msg += ". Loading alone does not run it; serving or calling the model does"
			}
			if o.Count > 1 {
				msg += fmt.Sprintf(" (%d nodes)", o.Count)
			}
			out = append(out, finding.New(*d.rule, sev, l, msg, ev))
			continue
		}
		if o.Name == "PrintV2" {
			if fileURLs := filterURLs(us, "file://"); len(fileURLs) > 0 {
				ev := evidence(o)
				ev["urls"] = joinURLs(fileURLs)
				out = append(out, finding.New(RuleTFFileAccess, finding.High, l,
					fmt.Sprintf("PrintV2 (%s) appends tensors to %s when the graph runs", where(o), ev["urls"]), ev))
			}
			continue
		}
		if tfCheckpointOps[o.Name] {
			if !saverScope.MatchString(o.Function) && !saverScope.MatchString(o.Node) {
				out = append(out, finding.New(RuleTFFileAccess, finding.Medium, l,
					fmt.Sprintf("%s (%s) reads or writes checkpoint files outside the model's saver, at a path the graph chooses", o.Name, where(o)),
					evidence(o)))
			}
			continue
		}
		if !tfKnownOp(o.Name) && !funcs[o.Name] && !unknown[o.Name] {
			unknown[o.Name] = true
			out = append(out, finding.New(RuleTFCustomOp, RuleTFCustomOp.Severity, l,
				fmt.Sprintf("operator %q (%s) is not a standard TensorFlow operator nor a function of the graph: it needs a custom-op library", o.Name, where(o)),
				evidence(o)))
		}
	}
	// URLs on operators not judged above are still reported: a string
	// attribute naming a remote or file URL has no business in a model.
	for _, u := range g.URLs {
		if _, ok := tfDenied[u.Op]; ok || u.Op == "PrintV2" {
			continue
		}
		ev := map[string]string{"op": u.Op, "node": u.Node, "attr": u.Attr, "url": u.Value}
		if u.Function != "" {
			ev["function"] = u.Function
		}
		out = append(out, finding.New(RuleTFNetwork, finding.Medium, loc.At(u.Offset),
			fmt.Sprintf("attribute %q of %s node %q holds the URL %q", u.Attr, u.Op, u.Node, u.Value), ev))
	}
	out = append(out, tfModelInfo(loc, g))
	return out
}

func joinURLs(us []tfgraph.URL) string {
	var s []string
	for i, u := range us {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(us)-5))
			break
		}
		s = append(s, fmt.Sprintf("%s=%q", u.Attr, u.Value))
	}
	return strings.Join(s, ", ")
}

func filterURLs(us []tfgraph.URL, prefix string) []tfgraph.URL {
	var out []tfgraph.URL
	for _, u := range us {
		if strings.HasPrefix(strings.ToLower(u.Value), prefix) {
			out = append(out, u)
		}
	}
	return out
}

func tfModelInfo(loc finding.Location, g *tfgraph.Graph) finding.Finding {
	names := map[string]bool{}
	for _, o := range g.Ops {
		names[o.Name] = true
	}
	kind := "GraphDef"
	if g.Kind == tfgraph.KindSavedModel {
		kind = "SavedModel"
	}
	ver := g.TFVersion
	if ver == "" {
		ver = "unknown"
	}
	ev := map[string]string{
		"kind": string(g.Kind), "tensorflow_version": ver, "tags": strings.Join(g.Tags, ","),
		"nodes": fmt.Sprint(g.Nodes), "functions": fmt.Sprint(g.Functions), "operators": fmt.Sprint(len(names)),
	}
	return finding.New(RuleTFModel, finding.Info, loc,
		fmt.Sprintf("TensorFlow %s written by TensorFlow %s: %d nodes, %d functions, %d distinct operators",
			kind, ver, g.Nodes, g.Functions, len(names)), ev)
}

// CheckKerasMetadata judges the Keras configuration of every object of a
// keras_metadata.pb, as keras.models.load_model would deserialise it.
func CheckKerasMetadata(loc finding.Location, km *tfgraph.KerasMetadata) []finding.Finding {
	var out []finding.Finding
	for _, o := range km.Objects {
		if o.Metadata == "" {
			continue
		}
		src := fmt.Sprintf("keras_metadata.pb object %q", o.Path)
		out = append(out, CheckKerasConfig(loc.At(o.Offset), src, []byte(o.Metadata))...)
	}
	return out
}

// CheckTFLite reports the custom operators of a TFLite model and
// describes it. Flex operators run the TensorFlow operator named after
// the prefix, so they are judged as TensorFlow operators.
func CheckTFLite(loc finding.Location, m *tflite.Model) []finding.Finding {
	var out []finding.Finding
	for _, c := range m.OperatorCodes {
		if c.Builtin != tflite.BuiltinCustom {
			continue
		}
		l := loc.At(c.Offset)
		ev := map[string]string{"custom_code": c.Custom, "uses": fmt.Sprint(c.Uses), "version": fmt.Sprint(c.Version)}
		if tfName, ok := strings.CutPrefix(c.Custom, "Flex"); ok && tfName != "" {
			if d, ok := tfDenied[tfName]; ok {
				ev["op"] = tfName
				out = append(out, finding.New(*d.rule, d.sev, l,
					fmt.Sprintf("Flex operator %q runs TensorFlow's %s, which %s, when the model runs (%d uses)", c.Custom, tfName, d.reason, c.Uses), ev))
				continue
			}
			if tfKnownOp(tfName) || tfCheckpointOps[tfName] || tfName == "PrintV2" {
				continue // a standard TensorFlow kernel through the select-ops delegate
			}
		}
		name := c.Custom
		if name == "" {
			name = "(unnamed)"
		}
		out = append(out, finding.New(RuleTFLiteCustomOp, RuleTFLiteCustomOp.Severity, l,
			fmt.Sprintf("custom operator %q (%d uses) needs a native kernel registered by the application", name, c.Uses), ev))
	}
	customs := append([]string(nil), m.CustomOps...)
	sort.Strings(customs)
	out = append(out, finding.New(RuleTFLiteModel, finding.Info, loc,
		fmt.Sprintf("TensorFlow Lite model (schema %d): %d subgraphs, %d operators, %d operator codes, %d custom",
			m.Version, m.Subgraphs, m.Operators, len(m.OperatorCodes), len(m.CustomOps)),
		map[string]string{"schema_version": fmt.Sprint(m.Version), "subgraphs": fmt.Sprint(m.Subgraphs),
			"operators": fmt.Sprint(m.Operators), "custom_ops": strings.Join(customs, ","), "description": m.Description}))
	return out
}

// tfKnownOp reports whether name is a standard TensorFlow operator (or
// an internal one that TensorFlow's own optimisers write into graphs).
func tfKnownOp(name string) bool {
	if tfStandardOps[name] {
		return true
	}
	for _, p := range []string{"_Mkl", "_Fused", "_XlaCompile", "_XlaRun", "_XlaMerge", "_Tpu", "_Arg", "_Retval", "_DeviceArg", "_DeviceRetval",
		"_Send", "_Recv", "_HostSend", "_HostRecv", "_If", "_While", "_Switch", "_ScopedAllocator", "_ReadVariablesOp",
		"_VarHandlesOp", "_UnaryOpsComposition", "_HostCast", "_ParallelConcat", "_ListToArray", "_ArrayToList",
		"_EagerConst", "_FusedBatchNormEx", "_NcclBroadcast", "_NcclReduce", "_CopyFromGpuToHost", "_CopyFromHostToGpu"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// tfStandardOps are operators of tf.raw_ops that models contain: math,
// neural-network layers, control flow, variables, resources, tables,
// strings, images, datasets and TPU plumbing. Operators judged above
// (tfDenied, tfCheckpointOps, PrintV2) are not repeated. The list is not
// all ~1,500 raw ops: an operator missing here is reported as custom at
// medium severity, below the default gate.
var tfStandardOps = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`
Abort Abs AccumulateNV2 Acos Acosh Add AddManySparseToTensorsMap AddN AddSparseToTensorsMap AddV2 AdjustContrast
AdjustContrastv2 AdjustHue AdjustSaturation All AllCandidateSampler AllToAll Angle AnonymousHashTable AnonymousIterator
AnonymousIteratorV2 AnonymousIteratorV3 AnonymousMemoryCache AnonymousMultiDeviceIterator AnonymousMutableDenseHashTable
AnonymousMutableHashTable AnonymousMutableHashTableOfTensors AnonymousRandomSeedGenerator AnonymousSeedGenerator Any
ApplyAdaMax ApplyAdadelta ApplyAdagrad ApplyAdagradDA ApplyAdagradV2 ApplyAdam ApplyAddSign ApplyCenteredRMSProp ApplyFtrl
ApplyFtrlV2 ApplyGradientDescent ApplyMomentum ApplyPowerSign ApplyProximalAdagrad ApplyProximalGradientDescent ApplyRMSProp
ApproxTopK ApproximateEqual ArgMax ArgMin AsString Asin Asinh Assert AssertCardinalityDataset AssertNextDataset
AssertPrevDataset Assign AssignAdd AssignAddVariableOp AssignSub AssignSubVariableOp AssignVariableOp AssignVariableXlaConcatND
Atan Atan2 Atanh AudioSpectrogram AudioSummary AudioSummaryV2 AutoShardDataset AvgPool AvgPool3D AvgPool3DGrad AvgPoolGrad
Barrier BarrierClose BarrierIncompleteSize BarrierInsertMany BarrierReadySize BarrierTakeMany Batch BatchCholesky
BatchDataset BatchDatasetV2 BatchFunction BatchMatMul BatchMatMulV2 BatchMatMulV3 BatchMatrixBandPart BatchMatrixDeterminant
BatchMatrixDiag BatchMatrixDiagPart BatchMatrixInverse BatchMatrixSetDiag BatchMatrixSolve BatchMatrixSolveLs
BatchMatrixTriangularSolve BatchNormWithGlobalNormalization BatchNormWithGlobalNormalizationGrad BatchSelfAdjointEig
BatchSelfAdjointEigV2 BatchSvd BatchToSpace BatchToSpaceND BesselI0e BesselI1e Betainc BiasAdd BiasAddGrad BiasAddV1 Bincount
Bitcast BitwiseAnd BitwiseOr BitwiseXor BlockLSTM BlockLSTMGrad BlockLSTMGradV2 BlockLSTMV2 BoostedTreesAggregateStats
BoostedTreesBucketize BoostedTreesCalculateBestFeatureSplit BoostedTreesCalculateBestGainsPerFeature BoostedTreesCenterBias
BoostedTreesCreateEnsemble BoostedTreesCreateQuantileStreamResource BoostedTreesDeserializeEnsemble
BoostedTreesEnsembleResourceHandleOp BoostedTreesExampleDebugOutputs BoostedTreesGetEnsembleStates
BoostedTreesMakeQuantileSummaries BoostedTreesMakeStatsSummary BoostedTreesPredict BoostedTreesSerializeEnsemble
BoostedTreesTrainingPredict BoostedTreesUpdateEnsemble BoostedTreesUpdateEnsembleV2 BroadcastArgs BroadcastGradientArgs
BroadcastTo Bucketize CTCBeamSearchDecoder CTCGreedyDecoder CTCLoss CTCLossV2 CacheDataset CacheDatasetV2 Case Cast Ceil
CheckNumerics CheckNumericsV2 Cholesky CholeskyGrad ClipByValue CollectiveAllToAllV3 CollectiveBcastRecv CollectiveBcastRecvV2
CollectiveBcastSend CollectiveBcastSendV2 CollectiveGather CollectiveGatherV2 CollectivePermute CollectiveReduce
CollectiveReduceV2 CollectiveReduceV3 CombinedNonMaxSuppression CompareAndBitpack Complex ComplexAbs ComputeAccidentalHits
Concat ConcatOffset ConcatV2 ConcatenateDataset ConditionalAccumulator Conj ConjugateTranspose Const ConsumeMutexLock
ControlTrigger Conv Conv2D Conv2DBackpropFilter Conv2DBackpropFilterV2 Conv2DBackpropInput Conv2DBackpropInputV2 Conv3D
Conv3DBackpropFilter Conv3DBackpropFilterV2 Conv3DBackpropInput Conv3DBackpropInputV2 Copy CopyHost Cos Cosh CountUpTo
CropAndResize CropAndResizeGradBoxes CropAndResizeGradImage Cross CrossReplicaSum CudnnRNN CudnnRNNBackprop CudnnRNNBackpropV2
CudnnRNNBackpropV3 CudnnRNNCanonicalToParams CudnnRNNCanonicalToParamsV2 CudnnRNNParamsSize CudnnRNNParamsToCanonical
CudnnRNNParamsToCanonicalV2 CudnnRNNV2 CudnnRNNV3 Cumprod Cumsum CumulativeLogsumexp DataFormatDimMap DataFormatVecPermute
DatasetCardinality DatasetToGraph DatasetToGraphV2 DatasetToSingleElement DebugGradientIdentity DebugGradientRefIdentity
DecodeAndCropJpeg DecodeBase64 DecodeBmp DecodeCSV DecodeCompressed DecodeGif DecodeImage DecodeJSONExample DecodeJpeg
DecodePaddedRaw DecodePng DecodeProtoV2 DecodeRaw DecodeWav DeepCopy DeleteIterator DeleteMemoryCache
DeleteMultiDeviceIterator DeleteRandomSeedGenerator DeleteSeedGenerator DeleteSessionTensor DenseBincount
DenseToDenseSetOperation DenseToSparseBatchDataset DenseToSparseSetOperation DepthToSpace DepthwiseConv2dNative
DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput Dequantize DeserializeIterator
DeserializeManySparse DeserializeSparse DestroyResourceOp DestroyTemporaryVariable DeviceIndex Diag DiagPart Digamma
Dilation2D Dilation2DBackpropFilter Dilation2DBackpropInput DirectedInterleaveDataset DisableCopyOnRead Div DivNoNan
DrawBoundingBoxes DrawBoundingBoxesV2 DummyMemoryCache DummySeedGenerator DynamicEnqueueTPUEmbeddingArbitraryTensorBatch
DynamicPartition DynamicStitch EditDistance Eig Einsum Elu EluGrad Empty EmptyTensorList EmptyTensorMap EncodeBase64
EncodeJpeg EncodeJpegVariableQuality EncodePng EncodeProto EncodeWav EnqueueTPUEmbeddingArbitraryTensorBatch
EnqueueTPUEmbeddingIntegerBatch EnqueueTPUEmbeddingRaggedTensorBatch EnqueueTPUEmbeddingSparseBatch
EnqueueTPUEmbeddingSparseTensorBatch EnsureShape Enter Equal Erf Erfc Erfinv EuclideanNorm Exit Exp ExpandDims
ExperimentalAssertNextDataset ExperimentalAutoShardDataset ExperimentalBytesProducedStatsDataset
ExperimentalChooseFastestDataset ExperimentalDatasetCardinality ExperimentalDenseToSparseBatchDataset
ExperimentalDirectedInterleaveDataset ExperimentalGroupByReducerDataset ExperimentalGroupByWindowDataset
ExperimentalIgnoreErrorsDataset ExperimentalIteratorGetDevice ExperimentalLatencyStatsDataset
ExperimentalMapAndBatchDataset ExperimentalMapDataset ExperimentalMaxIntraOpParallelismDataset
ExperimentalNonSerializableDataset ExperimentalParallelInterleaveDataset ExperimentalParseExampleDataset
ExperimentalPrivateThreadPoolDataset ExperimentalRandomDataset ExperimentalRebatchDataset ExperimentalScanDataset
ExperimentalSetStatsAggregatorDataset ExperimentalSleepDataset ExperimentalSlidingWindowDataset
ExperimentalStatsAggregatorHandle ExperimentalStatsAggregatorSummary ExperimentalTakeWhileDataset
ExperimentalThreadPoolDataset ExperimentalThreadPoolHandle ExperimentalUnbatchDataset ExperimentalUniqueDataset Expint Expm1
ExtractGlimpse ExtractGlimpseV2 ExtractImagePatches ExtractJpegShape ExtractVolumePatches FFT FFT2D FFT3D FFTND FIFOQueue
FIFOQueueV2 Fact FakeParam FakeQuantWithMinMaxArgs FakeQuantWithMinMaxArgsGradient FakeQuantWithMinMaxVars
FakeQuantWithMinMaxVarsGradient FakeQuantWithMinMaxVarsPerChannel FakeQuantWithMinMaxVarsPerChannelGradient FakeQueue Fill
FilterByLastComponentDataset FilterDataset FinalizeDataset Fingerprint FlatMapDataset Floor FloorDiv FloorMod
FlushSummaryWriter For FractionalAvgPool FractionalAvgPoolGrad FractionalMaxPool FractionalMaxPoolGrad FresnelCos FresnelSin
FusedBatchNorm FusedBatchNormGrad FusedBatchNormGradV2 FusedBatchNormGradV3 FusedBatchNormV2 FusedBatchNormV3 FusedPadConv2D
FusedResizeAndPadConv2D GRUBlockCell GRUBlockCellGrad Gather GatherNd GatherV2 GenerateBoundingBoxProposals
GenerateVocabRemapping GeneratorDataset GetElementAtIndex GetOptions GetSessionHandle GetSessionHandleV2 GetSessionTensor
Greater GreaterEqual GroupByReducerDataset GroupByWindowDataset GuaranteeConst HSVToRGB HashTable HashTableV2
HistogramFixedWidth HistogramSummary IFFT IFFT2D IFFT3D IFFTND IRFFT IRFFT2D IRFFT3D IRFFTND Identity IdentityN
IdentityReader IdentityReaderV2 If Igamma IgammaGradA Igammac IgnoreErrorsDataset Imag ImageProjectiveTransformV2
ImageProjectiveTransformV3 ImageSummary ImportEvent InTopK InTopKV2 InfeedDequeue InfeedDequeueTuple
InfeedEnqueue InfeedEnqueueTuple InitializeTable InitializeTableFromDataset InitializeTableFromTextFile
InitializeTableFromTextFileV2 InitializeTableV2 InplaceAdd InplaceSub InplaceUpdate InterleaveDataset Inv InvGrad Invert
InvertPermutation IsBoostedTreesEnsembleInitialized IsFinite IsInf IsNan IsTPUEmbeddingInitialized IsVariableInitialized
IsotonicRegression Iterator IteratorFromStringHandle IteratorFromStringHandleV2 IteratorGetDevice IteratorGetNext
IteratorGetNextAsOptional IteratorGetNextSync IteratorToStringHandle IteratorV2 KMC2ChainInitialization
KmeansPlusPlusInitialization L2Loss LRN LRNGrad LSTMBlockCell LSTMBlockCellGrad LeakyRelu LeakyReluGrad
LearnedUnigramCandidateSampler LeftShift LegacyParallelInterleaveDatasetV2 Less LessEqual Lgamma LinSpace ListDataset
ListDiff LoadAndRemapMatrix LoadTPUEmbeddingAdagradParameters LoadTPUEmbeddingAdamParameters
LoadTPUEmbeddingStochasticGradientDescentParameters Log Log1p LogMatrixDeterminant LogSoftmax LogUniformCandidateSampler
LogicalAnd LogicalNot LogicalOr LookupTableExport LookupTableExportV2 LookupTableFind LookupTableFindV2 LookupTableImport
LookupTableImportV2 LookupTableInsert LookupTableInsertV2 LookupTableRemoveV2 LookupTableSize LookupTableSizeV2 LoopCond
LowerBound Lu MakeIterator MapAndBatchDataset MapClear MapDataset MapDefun MapIncompleteSize MapPeek MapSize MapStage
MapUnstage MapUnstageNoKey MatMul MatrixBandPart MatrixDeterminant MatrixDiag MatrixDiagPart MatrixDiagPartV2
MatrixDiagPartV3 MatrixDiagV2 MatrixDiagV3 MatrixExponential MatrixInverse MatrixLogarithm MatrixSetDiag MatrixSetDiagV2
MatrixSetDiagV3 MatrixSolve MatrixSolveLs MatrixSquareRoot MatrixTriangularSolve Max MaxIntraOpParallelismDataset MaxPool
MaxPool3D MaxPool3DGrad MaxPool3DGradGrad MaxPoolGrad MaxPoolGradGrad MaxPoolGradGradV2 MaxPoolGradGradWithArgmax
MaxPoolGradV2 MaxPoolGradWithArgmax MaxPoolV2 MaxPoolWithArgmax Maximum Mean Merge MergeSummary Min Minimum MirrorPad
MirrorPadGrad Mod ModelDataset Mul MulNoNan MultiDeviceIterator MultiDeviceIteratorFromStringHandle
MultiDeviceIteratorGetNextFromShard MultiDeviceIteratorInit MultiDeviceIteratorToStringHandle Multinomial
MutableDenseHashTable MutableDenseHashTableV2 MutableHashTable MutableHashTableOfTensors MutableHashTableOfTensorsV2
MutableHashTableV2 MutexLock MutexV2 NcclAllReduce NcclBroadcast NcclReduce Ndtri Neg NextAfter NextIteration NoOp
NonDeterministicInts NonMaxSuppression NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5
NonMaxSuppressionWithOverlaps NonSerializableDataset NotEqual NthElement OneHot OneShotIterator OnesLike OptimizeDataset
OptimizeDatasetV2 OptionalFromValue OptionalGetValue OptionalHasValue OptionalNone OptionsDataset OrderedMapClear
OrderedMapIncompleteSize OrderedMapPeek OrderedMapSize OrderedMapStage OrderedMapUnstage OrderedMapUnstageNoKey
OutfeedDequeue OutfeedDequeueTuple OutfeedDequeueTupleV2 OutfeedDequeueV2 OutfeedEnqueue OutfeedEnqueueTuple Pack Pad
PadV2 PaddedBatchDataset PaddedBatchDatasetV2 PaddingFIFOQueue PaddingFIFOQueueV2 ParallelBatchDataset ParallelConcat
ParallelDynamicStitch ParallelFilterDataset ParallelInterleaveDataset ParallelInterleaveDatasetV2
ParallelInterleaveDatasetV3 ParallelInterleaveDatasetV4 ParallelMapDataset ParallelMapDatasetV2
ParameterizedTruncatedNormal ParseExample ParseExampleDataset ParseExampleDatasetV2 ParseExampleV2
ParseSequenceExample ParseSequenceExampleV2 ParseSingleExample ParseSingleSequenceExample ParseTensor PartitionedCall
Placeholder PlaceholderV2 PlaceholderWithDefault Polygamma PopulationCount Pow PrefetchDataset Prelinearize
PrelinearizeTuple PreventGradient Print PriorityQueue PriorityQueueV2 PrivateThreadPoolDataset Prod Qr
QuantizeAndDequantize QuantizeAndDequantizeV2 QuantizeAndDequantizeV3 QuantizeAndDequantizeV4
QuantizeAndDequantizeV4Grad QuantizeDownAndShrinkRange QuantizeV2 QuantizedAdd QuantizedAvgPool
QuantizedBatchNormWithGlobalNormalization QuantizedBiasAdd QuantizedConcat QuantizedConv2D QuantizedConv2DAndRelu
QuantizedConv2DPerChannel QuantizedConv2DWithBias QuantizedDepthwiseConv2D QuantizedInstanceNorm QuantizedMatMul
QuantizedMatMulWithBias QuantizedMaxPool QuantizedMul QuantizedRelu QuantizedRelu6 QuantizedReluX QuantizedReshape
QuantizedResizeBilinear QueueClose QueueCloseV2 QueueDequeue QueueDequeueMany QueueDequeueManyV2 QueueDequeueUpTo
QueueDequeueUpToV2 QueueDequeueV2 QueueEnqueue QueueEnqueueMany QueueEnqueueManyV2 QueueEnqueueV2 QueueIsClosed
QueueIsClosedV2 QueueSize QueueSizeV2 RFFT RFFT2D RFFT3D RFFTND RGBToHSV RaggedBincount RaggedCountSparseOutput RaggedCross
RaggedFillEmptyRows RaggedGather RaggedRange RaggedTensorFromVariant RaggedTensorToSparse RaggedTensorToTensor
RaggedTensorToVariant RandomCrop RandomDataset RandomDatasetV2 RandomGamma RandomGammaGrad RandomIndexShuffle RandomPoisson
RandomPoissonV2 RandomShuffle RandomShuffleQueue RandomShuffleQueueV2 RandomStandardNormal RandomUniform RandomUniformInt
Range RangeDataset Rank ReadVariableOp ReadVariableXlaSplitND ReaderNumRecordsProduced ReaderNumRecordsProducedV2
ReaderNumWorkUnitsCompleted ReaderNumWorkUnitsCompletedV2 ReaderRead ReaderReadUpTo ReaderReadUpToV2 ReaderReadV2
ReaderReset ReaderResetV2 ReaderRestoreState ReaderRestoreStateV2 ReaderSerializeState ReaderSerializeStateV2 Real
RealDiv RebatchDataset RebatchDatasetV2 Reciprocal ReciprocalGrad RecordInput Recv ReduceDataset ReduceJoin RefEnter
RefExit RefIdentity RefMerge RefNextIteration RefSelect RefSwitch RegexFullMatch RegexReplace Relu Relu6 Relu6Grad
ReluGrad RemoteCall RepeatDataset RequantizationRange Requantize Reshape ResizeArea ResizeBicubic ResizeBicubicGrad
ResizeBilinear ResizeBilinearGrad ResizeNearestNeighbor ResizeNearestNeighborGrad ResourceAccumulatorApplyGradient
ResourceAccumulatorNumAccumulated ResourceAccumulatorSetGlobalStep ResourceAccumulatorTakeGradient ResourceApplyAdaMax
ResourceApplyAdadelta ResourceApplyAdagrad ResourceApplyAdagradDA ResourceApplyAdagradV2 ResourceApplyAdam
ResourceApplyAdamWithAmsgrad ResourceApplyAddSign ResourceApplyCenteredRMSProp ResourceApplyFtrl ResourceApplyFtrlV2
ResourceApplyGradientDescent ResourceApplyKerasMomentum ResourceApplyMomentum ResourceApplyPowerSign
ResourceApplyProximalAdagrad ResourceApplyProximalGradientDescent ResourceApplyRMSProp ResourceConditionalAccumulator
ResourceCountUpTo ResourceGather ResourceGatherNd ResourceScatterAdd ResourceScatterDiv ResourceScatterMax
ResourceScatterMin ResourceScatterMul ResourceScatterNdAdd ResourceScatterNdMax ResourceScatterNdMin ResourceScatterNdSub
ResourceScatterNdUpdate ResourceScatterSub ResourceScatterUpdate ResourceSparseApplyAdadelta ResourceSparseApplyAdagrad
ResourceSparseApplyAdagradDA ResourceSparseApplyAdagradV2 ResourceSparseApplyCenteredRMSProp ResourceSparseApplyFtrl
ResourceSparseApplyFtrlV2 ResourceSparseApplyKerasMomentum ResourceSparseApplyMomentum ResourceSparseApplyProximalAdagrad
ResourceSparseApplyProximalGradientDescent ResourceSparseApplyRMSProp ResourceStridedSliceAssign Reverse ReverseSequence
ReverseV2 RightShift Rint RngReadAndSkip RngSkip Roll Round Rsqrt RsqrtGrad SampleDistortedBoundingBox
SampleDistortedBoundingBoxV2 SamplingDataset ScalarSummary ScaleAndTranslate ScaleAndTranslateGrad ScanDataset ScatterAdd
ScatterDiv ScatterMax ScatterMin ScatterMul ScatterNd ScatterNdAdd ScatterNdMax ScatterNdMin ScatterNdNonAliasingAdd
ScatterNdSub ScatterNdUpdate ScatterSub ScatterUpdate SdcaFprint SdcaOptimizer SdcaOptimizerV2 SdcaShrinkL1 SegmentMax
SegmentMaxV2 SegmentMean SegmentMin SegmentMinV2 SegmentProd SegmentProdV2 SegmentSum SegmentSumV2 Select SelectV2
SelfAdjointEig SelfAdjointEigV2 Selu SeluGrad Send SerializeIterator SerializeManySparse SerializeSparse SerializeTensor
SetSize SetStatsAggregatorDataset Shape ShapeN ShardDataset ShardedFilename ShardedFilespec ShuffleAndRepeatDataset
ShuffleAndRepeatDatasetV2 ShuffleDataset ShuffleDatasetV2 ShuffleDatasetV3 ShutdownDistributedTPU Sigmoid SigmoidGrad
Sign Sin Sinh Size SkipDataset SleepDataset Slice SlidingWindowDataset Snapshot Softmax SoftmaxCrossEntropyWithLogits
Softplus SoftplusGrad Softsign SoftsignGrad SpaceToBatch SpaceToBatchND SpaceToDepth SparseAccumulatorApplyGradient
SparseAccumulatorTakeGradient SparseAdd SparseAddGrad SparseApplyAdadelta SparseApplyAdagrad SparseApplyFtrl
SparseApplyMomentum SparseApplyRMSProp SparseBincount SparseConcat SparseConditionalAccumulator SparseCountSparseOutput
SparseCross SparseCrossHashed SparseCrossV2 SparseDenseCwiseAdd SparseDenseCwiseDiv SparseDenseCwiseMul SparseFillEmptyRows
SparseFillEmptyRowsGrad SparseMatMul SparseReduceMax SparseReduceMaxSparse SparseReduceSum SparseReduceSumSparse
SparseReorder SparseReshape SparseSegmentMean SparseSegmentMeanGrad SparseSegmentMeanGradV2 SparseSegmentMeanWithNumSegments
SparseSegmentSqrtN SparseSegmentSqrtNGrad SparseSegmentSqrtNWithNumSegments SparseSegmentSum SparseSegmentSumGrad
SparseSegmentSumWithNumSegments SparseSlice SparseSliceGrad SparseSoftmax SparseSoftmaxCrossEntropyWithLogits
SparseSparseMaximum SparseSparseMinimum SparseSplit SparseTensorDenseAdd SparseTensorDenseMatMul SparseTensorSliceDataset
SparseTensorToCSRSparseMatrix SparseToDense SparseToSparseSetOperation Spence Split SplitV Sqrt SqrtGrad Square
SquaredDifference Squeeze Stack StackClose StackCloseV2 StackPop StackPopV2 StackPush StackPushV2 StackV2 Stage StageClear
StagePeek StageSize StatefulPartitionedCall StatefulRandomBinomial StatefulStandardNormal StatefulStandardNormalV2
StatefulTruncatedNormal StatefulUniform StatefulUniformFullInt StatefulUniformInt StatelessCase StatelessIf
StatelessMultinomial StatelessParameterizedTruncatedNormal StatelessRandomBinomial StatelessRandomGammaV2
StatelessRandomGammaV3 StatelessRandomGetAlg StatelessRandomGetKeyCounter StatelessRandomGetKeyCounterAlg
StatelessRandomNormal StatelessRandomNormalV2 StatelessRandomPoisson StatelessRandomUniform StatelessRandomUniformFullInt
StatelessRandomUniformFullIntV2 StatelessRandomUniformInt StatelessRandomUniformIntV2 StatelessRandomUniformV2
StatelessSampleDistortedBoundingBox StatelessShuffle StatelessTruncatedNormal StatelessTruncatedNormalV2 StatelessWhile
StaticRegexFullMatch StaticRegexReplace StatsAggregatorHandle StatsAggregatorHandleV2 StatsAggregatorSetSummaryWriter
StatsAggregatorSummary StopGradient StoreMinibatchStatisticsInFdo StridedSlice StridedSliceAssign StridedSliceGrad
StringFormat StringJoin StringLength StringLower StringNGrams StringSplit StringSplitV2 StringStrip StringToHashBucket
StringToHashBucketFast StringToHashBucketStrong StringToNumber StringUpper Sub Substr Sum SummaryWriter Svd Switch
SymbolicGradient SyncDevice TPUCompilationResult TPUCompile TPUCompileSucceededAssert TPUCopyWithDynamicShape
TPUEmbeddingActivations TPUExecute TPUExecuteAndUpdateVariables TPUOrdinalSelector TPUPartitionedCall TPUPartitionedInput
TPUPartitionedInputV2 TPUPartitionedOutput TPUPartitionedOutputV2 TPUReplicateMetadata TPUReplicatedInput
TPUReplicatedOutput TakeDataset TakeManySparseFromTensorsMap TakeWhileDataset Tan Tanh TanhGrad TemporaryVariable
TensorArray TensorArrayClose TensorArrayCloseV2 TensorArrayCloseV3 TensorArrayConcat TensorArrayConcatV2
TensorArrayConcatV3 TensorArrayGather TensorArrayGatherV2 TensorArrayGatherV3 TensorArrayGrad TensorArrayGradV2
TensorArrayGradV3 TensorArrayGradWithShape TensorArrayPack TensorArrayRead TensorArrayReadV2 TensorArrayReadV3
TensorArrayScatter TensorArrayScatterV2 TensorArrayScatterV3 TensorArraySize TensorArraySizeV2 TensorArraySizeV3
TensorArraySplit TensorArraySplitV2 TensorArraySplitV3 TensorArrayUnpack TensorArrayV2 TensorArrayV3 TensorArrayWrite
TensorArrayWriteV2 TensorArrayWriteV3 TensorDataset TensorListConcat TensorListConcatLists TensorListConcatV2
TensorListElementShape TensorListFromTensor TensorListGather TensorListGetItem TensorListLength TensorListPopBack
TensorListPushBack TensorListPushBackBatch TensorListReserve TensorListResize TensorListScatter
TensorListScatterIntoExistingList TensorListScatterV2 TensorListSetItem TensorListSplit TensorListStack TensorMapErase
TensorMapHasKey TensorMapInsert TensorMapLookup TensorMapSize TensorMapStackKeys TensorScatterAdd TensorScatterMax
TensorScatterMin TensorScatterSub TensorScatterUpdate TensorSliceDataset TensorStridedSliceUpdate TensorSummary
TensorSummaryV2 ThreadPoolDataset ThreadPoolHandle ThreadUnsafeUnigramCandidateSampler Tile TileGrad Timestamp ToBool
TopK TopKV2 Transpose TridiagonalMatMul TridiagonalSolve TruncateDiv TruncateMod TruncatedNormal UnbatchDataset
UncompressElement UnicodeDecode UnicodeDecodeWithOffsets UnicodeEncode UnicodeScript UnicodeTranscode
UniformCandidateSampler UniformDequantize UniformQuantize UniformQuantizedAdd UniformQuantizedClipByValue
UniformQuantizedConvolution UniformQuantizedDot UniformRequantize Unique UniqueDataset UniqueV2 UniqueWithCounts
UniqueWithCountsV2 Unpack UnravelIndex UnsortedSegmentJoin UnsortedSegmentMax UnsortedSegmentMin UnsortedSegmentProd
UnsortedSegmentSum Unstage UnwrapDatasetVariant UpperBound VarHandleOp VarIsInitializedOp Variable VariableShape
VariableV2 Where While WindowDataset WindowOp WorkerHeartbeat WrapDatasetVariant WriteAudioSummary WriteGraphSummary
WriteHistogramSummary WriteImageSummary WriteRawProtoSummary WriteScalarSummary WriteSummary Xdivy XlaConcatND
XlaHostCompute XlaLaunch XlaRecvFromHost XlaRecvTPUEmbeddingActivations XlaSendToHost XlaSendTPUEmbeddingGradients
XlaShardingOp XlaSplitND XlaSpmdFullToShardShape XlaSpmdShardToFullShape Xlog1py Xlogy ZerosLike Zeta ZipDataset

`) {
		m[n] = true
	}
	return m
}()
