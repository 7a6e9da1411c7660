package queue

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// feeders counts the goroutines running a queue's feeder, from a dump of
// every goroutine's stack.
func feeders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "internal/queue.(*Unbounded[...]).feed(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// noFeeders fails unless every feeder has returned: a feeder that returns
// is done within a few scheduling rounds, one that leaked never is.
func noFeeders(t *testing.T) {
	t.Helper()
	for range 1000 {
		if feeders() == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d feeders still running", feeders())
}

func TestZeroValueDeliversInOrderThenCloses(t *testing.T) {
	var q Unbounded[int]
	for i := range 100 {
		if !q.Push(i) {
			t.Fatalf("Push(%d) refused", i)
		}
	}
	if !q.PushAll([]int{100, 101}) {
		t.Fatal("PushAll refused")
	}
	q.Close()
	if q.Push(-1) || q.PushAll([]int{-1}) {
		t.Fatal("Push accepted after Close")
	}
	want := 0
	for v := range q.C() {
		if v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
		want++
	}
	if want != 102 {
		t.Fatalf("channel closed after %d items, want 102", want)
	}
	noFeeders(t)
}

func TestCloseOfAnIdleQueueClosesAtOnce(t *testing.T) {
	closed := 0
	q := New(Config[string]{Closed: func() { closed++ }})
	q.Close()
	q.Close()
	if _, ok := <-q.C(); ok {
		t.Fatal("channel of a closed empty queue delivered")
	}
	q.Stop()
	if closed != 1 {
		t.Fatalf("Closed hook called %d times, want 1", closed)
	}
}

// TestIdleQueueHoldsNoGoroutine checks that the feeder returns once the
// queue is empty, with neither Close nor Stop.
func TestIdleQueueHoldsNoGoroutine(t *testing.T) {
	var q Unbounded[int]
	q.Push(1)
	q.Push(2)
	<-q.C()
	<-q.C()
	noFeeders(t)
	if n := q.Len(); n != 0 {
		t.Fatalf("Len %d after the feeder returned", n)
	}
}

// TestStopEndsTheFeeder stops a queue whose consumer went away: Stop must
// drop the items, close the channel, and return only after the feeder has.
func TestStopEndsTheFeeder(t *testing.T) {
	closed := make(chan struct{})
	q := New(Config[int]{Closed: func() { close(closed) }})
	for i := range 10 {
		q.Push(i)
	}
	if v := <-q.C(); v != 0 {
		t.Fatalf("first item %d", v)
	}
	q.Stop()
	if n := feeders(); n != 0 { // no waiting: Stop waited
		t.Fatalf("%d feeders running after Stop", n)
	}
	<-closed
	if q.Push(1) {
		t.Fatal("Push accepted after Stop")
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len %d after Stop", n)
	}
	if _, ok := <-q.C(); ok {
		t.Fatal("item delivered after Stop")
	}
	q.Stop()
	q.Close()
}

// TestCloseThenStopEndsTheFeeder is the consumer that leaves after Close.
func TestCloseThenStopEndsTheFeeder(t *testing.T) {
	var q Unbounded[int]
	q.Push(1)
	q.Push(2)
	q.Close()
	<-q.C()
	q.Stop()
	if n := feeders(); n != 0 {
		t.Fatalf("%d feeders running after Stop", n)
	}
	if _, ok := <-q.C(); ok {
		t.Fatal("item delivered after Stop")
	}
}

// TestOwnChannelAndDelivered uses a buffered channel whose owner sends on
// it directly while its count of queued items is zero, as the cluster's
// mailbox does: the order is kept across both paths.
func TestOwnChannelAndDelivered(t *testing.T) {
	var mu sync.Mutex
	queued := 0
	out := make(chan int, 4)
	q := New(Config[int]{Out: out, Delivered: func(int) {
		mu.Lock()
		queued--
		mu.Unlock()
	}})
	put := func(v int) {
		mu.Lock()
		defer mu.Unlock()
		if queued == 0 {
			select {
			case out <- v:
				return
			default:
			}
		}
		queued++
		q.Push(v)
	}
	const n = 10000
	go func() {
		for i := range n {
			put(i)
		}
		mu.Lock()
		q.Close()
		mu.Unlock()
	}()
	want := 0
	for v := range out {
		if v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
		want++
		if want%100 == 0 {
			time.Sleep(time.Microsecond) // let a backlog build
		}
	}
	if want != n {
		t.Fatalf("got %d items, want %d", want, n)
	}
	noFeeders(t)
}

// TestProducersKeepTheirOrder pushes from several goroutines at once: each
// producer's items arrive in its order and none is lost.
func TestProducersKeepTheirOrder(t *testing.T) {
	var q Unbounded[[2]int]
	const producers, each = 8, 2000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push([2]int{p, i})
			}
		}()
	}
	go func() { wg.Wait(); q.Close() }()
	var next [producers]int
	total := 0
	for v := range q.C() {
		if v[1] != next[v[0]] {
			t.Fatalf("producer %d: got %d, want %d", v[0], v[1], next[v[0]])
		}
		next[v[0]]++
		total++
	}
	if total != producers*each {
		t.Fatalf("got %d items, want %d", total, producers*each)
	}
	noFeeders(t)
}

// FuzzOrder interleaves pushes, receives and a final Close or Stop as the
// input says: what is received is always a prefix of what was pushed, the
// whole of it after Close, and no feeder is left.
func FuzzOrder(f *testing.F) {
	f.Add([]byte{3, 0x81, 7, 0x82, 0, 1})
	f.Add([]byte{0xff, 0xff, 0x10, 200, 0x90})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var q Unbounded[int]
		pushed, got := 0, 0
		for _, op := range ops {
			n := int(op & 0x7f)
			if op&0x80 == 0 { // push n, one by one or as a batch
				if n%2 == 0 {
					batch := make([]int, n)
					for i := range batch {
						batch[i] = pushed + i
					}
					q.PushAll(batch)
				} else {
					for i := range n {
						q.Push(pushed + i)
					}
				}
				pushed += n
				continue
			}
			for range min(n, pushed-got) { // receive up to n
				if v := <-q.C(); v != got {
					t.Fatalf("got %d, want %d", v, got)
				}
				got++
			}
		}
		if len(ops)%2 == 0 {
			q.Close()
			for v := range q.C() {
				if v != got {
					t.Fatalf("after Close: got %d, want %d", v, got)
				}
				got++
			}
			if got != pushed {
				t.Fatalf("received %d of %d", got, pushed)
			}
		} else {
			q.Stop()
			for v := range q.C() {
				t.Fatalf("received %d after Stop", v)
			}
		}
		noFeeders(t)
	})
}
