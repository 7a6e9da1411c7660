package logs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockedWriter is a terminal stopped with Ctrl-S: each Write waits until
// release is closed.
type blockedWriter struct {
	entered chan struct{} // gets a value as each Write starts
	release chan struct{}
	mu      sync.Mutex
	got     bytes.Buffer
}

func (w *blockedWriter) Write(b []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got.Write(b)
}

// A blocked Echo holds up the writers' Write calls only: the lines reach
// their files, Follow and Tail meanwhile; once it unblocks, it gets every
// line, in order.
func TestBlockedEchoBlocksNoFile(t *testing.T) {
	dir := t.TempDir()
	// A line of a previous run: Follow's tail, which tells it is registered.
	old := format(nil, time.Now(), Stdout, []byte("zero"))
	if err := os.WriteFile(dir+"/worker-2.log", old, 0o640); err != nil {
		t.Fatal(err)
	}
	echo := &blockedWriter{entered: make(chan struct{}, 2), release: make(chan struct{})}
	d := open(t, Config{Dir: dir, Echo: echo})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan string, 4)
	followDone := make(chan error, 1)
	go func() {
		followDone <- d.Follow(ctx, 2, 1, func(l Line) error {
			followed <- l.Text
			return nil
		})
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case s := <-followed:
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("Follow did not deliver %s", what)
			return ""
		}
	}
	if s := next("its tail"); s != "zero" {
		t.Fatalf("Follow's tail = %q, want zero", s)
	}

	write := func(s string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := d.Stdout().Write([]byte(s))
			done <- err
		}()
		return done
	}
	first := write("[worker 1] first\n")
	select {
	case <-echo.entered: // worker 1's line is in Echo, which blocks
	case <-time.After(10 * time.Second):
		t.Fatal("the line never reached Echo")
	}
	second := write("[worker 2] second\n[worker 2] third")
	if s := next("a line written while Echo blocks"); s != "second" {
		t.Fatalf("Follow got %q, want second", s)
	}
	if s := next("the next line"); s != "third" {
		t.Fatalf("Follow got %q, want third", s)
	}
	if got, err := d.Tail(1, 5); err != nil || strings.Join(texts(got), ",") != "first" {
		t.Errorf("Tail(1) while Echo blocks = %v, %v; want first", texts(got), err)
	}
	if got, err := d.Tail(0, 5); err != nil || strings.Join(texts(got), ",") != "zero,first,second,third" {
		t.Errorf("Tail(0) while Echo blocks = %v, %v", texts(got), err)
	}
	for _, done := range []chan error{first, second} {
		select {
		case err := <-done:
			t.Fatalf("a Write returned (%v) while Echo blocks", err)
		default:
		}
	}

	close(echo.release)
	for _, done := range []chan error{first, second} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a Write did not return once Echo unblocked")
		}
	}
	echo.mu.Lock()
	got := echo.got.String()
	echo.mu.Unlock()
	if want := "[worker 1] first\n[worker 2] second\n[worker 2] third\n"; got != want {
		t.Errorf("Echo got %q, want %q", got, want)
	}
	cancel()
	if err := <-followDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow = %v, want context.Canceled", err)
	}
}
