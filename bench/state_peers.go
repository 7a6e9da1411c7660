package main

// The peers of the shared-state section, each with 2 worker processes at one
// store size per call:
//
//   - Node: the cluster "globalVal" pattern (bench/node/globalval.js): a
//     worker's set goes to the primary, which sends the whole object to
//     every worker; a get is a property read of the worker's own copy.
//   - uWSGI: the cache2 shared-memory store, used from two mules
//     (bench/uwsgi/cache_peer.py).
//
// Each run starts the peer as child processes, reads the one JSON line of
// figures it prints, and stops every process it started: SIGINT to the
// root (the Node primary stops its workers; the uWSGI master stops its
// workers and mules), then SIGKILL for whatever is left of the process tree,
// which is followed through /proc while the peer runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stateFigures is one peer's (or gocluster's) result at one store size.
type stateFigures struct {
	Keys           int
	VisP50, VisP99 time.Duration
	VisSamples     int
	// IdleVisP50 and IdleVisP99: visibility of writes 0.5-1 ms apart
	// (ours only; the peers measure the closed loop).
	IdleVisP50, IdleVisP99 time.Duration
	WritesPerSec           float64 // both workers at once, sum
	GetNs                  float64 // ns per local read, before the writes (as the peers measure)
	// Ours only: writes/s with stateDeepWriters goroutines writing in each
	// worker (enough to keep every process busy), and Get once the writes
	// have churned the heap.
	DeepWritesPerSec float64
	GetAfterNs       float64
	MemBytes         []int64 // per process holding the data (len 2 for per-worker figures, len 1 for one shared segment)
	MemShared        bool    // true when MemBytes is one segment shared by all processes
	Note             string
}

// Parameters of the peers' runs, the same for both.
const (
	statePeerTimeout    = 90 * time.Second // one whole peer run
	statePeerVisMax     = 2000             // visibility samples at most ...
	statePeerVisSeconds = 5                // ... or this long, whichever comes first
	statePeerSeconds    = 2                // writes/s: both workers this long
	statePeerWindow     = 16               // Node: sets in flight per worker
	statePeerGetIters   = 200000           // reads per get loop (best of 3)
	stateUWSGIHashSize  = 65536            // cache2's default hashsize
)

// statePeerLine is the JSON line a peer prints.
type statePeerLine struct {
	Peer         string  `json:"peer"`
	Error        string  `json:"error"`
	Keys         int     `json:"keys"`
	VisSamples   int     `json:"vis_samples"`
	VisP50       float64 `json:"vis_p50_ns"`
	VisP99       float64 `json:"vis_p99_ns"`
	WritesPerSec float64 `json:"writes_per_s"`
	GetNs        float64 `json:"get_ns"`
	MemBytes     []int64 `json:"mem_bytes"`
	PrimaryMem   int64   `json:"primary_mem_bytes"`
	JSONBytes    int64   `json:"json_bytes"`
	Node         string  `json:"node"`
	UWSGI        string  `json:"uwsgi"`
}

func (l statePeerLine) figures() stateFigures {
	return stateFigures{Keys: l.Keys, VisP50: time.Duration(l.VisP50), VisP99: time.Duration(l.VisP99),
		VisSamples: l.VisSamples, WritesPerSec: l.WritesPerSec, GetNs: l.GetNs, MemBytes: l.MemBytes}
}

// runNodeState runs the Node cluster globalVal peer with keys keys.
func runNodeState(ctx context.Context, keys int) (stateFigures, error) {
	node, err := exec.LookPath(nodeBin())
	if err != nil {
		return stateFigures{}, fmt.Errorf("node peer: Node.js not found (apt-get install -y nodejs): %w", err)
	}
	script, err := statePeerScript("node", "globalval.js")
	if err != nil {
		return stateFigures{}, err
	}
	argv := []string{node, script, "--keys", strconv.Itoa(keys),
		"--vis-max", strconv.Itoa(statePeerVisMax), "--vis-seconds", strconv.Itoa(statePeerVisSeconds),
		"--seconds", strconv.Itoa(statePeerSeconds), "--window", strconv.Itoa(statePeerWindow),
		"--get-iters", strconv.Itoa(statePeerGetIters)}
	l, _, err := runStatePeer(ctx, "node", argv, nil, nil)
	if err != nil {
		return stateFigures{}, err
	}
	if len(l.MemBytes) != 2 {
		return stateFigures{}, fmt.Errorf("node peer: memory of %d workers, want 2", len(l.MemBytes))
	}
	f := l.figures()
	f.Note = fmt.Sprintf("Node %s cluster globalVal: each set sends the whole object (%d bytes of JSON) to both workers; "+
		"memory = V8 heapUsed delta per worker (the primary holds another %d bytes); writes/s with %d sets in flight per worker",
		l.Node, l.JSONBytes, l.PrimaryMem, statePeerWindow)
	return f, nil
}

// stateUWSGICacheLine is uWSGI's log line for the cache "c" it created.
var stateUWSGICacheLine = regexp.MustCompile(`Cache "c" initialized: .*keys: (\d+) bytes, data: (\d+) bytes, bitmap: (\d+) bytes`)

// runUWSGIState runs the uWSGI cache2 peer with keys keys.
func runUWSGIState(ctx context.Context, keys int) (stateFigures, error) {
	bin, err := exec.LookPath("uwsgi")
	if err != nil {
		return stateFigures{}, fmt.Errorf("uwsgi peer: uwsgi not found (apt-get install -y uwsgi-core uwsgi-plugin-python3): %w", err)
	}
	check, cancel := context.WithTimeout(ctx, 10*time.Second)
	out, err := exec.CommandContext(check, bin, "--need-plugin", "python3", "--version").CombinedOutput()
	cancel()
	if err != nil {
		return stateFigures{}, fmt.Errorf("uwsgi peer: no python3 plugin (apt-get install -y uwsgi-plugin-python3): %v: %s",
			err, strings.TrimSpace(string(out)))
	}
	script, err := statePeerScript("uwsgi", "cache_peer.py")
	if err != nil {
		return stateFigures{}, err
	}
	items := keys + 10 // item 0 is reserved; a little room on top
	argv := []string{bin, "--need-plugin", "python3", "--master", "--die-on-term", "--processes", "2",
		"--socket", "127.0.0.1:0", "--disable-logging",
		"--cache2", fmt.Sprintf("name=c,items=%d,blocksize=128,keysize=32", items),
		"--cache2", "name=ctl,items=16,blocksize=1024",
		"--mule=" + script, "--mule=" + script}
	env := []string{"STATE_KEYS=" + strconv.Itoa(keys),
		"STATE_VIS_MAX=" + strconv.Itoa(statePeerVisMax), "STATE_VIS_SECONDS=" + strconv.Itoa(statePeerVisSeconds),
		"STATE_SECONDS=" + strconv.Itoa(statePeerSeconds), "STATE_GET_ITERS=" + strconv.Itoa(statePeerGetIters)}
	l, kept, err := runStatePeer(ctx, "uwsgi", argv, env, stateUWSGICacheLine.MatchString)
	if err != nil {
		return stateFigures{}, err
	}
	if len(kept) == 0 {
		return stateFigures{}, fmt.Errorf("uwsgi peer: no size of cache \"c\" in uWSGI's log")
	}
	m := stateUWSGICacheLine.FindStringSubmatch(kept[0])
	var seg int64
	for _, s := range m[1:] {
		n, _ := strconv.ParseInt(s, 10, 64)
		seg += n
	}
	// The items and data area, then the hashtable and the free-slot stack
	// (one uint64 per hash bucket and per block: blocks == items here).
	seg += 8*stateUWSGIHashSize + 8*int64(items)
	f := l.figures()
	f.MemBytes, f.MemShared = []int64{seg}, true
	f.Note = fmt.Sprintf("uWSGI %s cache2 (items=%d, blocksize=128, keysize=32, hashsize=%d) used from 2 mules: "+
		"one shared-memory segment of %d bytes for all processes (items, data blocks, hashtable, free-slot stack)",
		l.UWSGI, items, stateUWSGIHashSize, seg)
	return f, nil
}

// statePeerScript is the absolute path of a peer script under bench/.
func statePeerScript(dir, name string) (string, error) {
	p, err := filepath.Abs(filepath.Join(benchDir(), dir, name))
	if err == nil {
		_, err = os.Stat(p)
	}
	if err != nil {
		return "", fmt.Errorf("peer script %s/%s not found (run from the repository root): %w", dir, name, err)
	}
	return p, nil
}

// runStatePeer starts argv (with env added), waits for the JSON line whose
// "peer" is peer on its stdout or stderr (one pipe for both, as uWSGI
// writes its log and the mules' stdout to the same place), then stops every
// process it started. It also returns the output lines keep accepts.
func runStatePeer(ctx context.Context, peer string, argv, env []string, keep func(string) bool) (statePeerLine, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, statePeerTimeout)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		return statePeerLine{}, nil, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	tree := &stateProcTree{seen: map[int]uint64{}}
	cmd.Cancel = func() error { tree.killAll(); return nil }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Start()
	w.Close()
	if err != nil {
		return statePeerLine{}, nil, fmt.Errorf("%s peer: %w", peer, err)
	}
	tree.setRoot(cmd.Process)
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	go func() { // follow the tree while it runs
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-exited:
				return
			case <-t.C:
				tree.scan()
			}
		}
	}()

	found := make(chan statePeerLine, 1)
	eof := make(chan struct{})
	var mu sync.Mutex
	var kept, tail []string
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 4<<20)
		got := false
		for sc.Scan() {
			text := sc.Text()
			var l statePeerLine
			if !got && strings.HasPrefix(text, "{") && json.Unmarshal(sc.Bytes(), &l) == nil && l.Peer == peer {
				got = true
				found <- l
				continue
			}
			mu.Lock()
			if keep != nil && keep(text) {
				kept = append(kept, text)
			}
			if tail = append(tail, text); len(tail) > 20 {
				tail = tail[1:]
			}
			mu.Unlock()
		}
		io.Copy(io.Discard, r) // after an over-long line: keep the pipe flowing
	}()

	var line statePeerLine
	var failure error
	select {
	case line = <-found:
	case <-exited:
		select { // the output may still hold the line
		case <-eof:
		case <-time.After(time.Second):
		}
		select {
		case line = <-found:
		default:
			failure = fmt.Errorf("%s peer exited without figures (%v)", peer, waitErr)
		}
	case <-ctx.Done():
		failure = fmt.Errorf("%s peer: stopped before it printed its figures (run limit %v): %w", peer, statePeerTimeout, ctx.Err())
	}
	if failure == nil && line.Error != "" {
		failure = fmt.Errorf("%s peer: %s", peer, line.Error)
	}
	tree.stop(exited)
	select {
	case <-eof:
	case <-time.After(2 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if failure != nil {
		return statePeerLine{}, nil, fmt.Errorf("%w; last output:\n%s", failure, strings.Join(tail, "\n"))
	}
	return line, append([]string(nil), kept...), nil
}

// stateProcTree is the set of processes a peer run started: its root and every
// descendant ever seen, each with its start time so that a pid reused by
// another process is never signalled. It follows the tree through /proc
// (Linux); elsewhere it only knows the root.
type stateProcTree struct {
	mu   sync.Mutex
	root *os.Process
	seen map[int]uint64 // descendant pid -> start time
}

func (t *stateProcTree) setRoot(p *os.Process) {
	t.mu.Lock()
	t.root = p
	t.mu.Unlock()
	t.scan()
}

// scan adds the current descendants of the root.
func (t *stateProcTree) scan() {
	t.mu.Lock()
	root := t.root
	t.mu.Unlock()
	if root == nil {
		return
	}
	children := map[int][]int{}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				if ppid, _, _, ok := stateProcStat(pid); ok {
					children[ppid] = append(children[ppid], pid)
				}
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for queue := children[root.Pid]; len(queue) > 0; queue = queue[1:] {
		pid := queue[0]
		_, start, state, ok := stateProcStat(pid)
		if !ok || state == 'Z' {
			continue
		}
		if old, known := t.seen[pid]; known && old != start {
			continue // the pid now belongs to another process
		}
		t.seen[pid] = start
		queue = append(queue, children[pid]...)
	}
}

// alive lists the descendants that still run.
func (t *stateProcTree) alive() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var pids []int
	for pid, start := range t.seen {
		if _, s, state, ok := stateProcStat(pid); ok && s == start && state != 'Z' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stop sends SIGINT to the root and gives the tree 10 s to exit by itself
// (exited is closed once the root has been waited for), then kills what is
// left.
func (t *stateProcTree) stop(exited <-chan struct{}) {
	t.scan()
	if t.root.Signal(os.Interrupt) != nil {
		t.root.Kill()
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.killAll()
		<-exited
	}
	for deadline := time.Now().Add(3 * time.Second); len(t.alive()) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	t.killAll()
}

// killAll sends SIGKILL to the root (unless it has been waited for) and to
// every live descendant.
func (t *stateProcTree) killAll() {
	t.scan()
	t.mu.Lock()
	root := t.root
	t.mu.Unlock()
	if root != nil {
		root.Kill()
	}
	for _, pid := range t.alive() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
			p.Release()
		}
	}
}

// stateProcStat reads a process's parent, start time and state from
// /proc/PID/stat (fields 4, 22 and 3).
func stateProcStat(pid int) (ppid int, start uint64, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	return ppid, start, f[0][0], err1 == nil && err2 == nil
}
