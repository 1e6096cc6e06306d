package pyparse

import (
	"errors"
)

// Limits bound the work done on one dependency file or project folder.
type Limits struct {
	MaxFileBytes    int64 // bytes of one file
	MaxLines        int   // lines of one file
	MaxLineBytes    int   // bytes of one logical line (after joining continuations)
	MaxRequirements int   // requirements kept per file
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
		MaxIncludeDepth: 16,
		MaxIncludes:     1_000,
		MaxFiles:        10_000,
		MaxWalk:         1_000_000,
	}
}

var errTODO = errors.New("pyparse: not implemented yet")

// Detect reports the kind of dependency file by its base name.
func Detect(base string) (kind string, ok bool) { return "", false }

// Parse parses one dependency file.
func Parse(path string, data []byte, lim Limits) (*Manifest, error) { return nil, errTODO }

// ParseTree walks a project folder and parses every dependency file found.
func ParseTree(root string, lim Limits) ([]*Manifest, error) { return nil, errTODO }
