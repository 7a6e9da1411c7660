package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gocluster/cluster/control"
)

// cmdStatus is gocluster status [--json]: the workers of the cluster run
// from this directory.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	c, err := dialFlags(ctx, fs, args, stdout)
	var several *severalApps
	if errors.As(err, &several) {
		return statusOfApps(ctx, several.names, *asJSON, stdout)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if fs.NArg() > 0 {
		return usageErr("gocluster status: unexpected %q (see gocluster status -h)", fs.Arg(0))
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, *st, time.Now())
	return nil
}

// statusOfApps prints the status of each app of the config file here: a
// table each, or a JSON array.
func statusOfApps(ctx context.Context, names []string, asJSON bool, stdout io.Writer) error {
	var all []control.Status
	for i, name := range names {
		path, err := socketPath("", name, true)
		if err != nil {
			return fmt.Errorf("gocluster: %w", err)
		}
		c, err := control.Dial(ctx, path)
		if err != nil {
			return fmt.Errorf("gocluster: app %q: %w", name, err)
		}
		st, err := c.Status(ctx)
		c.Close()
		if err != nil {
			return fmt.Errorf("gocluster: app %q: %w", name, err)
		}
		if asJSON {
			all = append(all, *st)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printStatus(stdout, *st, time.Now())
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	return nil
}

// printStatus writes pm2 list's table.
func printStatus(w io.Writer, st control.Status, now time.Time) {
	fmt.Fprintf(w, "%s: primary pid %d, up %s, %d/%d workers, generation %d", cmpStr(st.Name, "cluster"), st.PID,
		shortDuration(now.Sub(st.Started)), len(st.Workers), st.Want, st.Generation)
	if st.Reloading {
		fmt.Fprint(w, ", reloading")
	}
	fmt.Fprintf(w, "; store %d keys, revision %d\n", st.Store.Keys, st.Store.Revision)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPID\tGEN\tSTATE\tRESTARTS\tUPTIME\tCPU\tMEMORY\tCONNS")
	for _, ws := range st.Workers {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%d\t%s\t%.0f%%\t%s\t%d\n", ws.ID, ws.PID, ws.Generation, ws.State, ws.Restarts,
			shortDuration(time.Duration(ws.Uptime*float64(time.Second))), ws.CPU, bytesText(ws.RSS), ws.Connections)
	}
	tw.Flush()
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func bytesText(n int64) string {
	switch {
	case n <= 0:
		return "-"
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
