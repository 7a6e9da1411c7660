package cluster

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/proc"
	"github.com/gocluster/cluster/internal/wire"
)

// fork starts a worker in a new slot of the current generation (supervisor
// goroutine).
func (p *Primary) fork(s Settings, env []string) (*Worker, error) {
	slot := p.newSlot(p.gen, s, env, nil)
	w, err := p.spawn(slot, 0)
	if err != nil {
		p.dropSlot(slot)
	}
	return w, err
}

// spawn starts a worker in slot, with the slot's settings and env. It runs
// on the supervisor goroutine. streak is the number of crashes in a row of
// the slot this worker replaces.
func (p *Primary) spawn(slot, streak int) (*Worker, error) {
	if p.group.isStopped() { // Run has ended: nothing would read or reap the worker
		return nil, ErrNotRunning
	}
	info := p.slots[slot]
	if info == nil {
		return nil, fmt.Errorf("cluster: fork: worker slot %d is gone", slot)
	}
	s, env, gen := info.settings, info.env, info.gen
	exe := s.Exec
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, p.forkFailed(0, fmt.Errorf("cluster: fork: find this program: %w", err))
		}
	}
	if s.Dir != "" {
		// Checked here: exec would report a bad directory under the
		// program's name ("fork/exec /path/of/program: no such file").
		if err := proc.CheckDir(s.Dir); err != nil {
			return nil, p.forkFailed(0, fmt.Errorf("cluster: fork: working directory %q (Settings.Dir): %w", s.Dir, err))
		}
	}
	args := s.Args
	if args == nil {
		args = os.Args[1:]
	}
	rw, child, err := newChannel()
	if err != nil {
		return nil, p.forkFailed(0, fmt.Errorf("cluster: fork: IPC channel: %w", err))
	}
	p.nextID++
	id := p.nextID
	files := append(slices.Clip(s.ExtraFiles), child...) // the channel after ExtraFiles
	spec := proc.Spec{Name: exe, Args: args, Env: p.workerEnv(s, env, id, gen, len(s.ExtraFiles), len(child)), Dir: s.Dir, Files: files,
		Stdout: os.Stdout, Stderr: os.Stderr}
	if path, err := proc.Resolve(exe); err == nil { // else the start fails with err
		if info.exe == nil {
			info.exe = p.exeFor(gen, path, s.Dir)
		}
		if f := info.exe.f; f != nil {
			spec.Path = pinnedPath(f) // the file the generation started from; argv[0] stays exe
		}
	}
	if s.Silent {
		spec.Stdout, spec.Stderr, spec.Prefix = p.stdout, p.stderr, "[worker "+strconv.Itoa(id)+"] "
	}
	ep := link.New(wire.NewConn(rw, p.cfg.MaxMessageSize), p.cfg.MaxMessageSize, linkErrors)
	ep.Enqueue(wire.TypeHello, 0, 0, wire.HelloPayload())
	pr, err := p.start(spec)
	closeFiles(child)
	if err != nil {
		ep.Close(err)
		return nil, p.forkFailed(id, fmt.Errorf("cluster: fork worker %d (%s): %w", id, exe, err))
	}
	info.starts++
	w := &Worker{id: id, slot: slot, gen: gen, restarts: info.starts - 1, started: time.Now(), p: p, proc: pr, ep: ep,
		settings: s, env: env, exited: make(chan struct{}), readerDone: make(chan struct{})}
	p.table[id] = w
	p.publishWorkers()
	p.emit(Event{Type: EventFork, Worker: w})
	if d := p.cfg.ReadyTimeout; d > 0 {
		p.after(d, func() { p.readyTimeout(w) })
	} else if ro := p.rollout; ro != nil && ro.fresh[slot] {
		p.armReloadReady(ro, w)
	}
	// Both end once the worker is gone; Run waits for them. (The group is
	// stopped only by this goroutine, after the check above.)
	p.goRun(func() { p.serve(w) })
	p.goRun(func() { p.wait(w, streak) })
	return w, nil
}

func (p *Primary) forkFailed(id int, err error) error {
	p.emit(Event{Type: EventError, Err: err})
	return err
}

// workerEnv is a worker's environment; its channel's fds descriptors come
// after the first 3 and the skip of Settings.ExtraFiles.
func (p *Primary) workerEnv(s Settings, extra []string, id, gen, skip, fds int) []string {
	env := append(append(os.Environ(), s.Env...), extra...)
	if n := p.cfg.WorkerProcs; n != -1 && !hasProcs(env) && (n > 0 || p.cfg.Workers > 0) {
		if n == 0 {
			n = max(1, runtime.NumCPU()/p.cfg.Workers)
		}
		env = append(env, "GOMAXPROCS="+strconv.Itoa(n))
	}
	// The channel's files follow: [socket] or [read pipe, write pipe, socket].
	first := 3 + skip
	if fds == 3 {
		env = append(env, envIPCPipes+"="+strconv.Itoa(first)+","+strconv.Itoa(first+1))
	}
	return append(env, envWorkerID+"="+strconv.Itoa(id), envGeneration+"="+strconv.Itoa(gen), envIPCFD+"="+strconv.Itoa(first+fds-1),
		envMaxMessage+"="+strconv.Itoa(p.cfg.MaxMessageSize))
}

// hasProcs reports whether env sets GOMAXPROCS to a value the Go runtime
// uses (a positive number); the last setting counts, as for os/exec.
func hasProcs(env []string) bool {
	set := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOMAXPROCS="); ok {
			n, err := strconv.Atoi(v)
			set = err == nil && n > 0
		}
	}
	return set
}
