//go:build unix

package metrics_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/metrics"
)

// A connection that claims to be a worker the primary does not have is
// closed at once, and the socket lives in a directory only its user enters.
func TestSocketRejectsStranger(t *testing.T) {
	p, err := cluster.New(cluster.Config{Workers: cluster.NoWorkers, NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := metrics.New(p, metrics.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(metrics.SocketDir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, err := os.Stat(metrics.SocketPath(os.Getpid())); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the socket is left after Run: %v", err)
		}
	}()

	var conn net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		conn, err = net.Dial("unix", metrics.SocketPath(os.Getpid()))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial the collector: %v", err)
		}
	}
	defer conn.Close()
	// The hello of worker 99, generation 1, with our pid.
	hello := binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(nil, 99), 1), uint64(os.Getpid()))
	frame := append([]byte{1, 0, 0, 0, byte(len(hello))}, hello...)
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := bufio.NewReader(conn).Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from a rejected connection: %d bytes, %v; want EOF", n, err)
	}
	if _, err := c.Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}
