#!/usr/bin/env python3
"""A fake Exoscale API v2 (the calls machinefs's exoscale driver makes)
whose instances are real lab hosts.

  exoscale.py --port-file F --hosts 24-26 --key EXO... --secret S [--log L]

Endpoint: http://127.0.0.1:PORT/v2. Every request must carry
"Authorization: EXO2-HMAC-SHA256 credential=KEY[,signed-query-args=A;B],
expires=T,signature=SIG", SIG = base64(HMAC-SHA256(secret, "METHOD PATH\\n
BODY\\nVALUES\\n\\nT")) recomputed here byte for byte from the raw request
(403 {"message": ...} otherwise, or when expired). Errors are
{"message": "..."} with 400/403/404/409/500. Mutations answer an operation
{"id","state":"pending"|"success"|"failure","reference":{"id",...}}, which
GET /v2/operation/ID reports; it succeeds a moment later.
Also POST /_seed {"ssh_key": {"name"}, "instance": {"id","name","state"}}.
"""
import base64
import hashlib
import hmac
import threading
import time
import uuid

import fakecloud
from fakecloud import Reply

V2 = r"/v2/"
ZONES = ["ch-gva-2", "ch-dk-2", "de-fra-1", "de-muc-1", "at-vie-1", "at-vie-2", "bg-sof-1"]
TEMPLATES = [
    {"id": "a1b2c3d4-0000-4000-8000-000000002404", "name": "Linux Ubuntu 24.04 LTS 64-bit",
     "default-user": "root", "size": 10737418240, "family": "ubuntu"},
    {"id": "a1b2c3d4-0000-4000-8000-000000002204", "name": "Linux Ubuntu 22.04 LTS 64-bit",
     "default-user": "root", "size": 10737418240, "family": "ubuntu"},
    {"id": "a1b2c3d4-0000-4000-8000-000000001200", "name": "Linux Debian 12 (Bookworm) 64-bit",
     "default-user": "root", "size": 10737418240, "family": "debian"},
]
TYPES = [{"id": "b0000000-0000-4000-8000-%012d" % i, "family": "standard", "size": s,
          "cpus": c, "memory": m, "authorized": True}
         for i, (s, c, m) in enumerate([("micro", 1, 512 << 20), ("tiny", 1, 1 << 30),
                                        ("small", 2, 2 << 30), ("medium", 2, 4 << 30),
                                        ("large", 4, 8 << 30)])]


def exo2_message(method, path, query, body, expires):
    params = {}
    counts = {}
    for part in (query or "").split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        counts[k] = counts.get(k, 0) + 1
        params[k] = v
    names = sorted(k for k in params if counts[k] == 1)
    msg = b"%s %s\n" % (method.encode(), path.encode()) + body + b"\n" + \
        "".join(params[k] for k in names).encode() + b"\n\n" + str(expires).encode()
    return msg, names


class Exoscale(fakecloud.FakeCloud):
    routes = [
        ("GET", V2 + r"zone", "list_zones"),
        ("GET", V2 + r"template", "list_templates"),
        ("GET", V2 + r"instance-type", "list_types"),
        ("GET", V2 + r"operation/([\w-]+)", "get_operation"),
        ("GET", V2 + r"security-group", "list_sgs"),
        ("POST", V2 + r"security-group", "create_sg"),
        ("GET", V2 + r"security-group/([\w-]+)", "get_sg"),
        ("DELETE", V2 + r"security-group/([\w-]+)", "delete_sg"),
        ("POST", V2 + r"security-group/([\w-]+)/rules", "add_rule"),
        ("GET", V2 + r"anti-affinity-group", "list_ags"),
        ("POST", V2 + r"anti-affinity-group", "create_ag"),
        ("DELETE", V2 + r"anti-affinity-group/([\w-]+)", "delete_ag"),
        ("GET", V2 + r"ssh-key", "list_keys"),
        ("POST", V2 + r"ssh-key", "create_key"),
        ("DELETE", V2 + r"ssh-key/([\w.-]+)", "delete_key"),
        ("GET", V2 + r"instance", "list_instances"),
        ("POST", V2 + r"instance", "create_instance"),
        ("GET", V2 + r"instance/([\w-]+)", "get_instance"),
        ("DELETE", V2 + r"instance/([\w-]+)", "delete_instance"),
        ("PUT", V2 + r"instance/([\w-]+):(start|stop|reboot)", "instance_action"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.key = args.key
        self.secret = args.secret.encode()
        self.sgs, self.ags, self.keys, self.instances, self.ops = {}, {}, {}, {}, {}

    def error_body(self, status, message):
        return {"message": message}

    def err(self, status, message):
        return Reply(status, {"message": message})

    def dump_state(self):
        return {"security_groups": list(self.sgs.values()),
                "anti_affinity_groups": list(self.ags.values()),
                "ssh_keys": list(self.keys.values()),
                "instances": [self.public(i) for i in self.instances.values()]}

    def public(self, i):
        return {k: v for k, v in i.items() if not k.startswith("_")}

    def control(self, req):
        if req.method == "POST" and req.path == "/_seed":
            b = req.json() or {}
            with self.lock:
                if b.get("ssh_key"):
                    k = dict(b["ssh_key"])
                    k.setdefault("fingerprint", "00:11")
                    self.keys[k["name"]] = k
                if b.get("instance"):
                    i = dict(b["instance"])
                    i.setdefault("state", "stopped")
                    i["_host"] = None
                    self.instances[i["id"]] = i
            return 200, {"ok": True}
        return super().control(req)

    # ---- auth: EXO2-HMAC-SHA256, byte for byte ----
    def check_auth(self, req):
        h = req.headers.get("Authorization", "")
        if not h.startswith("EXO2-HMAC-SHA256 "):
            return "missing or malformed Authorization header"
        fields = {}
        for part in h[len("EXO2-HMAC-SHA256 "):].split(","):
            k, _, v = part.partition("=")
            fields[k] = v
        if fields.get("credential") != self.key:
            return "Invalid API key"
        try:
            expires = int(fields.get("expires", ""))
        except ValueError:
            return "invalid expiration"
        if expires < time.time():
            return "request expired"
        msg, names = exo2_message(req.method, req.path, getattr(req, "raw_query", ""), req.raw, expires)
        if ";".join(names) != fields.get("signed-query-args", ""):
            return "signed-query-args mismatch"
        want = base64.b64encode(hmac.new(self.secret, msg, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, fields.get("signature", "")):
            return "Invalid request signature"
        return None

    def dispatch(self, req):
        if not req.path.startswith("/_"):
            why = self.check_auth(req)
            if why:
                return 403, {"message": why}, {}
        return super().dispatch(req)

    # ---- operations ----
    def op(self, ref_id, kind, then=None, delay=0.2, fail=None):
        oid = str(uuid.uuid4())
        o = {"id": oid, "state": "pending",
             "reference": {"id": ref_id, "link": "/v2/%s/%s" % (kind, ref_id), "command": kind}}
        self.ops[oid] = o

        def run():
            time.sleep(delay)
            err = None
            if then:
                try:
                    err = then()
                except Exception as e:  # noqa
                    err = str(e)
            with self.lock:
                if err or fail:
                    o["state"] = "failure"
                    o["reason"] = "incorrect"
                    o["message"] = err or fail
                else:
                    o["state"] = "success"
        threading.Thread(target=run, daemon=True).start()
        return 200, dict(o)

    def get_operation(self, req, oid):
        with self.lock:
            o = self.ops.get(oid)
            if not o:
                raise self.err(404, "Operation not found")
            return 200, dict(o)

    # ---- catalog ----
    def list_zones(self, req):
        return 200, {"zones": [{"name": z, "api-endpoint": "https://api-%s.exoscale.com/v2" % z}
                               for z in ZONES]}

    def list_templates(self, req):
        return 200, {"templates": TEMPLATES}

    def list_types(self, req):
        return 200, {"instance-types": TYPES}

    # ---- security groups ----
    def list_sgs(self, req):
        with self.lock:
            return 200, {"security-groups": list(self.sgs.values())}

    def create_sg(self, req):
        b = req.json() or {}
        name = b.get("name")
        if not name:
            raise self.err(400, "name: required")
        with self.lock:
            if any(s["name"] == name for s in self.sgs.values()):
                raise self.err(409, "A security group with name %s already exists" % name)
            sid = str(uuid.uuid4())
            self.sgs[sid] = {"id": sid, "name": name, "description": b.get("description", ""),
                             "rules": []}
            return self.op(sid, "security-group")

    def get_sg(self, req, sid):
        with self.lock:
            if sid not in self.sgs:
                raise self.err(404, "Security group not found")
            return 200, self.sgs[sid]

    def add_rule(self, req, sid):
        b = req.json() or {}
        with self.lock:
            sg = self.sgs.get(sid)
            if not sg:
                raise self.err(404, "Security group not found")
            if b.get("flow-direction") not in ("ingress", "egress") or \
                    b.get("protocol") not in ("tcp", "udp", "icmp", "icmpv6", "esp", "gre", "ah", "ipip"):
                raise self.err(400, "invalid rule")
            r = dict(b, id=str(uuid.uuid4()))
            sg["rules"].append(r)
            return self.op(sid, "security-group")

    def delete_sg(self, req, sid):
        with self.lock:
            if sid not in self.sgs:
                raise self.err(404, "Security group not found")
            if any(sid in [g["id"] for g in i.get("security-groups", [])] for i in self.instances.values()):
                raise self.err(409, "Security group is in use")
            del self.sgs[sid]
            return self.op(sid, "security-group")

    # ---- anti-affinity groups ----
    def list_ags(self, req):
        with self.lock:
            return 200, {"anti-affinity-groups": list(self.ags.values())}

    def create_ag(self, req):
        b = req.json() or {}
        with self.lock:
            aid = str(uuid.uuid4())
            self.ags[aid] = {"id": aid, "name": b.get("name"), "description": b.get("description", "")}
            return self.op(aid, "anti-affinity-group")

    def delete_ag(self, req, aid):
        with self.lock:
            if aid not in self.ags:
                raise self.err(404, "Anti-affinity group not found")
            if any(aid in [g["id"] for g in i.get("anti-affinity-groups", [])] for i in self.instances.values()):
                raise self.err(409, "Anti-affinity group is in use")
            del self.ags[aid]
            return self.op(aid, "anti-affinity-group")

    # ---- ssh keys ----
    def list_keys(self, req):
        with self.lock:
            return 200, {"ssh-keys": [{"name": k["name"], "fingerprint": k["fingerprint"]}
                                      for k in self.keys.values()]}

    def create_key(self, req):
        b = req.json() or {}
        name, pub = b.get("name"), b.get("public-key") or ""
        if not name or not pub.startswith(("ssh-ed25519 ", "ssh-rsa ", "ecdsa-")):
            raise self.err(400, "invalid public key")
        with self.lock:
            if name in self.keys:
                raise self.err(409, "An SSH key with name %s already exists" % name)
            self.keys[name] = {"name": name, "fingerprint": hashlib.md5(pub.encode()).hexdigest(),
                               "_pub": pub}
            return self.op(name, "ssh-key")

    def delete_key(self, req, name):
        with self.lock:
            if name not in self.keys:
                raise self.err(404, "SSH key not found")
            del self.keys[name]
            return self.op(name, "ssh-key")

    # ---- instances ----
    def list_instances(self, req):
        with self.lock:
            return 200, {"instances": [self.public(i) for i in self.instances.values()]}

    def create_instance(self, req):
        b = req.json() or {}
        tid = (b.get("template") or {}).get("id")
        if tid not in [t["id"] for t in TEMPLATES]:
            raise self.err(400, "template: not found")
        if (b.get("instance-type") or {}).get("id") not in [t["id"] for t in TYPES]:
            raise self.err(400, "instance-type: not found")
        if not isinstance(b.get("disk-size"), int) or not 10 <= b["disk-size"] <= 51200:
            raise self.err(400, "disk-size: must be between 10 and 51200")
        with self.lock:
            kname = (b.get("ssh-key") or {}).get("name")
            if kname and kname not in self.keys:
                raise self.err(404, "SSH key %s not found" % kname)
            for g in b.get("security-groups") or []:
                if g.get("id") not in self.sgs:
                    raise self.err(404, "Security group not found")
            for g in b.get("anti-affinity-groups") or []:
                if g.get("id") not in self.ags:
                    raise self.err(404, "Anti-affinity group not found")
            n = self.pool.take()
            if n is None:
                raise self.err(403, "Limit exceeded for resource type: instance")
            iid = str(uuid.uuid4())
            i = {"id": iid, "name": b.get("name"), "state": "starting", "public-ip": None,
                 "template": {"id": tid}, "instance-type": b["instance-type"],
                 "disk-size": b["disk-size"], "ssh-key": {"name": kname} if kname else None,
                 "security-groups": b.get("security-groups") or [],
                 "anti-affinity-groups": b.get("anti-affinity-groups") or [],
                 "created-at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "_host": n}
            self.instances[iid] = i
            pubs = [self.keys[kname]["_pub"]] if kname else []

        def booted(ip, error):
            with self.lock:
                if iid not in self.instances:
                    return
                if not ip:
                    i["state"] = "error"
                    return
                i["public-ip"] = ip
                i["state"] = "running"

        self.pool.boot(n, pubs, booted, delay=self.ip_delay)
        return self.op(iid, "instance")

    def inst(self, iid):
        i = self.instances.get(iid)
        if not i:
            raise self.err(404, "Instance not found")
        return i

    def get_instance(self, req, iid):
        with self.lock:
            return 200, self.public(self.inst(iid))

    def delete_instance(self, req, iid):
        with self.lock:
            i = self.inst(iid)
            i["state"] = "destroying"

        def gone():
            with self.lock:
                self.instances.pop(iid, None)
            if i["_host"] is not None:
                self.pool.release(i["_host"])
        with self.lock:
            return self.op(iid, "instance", then=gone)

    def instance_action(self, req, iid, action):
        with self.lock:
            i = self.inst(iid)
            if i["state"] in ("starting", "destroying"):
                raise self.err(409, "Instance is %s" % i["state"])
            if action == "start" and i["state"] == "running":
                raise self.err(400, "Instance is already running")
            if action == "stop" and i["state"] == "stopped":
                raise self.err(400, "Instance is already stopped")
            n = i["_host"]
            i["state"] = {"start": "starting", "stop": "stopping", "reboot": "rebooting"}[action]

        def settle(state):
            with self.lock:
                i["state"] = state

        def then():
            if n is None:
                settle("stopped" if action == "stop" else "running")
            elif action == "stop":
                self.pool.power_off(n)
                settle("stopped")
            elif action == "start":
                self.pool.power_on(n)
                settle("running")
            else:
                done = threading.Event()
                self.pool.reboot(n, done.set)
                done.wait(120)
                settle("running")
        with self.lock:
            return self.op(iid, "instance", then=then)


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--key", required=True)
        p.add_argument("--secret", required=True)
    fakecloud.main(Exoscale, "fake Exoscale API v2", extra)
