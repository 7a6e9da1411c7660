# Shared state, uWSGI peer: the cache2 shared-memory store, used from two
# uWSGI mules (forked by the master like workers, with the same view of the
# cache). Started by bench/state_peers.go as
#
#   uwsgi --need-plugin python3 --master --die-on-term --processes 2 \
#     --socket 127.0.0.1:0 --disable-logging \
#     --cache2 name=c,items=N+10,blocksize=128,keysize=32 \
#     --cache2 name=ctl,items=16,blocksize=1024 \
#     --mule=cache_peer.py --mule=cache_peer.py
#
# with STATE_KEYS=N (and optionally STATE_VIS_MAX, STATE_VIS_SECONDS,
# STATE_SECONDS, STATE_GET_ITERS) in the environment. The small cache "ctl"
# carries the mules' coordination and mule 2's results.
#
# Mule 1 fills N keys (key%07d, 60-byte values). Then, in this order:
#   visibility  closed loop, one set in flight: mule 1 writes key (seq*7919 % N)
#               with a value carrying time.monotonic_ns() (CLOCK_MONOTONIC, the
#               same clock in every process); mule 2 spins on cache_get of that
#               key until it holds the new value, records now - stamp and acks
#               through "ctl"; mule 1 waits for the ack before the next write.
#               Up to STATE_VIS_MAX samples or STATE_VIS_SECONDS.
#   get         mule 1 alone: ns per cache_get(k, "c") of pre-drawn random
#               existing keys, best of 3 loops of STATE_GET_ITERS reads.
#   writes/s    both mules at once, from the same CLOCK_MONOTONIC start, run
#               cache_update on pre-drawn random existing keys for
#               STATE_SECONDS; sum of both mules' rates.
#
# Mule 1 prints one JSON line with every figure (latencies in ns) to stdout,
# which uWSGI shares with its log. The mules then idle until the master stops
# them (SIGINT to the master).
import json
import os
import random
import time

import uwsgi

N = int(os.environ["STATE_KEYS"])
VIS_MAX = int(os.environ.get("STATE_VIS_MAX", "2000"))
VIS_NS = int(float(os.environ.get("STATE_VIS_SECONDS", "5")) * 1e9)
BLAST_NS = int(float(os.environ.get("STATE_SECONDS", "2")) * 1e9)
GET_ITERS = int(os.environ.get("STATE_GET_ITERS", "200000"))
WAIT_NS = 60 * 1_000_000_000  # longest wait for the other mule

C, CTL = "c", "ctl"
VALUE_LEN = 60
VAL = b"v" * VALUE_LEN
mono = time.monotonic_ns
mid = uwsgi.mule_id()
keys = ["key%07d" % i for i in range(N)]
rnd = random.Random(mid)
rkeys = [keys[rnd.randrange(N)] for _ in range(1 << 16)]  # no RNG cost in the loops


def vis_key(seq):
    return keys[(seq * 7919) % N]


def ctl_wait(name):
    """Waits for a control value from the other mule and returns it."""
    deadline = mono() + WAIT_NS
    while mono() < deadline:
        v = uwsgi.cache_get(name, CTL)
        if v is not None:
            return v
        time.sleep(0.001)
    raise SystemExit("cache_peer: mule %d: no %r from the other mule" % (mid, name))


def wait_until(t):
    while True:
        d = t - mono()
        if d <= 0:
            return
        time.sleep(min(d / 1e9, 0.01) if d > 2_000_000 else 0)


def update_loop(t_end):
    upd, n, rk, i = uwsgi.cache_update, 0, rkeys, 0
    while mono() < t_end:
        for k in rk[i:i + 4096]:
            upd(k, VAL, 0, C)
        n += 4096
        i = (i + 4096) % len(rk)
    return n


def visibility_writer():
    upd, get = uwsgi.cache_update, uwsgi.cache_get
    deadline = mono() + VIS_NS
    seq = 0
    while seq < VIS_MAX and mono() < deadline:
        seq += 1
        ack = b"%d" % seq
        upd(vis_key(seq), (b"s%d:%d:" % (seq, mono())).ljust(VALUE_LEN, b"x"), 0, C)
        give_up = mono() + WAIT_NS
        while get("ack", CTL) != ack:
            if mono() > give_up:
                raise SystemExit("cache_peer: mule 1: no ack for sample %d" % seq)
    upd(vis_key(seq + 1), b"END", 0, C)


def visibility_reader():
    get, upd = uwsgi.cache_get, uwsgi.cache_update
    lat, seq, spins = [], 0, 0
    give_up = mono() + VIS_NS + WAIT_NS
    while True:
        seq += 1
        k, prefix = vis_key(seq), b"s%d:" % seq
        while True:
            v = get(k, C)
            if v.startswith(prefix):
                now = mono()
                lat.append(now - int(v.split(b":", 2)[1]))
                upd("ack", b"%d" % seq, 0, CTL)
                break
            if v == b"END":
                return lat
            spins += 1
            if spins & 0xFFFF == 0 and mono() > give_up:
                raise SystemExit("cache_peer: mule 2: sample %d never came" % seq)


def time_gets():
    get, reps = uwsgi.cache_get, max(1, GET_ITERS // 50000)
    rk = rkeys[:50000]

    def loop():
        for _ in range(reps):
            for k in rk:
                get(k, C)

    best = None
    for _ in range(3):
        s = mono()
        loop()
        ns = (mono() - s) / (reps * len(rk))
        best = ns if best is None or ns < best else best
    return best


def pct(v, p):
    return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else 0


def main():
    version = uwsgi.version.decode() if isinstance(uwsgi.version, bytes) else str(uwsgi.version)
    res = {"peer": "uwsgi", "uwsgi": version, "keys": N,
           "pids": [uwsgi.masterpid()] + [w["pid"] for w in uwsgi.workers()]}
    if mid == 1:
        s = mono()
        for k in keys:
            uwsgi.cache_set(k, VAL, 0, C)
        res["fill_ns"] = mono() - s
        if uwsgi.cache_get(keys[-1], C) != VAL:
            raise SystemExit("cache_peer: fill failed (cache too small?)")
        uwsgi.cache_update("filled", b"1", 0, CTL)
        ctl_wait("reader")
        visibility_writer()
        res["get_ns"] = time_gets()
        t = mono() + 100_000_000
        uwsgi.cache_update("blast", b"%d" % t, 0, CTL)
    else:
        ctl_wait("filled")
        uwsgi.cache_update("reader", b"1", 0, CTL)
        lat = sorted(visibility_reader())
        t = int(ctl_wait("blast"))
    wait_until(t)
    n = update_loop(t + BLAST_NS)
    rate = n / ((mono() - t) / 1e9)
    if mid == 2:
        mine = {"vis_samples": len(lat), "vis_p50_ns": pct(lat, 50), "vis_p99_ns": pct(lat, 99),
                "rate": rate, "pid": os.getpid()}
        uwsgi.cache_update("result2", json.dumps(mine).encode(), 0, CTL)
    else:
        other = json.loads(ctl_wait("result2"))
        res.update(vis_samples=other["vis_samples"], vis_p50_ns=other["vis_p50_ns"],
                   vis_p99_ns=other["vis_p99_ns"], writes_per_s=rate + other["rate"],
                   writes_per_s_mule1=rate, writes_per_s_mule2=other["rate"])
        res["pids"] += [os.getpid(), other["pid"]]
        print(json.dumps(res), flush=True)


try:
    main()
except (Exception, SystemExit) as e:  # report once; a respawned mule would start over
    print(json.dumps({"peer": "uwsgi", "mule": mid, "error": str(e) or repr(e)}), flush=True)
while True:  # a mule whose script returns is respawned: idle until stopped
    time.sleep(3600)
