package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/compress"
	"github.com/aigis-sec/aigis/format/gguf"
	"github.com/aigis-sec/aigis/format/hdf5"
	"github.com/aigis-sec/aigis/format/npy"
	"github.com/aigis-sec/aigis/format/onnx"
	"github.com/aigis-sec/aigis/format/pickle"
	"github.com/aigis-sec/aigis/format/safetensors"
	"github.com/aigis-sec/aigis/format/tflite"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

// session is the scan of one top-level file and everything inside it.
type session struct {
	ctx        context.Context
	opt        Options
	total      int64 // uncompressed bytes left for this file (MaxTotalBytes)
	findings   []finding.Finding
	incomplete []finding.Incomplete
	autoMap    *autoMaps // shared by every file of one Scan
}

// blob is a file or member to recognise and analyse. ra is set when its
// bytes can be read at any offset without copying (a file, a stored zip
// member); r is set when they can only be streamed (a compressed member).
type blob struct {
	loc    finding.Location
	ra     io.ReaderAt
	r      io.Reader
	size   int64 // -1 when unknown
	depth  int   // containers above this blob
	nested int   // pickles above this blob (pickle.loads of bytes)
	name   string
	via    string // for nested pickles: the loader that receives them
	osPath string // the file on disk, for top-level files (ONNX external data)
	// parsed receives the result of a pickle read from this blob, so the
	// zip reader knows which members are raw tensor bytes (the storages
	// the pickle names) and can check them against the tensors.
	parsed func(*pickle.Result)
}

const sniffLen = 4096

// reader returns a stream of b's bytes from the start.
func (b *blob) reader() io.Reader {
	if b.r != nil {
		return b.r
	}
	return io.NewSectionReader(b.ra, 0, b.size)
}

// head returns the first bytes of b, leaving b readable from the start.
func (b *blob) head() ([]byte, error) {
	if b.r == nil {
		buf := make([]byte, sniffLen)
		n, err := b.ra.ReadAt(buf, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		return buf[:n], nil
	}
	br, ok := b.r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(b.r, 64<<10)
		b.r = br
	}
	h, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		if len(h) == 0 {
			return nil, err
		}
	}
	return h, nil
}

// emit runs the checkers that accept a.
func (s *session) emit(a *checks.Artifact) {
	for _, c := range s.opt.Checkers {
		if c.Accepts(a.Kind) {
			s.findings = append(s.findings, c.Check(a)...)
		}
	}
}

// fail records that loc could not be analysed completely: a finding (the
// scan-limit or scan-unreadable rule) and an incomplete entry.
func (s *session) fail(loc finding.Location, err error) {
	r := checks.RuleUnreadable
	if _, ok := safeio.IsLimit(err); ok {
		r = checks.RuleLimit
	}
	reason := err.Error()
	s.findings = append(s.findings, finding.New(r, r.Severity, loc, reason, nil))
	s.incomplete = append(s.incomplete, finding.Incomplete{Path: loc.Path, Member: loc.Member, Reason: reason})
}

// stop returns why the scan of this file must end now: the per-file
// timeout (a *safeio.LimitError) or cancellation.
func (s *session) stop() error {
	if s.ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(s.ctx); cause != nil {
		return cause
	}
	return s.ctx.Err()
}

// blob recognises b by its bytes and analyses it. It returns the kind.
func (s *session) blob(b blob) string {
	if err := s.stop(); err != nil {
		s.fail(b.loc, err)
		return "unknown"
	}
	if b.depth > s.opt.Limits.MaxDepth {
		s.fail(b.loc, &safeio.LimitError{Limit: "MaxDepth", Value: int64(s.opt.Limits.MaxDepth), Detail: "containers nested too deep"})
		return "unknown"
	}
	head, err := b.head()
	if err != nil {
		s.fail(b.loc, err)
		return "unknown"
	}
	switch {
	case isZip(head):
		return s.zip(b)
	case is7z(head):
		return s.sevenZip(b)
	case isTar(head):
		return s.tar(b)
	case npy.Sniff(head):
		return s.npy(b)
	case gguf.Sniff(head):
		return s.gguf(b)
	case tflite.Sniff(head):
		return s.tflite(b)
	case hdf5.Sniff(head):
		return s.hdf5(b)
	}
	// A safetensors header can begin with bytes that are pickle opcodes:
	// a file that reads as both is analysed as both (polyglots).
	kind := ""
	if safetensors.Sniff(head, b.size) {
		ra, size, cleanup, ok := s.randomAccess(b)
		if !ok {
			return "safetensors"
		}
		defer cleanup()
		b.ra, b.r, b.size = ra, nil, size
		kind = s.safetensors(b)
		if !pickle.Sniff(head) {
			return kind
		}
	}
	if pickle.Sniff(head) {
		if pk := s.pickle(b, head); kind == "" {
			return pk
		}
		return kind
	}
	if c, ok := compress.Sniff(head); ok {
		return s.decompress(b, c)
	}
	if k, ok := tfKind(b.loc, head); ok {
		return s.tfgraph(b, k)
	}
	if onnx.Sniff(head) {
		return s.onnx(b)
	}
	if datasetExt(b.loc) {
		// Dataset files: the poisoning and leakage signals of aigis data
		// (which include secrets), instead of the plain text checks.
		s.dataset(b)
		return "dataset"
	}
	if isText(head) {
		return s.text(b)
	}
	return "unknown"
}

// isYAMLName: YAML has no magic bytes, so configs are picked by name; the
// content must still be text.
func isYAMLName(loc finding.Location) bool {
	name := loc.Path
	if loc.Member != "" {
		name = loc.Member
	}
	name = strings.ToLower(name)
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func isText(b []byte) bool {
	return !bytes.ContainsRune(b, 0) && utf8.Valid(trimPartialRune(b))
}

// trimPartialRune drops a UTF-8 sequence cut by the sniff window.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < 3 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

const maxConfigBytes = 4 << 20

// text analyses a text file or member: by name, what a loader does with
// it (a shard index, a chat template, a Hydra config, Python code), and in
// every case the secrets it leaks.
func (s *session) text(b blob) string {
	text, err := io.ReadAll(io.LimitReader(b.reader(), checks.SecretsMaxBytes+1))
	if err != nil {
		s.fail(b.loc, err)
		return "text"
	}
	kind := "text"
	switch t, isTmpl := isTemplateName(b.loc); {
	case isShardIndex(b.loc):
		kind = s.shardIndex(b, text)
	case isTmpl:
		kind = s.template(b, t, text)
	case isYAMLName(b.loc):
		kind = "config"
		if len(text) > maxConfigBytes {
			s.fail(b.loc, &safeio.LimitError{Limit: "MaxConfigBytes", Value: maxConfigBytes, Detail: "config not analysed"})
		} else {
			s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindConfig, Text: text})
		}
	case strings.EqualFold(path.Base(memberOrPath(b.loc)), "config.json"):
		// transformers records the hub id the model came from.
		var cfg struct {
			NameOrPath string `json:"_name_or_path"`
		}
		if json.Unmarshal(text, &cfg) == nil && strings.Count(cfg.NameOrPath, "/") == 1 && !strings.HasPrefix(cfg.NameOrPath, "/") &&
			!strings.HasPrefix(cfg.NameOrPath, ".") {
			s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindModelID, Name: cfg.NameOrPath, Text: []byte("_name_or_path")})
		}
	case isPythonName(b.loc):
		kind = "python"
		s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindPython, Name: s.pythonRole(b, text), Text: text})
	}
	s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindText, Text: text})
	return kind
}

// materialize gives random access to a streamed blob, for formats that
// need it (zip, 7z): in memory up to 64 MiB, else in a temporary file.
func (s *session) materialize(b blob) (io.ReaderAt, int64, func(), error) {
	if b.r == nil {
		return b.ra, b.size, func() {}, nil
	}
	lr := safeio.LimitReader(b.r, s.opt.Limits.MaxMemberBytes, "MaxMemberBytes")
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, lr, 64<<20)
	if err == io.EOF {
		return bytes.NewReader(buf.Bytes()), n, func() {}, nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	f, err := os.CreateTemp("", "aigis-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool member to a temporary file: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := f.Write(buf.Bytes()); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	m, err := io.Copy(f, lr)
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n + m, cleanup, nil
}

// legacyMagic is how a legacy (pre-1.6) torch.save file begins: protocol 2
// and the magic number 0x1950a86a20f9469cfc6c as LONG1.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

func (s *session) pickle(b blob, head []byte) string {
	kind := "pickle"
	trailingOK := false
	if bytes.HasPrefix(head, legacyMagic) {
		kind, trailingOK = "pytorch-legacy", true
	}
	if base := path.Base(b.name); base == "storages" || base == "tensors" {
		trailingOK = true // legacy tar format: tensor bytes follow the pickles
	}
	res := s.interpret(b, b.reader(), 0, trailingOK)
	if kind == "pickle" && len(res.Imports) > 0 && isJoblib(res) {
		kind = "joblib"
	}
	return kind
}

func isJoblib(res *pickle.Result) bool {
	for _, imp := range res.Imports {
		if strings.HasSuffix(imp.Module, "joblib.numpy_pickle") {
			return true
		}
	}
	return false
}

func (s *session) npy(b blob) string {
	r := b.reader()
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := npy.ParseHeader(br)
	if err != nil {
		s.fail(b.loc, fmt.Errorf("npy header: %w", err))
		return "npy"
	}
	if !h.HasObject() {
		return "npy"
	}
	// np.save pickles object arrays right after the header.
	s.interpret(b, br, int64(h.DataOffset), false)
	return "npy-object"
}

// interpret analyses the pickle read from r, which starts at offset base
// of b: the checkers judge it, the storages it names go to b.parsed, and
// the payloads it hands to loaders are analysed as blobs of their own.
func (s *session) interpret(b blob, r io.Reader, base int64, trailingOK bool) *pickle.Result {
	opt := pickle.FromLimits(s.opt.Limits)
	opt.Stop = s.stop
	res := pickle.Interpret(r, opt)
	shift(res, base)
	if res.Err != nil && res.Err.Limit != nil {
		s.incomplete = append(s.incomplete, finding.Incomplete{Path: b.loc.Path, Member: b.loc.Member, Reason: res.Err.Limit.Error()})
	}
	s.emit(&checks.Artifact{Loc: b.loc, Kind: checks.KindPickle, Pickle: res, TrailingExpected: trailingOK, Nested: b.via})
	if b.parsed != nil {
		b.parsed(res)
	}
	for _, e := range res.Embedded {
		name := fmt.Sprintf("%s@%d", e.Loader, e.Offset)
		if len(e.Decoding) > 0 {
			name = fmt.Sprintf("%s(%s)@%d", e.Loader, strings.Join(e.Decoding, "+"), e.Offset)
		}
		loc := b.loc.Child(name)
		if b.nested >= s.opt.Limits.PickleMaxNested {
			s.fail(loc, &safeio.LimitError{Limit: "PickleMaxNested", Value: int64(s.opt.Limits.PickleMaxNested)})
			continue
		}
		if e.Truncated {
			s.fail(loc, &safeio.LimitError{Limit: "PickleKeepBytes", Value: int64(s.opt.Limits.PickleKeepBytes),
				Detail: "only the start of the nested payload was analysed"})
		}
		s.blob(blob{loc: loc, ra: bytes.NewReader(e.Data), size: int64(len(e.Data)), depth: b.depth,
			nested: b.nested + 1, via: fmt.Sprintf("%s at offset %d", e.Loader, e.Offset)})
	}
	return res
}

// shift moves the offsets of res by base, for pickles embedded in a file.
func shift(res *pickle.Result, base int64) {
	for i := range res.Imports {
		res.Imports[i].Offset += base
	}
	for i := range res.Calls {
		res.Calls[i].Offset += base
	}
	for i := range res.Embedded {
		res.Embedded[i].Offset += base
	}
	for i := range res.Anomalies {
		res.Anomalies[i].Offset += base
	}
	if res.Err != nil {
		res.Err.Offset += base
	}
}

func (s *session) decompress(b blob, kind compress.Kind) string {
	size := b.size
	rc, err := compress.NewReader(kind, b.reader(), size, s.opt.Limits)
	if err != nil {
		s.fail(b.loc, fmt.Errorf("%s: %w", kind, err))
		return string(kind)
	}
	defer rc.Close()
	child := blob{loc: b.loc.Child(string(kind)), r: s.budget(rc), size: -1, depth: b.depth + 1, nested: b.nested, via: b.via}
	inner := s.blob(child)
	// Read to the end so a limit or a corrupt stream is noticed even when
	// the content stopped early (a pickle ends at STOP).
	if _, err := io.Copy(io.Discard, child.r); err != nil {
		s.fail(child.loc, fmt.Errorf("%s: %w", kind, err))
	}
	if inner == "unknown" {
		return string(kind)
	}
	return inner + "+" + string(kind)
}

// budget counts the uncompressed bytes read from r against the file's
// MaxTotalBytes.
func (s *session) budget(r io.Reader) io.Reader { return &budgetReader{r: r, s: s} }

type budgetReader struct {
	r io.Reader
	s *session
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.s.total <= 0 {
		return 0, &safeio.LimitError{Limit: "MaxTotalBytes", Value: b.s.opt.Limits.MaxTotalBytes}
	}
	if int64(len(p)) > b.s.total {
		p = p[:b.s.total]
	}
	n, err := b.r.Read(p)
	b.s.total -= int64(n)
	return n, err
}

func newFinding(r finding.Rule, loc finding.Location, msg string) finding.Finding {
	return finding.New(r, r.Severity, loc, msg, nil)
}

func incompleteAt(loc finding.Location, reason string) finding.Incomplete {
	return finding.Incomplete{Path: loc.Path, Member: loc.Member, Reason: reason}
}
