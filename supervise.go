package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/internal/wire"
)

// stableAfter is how long a worker must have run for its crash to count as
// the first of a new series (its back-off starts over).
const stableAfter = 10 * time.Second

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
	ep := newEndpoint(wire.NewConn(rw, p.cfg.MaxMessageSize), p.cfg.MaxMessageSize)
	ep.enqueue(wire.TypeHello, 0, 0, wire.HelloPayload())
	err = startCmd(cmd)
	closeFiles(child)
	if err != nil {
		ep.close(err)
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == cmd.Path {
			pe.Path = exe // not /proc/self/fd/N
		}
		return nil, p.forkFailed(id, fmt.Errorf("cluster: fork worker %d (%s): %w", id, exe, err))
	}
	w := &Worker{id: id, slot: slot, gen: gen, owner: ownerSeq.Add(1), started: time.Now(), p: p, proc: cmd.Process, ep: ep,
		settings: s, env: env, exited: make(chan struct{}), readerDone: make(chan struct{})}
	p.table[id] = w
	p.publishWorkers()
	p.emit(Event{Type: EventFork, Worker: w})
	if d := p.cfg.ReadyTimeout; d > 0 {
		time.AfterFunc(d, func() { p.do(func() { p.readyTimeout(w) }) })
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

// serve reads the worker's channel until it closes.
func (p *Primary) serve(w *Worker) {
	defer close(w.readerDone)
	err := p.readWorker(w)
	w.connected.Store(false)
	w.ep.close(err)
	p.do(func() { p.onDisconnect(w, err) })
}

func (p *Primary) readWorker(w *Worker) error {
	conn := w.ep.conn
	f, err := conn.ReadFrame()
	if wire.IsProtocolError(err) {
		return fmt.Errorf("cluster: worker %d: %w: %w", w.id, wire.ErrHandshake, err)
	}
	if err != nil {
		return err
	}
	if err := wire.CheckHello(f); err != nil {
		return fmt.Errorf("cluster: worker %d: %w", w.id, err)
	}
	w.connected.Store(true)
	p.do(func() { p.emit(Event{Type: EventOnline, Worker: w}) })
	var writes writeBatch
	defer writes.flush(w) // writes read before an error still count
	for {
		// Writes are applied in batches, before any read that may wait or
		// move the buffer their bytes are in.
		if writes.pending() && (writes.full() || !conn.HasFrame()) {
			writes.flush(w)
		}
		f, err := conn.ReadFrame()
		if err != nil {
			if wire.IsProtocolError(err) {
				err = fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			return err
		}
		if isWrite(f) {
			if err := writes.queue(w, f); err != nil {
				return fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			continue
		}
		writes.flush(w) // whatever w sent next comes after its writes
		switch f.Type {
		case wire.TypeMsg, wire.TypeReq:
			if f.Peer != 0 {
				p.route(w, f)
				continue
			}
			p.mail.put(&Message{Data: clone(f.Payload), From: w.id, Worker: w, File: firstFile(f.Files), id: f.ID, ep: w.ep})
		case wire.TypeRep, wire.TypeRepErr:
			w.ep.deliver(f)
			continue
		case wire.TypeState:
			if err := p.handleState(w, f); err != nil {
				return fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			continue
		case wire.TypeCtl:
			switch {
			case len(f.Payload) == 0:
			case f.Payload[0] == ctlReady:
				p.markReady(w)
			case f.Payload[0] == ctlBye && f.ID != 0:
				p.onBye(w, f.ID)
			case f.Payload[0] == ctlListen && f.ID != 0:
				closeFiles(f.Files)
				p.handleListen(w, f.ID, f.Payload)
				continue
			default:
				p.handleListenCtl(w, f)
				continue
			}
			closeFiles(f.Files)
		default:
			return fmt.Errorf("cluster: worker %d: %w: unexpected %v frame", w.id, wire.ErrMalformed, f.Type)
		}
	}
}

// route forwards a message or request from worker src to the worker f.Peer.
func (p *Primary) route(src *Worker, f wire.Frame) {
	dst := p.Worker(int(f.Peer))
	if f.Type == wire.TypeMsg {
		if dst == nil {
			closeFiles(f.Files)
			p.log.Warn("cluster: dropping message to unknown worker", "from", src.id, "to", f.Peer)
			return
		}
		// Never wait for dst here: this is src's reader, which must keep
		// reading src's replies and notices. A destination that does not
		// read gets nothing more once its queue is full.
		var err error
		if queued, _ := dst.ep.conn.Backlog(); queued > wire.DefaultHighWater {
			err = errors.New("its queue is full (it does not read)")
		} else if len(f.Files) > 0 {
			err = dst.ep.conn.EnqueueFiles(wire.TypeMsg, uint32(src.id), 0, f.Payload, f.Files)
		} else {
			err = dst.ep.enqueue(wire.TypeMsg, uint32(src.id), 0, f.Payload)
		}
		if err != nil {
			closeFiles(f.Files)
			p.log.Warn("cluster: dropping message to worker", "from", src.id, "to", f.Peer, "err", err)
		}
		return
	}
	id := f.ID
	closeFiles(f.Files) // requests carry no handles
	if dst == nil {
		src.ep.enqueue(wire.TypeRepErr, 0, id, encodeErr(fmt.Errorf("%w: %d", ErrNoWorker, f.Peer)))
		return
	}
	data := clone(f.Payload)
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-src.ep.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		rep, err := dst.ep.request(ctx, uint32(src.id), data)
		if err != nil {
			src.ep.send(wire.TypeRepErr, 0, id, encodeErr(err))
			return
		}
		src.ep.send(wire.TypeRep, 0, id, rep)
	}()
}

// onBye handles a worker's Disconnect: from now on it is stopping on
// purpose, and it gets no more connections.
func (p *Primary) onBye(w *Worker, id uint64) {
	w.disconnect.Store(true)
	p.stopHandingTo(w) // not forgetWorker: it waits for this reader to end
	w.ep.enqueue(wire.TypeRep, 0, id, nil)
}

// onDisconnect runs on the supervisor goroutine when a worker's channel ends.
func (p *Primary) onDisconnect(w *Worker, err error) {
	if w.disconnected {
		return
	}
	w.disconnected = true
	e := Event{Type: EventDisconnect, Worker: w}
	if wire.IsProtocolError(err) {
		e.Err = err
		p.emit(Event{Type: EventError, Worker: w, Err: err})
		// The worker exits by itself when it sees its channel close; make sure.
		go func() {
			select {
			case <-w.exited:
			case <-time.After(p.cfg.KillTimeout):
				w.signal(os.Kill)
			}
		}()
	}
	p.emit(e)
}

// wait reaps the worker process.
func (p *Primary) wait(w *Worker, cmd *exec.Cmd, outs []*linePrefixer, streak int) {
	started := time.Now()
	cmd.Wait()
	for _, o := range outs {
		o.flush()
	}
	w.dead.Store(true)
	close(w.exited)
	// The reader sees the end of the channel after the last frame the
	// worker wrote; waiting for it keeps the worker's events in order (its
	// messages, online, disconnect, then exit). A descendant that inherited
	// the channel could keep it open: then it is cut after a second.
	select {
	case <-w.readerDone:
	case <-time.After(time.Second):
		w.ep.close(errors.New("worker exited"))
		<-w.readerDone
	}
	p.do(func() { p.onExit(w, cmd.ProcessState, streak, time.Since(started)) })
}

// onExit runs on the supervisor goroutine when a worker process has ended.
func (p *Primary) onExit(w *Worker, st *os.ProcessState, streak int, lived time.Duration) {
	w.ep.close(errors.New("worker exited"))
	p.onDisconnect(w, nil)
	delete(p.table, w.id)
	p.publishWorkers()
	p.forgetWorker(w)
	p.forgetStateOf(w)
	p.emit(Event{Type: EventExit, Worker: w, ExitCode: st.ExitCode(), Signal: exitSignal(st)})
	defer p.settleGone() // last: after any replacement was started
	defer p.rolloutExit(w, st.ExitCode())
	if w.ExitedAfterDisconnect() || p.stopping || p.slots[w.slot] == nil || // nil: retired or dropped meanwhile
		!p.cfg.Restart.replaces(st) {
		p.dropSlot(w.slot) // stopped on purpose, or not to be replaced: not to be refilled
		return
	}
	if lived > stableAfter || w.IsReady() {
		streak = 0 // it had started fine: replace it at once (the budget still counts it)
	}
	if p.crashLoop(w.slot, w, exitCause(w, st)) {
		return
	}
	p.restartLater(w.slot, streak)
}

// markReady records that w is ready (it called Ready, or listens with
// Config.ReadyOnListen); the first time, it emits EventReady.
func (p *Primary) markReady(w *Worker) {
	if !w.ready.Swap(true) {
		p.do(func() {
			p.emit(Event{Type: EventReady, Worker: w})
			p.stepRollout()
		})
	}
}

// readyTimeout kills w if it is still not ready (supervisor goroutine). The
// kill is not a deliberate stop: it counts as a death before ready.
func (p *Primary) readyTimeout(w *Worker) {
	if w.ready.Load() || w.dead.Load() || w.ExitedAfterDisconnect() || p.stopping {
		return
	}
	err := fmt.Errorf("%w: worker %d, after %v", ErrNotReady, w.id, p.cfg.ReadyTimeout)
	p.emit(Event{Type: EventError, Worker: w, Err: err})
	if ro := p.rollout; ro != nil && ro.fresh[w.slot] {
		p.abortRollout(err) // stops it too
		return
	}
	w.signal(os.Kill)
}
