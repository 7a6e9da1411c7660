#!/usr/bin/env node
// Node.js cluster HTTP benchmark server: the Node peer of the Go HTTP benchmark.
//
// usage: node bench/node/http.js --port P [--workers N]      (N defaults to 2)
//
// The primary forks N workers; each serves "hello from worker <id>\n" on
// 127.0.0.1:P and counts its connections (server 'connection' events) and
// requests. The scheduling policy is cluster's own (NODE_CLUSTER_SCHED_POLICY,
// rr by default on Linux); it is not overridden here.
//
// Protocol, one line each way, stdout carries nothing else (diagnostics go to
// stderr):
//   stdout  {"ready":true}            once, when every worker is listening
//   stdin   stats                     the primary asks every worker over IPC
//   stdout  {"workers":[{"id":1,"conns":C,"reqs":R},...]}
//                                     one line, ordered by id; each worker
//                                     resets its counters after answering
//   stdin EOF, SIGTERM or SIGINT      the primary kills its workers, waits
//                                     for them to exit and exits 0
// A worker exiting on its own, or a run longer than 600 s, kills the
// remaining workers and exits 1. Workers exit by themselves if the primary
// dies (their IPC channel closes).
'use strict';
const cluster = require('cluster');
const http = require('http');

const HOST = '127.0.0.1';
const HARD_LIMIT_MS = 600 * 1000;

function intArg(name, def, max) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0) {
    if (def === undefined) {
      console.error(`http.js: --${name} is required`);
      process.exit(2);
    }
    return def;
  }
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0 || v > max) {
    console.error(`http.js: --${name} needs an integer in 1..${max}`);
    process.exit(2);
  }
  return v;
}
const PORT = intArg('port', undefined, 65535);
const WORKERS = intArg('workers', 2, 1024);

if (cluster.isPrimary) {
  primary();
} else {
  worker();
}

function worker() {
  const id = cluster.worker.id;
  let conns = 0;
  let reqs = 0;
  const server = http.createServer((req, res) => {
    reqs++;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello from worker ' + id + '\n');
  });
  server.on('connection', () => { conns++; });
  server.on('error', (e) => {
    console.error(`http.js: worker ${id}: ${e.stack || e}`);
    process.exit(1);
  });
  server.listen(PORT, HOST);
  process.on('message', (m) => {
    if (!m || m.cmd !== 'stats') return;
    process.send({ cmd: 'stats', seq: m.seq, id, conns, reqs });
    conns = 0;
    reqs = 0;
  });
}

function primary() {
  const workers = [];
  let state = 'starting'; // starting | ready | stopping | failing
  let exitCode = 0;

  const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  process.stdout.on('error', (e) => fail('stdout: ' + e.message));

  // Kill every worker through its process handle, wait until all exited
  // (SIGKILL after 2 s for any that linger), then exit with code.
  function stop(code, signal) {
    const alive = workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
    let left = alive.length;
    const done = () => {
      clearTimeout(deadline);
      process.exit(code);
    };
    if (left === 0) return done();
    for (const w of alive) {
      w.process.once('exit', () => { if (--left === 0) done(); });
      try { w.process.kill(signal); } catch (_) { /* already gone */ }
    }
    setTimeout(() => {
      for (const w of alive) {
        try { w.process.kill('SIGKILL'); } catch (_) { /* already gone */ }
      }
    }, 2000).unref();
    // after SIGKILL the exits come quickly; never hang here regardless
    setTimeout(() => {
      console.error('http.js: workers did not exit after SIGKILL');
      process.exit(1);
    }, 10000).unref();
  }

  function shutdown(why) {
    if (state === 'stopping' || state === 'failing') {
      // a second request while stopping: do not wait for SIGTERM any more
      for (const w of workers) {
        try { w.process.kill('SIGKILL'); } catch (_) { /* already gone */ }
      }
      return;
    }
    console.error(`http.js: ${why}, stopping workers`);
    state = 'stopping';
    stop(exitCode, 'SIGTERM');
  }

  function fail(why) {
    if (state === 'failing') return;
    console.error('http.js: ' + why);
    exitCode = 1;
    state = 'failing';
    stop(1, 'SIGKILL');
  }

  const deadline = setTimeout(() => fail(`run exceeded ${HARD_LIMIT_MS / 1000} s`), HARD_LIMIT_MS);
  process.on('uncaughtException', (e) => fail(e.stack || String(e)));
  process.on('unhandledRejection', (e) => fail((e && e.stack) || String(e)));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  cluster.on('exit', (w, code, signal) => {
    if (state === 'starting' || state === 'ready') {
      fail(`worker ${w.id} exited unexpectedly (code ${code}, signal ${signal})`);
    }
  });

  const listening = new Set();
  cluster.on('listening', (w) => {
    listening.add(w.id);
    if (state === 'starting' && listening.size === WORKERS) {
      state = 'ready';
      write({ ready: true });
      pump();
    }
  });

  const policy = cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none';
  console.error(`http.js: node ${process.version}, ${WORKERS} worker(s), policy ${policy}, ${HOST}:${PORT}`);
  for (let i = 0; i < WORKERS; i++) workers.push(cluster.fork());

  // stats requests are answered one at a time, in order, once ready
  let pending = 0;
  let busy = false;
  let seq = 0;

  function pump() {
    if (busy || pending === 0 || state !== 'ready') return;
    busy = true;
    pending--;
    const mySeq = ++seq;
    const answers = new Map();
    const handlers = [];
    const finish = () => {
      for (const [w, h] of handlers) w.off('message', h);
      const list = [...answers.values()].sort((a, b) => a.id - b.id);
      write({ workers: list });
      busy = false;
      pump();
    };
    for (const w of workers) {
      const h = (m) => {
        if (!m || m.cmd !== 'stats' || m.seq !== mySeq) return;
        answers.set(w.id, { id: w.id, conns: m.conns, reqs: m.reqs });
        if (answers.size === workers.length) finish();
      };
      handlers.push([w, h]);
      w.on('message', h);
      w.send({ cmd: 'stats', seq: mySeq });
    }
  }

  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === 'stats') {
        pending++;
        pump();
      } else if (line !== '') {
        console.error(`http.js: unknown command ${JSON.stringify(line)}`);
      }
    }
  });
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', (e) => shutdown('stdin: ' + e.message));
}
