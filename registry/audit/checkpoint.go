package audit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint signs the current tree head as a C2SP tlog-checkpoint note:
// "aigis-audit\n<size>\n<base64 root>\n" followed by the signature.
func (l *Log) Checkpoint() ([]byte, error) {
	if l.signer == nil {
		return nil, ErrReadOnly
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	root, err := tlog.TreeHash(l.size(), l.hashReader())
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: formatCheckpoint(l.size(), root)}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return signed, nil
}

func formatCheckpoint(size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", Origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// OpenCheckpoint verifies a signed checkpoint with verifier and returns the
// tree size and root it commits to.
func OpenCheckpoint(signed []byte, verifier note.Verifier) (size int64, root tlog.Hash, err error) {
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	size, root, err = parseCheckpoint(n.Text)
	return size, root, err
}

// parseCheckpoint reads the first three lines of a checkpoint body. C2SP
// allows extension lines after them; they are ignored.
func parseCheckpoint(text string) (int64, tlog.Hash, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] != Origin {
		return 0, tlog.Hash{}, errors.New("audit: not an aigis-audit checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return 0, tlog.Hash{}, fmt.Errorf("audit: checkpoint size %q", lines[1])
	}
	// Like the size, the root must be in its one canonical form: the decoder
	// alone would also take non-zero padding bits and carriage returns.
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return 0, tlog.Hash{}, fmt.Errorf("audit: checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return size, root, nil
}
