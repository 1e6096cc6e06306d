// Package audit is the tamper-evident audit log of aigis serve.
//
// Every download, ingest, scan result, approval, policy change, token change
// and login becomes an [Entry] appended to an RFC 6962 Merkle tree (built with
// golang.org/x/mod/sumdb/tlog). The log lives in a directory with two
// append-only files:
//
//	records  each entry as a 4-byte big-endian length and its canonical JSON
//	hashes   the tree's stored hashes (tlog.StoredHashes), 32 bytes each
//
// A writable [Log] also holds an exclusive flock on a third file, lock (which
// names its pid), so that two writers cannot interleave appends.
//
// An append is committed when both files are fsynced, which [Log.Append] does
// before it returns: a caller that must deny a download when its audit record
// cannot be written simply checks Append's error. A crash between the two
// writes leaves a record, or part of one, beyond the stored hashes; [Open]
// truncates that tail, reports it in [Log.Recovered], and never serves it.
//
// [Log.Checkpoint] signs the tree head as a C2SP tlog-checkpoint note
// ("aigis-audit\n<size>\n<base64 root>\n") with an Ed25519 key that is kept
// outside the log directory. Checkpoints are meant to be published elsewhere
// (a write-once blob, syslog, a witness): they are what makes a rewrite of both
// files by someone without the key detectable.
//
// [Verify] recomputes the whole tree from the records, compares it with the
// stored hashes, checks each checkpoint's signature and that the current tree
// is consistent with it, and reports every changed, removed or reordered entry
// by index.
package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Origin is the first line of every checkpoint this package signs.
const Origin = "aigis-audit"

// MaxRecordSize caps one encoded entry. Larger entries are refused by Append
// and a larger length prefix in the records file is treated as damage.
const MaxRecordSize = 1 << 20

// recordVersion is the "v" field of the canonical encoding.
const recordVersion = 1

// Entry is one audited event.
type Entry struct {
	Time    time.Time         // server time; stored in UTC with nanoseconds
	Actor   string            // user:<id> | sa:<id> | system:<component>
	Action  string            // artifact.download, artifact.approve, policy.update, login, ...
	Subject string            // hf:model/org/name@<commit>/<path> | sha256:<hex> | policy:<id> ...
	Details map[string]string // decision, reason, request id, ...; never secrets
}

// wireEntry is the canonical encoding: fields in sorted key order, details a
// map (encoding/json sorts map keys), time as an RFC 3339 UTC string.
type wireEntry struct {
	Action  string            `json:"action"`
	Actor   string            `json:"actor"`
	Details map[string]string `json:"details,omitempty"`
	Subject string            `json:"subject"`
	Time    string            `json:"time"`
	V       int               `json:"v"`
}

// Encode returns the canonical JSON encoding of e: the bytes that are hashed
// into the tree.
func (e Entry) Encode() ([]byte, error) {
	w := wireEntry{
		Action:  e.Action,
		Actor:   e.Actor,
		Subject: e.Subject,
		Time:    e.Time.UTC().Format(time.RFC3339Nano),
		V:       recordVersion,
	}
	if len(e.Details) > 0 {
		w.Details = maps.Clone(e.Details)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("audit: encode entry: %w", err)
	}
	return b, nil
}

// decodeEntry parses a record and insists that it is canonical, so that one
// entry has exactly one encoding and hence one leaf hash.
func decodeEntry(b []byte) (Entry, error) {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("audit: decode record: %w", err)
	}
	if w.V != recordVersion {
		return Entry{}, fmt.Errorf("audit: record version %d, want %d", w.V, recordVersion)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: record time: %w", err)
	}
	e := Entry{Time: t.UTC(), Actor: w.Actor, Action: w.Action, Subject: w.Subject, Details: w.Details}
	again, err := e.Encode()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, b) {
		return Entry{}, errors.New("audit: record is not in canonical form")
	}
	return e, nil
}

// GenerateKey returns a new Ed25519 signing key and its verifier key in the
// sumdb/note text form. name identifies the key, e.g. "aigis.example.com/audit".
// Keep skey outside the log directory.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key %q: %w", name, err)
	}
	return skey, vkey, nil
}
