//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// The test binary is also the workers' program: a primary started by a test
// re-executes it, and TestMain runs the worker mode named in envMode.
const (
	envMode        = "GOCLUSTER_TEST_MODE"
	envTestPrimary = "GOCLUSTER_TEST_PRIMARY"
)

func TestMain(m *testing.M) {
	if cluster.IsWorker() {
		os.Exit(testWorker(os.Getenv(envMode)))
	}
	if os.Getenv(envTestPrimary) != "" {
		os.Exit(testPrimaryProcess())
	}
	os.Exit(m.Run())
}

func testWorker(mode string) int {
	switch mode {
	case "crash":
		return 3
	case "stubborn": // ignores the notice and SIGTERM: must be killed
		signal.Ignore(syscall.SIGTERM)
		cluster.Ready()
		<-cluster.Shutdown()
		time.Sleep(time.Hour)
		return 0
	case "garbage": // goes bad after the handshake
		cluster.Ready()
		time.Sleep(50 * time.Millisecond)
		cluster.WriteRawToPrimary([]byte("this is not a frame, not at all"))
		time.Sleep(10 * time.Second) // the lost channel ends the process first
		return 0
	case "writesgarbage": // shared-state writes, then garbage, in one write
		cluster.Ready()
		time.Sleep(50 * time.Millisecond)
		keys := make([]string, 40)
		for i := range keys {
			keys[i] = fmt.Sprintf("before-garbage/%d", i)
		}
		cluster.WriteStateThenGarbage(keys, []byte("kept"))
		time.Sleep(10 * time.Second) // the lost channel ends the process first
		return 0
	case "sendexit": // sends and returns at once: nothing may be lost
		var wg sync.WaitGroup
		for g := range sendExitSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range sendExitCount / sendExitSenders {
					cluster.Send([]byte(fmt.Sprintf("%d/%d", g, i)))
				}
			}()
		}
		wg.Wait()
		return 0
	case "leave": // listens, disconnects on purpose, then checks that sends fail
		ln, err := cluster.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 8
		}
		cluster.Ready()
		<-cluster.Messages() // the test's go-ahead
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cluster.Disconnect(ctx); err != nil {
			return 4
		}
		if c, err := ln.Accept(); err == nil { // Disconnect closed it
			c.Close()
			return 7
		}
		if err := cluster.Send([]byte("after")); !errors.Is(err, cluster.ErrDisconnected) {
			return 5
		}
		select {
		case <-cluster.Shutdown():
		case <-time.After(10 * time.Second):
			return 6
		}
		return 0
	case "stuck": // its Handle never returns: it reads nothing more
		cluster.Handle(func(*cluster.Message) { <-cluster.Shutdown(); os.Exit(0) })
		cluster.Ready()
		<-cluster.Shutdown()
		return 0
	case "tcpid":
		return tcpIDWorker()
	case "httpserve":
		return httpServeWorker()
	case "noready": // never calls Ready
		<-cluster.Shutdown()
		return 0
	case "plain": // never looks at Shutdown: the notice itself ends it
		cluster.Ready()
		time.Sleep(time.Hour)
		return 0
	case "extrafile": // writes to fd 3, Settings.ExtraFiles[0]
		return extraFileWorker()
	}
	return echoWorker()
}

// echoWorker answers the requests the tests send; see answer.
func echoWorker() int {
	var mu sync.Mutex
	last := ""
	cluster.Ready()
	msgs := cluster.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return 0
			}
			if !m.IsRequest() {
				mu.Lock()
				last = fmt.Sprintf("from=%d data=%s", m.From, m.Data)
				mu.Unlock()
				continue
			}
			mu.Lock()
			l := last
			mu.Unlock()
			go answer(m, l)
		case <-cluster.Shutdown():
			return 0
		}
	}
}

func answer(m *cluster.Message, last string) {
	cmd, arg, _ := strings.Cut(string(m.Data), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply := func(s string) { m.Reply([]byte(s)) }
	switch cmd {
	case "echo":
		reply(arg)
	case "id":
		reply(strconv.Itoa(cluster.ID()))
	case "gen":
		reply(strconv.Itoa(cluster.Generation()))
	case "alloc": // hold n MiB of touched memory
		n, _ := strconv.Atoi(arg)
		held = make([]byte, n<<20)
		for i := range held {
			held[i] = 1
		}
		reply("ok")
	case "env":
		reply(os.Getenv(arg))
	case "fail":
		m.ReplyError(errors.New(arg))
	case "last":
		reply(last)
	case "print":
		fmt.Println(arg)
		fmt.Fprintln(os.Stderr, "stderr "+arg)
		reply("ok")
	case "send":
		reply(errText(cluster.Send([]byte(arg))))
	case "sendn": // send a message of n bytes
		n, _ := strconv.Atoi(arg)
		reply(errText(cluster.Send(make([]byte, n))))
	case "req":
		rep, err := cluster.Request(ctx, []byte(arg))
		if err != nil {
			reply("error: " + err.Error())
			return
		}
		reply(string(rep))
	case "sendto":
		to, text, _ := strings.Cut(arg, ":")
		id, _ := strconv.Atoi(to)
		reply(errText(cluster.SendTo(ctx, id, []byte(text))))
	case "sendhandleto": // a pipe's read end, to the worker with that id
		id, _ := strconv.Atoi(arg)
		r, w, err := os.Pipe()
		if err != nil {
			reply("error: " + err.Error())
			return
		}
		defer r.Close()
		defer w.Close()
		reply(errText(cluster.SendHandleTo(ctx, id, []byte("pipe"), r)))
	case "reqto":
		to, text, _ := strings.Cut(arg, ":")
		id, _ := strconv.Atoi(to)
		rep, err := cluster.RequestTo(ctx, id, []byte(text))
		switch {
		case errors.Is(err, cluster.ErrNoWorker):
			reply("ErrNoWorker")
		case err != nil:
			reply("error: " + err.Error())
		default:
			reply(string(rep))
		}
	case "exit":
		code, _ := strconv.Atoi(arg)
		os.Exit(code)
	case "child-fds": // does a program this worker starts hold the channel?
		out, err := exec.Command("/bin/sh", "-c", "ls -l /proc/$$/fd").Output()
		if err != nil {
			reply("error: " + err.Error())
			return
		}
		for fd := 3; fd <= 5; fd++ {
			target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
			if err == nil && strings.Contains(string(out), target) {
				reply(fmt.Sprintf("leaked fd %d (%s)", fd, target))
				return
			}
		}
		reply("clean")
	default:
		if out, ok := answerKV(cmd, arg); ok {
			reply(out)
			return
		}
		m.ReplyError(fmt.Errorf("unknown command %q", cmd))
	}
}

// held keeps the memory of the "alloc" command alive.
var held []byte

func errText(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// testPrimaryProcess is a primary in its own process (for tests that kill
// it): it prints "online PID" for each worker and runs until killed.
func testPrimaryProcess() int {
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	events := p.Events(context.Background())
	go func() {
		for e := range events {
			if e.Type == cluster.EventOnline {
				fmt.Printf("online %d\n", e.Worker.PID())
			}
		}
	}()
	p.Run(context.Background())
	return 0
}
