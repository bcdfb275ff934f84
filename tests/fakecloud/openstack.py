#!/usr/bin/env python3
"""A fake OpenStack (Keystone v2.0 and v3, Nova, Neutron) and Rackspace
Identity, the calls Docker Machine's openstack and rackspace drivers make,
whose servers are real lab hosts. See README.md.

  openstack.py --port-file F --hosts 11-14 --user U --password P
               [--project NAME] [--domain Default] [--api-key K]
               [--token-ttl S] [--log L]

Layout on one port: /identity (versions document, 300), /identity/v2.0,
/identity/v3, /compute/v2.1/PROJECT_ID/..., /network/v2.0/...
Errors as the services answer them: Keystone {"error": {"code", "title",
"message"}}, Nova {"itemNotFound"|"badRequest"|"conflictingRequest"|
"forbidden"|"computeFault": {"code", "message"}}, Neutron {"NeutronError":
{"type", "message", "detail"}}. Every service call needs a live
X-Auth-Token (else 401); POST /_expire_tokens ends every token (re-auth).
A server is BUILD until its lab host answers SSH, then ACTIVE with the lab
address as its fixed address (and accessIPv4); a floating IP attached to it
takes the lab address (the fixed one becomes 192.168.0.N), so the machine
is reachable through it. os-stop freezes the host (SHUTOFF), os-start thaws
it, reboot really reboots it.
"""
import itertools
import time
import uuid

import fakecloud
from fakecloud import Reply

FLAVORS = [("1", "m1.tiny", 512, 1, 1), ("2", "m1.small", 2048, 1, 20),
           ("3", "m1.medium", 4096, 2, 40), ("general1-1", "1 GB General Purpose v1", 1024, 1, 20)]
IMAGES = [("1c3c59b8-5d7e-4f5b-9d39-8e7e1b1b2400", "Ubuntu 24.04"),
          ("821ba5f4-712d-4ec8-9c65-a3fa4bc500f9", "Ubuntu 16.04 LTS (Xenial Xerus) (PVHVM)"),
          ("5b0c3c1e-0000-4000-8000-00000000d12a", "Debian 12")]
NET_PRIVATE = "6e8b2a4c-1f1d-4a58-9a53-0d1c3b5c7a01"
NET_PUBLIC = "a1b2c3d4-0000-4000-8000-0000000000e1"
DOMAIN_ID = "default"
NOVA_ERR = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest",
            413: "overLimit", 429: "overLimit", 500: "computeFault", 503: "serviceUnavailable"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class OpenStack(fakecloud.FakeCloud):
    routes = [
        ("GET", r"/identity/?", "versions"),
        ("POST", r"/identity/v2\.0/tokens", "v2_tokens"),
        ("POST", r"/identity/v3/auth/tokens", "v3_tokens"),
        ("GET", r"/identity/v2\.0/tenants", "v2_tenants"),
        ("GET", r"/compute/v2\.1/([^/]+)/flavors/detail", "flavors"),
        ("GET", r"/compute/v2\.1/([^/]+)/images/detail", "images"),
        ("GET", r"/compute/v2\.1/([^/]+)/os-keypairs", "list_keypairs"),
        ("POST", r"/compute/v2\.1/([^/]+)/os-keypairs", "create_keypair"),
        ("GET", r"/compute/v2\.1/([^/]+)/os-keypairs/([^/]+)", "get_keypair"),
        ("DELETE", r"/compute/v2\.1/([^/]+)/os-keypairs/([^/]+)", "delete_keypair"),
        ("GET", r"/compute/v2\.1/([^/]+)/servers(?:/detail)?", "list_servers"),
        ("POST", r"/compute/v2\.1/([^/]+)/servers", "create_server"),
        ("GET", r"/compute/v2\.1/([^/]+)/servers/([^/]+)", "get_server"),
        ("DELETE", r"/compute/v2\.1/([^/]+)/servers/([^/]+)", "delete_server"),
        ("POST", r"/compute/v2\.1/([^/]+)/servers/([^/]+)/action", "server_action"),
        ("GET", r"/compute/v2\.1/([^/]+)/os-floating-ips", "nova_list_fips"),
        ("POST", r"/compute/v2\.1/([^/]+)/os-floating-ips", "nova_create_fip"),
        ("DELETE", r"/compute/v2\.1/([^/]+)/os-floating-ips/([^/]+)", "nova_delete_fip"),
        ("GET", r"/network/v2\.0/networks", "networks"),
        ("GET", r"/network/v2\.0/ports", "list_ports"),
        ("GET", r"/network/v2\.0/floatingips", "list_fips"),
        ("POST", r"/network/v2\.0/floatingips", "create_fip"),
        ("PUT", r"/network/v2\.0/floatingips/([^/]+)", "update_fip"),
        ("DELETE", r"/network/v2\.0/floatingips/([^/]+)", "delete_fip"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.project_id = args.project_id or uuid.uuid4().hex
        self.user_id = uuid.uuid4().hex
        self.tokens = {}      # token -> expiry
        self.keypairs = {}    # name -> keypair
        self.servers = {}     # id -> server (+ "_host", "_ip")
        self.fips = {}        # id -> {"id", "ip", "pool", "server", "nova"}
        self.ports = {}       # id -> port
        self.fipn = itertools.count(10)
        self.nova_fip_ids = itertools.count(1)

    # ---- framework hooks ----
    def error_body(self, status, message):
        return {NOVA_ERR.get(status, "computeFault"): {"code": status, "message": message}}

    def dump_state(self):
        return {"keypairs": list(self.keypairs.values()),
                "servers": [self.public(s) for s in self.servers.values()],
                "floating_ips": list(self.fips.values()),
                "tokens": len(self.tokens)}

    def control(self, req):
        if req.method == "POST" and req.path == "/_expire_tokens":
            with self.lock:
                self.tokens.clear()
            return 200, {"ok": True}
        if req.method == "POST" and req.path == "/_seed":
            b = req.json() or {}
            with self.lock:
                if b.get("keypair"):
                    k = dict(b["keypair"])
                    self.keypairs[k["name"]] = {"name": k["name"], "public_key": k.get("public_key", ""),
                                                "fingerprint": "00:00", "user_id": self.user_id}
                if b.get("server"):
                    s = dict(b["server"])
                    srv = self.new_server(s["id"], s.get("name", "seeded"), "2", IMAGES[0][0],
                                          s.get("key_name", ""), None)
                    srv["status"] = s.get("status", "SHUTOFF")
                    self.servers[s["id"]] = srv
            return 200, {"ok": True}
        if req.method == "GET" and req.path == "/_project":
            return 200, {"id": self.project_id}
        return super().control(req)

    def dispatch(self, req):
        p = req.path
        if not p.startswith("/_") and not p.startswith("/identity"):
            tok = req.headers.get("X-Auth-Token", "")
            with self.lock:
                live = self.tokens.get(tok, 0) > time.time()
            if not live:
                return 401, {"error": {"code": 401, "title": "Unauthorized",
                                       "message": "The request you have made requires authentication."}}, {}
            m = fakecloud.re.match(r"/compute/v2\.1/([^/]+)/", p)
            if m and m.group(1) != self.project_id:
                return 403, self.error_body(403, "Policy doesn't allow this operation to be performed."), {}
        return super().dispatch(req)

    # ---- identity ----
    def base(self, req):
        return "http://%s" % req.headers.get("Host", "127.0.0.1")

    def versions(self, req):
        b = self.base(req)
        return 300, {"versions": {"values": [
            {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
             "links": [{"rel": "self", "href": b + "/identity/v3/"}],
             "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]},
            {"id": "v2.0", "status": "deprecated", "updated": "2016-08-04T00:00:00Z",
             "links": [{"rel": "self", "href": b + "/identity/v2.0/"}],
             "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}]}]}}

    def unauthorized(self, msg="The request you have made requires authentication."):
        return Reply(401, {"error": {"code": 401, "title": "Unauthorized", "message": msg}})

    def new_token(self):
        tok = "gAAAAA" + uuid.uuid4().hex + uuid.uuid4().hex
        exp = time.time() + self.args.token_ttl
        with self.lock:
            self.tokens[tok] = exp
        return tok, exp

    def catalog(self, req, v3):
        b = self.base(req)
        region = self.args.region
        svcs = [("compute", "nova", b + "/compute/v2.1/" + self.project_id),
                ("network", "neutron", b + "/network"),
                ("identity", "keystone", b + "/identity/v3" if v3 else b + "/identity/v2.0")]
        out = []
        for typ, name, url in svcs:
            if v3:
                eps = [{"id": uuid.uuid4().hex, "interface": i, "region": region, "region_id": region,
                        "url": url if i != "admin" else url.replace("127.0.0.1", "127.0.0.2")}
                       for i in ("public", "internal", "admin")]
            else:
                eps = [{"region": region, "publicURL": url, "internalURL": url,
                        "adminURL": url.replace("127.0.0.1", "127.0.0.2"), "tenantId": self.project_id}]
            # Another region (after ours: with no region set, the first
            # endpoint of the type is taken).
            if v3:
                eps.append({"id": "x", "interface": "public", "region": "Elsewhere",
                               "region_id": "Elsewhere", "url": "http://127.0.0.1:9/nowhere"})
            else:
                eps.append({"region": "Elsewhere", "publicURL": "http://127.0.0.1:9/nowhere"})
            out.append({"type": typ, "name": name, "endpoints": eps})
        return out

    def v2_tokens(self, req):
        a = (req.json() or {}).get("auth") or {}
        rax = a.get("RAX-KSKEY:apiKeyCredentials")
        if rax is not None:
            if not self.args.api_key or rax.get("username") != self.args.user or rax.get("apiKey") != self.args.api_key:
                raise self.unauthorized("Username or api key is invalid.")
        else:
            pc = a.get("passwordCredentials") or {}
            if pc.get("username") != self.args.user or pc.get("password") != self.args.password:
                raise self.unauthorized("Invalid user / password")
            if a.get("tenantId", self.project_id) != self.project_id or \
                    a.get("tenantName", self.args.project) != self.args.project:
                raise self.unauthorized("Invalid tenant")
        tok, exp = self.new_token()
        return 200, {"access": {
            "token": {"id": tok, "expires": iso(exp), "issued_at": iso(time.time()),
                      "tenant": {"id": self.project_id, "name": self.args.project, "enabled": True}},
            "serviceCatalog": self.catalog(req, False),
            "user": {"id": self.user_id, "name": self.args.user, "roles": [{"name": "member"}]}}}

    def v3_tokens(self, req):
        a = (req.json() or {}).get("auth") or {}
        ident = a.get("identity") or {}
        if "password" not in (ident.get("methods") or []):
            raise Reply(400, {"error": {"code": 400, "title": "Bad Request", "message": "Expecting to find methods in identity."}})
        u = (ident.get("password") or {}).get("user") or {}
        d = u.get("domain") or {}
        dom_ok = d.get("id") == DOMAIN_ID or d.get("name") == self.args.domain or u.get("id") == self.user_id
        if not dom_ok or u.get("name") != self.args.user or u.get("password") != self.args.password:
            raise self.unauthorized()
        proj = ((a.get("scope") or {}).get("project")) or {}
        pd = proj.get("domain") or {}
        if proj.get("id"):
            ok = proj["id"] == self.project_id
        else:
            ok = proj.get("name") == self.args.project and (pd.get("id") == DOMAIN_ID or pd.get("name") == self.args.domain)
        if not ok:
            raise self.unauthorized()
        tok, exp = self.new_token()
        return 201, {"token": {
            "methods": ["password"], "expires_at": iso(exp) .replace("Z", ".000000Z"),
            "issued_at": iso(time.time()),
            "user": {"id": self.user_id, "name": self.args.user, "domain": {"id": DOMAIN_ID, "name": self.args.domain}},
            "project": {"id": self.project_id, "name": self.args.project, "domain": {"id": DOMAIN_ID, "name": self.args.domain}},
            "roles": [{"id": "r1", "name": "member"}],
            "catalog": self.catalog(req, True)}}, {"X-Subject-Token": tok}

    def v2_tenants(self, req):
        return 200, {"tenants": [{"id": self.project_id, "name": self.args.project, "enabled": True}]}

    # ---- nova ----
    def err(self, status, message):
        return Reply(status, self.error_body(status, message))

    def public(self, s):
        return {k: v for k, v in s.items() if not k.startswith("_")}

    def flavors(self, req, proj):
        return 200, {"flavors": [{"id": i, "name": n, "ram": r, "vcpus": c, "disk": d,
                                  "links": []} for i, n, r, c, d in FLAVORS]}

    def images(self, req, proj):
        name = (req.query.get("name") or [None])[0]
        return 200, {"images": [{"id": i, "name": n, "status": "ACTIVE", "minDisk": 0, "minRam": 0,
                                 "metadata": {}, "links": []}
                                for i, n in IMAGES if name is None or n == name]}

    def list_keypairs(self, req, proj):
        with self.lock:
            return 200, {"keypairs": [{"keypair": k} for k in self.keypairs.values()]}

    def create_keypair(self, req, proj):
        kp = (req.json() or {}).get("keypair") or {}
        name, pub = kp.get("name"), kp.get("public_key")
        if not name:
            raise self.err(400, "Invalid input for field/attribute keypair.")
        if not pub or not pub.startswith(("ssh-ed25519 ", "ssh-rsa ", "ecdsa-")):
            raise self.err(400, "Keypair data is invalid: failed to generate fingerprint")
        with self.lock:
            if name in self.keypairs:
                raise self.err(409, "Key pair '%s' already exists." % name)
            k = {"name": name, "public_key": pub, "fingerprint": "aa:bb:%02x" % (len(self.keypairs) % 256),
                 "user_id": self.user_id, "type": "ssh"}
            self.keypairs[name] = k
        return 200, {"keypair": k}

    def get_keypair(self, req, proj, name):
        with self.lock:
            k = self.keypairs.get(name)
        if not k:
            raise self.err(404, "Keypair %s not found for user %s" % (name, self.user_id))
        return 200, {"keypair": k}

    def delete_keypair(self, req, proj, name):
        with self.lock:
            if name not in self.keypairs:
                raise self.err(404, "Keypair %s not found for user %s" % (name, self.user_id))
            del self.keypairs[name]
        return 202, None

    def new_server(self, sid, name, flavor, image, key_name, host):
        return {"id": sid, "name": name, "status": "BUILD", "OS-EXT-STS:task_state": "scheduling",
                "OS-EXT-STS:vm_state": "building", "tenant_id": self.project_id, "user_id": self.user_id,
                "flavor": {"id": flavor, "links": []}, "image": {"id": image, "links": []},
                "key_name": key_name, "addresses": {}, "accessIPv4": "", "accessIPv6": "",
                "metadata": {}, "created": iso(time.time()), "_host": host, "_ip": None}

    def list_servers(self, req, proj):
        with self.lock:
            return 200, {"servers": [self.public(s) for s in self.servers.values()]}

    def server(self, sid):
        s = self.servers.get(sid)
        if not s:
            raise self.err(404, "Instance %s could not be found." % sid)
        return s

    def set_addresses(self, s):
        """The lab address: the fixed one, or an attached floating IP's."""
        ip, n = s["_ip"], s["_host"]
        if not ip:
            return
        fip = next((f for f in self.fips.values() if f["server"] == s["id"]), None)
        if fip:
            fip["ip"] = ip
            s["addresses"] = {"private": [
                {"addr": "192.168.0.%d" % (n % 250 + 2), "version": 4, "OS-EXT-IPS:type": "fixed",
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:%02x" % (n % 256)},
                {"addr": ip, "version": 4, "OS-EXT-IPS:type": "floating",
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:%02x" % (n % 256)}]}
        else:
            s["addresses"] = {"private": [
                {"addr": ip, "version": 4, "OS-EXT-IPS:type": "fixed",
                 "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:%02x" % (n % 256)}]}
        s["accessIPv4"] = ip

    def create_server(self, req, proj):
        b = (req.json() or {}).get("server") or {}
        if not b.get("name"):
            raise self.err(400, "Invalid input for field/attribute name.")
        if b.get("flavorRef") not in [f[0] for f in FLAVORS]:
            raise self.err(400, "Flavor %s could not be found." % b.get("flavorRef"))
        if b.get("imageRef") not in [i[0] for i in IMAGES]:
            raise self.err(400, "Image %s could not be found." % b.get("imageRef"))
        for n in b.get("networks") or []:
            if n.get("uuid") not in (NET_PRIVATE,):
                raise self.err(400, "Network %s could not be found." % n.get("uuid"))
        with self.lock:
            kn = b.get("key_name")
            keys = []
            if kn:
                if kn not in self.keypairs:
                    raise self.err(400, "Invalid key_name provided.")
                keys = [self.keypairs[kn]["public_key"]]
            n = self.pool.take()
            if n is None:
                raise self.err(403, "Quota exceeded for instances: Requested 1, but already used %d of %d instances"
                               % (len(self.servers), len(self.servers)))
            sid = str(uuid.uuid4())
            s = self.new_server(sid, b["name"], b["flavorRef"], b["imageRef"], kn, n)
            s["metadata"] = b.get("metadata") or {}
            self.servers[sid] = s
            pid = str(uuid.uuid4())
            self.ports[pid] = {"id": pid, "device_id": sid, "network_id": NET_PRIVATE,
                               "tenant_id": self.project_id, "device_owner": "compute:nova"}

        def booted(ip, error):
            with self.lock:
                if sid not in self.servers:
                    return
                if not ip:
                    s["status"] = "ERROR"
                    s["fault"] = {"code": 500, "message": error or "boot failed"}
                    return
                s["_ip"] = ip
                self.set_addresses(s)
                s["status"] = "ACTIVE"
                s["OS-EXT-STS:task_state"] = None
                s["OS-EXT-STS:vm_state"] = "active"

        self.pool.boot(n, keys, booted, delay=self.ip_delay)
        return 202, {"server": {"id": sid, "links": [], "adminPass": uuid.uuid4().hex[:12],
                                "OS-DCF:diskConfig": "MANUAL",
                                "security_groups": b.get("security_groups") or [{"name": "default"}]}}

    def get_server(self, req, proj, sid):
        with self.lock:
            return 200, {"server": self.public(self.server(sid))}

    def delete_server(self, req, proj, sid):
        with self.lock:
            s = self.server(sid)
            del self.servers[sid]
            for f in self.fips.values():
                if f["server"] == sid:
                    f["server"] = None
                    f["ip"] = f["_spare"]
            for pid in [p for p, v in self.ports.items() if v["device_id"] == sid]:
                del self.ports[pid]
        if s["_host"] is not None:
            self.pool.release(s["_host"])
        return 204, None

    def server_action(self, req, proj, sid):
        b = req.json() or {}
        with self.lock:
            s = self.server(sid)
            n = s["_host"]
            if "addFloatingIp" in b:
                addr = (b["addFloatingIp"] or {}).get("address")
                f = next((f for f in self.fips.values() if f["ip"] == addr), None)
                if not f:
                    raise self.err(404, "floating IP not found")
                f["server"] = sid
                self.set_addresses(s)
                return 202, None
            if "os-start" in b:
                if s["status"] != "SHUTOFF":
                    raise self.err(409, "Cannot 'start' instance %s while it is in vm_state %s" % (sid, s["status"].lower()))
            elif "os-stop" in b:
                if s["status"] != "ACTIVE":
                    raise self.err(409, "Cannot 'stop' instance %s while it is in vm_state %s" % (sid, s["status"].lower()))
                s["OS-EXT-STS:task_state"] = "powering-off"
            elif "reboot" in b:
                kind = ((b["reboot"] or {}).get("type") or "").upper()
                if kind not in ("SOFT", "HARD"):
                    raise self.err(400, "Invalid input for field/attribute type.")
                if s["status"] != "ACTIVE" and kind == "SOFT":
                    raise self.err(409, "Cannot 'reboot' instance %s while it is in vm_state %s" % (sid, s["status"].lower()))
                s["status"] = "REBOOT" if kind == "SOFT" else "HARD_REBOOT"
            else:
                raise self.err(400, "There is no such action: %s" % ",".join(b))

        def settle(status):
            with self.lock:
                s["status"] = status
                s["OS-EXT-STS:task_state"] = None

        if n is None:
            settle("SHUTOFF" if "os-stop" in b else "ACTIVE")
            return 202, None
        if "os-stop" in b:
            def off():
                time.sleep(0.3)
                self.pool.power_off(n)
                settle("SHUTOFF")
            fakecloud.threading.Thread(target=off, daemon=True).start()
        elif "os-start" in b:
            def on():
                self.pool.power_on(n)
                settle("ACTIVE")
            fakecloud.threading.Thread(target=on, daemon=True).start()
        else:
            self.pool.reboot(n, lambda: settle("ACTIVE"))
        return 202, None

    # ---- floating IPs (Nova proxy and Neutron share one list) ----
    def new_fip(self, pool, nova):
        k = next(self.fipn)
        ip = "203.0.113.%d" % (k % 250 + 2)
        fid = str(next(self.nova_fip_ids)) if nova else str(uuid.uuid4())
        f = {"id": fid, "ip": ip, "_spare": ip, "pool": pool, "server": None, "nova": nova}
        self.fips[fid] = f
        return f

    def nova_fip(self, f):
        return {"id": int(f["id"]) if f["nova"] else f["id"], "ip": f["ip"], "pool": f["pool"],
                "fixed_ip": None, "instance_id": f["server"]}

    def nova_list_fips(self, req, proj):
        with self.lock:
            return 200, {"floating_ips": [self.nova_fip(f) for f in self.fips.values()]}

    def nova_create_fip(self, req, proj):
        pool = (req.json() or {}).get("pool")
        if pool != "public":
            raise self.err(404, "Floating IP pool not found.")
        with self.lock:
            return 200, {"floating_ip": self.nova_fip(self.new_fip(pool, True))}

    def nova_delete_fip(self, req, proj, fid):
        with self.lock:
            f = self.fips.get(fid)
            if not f:
                raise self.err(404, "Floating IP not found for ID %s" % fid)
            del self.fips[fid]
            if f["server"] in self.servers:
                self.servers[f["server"]]["addresses"] = {}
                self.set_addresses(self.servers[f["server"]])
        return 202, None

    def neutron_err(self, status, typ, message):
        return Reply(status, {"NeutronError": {"type": typ, "message": message, "detail": ""}})

    def networks(self, req, proj=None):
        name = (req.query.get("name") or [None])[0]
        nets = [{"id": NET_PRIVATE, "name": "private", "router:external": False, "status": "ACTIVE",
                 "tenant_id": self.project_id, "subnets": []},
                {"id": NET_PUBLIC, "name": "public", "router:external": True, "status": "ACTIVE",
                 "tenant_id": "admin", "subnets": []}]
        return 200, {"networks": [n for n in nets if name is None or n["name"] == name]}

    def list_ports(self, req):
        dev = (req.query.get("device_id") or [None])[0]
        net = (req.query.get("network_id") or [None])[0]
        with self.lock:
            return 200, {"ports": [p for p in self.ports.values()
                                   if (dev is None or p["device_id"] == dev) and (net is None or p["network_id"] == net)]}

    def neutron_fip(self, f):
        port = next((p for p in self.ports.values() if p["device_id"] == f["server"]), None) if f["server"] else None
        return {"id": f["id"], "floating_ip_address": f["ip"], "floating_network_id": NET_PUBLIC,
                "port_id": port["id"] if port else None, "tenant_id": self.project_id,
                "status": "ACTIVE" if port else "DOWN", "router_id": None, "fixed_ip_address": None}

    def list_fips(self, req):
        net = (req.query.get("floating_network_id") or [None])[0]
        with self.lock:
            return 200, {"floatingips": [self.neutron_fip(f) for f in self.fips.values()
                                         if net is None or net == NET_PUBLIC]}

    def attach(self, f, port_id):
        if port_id is None:
            f["server"] = None
            f["ip"] = f["_spare"]
            return
        port = self.ports.get(port_id)
        if not port:
            raise self.neutron_err(404, "PortNotFound", "Port %s could not be found." % port_id)
        f["server"] = port["device_id"]
        self.set_addresses(self.servers[port["device_id"]])

    def create_fip(self, req):
        b = (req.json() or {}).get("floatingip") or {}
        if b.get("floating_network_id") != NET_PUBLIC:
            raise self.neutron_err(404, "NetworkNotFound", "Network %s could not be found." % b.get("floating_network_id"))
        with self.lock:
            f = self.new_fip("public", False)
            if b.get("port_id"):
                try:
                    self.attach(f, b["port_id"])
                except Reply:
                    del self.fips[f["id"]]
                    raise
            return 201, {"floatingip": self.neutron_fip(f)}

    def update_fip(self, req, fid):
        b = (req.json() or {}).get("floatingip") or {}
        with self.lock:
            f = self.fips.get(fid)
            if not f:
                raise self.neutron_err(404, "FloatingIPNotFound", "Floating IP %s could not be found" % fid)
            self.attach(f, b.get("port_id"))
            return 200, {"floatingip": self.neutron_fip(f)}

    def delete_fip(self, req, fid):
        with self.lock:
            f = self.fips.get(fid)
            if not f:
                raise self.neutron_err(404, "FloatingIPNotFound", "Floating IP %s could not be found" % fid)
            del self.fips[fid]
            s = self.servers.get(f["server"]) if f["server"] else None
            if s:
                self.set_addresses(s)
        return 204, None


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--user", required=True)
        p.add_argument("--password", required=True)
        p.add_argument("--project", default="demo")
        p.add_argument("--project-id", help="the project's id (default: random)")
        p.add_argument("--domain", default="Default")
        p.add_argument("--region", default="RegionOne")
        p.add_argument("--api-key", help="accept Rackspace RAX-KSKEY:apiKeyCredentials with this key")
        p.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, seconds")
    fakecloud.main(OpenStack, "fake OpenStack (Keystone, Nova, Neutron) and Rackspace Identity", extra)
