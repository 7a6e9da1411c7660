//go:build unix

package topview

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/control"
)

// screenLog is an out for Run that tells when what it was written holds a
// string.
type screenLog struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{} // closed and replaced at each write
}

func newScreenLog() *screenLog { return &screenLog{changed: make(chan struct{})} }

func (s *screenLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

func (s *screenLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// wait returns once the log holds want, failing after 10 s.
func (s *screenLog) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		got, changed := strings.Contains(s.b.String(), want), s.changed
		s.mu.Unlock()
		if got {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %q in %q", want, s.String())
		}
	}
}

// TestRunRetries shows a failing fetch's error and keeps asking; the next
// status replaces it; q from a pipe (not a terminal) ends Run, which
// leaves the alternate screen.
func TestRunRetries(t *testing.T) {
	r, w, err := osPipe(t)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	fetch := func(ctx context.Context) (control.Status, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			return control.Status{}, errors.New("control: dial: connection refused")
		}
		return demoStatus(time.Now()), nil
	}
	out := newScreenLog()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), r, out, fetch, Options{Interval: 5 * time.Millisecond, Size: func() (int, int) { return 80, 24 }})
	}()
	out.wait(t, "gocluster: status: control: dial: connection refused (retrying)")
	out.wait(t, "31402")
	if _, err := w.Write([]byte("xq")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := out.String()
	if !strings.HasPrefix(s, enterScreen) || !strings.HasSuffix(s, leaveScreen) {
		t.Errorf("the alternate screen is not entered first and left last: %q", s)
	}
	if strings.Contains(s[strings.LastIndex(s, home):], "connection refused") {
		t.Errorf("the error stays after a status came: %q", s)
	}
}

// TestRunContext ends Run with its context: the key reader, waiting on an
// open pipe, ends too (Run waits for it).
func TestRunContext(t *testing.T) {
	r, _, err := osPipe(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := newScreenLog()
	done := make(chan error, 1)
	fetch := func(ctx context.Context) (control.Status, error) {
		<-ctx.Done() // a cluster that does not answer
		return control.Status{}, ctx.Err()
	}
	go func() { done <- Run(ctx, r, out, fetch, Options{Size: func() (int, int) { return 60, 10 }}) }()
	out.wait(t, "no status yet")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := out.String(); !strings.HasSuffix(s, leaveScreen) {
		t.Errorf("the alternate screen is not left: %q", s)
	}
}

// osPipe is an os.Pipe closed at the test's end.
func osPipe(t *testing.T) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err == nil {
		t.Cleanup(func() { r.Close(); w.Close() })
	}
	return r, w, err
}
