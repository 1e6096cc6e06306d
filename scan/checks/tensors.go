package checks

import (
	"encoding/binary"
	"fmt"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pickle"
)

// RuleTensorMetadata: a tensor that reads outside its storage. Loaders
// that trust the metadata — the weights_only unpickler among them — read
// or write out of bounds (CVE-2026-24747); a "safe" format is only as safe
// as its bounds checks.
var RuleTensorMetadata = finding.Rule{
	ID: "pytorch-tensor-metadata", Severity: finding.High,
	Title:       "Tensor metadata does not match the stored bytes",
	Description: "A tensor or storage declares more elements than its storage member holds, a view reaches outside its storage, or a sparse tensor's indices exceed its size. Loaders that trust this metadata read or write out of bounds (CVE-2026-24747, sparse-tensor and mmap proofs of concept), even with torch.load(weights_only=True).",
	ATLAS:       []string{atlasUserExecMalicious, atlasSupplyChainModel},
	Remediation: "Do not load this checkpoint. Re-download it from a trusted source and compare its hash with the publisher's.",
}

// TensorChecker checks the tensors of a PyTorch zip checkpoint against the
// storage members that hold their bytes.
type TensorChecker struct{}

// Name implements Checker.
func (TensorChecker) Name() string { return "pytorch-tensors" }

// Accepts implements Checker.
func (TensorChecker) Accepts(kind string) bool { return kind == KindTensors }

// Rules implements Checker.
func (TensorChecker) Rules() []finding.Rule { return []finding.Rule{RuleTensorMetadata} }

// StorageRef is one storage a PyTorch pickle names in a persistent id:
// ("storage", torch.FloatStorage, key, location, numel).
type StorageRef struct {
	Key      string
	Type     string // FloatStorage, UntypedStorage…
	Numel    int64  // elements (bytes for UntypedStorage)
	ElemSize int64  // 0 when the type is unknown
}

// storageElemSize is the element size of each storage type in bytes.
var storageElemSize = map[string]int64{
	"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
	"BoolStorage": 1, "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8,
	"QUInt8Storage": 1, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1,
	"QUInt2x4Storage": 1, "UntypedStorage": 1, "Float8_e4m3fnStorage": 1, "Float8_e5m2Storage": 1,
}

func storageRef(v pickle.Value) (StorageRef, bool) {
	if p, ok := v.(pickle.PersID); ok {
		v = p.ID
	}
	t, ok := v.(pickle.Tuple)
	if !ok || len(t) < 5 {
		return StorageRef{}, false
	}
	if tag, ok := t[0].(pickle.Str); !ok || tag.S != "storage" {
		return StorageRef{}, false
	}
	key, ok := t[2].(pickle.Str)
	if !ok {
		return StorageRef{}, false
	}
	ref := StorageRef{Key: key.S, Numel: -1}
	if g, ok := t[1].(pickle.Global); ok {
		ref.Type = g.Name
		ref.ElemSize = storageElemSize[g.Name]
	}
	if n, ok := t[4].(pickle.Int); ok && n.Big == nil {
		ref.Numel = n.V
	}
	return ref, true
}

// StorageRefs lists the storages a pickle names, once each.
func StorageRefs(res *pickle.Result) []StorageRef {
	var out []StorageRef
	seen := map[string]bool{}
	for _, id := range res.PersistentIDs {
		if ref, ok := storageRef(id); ok && !seen[ref.Key] {
			seen[ref.Key] = true
			out = append(out, ref)
		}
	}
	return out
}

// Check implements Checker.
func (TensorChecker) Check(a *Artifact) []finding.Finding {
	res := a.Pickle
	if res == nil {
		return nil
	}
	var out []finding.Finding
	add := func(off int64, msg string, ev map[string]string) {
		if len(out) < 100 {
			out = append(out, finding.New(RuleTensorMetadata, RuleTensorMetadata.Severity, a.Loc.At(off), msg, ev))
		}
	}
	refs := map[string]StorageRef{}
	for _, ref := range StorageRefs(res) {
		refs[ref.Key] = ref
		blob, ok := a.Storages[ref.Key]
		if !ok {
			add(0, fmt.Sprintf("storage %q is named by the pickle but missing from the archive", ref.Key),
				map[string]string{"storage": ref.Key})
			continue
		}
		if ref.ElemSize == 0 || ref.Numel < 0 {
			continue
		}
		if ref.Numel > (1<<62)/ref.ElemSize {
			add(0, fmt.Sprintf("storage %q declares %d elements, an impossible size", ref.Key, ref.Numel),
				map[string]string{"storage": ref.Key})
			continue
		}
		if want := ref.Numel * ref.ElemSize; want > blob.Size {
			add(0, fmt.Sprintf("storage %q declares %d %s elements (%d bytes) but its member holds %d bytes: a loader reads past the end",
				ref.Key, ref.Numel, ref.Type, want, blob.Size),
				map[string]string{"storage": ref.Key, "declared_bytes": fmt.Sprint(want), "stored_bytes": fmt.Sprint(blob.Size)})
		}
	}
	for _, c := range res.Calls {
		if c.Import < 0 || c.Op == "BUILD" {
			continue
		}
		name := res.Imports[c.Import].Qualified()
		args, _ := c.ArgValues.(pickle.Tuple)
		switch name {
		case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_qtensor":
			if msg := viewOutOfBounds(args, refs); msg != "" {
				add(c.Offset, msg, map[string]string{"callable": name})
			}
		case "torch._utils._rebuild_sparse_tensor":
			if msg := sparseOutOfBounds(args, refs, a.Storages); msg != "" {
				add(c.Offset, msg, map[string]string{"callable": name})
			}
		}
	}
	return out
}

func intOf(v pickle.Value) (int64, bool) {
	n, ok := v.(pickle.Int)
	if !ok || n.Big != nil {
		return 0, false
	}
	return n.V, true
}

func ints(v pickle.Value) ([]int64, bool) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		// torch.Size(...) pickles as a call of torch.Size on a tuple.
		if c, isCall := v.(*pickle.Call); isCall {
			if args, ok := c.Args.(pickle.Tuple); ok && len(args) == 1 {
				return ints(args[0])
			}
		}
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := intOf(x)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// extent is the number of elements a view with this offset, size and
// stride spans in its storage, or -1 when it is negative or overflows.
func extent(offset int64, size, stride []int64) int64 {
	if offset < 0 || len(size) != len(stride) {
		return -1
	}
	last := offset
	for i := range size {
		if size[i] < 0 || stride[i] < 0 {
			return -1
		}
		if size[i] == 0 {
			return 0
		}
		if size[i]-1 > 0 && stride[i] > (1<<62)/(size[i]-1) {
			return -1
		}
		last += (size[i] - 1) * stride[i]
		if last < 0 || last > 1<<62 {
			return -1
		}
	}
	return last + 1
}

// viewArgs reads the (storage, offset, size, stride, …) arguments of
// _rebuild_tensor_v2, taking the storage's details from refs when it is
// known there; ok is false when they are not all there and of those types.
func viewArgs(args pickle.Tuple, refs map[string]StorageRef) (ref StorageRef, offset int64, size, stride []int64, ok bool) {
	if len(args) < 4 {
		return ref, 0, nil, nil, false
	}
	ref, ok = storageRef(args[0])
	if !ok {
		return ref, 0, nil, nil, false
	}
	if r, known := refs[ref.Key]; known {
		ref = r
	}
	offset, ok1 := intOf(args[1])
	size, ok2 := ints(args[2])
	stride, ok3 := ints(args[3])
	return ref, offset, size, stride, ok1 && ok2 && ok3
}

// viewOutOfBounds checks _rebuild_tensor_v2(storage, offset, size, stride, …).
func viewOutOfBounds(args pickle.Tuple, refs map[string]StorageRef) string {
	ref, offset, size, stride, ok := viewArgs(args, refs)
	if !ok || ref.Numel < 0 {
		return ""
	}
	n := extent(offset, size, stride)
	switch {
	case n < 0:
		return fmt.Sprintf("a tensor on storage %q has a negative or overflowing offset %d, size %v or stride %v", ref.Key, offset, size, stride)
	case n > ref.Numel:
		return fmt.Sprintf("a tensor on storage %q (offset %d, size %v, stride %v) reaches element %d of a storage of %d elements",
			ref.Key, offset, size, stride, n-1, ref.Numel)
	}
	return ""
}

// sparseOutOfBounds checks _rebuild_sparse_tensor: a COO tensor's indices must lie inside its size. The
// indices are read from their storage (bounded).
func sparseOutOfBounds(args pickle.Tuple, refs map[string]StorageRef, storages map[string]StorageBlob) string {
	// torch.save writes _rebuild_sparse_tensor(layout, (indices, values, size)).
	if len(args) < 2 || !isSparseCOO(args[0]) {
		return ""
	}
	data, ok := args[1].(pickle.Tuple)
	if !ok || len(data) < 3 {
		return ""
	}
	size, ok := ints(data[2])
	if !ok {
		return ""
	}
	idx, ok := data[0].(*pickle.Call)
	if !ok {
		return ""
	}
	ia, _ := idx.Args.(pickle.Tuple)
	ref, offset, shape, stride, ok := viewArgs(ia, refs)
	if !ok {
		return ""
	}
	blob, ok := storages[ref.Key]
	if !ok || blob.Read == nil || ref.ElemSize != 8 || len(shape) != 2 || len(stride) != 2 {
		return ""
	}
	if shape[0] != int64(len(size)) && shape[0] > 0 {
		return fmt.Sprintf("a sparse tensor of %d dimensions has indices for %d", len(size), shape[0])
	}
	const maxBytes = 64 << 20
	n := extent(offset, shape, stride)
	if n <= 0 || n*8 > maxBytes {
		return ""
	}
	raw, err := blob.Read(n * 8)
	if err != nil || int64(len(raw)) < n*8 {
		return ""
	}
	for d := int64(0); d < shape[0]; d++ {
		for j := int64(0); j < shape[1]; j++ {
			i := offset + d*stride[0] + j*stride[1]
			v := int64(binary.LittleEndian.Uint64(raw[i*8:]))
			if v < 0 || v >= size[d] {
				return fmt.Sprintf("a sparse tensor of size %v has index %d in dimension %d: loading it writes out of bounds",
					size, v, d)
			}
		}
	}
	return ""
}

// isSparseCOO recognises the layout argument: torch.sparse_coo, or
// torch.serialization._get_layout("torch.sparse_coo").
func isSparseCOO(v pickle.Value) bool {
	switch l := v.(type) {
	case pickle.Global:
		return l.Name == "sparse_coo"
	case *pickle.Call:
		if args, ok := l.Args.(pickle.Tuple); ok && len(args) == 1 {
			if s, ok := args[0].(pickle.Str); ok {
				return s.S == "torch.sparse_coo"
			}
		}
	}
	return false
}
