package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/gocluster/cluster/logs"
)

// cmdLogs is gocluster logs [-f] [-n LINES] [ID]: the workers' output.
func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("logs")
	follow := fs.Bool("f", false, "follow: print new lines as they come, until interrupted")
	n := fs.Int("n", 15, "how many of the last lines to print first")
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	id := 0
	switch fs.NArg() {
	case 0:
	case 1:
		if id, err = strconv.Atoi(fs.Arg(0)); err != nil || id <= 0 {
			return usageErr("gocluster logs: %q: give a worker id (gocluster status lists them), or none for all", fs.Arg(0))
		}
	default:
		return usageErr("gocluster logs: give at most one worker id")
	}
	if *n == 0 {
		*n = -1 // none: the client's 0 means its default
	}
	err = c.Logs(ctx, id, *n, *follow, func(l logs.Line) error {
		_, err := fmt.Fprintln(stdout, l.String())
		return err
	})
	if *follow && ctx.Err() != nil {
		return nil // interrupted: the usual end of -f
	}
	return err
}
