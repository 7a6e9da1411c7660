//go:build unix

package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/logs"
)

// eventually polls cond every few milliseconds for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Everything the CLI does, through a Client, against a real cluster of
// worker processes: status, scale, reload, send, the shared state, logs,
// and stop last.
func TestClientCommands(t *testing.T) {
	ts := startServer(t, 2, true)
	ctx := testContext(t)
	c, err := Dial(ctx, ts.path)
	if err != nil {
		t.Fatal(err)
	}
	if c.PID() != os.Getpid() || c.Name() != "test" {
		t.Errorf("Dial found pid %d name %q, want %d test", c.PID(), c.Name(), os.Getpid())
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != os.Getpid() || st.Want != 2 || st.Generation != 1 || len(st.Workers) != 2 || st.Reloading {
		t.Fatalf("status = %+v", st)
	}
	for _, w := range st.Workers {
		if err := syscall.Kill(w.PID, 0); err != nil || w.PID == os.Getpid() {
			t.Errorf("worker %d: pid %d not a live worker: %v", w.ID, w.PID, err)
		}
		if w.State != "ready" || w.Generation != 1 || w.Uptime <= 0 || w.CPU < 0 {
			t.Errorf("worker status %+v", w)
		}
		if w.RSS <= 0 && isLinux {
			t.Errorf("worker %d: RSS %d", w.ID, w.RSS)
		}
	}

	t.Run("scale", func(t *testing.T) {
		if err := c.Scale(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if st, err := c.Status(ctx); err != nil || len(st.Workers) != 3 || st.Want != 3 {
			t.Fatalf("after scale 3: %+v, %v", st, err)
		}
		if err := c.Scale(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if st, err := c.Status(ctx); err != nil || len(st.Workers) != 2 || st.Want != 2 {
			t.Fatalf("after scale 2: %+v, %v", st, err)
		}
		if err := c.Scale(ctx, -1); err == nil || !strings.HasPrefix(err.Error(), "control: scale to -1") {
			t.Errorf("scale -1 = %v", err)
		}
		ts.ready(t, 2)
	})

	t.Run("reload", func(t *testing.T) {
		if err := c.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Generation != 2 || len(st.Workers) != 2 || st.Reloading {
			t.Fatalf("after reload: %+v", st)
		}
		for _, w := range st.Workers {
			if w.Generation != 2 {
				t.Errorf("worker %d of generation %d after the reload", w.ID, w.Generation)
			}
		}
	})

	ws := ts.ready(t, 2)
	t.Run("send", func(t *testing.T) {
		id := ws[1].ID()
		if err := c.Send(ctx, id, []byte("ping \x00\xff")); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("got/%d", id)
		eventually(t, "the worker stores the message", func() bool {
			e, ok, err := c.KVGet(ctx, key)
			return err == nil && ok && string(e.Value) == "ping \x00\xff"
		})
		if err := c.Send(ctx, 0, []byte("all")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "every worker stores the broadcast", func() bool {
			es, err := c.KVList(ctx, "got/")
			n := 0
			for _, e := range es {
				if string(e.Value) == "all" {
					n++
				}
			}
			return err == nil && n == 2
		})
		if err := c.Send(ctx, 9999, []byte("x")); err == nil || !strings.Contains(err.Error(), "no worker 9999") {
			t.Errorf("send to a worker that does not exist = %v", err)
		}
	})

	t.Run("kv", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		events := make(chan WatchEvent, 100)
		watched := make(chan error, 1)
		go func() {
			watched <- c.KVWatch(wctx, "k/", func(ev WatchEvent) error { events <- ev; return nil })
		}()
		next := func() WatchEvent {
			select {
			case ev := <-events:
				return ev
			case <-time.After(10 * time.Second):
				t.Fatal("no watch event within 10 s")
				return WatchEvent{}
			}
		}
		if ev := next(); ev.Op != "synced" {
			t.Fatalf("first watch event %+v, want synced", ev)
		}
		rev, err := c.KVPut(ctx, "k/a", []byte("1"))
		if err != nil || rev == 0 {
			t.Fatalf("put = %d, %v", rev, err)
		}
		if _, err := c.KVPut(ctx, "k/b", []byte("2")); err != nil {
			t.Fatal(err)
		}
		e, ok, err := c.KVGet(ctx, "k/a")
		if err != nil || !ok || string(e.Value) != "1" || e.Rev != rev || e.Key != "k/a" {
			t.Fatalf("get = %+v, %v, %v", e, ok, err)
		}
		if _, ok, err := c.KVGet(ctx, "k/none"); ok || err != nil {
			t.Fatalf("get of a missing key = %v, %v", ok, err)
		}
		es, err := c.KVList(ctx, "k/")
		if err != nil || len(es) != 2 || es[0].Key != "k/a" || string(es[1].Value) != "2" {
			t.Fatalf("list = %+v, %v", es, err)
		}
		drev, err := c.KVDelete(ctx, "k/a")
		if err != nil || drev <= rev {
			t.Fatalf("delete = %d, %v", drev, err)
		}
		if _, ok, _ := c.KVGet(ctx, "k/a"); ok {
			t.Fatal("k/a still there after delete")
		}
		for _, want := range []string{"put k/a 1", "put k/b 2", "delete k/a "} {
			ev := next()
			if got := ev.Op + " " + ev.Key + " " + string(ev.Value); got != want {
				t.Errorf("watch event %q, want %q", got, want)
			}
		}
		cancel()
		select {
		case err := <-watched:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("KVWatch = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("KVWatch did not return after its context ended")
		}
	})

	t.Run("logs", func(t *testing.T) {
		id := ws[0].ID()
		var got []logs.Line
		if err := c.Logs(ctx, id, 10, false, func(l logs.Line) error { got = append(got, l); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(l logs.Line) bool {
			return l.Worker == id && l.Stream == logs.Stdout && l.Text == fmt.Sprintf("hello from worker %d", id)
		}) || !slices.ContainsFunc(got, func(l logs.Line) bool { return l.Stream == logs.Stderr }) {
			t.Fatalf("logs of worker %d: %+v", id, got)
		}
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		following := make(chan struct{})
		said := make(chan struct{})
		followed := make(chan error, 1)
		go func() {
			followed <- c.Logs(fctx, 0, 1, true, func(l logs.Line) error {
				select {
				case <-following:
				default:
					close(following) // the tail's line: the follow is registered
				}
				if l.Text == "said followed" && l.Worker == id {
					close(said)
				}
				return nil
			})
		}()
		select {
		case <-following:
		case <-time.After(10 * time.Second):
			t.Fatal("the follow sent no line of its tail")
		}
		if err := c.Send(ctx, id, []byte("say:followed")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-said:
		case <-time.After(10 * time.Second):
			t.Fatal("the worker's new line did not come through the follow")
		}
		cancel()
		if err := <-followed; !errors.Is(err, context.Canceled) {
			t.Errorf("Logs follow = %v, want context.Canceled", err)
		}
	})

	t.Run("stop", func(t *testing.T) {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ts.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the cluster did not stop")
		}
		if _, err := os.Stat(ts.path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left after Serve returned: %v", err)
		}
		_, err := Dial(ctx, ts.path)
		if !errors.Is(err, ErrNoCluster) || !strings.Contains(err.Error(), "no cluster runs from this directory (socket "+ts.path+")") {
			t.Errorf("Dial after stop = %v", err)
		}
	})
}

// Without Options.Logs, logs fails saying so; an unknown command fails
// too; the server goes on answering.
func TestCommandErrors(t *testing.T) {
	ts := startServer(t, 1, false)
	ctx := testContext(t)
	c, err := Dial(ctx, ts.path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Logs(ctx, 0, 5, false, func(logs.Line) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "keeps no log files") {
		t.Errorf("logs without Logs = %v", err)
	}
	if err := c.call(ctx, request{Cmd: "frobnicate"}, nil); err == nil || err.Error() != `control: unknown command "frobnicate"` {
		t.Errorf("unknown command = %v", err)
	}
	if st, err := c.Status(ctx); err != nil || len(st.Workers) != 1 {
		t.Errorf("status after errors = %+v, %v", st, err)
	}
}
