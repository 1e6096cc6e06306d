package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
)

// maxCheckpointBytes bounds a signed checkpoint read by the UI: three
// lines and a few signature lines.
const maxCheckpointBytes = 16 << 10

// maxCheckpointSigners bounds the signature names shown.
const maxCheckpointSigners = 16

// signedCheckpoint is a C2SP tlog-checkpoint note as the UI reads it.
type signedCheckpoint struct {
	Origin  string
	Size    int64
	Root    tlog.Hash
	Signers []string // key names of the signature lines, unverified
}

// parseSignedCheckpoint reads a signed checkpoint note without checking
// its signatures (the server holds the signing key, not a verifier key:
// `aigis audit verify` with the public key does that). It returns the tree
// size and root and the names of the keys that signed.
func parseSignedCheckpoint(b []byte) (*signedCheckpoint, error) {
	if len(b) > maxCheckpointBytes {
		return nil, fmt.Errorf("checkpoint is %d bytes, over %d", len(b), maxCheckpointBytes)
	}
	n, err := note.Open(b, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		n = unverified.Note
	case err != nil:
		return nil, fmt.Errorf("checkpoint is not a signed note: %w", err)
	}
	cp := &signedCheckpoint{}
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		if len(cp.Signers) == maxCheckpointSigners {
			break
		}
		cp.Signers = append(cp.Signers, sig.Name)
	}
	if len(cp.Signers) == 0 {
		return nil, errors.New("checkpoint has no signature")
	}
	// C2SP tlog-checkpoint: origin, decimal size, base64 root, then
	// optional extension lines.
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return nil, errors.New("checkpoint body has fewer than three lines")
	}
	cp.Origin = lines[0]
	if cp.Origin == "" {
		return nil, errors.New("checkpoint origin line is empty")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint size %q is not a canonical decimal number", clipText(40, lines[1]))
	}
	cp.Size = size
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return nil, fmt.Errorf("checkpoint root %q is not a base64 SHA-256 hash", clipText(60, lines[2]))
	}
	copy(cp.Root[:], raw)
	return cp, nil
}

// uiAuditRow is one audit entry on the page.
type uiAuditRow struct {
	Index    int64
	Entry    audit.Entry
	Verified bool // its inclusion proof checks against the checkpoint root
}

type uiAuditData struct {
	Rows       []uiAuditRow
	Size       int64 // entries covered by the checkpoint
	Signers    string
	Verified   bool
	Checked    int // entries whose inclusion proof was checked
	Problem    string
	Checkpoint string
}

// uiAudit shows the last entries of the audit log, each checked against
// the current signed checkpoint: the root it signs must be the root of the
// stored tree, and each entry shown must prove its inclusion in that tree.
func (s *Server) uiAudit(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if !allowed(p, auth.ActReadAudit, "*") {
		s.uiDeny(w, r, "read the audit log")
		return
	}
	lr, ok := s.cfg.Audit.(LogReader)
	if !ok {
		s.uiError(w, r, http.StatusNotImplemented, "This server's audit log cannot be read over the web; read it where the server keeps it.")
		return
	}
	data, err := auditView(lr, uiAuditShown)
	if err != nil {
		s.uiInternal(w, r, "read the audit log", err)
		return
	}
	pg := s.newPage(r, "Audit log", "audit")
	pg.Data = data
	s.render(w, r, http.StatusOK, "audit", pg)
}

// auditView reads the last count entries of the tree the current
// checkpoint signs and checks them against it. Damage is reported in
// Problem; the error is for a log that cannot be read at all.
func auditView(lr LogReader, count int) (uiAuditData, error) {
	var d uiAuditData
	signed, err := lr.Checkpoint()
	if err != nil {
		return d, fmt.Errorf("sign a checkpoint: %w", err)
	}
	d.Checkpoint = string(signed)
	cp, err := parseSignedCheckpoint(signed)
	if err != nil {
		d.Problem = err.Error()
		return d, nil
	}
	d.Size, d.Signers = cp.Size, strings.Join(cp.Signers, ", ")
	if cp.Origin != audit.Origin {
		d.Problem = fmt.Sprintf("the checkpoint is for log %q, not %q", cp.Origin, audit.Origin)
		return d, nil
	}
	if cp.Size > lr.Size() {
		d.Problem = fmt.Sprintf("the checkpoint covers %d entries but the log holds %d", cp.Size, lr.Size())
		return d, nil
	}
	root, err := lr.TreeHash(cp.Size)
	if err != nil {
		d.Problem = "the stored tree cannot be read: " + err.Error()
		return d, nil
	}
	if root != cp.Root {
		d.Problem = "the checkpoint's root is not the root of the stored tree: the log was changed"
		return d, nil
	}
	d.Verified = true
	for i := cp.Size - 1; i >= 0 && i >= cp.Size-int64(count); i-- {
		row := uiAuditRow{Index: i}
		e, err := lr.Entry(i)
		if err != nil {
			// Entry refuses a record that does not match its leaf hash.
			d.Verified = false
			d.Problem = fmt.Sprintf("entry %d: %v", i, err)
			d.Rows = append(d.Rows, row)
			continue
		}
		row.Entry = e
		rec, err := e.Encode()
		if err == nil {
			var proof tlog.RecordProof
			if proof, err = lr.InclusionProof(i, cp.Size); err == nil {
				err = tlog.CheckRecord(proof, cp.Size, cp.Root, i, tlog.RecordHash(rec))
			}
		}
		if err != nil {
			d.Verified = false
			d.Problem = fmt.Sprintf("entry %d does not prove its inclusion in the checkpoint: %v", i, err)
		} else {
			row.Verified = true
			d.Checked++
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}
