package main

// The Redis section: the shared state with Store: redis.Store, across
// machines (each a primary of its own with its workers, this binary
// re-executed: redis_machine.go), against plain Redis on the same
// redis-server, in the same run:
//
//	a. a write on machine A seen by a worker on machine B, against a plain
//	   SET then GET on one connection;
//	b. writes/s from 2 machines x 2 workers, against redis-benchmark;
//	c. a worker's Get at 100k keys, against the embedded store's;
//	d. the cold start of seed 001: 4 machines x 4 workers loading one key
//	   from a slow origin, against the seed's one load per process.
//
// Knobs: RUNS (runs, default 3), REDIS_SECONDS (each writes/s figure,
// default 3), REDIS_SAMPLES (visibility samples, default 2000),
// REDIS_WRITERS (goroutines writing in each worker, default 256),
// REDIS_KEYS (default 100000).

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gocluster/cluster"
)

const (
	redisColdMachines = 4
	redisColdWorkers  = 4
	redisOriginDelay  = 200 * time.Millisecond
)

// redisKnobs are the section's parameters, from the environment.
type redisKnobs struct {
	secs, samples, writers, keys int
}

func redisKnobsFromEnv() redisKnobs {
	k := redisKnobs{secs: 3, samples: 2000, writers: stateDeepWriters, keys: 100000}
	for env, p := range map[string]*int{"REDIS_SECONDS": &k.secs, "REDIS_SAMPLES": &k.samples,
		"REDIS_WRITERS": &k.writers, "REDIS_KEYS": &k.keys} {
		if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
			*p = v
		}
	}
	return k
}

// benchRedis runs the Redis section: runs runs, then its tables.
func benchRedis(runs int) error {
	k := redisKnobsFromEnv()
	srv, err := startRedis()
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ours, peer := samples{}, samples{}
	var commands []string
	for r := range runs {
		if err := srv.flush(ctx); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "redis: run %d/%d: two machines, %d keys\n", r+1, runs, k.keys)
		if err := redisPairRun(ctx, srv, k, r, ours, peer); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "redis: run %d/%d: cold start, %d machines x %d workers\n", r+1, runs, redisColdMachines, redisColdWorkers)
		if err := srv.flush(ctx); err != nil { // a machine's start reads the database: only this store's keys
			return err
		}
		cmds, err := redisColdRun(ctx, srv, r, ours)
		if err != nil {
			return err
		}
		commands = append(commands, cmds)
	}
	printRedis(srv.version(ctx), runs, k, ours, peer, commands)
	return nil
}

// redisPairRun measures a, b and c, alternating which side of each
// comparison goes first from run to run: the machines, then the embedded
// store's Get, in even runs.
func redisPairRun(ctx context.Context, srv *redisServer, k redisKnobs, r int, ours, peer samples) error {
	return inTurn(r, func() error { return redisMachinesRun(ctx, srv, k, r, ours, peer) }, func() error {
		ns, err := embeddedGetNs(ctx, k.keys)
		peer.add("get", ns)
		return err
	})
}

// redisMachinesRun measures a, b and c's Redis side on two machines of 2
// workers each (A writes the keys before its workers start).
func redisMachinesRun(ctx context.Context, srv *redisServer, k redisKnobs, r int, ours, peer samples) error {
	name := "bench-" + strconv.Itoa(r)
	a, err := startMachine(srv, name, 2, "state", envRedisFill+"="+strconv.Itoa(k.keys))
	if err != nil {
		return err
	}
	defer a.stop()
	if err := a.ready(); err != nil {
		return fmt.Errorf("machine A: %w", err)
	}
	b, err := startMachine(srv, name, 2, "state")
	if err != nil {
		return err
	}
	defer b.stop()
	if err := b.ready(); err != nil {
		return fmt.Errorf("machine B: %w", err)
	}
	// c: Get in a worker, before any other write (as the state section).
	if err := addFloat(ours, "get", a, "get "+strconv.Itoa(k.keys)); err != nil {
		return err
	}
	if err := redisVisibility(ctx, srv, k, r, a, b, ours, peer); err != nil {
		return err
	}
	return redisWrites(ctx, srv, k, r, a, b, ours, peer)
}

// inTurn runs ours and theirs, ours first in even runs.
func inTurn(r int, ours, theirs func() error) error {
	if r%2 == 1 {
		ours, theirs = theirs, ours
	}
	if err := ours(); err != nil {
		return err
	}
	return theirs()
}

// redisVisibility measures a: writes on a seen by a worker of b, one in
// flight, and the plain SET then GET; with Redis's time per command.
func redisVisibility(ctx context.Context, srv *redisServer, k redisKnobs, r int, a, b *machine, ours, peer samples) error {
	vis := func() error {
		if _, err := b.do("watch " + strconv.Itoa(k.samples)); err != nil {
			return err
		}
		before, after, err := srv.statsAround(ctx, func() error {
			_, err := a.do("visloop " + strconv.Itoa(k.samples))
			return err
		})
		if err != nil {
			return err
		}
		if n := after["evalsha"].calls - before["evalsha"].calls; n > 0 { // a write and its acknowledgement per sample
			ours.add("visusec", float64(usecDelta(before, after, "evalsha"))/float64(n))
		}
		rep, err := b.do("visresult")
		if err != nil {
			return err
		}
		var p50, p99, n float64
		if _, err := fmt.Sscanf(rep, "%g %g %g", &p50, &p99, &n); err != nil || n == 0 {
			return fmt.Errorf("visibility: %q", rep)
		}
		ours.add("vis50", p50/1e3)
		ours.add("vis99", p99/1e3)
		return nil
	}
	rtt := func() error {
		var p50, p99 float64
		before, after, err := srv.statsAround(ctx, func() (err error) {
			p50, p99, err = srv.setGetRoundTrip(ctx, k.samples)
			return err
		})
		if err != nil {
			return err
		}
		peer.add("vis50", p50/1e3)
		peer.add("vis99", p99/1e3)
		peer.add("visusec", float64(usecDelta(before, after, "set", "get"))/float64(k.samples))
		return nil
	}
	return inTurn(r, vis, rtt)
}

// redisWrites measures b: writes/s from both machines at once, and
// redis-benchmark's; with Redis's time per write (our script against its
// SET) and our writes per script call.
func redisWrites(ctx context.Context, srv *redisServer, k redisKnobs, r int, a, b *machine, ours, peer samples) error {
	writes := func() error {
		var rate float64
		before, after, err := srv.statsAround(ctx, func() (err error) {
			rate, err = pairWrites(k, a, b)
			return err
		})
		if err != nil {
			return err
		}
		ours.add("writes", rate)
		n := rate * float64(k.secs) // about: each worker's rate is over its own S seconds
		ours.add("usec", float64(usecDelta(before, after, "evalsha", "eval"))/n)
		if calls := after["evalsha"].calls + after["eval"].calls - before["evalsha"].calls - before["eval"].calls; calls > 0 {
			ours.add("batch", n/float64(calls))
		}
		return nil
	}
	bench := func() error {
		before, after, err := srv.statsAround(ctx, func() error {
			for _, c := range redisBenchmarks {
				rps, err := srv.redisBenchmark(ctx, k.secs, c.expected, c.args...)
				if err != nil {
					return err
				}
				peer.add(c.metric, rps)
			}
			return nil
		})
		if n := after["set"].calls - before["set"].calls; err == nil && n > 0 {
			peer.add("usec", float64(usecDelta(before, after, "set"))/float64(n))
		}
		return err
	}
	return inTurn(r, writes, bench)
}

// redisBenchmarks are the redis-benchmark runs of b, with the rate each
// is expected to reach (it sizes -n to about REDIS_SECONDS).
var redisBenchmarks = []struct {
	metric   string
	expected int
	args     []string
}{
	{"rb1", 30000, []string{"-c", "1"}},
	{"rb50", 100000, []string{"-c", "50"}},
	{"rb50p16", 500000, []string{"-c", "50", "-P", "16"}},
}

// pairWrites runs the writes of both machines at once and returns the sum
// of their rates.
func pairWrites(k redisKnobs, ms ...*machine) (float64, error) {
	var wg sync.WaitGroup
	rates := make([]float64, len(ms))
	errs := make([]error, len(ms))
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rep string
			if rep, errs[i] = m.do(fmt.Sprintf("writes %d %d %d", k.keys, k.secs, k.writers)); errs[i] == nil {
				rates[i], errs[i] = strconv.ParseFloat(rep, 64)
			}
		}()
	}
	wg.Wait()
	total := 0.0
	for i := range ms {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += rates[i]
	}
	return total, nil
}

// addFloat runs cmd on m and adds its reply, a number, to metric.
func addFloat(s samples, metric string, m *machine, cmd string) error {
	rep, err := m.do(cmd)
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(rep, 64)
	if err != nil || v <= 0 {
		return fmt.Errorf("%s: %q", cmd, rep)
	}
	s.add(metric, v)
	return nil
}

// embeddedGetNs is a worker's Get at keys keys with the embedded store, as
// the state section measures it.
func embeddedGetNs(ctx context.Context, keys int) (float64, error) {
	fill := func(p *cluster.Primary) error {
		for i := range keys {
			if _, err := p.Store().Put(ctx, stateKey(i), stateValue); err != nil {
				return err
			}
		}
		return nil
	}
	p, _, stop, err := runClusterWith(cluster.Config{Workers: 2, Settings: cluster.Settings{Env: []string{envBenchMode + "=state"}}}, fill)
	if err != nil {
		return 0, err
	}
	defer stop()
	rep, err := p.Workers()[0].Request(ctx, []byte("get:"+strconv.Itoa(keys)))
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(rep), 64)
}

// redisColdRun starts redisColdMachines machines of redisColdWorkers
// workers at once on a fresh store, each worker loading one key from an
// origin that takes redisOriginDelay, and records the origin's calls, the
// time until every worker was ready and the Redis commands meanwhile.
// It returns the commands by name.
func redisColdRun(ctx context.Context, srv *redisServer, r int, ours samples) (string, error) {
	before, err := srv.commandStats(ctx)
	if err != nil {
		return "", err
	}
	start := time.Now()
	ms := make([]*machine, redisColdMachines)
	for i := range ms {
		m, err := startMachine(srv, "warm-"+strconv.Itoa(r), redisColdWorkers, warmMode, envRedisDelay+"="+redisOriginDelay.String())
		if err != nil {
			return "", err
		}
		defer m.stop()
		ms[i] = m
	}
	for i, m := range ms {
		if err := m.ready(); err != nil {
			return "", fmt.Errorf("cold machine %d: %w", i+1, err)
		}
	}
	ours.add("coldms", float64(time.Since(start).Microseconds())/1e3)
	after, err := srv.commandStats(ctx)
	if err != nil {
		return "", err
	}
	total, byName := commandDelta(before, after)
	ours.add("coldcmds", float64(total))
	loads := 0
	for _, m := range ms {
		rep, err := m.do("loads")
		if err != nil {
			return "", err
		}
		n, _ := strconv.Atoi(rep)
		loads += n
	}
	ours.add("coldloads", float64(loads))
	return byName, nil
}
