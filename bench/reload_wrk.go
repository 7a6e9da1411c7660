package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startReloadSection is startSection for a section that runs wrk with
// reloadLua, which it writes into dir: script is its path.
func startReloadSection(name string) (ctx context.Context, dir, script string, end func(), err error) {
	ctx, dir, end, err = startSection(name)
	if err != nil {
		return nil, "", "", nil, err
	}
	script = filepath.Join(dir, "reload_report.lua")
	if err := os.WriteFile(script, []byte(reloadLua), 0o644); err != nil {
		end()
		return nil, "", "", nil, err
	}
	return ctx, dir, script, end, nil
}

// reloadLua makes wrk print its totals, socket errors, non-2xx replies
// (summary.errors.status) and the max latency as one JSON line.
const reloadLua = `-- wrk script: totals, errors and max latency of a reload run as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,"max_ms":%.3f}\n',
    summary.requests, e.connect, e.read, e.write, e.timeout, e.status, latency.max / 1000))
end
`

// reloadOut is what the wrk script prints.
type reloadOut struct {
	Requests, Connect, Read, Write, Timeout, Status int
	MaxMs                                           float64 `json:"max_ms"`
}

// add adds w, the workers after the run and the number of worker pids
// seen during it to out.
func (w reloadOut) add(out samples, workers, pids int) {
	for k, v := range map[string]float64{"requests": float64(w.Requests), "connect": float64(w.Connect),
		"read": float64(w.Read), "write": float64(w.Write), "timeout": float64(w.Timeout),
		"status": float64(w.Status), "max_ms": w.MaxMs, "workers": float64(workers), "pids": float64(pids),
		"failed": float64(w.Connect + w.Read + w.Write + w.Timeout + w.Status)} {
		out.add(k, v)
	}
}

// reloadWrk is wrk running with section reload's settings and report
// script; done receives its exit once.
type reloadWrk struct {
	stdout, stderr bytes.Buffer
	t0             time.Time // just before the start
	done           chan error
}

// startReloadWrk starts wrkBin against addr; the end of ctx ends it (by
// its pid).
func startReloadWrk(ctx context.Context, wrkBin, script, addr string) (*reloadWrk, error) {
	args := append(strings.Fields(reloadWrkArgs), "-s", script, "http://"+addr+"/")
	cmd := exec.CommandContext(ctx, wrkBin, args...)
	run := &reloadWrk{done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &run.stdout, &run.stderr
	run.t0 = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wrk: %w", err)
	}
	go func() { run.done <- cmd.Wait() }()
	return run, nil
}

// report is the line the script printed; read it after done.
func (run *reloadWrk) report() (reloadOut, error) {
	var w reloadOut
	found := false
	for _, l := range strings.Split(run.stdout.String(), "\n") {
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &w) == nil {
			found = true
		}
	}
	if !found {
		return w, fmt.Errorf("wrk printed no report: %s", run.stdout.String())
	}
	return w, nil
}
