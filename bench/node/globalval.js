#!/usr/bin/env node
// Shared state, Node peer: the "globalVal" pattern on Node cluster, 2 workers.
//
//   worker set(key, value): process.send({cmd: 'setGlobal', key, value})
//   primary:                globalVal[key] = value, then sends the WHOLE
//                           object to every worker
//   worker:                 on 'globalVal', replaces its local copy
//   worker get(key):        globalVal[key], a plain property read
//
// usage: node bench/node/globalval.js --keys N [--vis-max 2000] [--vis-seconds 5]
//        [--seconds 2] [--window 16] [--get-iters 200000]
//
// The primary builds the object (keys key%07d, 60-byte values) and sends it
// once to each worker. Then, in this order:
//   memory      per worker: V8 heapUsed after it installed the object minus
//               before (both after a full GC); the primary's own delta too.
//   visibility  closed loop, one set in flight: worker 1 sets key
//               (seq*7919 % N) to a value carrying process.hrtime.bigint()
//               (CLOCK_MONOTONIC, the same clock in every process); worker 2
//               checks that key on every broadcast it receives and records
//               now - stamp when it holds the new value, then acks through
//               the primary, which asks worker 1 for the next set. Up to
//               --vis-max samples or --vis-seconds, whichever comes first.
//   get         worker 1 alone: ns per globalVal[k] over --get-iters reads of
//               pre-drawn random existing keys, best of 3 loops.
//   writes/s    both workers at once for --seconds, each with at most
//               --window sets in flight; a set is complete when its own
//               broadcast comes back. A worker counts its sets until the
//               first one that completes after the end of the window (so
//               at least one); the figure is the sum of both workers' rates.
//               Once the window is over the primary still applies every set
//               but broadcasts only one more per worker, so that the run
//               does not wait for a queue of whole-object broadcasts.
//
// stdout: one JSON line with every figure (latencies in ns). Diagnostics go
// to stderr. SIGINT to the primary stops the workers, waits for them to exit
// and then exits.
'use strict';
const cluster = require('cluster');
const v8 = require('v8');
const vm = require('vm');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function intArg(name, def) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`globalval.js: --${name} needs a positive integer`);
    process.exit(2);
  }
  return v;
}
const KEYS = intArg('keys', 1000);
const VIS_MAX = intArg('vis-max', 2000);
const VIS_MS = intArg('vis-seconds', 5) * 1000;
const BLAST_MS = intArg('seconds', 2) * 1000;
const WINDOW = intArg('window', 16);
const GET_ITERS = intArg('get-iters', 200000);
const HARD_LIMIT_MS = 120 * 1000;
const VALUE_LEN = 60;

const now = () => process.hrtime.bigint();
const keyName = (i) => 'key' + String(i).padStart(7, '0');
const visKey = (seq) => keyName((seq * 7919) % KEYS);
const fit = (s) => (s + 'x'.repeat(VALUE_LEN)).slice(0, VALUE_LEN);

function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

if (cluster.isPrimary) {
  primary();
} else {
  worker();
}

function primary() {
  const base = heapUsed();
  const globalVal = {};
  for (let i = 0; i < KEYS; i++) globalVal[keyName(i)] = fit('init' + i);
  const primaryMem = Math.max(0, heapUsed() - base); // GC noise can make it negative for tiny objects
  const jsonBytes = JSON.stringify(globalVal).length;
  console.error(`globalval: ${KEYS} keys, whole object ${jsonBytes} bytes of JSON`);

  const out = { peer: 'node', node: process.version, keys: KEYS, json_bytes: jsonBytes, primary_mem_bytes: primaryMem };
  const w1 = cluster.fork();
  const w2 = cluster.fork();
  const workers = [w1, w2];
  out.pids = [process.pid, w1.process.pid, w2.process.pid];

  let stopping = false;
  const shutdown = (code) => {
    if (stopping) return;
    stopping = true;
    let left = workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null).length;
    if (left === 0) process.exit(code);
    for (const w of workers) {
      w.once('exit', () => { if (--left === 0) process.exit(code); });
      w.process.kill('SIGTERM');
    }
    setTimeout(() => {
      for (const w of workers) w.process.kill('SIGKILL');
      setTimeout(() => process.exit(code), 200);
    }, 3000).unref();
  };
  process.on('SIGINT', () => shutdown(130));
  process.on('SIGTERM', () => shutdown(143));
  setTimeout(() => { console.error('globalval: hard time limit reached'); shutdown(2); }, HARD_LIMIT_MS).unref();
  for (const w of workers) {
    w.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`globalval: worker ${w.id} exited early (${code}, ${signal})`);
        shutdown(1);
      }
    });
  }

  let blastUntil = 0n; // end of the writes/s window (hrtime)
  const lastBroadcast = new Set(); // workers that got their one broadcast after it
  const broadcast = (by) => {
    for (const w of workers) w.send({ cmd: 'globalVal', data: globalVal, by });
  };

  // Phases run one after the other; `waiting` counts the replies still due.
  let waiting = 0;
  let next = null;
  const expect = (n, then) => { waiting = n; next = then; };
  const got = () => { if (--waiting === 0) next(); };

  let visSeq = 0;
  let visDeadline = 0;
  const blast = [];
  const onMessage = (w, m) => {
    switch (m.cmd) {
      case 'setGlobal':
        globalVal[m.key] = m.value;
        if (blastUntil !== 0n && now() >= blastUntil) {
          if (lastBroadcast.has(w.id)) break;
          lastBroadcast.add(w.id);
        }
        broadcast(w.id);
        break;
      case 'ready':
        out.mem_bytes = out.mem_bytes || [];
        out.mem_bytes[w.id - 1] = m.mem;
        got();
        break;
      case 'seen': // worker 2 holds the value of set visSeq
        if (visSeq < VIS_MAX && Date.now() < visDeadline) {
          w1.send({ cmd: 'set', seq: ++visSeq });
        } else {
          w2.send({ cmd: 'report' });
        }
        break;
      case 'vis': {
        const lat = m.lat.sort((a, b) => a - b);
        out.vis_samples = lat.length;
        out.vis_p50_ns = pct(lat, 50);
        out.vis_p99_ns = pct(lat, 99);
        got();
        break;
      }
      case 'get':
        out.get_ns = m.ns;
        got();
        break;
      case 'blast':
        blast.push(m);
        got();
        break;
    }
  };
  for (const w of workers) {
    w.on('message', (m) => onMessage(w, m));
    w.once('online', () => w.send({ cmd: 'globalVal', data: globalVal, by: 0 }));
  }

  // The phases, in order: each starts once the replies of the one before are in.
  const visibility = () => {
    expect(1, get);
    visDeadline = Date.now() + VIS_MS;
    w1.send({ cmd: 'set', seq: ++visSeq });
  };
  const get = () => {
    expect(1, writes);
    w1.send({ cmd: 'get', iters: GET_ITERS });
  };
  const writes = () => {
    expect(2, finish);
    blastUntil = now() + BigInt(BLAST_MS) * 1000000n;
    for (const w of workers) w.send({ cmd: 'blast', until: String(blastUntil), window: WINDOW });
  };
  const finish = () => {
    out.writes_per_s = blast.reduce((s, b) => s + b.done / (b.ns / 1e9), 0);
    out.writes_done = blast.reduce((s, b) => s + b.done, 0);
    process.stdout.write(JSON.stringify(out) + '\n', () => shutdown(0));
  };
  expect(2, visibility); // both workers hold the object
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function worker() {
  const id = cluster.worker.id;
  const base = heapUsed();
  let globalVal = null;
  let onBroadcast = null;
  const set = (key, value) => process.send({ cmd: 'setGlobal', key, value });

  // worker 2 during the visibility phase
  const lat = [];
  let expectSeq = 1;
  const observe = () => {
    const v = globalVal[visKey(expectSeq)];
    if (!v.startsWith('s' + expectSeq + ':')) return;
    lat.push(Number(now() - BigInt(v.split(':')[1])));
    expectSeq++;
    process.send({ cmd: 'seen' });
  };

  process.on('message', (m) => {
    switch (m.cmd) {
      case 'globalVal':
        if (globalVal === null) {
          globalVal = m.data;
          setImmediate(() => {
            process.send({ cmd: 'ready', mem: heapUsed() - base });
            if (id === 2) onBroadcast = observe;
          });
          return;
        }
        globalVal = m.data;
        if (onBroadcast) onBroadcast(m);
        break;
      case 'set': { // worker 1: one visibility sample
        const t0 = now();
        set(visKey(m.seq), fit('s' + m.seq + ':' + t0 + ':'));
        break;
      }
      case 'report':
        onBroadcast = null;
        process.send({ cmd: 'vis', lat });
        break;
      case 'get':
        process.send({ cmd: 'get', ns: timeGets(globalVal, m.iters) });
        break;
      case 'blast':
        startBlast(BigInt(m.until), m.window);
        break;
    }
  });

  function startBlast(deadline, window) {
    const names = Object.keys(globalVal);
    let inflight = 0, done = 0, seq = 0, stopped = false;
    const t0 = now();
    const fill = () => {
      while (inflight < window) {
        inflight++;
        set(names[Math.floor(Math.random() * names.length)], fit('b' + id + '-' + seq++ + ':'));
      }
    };
    onBroadcast = (msg) => {
      if (stopped || msg.by !== id) return;
      inflight--;
      done++;
      const t = now();
      if (t >= deadline) {
        stopped = true;
        onBroadcast = null;
        process.send({ cmd: 'blast', done, ns: Number(t - t0) });
        return;
      }
      fill();
    };
    fill();
  }
}

// timeGets returns the ns per read of obj[k] for random existing keys, best
// of 3 loops of iters reads. The keys are drawn beforehand from the object's
// own property names, as a program that reads known keys would hold them.
function timeGets(obj, iters) {
  const names = Object.keys(obj);
  const rk = new Array(65536);
  for (let i = 0; i < rk.length; i++) rk[i] = names[Math.floor(Math.random() * names.length)];
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    for (let i = 0; i < iters; i++) sink += obj[rk[i & 65535]].length;
    const ns = Number(now() - t0) / iters;
    if (ns < best) best = ns;
  }
  if (sink === 0) console.error('globalval: empty values');
  return best;
}
