// Package topview draws the live view of a running cluster that
// gocluster top shows, pm2 monit's peer: a header for the cluster, a table
// of its workers and a footer, redrawn every second by [Run].
//
// [Render] is pure: a [control.Status] (and the one before it) in, a screen
// of text out, as wide and as tall as the terminal, with ANSI colour and
// bold only on what needs attention: a worker not ready, one restarted, one
// busy (CPU above 90% of one CPU), one near or over its memory limit (RSS
// above 90% of MaxRSS).
package topview

import (
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/cluster/control"
)

// Frame is what [Render] draws.
type Frame struct {
	// Status is the newest status; with Err set, the last one that came
	// (the zero Status if none did).
	Status control.Status
	// Prev is the status before Status, nil for the first: a worker that
	// arrived since, in a restarted worker's place, is marked.
	Prev *control.Status
	// Err is the newest status request's error, shown above the table.
	Err error
	// Fetched is when Status came; it dates a stale Status when Err is set.
	Fetched time.Time
	// Width and Height are the terminal's size: every line is cut to
	// Width, and there are at most Height lines.
	Width, Height int
	// Now is the time of the drawing: uptimes count to it.
	Now time.Time
	// NoColor leaves the marks out: plain text only.
	NoColor bool
}

// Render draws f: lines joined by "\n", none longer than f.Width
// characters (ANSI sequences aside), at most f.Height of them, the last one
// the footer ("q quit"). Workers that do not fit in the height are counted
// on a line of their own.
func Render(f Frame) string {
	if f.Width <= 0 || f.Height <= 0 {
		return ""
	}
	s := f.Status
	var top []line
	if s.PID != 0 {
		top = append(top, headLine(s, f.Now).whole(f.Width), storeLine(s).whole(f.Width))
	} else {
		var l line
		l.add("no status yet", plain)
		top = append(top, l)
	}
	if f.Err != nil {
		var l line
		msg := f.Err.Error() + " (retrying)"
		if s.PID != 0 && !f.Fetched.IsZero() {
			msg = f.Err.Error() + " (retrying; status " + durationText(f.Now.Sub(f.Fetched)) + " old)"
		}
		l.add(msg, alert)
		top = append(top, l)
	}
	var table []line
	if s.PID != 0 {
		table = workerLines(s, f.Prev, f.Width, f.Height-len(top)-2) // a blank line, the footer
	}
	lines := top
	if len(table) > 0 {
		lines = append(lines, nil)
		lines = append(lines, table...)
	}
	lines = lines[:min(len(lines), f.Height-1)]
	lines = append(lines, footLine(f))
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(l.render(f.Width, f.NoColor), " ")
	}
	return strings.Join(out, "\n")
}

// headLine is the cluster's line: name, workers ready, generation,
// reload, primary, uptime (what a narrow screen loses first last).
func headLine(s control.Status, now time.Time) line {
	var l line
	name := s.Name
	if name == "" {
		name = "cluster"
	}
	l.add(name, plain)
	ready := 0
	for _, w := range s.Workers {
		if w.State == "ready" {
			ready++
		}
	}
	st := plain
	if ready < s.Want {
		st = warn
	}
	l.add("  ", plain)
	l.add(fmt.Sprintf("workers %d/%d ready", ready, s.Want), st)
	l.add(fmt.Sprintf("  gen %d", s.Generation), plain)
	if s.Reloading {
		l.add("  ", plain)
		l.add("reloading", warn)
	}
	l.add(fmt.Sprintf("  pid %d", s.PID), plain)
	if !s.Started.IsZero() {
		l.add("  up "+durationText(now.Sub(s.Started)), plain)
	}
	return l
}

// storeLine is the shared state's line, and the primary's directory.
func storeLine(s control.Status) line {
	var l line
	l.add(fmt.Sprintf("store %d keys  revision %d", s.Store.Keys, s.Store.Revision), plain)
	if s.Dir != "" {
		l.add("  dir "+s.Dir, plain)
	}
	return l
}

// workerLines is the table in width, heading included, in at most height
// lines; workers beyond are counted on its last line, and how many of them
// need attention.
func workerLines(s control.Status, prev *control.Status, width, height int) []line {
	if height < 1 {
		return nil
	}
	if len(s.Workers) == 0 {
		var l line
		l.add("no workers", warn)
		return []line{l}
	}
	var before map[int]control.WorkerStatus
	if prev != nil {
		before = make(map[int]control.WorkerStatus, len(prev.Workers))
		for _, w := range prev.Workers {
			before[w.ID] = w
		}
	}
	rows := make([]row, len(s.Workers))
	for i, w := range s.Workers {
		rows[i] = newRow(w, before)
	}
	lay, cols := fit(rows, width)
	lines := []line{lay.head(cols)}
	shown := rows
	if 1+len(rows) > height {
		shown = rows[:max(0, height-2)] // the heading, the count
	}
	for _, r := range shown {
		lines = append(lines, lay.line(cols, r))
	}
	if hidden := rows[len(shown):]; len(hidden) > 0 {
		var l line
		l.add(fmt.Sprintf("... %d more workers", len(hidden)), plain)
		n := 0
		for _, r := range hidden {
			if r.attention {
				n++
			}
		}
		if n > 0 {
			l.add(", ", plain)
			l.add(fmt.Sprintf("%d of them need attention", n), warn)
		}
		lines = append(lines, l)
	}
	return lines[:min(len(lines), height)]
}

// footLine is the keys, and the time of the status shown.
func footLine(f Frame) line {
	var l line
	keys := "q quit"
	when := f.Now.Format("15:04:05")
	if f.Err != nil && !f.Fetched.IsZero() {
		when = "status of " + f.Fetched.Format("15:04:05")
	}
	l.add(keys, plain)
	if gap := f.Width - len(keys) - len(when); gap >= 2 {
		l.add(strings.Repeat(" ", gap)+when, plain)
	}
	return l
}
