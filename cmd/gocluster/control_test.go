//go:build unix

package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// TestControlCommands drives a Node cluster through the control socket:
// scale, send (process.on('message') gets it), kv and logs.
func TestControlCommands(t *testing.T) {
	needProgram(t, "node")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "node", "testdata/hello.js")

	if out := r.ctl("scale", "3"); !strings.Contains(out, "scaled to 3") {
		t.Fatalf("scale 3 said %q", out)
	}
	waitWorkers(t, r, 3)
	r.ctl("scale", "2")
	waitWorkers(t, r, 2)

	st := r.status()
	id := st.Workers[0].ID
	r.ctl("send", "all", `{"cmd":"flush"}`)
	r.ctl("send", itoa(id), "plain text")
	for _, want := range []string{`got {"cmd":"flush"}`, `got "plain text"`} {
		r.waitLine("node worker "+itoa(id)+" "+want, 10*time.Second)
	}
	if logs := r.ctl("logs", "-n", "50", itoa(id)); !strings.Contains(logs, `got "plain text"`) || !strings.Contains(logs, "node worker "+itoa(id)+" serving") {
		t.Fatalf("logs of worker %d lack its lines:\n%s", id, logs)
	}
	if logs := r.ctl("logs", "-n", "50", itoa(id)); strings.Contains(logs, "node worker "+itoa(st.Workers[1].ID)+" serving") {
		t.Fatalf("logs of worker %d show another worker's lines:\n%s", id, logs)
	}

	if out := r.ctl("kv", "put", "config/mode", "fast"); !strings.HasPrefix(out, "revision ") {
		t.Fatalf("kv put said %q", out)
	}
	r.ctl("kv", "put", "config/size", "3")
	if out := r.ctl("kv", "get", "config/mode"); out != "fast\n" {
		t.Fatalf("kv get said %q", out)
	}
	if out := r.ctl("kv", "list", "config/"); out != "config/mode fast\nconfig/size 3\n" {
		t.Fatalf("kv list said %q", out)
	}
	var e struct {
		Key   string `json:"key"`
		Value []byte `json:"value"`
		Rev   uint64 `json:"rev"`
	}
	if err := json.Unmarshal([]byte(r.ctl("kv", "--json", "get", "config/size")), &e); err != nil || e.Key != "config/size" || string(e.Value) != "3" || e.Rev == 0 {
		t.Fatalf("kv --json get: %+v, %v", e, err)
	}
	r.ctl("kv", "del", "config/mode")
	if _, errOut, code := gocluster(t, "kv", "--socket", r.socket, "get", "config/mode"); code != 1 || !strings.Contains(errOut, "no such key") {
		t.Fatalf("kv get of a deleted key: exit %d, %q", code, errOut)
	}
	if st := r.status(); st.Store.Keys != 1 {
		t.Fatalf("status says %d keys, want 1", st.Store.Keys)
	}

	if out := r.ctl("stop"); !strings.Contains(out, "stopped") {
		t.Fatalf("stop said %q", out)
	}
	// stop returns once the cluster has stopped: its address is free.
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("the address is still taken after stop returned: %v", err)
	}
	ln.Close()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("gocluster run did not end after stop")
	}
	if _, errOut, code := gocluster(t, "status", "--socket", r.socket); code != 1 || !strings.Contains(errOut, "no cluster runs") {
		t.Fatalf("status after stop: exit %d, %q", code, errOut)
	}
}

func waitWorkers(t *testing.T, r *running, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := r.status()
		ready := 0
		for _, w := range st.Workers {
			if w.State == "ready" {
				ready++
			}
		}
		if ready == n && len(st.Workers) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d ready workers, have %+v", n, st.Workers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
