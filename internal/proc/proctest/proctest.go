// Package proctest provides fake worker processes for tests of
// supervision: a [Starter] whose processes run until the test ends them
// ([Process.Exit], [Process.Die]) or a signal does, and which record the
// signals sent to them. Nothing in it sleeps or polls.
package proctest

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gocluster/cluster/internal/proc"
)

// pidBase is above every pid Linux hands out (PID_MAX_LIMIT, 2^22): a fake
// pid names no real process, so reading its /proc entry fails.
const pidBase = 1 << 22

var lastPid atomic.Int64

// Starter starts fake processes. Its Start method is a [proc.Starter].
type Starter struct {
	mu      sync.Mutex
	started []*Process
	fail    []error
}

// Start starts a fake process, or fails with the next error queued by
// [Starter.Fail].
func (s *Starter) Start(spec proc.Spec) (proc.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		err := s.fail[0]
		s.fail = s.fail[1:]
		return nil, err
	}
	files, err := dupFiles(spec.Files)
	if err != nil {
		return nil, err
	}
	p := &Process{pid: pidBase + int(lastPid.Add(1)), spec: spec, files: files, done: make(chan struct{})}
	s.started = append(s.started, p)
	return p, nil
}

// Fail makes the next start fail with err (each call queues one failure).
func (s *Starter) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, err)
}

// Started returns the processes started so far, in order.
func (s *Starter) Started() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.started)
}

// Process is a fake [proc.Process]. Like a real one it holds its copies of
// the [proc.Spec.Files] until it ends, so the other ends see it go. A
// signal ends it (as the default disposition does), except those it
// ignores; SIGKILL always does.
type Process struct {
	pid   int
	spec  proc.Spec
	files []*os.File

	mu      sync.Mutex
	signals []os.Signal
	ignored []os.Signal
	state   *proc.State
	done    chan struct{}
}

// Pid returns the fake's pid, which no real process has.
func (p *Process) Pid() int { return p.pid }

// OS returns nil: there is no operating-system process.
func (p *Process) OS() *os.Process { return nil }

// Spec returns what the process was started with.
func (p *Process) Spec() proc.Spec { return p.spec }

// Signal records sig and ends the process with it unless it ignores sig
// (signal 0 only checks that the process runs). After the end it returns
// [os.ErrProcessDone] and records nothing.
func (p *Process) Signal(sig os.Signal) error {
	p.mu.Lock()
	if p.state != nil {
		p.mu.Unlock()
		return os.ErrProcessDone
	}
	p.signals = append(p.signals, sig)
	ends := sig == os.Kill || sig != syscall.Signal(0) && !slices.Contains(p.ignored, sig)
	p.mu.Unlock()
	if ends {
		p.end(proc.Signaled(sig))
	}
	return nil
}

// Ignore makes the process ignore sigs from now on (not SIGKILL).
func (p *Process) Ignore(sigs ...os.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ignored = append(p.ignored, sigs...)
}

// Signals returns the signals sent to the process while it ran, in order.
func (p *Process) Signals() []os.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.signals)
}

// Exit ends the process with exit status code, if it still runs.
func (p *Process) Exit(code int) { p.end(proc.Exited(code)) }

// Die ends the process as if sig had killed it (the OOM killer, a crash),
// without recording a signal sent, if it still runs.
func (p *Process) Die(sig os.Signal) { p.end(proc.Signaled(sig)) }

// end closes the process's files, then records st and wakes Wait, unless
// it had ended already.
func (p *Process) end(st *proc.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != nil {
		return
	}
	for _, f := range p.files {
		f.Close()
	}
	p.state = st
	close(p.done)
}

// Done returns a channel closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to end and returns how it ended.
func (p *Process) Wait() (*proc.State, error) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, nil
}
