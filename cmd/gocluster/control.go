package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/control"
)

// dialFlags adds --socket and --app to fs, parses args and dials the
// cluster's control socket.
func dialFlags(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) (*control.Client, error) {
	socket := fs.String("socket", "", "the control socket (default: the cluster run from this directory)")
	app := fs.String("app", "", "the app of the config file, when it has several")
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	path, err := socketPath(*socket, *app, *app != "")
	if err != nil {
		return nil, fmt.Errorf("gocluster: %w", err)
	}
	c, err := control.Dial(ctx, path)
	if errors.Is(err, control.ErrNoCluster) && *socket == "" && *app == "" {
		if names := configApps(); len(names) > 1 {
			return nil, &severalApps{names}
		}
	}
	return c, err
}

// severalApps: the config file here runs several apps, each with its own
// socket; say which (--app).
type severalApps struct{ names []string }

func (e *severalApps) Error() string {
	return fmt.Sprintf("gocluster: %s here runs %d apps: give --app NAME (%s)", defaultConfig, len(e.names), strings.Join(e.names, ", "))
}

// configApps names the apps of ./gocluster.toml, if it reads.
func configApps() []string {
	apps, err := loadConfig(defaultConfig, "")
	if err != nil {
		return nil
	}
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	return names
}

// cmdScale is gocluster scale N.
func cmdScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("scale")
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := strconv.Atoi(fs.Arg(0))
	if fs.NArg() != 1 || err != nil || n < 0 {
		return usageErr("gocluster scale: give the number of workers to keep: gocluster scale 4")
	}
	if err := c.Scale(ctx, n); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scaled to %d workers\n", n)
	return nil
}

// cmdReload is gocluster reload: it returns when the new generation serves.
func cmdReload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := dialOnly(ctx, "reload", args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Reload(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "reloaded")
	return nil
}

// cmdStop is gocluster stop: it returns when the cluster has stopped.
func cmdStop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := dialOnly(ctx, "stop", args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Stop(ctx); err != nil {
		return err
	}
	// The cluster drains, then removes its socket: wait for that, so that
	// its addresses are free when this returns.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for limit := time.After(stopWait); ; {
		if d, err := control.Dial(ctx, c.Path()); errors.Is(err, control.ErrNoCluster) {
			break
		} else if err == nil {
			d.Close()
		}
		select {
		case <-tick.C:
		case <-limit:
			return fmt.Errorf("gocluster: stop: the cluster still runs after %v (its workers drain?); gocluster status shows them", stopWait)
		case <-ctx.Done():
			return fmt.Errorf("gocluster: stop: interrupted; the cluster goes on stopping")
		}
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// stopWait bounds how long gocluster stop waits for the cluster to end.
const stopWait = 5 * time.Minute

// dialOnly dials for a command that takes no argument.
func dialOnly(ctx context.Context, name string, args []string, stdout io.Writer) (*control.Client, error) {
	fs := newFlags(name)
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		c.Close()
		return nil, usageErr("gocluster %s: unexpected %q (see gocluster %s -h)", name, fs.Arg(0), name)
	}
	return c, nil
}

// cmdSend is gocluster send ID|all MESSAGE.
func cmdSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send")
	c, err := dialFlags(ctx, fs, args, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	if fs.NArg() != 2 {
		return usageErr("gocluster send: give a worker id (or all) and the message: gocluster send all '{\"cmd\":\"flush\"}'")
	}
	id := 0
	if fs.Arg(0) != "all" {
		if id, err = strconv.Atoi(fs.Arg(0)); err != nil || id <= 0 {
			return usageErr("gocluster send: %q: give a worker id (gocluster status lists them) or all", fs.Arg(0))
		}
	}
	return c.Send(ctx, id, []byte(fs.Arg(1)))
}
