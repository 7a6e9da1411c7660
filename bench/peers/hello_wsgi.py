# Hello-world WSGI app for the gunicorn peer of the bench's recovery and
# reload sections: like examples/hello, every reply names the worker pid.
import os


def app(environ, start_response):
    body = b"hello from gunicorn worker (pid %d)\n" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
