//go:build unix

package wire

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// TestFailedWriteKeepsWhatThePeerWrote: a peer writes frames and goes away.
// This side's next write fails, and every frame the peer wrote is still
// read, then the end of the stream: a worker's last messages before it
// exited are not lost because the primary wrote to it meanwhile.
func TestFailedWriteKeepsWhatThePeerWrote(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (*Conn, *Conn){
		"socket": func(t testing.TB) (*Conn, *Conn) { return pair(t, 0) },
		"pipes":  pipesPair,
	} {
		t.Run(name, func(t *testing.T) {
			a, b := mk(t)
			const n = 50
			for i := range n {
				if err := b.Send(TypeMsg, 0, uint64(i+1), []byte("last words")); err != nil {
					t.Fatal(err)
				}
			}
			if !b.Flush(5 * time.Second) {
				t.Fatal("the peer's frames were not written")
			}
			b.Close()
			var err error
			for i := 0; i < 1000 && err == nil; i++ { // the first writes may still fit a buffer
				err = a.Send(TypeMsg, 0, 0, make([]byte, 1024))
			}
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("writing to a peer that is gone: %v", err)
			}
			for i := range n {
				f, err := a.ReadFrame()
				if err != nil || f.ID != uint64(i+1) {
					t.Fatalf("frame %d after the failed write: id %d, %v", i+1, f.ID, err)
				}
			}
			if _, err := a.ReadFrame(); err != io.EOF {
				t.Fatalf("after the peer's frames: %v, want io.EOF", err)
			}
		})
	}
}

// TestSendWrittenWaitsForTheWrite: SendWritten returns once its frame is
// written; while the peer does not read and the queue is stuck it waits,
// and its context bounds the wait.
func TestSendWrittenWaitsForTheWrite(t *testing.T) {
	a, b := pipesPair(t)
	chunk := make([]byte, 64<<10)
	// Fill the pipe and the queue: the writer goroutine is stuck in write.
	for i := 0; i < 8; i++ {
		if err := a.Enqueue(TypeMsg, 0, uint64(i+1), chunk); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.SendWritten(ctx, TypeMsg, 0, 9, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendWritten while the peer does not read: %v, want the context's error", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.SendWritten(context.Background(), TypeMsg, 0, 10, []byte("y")) }()
	for want := uint64(1); want <= 10; want++ {
		f, err := b.ReadFrame()
		if err != nil || f.ID != want {
			t.Fatalf("frame %d: id %d, %v", want, f.ID, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("SendWritten once the peer read: %v", err)
	}
}
