#!/usr/bin/env python3
"""A fake Docker Engine API over TLS for tests: /_ping, /info, /version.

usage: fakedockerd.py CA CERT KEY; prints the port it listens on
(127.0.0.1, port 0). Client certificates are required and verified
against CA, as dockerd --tlsverify does: a docker client gets an answer
only with a certificate and key that belong to the CA."""
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def answer(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/_ping":
            return self.answer(200, "OK", "text/plain")
        if path.endswith("/info"):
            return self.answer(200, json.dumps({
                "ID": "fake", "Name": "fake-dockerd", "ServerVersion": "24.0.0",
                "OperatingSystem": "fake", "Containers": 0, "Images": 0}))
        if path.endswith("/version"):
            return self.answer(200, json.dumps({
                "Version": "24.0.0", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                "Os": "linux", "Arch": "amd64"}))
        return self.answer(404, json.dumps({"message": "page not found"}))


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    ctx.load_verify_locations(sys.argv[1])
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
