#!/usr/bin/env python3
"""A local HTTPS receiver of Bugsnag notify requests, for the crash report
tests: every POST is kept as DIR/req-N.json ({"headers": {...}, "body":
...}); DIR/answered-N appears once its answer went out. A file DIR/delay
holding seconds makes the next answers wait that long first (the request
is kept before the wait). Listens on 127.0.0.1, port 0; the port goes to
DIR/port.

usage: bugsnag_receiver.py DIR CERT KEY
"""
import http.server
import json
import os
import ssl
import sys
import threading
import time

OUT, CERT, KEY = sys.argv[1:4]
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count += 1
            n = count
        rec = {"path": self.path, "headers": {k: v for k, v in self.headers.items()},
               "body": json.loads(body)}
        tmp = os.path.join(OUT, ".req-%d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(OUT, "req-%d.json" % n))
        try:
            with open(os.path.join(OUT, "delay")) as f:
                time.sleep(float(f.read().strip() or 0))
        except FileNotFoundError:
            pass
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")
        open(os.path.join(OUT, "answered-%d" % n), "w").close()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(os.path.join(OUT, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(OUT, "port.tmp"), os.path.join(OUT, "port"))
srv.serve_forever()
