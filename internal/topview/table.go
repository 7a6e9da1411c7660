package topview

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gocluster/cluster/control"
)

// cell is one table cell's text and mark.
type cell struct {
	text string
	st   style
}

// row is what the table shows of one worker, whatever the layout.
type row struct {
	id, pid, gen, state, restarts, uptime, cpu, mem, conns cell
	cpuFrac                                                float64
	memFrac                                                float64 // of MaxRSS; 0 without one
	memPct                                                 string  // "104%", "" without MaxRSS
	attention                                              bool
}

// recentRestart is how long a replacement worker (Restarts > 0) stays marked
// when no earlier status shows it arriving.
const recentRestart = time.Minute

// newRow reads w; prev holds the previous status's workers by id, nil on
// the first status.
func newRow(w control.WorkerStatus, prev map[int]control.WorkerStatus) row {
	r := row{
		id:     cell{text: strconv.Itoa(w.ID)},
		pid:    cell{text: strconv.Itoa(w.PID)},
		gen:    cell{text: strconv.Itoa(w.Generation)},
		state:  cell{text: w.State},
		uptime: cell{text: durationText(seconds(w.Uptime))},
		cpu:    cell{text: fmt.Sprintf("%.1f", w.CPU)},
		conns:  cell{text: strconv.Itoa(w.Connections)},
	}
	switch w.State {
	case "ready":
	case "starting", "stopping":
		r.state.st = warn
	default: // "exited", or a state this view does not know
		r.state.st = alert
	}
	// A restart shows as a new worker (a new id) in its predecessor's place,
	// with one more restart: marked when it arrived since the previous
	// status, or, on the first, when it is young.
	r.restarts = cell{text: strconv.Itoa(w.Restarts)}
	if w.Restarts > 0 {
		before, seen := prev[w.ID]
		rising := (prev != nil && (!seen || before.Restarts < w.Restarts)) ||
			seconds(w.Uptime) < recentRestart
		if rising {
			r.restarts.st = warn
		}
	}
	r.cpuFrac = w.CPU / 100
	if w.CPU > 90 {
		r.cpu.st = alert
	}
	r.mem = cell{text: bytesText(w.RSS)}
	if w.RSS == 0 {
		r.mem.text = "-" // unknown
	}
	if w.MaxRSS > 0 {
		r.memFrac = float64(w.RSS) / float64(w.MaxRSS)
		r.memPct = fmt.Sprintf("%.0f%%", 100*r.memFrac)
		if r.memFrac > 0.9 {
			r.mem.st = alert
		}
	}
	r.attention = r.state.st != plain || r.restarts.st != plain || r.cpu.st != plain || r.mem.st != plain
	return r
}

// layout is one way to fit the table in a width.
type layout struct {
	sep   int  // spaces between columns
	bar   int  // inner width of the CPU and MEM gauges; 0: none
	short bool // "RST" for "RESTARTS"
	drop  map[string]bool
}

// column is one column of the table under a layout.
type column struct {
	key   string
	head  string
	right bool
	width int
}

// columns lists the table's columns under l, each as wide as its widest
// cell.
func (l layout) columns(rows []row) []column {
	restarts := "RESTARTS"
	if l.short {
		restarts = "RST"
	}
	all := []column{
		{key: "id", head: "ID", right: true},
		{key: "pid", head: "PID", right: true},
		{key: "gen", head: "GEN", right: true},
		{key: "state", head: "STATE"},
		{key: "restarts", head: restarts, right: true},
		{key: "uptime", head: "UPTIME", right: true},
		{key: "cpu", head: "CPU%", right: true},
		{key: "cpubar"},
		{key: "mem", head: "MEM", right: true},
		{key: "membar"},
		{key: "conns", head: "CONNS", right: true},
	}
	var cols []column
	for _, c := range all {
		if l.drop[c.key] || (l.bar == 0 && (c.key == "cpubar" || c.key == "membar")) ||
			(c.key == "membar" && !limited(rows)) {
			continue
		}
		c.width = utf8.RuneCountInString(c.head)
		for _, r := range rows {
			c.width = max(c.width, utf8.RuneCountInString(l.cell(r, c.key).text))
		}
		cols = append(cols, c)
	}
	return cols
}

// width is the table's width under l.
func (l layout) width(cols []column) int {
	n := 0
	for i, c := range cols {
		if i > 0 {
			n += l.gap(c)
		}
		n += c.width
	}
	return n
}

// gap is the space before c: a gauge sits one space after its number.
func (l layout) gap(c column) int {
	if c.key == "cpubar" || c.key == "membar" {
		return 1
	}
	return l.sep
}

// cell is r's cell in the column key under l.
func (l layout) cell(r row, key string) cell {
	switch key {
	case "id":
		return r.id
	case "pid":
		return r.pid
	case "gen":
		return r.gen
	case "state":
		return r.state
	case "restarts":
		return r.restarts
	case "uptime":
		return r.uptime
	case "cpu":
		return r.cpu
	case "cpubar":
		return cell{bar(r.cpuFrac, l.bar, ""), r.cpu.st}
	case "mem":
		if l.bar == 0 && r.memPct != "" {
			return cell{r.mem.text + " " + r.memPct, r.mem.st}
		}
		return r.mem
	case "membar":
		if r.memPct == "" {
			return cell{} // no limit: no gauge
		}
		return cell{bar(r.memFrac, l.bar, r.memPct), r.mem.st}
	case "conns":
		return r.conns
	}
	return cell{}
}

// Gauges are at most maxBar and at least minBar wide inside.
const (
	maxBar = 20
	minBar = 5
)

// fit chooses the widest layout for rows in width: two spaces between
// columns, then one; "RST"; without CONNS, then GEN; then without gauges,
// and without UPTIME, then PID. Each step with gauges takes them as wide as
// the rest leaves. If nothing fits, the last is used and lines are cut.
// Columns are measured for each try: a few steps of a few rows each, once a
// second.
func fit(rows []row, width int) (layout, []column) {
	steps := []layout{
		{sep: 2},
		{sep: 1},
		{sep: 1, short: true},
		{sep: 1, short: true, drop: map[string]bool{"conns": true}},
		{sep: 1, short: true, drop: map[string]bool{"conns": true, "gen": true}},
	}
	for _, l := range steps {
		for l.bar = maxBar; l.bar >= minBar; l.bar-- {
			if cols := l.columns(rows); l.width(cols) <= width {
				return l, cols
			}
		}
	}
	steps = append(steps,
		layout{sep: 1, short: true, drop: map[string]bool{"conns": true, "gen": true, "uptime": true}},
		layout{sep: 1, short: true, drop: map[string]bool{"conns": true, "gen": true, "uptime": true, "pid": true}},
	)
	for _, l := range steps {
		l.bar = 0
		if cols := l.columns(rows); l.width(cols) <= width {
			return l, cols
		}
	}
	l := steps[len(steps)-1]
	return l, l.columns(rows)
}

// limited reports whether a worker has a memory limit (a MEM gauge).
func limited(rows []row) bool {
	for _, r := range rows {
		if r.memPct != "" {
			return true
		}
	}
	return false
}

// head is the table's heading line.
func (l layout) head(cols []column) line {
	var ln line
	for i, c := range cols {
		if i > 0 {
			ln.add(pad("", l.gap(c), false), plain)
		}
		ln.add(pad(c.head, c.width, c.right), plain)
	}
	return ln
}

// line is r's line.
func (l layout) line(cols []column, r row) line {
	var ln line
	for i, c := range cols {
		if i > 0 {
			ln.add(pad("", l.gap(c), false), plain)
		}
		x := l.cell(r, c.key) // the padding stays unmarked
		fill := pad("", c.width-utf8.RuneCountInString(x.text), false)
		if c.right {
			ln.add(fill, plain)
		}
		ln.add(x.text, x.st)
		if !c.right {
			ln.add(fill, plain)
		}
	}
	return ln
}
