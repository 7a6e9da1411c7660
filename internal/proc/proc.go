// Package proc starts, signals and waits for worker processes: the
// operating system's side of supervising them. The primary sees a worker
// process only as a [Process] made by a [Starter]: [Start] makes real ones,
// and package proctest fake ones whose end a test decides, so that
// supervision (restarts, back-off, crash loops) is tested without starting
// a program or waiting for one.
package proc

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"
)

// Process is a started worker process. Its methods may be called from any
// goroutine; Wait is called once.
type Process interface {
	// Pid returns the process id, for display and /proc lookups.
	Pid() int
	// Signal sends sig to the process; after it ended, it returns an error
	// matching [os.ErrProcessDone].
	Signal(sig os.Signal) error
	// Wait waits for the process to end and returns how it ended, never
	// nil. The error reports what else went wrong (its output could not be
	// copied, say); an unsuccessful exit is in the [State], not an error.
	Wait() (*State, error)
	// OS returns the operating system's handle on the process, or nil if
	// there is none (a fake).
	OS() *os.Process
}

// Starter starts a process as spec says. [Start] is the real one.
type Starter func(spec Spec) (Process, error)

// Spec says how to start a process.
type Spec struct {
	// Name is the program as it was named: it is the child's argv[0] and
	// what errors name. It is resolved as [exec.Command] does (see
	// [Resolve]) unless Path is set.
	Name string
	// Path, if set, is the file executed instead of Name resolved (on
	// Linux, /proc/self/fd/N: the program file the primary holds open).
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Env is the whole environment of the process.
	Env []string
	// Dir is its working directory; empty means this process's.
	Dir string
	// Files become the descriptors 3, 4... of the child. Start leaves them
	// open: the caller closes its copies once Start returned.
	Files []*os.File
	// Stdout and Stderr receive the process's output; nil discards it.
	Stdout, Stderr io.Writer
	// Prefix, if set, is written before each line of output, and each line
	// goes to Stdout or Stderr in one write, so that lines of several
	// processes sharing a writer do not mix.
	Prefix string
}

// waitDelay bounds how long Wait waits for the output of a process that
// ended while a descendant still holds its stdout or stderr.
const waitDelay = time.Second

// Start starts a real process, from one locked thread on Unix (see
// start_unix.go), in its own process group, and on Linux with the kernel
// set to kill it when the primary dies.
func Start(spec Spec) (Process, error) {
	cmd := exec.Command(spec.Name, spec.Args...)
	if spec.Path != "" {
		cmd.Path, cmd.Err = spec.Path, nil
	}
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.ExtraFiles = spec.Files
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = waitDelay
	p := &process{cmd: cmd}
	cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	if spec.Prefix != "" {
		p.outs = []*lineWriter{{out: spec.Stdout, prefix: spec.Prefix}, {out: spec.Stderr, prefix: spec.Prefix}}
		cmd.Stdout, cmd.Stderr = p.outs[0], p.outs[1]
	}
	if err := startTracked(cmd); err != nil { // see Reap
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == cmd.Path {
			pe.Path = spec.Name // not /proc/self/fd/N
		}
		return nil, err
	}
	return p, nil
}

// Resolve returns the file Start would execute for a program named name
// (searched in $PATH if it has no path separator), or the error Start
// would fail with.
func Resolve(name string) (string, error) {
	cmd := exec.Command(name)
	return cmd.Path, cmd.Err
}

// process is a real Process.
type process struct {
	cmd  *exec.Cmd
	outs []*lineWriter // nil without a prefix
}

func (p *process) Pid() int                   { return p.cmd.Process.Pid }
func (p *process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }
func (p *process) OS() *os.Process            { return p.cmd.Process }

func (p *process) Wait() (*State, error) {
	err := p.cmd.Wait()
	untrack(p.cmd.Process.Pid)
	for _, o := range p.outs {
		o.flush()
	}
	ps := p.cmd.ProcessState
	if ps == nil { // it could not be waited for
		return Exited(-1), err
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = nil // in the state
	}
	return &State{code: ps.ExitCode(), sig: exitSignal(ps), sys: ps}, err
}
