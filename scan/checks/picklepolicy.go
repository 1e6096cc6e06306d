package checks

import (
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// This file is the pickle policy as data: which callables a pickle may make
// a real load call, which it must not, and why. Read it top to bottom.
//
// A callable is judged after resolving what a real load reaches (see
// Verdict): module aliases are mapped to the module they stand for, and a
// dotted name is judged as every module path it can walk to, so
// STACK_GLOBAL("pathlib", "os.system") is judged as os.system.
//
// Order: the deny-list first (most severe match wins), then the exact
// allow-list and the class namespaces, then the fallbacks: a standard
// library callable that is not allowed is high, anything else medium.

// category is why a callable is denied; each maps to one rule.
type category int

const (
	catExec     category = iota // runs code or commands: critical
	catNested                   // deserialises another payload: critical
	catFile                     // reads, writes or deletes files: high
	catNetwork                  // opens connections: high
	catResolver                 // reaches arbitrary names at load time: high
)

type denyEntry struct {
	pattern string // a module (and its sub-modules and names) or a qualified name
	cat     category
	why     string
}

// denyList: each entry with a short reason and where it was published.
var denyList = []denyEntry{
	// Code execution in builtins.
	{"builtins.eval", catExec, "evaluates a Python expression"},
	{"builtins.exec", catExec, "executes Python code"},
	{"builtins.execfile", catExec, "executes a Python file (Python 2)"},
	{"builtins.compile", catExec, "compiles code objects for exec"},
	{"builtins.apply", catExec, "calls any callable (Python 2)"},
	{"builtins.breakpoint", catExec, "starts a debugger that executes commands"},
	{"builtins.__import__", catResolver, "imports any module by name at load time"},
	{"builtins.getattr", catResolver, "reaches any attribute at load time (picklescan GHSA-955r-x9j8-7rhh)"},
	{"builtins.setattr", catResolver, "overwrites attributes of modules or objects at load time"},
	{"builtins.delattr", catResolver, "deletes attributes of modules or objects at load time"},
	{"builtins.globals", catResolver, "exposes the loader's globals"},
	{"builtins.locals", catResolver, "exposes the loader's locals"},
	{"builtins.vars", catResolver, "exposes a namespace"},
	{"builtins.open", catFile, "opens a file"},
	{"builtins.file", catFile, "opens a file (Python 2)"},
	{"builtins.input", catExec, "reads from the terminal (Python 2 input evaluates it)"},

	// Processes and the operating system.
	{"os", catExec, "os.system, os.popen, os.exec*, os.spawn* run commands; the rest touches files and processes"},
	{"subprocess", catExec, "runs commands"},
	{"pty", catExec, "pty.spawn runs commands"},
	{"popen2", catExec, "runs commands (Python 2)"},
	{"platform.popen", catExec, "runs commands (Python 2/3.7)"},
	{"multiprocessing", catExec, "starts processes (multiprocessing.util.spawnv_passfds: modelscan#338)"},
	{"asyncio.unix_events", catExec, "_UnixSubprocessTransport._start runs commands (GHSA-jgw4-cr84-mqxg)"},
	{"asyncio.subprocess", catExec, "runs commands"},
	{"asyncio.base_subprocess", catExec, "runs commands"},
	{"asyncio.windows_events", catExec, "runs commands"},
	{"uuid._get_command_stdout", catExec, "runs a command (picklescan GHSA-g38g-8gr9-h9xp)"},
	{"_osx_support", catExec, "_read_output and _find_build_tool run commands (GHSA-g38g-8gr9-h9xp)"},
	{"_aix_support", catExec, "_read_cmd_output runs commands (GHSA-g38g-8gr9-h9xp)"},
	{"imaplib.IMAP4_stream", catExec, "runs a command as its transport (GHSA-g38g-8gr9-h9xp)"},
	{"_pyrepl", catExec, "_pyrepl.pager.pipe_pager runs a command (GHSA-g38g-8gr9-h9xp)"},
	{"pydoc", catExec, "pydoc.pipepager runs commands; pydoc.locate reaches any name (GHSA-84r2-jw7c-4r5q)"},
	{"test", catExec, "test.support.script_helper runs Python code (GHSA-g38g-8gr9-h9xp)"},
	{"webbrowser", catExec, "starts a browser process on a URL"},
	{"antigravity", catExec, "opens a web browser when imported"},
	{"ctypes", catExec, "calls native code (picklescan GHSA-4675-36f9-wf6r)"},
	{"_ctypes", catExec, "calls native code"},
	{"cffi", catExec, "calls native code"},

	// Interpreters, debuggers, profilers and timers that execute their input.
	{"runpy", catExec, "runs modules and code (GHSA-cj3c-v495-4xqh)"},
	{"code", catExec, "InteractiveInterpreter.runcode executes code (GHSA-m869-42cg-3xwr)"},
	{"codeop", catExec, "compiles code"},
	{"doctest", catExec, "debug_script executes code (GHSA-j343-8v2j-ff7w)"},
	{"pdb", catExec, "the debugger executes its commands"},
	{"bdb", catExec, "Bdb.run executes code (GHSA-3gf5-cxq9-w223)"},
	{"cProfile", catExec, "cProfile.run executes code (GHSA-49gj-c84q-6qm9)"},
	{"profile", catExec, "profile.run executes code (GHSA-9w88-8rmg-7g2p)"},
	{"trace", catExec, "Trace.run executes code (GHSA-7wx9-6375-f5wh)"},
	{"timeit", catExec, "timeit.timeit executes code (GHSA-g344-hcph-8vgg)"},
	{"idlelib", catExec, "runcode, fetch_tip and get_entity execute code (CVE-2025-71354)"},
	{"lib2to3", catExec, "Grammar.loads unpickles; make_label evaluates (GHSA-fqq6-7vqf-w3fg)"},
	{"pip", catExec, "pip.main installs an attacker's package (CVE-2025-1716)"},
	{"ensurepip", catExec, "_run_pip runs pip (GHSA-5hwf-rc88-82xm)"},
	{"venv", catExec, "venv.create runs pip"},
	{"setuptools", catExec, "setuptools.sandbox runs setup scripts"},
	{"distutils", catExec, "spawn runs commands; file_util writes files"},
	{"imp", catExec, "imp.load_source executes a file"},
	{"zipimport", catExec, "imports code from an archive"},
	{"site", catExec, "addsitedir executes .pth files"},
	{"importlib.machinery", catExec, "loads code from files"},
	{"importlib.util", catExec, "loads code from files"},
	{"logging.config", catExec, "listen starts a socket server; configs resolve and call any name"},
	{"sys", catResolver, "sys.modules and settrace let a pickle replace modules or hooks (picklescan sys_module_override)"},

	// Code objects and function construction.
	{"marshal", catExec, "marshal.loads makes code objects that are then called (modelscan-pickle-bypass-poc)"},
	{"types.CodeType", catExec, "constructs a code object"},
	{"types.FunctionType", catExec, "turns a code object into a callable"},
	{"types.LambdaType", catExec, "turns a code object into a callable"},
	{"types.MethodType", catExec, "binds a callable"},
	{"dill._dill._create_code", catExec, "constructs a code object"},
	{"dill._dill._create_function", catExec, "constructs a function from a code object"},
	{"dill._dill._load_type", catResolver, "returns any built-in type by name, including CodeType"},
	{"dill._dill._import_module", catResolver, "imports any module by name"},
	{"dill._dill._get_attr", catResolver, "reaches any attribute"},
	{"dill._dill._eval_repr", catExec, "evaluates a repr"},
	{"dill.loads", catNested, "deserialises another payload"},
	{"dill.load", catNested, "deserialises another payload"},
	{"dill._dill.loads", catNested, "deserialises another payload"},
	{"cloudpickle", catExec, "cloudpickle internals rebuild functions from code objects (picklescan cloudpickle_codeinjection)"},
	{"numpy.testing._private.utils.runstring", catExec, "executes a string (GHSA-r8g5-cgf2-4m4m)"},
	{"numpy.f2py", catExec, "crackfortran evaluates expressions (picklescan malicious22)"},
	{"numpy.distutils", catExec, "exec_command runs commands"},
	{"numpy.core._ufunc_reconstruct", catResolver, "imports any module and returns any attribute (how ufuncs pickle)"},
	{"numpy._core._ufunc_reconstruct", catResolver, "imports any module and returns any attribute (how ufuncs pickle)"},

	// PyTorch internals that execute code or load another payload.
	{"torch._inductor", catExec, "codecache.compile_file compiles and loads code (GHSA-vr7h-p6mm-wpmh)"},
	{"torch._dynamo", catExec, "GuardBuilder.get evaluates guards (GHSA-f745-w6jp-hpxx)"},
	{"torch.jit.unsupported_tensor_ops.execWrapper", catExec, "executes code (GHSA-86cj-95qr-2p4f)"},
	{"torch.jit.annotations.parse_type_line", catExec, "evaluates a type comment (CVE-2022-45907)"},
	{"torch.fx.experimental.symbolic_shapes", catExec, "ShapeEnv.evaluate_guards_expression evaluates code (GHSA-f4x7-rfwp-v3xw)"},
	{"torch.utils.collect_env", catExec, "run executes a command (GHSA-jhph-76pp-mggw)"},
	{"torch.utils.bottleneck", catExec, "run_cprofile executes code (GHSA-4r9r-ch6f-vxmx)"},
	{"torch.utils.cpp_extension", catExec, "compiles and loads native code"},
	{"torch.distributed.rpc", catExec, "calls remote functions (CVE-2024-5480)"},
	{"torch.package", catExec, "PackageImporter imports code from a package"},
	{"torch.hub", catExec, "downloads and runs a repository's hubconf"},
	{"torch.load", catNested, "deserialises another payload"},
	{"torch.serialization.load", catNested, "deserialises another payload"},
	{"torch.storage._load_from_bytes", catNested, "deserialises another payload"},
	{"torch.utils._config_module", catNested, "ConfigModule.load_config unpickles its argument"},
	{"torch.utils.data.datapipes.utils.decoder", catNested, "basichandlers unpickles data"},
	{"mlflow.projects.backend.local._run_entry_point", catExec, "runs a command (arXiv 2508.19774)"},

	// Other deserialisers: the payload is analysed too, but the call itself
	// is a second stage.
	{"pickle", catNested, "pickle.loads runs a second pickle (picklescan malicious13)"},
	{"_pickle", catNested, "deserialises another payload"},
	{"shelve", catNested, "opens a pickle database"},
	{"joblib.load", catNested, "deserialises another payload"},
	{"joblib.numpy_pickle.load", catNested, "deserialises another payload"},
	{"numpy.load", catNested, "numpy.load(allow_pickle=True) deserialises a payload"},
	{"numpy.loads", catNested, "alias of pickle.loads in old numpy"},
	{"numpy.core.numeric.loads", catNested, "alias of pickle.loads in old numpy"},
	{"pandas.read_pickle", catNested, "deserialises another payload"},
	{"pandas.io.pickle", catNested, "deserialises another payload"},
	{"keras.models.load_model", catNested, "loads a model, possibly with Lambda layers"},
	{"yaml.load", catExec, "yaml.load with the default loader constructs any object (CVE-2021-37678)"},
	{"yaml.unsafe_load", catExec, "constructs any object"},

	// Resolvers: one of them reaches every denied callable.
	{"importlib", catResolver, "import_module imports any module (picklescan#66)"},
	{"pkgutil", catResolver, "resolve_name reaches any name (GHSA-vvpj-8cmc-gx39)"},
	{"operator.attrgetter", catResolver, "reaches any attribute (picklescan malicious12)"},
	{"operator.methodcaller", catResolver, "calls any method (GHSA-84r2-jw7c-4r5q)"},
	{"operator.itemgetter", catResolver, "reaches into containers such as sys.modules"},
	{"functools.reduce", catResolver, "calls a function repeatedly (GHSA-46h3-79wf-xr6c)"},
	{"inspect", catResolver, "reaches frames and globals"},
	{"gc", catResolver, "reaches every live object"},

	// Files.
	{"io.open", catFile, "opens a file"},
	{"io.FileIO", catFile, "opens a file (picklescan io_FileIO)"},
	{"io.open_code", catFile, "opens a file"},
	{"shutil", catFile, "copies, moves and deletes files"},
	{"tempfile", catFile, "creates files"},
	{"glob", catFile, "lists files"},
	{"fileinput", catFile, "reads files"},
	{"linecache", catFile, "reads files"},
	{"logging.FileHandler", catFile, "creates a file (picklescan logging_FileHandler)"},
	{"logging.handlers", catFile, "creates files and opens sockets"},
	{"zipfile", catFile, "reads and writes archives"},
	{"tarfile", catFile, "extracts archives anywhere"},
	{"dbm", catFile, "opens database files"},
	{"sqlite3", catFile, "opens database files"},
	{"mmap", catFile, "maps files"},
	{"pathlib.Path.write_text", catFile, "writes a file"},
	{"pathlib.Path.write_bytes", catFile, "writes a file"},
	{"pathlib.Path.unlink", catFile, "deletes a file"},
	{"pathlib.Path.read_text", catFile, "reads a file"},
	{"pathlib.Path.read_bytes", catFile, "reads a file"},
	{"pathlib.Path.open", catFile, "opens a file"},
	{"codecs.open", catFile, "opens a file"},
	{"gzip.open", catFile, "opens a file"},
	{"bz2.open", catFile, "opens a file"},
	{"lzma.open", catFile, "opens a file"},
	{"numpy.save", catFile, "writes a file"},
	{"numpy.savetxt", catFile, "writes a file"},
	{"numpy.fromfile", catFile, "reads a file"},
	{"numpy.memmap", catFile, "maps a file"},
	{"numpy.loadtxt", catFile, "reads a file"},
	{"torch.save", catFile, "writes a file"},
	{"pandas.io", catFile, "reads and writes files and URLs"},
	{"pandas.read_csv", catFile, "reads a file or URL"},
	{"pandas.read_json", catFile, "reads a file or URL"},
	{"pandas.read_html", catFile, "reads a file or URL"},
	{"pandas.read_excel", catFile, "reads a file or URL"},

	// Network.
	{"socket", catNetwork, "opens connections"},
	{"_socket", catNetwork, "opens connections"},
	{"ssl", catNetwork, "ssl.get_server_certificate connects out (picklescan dns_exfiltration)"},
	{"http.client", catNetwork, "opens HTTP connections"},
	{"http.server", catNetwork, "starts HTTP servers"},
	{"http.cookiejar", catNetwork, "reads and writes cookie files"},
	{"urllib.request", catNetwork, "urlopen fetches a URL (picklescan urllib_request_urlopen)"},
	{"ftplib", catNetwork, "opens FTP connections"},
	{"smtplib", catNetwork, "sends mail"},
	{"poplib", catNetwork, "opens mail connections"},
	{"imaplib", catNetwork, "opens mail connections"},
	{"nntplib", catNetwork, "opens connections"},
	{"telnetlib", catNetwork, "opens connections"},
	{"xmlrpc", catNetwork, "calls remote procedures"},
	{"socketserver", catNetwork, "starts servers"},
	{"asyncio", catNetwork, "opens connections and starts processes"},
	{"requests", catNetwork, "fetches URLs"},
	{"urllib3", catNetwork, "fetches URLs"},
	{"httpx", catNetwork, "fetches URLs"},
	{"aiohttp", catNetwork, "fetches URLs"},
	{"huggingface_hub", catNetwork, "downloads files"},
	{"paramiko", catNetwork, "opens SSH connections and runs commands"},
}

// allowList: callables that real ML libraries put in pickles and whose
// load-time behaviour is to rebuild data. Exact names.
var allowList = map[string]string{
	// The standard library's own reconstructors and value types.
	"copyreg._reconstructor":  "how protocol 0/1 rebuilds objects",
	"copyreg.__newobj__":      "how protocol 2 rebuilds objects",
	"copyreg.__newobj_ex__":   "how protocol 4 rebuilds objects",
	"builtins.object":         "base object",
	"builtins.set":            "container",
	"builtins.frozenset":      "container",
	"builtins.list":           "container",
	"builtins.dict":           "container",
	"builtins.tuple":          "container",
	"builtins.bytearray":      "bytes",
	"builtins.bytes":          "bytes",
	"builtins.str":            "text",
	"builtins.int":            "number",
	"builtins.float":          "number",
	"builtins.complex":        "number",
	"builtins.bool":           "boolean",
	"builtins.slice":          "slice",
	"builtins.range":          "range",
	"builtins.Ellipsis":       "constant",
	"builtins.NotImplemented": "constant",
	"builtins.type":           "type(None) and friends in sklearn parameters",
	"builtins.xrange":         "Python 2 range",
	"builtins.unicode":        "Python 2 str",
	"builtins.long":           "Python 2 int",
	"builtins.basestring":     "Python 2 str",
	"pytz._UTC":               "time zone of pandas timestamps",
	"pytz._p":                 "time zone of pandas timestamps",
	"dateutil.tz.tz.tzutc":    "time zone",
	"dateutil.tz.tz.tzoffset": "time zone",
	"dateutil.tz.tz.tzlocal":  "time zone",
	// TorchScript's own pickles (debug info, constants) use these builders.
	"torch.jit._pickle.build_intlist":        "TorchScript list",
	"torch.jit._pickle.build_tensorlist":     "TorchScript list",
	"torch.jit._pickle.build_doublelist":     "TorchScript list",
	"torch.jit._pickle.build_boollist":       "TorchScript list",
	"torch.jit._pickle.build_tensor_from_id": "TorchScript tensor",
	"torch.jit._pickle.restore_type_tag":     "TorchScript type tag",
	"collections.OrderedDict":                "state dicts",
	"collections.defaultdict":                "container",
	"collections.deque":                      "container",
	"collections.Counter":                    "container",
	"collections.ChainMap":                   "container",
	"datetime.datetime":                      "value",
	"datetime.date":                          "value",
	"datetime.time":                          "value",
	"datetime.timedelta":                     "value",
	"datetime.timezone":                      "value",
	"decimal.Decimal":                        "value",
	"fractions.Fraction":                     "value",
	"uuid.UUID":                              "value",
	"uuid.SafeUUID":                          "value",
	"re._compile":                            "compiled regular expressions",
	"codecs.encode":                          "how protocol 2 pickles bytes",
	"functools.partial":                      "the wrapped callable is judged on its own",
	"operator.getitem":                       "typing generics pickle as getitem(typing.List, int)",
	"operator.or_":                           "combined enum flags pickle as or_(A, B)",
	"operator.and_":                          "combined enum flags",
	"operator.xor":                           "combined enum flags",
	"operator.invert":                        "inverted enum flags",
	"re.RegexFlag":                           "regular expression flags",
	"array.array":                            "array",
	"array._array_reconstructor":             "array",
	"zoneinfo.ZoneInfo._unpickle":            "time zone",
	"pathlib.Path":                           "path value (Lightning and fastai checkpoints)",
	"pathlib.PosixPath":                      "path value",
	"pathlib.WindowsPath":                    "path value",
	"pathlib.PurePath":                       "path value",
	"pathlib.PurePosixPath":                  "path value",
	"pathlib.PureWindowsPath":                "path value",
	"argparse.Namespace":                     "training arguments in fairseq and Lightning checkpoints",
	"types.SimpleNamespace":                  "namespace value",
	"types.NoneType":                         "type(None), as dill pickles it",
	"types.EllipsisType":                     "type(...)",
	"types.NotImplementedType":               "type(NotImplemented)",
	"enum.Enum":                              "enum",
	"ipaddress.IPv4Address":                  "value",

	// PyTorch tensor and storage rebuilds.
	"torch._utils._rebuild_tensor":                   "tensor",
	"torch._utils._rebuild_tensor_v2":                "tensor",
	"torch._utils._rebuild_tensor_v3":                "tensor",
	"torch._utils._rebuild_parameter":                "parameter",
	"torch._utils._rebuild_parameter_with_state":     "parameter",
	"torch._utils._rebuild_parameter_v2":             "parameter",
	"torch._utils._rebuild_qtensor":                  "quantized tensor",
	"torch._utils._rebuild_sparse_tensor":            "sparse tensor",
	"torch._utils._rebuild_sparse_csr_tensor":        "sparse tensor",
	"torch._utils._rebuild_device_tensor_from_numpy": "tensor",
	"torch._utils._rebuild_meta_tensor_no_storage":   "tensor",
	"torch._utils._rebuild_wrapper_subclass":         "tensor",
	"torch._utils._rebuild_nested_tensor":            "tensor",
	"torch._utils._rebuild_mkldnn_tensor":            "tensor",
	"torch._utils._rebuild_xla_tensor":               "tensor",
	"torch._tensor._rebuild_from_type":               "tensor subclass",
	"torch._tensor._rebuild_from_type_v2":            "tensor subclass",
	"torch.serialization._get_layout":                "layout",
	"torch._utils._set_obj_state":                    "tensor state",
	"torch.Size":                                     "shape",
	"torch.device":                                   "device",
	"torch.storage._StorageBase":                     "storage",
	"torch.storage.TypedStorage":                     "storage",
	"torch.storage.UntypedStorage":                   "storage",
	"torch.nn.parameter.Parameter":                   "parameter",
	"torch.nn.parameter.UninitializedParameter":      "parameter",
	"torch.nn.parameter.Buffer":                      "buffer",

	// NumPy.
	"numpy.core.multiarray._reconstruct":        "array",
	"numpy._core.multiarray._reconstruct":       "array",
	"numpy.core.multiarray.scalar":              "scalar",
	"numpy._core.multiarray.scalar":             "scalar",
	"numpy.core.numeric._frombuffer":            "array (protocol 5)",
	"numpy._core.numeric._frombuffer":           "array (protocol 5)",
	"numpy.ndarray":                             "array",
	"numpy.dtype":                               "dtype",
	"numpy.ma.core._mareconstruct":              "masked array",
	"numpy.random._pickle.__randomstate_ctor":   "random state",
	"numpy.random._pickle.__bit_generator_ctor": "random state",
	"numpy.random._pickle.__generator_ctor":     "random state",
	"numpy.matrixlib.defmatrix.matrix":          "matrix",

	// scikit-learn, SciPy and pandas functions (their classes are allowed by
	// namespace below).
	"sklearn.neighbors._kd_tree.newObj":                  "KD tree",
	"sklearn.neighbors._ball_tree.newObj":                "ball tree",
	"pandas._libs.internals._unpickle_block":             "data frame block",
	"pandas.core.internals.blocks.new_block":             "data frame block",
	"pandas.core.indexes.base._new_Index":                "index",
	"pandas.core.indexes.datetimes._new_DatetimeIndex":   "index",
	"pandas.core.indexes.period._new_PeriodIndex":        "index",
	"pandas._libs.tslibs.timestamps._unpickle_timestamp": "timestamp",
	"pandas._libs.tslibs.timedeltas._timedelta_unpickle": "timedelta",
	"pandas._libs.tslibs.nattype.__nat_unpickle":         "NaT",
	"pandas._libs.arrays.__pyx_unpickle_NDArrayBacked":   "extension array",
	"pandas.core.arrays.categorical._unpickle":           "categorical",
	"pandas._libs.tslibs.offsets._unpickle":              "offset",
	"joblib.numpy_pickle.NumpyArrayWrapper":              "array written after the pickle",
	"joblib.numpy_pickle.NDArrayWrapper":                 "array in a side file",
	"joblib.numpy_pickle.ZNDArrayWrapper":                "array in a side file",
}

// numpyScalarTypes are numpy scalar classes that scikit-learn parameters
// reference directly (dtype=np.float64).
var numpyScalarTypes = []string{"float64", "float32", "float16", "longdouble", "int64",
	"int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "intc", "intp",
	"uintp", "longlong", "ulonglong", "bool_", "complex64", "complex128", "clongdouble",
	"object_", "str_", "bytes_", "void", "datetime64", "timedelta64", "number", "floating",
	"integer", "signedinteger", "unsignedinteger", "inexact", "generic"}

// torchDtypes are dtype, layout, memory-format and qscheme constants that
// pickles reference as torch.<name>.
var torchConstants = []string{"float32", "float", "float64", "double", "float16", "half",
	"bfloat16", "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool",
	"uint16", "uint32", "uint64", "complex32", "complex64", "complex128", "cfloat", "cdouble",
	"chalf", "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn",
	"float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "strided", "sparse_coo", "sparse_csr",
	"sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "contiguous_format", "channels_last",
	"channels_last_3d", "preserve_format", "per_tensor_affine", "per_channel_affine",
	"per_tensor_symmetric", "per_channel_symmetric", "per_channel_affine_float_qparams",
	"BoolStorage", "ByteStorage", "CharStorage", "ShortStorage", "IntStorage", "LongStorage",
	"HalfStorage", "FloatStorage", "DoubleStorage", "BFloat16Storage", "ComplexFloatStorage",
	"ComplexDoubleStorage", "QUInt8Storage", "QInt8Storage", "QInt32Storage",
	"QUInt4x2Storage", "QUInt2x4Storage", "UntypedStorage", "TypedStorage",
	"Float8_e4m3fnStorage", "Float8_e5m2Storage"}

func init() {
	for _, n := range numpyScalarTypes {
		allowList["numpy."+n] = "numpy scalar type"
	}
	for _, n := range torchConstants {
		allowList["torch."+n] = "torch dtype, layout or storage type"
	}
}

// classNamespaces: modules of ML libraries whose classes a pickle may
// instantiate: estimators, layers, optimizers, frames. Only class names
// (CapWords, no dots) are allowed this way; functions and methods are not.
var classNamespaces = []string{
	"torch.nn.modules",
	"torch.nn.utils.parametrize",
	"torch.ao.nn",
	"torch.nn.quantized",
	"torch.nn.intrinsic",
	"torch.ao.quantization",
	"torch.optim",
	"sklearn",
	"scipy.sparse",
	"scipy.stats._distn_infrastructure",
	"pandas.core",
	"pandas._libs",
	"numpy.dtypes",
	"numpy.random",
	"joblib.numpy_pickle",
	"xgboost.core",
	"xgboost.sklearn",
	"lightgbm.basic",
	"lightgbm.sklearn",
	"catboost.core",
	"transformers.tokenization_utils_base",
	"typing", // special forms (Any, List, Union…); its functions (get_type_hints evaluates strings) are not classes
}

// moduleAliases map a module name to the module a real load gets: C
// accelerators, OS-specific names and the Python 2 names that
// _compat_pickle translates.
var moduleAliases = map[string]string{
	"posix":                        "os",
	"nt":                           "os",
	"posixpath":                    "os.path",
	"ntpath":                       "os.path",
	"__builtin__":                  "builtins",
	"__builtins__":                 "builtins",
	"exceptions":                   "builtins",
	"copy_reg":                     "copyreg",
	"_pickle":                      "pickle",
	"cPickle":                      "pickle",
	"_io":                          "io",
	"_pyio":                        "io",
	"_operator":                    "operator",
	"_functools":                   "functools",
	"_codecs":                      "codecs",
	"_collections":                 "collections",
	"_posixsubprocess":             "subprocess",
	"commands":                     "subprocess",
	"_socket":                      "socket",
	"_ssl":                         "ssl",
	"httplib":                      "http.client",
	"urllib2":                      "urllib.request",
	"SimpleHTTPServer":             "http.server",
	"BaseHTTPServer":               "http.server",
	"CGIHTTPServer":                "http.server",
	"SocketServer":                 "socketserver",
	"xmlrpclib":                    "xmlrpc.client",
	"StringIO":                     "io",
	"cStringIO":                    "io",
	"_datetime":                    "datetime",
	"_decimal":                     "decimal",
	"_pydecimal":                   "decimal",
	"_sre":                         "re",
	"sre_compile":                  "re",
	"_multiprocessing":             "multiprocessing",
	"_thread":                      "threading",
	"thread":                       "threading",
	"_winapi":                      "subprocess",
	"_lsprof":                      "cProfile",
	"_bootsubprocess":              "subprocess",
	"copyreg":                      "copyreg",
	"pathlib._local":               "pathlib",
	"urllib":                       "urllib.request", // Python 2 urllib.urlopen
	"sklearn.externals.joblib":     "joblib",
	"numpy.core._multiarray_umath": "numpy.core.multiarray",
}

// normalize maps the module of a dotted name through moduleAliases,
// longest prefix first: "posix.system" → "os.system".
func normalize(q string) string {
	parts := strings.Split(q, ".")
	for i := len(parts); i > 0; i-- {
		if to, ok := moduleAliases[strings.Join(parts[:i], ".")]; ok {
			return strings.Join(append([]string{to}, parts[i:]...), ".")
		}
	}
	return q
}

// Verdict is the policy's judgement of one callable.
type Verdict struct {
	Severity  finding.Severity
	Rule      finding.Rule
	Why       string
	Allowed   bool
	Canonical string // the name judged, after aliases
}

func denyMatch(q string) (denyEntry, bool) {
	var best denyEntry
	found := false
	for _, e := range denyList {
		if q == e.pattern || strings.HasPrefix(q, e.pattern+".") {
			if !found || catSeverity(e.cat) > catSeverity(best.cat) || (catSeverity(e.cat) == catSeverity(best.cat) && len(e.pattern) > len(best.pattern)) {
				best, found = e, true
			}
		}
	}
	return best, found
}

func catSeverity(c category) finding.Severity {
	switch c {
	case catExec, catNested:
		return finding.Critical
	}
	return finding.High
}

func catRule(c category) finding.Rule {
	switch c {
	case catExec:
		return RulePickleExec
	case catNested:
		return RulePickleNested
	case catFile:
		return RulePickleFile
	case catNetwork:
		return RulePickleNetwork
	}
	return RulePickleResolver
}

// candidates are the names a dotted reference can reach: the name itself,
// and every suffix starting at a later component, since find_class walks
// attributes and a module's attribute may be another module
// (pathlib.os.system is os.system).
//
// Only the name is walked: the module part is imported by its full path.
func candidates(q, name string) []string {
	out := []string{q}
	parts := strings.Split(name, ".")
	for i := 0; i < len(parts)-1; i++ {
		out = append(out, normalize(strings.Join(parts[i:], ".")))
	}
	return out
}

// Judge decides what loading a pickle that reaches module.name means.
func Judge(module, name string) Verdict {
	q := normalize(strings.Trim(module+"."+name, "."))
	if module == "" {
		q = normalize(name)
	}
	var worst *Verdict
	for _, c := range candidates(q, name) {
		if e, ok := denyMatch(c); ok {
			v := Verdict{Severity: catSeverity(e.cat), Rule: catRule(e.cat), Why: e.why, Canonical: c}
			if worst == nil || v.Severity > worst.Severity {
				worst = &v
			}
		}
	}
	if worst != nil {
		return *worst
	}
	if why, ok := allowList[q]; ok {
		return Verdict{Severity: finding.Info, Allowed: true, Why: why, Canonical: q}
	}
	if enumMember(q) {
		return Verdict{Severity: finding.Info, Allowed: true, Why: "member of an allowed enum class", Canonical: q}
	}
	if torchScriptClass(q) {
		return Verdict{Severity: finding.Info, Allowed: true, Why: "TorchScript class compiled from the archive's code/ folder", Canonical: q}
	}
	if scipySparse(q) {
		return Verdict{Severity: finding.Info, Allowed: true, Why: "SciPy sparse matrix", Canonical: q}
	}
	if inClassNamespace(q) {
		return Verdict{Severity: finding.Info, Allowed: true, Why: "class of an ML library", Canonical: q}
	}
	top := q
	if i := strings.IndexByte(q, '.'); i >= 0 {
		top = q[:i]
	}
	if stdlibModules[top] {
		return Verdict{Severity: finding.High, Rule: RulePickleStdlib, Canonical: q,
			Why: "a standard-library callable that is not on the allow-list; gadgets are mined from the standard library"}
	}
	return Verdict{Severity: finding.Medium, Rule: RulePickleUnknown, Canonical: q,
		Why: "a callable of a third-party or user module: loading imports that module and calls it"}
}

func inClassNamespace(q string) bool {
	i := strings.LastIndexByte(q, '.')
	if i < 0 {
		return false
	}
	mod, name := q[:i], q[i+1:]
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return false
	}
	for _, ns := range classNamespaces {
		if mod == ns || strings.HasPrefix(mod, ns+".") {
			return true
		}
	}
	return false
}

// torchScriptClass: torch.jit.load resolves __torch__.* names to classes
// compiled from the archive's own code/ folder, not to Python imports.
func torchScriptClass(q string) bool { return strings.HasPrefix(q, "__torch__.") }

// scipySparse: SciPy's sparse classes have lower-case names.
func scipySparse(q string) bool {
	i := strings.LastIndexByte(q, '.')
	if i < 0 || !strings.HasPrefix(q, "scipy.sparse.") {
		return false
	}
	name := q[i+1:]
	for _, f := range []string{"csr", "csc", "coo", "bsr", "dia", "dok", "lil"} {
		if name == f+"_matrix" || name == f+"_array" {
			return true
		}
	}
	return false
}

// enumMember: Python 3.11+ pickles enum members as getattr(cls, "NAME");
// an UPPER_CASE attribute of an allowed class is a member, a constant.
func enumMember(q string) bool {
	i := strings.LastIndexByte(q, '.')
	if i < 0 {
		return false
	}
	cls, name := q[:i], q[i+1:]
	if name == "" || strings.HasPrefix(name, "_") || strings.ToUpper(name) != name || strings.ToLower(name) == name {
		return false
	}
	if _, ok := allowList[cls]; ok {
		return true
	}
	return inClassNamespace(cls)
}
