package topview

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gocluster/cluster/control"
)

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// visible is s as the terminal shows it: without its marks.
func visible(s string) string { return sgr.ReplaceAllString(s, "") }

// workerLine returns the line of the worker with pid in screen.
func workerLine(t *testing.T, screen string, pid int) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(visible(l), fmt.Sprintf(" %d ", pid)) {
			return l
		}
	}
	t.Fatalf("no line for pid %d in\n%s", pid, visible(screen))
	return ""
}

func TestRender(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	demo := demoStatus(now)
	many := demoStatus(now)
	many.Want = 50
	many.Workers = nil
	for i := range 50 {
		w := control.WorkerStatus{ID: i + 1, PID: 1000 + i, State: "ready", Uptime: 600, RSS: 30 * mib}
		if i >= 40 && i%2 == 0 {
			w.State = "stopping" // five of the hidden ten need attention
		}
		many.Workers = append(many.Workers, w)
	}
	tests := []struct {
		name          string
		f             Frame
		lines         int      // exactly this many lines
		want          []string // in the visible text
		marked        []string // each between a mark and its reset
		plain         []int    // pids whose lines carry no mark
		heads, noHead []string // table headings there, and not
	}{
		{
			name:   "80 columns",
			f:      Frame{Status: demo, Width: 80, Height: 24, Now: now},
			lines:  7,
			want:   []string{"shop", "workers 1/2 ready", "gen 3", "pid 4242", "up 3m20s", "store 12 keys", "revision 345", "3m10s", "540 MiB", "12.5 MiB", "105%]", "q quit"},
			marked: []string{sgrWarn + "workers 1/2 ready", sgrWarn + "starting", sgrWarn + "3" + sgrReset, sgrAlert + "95.2", sgrAlert + "540 MiB", sgrAlert + "[||||105%]"},
			heads:  []string{"ID", "PID", "GEN", "STATE", "RESTARTS", "UPTIME", "CPU%", "MEM", "CONNS"},
		},
		{
			name:   "60 columns",
			f:      Frame{Status: demo, Width: 60, Height: 24, Now: now},
			lines:  7,
			want:   []string{"shop", "workers 1/2 ready", "105%]", "2%]", "q quit"},
			marked: []string{sgrWarn + "starting", sgrAlert + "540 MiB"},
			heads:  []string{"ID", "PID", "STATE", "RST", "UPTIME", "CPU%", "MEM"},
			noHead: []string{"GEN", "RESTARTS", "CONNS"},
		},
		{
			name:   "40 columns: no gauges",
			f:      Frame{Status: demo, Width: 40, Height: 24, Now: now},
			lines:  7,
			want:   []string{"540 MiB 105%", "q quit"},
			marked: []string{sgrAlert + "540 MiB 105%"},
			heads:  []string{"ID", "PID", "STATE", "RST", "CPU%", "MEM"},
			noHead: []string{"UPTIME", "GEN", "CONNS"},
		},
		{
			name:   "many workers cut to the height",
			f:      Frame{Status: many, Width: 80, Height: 12, Now: now},
			lines:  12,
			want:   []string{"workers 45/50 ready", "... 44 more workers, 5 of them need attention", "q quit"},
			plain:  []int{1000, 1005},
			marked: []string{sgrWarn + "5 of them need attention"},
		},
		{
			name:   "the cluster stopped: the last status, and the error",
			f:      Frame{Status: demo, Err: errors.New("gocluster: status: control: connection refused"), Fetched: now.Add(-12 * time.Second), Width: 80, Height: 24, Now: now},
			lines:  8,
			want:   []string{"gocluster: status: control: connection refused (retrying; status 12s old)", "status of 03:03:53"},
			marked: []string{sgrAlert + "gocluster: status:"},
		},
		{
			name:  "no status yet",
			f:     Frame{Err: errors.New("gocluster: status: no socket"), Width: 80, Height: 24, Now: now},
			lines: 3,
			want:  []string{"no status yet", "gocluster: status: no socket (retrying)", "q quit"},
		},
		{
			name:  "height 3",
			f:     Frame{Status: demo, Width: 80, Height: 3, Now: now},
			lines: 3,
			want:  []string{"shop", "store", "q quit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			screen := Render(tt.f)
			text := visible(screen)
			lines := strings.Split(screen, "\n")
			if len(lines) != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tt.lines, text)
			}
			for i, l := range lines {
				if n := utf8.RuneCountInString(visible(l)); n > tt.f.Width {
					t.Errorf("line %d is %d wide, over %d: %q", i, n, tt.f.Width, visible(l))
				}
			}
			if last := visible(lines[len(lines)-1]); !strings.HasPrefix(last, "q quit") {
				t.Errorf("last line %q is not the footer", last)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in\n%s", w, text)
				}
			}
			for _, m := range tt.marked {
				if !strings.Contains(screen, m) {
					t.Errorf("no marked %q in %q", m, screen)
				}
			}
			for _, pid := range tt.plain {
				if l := workerLine(t, screen, pid); l != visible(l) {
					t.Errorf("pid %d needs no attention but is marked: %q", pid, l)
				}
			}
			if tt.heads != nil {
				head := strings.Fields(visible(lines[3]))
				if strings.Join(head, " ") != strings.Join(tt.heads, " ") {
					t.Errorf("headings %q, want %q", head, tt.heads)
				}
			}
			for _, h := range tt.noHead {
				if strings.Contains(visible(lines[3]), h) {
					t.Errorf("heading %q in %q", h, visible(lines[3]))
				}
			}
			nc := tt.f
			nc.NoColor = true
			if plain := Render(nc); plain != text {
				t.Errorf("NoColor draws\n%s\nnot\n%s", plain, text)
			}
		})
	}
}

// TestRenderRestartMark marks a restarted worker while it is new: one that
// arrived since the previous status, or, on the first, a young one.
func TestRenderRestartMark(t *testing.T) {
	now := time.Now()
	old := control.WorkerStatus{ID: 1, PID: 501, State: "ready", Restarts: 2, Uptime: 3600}
	replaced := control.WorkerStatus{ID: 5, PID: 505, State: "ready", Restarts: 1, Uptime: 3600}
	s := control.Status{PID: 1, Want: 2, Workers: []control.WorkerStatus{old, replaced}}
	prev := control.Status{PID: 1, Want: 2, Workers: []control.WorkerStatus{old, {ID: 4, PID: 504, State: "ready", Uptime: 3600}}}
	young := s
	young.Workers = []control.WorkerStatus{{ID: 5, PID: 505, State: "ready", Restarts: 1, Uptime: 5}}
	tests := []struct {
		name   string
		s      control.Status
		prev   *control.Status
		pid    int
		marked bool
	}{
		{"an old worker's restarts", s, &prev, 501, false},
		{"a replacement since the previous status", s, &prev, 505, true},
		{"the first status: an old replacement", s, nil, 505, false},
		{"the first status: a young replacement", young, nil, 505, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			screen := Render(Frame{Status: tt.s, Prev: tt.prev, Width: 80, Height: 24, Now: now})
			l := workerLine(t, screen, tt.pid)
			if got := strings.Contains(l, sgrWarn); got != tt.marked {
				t.Errorf("marked %v, want %v: %q", got, tt.marked, l)
			}
		})
	}
}

// TestRenderEscapes shows a name's control characters as '?': a status
// cannot drive the terminal.
func TestRenderEscapes(t *testing.T) {
	s := control.Status{PID: 1, Name: "evil\x1b[2J\x07", Workers: []control.WorkerStatus{}}
	screen := Render(Frame{Status: s, Width: 80, Height: 24, Now: time.Now(), NoColor: true})
	if strings.ContainsAny(screen, "\x1b\x07") || !strings.Contains(screen, "evil?[2J?") {
		t.Errorf("control characters through: %q", screen)
	}
}

func TestUnits(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1258291, "1.2 MiB"}, {540 * mib, "540 MiB"}, {1 << 30, "1.0 GiB"}} {
		if got := bytesText(tt.n); got != tt.want {
			t.Errorf("bytesText(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{-time.Second, "-"}, {45 * time.Second, "45s"}, {200 * time.Second, "3m20s"}, {62 * time.Minute, "1h02m"}, {51 * time.Hour, "2d03h"}} {
		if got := durationText(tt.d); got != tt.want {
			t.Errorf("durationText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for _, tt := range []struct {
		f     float64
		label string
		want  string
	}{{0, "", "[      ]"}, {0.01, "", "[|     ]"}, {0.5, "50%", "[|||50%]"}, {2, "", "[||||||]"}, {1.05, "105%", "[||105%]"}} {
		if got := bar(tt.f, 6, tt.label); got != tt.want {
			t.Errorf("bar(%v, 6, %q) = %q, want %q", tt.f, tt.label, got, tt.want)
		}
	}
}
