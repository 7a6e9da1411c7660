package proc

import (
	"os"
	"os/exec"
	"strconv"
)

// State says how a process ended.
type State struct {
	code int              // exit status, or -1 if a signal ended it
	sig  os.Signal        // the signal that ended it, or nil
	sys  *os.ProcessState // nil for a fake
}

// Exited returns the state of a process that exited with status code.
func Exited(code int) *State { return &State{code: code} }

// Signaled returns the state of a process that sig ended.
func Signaled(sig os.Signal) *State { return &State{code: -1, sig: sig} }

// ExitCode returns the exit status, or -1 if a signal ended the process.
func (s *State) ExitCode() int { return s.code }

// Signal returns the signal that ended the process, or nil if it exited.
func (s *State) Signal() os.Signal { return s.sig }

// Success reports whether the process exited with status 0.
func (s *State) Success() bool { return s.code == 0 && s.sig == nil }

// String says how the process ended, as [os.ProcessState.String] does:
// "exit status 3", "signal: killed".
func (s *State) String() string {
	if s.sys != nil {
		return s.sys.String()
	}
	if s.sig != nil {
		return "signal: " + s.sig.String()
	}
	return "exit status " + strconv.Itoa(s.code)
}

// Sys returns the operating system's report, or nil for a fake process.
func (s *State) Sys() *os.ProcessState { return s.sys }

// Err returns nil if the process succeeded, else an error saying how it
// ended: an [*exec.ExitError] for a real process, an [*ExitError] for a
// fake. Both have an ExitCode method.
func (s *State) Err() error {
	switch {
	case s.Success():
		return nil
	case s.sys != nil:
		return &exec.ExitError{ProcessState: s.sys}
	}
	return &ExitError{s}
}

// ExitError is the [State.Err] of a fake process that did not succeed.
type ExitError struct{ *State }

func (e *ExitError) Error() string { return e.State.String() }
