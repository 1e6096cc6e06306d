package pyparse

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Limits bound the work done on one dependency file or project folder.
// A zero field means no limit.
type Limits struct {
	MaxFileBytes    int64 // bytes of one file
	MaxLines        int   // lines of one file
	MaxLineBytes    int   // bytes of one logical line (after joining continuations)
	MaxRequirements int   // requirements kept per file
	MaxNesting      int   // nesting of TOML arrays and inline tables
	MaxTOMLKeys     int   // TOML keys between two [[array]] headers (go-toml checks duplicates in quadratic time)
	MaxIncludeDepth int   // -r/-c nesting followed by ParseTree
	MaxIncludes     int   // -r/-c files followed by ParseTree in total
	MaxFiles        int   // dependency files parsed by ParseTree
	MaxWalk         int   // directory entries visited by ParseTree
}

// DefaultLimits returns limits generous for real projects and small enough
// that a crafted file cannot exhaust memory or time.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:    16 << 20,
		MaxLines:        1_000_000,
		MaxLineBytes:    1 << 20,
		MaxRequirements: 100_000,
		MaxNesting:      64,
		MaxTOMLKeys:     5_000,
		MaxIncludeDepth: 16,
		MaxIncludes:     1_000,
		MaxFiles:        10_000,
		MaxWalk:         1_000_000,
	}
}

// Kinds of dependency file, as returned by Detect and kept in Manifest.Kind.
// Each is also the Source of the requirements the file declares, except
// that conda packages of an environment file have Source "conda" and its
// pip: entries Source "requirements".
const (
	KindRequirements = "requirements" // requirements*.txt, constraints*.txt, pip-tools *.in
	KindPyproject    = "pyproject"
	KindPoetryLock   = "poetry.lock"
	KindUVLock       = "uv.lock"
	KindPipfileLock  = "Pipfile.lock"
	KindPylock       = "pylock"
	KindConda        = "conda"
	KindSetupCfg     = "setup.cfg"
)

// ErrUnknownKind is returned by Parse for a file name Detect does not know.
var ErrUnknownKind = errors.New("pyparse: not a known dependency file")

var pylockName = regexp.MustCompile(`^pylock\.([^.]+\.)?toml$`)

// Detect reports the kind of dependency file by its base name.
func Detect(base string) (kind string, ok bool) {
	lower := strings.ToLower(base)
	switch {
	case base == "pyproject.toml":
		return KindPyproject, true
	case base == "poetry.lock":
		return KindPoetryLock, true
	case base == "uv.lock":
		return KindUVLock, true
	case base == "Pipfile.lock":
		return KindPipfileLock, true
	case pylockName.MatchString(base):
		return KindPylock, true
	case lower == "environment.yml" || lower == "environment.yaml":
		return KindConda, true
	case base == "setup.cfg":
		return KindSetupCfg, true
	}
	ext := filepath.Ext(lower)
	if ext == ".txt" || ext == ".in" {
		stem := strings.TrimSuffix(lower, ext)
		if strings.Contains(stem, "requirements") || strings.HasPrefix(stem, "constraints") ||
			ext == ".in" && strings.Contains(stem, "constraints") {
			return KindRequirements, true
		}
	}
	return "", false
}

// Parse parses one dependency file, choosing the parser by Detect on the
// base name of path. data is the file's content; path is kept as given in
// the results. See ParseAs for the errors.
func Parse(path string, data []byte, lim Limits) (*Manifest, error) {
	kind, ok := Detect(filepath.Base(path))
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, path)
	}
	return ParseAs(kind, path, data, lim)
}

// parsers are the parsers of each kind of file.
var parsers = map[string]func(path string, data []byte, lim Limits) (*Manifest, error){
	KindRequirements: parseRequirements,
	KindPyproject:    parsePyproject,
	KindPoetryLock:   parsePoetryLock,
	KindUVLock:       parseUVLock,
	KindPipfileLock:  parsePipfileLock,
	KindPylock:       parsePylock,
	KindConda:        parseConda,
	KindSetupCfg:     parseSetupCfg,
}

// ParseAs parses data as a dependency file of the given kind.
//
// A file that cannot be read as its format at all (TOML, JSON or YAML
// syntax, or too big) gives a nil Manifest and an error; a *SyntaxError
// carries the line. Lines or entries that cannot be understood become
// Problems of the Manifest. When a limit on lines or requirements is hit,
// ParseAs returns what it read so far together with a *safeio.LimitError.
func ParseAs(kind, path string, data []byte, lim Limits) (*Manifest, error) {
	if lim.MaxFileBytes > 0 && int64(len(data)) > lim.MaxFileBytes {
		return nil, fmt.Errorf("pyparse: %s: %w", path, &safeio.LimitError{Limit: "MaxFileBytes", Value: lim.MaxFileBytes, Detail: fmt.Sprintf("%d bytes", len(data))})
	}
	parse, ok := parsers[kind]
	if !ok {
		return nil, fmt.Errorf("%w: kind %q", ErrUnknownKind, kind)
	}
	m, err := parse(path, data, lim)
	if m != nil {
		m.Kind = kind
	}
	if err != nil {
		err = fmt.Errorf("pyparse: %s: %w", path, err)
	}
	return m, err
}

// SyntaxError reports a file that is not valid TOML, JSON or YAML.
type SyntaxError struct {
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("syntax error on line %d: %s", e.Line, e.Msg)
	}
	return "syntax error: " + e.Msg
}
