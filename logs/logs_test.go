package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, cfg Config) *Dir {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func texts(ls []Line) []string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Text)
	}
	return s
}

// Two workers writing at once each get their files rotated at MaxSize,
// with Keep rotated files each, and Tail reads back across them in order.
func TestRotationTwoWorkers(t *testing.T) {
	d := open(t, Config{MaxSize: 2000, Keep: 2})
	const lines = 300
	var wg sync.WaitGroup
	for id := 1; id <= 2; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := d.Stdout()
			if id == 2 {
				w = d.Stderr()
			}
			for i := range lines {
				fmt.Fprintf(w, "[worker %d] line %03d\n", id, i)
			}
		}()
	}
	wg.Wait()
	for id := 1; id <= 2; id++ {
		p := d.Path(id)
		for _, suffix := range []string{"", ".1", ".2"} {
			st, err := os.Stat(p + suffix)
			if err != nil {
				t.Fatalf("worker %d: %v", id, err)
			}
			if st.Size() > 2000 || st.Size() == 0 || suffix != "" && st.Size() < 1000 {
				t.Errorf("%s: %d bytes, want up to 2000 (a rotated one more than half of it)", p+suffix, st.Size())
			}
		}
		if _, err := os.Stat(p + ".3"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("worker %d: a third rotated file: %v", id, err)
		}
		got, err := d.Tail(id, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 60 || len(got) >= lines {
			t.Fatalf("worker %d: %d lines kept across 3 files of 2000 bytes", id, len(got))
		}
		first := lines - len(got)
		for i, l := range got {
			if want := fmt.Sprintf("line %03d", first+i); l.Text != want || l.Worker != id {
				t.Fatalf("worker %d: line %d is %+v, want %q", id, i, l, want)
			}
			if want := map[int]string{1: Stdout, 2: Stderr}[id]; l.Stream != want {
				t.Fatalf("worker %d: stream %q, want %q", id, l.Stream, want)
			}
		}
	}
}

func TestTail(t *testing.T) {
	var echo bytes.Buffer
	d := open(t, Config{Echo: &echo})
	out, errw := d.Stdout(), d.Stderr()
	fmt.Fprint(out, "[worker 1] one\n")
	fmt.Fprint(errw, "[worker 2] two\n")
	fmt.Fprint(out, "no prefix\n")
	fmt.Fprint(out, "[worker 1] three\n")
	got, err := d.Tail(1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(texts(got), ","); s != "one,three" {
		t.Errorf("Tail(1, 5) = %s", s)
	}
	got, err = d.Tail(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	for _, l := range got {
		ss = append(ss, l.String()+"/"+l.Stream)
	}
	if s := strings.Join(ss, ","); s != "[worker 2] two/stderr,[primary] no prefix/stdout,[worker 1] three/stdout" {
		t.Errorf("Tail(0, 3) = %s", s)
	}
	if want := "[worker 1] one\n[worker 2] two\nno prefix\n[worker 1] three\n"; echo.String() != want {
		t.Errorf("echo = %q, want %q", echo.String(), want)
	}
	b, err := os.ReadFile(d.Path(2))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), "Z err two\n") || len(b) != len(timeLayout)+len(" err two\n") {
		t.Errorf("worker-2.log = %q", b)
	}
	if got, err := d.Tail(7, 5); err != nil || len(got) != 0 {
		t.Errorf("Tail of a worker with no file = %v, %v", got, err)
	}
}

// Follow delivers every line, in order, while the file rotates under it,
// and the lines of a worker that starts after it.
func TestFollowAcrossRotation(t *testing.T) {
	d := open(t, Config{MaxSize: 1000, Keep: 1})
	fmt.Fprint(d.Stdout(), "[worker 1] before\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- d.Follow(ctx, 0, 1, func(l Line) error {
			if l.Text == "before" {
				close(started) // the tail: Follow is registered
			}
			got = append(got, l.String())
			if l.Text == "last" {
				return errors.New("enough")
			}
			return nil
		})
	}()
	<-started
	var want []string
	want = append(want, "[worker 1] before")
	for i := range 200 {
		fmt.Fprintf(d.Stdout(), "[worker 1] line %d\n", i)
		want = append(want, fmt.Sprintf("[worker 1] line %d", i))
	}
	fmt.Fprint(d.Stdout(), "[worker 2] last\n")
	want = append(want, "[worker 2] last")
	select {
	case err := <-done:
		if err == nil || err.Error() != "enough" {
			t.Fatalf("Follow = %v, want fn's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not deliver the last line")
	}
	if _, err := os.Stat(d.Path(1) + ".1"); err != nil {
		t.Fatalf("no rotation happened: %v", err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("followed %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	d.mu.Lock()
	subs := len(d.subs)
	d.mu.Unlock()
	if subs != 0 {
		t.Errorf("%d followers left registered", subs)
	}
}

func TestFollowEndsOnClose(t *testing.T) {
	d := open(t, Config{})
	done := make(chan error, 1)
	go func() { done <- d.Follow(context.Background(), 1, 0, func(Line) error { return nil }) }()
	d.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Follow = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not end when the Dir closed")
	}
	if _, err := d.Stdout().Write([]byte("[worker 1] late\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close = %v, want ErrClosed", err)
	}
}

// Odd input: lines without a prefix or with a broken one, several lines
// (and a last one without newline) in one write, an empty line, a line
// longer than MaxLine.
func TestOddInput(t *testing.T) {
	d := open(t, Config{})
	w := d.Stdout()
	huge := strings.Repeat("x", 2*MaxLine+10)
	for _, s := range []string{
		"[worker 3]no space\n",
		"[worker -1] negative\n",
		"[worker abc] letters\n",
		"[worker 99999999999999] too long\n",
		"[worker ",
		"\n",
		"[worker 4] a\n[worker 5] b\nno newline",
		"[worker 4] " + huge + "\n",
		"[worker 4] \r\n",
	} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%.30q) = %d, %v", s, n, err)
		}
	}
	got, err := d.Tail(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var primary []string
	for _, l := range got {
		if l.Worker == 0 {
			primary = append(primary, l.Text)
		}
	}
	want := []string{"[worker 3]no space", "[worker -1] negative", "[worker abc] letters",
		"[worker 99999999999999] too long", "[worker ", "", "no newline"}
	if strings.Join(primary, "|") != strings.Join(want, "|") {
		t.Errorf("primary.log lines = %q, want %q", primary, want)
	}
	w4, err := d.Tail(4, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(w4) != 5 || w4[0].Text != "a" || len(w4[1].Text) != MaxLine || len(w4[3].Text) != 10 || w4[4].Text != "\r" {
		t.Errorf("worker 4 has %d lines, want a, the huge line in 3 pieces, and \\r", len(w4))
	}
	if strings.Join(texts(w4[1:4]), "") != huge {
		t.Error("the huge line's pieces do not add up to it")
	}
	if w5, _ := d.Tail(5, 10); len(w5) != 1 || w5[0].Text != "b" {
		t.Errorf("worker 5 = %v", w5)
	}
}

// The files of exited workers beyond KeepWorkers are removed, oldest
// first; the files found at Open count as exited ones.
func TestExitedPruned(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "worker-1.log"), []byte("old\n"), 0o640)
	os.WriteFile(filepath.Join(dir, "worker-1.log.1"), []byte("older\n"), 0o640)
	d := open(t, Config{Dir: dir, KeepWorkers: 2})
	for id := 2; id <= 4; id++ {
		fmt.Fprintf(d.Stdout(), "[worker %d] hi\n", id)
	}
	d.Exited(2)
	for _, p := range []string{"worker-1.log", "worker-1.log.1", "worker-2.log", "worker-3.log", "worker-4.log"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s removed early: %v", p, err)
		}
	}
	d.Exited(3)
	for _, p := range []string{"worker-1.log", "worker-1.log.1"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s kept: %v", p, err)
		}
	}
	d.Exited(4)
	if _, err := os.Stat(filepath.Join(dir, "worker-2.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("worker-2.log kept: %v", err)
	}
	for _, p := range []string{"worker-3.log", "worker-4.log"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
