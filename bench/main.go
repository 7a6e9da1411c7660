// Command bench measures gocluster against its peers, side by side in one
// run, and prints tables with ratios.
//
//	go run ./bench                 # every section
//	go run ./bench ipc             # IPC: gocluster vs Node's cluster
//	go run ./bench http            # HTTP with wrk: each policy, single Go, Node cluster
//	go run ./bench recovery        # kill -9 of a worker until its replacement serves, vs gunicorn
//	go run ./bench reload          # failed requests over rolling reloads under wrk, vs gunicorn
//	go run ./bench state           # shared state vs Node's globalVal pattern and uWSGI's cache
//	go run ./bench sessions        # a session read per request vs Node (connect-redis) and Go (scs), one Redis
//	go run ./bench redis           # the shared state on Redis across machines vs plain Redis, redis-benchmark
//	go run ./bench cli             # the gocluster command vs pm2: req/s, reloads, kill -9, same hello.js
//	RUNS=5 go run ./bench ipc      # more runs (default 3; medians are printed)
//	go run ./bench compare 9baed6f ipc state   # this tree vs that commit, alternated (ROUNDS, default 5)
//
// The same binary is the primary and, re-executed by gocluster, the workers.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if redisRole() { // a machine of the redis section, or one of its workers
		return
	}
	if isBenchWorker() {
		benchWorker()
		return
	}
	sections := map[string]func(runs int) error{"ipc": benchIPC, "http": benchHTTP,
		"recovery": benchRecovery, "reload": benchReload, "state": benchState, "sessions": benchSessions, "redis": benchRedis, "cli": benchCLI}
	order := []string{"ipc", "http", "recovery", "reload", "state", "redis", "sessions", "cli"}
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && v > 0 {
		runs = v
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "compare" {
		rounds := 5
		if v, err := strconv.Atoi(os.Getenv("ROUNDS")); err == nil && v > 0 {
			rounds = v
		}
		if err := benchCompare(args[1:], rounds); err != nil {
			fmt.Fprintf(os.Stderr, "bench compare: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(args) == 0 {
		args = order
	}
	for _, name := range args {
		run, ok := sections[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q (have %v)\n", name, order)
			os.Exit(2)
		}
		if err := run(runs); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", name, err)
			os.Exit(1)
		}
	}
}
