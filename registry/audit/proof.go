package audit

import (
	"encoding/base64"

	"golang.org/x/mod/sumdb/tlog"
)

// Reader is what an inclusion proof is read from: a Log or a Shared log.
type Reader interface {
	Size() int64
	Entry(i int64) (Entry, error)
	InclusionProof(i, treeSize int64) (tlog.RecordProof, error)
	TreeHash(size int64) (tlog.Hash, error)
}

// Proof is an exported inclusion proof. Record is the entry's canonical
// encoding (base64, exactly the hashed bytes); check it with
// tlog.CheckRecord(proof, TreeSize, root, Index, tlog.RecordHash(record))
// against the root of a signed checkpoint of TreeSize entries.
type Proof struct {
	Index    int64    `json:"index"`
	TreeSize int64    `json:"tree_size"`
	Root     string   `json:"root"`   // base64
	Record   string   `json:"record"` // base64 of the canonical entry
	Entry    Entry    `json:"entry"`  // the same, decoded, for people
	Hashes   []string `json:"proof"`  // base64, as tlog.RecordProof
}

// ExportProof proves that entry index is in the tree of treeSize entries
// (the whole log when treeSize <= 0).
func ExportProof(r Reader, index, treeSize int64) (*Proof, error) {
	if treeSize <= 0 {
		treeSize = r.Size()
	}
	proof, err := r.InclusionProof(index, treeSize)
	if err != nil {
		return nil, err
	}
	root, err := r.TreeHash(treeSize)
	if err != nil {
		return nil, err
	}
	e, err := r.Entry(index)
	if err != nil {
		return nil, err
	}
	rec, err := e.Encode()
	if err != nil {
		return nil, err
	}
	p := &Proof{Index: index, TreeSize: treeSize, Root: base64.StdEncoding.EncodeToString(root[:]),
		Record: base64.StdEncoding.EncodeToString(rec), Entry: e}
	for _, h := range proof {
		p.Hashes = append(p.Hashes, base64.StdEncoding.EncodeToString(h[:]))
	}
	return p, nil
}
