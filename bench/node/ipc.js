#!/usr/bin/env node
// Node.js cluster IPC benchmark: the Node peer of the Go IPC benchmark.
//
// usage: node bench/node/ipc.js [--workers N] [--seconds S] [--pings P] [--large-iters L]
//        (defaults 1, 3, 10000, 30; serialization is JSON, cluster's default)
//
// Measures, in this order:
//   p2w       primary -> worker one-way throughput of ~100-byte messages for S
//             seconds, counted on receipt in the worker(s); with N workers the
//             aggregate count over the common receive window.
//   pingpong  small-message round trip, 1000 warm-up then P round trips per
//             worker, all workers concurrently; pooled p50/p99 in microseconds.
//   large     round trip of a ~1 MiB object (~17k keys, 50-byte values), 3
//             warm-up then L iterations per worker, concurrently; pooled
//             p50/p99 in milliseconds.
//
// The sender is flow-controlled: send() until it returns false, then wait for
// the callback of the next message; it yields to the event loop every 512
// messages. Times are process.hrtime (CLOCK_MONOTONIC, comparable across
// processes). stdout carries one JSON line per figure, diagnostics go to stderr.
'use strict';
const cluster = require('cluster');

function intArg(name, def) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`ipc.js: --${name} needs a positive integer`);
    process.exit(2);
  }
  return v;
}
const WORKERS = intArg('workers', 1);
const SECONDS = intArg('seconds', 3);
const PINGS = intArg('pings', 10000);
const LARGE_ITERS = intArg('large-iters', 30);
const HARD_LIMIT_MS = 120 * 1000;

const now = () => process.hrtime.bigint();
const VALUE = 'v'.repeat(60);
const smallMsg = (i) => ({ cmd: 'val:edit', key: 'k' + (i % 1000), value: VALUE });

if (cluster.isPrimary) {
  primary();
} else {
  worker();
}

function worker() {
  let count = 0;
  let t0 = 0n;
  let t1 = 0n;
  process.on('message', (m) => {
    if (m.cmd === 'val:edit') {
      t1 = now();
      if (count++ === 0) t0 = t1;
    } else if (m.cmd === 'p2w:end') {
      process.send({ cmd: 'p2w:result', count, t0: String(t0), t1: String(t1) });
      count = 0;
    } else if (m.cmd === 'ping') {
      m.cmd = 'pong';
      process.send(m);
    }
  });
}

function primary() {
  const workers = [];
  let stopping = false;

  // Kill the workers, reap them (bounded wait), exit non-zero.
  const fail = (why) => {
    if (stopping === 'failing') return;
    stopping = 'failing';
    console.error('ipc.js: ' + why);
    const exits = workers.map((w) => (w.isDead() ? null : new Promise((res) => w.process.once('exit', res))));
    for (const w of workers) {
      try { w.process.kill('SIGKILL'); } catch (_) { /* already gone */ }
    }
    Promise.all(exits).then(() => process.exit(1));
    setTimeout(() => process.exit(1), 2000);
  };
  const deadline = setTimeout(() => fail(`run exceeded ${HARD_LIMIT_MS / 1000} s`), HARD_LIMIT_MS);
  process.on('uncaughtException', (e) => fail(e.stack || String(e)));
  process.on('unhandledRejection', (e) => fail((e && e.stack) || String(e)));
  cluster.on('exit', (w, code, signal) => {
    if (!stopping) fail(`worker ${w.id} exited early (code ${code}, signal ${signal})`);
  });

  cluster.setupPrimary({ serialization: 'json' });
  for (let i = 0; i < WORKERS; i++) workers.push(cluster.fork());

  Promise.all(workers.map((w) => new Promise((res) => w.once('online', res))))
    .then(run)
    .then(stop);

  function emit(metric, value, unit) {
    process.stdout.write(JSON.stringify({ metric, value, unit }) + '\n');
  }

  function pct(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }

  // Resolve with the first message of the given cmd from worker w.
  function nextMessage(w, cmd) {
    return new Promise((resolve) => {
      const h = (m) => {
        if (m && m.cmd === cmd) { w.off('message', h); resolve(m); }
      };
      w.on('message', h);
    });
  }

  // Flow-controlled pump of small messages to w until the deadline, then the
  // end marker (ordered after all data on the channel).
  function pump(w, untilMs) {
    let i = 0;
    const loop = () => {
      if (stopping || !w.isConnected()) return;
      for (let n = 0; n < 512; n++) {
        if (!w.send(smallMsg(i++))) {
          w.send(smallMsg(i++), (err) => {
            if (err) return; // the worker is gone; its exit aborts the run
            if (Date.now() < untilMs) loop();
            else finish();
          });
          return;
        }
      }
      if (Date.now() < untilMs) setImmediate(loop);
      else finish();
    };
    const finish = () => w.send({ cmd: 'p2w:end' });
    loop();
  }

  async function testP2W() {
    const results = Promise.all(workers.map((w) => nextMessage(w, 'p2w:result')));
    const until = Date.now() + SECONDS * 1000;
    for (const w of workers) pump(w, until);
    let count = 0;
    let t0 = null;
    let t1 = null;
    for (const r of await results) {
      if (r.count === 0) continue;
      count += r.count;
      const a = BigInt(r.t0);
      const b = BigInt(r.t1);
      if (t0 === null || a < t0) t0 = a;
      if (t1 === null || b > t1) t1 = b;
    }
    if (count === 0 || t1 <= t0) throw new Error('p2w: nothing received');
    console.error(`p2w: ${count} msgs in ${Number(t1 - t0) / 1e6} ms`);
    emit('p2w', count / (Number(t1 - t0) / 1e9), 'msg/s');
  }

  // iters sequential round trips with w; returns latencies in microseconds.
  function pingLoop(w, iters, mk) {
    return new Promise((resolve) => {
      const lat = [];
      let t = 0n;
      const h = (m) => {
        if (m.cmd !== 'pong') return;
        lat.push(Number(now() - t) / 1000);
        if (lat.length === iters) { w.off('message', h); resolve(lat); return; }
        t = now();
        w.send(mk(lat.length));
      };
      w.on('message', h);
      t = now();
      w.send(mk(0));
    });
  }

  async function roundTrips(warmup, iters, mk) {
    await Promise.all(workers.map((w) => pingLoop(w, warmup, mk)));
    const all = (await Promise.all(workers.map((w) => pingLoop(w, iters, mk)))).flat();
    return all.sort((a, b) => a - b);
  }

  async function testPingPong() {
    const lat = await roundTrips(1000, PINGS, (i) => ({ cmd: 'ping', key: 'k' + (i % 1000), value: VALUE }));
    emit('rtt_p50', pct(lat, 50), 'us');
    emit('rtt_p99', pct(lat, 99), 'us');
  }

  async function testLarge() {
    // ~1 MiB as JSON: keys k0.. with 50-byte values
    const big = {};
    const v = 'x'.repeat(50);
    for (let i = 0, size = 2; size < 1024 * 1024; i++) {
      const k = 'k' + i;
      big[k] = v;
      size += k.length + v.length + 6;
    }
    console.error(`large: ${Object.keys(big).length} keys, ${JSON.stringify(big).length} bytes`);
    const lat = await roundTrips(3, LARGE_ITERS, () => ({ cmd: 'ping', data: big }));
    emit('large_rtt_p50', pct(lat, 50) / 1000, 'ms');
    emit('large_rtt_p99', pct(lat, 99) / 1000, 'ms');
  }

  async function run() {
    console.error(`ipc.js: node ${process.version}, ${WORKERS} worker(s), json`);
    await testP2W();
    await testPingPong();
    await testLarge();
  }

  function stop() {
    stopping = true;
    let alive = workers.filter((w) => !w.isDead()).length;
    const done = () => { clearTimeout(deadline); process.exit(0); };
    if (alive === 0) return done();
    cluster.on('exit', () => { if (--alive === 0) done(); });
    for (const w of workers) w.process.kill('SIGTERM');
    // a worker that ignores SIGTERM is not left behind
    setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, 2000).unref();
  }
}
