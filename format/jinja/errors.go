package jinja

import (
	"fmt"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Limits bound the work done on one template. A zero field takes the value
// of DefaultLimits.
type Limits struct {
	MaxBytes  int // template source size
	MaxTokens int // lexical tokens
	MaxDepth  int // nesting of statements, brackets and expressions
	MaxNodes  int // nodes of the syntax tree
}

// DefaultLimits are generous for real chat templates (the largest known are
// tens of KiB, a few thousand tokens, nesting below 20) and small enough that
// a crafted template cannot exhaust memory or the stack.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:  4 << 20,
		MaxTokens: 1_000_000,
		MaxDepth:  200,
		MaxNodes:  1_000_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = d.MaxTokens
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	return l
}

// Error is a syntax error or a limit reached, at a position in the template.
// When a limit was reached, Limit is set and errors.As finds a
// *safeio.LimitError.
type Error struct {
	Pos   Pos
	Msg   string
	Limit *safeio.LimitError
}

func (e *Error) Error() string {
	return fmt.Sprintf("jinja: line %d column %d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Unwrap returns the limit error, if any.
func (e *Error) Unwrap() error {
	if e.Limit == nil {
		return nil
	}
	return e.Limit
}

func newError(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func limitError(name string, value int64, p Pos, detail string) *Error {
	le := &safeio.LimitError{Limit: "jinja." + name, Value: value, Detail: detail}
	return &Error{Pos: p, Msg: le.Error(), Limit: le}
}
