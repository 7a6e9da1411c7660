package control

import (
	"os"
	"sync"
	"time"

	"github.com/gocluster/cluster"
)

// clusterState is what the server follows of the cluster beside what the
// Primary tells: whether a reload runs, and the count scale last set.
type clusterState struct {
	mu        sync.Mutex
	reloading bool
	want      int // -1: never scaled through this server
}

func (cs *clusterState) setReloading(b bool) {
	cs.mu.Lock()
	cs.reloading = b
	cs.mu.Unlock()
}

func (cs *clusterState) setWant(n int) {
	cs.mu.Lock()
	cs.want = n
	cs.mu.Unlock()
}

func (cs *clusterState) get() (reloading bool, want int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.reloading, cs.want
}

// cpuSampler remembers each process's CPU time at the previous status, to
// report the CPU used since.
type cpuSampler struct {
	mu   sync.Mutex
	last map[int]cpuSample // by pid
}

type cpuSample struct {
	at    time.Time
	ticks uint64
}

// percent returns the share of one CPU process pid used since the previous
// call for it (since start, the first time), in percent, and remembers now.
func (cs *cpuSampler) percent(next map[int]cpuSample, pid int, start, now time.Time) float64 {
	ticks, ok := cpuTicks(pid)
	if !ok {
		return 0
	}
	next[pid] = cpuSample{at: now, ticks: ticks}
	prev, seen := cs.last[pid]
	if !seen || ticks < prev.ticks {
		prev = cpuSample{at: start}
	}
	wall := now.Sub(prev.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return float64(ticks-prev.ticks) / clockTicks / wall * 100
}

// status builds the answer of the status command.
func (s *Server) status() *Status {
	now := time.Now()
	reloading, want := s.state.get()
	st := &Status{
		PID:       os.Getpid(),
		Name:      s.opts.Name,
		Dir:       s.dir,
		Started:   s.started,
		Reloading: reloading,
		Workers:   []WorkerStatus{},
		Store:     StoreStatus{Keys: s.p.Store().Len(), Revision: s.p.Store().Rev()},
	}
	s.cpu.mu.Lock()
	defer s.cpu.mu.Unlock()
	next := map[int]cpuSample{}
	live := 0
	for _, w := range s.p.Workers() {
		pid := w.PID()
		if s.opts.PID != nil {
			if p := s.opts.PID(w); p > 0 {
				pid = p
			}
		}
		ws := WorkerStatus{
			ID:          w.ID(),
			PID:         pid,
			Generation:  w.Generation(),
			State:       workerState(w),
			Restarts:    w.Restarts(),
			Uptime:      now.Sub(w.Started()).Seconds(),
			RSS:         rss(pid),
			MaxRSS:      s.opts.MaxRSS,
			Connections: w.Connections(),
		}
		ws.CPU = s.cpu.percent(next, pid, w.Started(), now)
		st.Generation = max(st.Generation, ws.Generation)
		if ws.State == "starting" || ws.State == "ready" {
			live++
		}
		st.Workers = append(st.Workers, ws)
	}
	s.cpu.last = next
	st.Want = want
	if want < 0 {
		st.Want = live
	}
	return st
}

// workerState names where w is in its life.
func workerState(w *cluster.Worker) string {
	switch {
	case w.IsDead():
		return "exited"
	case w.ExitedAfterDisconnect():
		return "stopping"
	case w.IsReady():
		return "ready"
	}
	return "starting"
}
