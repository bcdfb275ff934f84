#!/usr/bin/env python3
"""A fake DigitalOcean API v2 (the calls Docker Machine's driver makes)
whose droplets are real lab hosts. See README.md.

  digitalocean.py --port-file F --hosts 111-118 --token TOKEN [--log L]

Shapes follow DigitalOcean's API reference: Bearer auth (401
{"id":"unauthorized","message":"Unable to authenticate you"}), error bodies
{"id","message","request_id"}, RateLimit-* headers, 429 with Retry-After.
"""
import hashlib
import base64
import itertools
import time
import uuid

import fakecloud
from fakecloud import Reply

REGIONS = ["nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1"]
SIZES = {"s-1vcpu-512mb-10gb": (512, 1, 10), "s-1vcpu-1gb": (1024, 1, 25),
         "s-1vcpu-2gb": (2048, 1, 50), "s-2vcpu-2gb": (2048, 2, 60),
         "s-2vcpu-4gb": (4096, 2, 80), "s-4vcpu-8gb": (8192, 4, 160)}
IMAGES = {"ubuntu-24-04-x64": "24.04 (LTS) x64", "ubuntu-22-04-x64": "22.04 (LTS) x64",
          "ubuntu-20-04-x64": "20.04 (LTS) x64", "debian-12-x64": "12 x64"}
RATE_LIMIT = 5000


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fingerprint(public_key):
    """The MD5 fingerprint DigitalOcean shows ("aa:bb:...")."""
    try:
        blob = base64.b64decode(public_key.split()[1])
    except Exception:
        raise Reply(422, {"id": "unprocessable_entity", "message": "Key invalid type, we support 'ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', or 'ecdsa-sha2-nistp521'"})
    h = hashlib.md5(blob).hexdigest()
    return ":".join(h[i:i + 2] for i in range(0, 32, 2))


class DigitalOcean(fakecloud.FakeCloud):
    routes = [
        ("GET", r"/v2/account", "get_account"),
        ("GET", r"/v2/regions", "list_regions"),
        ("GET", r"/v2/account/keys", "list_keys"),
        ("POST", r"/v2/account/keys", "create_key"),
        ("GET", r"/v2/account/keys/([^/]+)", "get_key"),
        ("DELETE", r"/v2/account/keys/([^/]+)", "delete_key"),
        ("GET", r"/v2/droplets", "list_droplets"),
        ("POST", r"/v2/droplets", "create_droplet"),
        ("GET", r"/v2/droplets/(\d+)", "get_droplet"),
        ("DELETE", r"/v2/droplets/(\d+)", "delete_droplet"),
        ("POST", r"/v2/droplets/(\d+)/actions", "droplet_action"),
        ("GET", r"/v2/actions/(\d+)", "get_action"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.token = args.token
        self.keys = {}       # id -> key
        self.droplets = {}   # id -> droplet (the API's JSON) + "_host"
        self.actions = {}
        self.ids = itertools.count(int(time.time()) % 100000 * 100 + 1)
        self.remaining = RATE_LIMIT

    # ---- framework hooks ----
    def error_body(self, status, message):
        ids = {400: "bad_request", 401: "unauthorized", 404: "not_found",
               422: "unprocessable_entity", 429: "too_many_requests",
               500: "server_error", 503: "service_unavailable"}
        return {"id": ids.get(status, "error"), "message": message,
                "request_id": str(uuid.uuid4())}

    def extra_headers(self, req):
        with self.lock:
            self.remaining = max(self.remaining - 1, 0)
            return {"RateLimit-Limit": RATE_LIMIT, "RateLimit-Remaining": self.remaining,
                    "RateLimit-Reset": int(time.time()) + 60}

    def dump_state(self):
        return {"ssh_keys": list(self.keys.values()),
                "droplets": [self.public(d) for d in self.droplets.values()]}

    def control(self, req):
        """Also POST /_seed {"ssh_key": {...}, "droplet": {...}}: account
        content made elsewhere (a store written by Docker Machine), given
        ids kept; a seeded droplet has no lab host behind it."""
        if req.method == "POST" and req.path == "/_seed":
            b = req.json() or {}
            with self.lock:
                if b.get("ssh_key"):
                    k = dict(b["ssh_key"])
                    k.setdefault("fingerprint", fingerprint(k["public_key"]))
                    k.setdefault("name", "seeded")
                    self.keys[int(k["id"])] = k
                if b.get("droplet"):
                    d = dict(b["droplet"])
                    d.setdefault("status", "off")
                    d.setdefault("networks", {"v4": [], "v6": []})
                    d.setdefault("region", {"slug": "nyc3"})
                    d["_host"] = None
                    self.droplets[int(d["id"])] = d
            return 200, {"ok": True}
        return super().control(req)

    def dispatch(self, req):
        if not req.path.startswith("/_"):
            auth = req.headers.get("Authorization", "")
            if auth != "Bearer " + self.token:
                return 401, self.error_body(401, "Unable to authenticate you"), {}
        return super().dispatch(req)

    # ---- helpers ----
    def err(self, status, message):
        return Reply(status, self.error_body(status, message))

    def public(self, d):
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def droplet(self, did):
        d = self.droplets.get(int(did))
        if not d:
            raise self.err(404, "The resource you were accessing could not be found.")
        return d

    def page(self, name, items):
        return {name: items, "links": {}, "meta": {"total": len(items)}}

    # ---- routes ----
    def get_account(self, req):
        return 200, {"account": {"droplet_limit": len(self.pool.free) + len(self.pool.used),
                                 "email": "test@example.com", "uuid": "fake",
                                 "email_verified": True, "status": "active"}}

    def list_regions(self, req):
        regions = [{"slug": s, "name": s.upper(), "sizes": list(SIZES), "available": True,
                    "features": ["backups", "ipv6", "metadata", "monitoring"]} for s in REGIONS]
        return 200, self.page("regions", regions)

    def list_keys(self, req):
        with self.lock:
            return 200, self.page("ssh_keys", list(self.keys.values()))

    def create_key(self, req):
        body = req.json() or {}
        name, pub = body.get("name"), body.get("public_key")
        if not name or not pub:
            raise self.err(422, "Name can't be blank" if not name else "Public key can't be blank")
        fp = fingerprint(pub)
        with self.lock:
            if any(k["fingerprint"] == fp for k in self.keys.values()):
                raise self.err(422, "SSH Key is already in use on your account")
            key = {"id": next(self.ids), "fingerprint": fp, "public_key": pub, "name": name}
            self.keys[key["id"]] = key
        return 201, {"ssh_key": key}

    def find_key(self, ident):
        for k in self.keys.values():
            if str(k["id"]) == ident or k["fingerprint"] == ident:
                return k
        raise self.err(404, "The resource you were accessing could not be found.")

    def get_key(self, req, ident):
        with self.lock:
            return 200, {"ssh_key": self.find_key(ident)}

    def delete_key(self, req, ident):
        with self.lock:
            del self.keys[self.find_key(ident)["id"]]
        return 204, None

    def list_droplets(self, req):
        with self.lock:
            return 200, self.page("droplets", [self.public(d) for d in self.droplets.values()])

    def create_droplet(self, req):
        b = req.json() or {}
        for f in ("name", "region", "size", "image"):
            if not b.get(f):
                raise self.err(422, "%s is required" % f.capitalize())
        if b["region"] not in REGIONS:
            raise self.err(422, "You specified an invalid region for Droplet creation.")
        if b["size"] not in SIZES:
            raise self.err(422, "You specified an invalid size for Droplet creation.")
        if b["image"] not in IMAGES:
            raise self.err(422, "You specified an invalid image for Droplet creation.")
        with self.lock:
            keys = []
            for ref in b.get("ssh_keys") or []:
                keys.append(self.find_key(str(ref))["public_key"])
            n = self.pool.take()
            if n is None:
                raise self.err(422, "You have reached the droplet limit of your account.")
            mem, vcpus, disk = SIZES[b["size"]]
            did = next(self.ids)
            d = {"id": did, "name": b["name"], "memory": mem, "vcpus": vcpus, "disk": disk,
                 "locked": False, "status": "new", "kernel": None, "created_at": now_iso(),
                 "features": [f for f in ("ipv6", "backups", "private_networking", "monitoring") if b.get(f)],
                 "backup_ids": [], "next_backup_window": None, "snapshot_ids": [],
                 "image": {"slug": b["image"], "distribution": "Ubuntu", "name": IMAGES[b["image"]]},
                 "volume_ids": [], "size": {"slug": b["size"]}, "size_slug": b["size"],
                 "networks": {"v4": [], "v6": []},
                 "region": {"slug": b["region"], "name": b["region"].upper(), "available": True},
                 "tags": b.get("tags") or [], "_host": n}
            self.droplets[did] = d
            action = self.new_action("create", did, b["region"])

        def booted(ip, error):
            with self.lock:
                if did not in self.droplets:
                    return
                if not ip:
                    d["status"] = "errored"
                    action["status"] = "errored"
                    return
                d["networks"]["v4"] = [
                    {"ip_address": ip, "netmask": "255.255.255.252", "gateway": ip.rsplit(".", 1)[0] + ".1", "type": "public"}]
                if b.get("private_networking"):
                    d["networks"]["v4"].append({"ip_address": "10.10.0.%d" % (n % 250 + 2), "netmask": "255.255.0.0", "gateway": "10.10.0.1", "type": "private"})
                d["status"] = "active"
                self.finish_action(action)

        self.pool.boot(n, keys, booted, delay=self.ip_delay)
        return 202, {"droplet": self.public(d),
                     "links": {"actions": [{"id": action["id"], "rel": "create",
                                            "href": "/v2/actions/%d" % action["id"]}]}}

    def get_droplet(self, req, did):
        with self.lock:
            return 200, {"droplet": self.public(self.droplet(did))}

    def delete_droplet(self, req, did):
        with self.lock:
            d = self.droplet(did)
            del self.droplets[d["id"]]
        if d["_host"] is not None:
            self.pool.release(d["_host"])
        return 204, None

    def new_action(self, kind, did, region):
        a = {"id": next(self.ids), "status": "in-progress", "type": kind,
             "started_at": now_iso(), "completed_at": None, "resource_id": did,
             "resource_type": "droplet", "region_slug": region}
        self.actions[a["id"]] = a
        return a

    def finish_action(self, a):
        a["status"] = "completed"
        a["completed_at"] = now_iso()

    def droplet_action(self, req, did):
        kind = (req.json() or {}).get("type")
        with self.lock:
            d = self.droplet(did)
            if kind not in ("power_on", "power_off", "shutdown", "reboot", "power_cycle"):
                raise self.err(422, "Type is invalid")
            if d["status"] == "new":
                raise self.err(422, "Droplet is currently being created")
            if kind == "power_on" and d["status"] == "active":
                raise self.err(422, "Droplet is already powered on.")
            if kind in ("power_off", "shutdown") and d["status"] == "off":
                raise self.err(422, "Droplet is already powered off.")
            a = self.new_action(kind, d["id"], d["region"]["slug"])
            n = d["_host"]

        def settle(status):
            with self.lock:
                d["status"] = status
                self.finish_action(a)

        if n is None:  # seeded: nothing behind it
            settle("off" if kind in ("power_off", "shutdown") else "active")
            return 201, {"action": a}

        if kind in ("power_off", "shutdown"):
            # A shutdown takes a moment; power_off is immediate.
            def off():
                if kind == "shutdown":
                    time.sleep(0.5)
                self.pool.power_off(n)
                settle("off")
            fakecloud.threading.Thread(target=off, daemon=True).start()
        elif kind == "power_on":
            def on():
                self.pool.power_on(n)
                settle("active")
            fakecloud.threading.Thread(target=on, daemon=True).start()
        else:  # reboot, power_cycle
            self.pool.reboot(n, lambda: settle("active"))
        return 201, {"action": a}

    def get_action(self, req, aid):
        with self.lock:
            a = self.actions.get(int(aid))
            if not a:
                raise self.err(404, "The resource you were accessing could not be found.")
            return 200, {"action": a}


if __name__ == "__main__":
    fakecloud.main(DigitalOcean, "fake DigitalOcean API v2",
                   lambda p: p.add_argument("--token", required=True, help="the valid bearer token"))
