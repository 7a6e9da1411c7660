package main

import (
	"context"
	"io"
	"os"

	"github.com/gocluster/cluster/control"
	"github.com/gocluster/cluster/internal/topview"
)

// cmdTop is gocluster top: the live view of the workers, refreshed every
// second, until q.
func cmdTop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("top")
	noColor := fs.Bool("no-color", false, "plain text, no colour")
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	fetch := func(ctx context.Context) (control.Status, error) {
		st, err := c.Status(ctx)
		if err != nil {
			return control.Status{}, err
		}
		return *st, nil
	}
	return topview.Run(ctx, os.Stdin, stdout, fetch, topview.Options{NoColor: *noColor})
}
