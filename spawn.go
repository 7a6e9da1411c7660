package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/internal/link"
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
		if err := checkDir(s.Dir); err != nil {
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
	cmd := exec.Command(exe, args...)
	if cmd.Err == nil {
		if info.exe == nil {
			info.exe = p.exeFor(gen, cmd.Path, s.Dir)
		}
		if f := info.exe.f; f != nil {
			cmd.Path = pinnedPath(f) // the file the generation started from; Args[0] stays exe
		}
	}
	cmd.Env = p.workerEnv(s, env, id, gen, len(child))
	cmd.Dir = s.Dir
	cmd.ExtraFiles = child
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	var outs []*linePrefixer
	if s.Silent {
		prefix := "[worker " + strconv.Itoa(id) + "] "
		outs = []*linePrefixer{{out: p.stdout, prefix: prefix}, {out: p.stderr, prefix: prefix}}
		cmd.Stdout, cmd.Stderr = outs[0], outs[1]
	} else {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	ep := link.New(wire.NewConn(rw, p.cfg.MaxMessageSize), p.cfg.MaxMessageSize, linkErrors)
	ep.Enqueue(wire.TypeHello, 0, 0, wire.HelloPayload())
	err = startCmd(cmd)
	closeFiles(child)
	if err != nil {
		ep.Close(err)
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == cmd.Path {
			pe.Path = exe // not /proc/self/fd/N
		}
		return nil, p.forkFailed(id, fmt.Errorf("cluster: fork worker %d (%s): %w", id, exe, err))
	}
	w := &Worker{id: id, slot: slot, gen: gen, started: time.Now(), p: p, proc: cmd.Process, ep: ep,
		settings: s, env: env, exited: make(chan struct{}), readerDone: make(chan struct{})}
	p.table[id] = w
	p.publishWorkers()
	p.emit(Event{Type: EventFork, Worker: w})
	if d := p.cfg.ReadyTimeout; d > 0 {
		p.after(d, func() { p.readyTimeout(w) })
	} else if ro := p.rollout; ro != nil && ro.fresh[slot] {
		p.armReloadReady(ro, w)
	}
	go p.serve(w)
	go p.wait(w, cmd, outs, streak)
	return w, nil
}

func (p *Primary) forkFailed(id int, err error) error {
	p.emit(Event{Type: EventError, Err: err})
	return err
}

func (p *Primary) workerEnv(s Settings, extra []string, id, gen, fds int) []string {
	env := append(append(os.Environ(), s.Env...), extra...)
	if n := p.cfg.WorkerProcs; n != -1 && !hasProcs(env) && (n > 0 || p.cfg.Workers > 0) {
		if n == 0 {
			n = max(1, runtime.NumCPU()/p.cfg.Workers)
		}
		env = append(env, "GOMAXPROCS="+strconv.Itoa(n))
	}
	// ExtraFiles start at 3: [socket] or [read pipe, write pipe, socket].
	if fds == 3 {
		env = append(env, EnvIPCPipes+"=3,4")
	}
	return append(env, EnvWorkerID+"="+strconv.Itoa(id), EnvGeneration+"="+strconv.Itoa(gen), EnvIPCFD+"="+strconv.Itoa(2+fds),
		EnvMaxMessage+"="+strconv.Itoa(p.cfg.MaxMessageSize))
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
