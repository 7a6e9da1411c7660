package control

import (
	"context"
	"errors"

	"github.com/gocluster/cluster/logs"
)

// defaultTail is how many lines logs sends when the request gives none.
const defaultTail = 15

// logsStream answers the logs command: the last N lines of worker ID (0:
// all; N 0 means 15, less than 0 none), then, with Follow, every new line until the client closes.
func (s *Server) logsStream(req request) func(context.Context, func(response) error) error {
	return func(ctx context.Context, send func(response) error) error {
		d := s.opts.Logs
		if d == nil {
			return errors.New("control: this cluster keeps no log files (Options.Logs is not set): its output goes where the program writes it")
		}
		n := req.N
		switch {
		case n == 0:
			n = defaultTail
		case n < 0:
			n = 0
		}
		sendLine := func(l logs.Line) error { return send(response{OK: true, Line: &l}) }
		if req.Follow {
			err := d.Follow(ctx, req.ID, n, sendLine)
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		lines, err := d.Tail(req.ID, n)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := sendLine(l); err != nil {
				return err
			}
		}
		return send(response{OK: true, Done: true})
	}
}
