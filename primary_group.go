package cluster

import (
	"sync"
	"time"
)

// group starts and tracks the goroutines and timers the primary runs
// beside its supervisor goroutine (drains, routed requests, checks, and the
// timers that restart workers or give up waiting for them), so that Run
// returns only once every one of them has ended: oklog/run's "Run only
// returns when all actors have exited". The zero value is ready.
type group struct {
	mu      sync.Mutex
	stopped bool
	n       int // goroutines running and timers armed
	timers  map[*time.Timer]struct{}
	quit    chan struct{} // closed by stop
	idle    chan struct{} // closed once stopped and n is zero
}

// init makes the channels. g.mu is held.
func (g *group) init() {
	if g.quit == nil {
		g.quit, g.idle = make(chan struct{}), make(chan struct{})
	}
}

// quitting returns a channel closed when Run has stopped the group: a
// goroutine of the group that waits for something else waits for it too.
func (g *group) quitting() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	return g.quit
}

// done counts one goroutine or timer out. g.mu is held.
func (g *group) done() {
	g.n--
	if g.n == 0 && g.stopped {
		close(g.idle)
	}
}

// goRun runs f on a goroutine of the group. It reports false, and does not
// run f, once the group is stopped.
func (g *group) goRun(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.n++
	go func() {
		defer func() {
			g.mu.Lock()
			g.done()
			g.mu.Unlock()
		}()
		f()
	}()
	return true
}

// after runs f on a goroutine of the group after d, unless the group is
// stopped first (then f never runs).
func (g *group) after(d time.Duration, f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	if g.timers == nil {
		g.timers = make(map[*time.Timer]struct{})
	}
	g.n++
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		g.mu.Lock() // after g.mu is released: t is set
		delete(g.timers, t)
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.done()
			g.mu.Unlock()
		}()
		f()
	})
	g.timers[t] = struct{}{}
}

// stop refuses new goroutines and timers, and cancels the timers that have
// not fired. It returns the channel closed once every goroutine of the
// group has returned (timers that fired already run f to its end).
func (g *group) stop() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	if !g.stopped {
		g.stopped = true
		close(g.quit)
		for t := range g.timers {
			if t.Stop() {
				g.n--
			}
		}
		g.timers = nil
		if g.n == 0 {
			close(g.idle)
		}
	}
	return g.idle
}

// isStopped reports whether stop was called.
func (g *group) isStopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopped
}

// running returns the number of goroutines running and timers armed.
func (g *group) running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// goRun runs f on a goroutine that Run waits for (see group.goRun).
func (p *Primary) goRun(f func()) bool { return p.group.goRun(f) }

// after runs op on the supervisor goroutine after d, unless Run ends
// first; Run waits for a timer that has fired.
func (p *Primary) after(d time.Duration, op func()) {
	p.group.after(d, func() { p.do(op) })
}
