package cluster

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultDrainGrace is how long Serve answers requests with
// "Connection: close" before it shuts the server down.
const DefaultDrainGrace = time.Second

// Serve serves srv on ln until this worker is told to shut down (Shutdown
// closes), then drains without failing a request, and returns nil when
// done (or the error that ended serving early):
//
//  1. it closes ln: no new connections come to this worker;
//  2. for DefaultDrainGrace it answers every request on a kept-alive
//     connection with "Connection: close", so clients open their next
//     connection to a live worker instead of having an idle one closed
//     under a request they are sending (which plain http.Server.Shutdown
//     does to busy keep-alive clients);
//  3. it calls srv.Shutdown, which waits for the requests in flight.
//
// Serve wraps srv.Handler (nil: http.DefaultServeMux) to add the header.
// A worker's main should return only after Serve has returned. Outside a
// cluster, Shutdown closes on SIGINT or SIGTERM, so the same code drains a
// standalone server.
func Serve(srv *http.Server, ln net.Listener) error {
	var draining atomic.Bool
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-Shutdown():
	}
	draining.Store(true)
	ln.Close()
	time.Sleep(DefaultDrainGrace)
	err := srv.Shutdown(context.Background())
	if serr := <-served; err == nil && !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
		err = serr
	}
	return err
}
