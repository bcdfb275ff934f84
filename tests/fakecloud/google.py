#!/usr/bin/env python3
"""A fake Google Cloud (OAuth2 token endpoint + Compute Engine v1) for the
google driver, on the shared fakecloud framework (see README.md): its
instances are real lab hosts, and the ssh-keys metadata is put in place on
them as Google's guest agent does (the user made with passwordless sudo,
its key authorised).

  google.py --port-file F --hosts 151-153 --project P --sa-email E --sa-pub PUB.pem
            [--refresh CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN] [--log L]

Wire format as Google's:
  POST /token    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer: the
                 JWT's RS256 signature checked with the service account's public
                 key (openssl), iss/aud/scope/iat/exp checked; or
                 grant_type=refresh_token (client id/secret + refresh token).
                 Errors {"error":"invalid_grant","error_description":...}.
  /compute/v1/projects/P/...   projects.get; instances get/insert/delete/start/
                 stop/setMetadata/setTags (fingerprints checked: 412); disks
                 get/delete; firewalls get/insert/update; addresses.get;
                 zoneOperations.get, globalOperations.get. Bearer token checked
                 (401). Errors {"error":{"code","message","errors":[{"message",
                 "domain","reason"}]}}. Operations go PENDING -> RUNNING -> DONE,
                 a failed one with error.errors[{"code","message"}].
Beyond the framework's control endpoints:
  POST /_config {"orphan_disk_on_fail": true}  a failed insert (bad image)
                 leaves its boot disk behind, as a partial failure would
  GET /_state    also "tokens_issued" and "issued" (the tokens, for the
                 tests' secret checks)
"""
import base64
import json
import re
import secrets
import subprocess
import tempfile
import threading
import time

import fakecloud
from fakecloud import Reply

SELF = "https://www.googleapis.com/compute/v1/"
SCOPE = "https://www.googleapis.com/auth/compute"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
IMAGE = re.compile(r"^projects/(ubuntu-os-cloud|debian-cloud)/global/images/(family/)?[a-z0-9-]+$")
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+$")
P = r"/compute/v1/projects/([^/]+)"
Z = P + r"/zones/([^/]+)"

# What Google's guest agent does with ssh-keys lines ("user type key").
AGENT = r'''
while read -r u t k; do
  id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  h=$(getent passwd "$u" | cut -d: -f6)
  mkdir -p "$h/.ssh"
  grep -qF "$t $k" "$h/.ssh/authorized_keys" 2>/dev/null || echo "$t $k" >> "$h/.ssh/authorized_keys"
  chmod 700 "$h/.ssh"; chmod 600 "$h/.ssh/authorized_keys"; chown -R "$u:" "$h/.ssh"
  [ "$u" = root ] || { echo "$u ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/google_$u"; chmod 0440 "/etc/sudoers.d/google_$u"; }
done
'''


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000-08:00", time.gmtime())


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def fingerprint():
    return base64.b64encode(secrets.token_bytes(8)).decode()


def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def rel(url):
    """A resource URL (any host, or partial) relative to .../compute/v1/."""
    m = re.match(r"^(https?://[^/]+/compute/v1/)?(projects/.*)$", url or "")
    return m.group(2) if m else None


class Google(fakecloud.FakeCloud):
    routes = [
        ("POST", r"/token", "token"),
        ("GET", P, "get_project"),
        ("GET", P + r"/global/operations/([^/]+)", "get_global_op"),
        ("GET", Z + r"/operations/([^/]+)", "get_zone_op"),
        ("GET", P + r"/global/firewalls/([^/]+)", "get_firewall"),
        ("POST", P + r"/global/firewalls", "insert_firewall"),
        ("PUT", P + r"/global/firewalls/([^/]+)", "update_firewall"),
        ("GET", P + r"/regions/([^/]+)/addresses/([^/]+)", "get_address"),
        ("GET", Z + r"/disks/([^/]+)", "get_disk"),
        ("DELETE", Z + r"/disks/([^/]+)", "delete_disk"),
        ("POST", Z + r"/instances", "insert"),
        ("GET", Z + r"/instances/([^/]+)", "get_instance"),
        ("DELETE", Z + r"/instances/([^/]+)", "delete_instance"),
        ("POST", Z + r"/instances/([^/]+)/(setMetadata|setTags)", "set_fingerprinted"),
        ("POST", Z + r"/instances/([^/]+)/(start|stop)", "power"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.project = args.project
        self.instances = {}   # (zone, name) -> instance (+ "_host")
        self.disks = {}       # (zone, name) -> disk
        self.firewalls = {}   # name -> firewall
        self.addresses = {}
        self.ops = {}         # name -> operation
        self.tokens = {}      # token -> expiry
        self.tokens_issued = 0
        self.orphan_disk_on_fail = False
        self.next_id = int(time.time()) % 100000 * 1000

    # ---- framework hooks ----
    def error_body(self, status, message):
        reason = {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound",
                  409: "alreadyExists", 412: "conditionNotMet", 429: "rateLimitExceeded",
                  500: "backendError", 503: "backendError"}.get(status, "error")
        return {"error": {"code": status, "message": message,
                          "errors": [{"message": message, "domain": "global", "reason": reason}]}}

    def dump_state(self):
        return {"instances": [public(i) for i in self.instances.values()],
                "disks": list(self.disks.values()),
                "firewalls": list(self.firewalls.values()),
                "tokens_issued": self.tokens_issued, "issued": list(self.tokens)}

    def control(self, req):
        if req.method == "POST" and req.path == "/_config":
            self.orphan_disk_on_fail = bool((req.json() or {}).get("orphan_disk_on_fail"))
            return 200, {"ok": True}
        return super().control(req)

    def dispatch(self, req):
        if req.path.startswith("/compute/"):
            auth = req.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else ""
            with self.lock:
                ok = self.tokens.get(tok, 0) > time.time()
            if not ok:
                body = self.error_body(401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
                body["error"]["status"] = "UNAUTHENTICATED"
                return 401, body, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        return super().dispatch(req)

    # ---- helpers ----
    def err(self, status, message):
        return Reply(status, self.error_body(status, message))

    def not_found(self, what):
        return self.err(404, "The resource '%s' was not found" % what)

    def new_id(self):
        self.next_id += 1
        return str(self.next_id * 7919)

    def check_project(self, project):
        if project != self.project:
            raise self.not_found("projects/" + project)

    def op(self, kind, target, zone, fn):
        """An operation on target; fn() runs in a thread (None or (code,
        message) on failure) and the operation is DONE when it returns."""
        name = "operation-%d-%s-%s" % (int(time.time() * 1000), secrets.token_hex(6), secrets.token_hex(4))
        op = {"kind": "compute#operation", "id": self.new_id(), "name": name,
              "operationType": kind, "targetLink": target, "targetId": self.new_id(),
              "status": "PENDING", "user": self.args.sa_email, "progress": 0,
              "insertTime": now_iso()}
        base = SELF + "projects/%s/" % self.project
        if zone:
            op["zone"] = base + "zones/" + zone
            op["selfLink"] = op["zone"] + "/operations/" + name
        else:
            op["selfLink"] = base + "global/operations/" + name
        self.ops[name] = op

        def run():
            with self.lock:
                op["status"] = "RUNNING"
                op["startTime"] = now_iso()
            try:
                failure = fn()
            except Exception as e:
                failure = ("INTERNAL_ERROR", "fake: %s" % e)
            with self.lock:
                if failure:
                    op["error"] = {"errors": [{"code": failure[0], "message": failure[1]}]}
                    op["httpErrorStatusCode"] = 404 if failure[0] == "RESOURCE_NOT_FOUND" else 400
                    op["httpErrorMessage"] = "NOT FOUND" if failure[0] == "RESOURCE_NOT_FOUND" else "BAD REQUEST"
                op["status"] = "DONE"
                op["progress"] = 100
                op["endTime"] = now_iso()
        threading.Thread(target=run, daemon=True).start()
        return 200, dict(op)

    def instance(self, project, zone, name):
        self.check_project(project)
        inst = self.instances.get((zone, name))
        if not inst:
            raise self.not_found("projects/%s/zones/%s/instances/%s" % (project, zone, name))
        return inst

    def agent(self, inst):
        """Google's guest agent: users and keys from the ssh-keys metadata."""
        n = inst.get("_host")
        if not n or inst["status"] != "RUNNING":
            return
        lines = []
        for item in inst["metadata"].get("items", []):
            if item.get("key") != "ssh-keys":
                continue
            for line in (item.get("value") or "").splitlines():
                user, _, rest = line.partition(":")
                key = " ".join(rest.split()[:2])
                if USER.match(user) and KEY.match(key):
                    lines.append("%s %s" % (user, key))
        if lines:
            p = subprocess.run([self.pool.lab, "exec", str(n), "sh", "-c", AGENT],
                               input="\n".join(lines) + "\n", capture_output=True, text=True,
                               timeout=60)
            self.log("agent on host %d: %d keys, status %d %s" % (n, len(lines), p.returncode, p.stderr[-200:]))

    # ---- OAuth2 ----
    def issue(self):
        tok = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[tok] = time.time() + 3600
            self.tokens_issued += 1
        return 200, {"access_token": tok, "expires_in": 3599, "token_type": "Bearer"}

    def verify_rs256(self, signing_input, sig):
        with tempfile.TemporaryDirectory() as d:
            with open(d + "/in", "wb") as f:
                f.write(signing_input)
            with open(d + "/sig", "wb") as f:
                f.write(sig)
            p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", self.args.sa_pub,
                                "-signature", d + "/sig", d + "/in"], capture_output=True)
            return p.returncode == 0

    def token(self, req):
        form = req.form()
        grant = form.get("grant_type", "")

        def bad(desc, code=400, err="invalid_grant"):
            return code, {"error": err, "error_description": desc}
        if grant == JWT_GRANT:
            parts = form.get("assertion", "").split(".")
            if len(parts) != 3:
                return bad("Invalid JWT format")
            try:
                header, claims, sig = json.loads(b64d(parts[0])), json.loads(b64d(parts[1])), b64d(parts[2])
            except ValueError:
                return bad("Invalid JWT format")
            if header.get("alg") != "RS256":
                return bad("Invalid JWT: alg must be RS256")
            if not self.verify_rs256((parts[0] + "." + parts[1]).encode(), sig):
                return bad("Invalid JWT Signature.")
            if claims.get("iss") != self.args.sa_email:
                return bad("Invalid grant: account not found")
            port = self.args.port_file and open(self.args.port_file).read().strip()
            if claims.get("aud") != "http://127.0.0.1:%s/token" % port:
                return bad("Invalid JWT: audience")
            t = time.time()
            iat, exp = claims.get("iat", 0), claims.get("exp", 0)
            if not (iat <= t + 60 and t < exp <= iat + 3600):
                return bad("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
            if SCOPE not in str(claims.get("scope", "")).split():
                return bad("Invalid OAuth scope or ID token audience provided.", err="invalid_scope")
            return self.issue()
        if grant == "refresh_token" and self.args.refresh:
            cid, secret, rt = self.args.refresh.split(":", 2)
            if form.get("client_id") != cid or form.get("client_secret") != secret:
                return bad("The OAuth client was not found.", 401, "invalid_client")
            if form.get("refresh_token") != rt:
                return bad("Bad Request")
            return self.issue()
        return bad("Invalid grant_type: " + grant, err="unsupported_grant_type")

    # ---- Compute ----
    def get_project(self, req, project):
        self.check_project(project)
        return 200, {"kind": "compute#project", "id": "123456789012", "name": project,
                     "selfLink": SELF + "projects/" + project}

    def get_global_op(self, req, project, name):
        self.check_project(project)
        with self.lock:
            op = self.ops.get(name)
            if not op or "zone" in op:
                raise self.not_found("projects/%s/global/operations/%s" % (project, name))
            return 200, dict(op)

    def get_zone_op(self, req, project, zone, name):
        self.check_project(project)
        with self.lock:
            op = self.ops.get(name)
            if not op or not op.get("zone", "").endswith("/zones/" + zone):
                raise self.not_found("projects/%s/zones/%s/operations/%s" % (project, zone, name))
            return 200, dict(op)

    def get_firewall(self, req, project, name):
        self.check_project(project)
        with self.lock:
            fw = self.firewalls.get(name)
            if not fw:
                raise self.not_found("projects/%s/global/firewalls/%s" % (project, name))
            return 200, fw

    def insert_firewall(self, req, project):
        self.check_project(project)
        body = req.json() or {}
        name = body.get("name", "")
        if not NAME.match(name) or not body.get("allowed"):
            raise self.err(400, "Invalid value for field 'resource.name' or 'resource.allowed'.")
        with self.lock:
            if name in self.firewalls:
                raise self.err(409, "The resource 'projects/%s/global/firewalls/%s' already exists" % (project, name))
            link = SELF + "projects/%s/global/firewalls/%s" % (project, name)
            self.firewalls[name] = dict(body, kind="compute#firewall", id=self.new_id(), selfLink=link)
            return self.op("insert", link, None, lambda: None)

    def update_firewall(self, req, project, name):
        fw = self.get_firewall(req, project, name)[1]
        body = req.json() or {}
        with self.lock:
            self.firewalls[name] = dict(body, kind="compute#firewall", id=fw["id"], selfLink=fw["selfLink"])
            return self.op("update", fw["selfLink"], None, lambda: None)

    def get_address(self, req, project, region, name):
        self.check_project(project)
        raise self.not_found("projects/%s/regions/%s/addresses/%s" % (project, region, name))

    def get_disk(self, req, project, zone, name):
        self.check_project(project)
        with self.lock:
            d = self.disks.get((zone, name))
            if not d:
                raise self.not_found("projects/%s/zones/%s/disks/%s" % (project, zone, name))
            return 200, d

    def delete_disk(self, req, project, zone, name):
        d = self.get_disk(req, project, zone, name)[1]
        with self.lock:
            if d.get("users"):
                raise self.err(400, "The disk resource '%s' is already being used by '%s'" % (d["selfLink"], d["users"][0]))

            def drop():
                with self.lock:
                    self.disks.pop((zone, name), None)
            return self.op("delete", d["selfLink"], zone, drop)

    def disk_record(self, zone, name, params, users):
        return {"kind": "compute#disk", "id": self.new_id(), "name": name, "status": "READY",
                "sizeGb": str(params.get("diskSizeGb", 10)), "sourceImage": params.get("sourceImage", ""),
                "type": params.get("diskType", ""), "zone": SELF + "projects/%s/zones/%s" % (self.project, zone),
                "selfLink": SELF + "projects/%s/zones/%s/disks/%s" % (self.project, zone, name),
                "users": users}

    def insert(self, req, project, zone):
        self.check_project(project)
        b = req.json() or {}
        name = b.get("name", "")
        if not NAME.match(name):
            raise self.err(400, "Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'" % name)
        disks = b.get("disks") or []
        if len(disks) != 1 or not disks[0].get("boot"):
            raise self.err(400, "Invalid value for field 'resource.disks'.")
        nics = b.get("networkInterfaces") or []
        if len(nics) != 1 or not rel(nics[0].get("network")):
            raise self.err(400, "Invalid value for field 'resource.networkInterfaces[0].network'.")
        if not rel(b.get("machineType")) and "/machineTypes/" not in (b.get("machineType") or ""):
            raise self.err(400, "Invalid value for field 'resource.machineType'.")
        link = SELF + "projects/%s/zones/%s/instances/%s" % (project, zone, name)
        d0 = dict(disks[0])
        params = d0.pop("initializeParams", None)
        disk_name = params.get("diskName") or name if params else (d0.get("source") or "").rsplit("/", 1)[-1]
        with self.lock:
            if (zone, name) in self.instances:
                raise self.err(409, "The resource 'projects/%s/zones/%s/instances/%s' already exists" % (project, zone, name))
            if not params and (zone, disk_name) not in self.disks:
                raise self.not_found(rel(d0.get("source")) or "disk")
            if params and (zone, disk_name) in self.disks:
                raise self.err(409, "The resource 'projects/%s/zones/%s/disks/%s' already exists" % (project, zone, disk_name))
            image = rel(params.get("sourceImage")) if params else None
            if params and (not image or not IMAGE.match(image) or "does-not-exist" in image):
                if self.orphan_disk_on_fail:
                    self.disks[(zone, disk_name)] = self.disk_record(zone, disk_name, params, [])
                return self.op("insert", link, zone, lambda: (
                    "RESOURCE_NOT_FOUND", "The resource '%s' was not found" % (image or params.get("sourceImage"))))
            n = self.pool.take()
            if n is None:
                return self.op("insert", link, zone, lambda: (
                    "ZONE_RESOURCE_POOL_EXHAUSTED", "The zone 'projects/%s/zones/%s' does not have enough resources available to fulfill the request." % (project, zone)))
            d0.update({"kind": "compute#attachedDisk", "deviceName": "persistent-disk-0", "index": 0,
                       "source": SELF + "projects/%s/zones/%s/disks/%s" % (project, zone, disk_name)})
            nic = dict(nics[0], name="nic0", kind="compute#networkInterface")
            nic["accessConfigs"] = [dict(ac, name="External NAT", kind="compute#accessConfig")
                                    for ac in nic.get("accessConfigs", [])]
            inst = {"kind": "compute#instance", "id": self.new_id(), "creationTimestamp": now_iso(),
                    "name": name, "description": b.get("description", ""),
                    "tags": dict(b.get("tags") or {}, fingerprint=fingerprint()),
                    "machineType": b.get("machineType"), "status": "PROVISIONING",
                    "zone": SELF + "projects/%s/zones/%s" % (project, zone),
                    "networkInterfaces": [nic], "disks": [d0],
                    "metadata": {"kind": "compute#metadata", "fingerprint": fingerprint()},
                    "serviceAccounts": b.get("serviceAccounts", []),
                    "scheduling": b.get("scheduling", {}), "selfLink": link, "_host": n}
            self.instances[(zone, name)] = inst
            if params:
                self.disks[(zone, disk_name)] = self.disk_record(zone, disk_name, params, [link])
            else:
                self.disks[(zone, disk_name)]["users"] = [link]

        def booted(ip, error):
            with self.lock:
                inst["_booted"] = True
                if inst.get("_deleted"):
                    # Deleted while it booted: the host goes now.
                    self.pool.release(n)
                    return
                if not ip:
                    inst["status"] = "TERMINATED"
                    return
                inst["status"] = "RUNNING"
                nic["networkIP"] = ip
                for ac in nic["accessConfigs"]:
                    ac["natIP"] = ip
            self.agent(inst)

        def staging():
            with self.lock:
                inst["status"] = "STAGING"
            self.pool.boot(n, [], booted, delay=self.ip_delay)
        return self.op("insert", link, zone, staging)

    def get_instance(self, req, project, zone, name):
        with self.lock:
            return 200, public(self.instance(project, zone, name))

    def delete_instance(self, req, project, zone, name):
        with self.lock:
            inst = self.instance(project, zone, name)
            inst["status"] = "STOPPING"

            def delete():
                with self.lock:
                    inst["_deleted"] = True
                    # A host still booting is released when its boot ends.
                    n = inst.get("_host") if inst.get("_booted") else None
                    self.instances.pop((zone, name), None)
                    for d in inst["disks"]:
                        key = (zone, d["source"].rsplit("/", 1)[1])
                        if key in self.disks:
                            self.disks[key]["users"] = []
                            if d.get("autoDelete"):
                                self.disks.pop(key, None)
                if n:
                    self.pool.release(n)
            return self.op("delete", inst["selfLink"], zone, delete)

    def set_fingerprinted(self, req, project, zone, name, action):
        field = "metadata" if action == "setMetadata" else "tags"
        body = req.json() or {}
        with self.lock:
            inst = self.instance(project, zone, name)
            if body.get("fingerprint") != inst[field].get("fingerprint"):
                raise self.err(412, "Supplied fingerprint does not match current %s fingerprint." % field)
            new = dict(body, fingerprint=fingerprint())
            if field == "metadata":
                new["kind"] = "compute#metadata"
            inst[field] = new
            return self.op(action, inst["selfLink"], zone,
                           (lambda: self.agent(inst)) if field == "metadata" else (lambda: None))

    def power(self, req, project, zone, name, action):
        with self.lock:
            inst = self.instance(project, zone, name)
            n = inst.get("_host")
            if action == "stop":
                if inst["status"] == "TERMINATED":
                    return self.op("stop", inst["selfLink"], zone, lambda: None)
                inst["status"] = "STOPPING"

                def stop():
                    time.sleep(0.3)
                    if n:
                        self.pool.power_off(n)
                    with self.lock:
                        inst["status"] = "TERMINATED"
                return self.op("stop", inst["selfLink"], zone, stop)
            if inst["status"] != "TERMINATED":
                return self.op("start", inst["selfLink"], zone, lambda: None)
            inst["status"] = "STAGING"

            def start():
                time.sleep(0.3)
                if n:
                    self.pool.power_on(n)
                with self.lock:
                    inst["status"] = "RUNNING"
            return self.op("start", inst["selfLink"], zone, start)


def extra(p):
    p.add_argument("--project", required=True)
    p.add_argument("--sa-email", required=True, help="the service account's client_email")
    p.add_argument("--sa-pub", required=True, help="its public key (PEM), to check JWTs")
    p.add_argument("--refresh", help="CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN of an authorized_user")


if __name__ == "__main__":
    fakecloud.main(Google, "fake Google Cloud (OAuth2 + Compute Engine v1)", extra)
