# A Python HTTP server (standard library only) for gocluster run: it serves
# on the socket passed as fd 3 (LISTEN_FDS), says READY=1 on NOTIFY_SOCKET,
# and drains on SIGTERM.
import http.server
import os
import signal
import socket
import socketserver
import sys
import threading

if os.environ.get("LISTEN_PID") != str(os.getpid()) or int(os.environ.get("LISTEN_FDS", "0")) < 1:
    sys.exit("hello.py: no socket passed (LISTEN_FDS/LISTEN_PID)")
worker = os.environ.get("GOCLUSTER_WORKER_ID", "?")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        greeting = os.environ.get("GREETING", "hello")
        body = f"{greeting} from python worker {worker} pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = False
    block_on_close = True


sock = socket.socket(fileno=3)
# Several workers wait on this one socket: when another took the connection
# select announced, a blocking accept would hang (and a SIGTERM with it).
sock.setblocking(False)
server = Server(sock.getsockname(), Handler, bind_and_activate=False)
server.socket = sock
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
signal.signal(signal.SIGUSR1, lambda *_: print(f"python worker {worker} got SIGUSR1", flush=True))

orphan = os.environ.get("HELLO_ORPHAN")
if orphan:
    # A process left behind: its parent (sh) exits at once.
    os.system(f"sh -c 'sleep {orphan} &'")
notify = os.environ.get("NOTIFY_SOCKET")
if notify and os.environ.get("HELLO_NO_READY") != "1":
    addr = "\0" + notify[1:] if notify.startswith("@") else notify
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1\nSTATUS=serving", addr)
print(f"python worker {worker} serving", flush=True)
server.serve_forever()
server.server_close()
print(f"python worker {worker} drained", flush=True)
