//go:build unix

package proctest

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/gocluster/cluster/internal/proc"
)

func TestFakeEndsAsTold(t *testing.T) {
	var s Starter
	var start proc.Starter = s.Start
	a, _ := start(proc.Spec{Name: "a"})
	b, _ := start(proc.Spec{Name: "b"})
	c, _ := start(proc.Spec{Name: "c"})
	fa, fb, fc := a.(*Process), b.(*Process), c.(*Process)
	if got := s.Started(); !slices.Equal(got, []*Process{fa, fb, fc}) || fb.Spec().Name != "b" || a.OS() != nil || a.Pid() == b.Pid() || a.Pid() <= pidBase {
		t.Fatalf("started %v", got)
	}
	fa.Exit(3)
	fa.Exit(4) // ended already
	if st, err := a.Wait(); err != nil || st.ExitCode() != 3 || st.Success() {
		t.Fatalf("after Exit(3): %v, %v", st, err)
	}
	var ee *proc.ExitError
	if st, _ := a.Wait(); !errors.As(st.Err(), &ee) || ee.ExitCode() != 3 || ee.Error() != "exit status 3" {
		t.Fatalf("Err: %v", st.Err())
	}
	fb.Ignore(syscall.SIGTERM)
	b.Signal(syscall.Signal(0))
	b.Signal(syscall.SIGTERM)
	select {
	case <-fb.Done():
		t.Fatal("a process that ignores SIGTERM ended on it")
	default:
	}
	b.Signal(os.Kill)
	if st, _ := b.Wait(); st.Signal() != os.Kill || st.ExitCode() != -1 || st.String() != "signal: killed" {
		t.Fatalf("after SIGKILL: %v", st)
	}
	if err := b.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after the end: %v", err)
	}
	if got := fb.Signals(); !slices.Equal(got, []os.Signal{syscall.Signal(0), syscall.SIGTERM, os.Kill}) {
		t.Fatalf("signals %v", got)
	}
	fc.Die(syscall.SIGSEGV)
	if st, _ := c.Wait(); st.Signal() != syscall.SIGSEGV || len(fc.Signals()) != 0 {
		t.Fatalf("after Die: %v, signals %v", st, fc.Signals())
	}
	boom := errors.New("boom")
	s.Fail(boom)
	if _, err := start(proc.Spec{}); err != boom {
		t.Fatalf("start after Fail: %v", err)
	}
	if d, err := start(proc.Spec{}); err != nil {
		t.Fatalf("start after the failure: %v", err)
	} else {
		d.(*Process).Exit(0)
	}
}

// TestFakeHoldsItsFiles: the other end of a file passed to a fake sees the
// end when the fake ends, as with a real child.
func TestFakeHoldsItsFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Starter
	p, err := s.Start(proc.Spec{Files: []*os.File{w}})
	w.Close() // as the starter's caller does
	if err != nil {
		t.Fatal(err)
	}
	fp := p.(*Process)
	fp.files[0].Write([]byte("x"))
	fp.Exit(0)
	var b [4]byte
	if n, err := r.Read(b[:]); n != 1 {
		t.Fatalf("read %d, %v", n, err)
	}
	if n, err := r.Read(b[:]); n != 0 || err == nil {
		t.Fatalf("after the fake ended: read %d, %v, want the end", n, err)
	}
}
