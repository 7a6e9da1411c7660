package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// command answers a request that is not a stream.
func (s *Server) command(ctx context.Context, req request) response {
	ok := response{OK: true}
	fail := func(err error) response { return response{Error: errorText(err)} }
	switch req.Cmd {
	case "hello":
		return response{OK: true, PID: os.Getpid(), Name: s.opts.Name}
	case "status":
		return response{OK: true, Status: s.status()}
	case "scale":
		if req.N < 0 {
			return fail(fmt.Errorf("control: scale to %d workers: give 0 or more", req.N))
		}
		if err := s.p.Scale(ctx, req.N); err != nil {
			return fail(err)
		}
		s.state.setWant(req.N)
		return ok
	case "reload":
		if err := s.p.Reload(ctx); err != nil {
			return fail(err)
		}
		return ok
	case "stop":
		if s.opts.Stop == nil {
			return fail(errors.New("control: this cluster cannot be stopped from its control socket (Options.Stop is not set)"))
		}
		return ok // the server calls Stop once the answer is written
	case "send":
		if req.ID == 0 {
			if err := s.p.Broadcast(ctx, req.Message); err != nil {
				return fail(err)
			}
			return ok
		}
		w := s.p.Worker(req.ID)
		if w == nil {
			return fail(fmt.Errorf("control: no worker %d", req.ID))
		}
		if err := w.SendContext(ctx, req.Message); err != nil {
			return fail(err)
		}
		return ok
	case "kv":
		return s.kvCommand(ctx, req)
	case "":
		return fail(errors.New(`control: bad request: no "cmd"`))
	}
	return fail(fmt.Errorf("control: unknown command %q", req.Cmd))
}

// kvCommand answers the kv commands that are not streams.
func (s *Server) kvCommand(ctx context.Context, req request) response {
	store := s.p.Store()
	switch req.Op {
	case "get":
		e, found := store.Get(req.Key)
		if !found {
			return response{OK: true}
		}
		return response{OK: true, Found: true, Entry: entryOf(e)}
	case "put":
		rev, err := store.Put(ctx, req.Key, req.Value)
		if err != nil {
			return response{Error: errorText(err)}
		}
		return response{OK: true, Rev: rev}
	case "del":
		rev, err := store.Delete(ctx, req.Key)
		if err != nil {
			return response{Error: errorText(err)}
		}
		return response{OK: true, Rev: rev}
	}
	return response{Error: fmt.Sprintf("control: unknown kv operation %q (get, put, del, list, watch)", req.Op)}
}

// streamCommand returns the stream that answers req, or nil if req is not
// a streaming command: kv list and watch, logs.
func (s *Server) streamCommand(req request) func(context.Context, func(response) error) error {
	switch {
	case req.Cmd == "kv" && req.Op == "list":
		return func(_ context.Context, send func(response) error) error {
			for _, e := range s.p.Store().Range(req.Prefix) {
				if err := send(response{OK: true, Entry: entryOf(e)}); err != nil {
					return err
				}
			}
			return send(response{OK: true, Done: true})
		}
	case req.Cmd == "kv" && req.Op == "watch":
		return func(ctx context.Context, send func(response) error) error {
			for ev := range s.p.Store().Watch(ctx, req.Prefix) {
				we := &WatchEvent{Op: ev.Op.String(), Key: ev.Key, Value: ev.Value, Rev: ev.Rev}
				if err := send(response{OK: true, Event: we}); err != nil {
					return err
				}
			}
			return nil
		}
	case req.Cmd == "logs":
		return s.logsStream(req)
	}
	return nil
}

// errorText is err's text for a response, with this package's prefix if
// it has none of the project's.
func errorText(err error) string {
	t := err.Error()
	for _, p := range []string{"control: ", "cluster: ", "kv: ", "logs: ", "redis: "} {
		if strings.HasPrefix(t, p) {
			return t
		}
	}
	return "control: " + t
}
