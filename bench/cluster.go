package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gocluster/cluster"
)

// runCluster starts a primary in this process with cfg (quiet, no signal
// handling) and waits until its cfg.Workers workers are ready. stop ends
// it and waits for Run to return; ctx ends with it.
func runCluster(cfg cluster.Config) (p *cluster.Primary, ctx context.Context, stop func(), err error) {
	return runClusterWith(cfg, nil)
}

// runClusterWith is runCluster, calling setup with the primary before its
// workers start (to fill its store, say).
func runClusterWith(cfg cluster.Config, setup func(*cluster.Primary) error) (p *cluster.Primary, ctx context.Context, stop func(), err error) {
	cfg.NoSignals = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if p, err = cluster.New(cfg); err != nil {
		return nil, nil, nil, err
	}
	if setup != nil {
		if err := setup(p); err != nil {
			return nil, nil, nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	events := p.Events(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop = func() { cancel(); <-done }
	timeout := time.After(10 * time.Second)
	for ready := 0; ready < cfg.Workers; {
		select {
		case e := <-events:
			if e.Type == cluster.EventReady {
				ready++
			}
		case <-timeout:
			stop()
			return nil, nil, nil, fmt.Errorf("workers not ready after 10 s")
		}
	}
	return p, ctx, stop, nil
}
