package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation error of this package, so that a
// caller can tell bad configuration from other failures with errors.Is.
var ErrInvalid = errors.New("invalid configuration")

// FieldError reports one invalid configuration value: which field, what it
// held and what was expected instead.
type FieldError struct {
	Field    string // dotted name as written in config.toml or on the command line, e.g. "p2p.seeds[1]"
	Value    string // the offending value as given
	Expected string // what a valid value looks like
	Err      error  // the underlying cause, if any
}

func (e *FieldError) Error() string {
	msg := fmt.Sprintf("invalid %s %q", e.Field, e.Value)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Expected != "" {
		msg += "; expected " + e.Expected
	}
	return msg
}

// Unwrap returns both the cause and ErrInvalid.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}

func fieldErr(field, value, expected string, err error) *FieldError {
	return &FieldError{Field: field, Value: value, Expected: expected, Err: err}
}
