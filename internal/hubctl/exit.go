package hubctl

import (
	"errors"
	"fmt"
)

// Code is kubectl hubkit's exit status: each means one thing, for every
// command (README, "Day two").
type Code int

const (
	// Done: the command did what it says; for status, the Hub serves.
	Done Code = 0
	// Failed: the command could not finish; what it changed so far is
	// printed, and a second run resumes.
	Failed Code = 1
	// Refused: the command changed nothing; the message says why and the
	// way out.
	Refused Code = 2
	// TimedOut: the command did its part but what it waits for did not
	// happen in --timeout; the message says how to check.
	TimedOut Code = 3
	// Unhealthy: status found the Hub not serving.
	Unhealthy Code = 4
)

// Error is an error with the exit status it means.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// refuse is a refusal: nothing changed; the message says why and the way out.
func refuse(format string, args ...any) error {
	return &Error{Code: Refused, Err: fmt.Errorf(format, args...)}
}

// CodeOf is the exit status err means: Done for nil, Failed for an error
// that says nothing else.
func CodeOf(err error) Code {
	if err == nil {
		return Done
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failed
}
