package topview

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/gocluster/cluster/control"
)

// Options are [Run]'s settings; the zero Options are the defaults.
type Options struct {
	// Interval is the time between status requests, and so between
	// redraws: one second if zero.
	Interval time.Duration
	// Timeout bounds each status request: five seconds if zero.
	Timeout time.Duration
	// NoColor draws plain text only (see [Frame]).
	NoColor bool
	// Size returns the terminal's width and height: if nil, out's size
	// when out is a terminal, else 80×24.
	Size func() (width, height int)
}

// The terminal sequences of the view.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l" // the alternate screen; cursor hidden
	leaveScreen = "\x1b[?25h\x1b[?1049l" // cursor shown; the normal screen back
	home        = "\x1b[H"
	eraseLine   = "\x1b[K"
	eraseBelow  = "\x1b[J"
)

// Keys that quit: q, Q, Ctrl-C (raw mode delivers it as a byte), Ctrl-D.
func quits(b byte) bool { return b == 'q' || b == 'Q' || b == 3 || b == 4 }

// Run shows the live view on out until the user quits (q, or Ctrl-C) or ctx
// is done, and returns nil then. It asks fetch for a status every
// Interval and draws it with [Render] on the alternate screen, cursor
// hidden; it redraws at once when the terminal is resized (SIGWINCH on
// Unix). When fetch fails, as it does while the cluster is stopped, the
// view shows the error over the last status and keeps asking.
//
// in is where keys come from: a terminal is put in raw mode; nil reads
// none. Run leaves the terminal as it found it on every return, and on
// SIGINT, SIGTERM or SIGHUP, which it handles while it runs (they end it
// as q does). fetch must return once its context is done. Run returns an
// error only when the terminal fails: raw mode, or a write to out.
func Run(ctx context.Context, in *os.File, out io.Writer, fetch func(context.Context) (control.Status, error), opts Options) (err error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Size == nil {
		opts.Size = sizeOf(out)
	}
	if in != nil && term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return fmt.Errorf("gocluster: top: raw mode: %w", err)
		}
		defer func() { _ = term.Restore(int(in.Fd()), old) }()
	}
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, quitSignals...)
	defer signal.Stop(quit)
	resize := make(chan os.Signal, 1)
	if len(resizeSignals) > 0 {
		signal.Notify(resize, resizeSignals...)
		defer signal.Stop(resize)
	}
	if _, err := io.WriteString(out, enterScreen); err != nil {
		return fmt.Errorf("gocluster: top: %w", err)
	}
	defer func() {
		if _, werr := io.WriteString(out, leaveScreen); werr != nil && err == nil {
			err = fmt.Errorf("gocluster: top: %w", werr)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the readers see it within a poll
	defer cancel()
	keys := make(chan byte)
	if in != nil {
		wg.Go(func() { readKeys(ctx, in, keys) })
	}
	results := make(chan result)
	wg.Go(func() { poll(ctx, fetch, opts, results) })

	v := view{opts: opts, out: out}
	if err := v.draw(); err != nil { // "no status yet", until the first answer
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-quit:
			return nil
		case k := <-keys:
			if quits(k) {
				return nil
			}
		case <-resize:
			if err := v.draw(); err != nil {
				return err
			}
		case r := <-results:
			v.take(r)
			if err := v.draw(); err != nil {
				return err
			}
		}
	}
}

// result is one status request's answer.
type result struct {
	status control.Status
	err    error
	at     time.Time
}

// poll asks fetch every interval until ctx is done, handing each answer to
// results.
func poll(ctx context.Context, fetch func(context.Context) (control.Status, error), opts Options, results chan<- result) {
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		s, err := fetch(fctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("gocluster: status: %w", err)
		}
		select {
		case results <- result{s, err, time.Now()}:
		case <-ctx.Done():
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// view is what Run shows: the last status, the one before, the last error.
type view struct {
	opts    Options
	out     io.Writer
	cur     control.Status
	prev    *control.Status
	err     error
	fetched time.Time
}

// take keeps r: a status moves the current one to prev; an error keeps
// the last status, stale, under it.
func (v *view) take(r result) {
	if r.err != nil {
		v.err = r.err
		return
	}
	if v.cur.PID != 0 {
		p := v.cur
		v.prev = &p
	}
	v.cur, v.err, v.fetched = r.status, nil, r.at
}

// draw writes the frame over the screen, from its top left corner, each
// line ended by erasing what an older frame left there.
func (v *view) draw() error {
	w, h := v.opts.Size()
	s := Render(Frame{
		Status: v.cur, Prev: v.prev, Err: v.err, Fetched: v.fetched,
		Width: w, Height: h, Now: time.Now(), NoColor: v.opts.NoColor,
	})
	s = home + strings.ReplaceAll(s, "\n", eraseLine+"\r\n") + eraseLine + eraseBelow
	if _, err := io.WriteString(v.out, s); err != nil {
		return fmt.Errorf("gocluster: top: %w", err)
	}
	return nil
}

// sizeOf returns the size of out, if a terminal, else 80×24.
func sizeOf(out io.Writer) func() (int, int) {
	return func() (int, int) {
		if f, ok := out.(*os.File); ok {
			if w, h, err := term.GetSize(int(f.Fd())); err == nil && w > 0 && h > 0 {
				return w, h
			}
		}
		return 80, 24
	}
}
