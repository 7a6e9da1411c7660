//go:build unix

package cluster

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection on which the client
// has sent a request that the server end holds unread (closing that end
// plainly would reset).
func pair(t *testing.T, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Wait until the request is in the server's receive queue, unread.
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	rc, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return perr != syscall.EAGAIN
	})
	if err != nil || perr != nil {
		t.Fatalf("the request did not arrive: %v %v", err, perr)
	}
	server.SetReadDeadline(time.Time{})
	return client, server
}

// readEnd reads what c gets until it ends and returns why it ended.
func readEnd(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if err == nil {
		return io.EOF
	}
	return err
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestCloseClearlyEndsWithoutReset(t *testing.T) {
	ln := listenLoopback(t)
	// The premise: a plain close of a connection with unread data resets.
	client, server := pair(t, ln)
	server.Close()
	if err := readEnd(client); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("a plain close: the client read %v, want a reset", err)
	}
	client, server = pair(t, ln)
	closeClearly(server)
	if err := readEnd(client); err != io.EOF {
		t.Fatalf("closeClearly: the client read %v, want the end of the stream", err)
	}
}

// With no worker, connections are held up to the limit, and until the
// timeout; then each is closed clearly.
func TestHeldConnectionsEndClearlyAtTheLimitAndTimeout(t *testing.T) {
	ln := listenLoopback(t)
	e := &listenEntry{hold: newHold(RoundRobinScheduler())}
	e.max = 2
	t.Cleanup(func() {
		e.mu.Lock()
		e.closed = true
		e.dropPending()
		e.mu.Unlock()
	})
	var clients []net.Conn
	for range 3 {
		client, server := pair(t, ln)
		clients = append(clients, client)
		e.dispatch(server, nil)
	}
	// The third is over the limit: closed at once.
	if err := readEnd(clients[2]); err != io.EOF {
		t.Fatalf("over the limit: the client read %v, want the end of the stream", err)
	}
	e.mu.Lock()
	held := len(e.pending)
	e.mu.Unlock()
	if held != 2 {
		t.Fatalf("%d held, want 2", held)
	}
	e.expire(time.Now())
	e.mu.Lock()
	held = len(e.pending)
	e.mu.Unlock()
	if held != 2 {
		t.Fatalf("%d held before the timeout, want 2", held)
	}
	e.expire(time.Now().Add(HoldTimeout))
	for i, c := range clients[:2] {
		if err := readEnd(c); err != io.EOF {
			t.Fatalf("client %d, after the timeout: read %v, want the end of the stream", i, err)
		}
	}
}
