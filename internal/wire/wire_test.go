//go:build unix

package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// socketpair returns two connected unix stream sockets.
func socketpair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cs [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "sp")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	return cs[0], cs[1]
}

func pair(t testing.TB, max int) (*Conn, *Conn) {
	a, b := socketpair(t)
	ca, cb := NewConn(a, max), NewConn(b, max)
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

func TestFrameRoundTrip(t *testing.T) {
	b := AppendFrame(nil, TypeReq, 7, 1<<40+3, []byte("payload"))
	if len(b) != HeaderSize+7 {
		t.Fatalf("encoded %d bytes", len(b))
	}
	f, n, err := ParseHeader(b, 100)
	if err != nil || f.Type != TypeReq || f.Peer != 7 || f.ID != 1<<40+3 || n != 7 {
		t.Fatalf("parsed %+v n=%d err=%v", f, n, err)
	}
	if _, _, err := ParseHeader(b, 6); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, _, err := ParseHeader(b[:HeaderSize-1], 100); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short header: %v", err)
	}
	bad := AppendFrame(nil, Type(99), 0, 0, nil)
	if _, _, err := ParseHeader(bad, 100); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown type: %v", err)
	}
	short := []byte{0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, _, err := ParseHeader(short, 100); !errors.Is(err, ErrMalformed) {
		t.Fatalf("length below the header: %v", err)
	}
}

func TestHello(t *testing.T) {
	if err := CheckHello(Frame{Type: TypeHello, Payload: HelloPayload()}); err != nil {
		t.Fatal(err)
	}
	other := append([]byte(magic), 0, Version+1)
	if err := CheckHello(Frame{Type: TypeHello, Payload: other}); !errors.Is(err, ErrVersion) {
		t.Fatalf("other version: %v", err)
	}
	if err := CheckHello(Frame{Type: TypeMsg, Payload: HelloPayload()}); !errors.Is(err, ErrHandshake) {
		t.Fatalf("not a hello: %v", err)
	}
	if err := CheckHello(Frame{Type: TypeHello, Payload: []byte("nope")}); !errors.Is(err, ErrHandshake) {
		t.Fatalf("bad magic: %v", err)
	}
}

// TestConcurrentSendersKeepTheirOrder: frames of each sender arrive in the
// order it sent them, whether written inline, queued or enqueued, and
// none is lost or damaged.
func TestConcurrentSendersKeepTheirOrder(t *testing.T) {
	a, b := pair(t, 0)
	const senders, each = 8, 5000
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := []byte(fmt.Sprintf("%d:%d:%s", s, i, bytes.Repeat([]byte{'x'}, i%300)))
				var err error
				if i%3 == 0 {
					err = a.Enqueue(TypeMsg, uint32(s), uint64(i), p)
				} else {
					err = a.Send(TypeMsg, uint32(s), uint64(i), p)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i%1000 == 0 {
					time.Sleep(time.Millisecond) // let the connection go idle: inline writes
				}
			}
		}()
	}
	next := make([]uint64, senders)
	for n := 0; n < senders*each; n++ {
		f, err := b.ReadFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		want := fmt.Sprintf("%d:%d:%s", f.Peer, f.ID, bytes.Repeat([]byte{'x'}, int(f.ID)%300))
		if f.ID != next[f.Peer] || string(f.Payload) != want {
			t.Fatalf("sender %d: got frame %d (%.20q), want %d", f.Peer, f.ID, f.Payload, next[f.Peer])
		}
		next[f.Peer]++
	}
	wg.Wait()
}

func TestLargeFramesBothWays(t *testing.T) {
	a, b := pair(t, 0)
	big := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB
	go a.Send(TypeMsg, 0, 0, big)
	f, err := b.ReadFrame()
	if err != nil || !bytes.Equal(f.Payload, big) {
		t.Fatalf("large frame: %d bytes, %v", len(f.Payload), err)
	}
	go b.Enqueue(TypeMsg, 0, 1, big[:1<<20])
	f, err = a.ReadFrame()
	if err != nil || f.ID != 1 || !bytes.Equal(f.Payload, big[:1<<20]) {
		t.Fatalf("queued large frame: %d bytes, %v", len(f.Payload), err)
	}
}

func TestOversizedFrameIsRefused(t *testing.T) {
	a, b := pair(t, 1024)
	a.Send(TypeMsg, 0, 0, make([]byte, 1025))
	if _, err := b.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) || !IsProtocolError(err) {
		t.Fatalf("oversized frame: %v", err)
	}
}

func TestTruncatedStream(t *testing.T) {
	x, y := socketpair(t)
	c := NewConn(y, 0)
	defer c.Close()
	frame := AppendFrame(nil, TypeMsg, 0, 0, []byte("cut short"))
	x.Write(frame[:len(frame)-3])
	x.Close()
	if _, err := c.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stream cut inside a frame: %v", err)
	}
}

func TestCleanEOF(t *testing.T) {
	x, y := socketpair(t)
	c := NewConn(y, 0)
	defer c.Close()
	x.Write(AppendFrame(nil, TypeMsg, 0, 0, []byte("last")))
	x.Close()
	if f, err := c.ReadFrame(); err != nil || string(f.Payload) != "last" {
		t.Fatalf("last frame: %v", err)
	}
	if _, err := c.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// TestHasFrame: HasFrame tells a whole buffered frame from a partial one,
// and reading the frames it announced leaves earlier payloads intact (the
// batches of shared-state changes rely on it).
func TestHasFrame(t *testing.T) {
	x, y := socketpair(t)
	c := NewConn(y, 0)
	defer c.Close()
	var stream []byte
	for i := range 3 {
		stream = AppendFrame(stream, TypeMsg, 0, uint64(i), []byte(fmt.Sprintf("payload %d", i)))
	}
	x.Write(stream[:len(stream)-2]) // the third frame is cut short
	if c.HasFrame() {
		t.Fatal("HasFrame before any read")
	}
	first, err := c.ReadFrame()
	if err != nil || !c.HasFrame() {
		t.Fatalf("after the first frame: %v, HasFrame %v", err, c.HasFrame())
	}
	second, err := c.ReadFrame()
	if err != nil || string(first.Payload) != "payload 0" || string(second.Payload) != "payload 1" {
		t.Fatalf("frames: %q %q %v", first.Payload, second.Payload, err)
	}
	if c.HasFrame() {
		t.Fatal("HasFrame with a partial frame buffered")
	}
	x.Write(stream[len(stream)-2:])
	if f, err := c.ReadFrame(); err != nil || string(f.Payload) != "payload 2" {
		t.Fatalf("third frame: %q %v", f.Payload, err)
	}
	x.Write([]byte{0, 0, 0, 12, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // unknown type
	for deadline := time.Now().Add(5 * time.Second); !c.HasFrame(); {
		if time.Now().After(deadline) {
			t.Fatal("a bad header never counts as a frame")
		}
		c.fill(HeaderSize)
	}
	if _, err := c.ReadFrame(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad header: %v", err)
	}
}

// TestEnqueueFrames: frames encoded beforehand arrive as if enqueued one by
// one, in order, and the call reports the bytes queued.
func TestEnqueueFrames(t *testing.T) {
	a, b := pair(t, 0)
	var frames []byte
	for i := range 3 {
		frames = AppendFrame(frames, TypeDelta, 0, uint64(i+1), []byte(fmt.Sprintf("change %d", i)))
	}
	if queued, err := a.EnqueueFrames(frames); err != nil || queued <= 0 || queued > len(frames) {
		t.Fatalf("EnqueueFrames: %d queued, %v", queued, err)
	}
	for i := range 3 {
		f, err := b.ReadFrame()
		if err != nil || f.Type != TypeDelta || f.ID != uint64(i+1) || string(f.Payload) != fmt.Sprintf("change %d", i) {
			t.Fatalf("frame %d: %+v %q %v", i, f, f.Payload, err)
		}
	}
	a.Close()
	if _, err := a.EnqueueFrames(frames); err == nil {
		t.Fatal("EnqueueFrames after Close succeeded")
	}
}

// TestBackpressure: with a peer that does not read, Send waits once the
// queue is over the high-water mark and goes on when the peer reads; Close
// releases a waiting sender with ErrClosed.
func TestBackpressure(t *testing.T) {
	a, b := pair(t, 0)
	chunk := make([]byte, 64<<10)
	sent := make(chan int, 1)
	go func() {
		n := 0
		for ; n < 400; n++ { // 25 MiB: far more than socket buffers and the queue
			if a.Send(TypeMsg, 0, uint64(n), chunk) != nil {
				break
			}
		}
		sent <- n
	}()
	select {
	case n := <-sent:
		t.Fatalf("all %d sends returned while nobody read", n)
	case <-time.After(300 * time.Millisecond):
	}
	for i := 0; i < 400; i++ {
		f, err := b.ReadFrame()
		if err != nil || f.ID != uint64(i) {
			t.Fatalf("frame %d: id %d err %v", i, f.ID, err)
		}
	}
	if n := <-sent; n != 400 {
		t.Fatalf("sent %d", n)
	}
	// Block a sender again, then close under it.
	go func() {
		for {
			if err := a.Send(TypeMsg, 0, 0, chunk); err != nil {
				sent <- -1
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	a.Close()
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release a blocked sender")
	}
	if err := a.Send(TypeMsg, 0, 0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestWaitBacklog: WaitBacklog waits while more is queued than asked, while
// the peer does not read, returns once it has read, and returns the error
// of a connection closed under it.
func TestWaitBacklog(t *testing.T) {
	a, b := pair(t, 0)
	const frames = 128 // 8 MiB: more than socket buffers hold
	for i := range frames {
		if err := a.Enqueue(TypeMsg, 0, uint64(i), make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
	}
	waited := make(chan error, 1)
	go func() { waited <- a.WaitBacklog(128 << 10) }()
	select {
	case err := <-waited:
		queued, _ := a.Backlog()
		t.Fatalf("WaitBacklog returned %v with %d bytes queued and nobody reading", err, queued)
	case <-time.After(200 * time.Millisecond):
	}
	for i := range frames {
		if f, err := b.ReadFrame(); err != nil || f.ID != uint64(i) {
			t.Fatalf("frame %d: id %d, %v", i, f.ID, err)
		}
	}
	if err := <-waited; err != nil {
		t.Fatalf("WaitBacklog once read: %v", err)
	}
	if queued, _ := a.Backlog(); queued > 128<<10 {
		t.Fatalf("%d bytes queued after WaitBacklog", queued)
	}
	for i := range frames {
		a.Enqueue(TypeMsg, 0, uint64(i), make([]byte, 64<<10))
	}
	go func() { waited <- a.WaitBacklog(0) }()
	a.Close()
	select {
	case err := <-waited:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("WaitBacklog on a closed connection: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release WaitBacklog")
	}
}

func TestFlush(t *testing.T) {
	a, b := pair(t, 0)
	for i := range 100 {
		a.Enqueue(TypeMsg, 0, uint64(i), make([]byte, 1000))
	}
	go func() {
		for range 100 {
			b.ReadFrame()
		}
	}()
	if !a.Flush(5 * time.Second) {
		t.Fatal("Flush did not see the queue written")
	}
}

// TestFilesTravelWithTheirFrames sends many frames with descriptors (more
// than one sendmsg can carry, mixed with plain frames) and checks each
// arrives with the frame that announced it.
func TestFilesTravelWithTheirFrames(t *testing.T) {
	a, b := pair(t, 0)
	dir := t.TempDir()
	const n = 600
	go func() {
		for i := range n {
			f, err := os.CreateTemp(dir, "f")
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(f, "file %d", i)
			if err := a.EnqueueFiles(TypeCtl, 0, uint64(i), []byte("with file"), []*os.File{f}); err != nil {
				t.Error(err)
				return
			}
			a.Enqueue(TypeMsg, 0, uint64(i), []byte("plain"))
		}
	}()
	for i := range n {
		f, err := b.ReadFrame()
		if err != nil || f.Type != TypeCtl || len(f.Files) != 1 || f.ID != uint64(i) {
			t.Fatalf("frame %d: %+v err %v", i, f, err)
		}
		buf := make([]byte, 32)
		m, _ := f.Files[0].ReadAt(buf, 0)
		if got := string(buf[:m]); got != fmt.Sprintf("file %d", i) {
			t.Fatalf("frame %d carried %q", i, got)
		}
		f.Files[0].Close()
		if f, err := b.ReadFrame(); err != nil || len(f.Files) != 0 || string(f.Payload) != "plain" {
			t.Fatalf("plain frame %d: %+v %v", i, f, err)
		}
	}
}

func TestFrameAnnouncingMissingFilesIsRefused(t *testing.T) {
	x, y := socketpair(t)
	c := NewConn(y, 0)
	defer c.Close()
	x.Write(appendHeader(nil, TypeMsg, 2, 0, 0, 0))
	if _, err := c.ReadFrame(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("frame announcing descriptors that never came: %v", err)
	}
}

// TestUnclaimedFilesCutThePeerOff: descriptors that no frame announces are
// not hoarded: past a bound the reader fails and closes them.
func TestUnclaimedFilesCutThePeerOff(t *testing.T) {
	x, y := socketpair(t)
	c := NewConn(y, 0)
	defer c.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	go func() {
		ux := x.(*net.UnixConn)
		for i := 0; i < 50; i++ { // 50 plain frames with 100 descriptors each
			frame := AppendFrame(nil, TypeMsg, 0, uint64(i), nil)
			fds := make([]*os.File, 100)
			for j := range fds {
				fds[j] = devnull
			}
			if _, _, err := ux.WriteMsgUnix(frame, unixRights(fds), nil); err != nil {
				return
			}
		}
	}()
	for {
		_, err := c.ReadFrame()
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("reader ended with %v, want ErrMalformed", err)
		}
		break
	}
	if len(c.rfds) != 0 {
		t.Fatalf("%d descriptors still held after the failure", len(c.rfds))
	}
}

// TestSendingASocketLeavesItNonBlocking: passing a listener's descriptor
// must not switch the shared open file to blocking mode (os.File.Fd does).
func TestSendingASocketLeavesItNonBlocking(t *testing.T) {
	a, b := pair(t, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnqueueFiles(TypeCtl, 0, 0, nil, []*os.File{f}); err != nil {
		t.Fatal(err)
	}
	fr, err := b.ReadFrame()
	if err != nil || len(fr.Files) != 1 {
		t.Fatalf("frame: %+v %v", fr, err)
	}
	fr.Files[0].Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	rc.Control(func(fd uintptr) {
		r, _, _ := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		flags = int(r)
	})
	if flags&syscall.O_NONBLOCK == 0 {
		t.Fatal("the listener became blocking after its descriptor was sent")
	}
}

// pipesPair returns two connections over wire.Pipes: frames in two pipes,
// descriptors on a socketpair beside them.
func pipesPair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := socketpair(t)
	a := NewConn(&Pipes{R: r1, W: w2, FD: s1.(*net.UnixConn)}, 0)
	b := NewConn(&Pipes{R: r2, W: w1, FD: s2.(*net.UnixConn)}, 0)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestPipesCarryFramesAndFiles(t *testing.T) {
	a, b := pipesPair(t)
	big := bytes.Repeat([]byte("z"), 3<<20)
	go func() {
		for i := range 300 {
			f, err := os.Open(os.DevNull)
			if err != nil {
				t.Error(err)
				return
			}
			a.EnqueueFiles(TypeCtl, 0, uint64(i), []byte("file"), []*os.File{f})
			a.Send(TypeMsg, 0, uint64(i), []byte("plain"))
		}
		a.Send(TypeMsg, 0, 999, big)
	}()
	for i := range 300 {
		f, err := b.ReadFrame()
		if err != nil || len(f.Files) != 1 || f.ID != uint64(i) {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
		f.Files[0].Close()
		if f, err := b.ReadFrame(); err != nil || len(f.Files) != 0 || f.ID != uint64(i) {
			t.Fatalf("plain frame %d: %+v %v", i, f, err)
		}
	}
	if f, err := b.ReadFrame(); err != nil || !bytes.Equal(f.Payload, big) {
		t.Fatalf("3 MB frame through a pipe: %d bytes, %v", len(f.Payload), err)
	}
}

func TestPipesFrameAnnouncingMissingFiles(t *testing.T) {
	a, b := pipesPair(t)
	a.WriteRaw(appendHeader(nil, TypeMsg, 1, 0, 0, 0))
	start := time.Now()
	if _, err := b.ReadFrame(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("frame announcing a descriptor that never came: %v", err)
	}
	if time.Since(start) > 2*sideWait {
		t.Fatal("the wait for announced descriptors is not bounded")
	}
}
