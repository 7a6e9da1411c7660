//go:build !unix

package main

import (
	"context"

	"github.com/gocluster/cluster"
)

// primarySignals: gocluster run needs Unix (see launcher_other.go).
type primarySignals struct{}

func watchSignals() *primarySignals { return &primarySignals{} }

func (s *primarySignals) run(done <-chan struct{}, ctx context.Context, p *cluster.Primary, stop func(), out *console) {
	<-done
}
