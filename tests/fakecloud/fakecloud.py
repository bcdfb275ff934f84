"""fakecloud: a small framework for local fake cloud APIs (Python 3 stdlib).

A fake is a subclass of FakeCloud with a route table; each "instance" it
boots is a real lab host (tests/lab/lab.sh up N --pubkey KEY), so the
driver under test provisions a real sshd + dockerd. See README.md.

Control endpoints (no auth, loopback only), shared by every fake:
  POST /_fault     {"path": REGEX, "method": "POST"|null, "status": 503,
                    "count": 1, "body": {...}|"text"|null,
                    "headers": {"Retry-After": "1"}, "delay": 0.0}
                   the next COUNT requests matching answer STATUS instead
  POST /_delay_ip  {"seconds": 5}   new instances wait that long for an IP
  GET  /_requests  the request log: [{"method","path","query","status",
                    "body","t"}] (control requests are not logged)
  POST /_requests/reset
  GET  /_state     the account as JSON (the subclass's dump_state())
  GET  /_hosts     lab host numbers in use
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(os.path.dirname(HERE), "lab", "lab.sh")


def parse_range(text):
    """'111-118' or '111,113,120-121' -> [111, ...]."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


class HostPool:
    """Lab hosts as instances: boot(), power_off(), power_on(), reboot(),
    release(). Every call that takes time runs in a thread and calls back."""

    def __init__(self, numbers, lab=LAB, workdir=None, log=None):
        self.free = list(numbers)
        self.used = set()
        self.booting = set()   # boots in flight
        self.doomed = set()    # released while booting: down when booted
        self.lab = lab
        self.lock = threading.Lock()
        self.workdir = workdir or tempfile.mkdtemp(prefix="fakecloud-")
        self.log = log or (lambda msg: None)

    def take(self):
        """A free host number, or None when the pool is empty."""
        with self.lock:
            if not self.free:
                return None
            n = self.free.pop(0)
            self.used.add(n)
            return n

    def _run(self, *args, timeout=180):
        p = subprocess.run([self.lab] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    def boot(self, n, pubkeys, done, delay=0.0, flavour="root"):
        """Boot host n with pubkeys (list of 'ssh-ed25519 ...' lines)
        authorized, after delay seconds; done(ip or None, error) after."""
        keyfile = os.path.join(self.workdir, "keys-%d" % n)
        with open(keyfile, "w") as f:
            f.write("".join(k.strip() + "\n" for k in pubkeys))

        with self.lock:
            self.booting.add(n)

        def run():
            end = time.time() + delay
            while time.time() < end:  # a delete ends the wait
                with self.lock:
                    if n in self.doomed:
                        break
                time.sleep(0.1)
            with self.lock:
                skip = n in self.doomed
            rc, out, err = 1, "", "instance deleted while booting"
            if not skip:
                try:
                    rc, out, err = self._run("up", n, "--flavour", flavour,
                                             "--pubkey", keyfile)
                except Exception as e:  # timeout
                    rc, out, err = 1, "", str(e)
            ip = out.splitlines()[-1] if rc == 0 and out else None
            self.log("lab up %d -> %s%s" % (n, ip, "" if ip else " " + err[-300:]))
            with self.lock:
                self.booting.discard(n)
                doomed = n in self.doomed
                self.doomed.discard(n)
            if doomed:
                self.release(n, wait=True)
                done(None, "instance deleted while booting")
            else:
                done(ip, None if ip else (err or "lab host did not boot"))

        threading.Thread(target=run, daemon=True).start()

    def _netns(self, n, updown):
        subprocess.run(["ip", "-n", "mfs-lab-%d" % n, "link", "set", "eth0", updown],
                       capture_output=True)

    def _freeze(self, n, state):
        path = "/sys/fs/cgroup/freezer/mfs-lab-%d/freezer.state" % n
        try:
            with open(path, "w") as f:
                f.write(state)
        except OSError:
            pass

    def power_off(self, n):
        """Off: the host's processes frozen and its link down."""
        self._netns(n, "down")
        self._freeze(n, "FROZEN")

    def power_on(self, n):
        self._freeze(n, "THAWED")
        self._netns(n, "up")

    def reboot(self, n, done):
        """A real reboot (lab: reboot(2) in the host's pid namespace);
        done() once sshd answers again."""
        def run():
            self.power_on(n)
            self._run("exec", n, "reboot", timeout=30)
            # Down first (at most 3 s), then up again (at most 60 s).
            for want_up, tries in ((False, 30), (True, 600)):
                for _ in range(tries):
                    rc, out, _ = self._run("status", n, timeout=10)
                    if (rc == 0 and "sshd: answering" in out) == want_up:
                        break
                    time.sleep(0.1)
            done()
        threading.Thread(target=run, daemon=True).start()

    def release(self, n, wait=False):
        """lab.sh down n (in a thread unless wait), then n is free again.
        A host still booting is downed once its boot ends."""
        with self.lock:
            if n in self.booting:
                self.doomed.add(n)
                return

        def run():
            self.power_on(n)
            self._run("down", n, timeout=120)
            self.log("lab down %d" % n)
            with self.lock:
                self.used.discard(n)
                if n not in self.free:
                    self.free.append(n)
        if wait:
            run()
        else:
            threading.Thread(target=run, daemon=True).start()

    def release_all(self):
        for n in list(self.used):
            with self.lock:
                self.booting.discard(n)
            self.release(n, wait=True)


class Fault:
    def __init__(self, spec):
        self.path = re.compile(spec.get("path", ".*"))
        self.method = spec.get("method")
        self.status = int(spec.get("status", 503))
        self.count = int(spec.get("count", 1))
        self.body = spec.get("body")
        self.headers = spec.get("headers") or {}
        self.delay = float(spec.get("delay", 0))

    def matches(self, method, path):
        return (self.count > 0 and (not self.method or self.method == method)
                and self.path.search(path) is not None)


class Reply(Exception):
    """Raise from a handler to answer an error: Reply(404, body)."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class FakeCloud:
    """Subclass and set `routes` to [(METHOD, REGEX, method_name)]. A handler
    gets (req, *regex_groups) and returns (status, body[, headers]); body
    is a dict/list (sent as JSON), a str (sent as is) or None."""

    routes = []
    content_type = "application/json; charset=utf-8"

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()   # guards the account state
        self.faults = []
        self.requests = []
        self.ip_delay = 0.0
        self.pool = HostPool(parse_range(args.hosts), lab=args.lab, log=self.log)
        self._compiled = [(m, re.compile("^" + r + "$"), h) for m, r, h in self.routes]
        self.logf = open(args.log, "a") if args.log else None

    # ---- for subclasses ----
    def dump_state(self):
        return {}

    def error_body(self, status, message):
        return {"message": message}

    def extra_headers(self, req):
        return {}

    def log(self, msg):
        if self.logf:
            self.logf.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
            self.logf.flush()

    # ---- serving ----
    def control(self, req):
        path = req.path
        if req.method == "POST" and path == "/_fault":
            with self.lock:
                self.faults.append(Fault(req.json() or {}))
            return 200, {"ok": True}
        if req.method == "POST" and path == "/_delay_ip":
            self.ip_delay = float((req.json() or {}).get("seconds", 0))
            return 200, {"ok": True}
        if req.method == "GET" and path == "/_requests":
            with self.lock:
                return 200, list(self.requests)
        if req.method == "POST" and path == "/_requests/reset":
            with self.lock:
                self.requests.clear()
            return 200, {"ok": True}
        if req.method == "GET" and path == "/_state":
            with self.lock:
                return 200, self.dump_state()
        if req.method == "GET" and path == "/_hosts":
            return 200, sorted(self.pool.used)
        return 404, {"message": "no such control endpoint"}

    def dispatch(self, req):
        if req.path.startswith("/_"):
            status, body = self.control(req)
            return status, body, {}
        with self.lock:
            fault = next((f for f in self.faults if f.matches(req.method, req.path)), None)
            if fault:
                fault.count -= 1
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            body = fault.body
            if body is None:
                body = self.error_body(fault.status, "injected fault %d" % fault.status)
            headers = dict(fault.headers)
            if fault.status == 429 and "Retry-After" not in headers:
                headers["Retry-After"] = "1"
            return fault.status, body, headers
        for method, rx, name in self._compiled:
            m = rx.match(req.path)
            if m and method == req.method:
                try:
                    out = getattr(self, name)(req, *m.groups())
                except Reply as r:
                    return r.status, r.body, r.headers
                if len(out) == 2:
                    out = out + ({},)
                return out
        for method, rx, name in self._compiled:
            if rx.match(req.path):
                return 405, self.error_body(405, "method not allowed"), {}
        return 404, self.error_body(404, "The resource you were accessing could not be found."), {}

    def serve(self):
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *a):
                cloud.log("http " + (fmt % a))

            def _handle(self):
                u = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                req = Request(self.command, u.path, parse_qs(u.query), self.headers, raw)
                req.raw_query = u.query  # as sent (signatures over it)
                try:
                    status, body, headers = cloud.dispatch(req)
                except Exception:
                    traceback.print_exc()
                    status, body, headers = 500, cloud.error_body(500, "fake crashed"), {}
                if not u.path.startswith("/_"):
                    with cloud.lock:
                        cloud.requests.append({
                            "method": req.method, "path": req.path, "query": u.query,
                            "status": status, "body": req.json(quiet=True),
                            "t": round(time.time(), 3)})
                    headers = dict(cloud.extra_headers(req), **headers)
                if body is None:
                    data = b""
                elif isinstance(body, (dict, list)):
                    data = json.dumps(body).encode()
                else:
                    data = str(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", cloud.content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, str(v))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        port = srv.server_address[1]
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, self.args.port_file)
        self.log("listening on 127.0.0.1:%d, hosts %s" % (port, self.args.hosts))

        def stop(signum, frame):
            threading.Thread(target=srv.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            srv.serve_forever(poll_interval=0.2)
        finally:
            if not self.args.keep_hosts:
                self.pool.release_all()
            self.log("stopped")


class Request:
    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.raw = raw

    def json(self, quiet=False):
        if not self.raw:
            return None
        try:
            return json.loads(self.raw)
        except ValueError:
            if quiet:
                return self.raw.decode(errors="replace")
            raise Reply(400, {"message": "request body is not JSON"})

    def form(self):
        """An application/x-www-form-urlencoded body as {key: value}."""
        return {k: v[-1] for k, v in parse_qs(self.raw.decode(), keep_blank_values=True).items()}


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port-file", required=True, help="write the port here once listening")
    p.add_argument("--hosts", required=True, help="lab host numbers, e.g. 111-118")
    p.add_argument("--lab", default=LAB, help="path of tests/lab/lab.sh")
    p.add_argument("--log", help="append the fake's own log here")
    p.add_argument("--keep-hosts", action="store_true", help="leave lab hosts up at exit")
    return p


def main(cls, description, extra_args=None):
    p = arg_parser(description)
    if extra_args:
        extra_args(p)
    args = p.parse_args()
    cls(args).serve()
    sys.exit(0)
