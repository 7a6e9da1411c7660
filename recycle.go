package cluster

import (
	"fmt"
	"time"

	"github.com/gocluster/cluster/internal/proc"
)

const (
	// recycleEvery is how often workers are checked against MaxRSS and MaxAge.
	recycleEvery = time.Second
	// recycleBackoff is how long recycling pauses after a replacement
	// failed to become ready.
	recycleBackoff = time.Minute
)

// checkRecycle starts replacing the first worker over Config.MaxRSS or
// Config.MaxAge, unless a reload or another recycle is running. It runs on
// the supervisor goroutine.
func (p *Primary) checkRecycle() {
	if p.rollout != nil || p.stopping || time.Now().Before(p.recycleHold) {
		return
	}
	for _, w := range p.Workers() {
		info := p.slots[w.slot]
		if info == nil || !w.IsReady() || w.IsDead() || w.ExitedAfterDisconnect() {
			continue
		}
		reason := p.overLimit(w)
		if reason == "" {
			continue
		}
		p.log.Info("cluster: recycling a worker", "worker", w.id, "reason", reason)
		p.emit(Event{Type: EventRecycle, Worker: w, Reason: reason})
		p.rollout = &rollout{gen: info.gen, recycle: true, target: 1, surge: 1,
			old: map[int]*slotInfo{w.slot: info}, queue: []queued{{w.slot, info}}, fresh: make(map[int]bool),
			gone: make(map[int]bool)}
		p.stepRollout()
		return
	}
}

// overLimit says how w passed MaxRSS or MaxAge, or returns "".
func (p *Primary) overLimit(w *Worker) string {
	if p.cfg.MaxAge > 0 {
		if age := time.Since(w.started); age > p.cfg.MaxAge {
			return fmt.Sprintf("age %v over MaxAge %v", age.Round(time.Millisecond), p.cfg.MaxAge)
		}
	}
	if p.cfg.MaxRSS > 0 {
		if rss, err := proc.RSS(w.proc.Pid()); err == nil && rss > p.cfg.MaxRSS {
			return fmt.Sprintf("rss %d MiB over MaxRSS %d MiB", rss>>20, p.cfg.MaxRSS>>20)
		}
	}
	return ""
}
