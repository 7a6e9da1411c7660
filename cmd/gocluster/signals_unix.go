//go:build unix

package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/gocluster/cluster"
)

// primarySignals are the signals of gocluster run's primary: SIGINT and
// SIGTERM stop (once: more of them while it drains are only noted), SIGHUP
// reloads (one more queued during a reload), SIGUSR1 and SIGUSR2 go on to
// every worker's program (through its launcher).
type primarySignals struct{ ch chan os.Signal }

// watchSignals subscribes at once, so that no signal between now and the
// handler's start takes its default action.
func watchSignals() *primarySignals {
	s := &primarySignals{ch: make(chan os.Signal, 8)}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	return s
}

// run handles them until done closes; it joins its reload goroutine.
func (s *primarySignals) run(done <-chan struct{}, ctx context.Context, p *cluster.Primary, stop func(), out *console) {
	defer signal.Stop(s.ch)
	reload := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-reload:
				if err := p.Reload(ctx); err != nil && !errors.Is(err, context.Canceled) {
					out.printf("reload: %v", err)
				}
			}
		}
	}()
	defer wg.Wait()
	stopping := false
	for {
		select {
		case <-done:
			return
		case sig := <-s.ch:
			switch {
			case sig == syscall.SIGUSR1 || sig == syscall.SIGUSR2:
				for _, w := range p.Workers() {
					w.Process().Signal(sig) // not Kill: the worker stays supervised
				}
			case sig == syscall.SIGHUP && !stopping:
				select {
				case reload <- struct{}{}:
				default: // one is queued already
				}
			case sig == syscall.SIGHUP:
			case stopping:
				out.printf("%v: already stopping", sig)
			default:
				stopping = true
				out.printf("%v: stopping", sig)
				stop()
			}
		}
	}
}
