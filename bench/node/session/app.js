#!/usr/bin/env node
// Sessions benchmark, Node peer: Node's cluster module with N workers, each
// an express app whose sessions are kept by express-session, in Redis
// through connect-redis and the `redis` client (the setup of connect-redis's
// README), or in express-session's default MemoryStore.
//
// usage: node bench/node/session/app.js --port P [--workers N] [--store redis|memory]
//        [--redis redis://127.0.0.1:6379]
//        (N defaults to 2, the store to redis; SESSION_STORE=memory also picks
//        the MemoryStore)
//
// The HTTP contract, the same for every server of the benchmark:
//   POST /login   form field user -> 200 "hello NAME\n" and a session cookie
//   GET  /whoami  -> 200 "NAME\n" with a logged-in session, 401 otherwise
//   POST /logout  -> 200 "bye\n"; the session is destroyed
//   every response carries X-Worker: <cluster worker id>
//
// The session options are connect-redis's documented ones (resave false,
// saveUninitialized false) and express-session's defaults otherwise: a
// logged-in GET /whoami reads the session (Redis GET) and touches it
// (Redis EXPIRE), as connect-redis does by default.
//
// With the MemoryStore each worker keeps its own sessions: a request that
// lands on the other worker than the login is answered 401. That is the
// point of the mode: express-session warns about it in production.
//
// Diagnostics go to stderr. SIGTERM or SIGINT to the primary stops the
// workers (SIGKILL after 2 s) and exits 0; a worker that exits on its own, or
// a run longer than 600 s, stops everything with exit code 1. Workers exit
// by themselves when the primary is gone (their IPC channel closes).
'use strict';
const cluster = require('node:cluster');

const HOST = '127.0.0.1';
const HARD_LIMIT_MS = 600 * 1000;

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (def === undefined) {
      console.error(`session/app.js: --${name} is required`);
      process.exit(2);
    }
    return def;
  }
  return process.argv[i + 1];
}

function intArg(name, def, max) {
  const v = Number(arg(name, def));
  if (!Number.isInteger(v) || v <= 0 || v > max) {
    console.error(`session/app.js: --${name} needs an integer in 1..${max}`);
    process.exit(2);
  }
  return v;
}

const PORT = intArg('port', undefined, 65535);
const WORKERS = intArg('workers', 2, 64);
const STORE = arg('store', process.env.SESSION_STORE || 'redis');
const REDIS_URL = arg('redis', 'redis://127.0.0.1:6379');
if (STORE !== 'redis' && STORE !== 'memory') {
  console.error('session/app.js: --store is redis or memory');
  process.exit(2);
}

if (cluster.isPrimary) {
  primary();
} else {
  worker().catch((e) => {
    console.error(`session/app.js: worker ${cluster.worker.id}: ${e.stack || e}`);
    process.exit(1);
  });
}

async function worker() {
  const express = require('express');
  const session = require('express-session');
  const id = String(cluster.worker.id);

  const options = {
    secret: 'gocluster sessions benchmark',
    resave: false,
    saveUninitialized: false,
  };
  let client = null;
  if (STORE === 'redis') {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    client = createClient({ url: REDIS_URL });
    client.on('error', (e) => console.error(`session/app.js: worker ${id}: redis: ${e.message}`));
    await client.connect();
    options.store = new RedisStore({ client });
  }

  const app = express();
  app.use((req, res, next) => {
    res.set('X-Worker', id);
    next();
  });
  app.use(session(options));

  app.post('/login', express.urlencoded({ extended: false }), (req, res, next) => {
    const user = req.body && typeof req.body.user === 'string' ? req.body.user : '';
    if (user === '') {
      res.status(400).type('text/plain').send('form field user is required\n');
      return;
    }
    // express-session's README: a new session id at login, then save
    // before answering
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      req.session.save((err) => {
        if (err) return next(err);
        res.type('text/plain').send(`hello ${user}\n`);
      });
    });
  });

  app.get('/whoami', (req, res) => {
    const user = req.session.user;
    if (!user) {
      res.status(401).type('text/plain').send('not logged in\n');
      return;
    }
    res.type('text/plain').send(`${user}\n`);
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.type('text/plain').send('bye\n');
    });
  });

  const server = app.listen(PORT, HOST);
  server.on('error', (e) => {
    console.error(`session/app.js: worker ${id}: ${e.stack || e}`);
    process.exit(1);
  });
  process.on('disconnect', () => {
    // the primary is gone or stopping us
    server.close();
    if (client) client.destroy();
    process.exit(0);
  });
}

function primary() {
  const workers = [];
  let state = 'starting'; // starting | ready | stopping
  let listening = 0;

  // Kill every worker, wait until all exited (SIGKILL after 2 s), exit code.
  function stop(code, why) {
    if (state === 'stopping') {
      for (const w of workers) {
        try { w.process.kill('SIGKILL'); } catch (_) { /* already gone */ }
      }
      return;
    }
    state = 'stopping';
    console.error(`session/app.js: ${why}, stopping workers`);
    const alive = workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
    let left = alive.length;
    const done = () => {
      clearTimeout(deadline);
      process.exit(code);
    };
    if (left === 0) return done();
    for (const w of alive) {
      w.process.once('exit', () => { if (--left === 0) done(); });
      try { w.process.kill('SIGTERM'); } catch (_) { /* already gone */ }
    }
    setTimeout(() => {
      for (const w of alive) {
        try { w.process.kill('SIGKILL'); } catch (_) { /* already gone */ }
      }
    }, 2000).unref();
    setTimeout(() => process.exit(1), 10000).unref();
  }

  const deadline = setTimeout(() => stop(1, `run exceeded ${HARD_LIMIT_MS / 1000} s`), HARD_LIMIT_MS);
  process.on('SIGTERM', () => stop(0, 'SIGTERM'));
  process.on('SIGINT', () => stop(0, 'SIGINT'));
  cluster.on('exit', (w, code, signal) => {
    if (state !== 'stopping') stop(1, `worker ${w.id} exited (code ${code}, signal ${signal})`);
  });
  cluster.on('listening', () => {
    if (++listening === WORKERS && state === 'starting') {
      state = 'ready';
      console.error(`session/app.js: ready, ${WORKERS} workers on ${HOST}:${PORT}`);
    }
  });

  const policy = cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none';
  const store = STORE === 'redis' ? `connect-redis at ${REDIS_URL}` : 'MemoryStore';
  console.error(`session/app.js: node ${process.version}, ${WORKERS} worker(s), policy ${policy}, sessions in ${store}`);
  for (let i = 0; i < WORKERS; i++) workers.push(cluster.fork());
}
