package hub

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// DefaultRevision is the revision used when a reference names none.
const DefaultRevision = "main"

// ErrBadRef is returned by [ParseRef] and [ValidRepoID] for malformed input.
var ErrBadRef = errors.New("hub: malformed reference")

// ParseRef splits "org/name@revision" into the repository id and the
// revision. Without "@revision" the revision is [DefaultRevision]. pinned is
// true only when the revision is a full 40-hex commit id; anything else (a
// branch, a tag, refs/pr/N) can move and should be reported as a warning.
func ParseRef(s string) (repoID, revision string, pinned bool, err error) {
	repoID, revision, found := strings.Cut(s, "@")
	if found && revision == "" {
		return "", "", false, fmt.Errorf("%w: %q has an empty revision after '@'; write ORG/NAME@COMMIT", ErrBadRef, s)
	}
	revision, err = checkRef(repoID, revision)
	if err != nil {
		return "", "", false, err
	}
	return repoID, revision, IsCommit(revision), nil
}

// checkRef checks a repository id and a revision, "" standing for
// DefaultRevision, and returns the revision.
func checkRef(repoID, revision string) (string, error) {
	if err := ValidRepoID(repoID); err != nil {
		return "", err
	}
	if revision == "" {
		revision = DefaultRevision
	}
	if err := validRevision(revision); err != nil {
		return "", err
	}
	return revision, nil
}

// IsCommit reports whether rev is a full 40-hex git commit id.
func IsCommit(rev string) bool {
	return len(rev) == 40 && isHex(rev)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// ValidRepoID checks a Hub repository id: "org/name", or a legacy
// single-segment id such as "gpt2". Segments use letters, digits, '-', '_'
// and '.', and may not be "." or "..", which keeps ids safe to put in URLs and
// cache folder names.
func ValidRepoID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty repository id; write ORG/NAME", ErrBadRef)
	}
	if len(id) > 200 {
		return fmt.Errorf("%w: repository id is %d bytes long", ErrBadRef, len(id))
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return fmt.Errorf("%w: %q has more than one '/'; write ORG/NAME", ErrBadRef, id)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("%w: %q has an empty or dot segment", ErrBadRef, id)
		}
		for _, r := range p {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("%w: %q contains %q; Hub ids use letters, digits, '-', '_' and '.'", ErrBadRef, id, r)
			}
		}
	}
	return nil
}

func validRevision(rev string) error {
	if len(rev) > 256 {
		return fmt.Errorf("%w: revision is %d bytes long", ErrBadRef, len(rev))
	}
	for _, r := range rev {
		if r < 0x21 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: revision %q contains %q", ErrBadRef, rev, r)
		}
	}
	// refs/pr/1 is a valid revision; ../x is not.
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: revision %q has an empty or dot segment", ErrBadRef, rev)
		}
	}
	return nil
}

// validFilePath reports whether p, a slash-separated path from the Hub or a
// cache, stays inside the folder it is joined to.
func validFilePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	if path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return false
		}
	}
	return true
}

// UnpinnedWarning returns the warning to show when revision is not a commit
// id, or "" when it is. commit is what the revision resolved to, if known.
func UnpinnedWarning(repoID, revision, commit string) string {
	if IsCommit(revision) {
		return ""
	}
	if IsCommit(commit) {
		return fmt.Sprintf("%s@%s is a branch or tag, not a commit: it resolves to %s today but can move; pin it as %s@%s", repoID, revision, commit, repoID, commit)
	}
	return fmt.Sprintf("%s@%s is a branch or tag, not a commit: it can move; pin a 40-hex commit id", repoID, revision)
}
