//go:build unix

package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

func TestRequestReplyAndErrors(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	if got := ask(t, w, "echo:ping"); got != "ping" {
		t.Fatalf("echo: %q", got)
	}
	_, err := w.Request(context.Background(), []byte("fail:out of cheese"))
	var re *cluster.RemoteError
	if !errors.As(err, &re) || re.Text != "out of cheese" {
		t.Fatalf("ReplyError came back as %v, want RemoteError(out of cheese)", err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	rep, err := w.Request(context.Background(), append([]byte("echo:"), big...))
	if err != nil || !bytes.Equal(rep, big) {
		t.Fatalf("1 MiB echo: %d bytes back, err %v", len(rep), err)
	}
}

func TestRequestsAreConcurrentAndMatched(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			want := fmt.Sprintf("n%d", i)
			rep, err := w.Request(context.Background(), []byte("echo:"+want))
			if err == nil && string(rep) != want {
				err = fmt.Errorf("request %s got reply %s", want, rep)
			}
			errs <- err
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessageLimit(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, MaxMessageSize: cluster.MinMessageSize})
	w := tc.ready(1)[0]
	err := w.Send(make([]byte, cluster.MinMessageSize+1))
	if !errors.Is(err, cluster.ErrTooLarge) {
		t.Fatalf("Send over the limit: %v, want ErrTooLarge", err)
	}
	// The worker enforces the same limit on what it sends.
	if got := ask(t, w, "sendn:"+fmt.Sprint(cluster.MinMessageSize+1)); !strings.Contains(got, "message too large") {
		t.Fatalf("worker sending over the limit: %q", got)
	}
	if got := ask(t, w, "echo:still fine"); got != "still fine" {
		t.Fatalf("after a refused message: %q", got)
	}
}

func TestSendIsOrderedBeforeLaterRequests(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2})
	ws := tc.ready(2)
	if err := ws[0].Send([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, ws[0], "last"); got != "from=0 data=first" {
		t.Fatalf("last message: %q", got)
	}
	if err := tc.p.Broadcast(context.Background(), []byte("to all")); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if got := ask(t, w, "last"); got != "from=0 data=to all" {
			t.Fatalf("worker %d last message after Broadcast: %q", w.ID(), got)
		}
	}
}

func TestWorkerToPrimary(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	msgs := tc.p.Messages()
	w := tc.ready(1)[0]
	if got := ask(t, w, "send:hello primary"); got != "ok" {
		t.Fatalf("worker Send: %s", got)
	}
	select {
	case m := <-msgs:
		if string(m.Data) != "hello primary" || m.From != w.ID() || m.Worker != w || m.IsRequest() {
			t.Fatalf("got %q from %d (worker %v, request %v)", m.Data, m.From, m.Worker, m.IsRequest())
		}
		if err := m.Reply(nil); !errors.Is(err, cluster.ErrNotRequest) {
			t.Fatalf("Reply to a one-way message: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message from the worker")
	}
	go func() {
		m := <-msgs
		m.Reply(append([]byte("primary heard "), m.Data...))
		if err := m.Reply(nil); !errors.Is(err, cluster.ErrReplied) {
			t.Errorf("second Reply: %v", err)
		}
	}()
	if got := ask(t, w, "req:question"); got != "primary heard question" {
		t.Fatalf("worker Request: %q", got)
	}
}

func TestWorkerToWorkerRouting(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2})
	ws := tc.ready(2)
	a, b := ws[0], ws[1]
	if got := ask(t, a, fmt.Sprintf("sendto:%d:hey", b.ID())); got != "ok" {
		t.Fatal(got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for want := fmt.Sprintf("from=%d data=hey", a.ID()); ask(t, b, "last") != want; {
		if time.Now().After(deadline) {
			t.Fatalf("routed message not seen: %q", ask(t, b, "last"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := ask(t, a, fmt.Sprintf("reqto:%d:echo:via primary", b.ID())); got != "via primary" {
		t.Fatalf("routed request: %q", got)
	}
	if got := ask(t, a, "reqto:99:echo:x"); got != "ErrNoWorker" {
		t.Fatalf("request to a missing worker: %q", got)
	}
}

func TestRequestFailsWhenWorkerDies(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, Settings: cluster.Settings{Env: env("stubborn")}})
	w := tc.ready(1)[0]
	errc := make(chan error, 1)
	go func() { // the stubborn worker never reads its messages
		_, err := w.Request(context.Background(), []byte("echo:x"))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	w.Kill(os.Kill)
	select {
	case err := <-errc:
		if !errors.Is(err, cluster.ErrDisconnected) {
			t.Fatalf("pending request after the worker died: %v, want ErrDisconnected", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pending request not failed when the worker died")
	}
	if err := w.Send([]byte("x")); !errors.Is(err, cluster.ErrDisconnected) {
		t.Fatalf("Send to a dead worker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := w.Request(ctx, nil); !errors.Is(err, cluster.ErrDisconnected) {
		t.Fatalf("Request to a dead worker: %v", err)
	}
}

func TestSlowEventConsumerLosesNothing(t *testing.T) {
	// Subscribed before Run, as the test's own recorder: both get every
	// event from the setup on.
	var slow <-chan cluster.Event
	tc := startClusterWith(t, cluster.Config{Workers: 1}, func(p *cluster.Primary) {
		slow = p.Events(context.Background()) // not read until the end
	})
	tc.ready(1)
	for range 4 {
		w, err := tc.p.Fork()
		if err != nil {
			t.Fatal(err)
		}
		tc.event(cluster.EventReady, w) // supervision goes on while slow is unread
		w.Kill(os.Kill)
		tc.event(cluster.EventExit, w)
	}
	seen := 0
	for _, e := range tc.all() {
		select {
		case got := <-slow:
			if got.Type != e.Type || got.Worker != e.Worker {
				t.Fatalf("slow subscriber got %v, the other %v", got, e)
			}
			seen++
		case <-time.After(5 * time.Second):
			t.Fatalf("slow subscriber missing events after %d", seen)
		}
	}
	if seen < 4*5 {
		t.Fatalf("slow subscriber saw %d events", seen)
	}
}
