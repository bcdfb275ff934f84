#!/usr/bin/env python3
"""A fake IBM Cloud classic infrastructure (SoftLayer) REST API (the calls
Docker Machine's softlayer driver makes) whose guests are real lab hosts.

  softlayer.py --port-file F --hosts 21-23 --user U --api-key K [--log L]

Endpoint: http://127.0.0.1:PORT/rest/v3 ("SoftLayer_Service/ID/method.json").
HTTP Basic auth with the user name and API key (401 otherwise). Errors are
SoftLayer's {"error": "...", "code": "SoftLayer_Exception_..."}: 404 for a
missing object, 500 for an invalid value, 401 for bad credentials.
Guests: getPowerState {"keyName","name"} Running/Halted; an active
transaction (getActiveTransaction: an object, else null) while the lab host
boots, powers on/off or reboots; getPrimaryIpAddress /
getPrimaryBackendIpAddress a JSON string (null until the host is up).
Also POST /_seed {"ssh_key": {"id","key"}, "guest": {"id","hostname",
"power": "Halted"}} for stores written elsewhere.
"""
import base64
import itertools
import json
import threading
import time

import fakecloud
from fakecloud import Reply

IMAGES = ["UBUNTU_LATEST", "UBUNTU_22_64", "UBUNTU_24_64", "DEBIAN_LATEST"]
DATACENTERS = ["dal01", "dal10", "dal13", "wdc07", "fra02", "lon06", "tok02"]
SL = r"/rest/v3/"


class SoftLayer(fakecloud.FakeCloud):
    routes = [
        ("POST", SL + r"SoftLayer_Security_Ssh_Key(?:\.json|/createObject(?:\.json)?)?", "create_key"),
        ("GET", SL + r"SoftLayer_Security_Ssh_Key/(\d+)(?:/getObject)?(?:\.json)?", "get_key"),
        ("DELETE", SL + r"SoftLayer_Security_Ssh_Key/(\d+)(?:\.json)?", "delete_key"),
        ("GET", SL + r"SoftLayer_Security_Ssh_Key/(\d+)/deleteObject(?:\.json)?", "delete_key"),
        ("POST", SL + r"SoftLayer_Virtual_Guest(?:\.json|/createObject(?:\.json)?)?", "create_guest"),
        ("GET", SL + r"SoftLayer_Virtual_Guest/(\d+)(?:/getObject)?(?:\.json)?", "get_guest"),
        ("DELETE", SL + r"SoftLayer_Virtual_Guest/(\d+)(?:\.json)?", "delete_guest"),
        ("GET", SL + r"SoftLayer_Virtual_Guest/(\d+)/deleteObject(?:\.json)?", "delete_guest"),
        ("GET", SL + r"SoftLayer_Virtual_Guest/(\d+)/(\w+)(?:\.json)?", "guest_method"),
        ("GET", SL + r"SoftLayer_Account/getVirtualGuests(?:\.json)?", "list_guests"),
        ("GET", SL + r"SoftLayer_Account/getSshKeys(?:\.json)?", "list_keys"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.auth = "Basic " + base64.b64encode(
            ("%s:%s" % (args.user, args.api_key)).encode()).decode()
        self.keys = {}
        self.guests = {}
        self.ids = itertools.count(int(time.time()) % 100000 * 100 + 1)

    def error_body(self, status, message):
        code = {401: "SoftLayer_Exception_Public", 404: "SoftLayer_Exception_ObjectNotFound",
                429: "SoftLayer_Exception_WebService_RateLimitExceeded"}.get(
                    status, "SoftLayer_Exception_Public")
        return {"error": message, "code": code}

    def err(self, status, message, code=None):
        body = self.error_body(status, message)
        if code:
            body["code"] = code
        return Reply(status, body)

    def dump_state(self):
        return {"ssh_keys": list(self.keys.values()),
                "guests": [self.public(g) for g in self.guests.values()]}

    def public(self, g):
        return {k: v for k, v in g.items() if not k.startswith("_")}

    def control(self, req):
        if req.method == "POST" and req.path == "/_seed":
            b = req.json() or {}
            with self.lock:
                if b.get("ssh_key"):
                    k = dict(b["ssh_key"])
                    k.setdefault("label", "seeded")
                    self.keys[int(k["id"])] = k
                if b.get("guest"):
                    g = dict(b["guest"])
                    g.setdefault("hostname", "seeded")
                    g.setdefault("domain", "example.com")
                    g["_power"] = g.pop("power", "Halted")
                    g["_tx"] = None
                    g["_ip"] = g.pop("ip", None)
                    g["_host"] = None
                    self.guests[int(g["id"])] = g
            return 200, {"ok": True}
        return super().control(req)

    def dispatch(self, req):
        if not req.path.startswith("/_"):
            if req.headers.get("Authorization", "") != self.auth:
                return 401, {"error": "Access Denied.", "code": "SoftLayer_Exception_Public"}, {}
        return super().dispatch(req)

    def param(self, req):
        b = req.json() or {}
        ps = b.get("parameters") if isinstance(b, dict) else None
        if not isinstance(ps, list) or not ps or not isinstance(ps[0], dict):
            raise self.err(500, "Unable to create a template object: no parameters given.",
                           "SoftLayer_Exception_Public")
        return ps[0]

    # ---- keys ----
    def create_key(self, req):
        p = self.param(req)
        key = p.get("key") or ""
        if not key.startswith(("ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-")):
            raise self.err(500, "Invalid SSH key.", "SoftLayer_Exception_Public")
        with self.lock:
            if any(k["key"] == key for k in self.keys.values()):
                raise self.err(500, "SSH key already exists.", "SoftLayer_Exception_Public")
            k = {"id": next(self.ids), "key": key, "label": p.get("label", ""),
                 "fingerprint": "00:11", "createDate": time.strftime("%Y-%m-%dT%H:%M:%S-06:00")}
            self.keys[k["id"]] = k
        return 201, k

    def key(self, kid):
        k = self.keys.get(int(kid))
        if not k:
            raise self.err(404, "Unable to find object with id of '%s'." % kid)
        return k

    def get_key(self, req, kid):
        with self.lock:
            return 200, self.key(kid)

    def delete_key(self, req, kid):
        with self.lock:
            del self.keys[self.key(kid)["id"]]
        return 200, "true"

    def list_keys(self, req):
        with self.lock:
            return 200, list(self.keys.values())

    # ---- guests ----
    def create_guest(self, req):
        p = self.param(req)
        for f in ("hostname", "domain", "startCpus", "maxMemory", "datacenter"):
            if not p.get(f):
                raise self.err(500, "Property '%s' not valid for 'SoftLayer_Virtual_Guest'." % f,
                               "SoftLayer_Exception_MissingCreationProperty")
        if (p.get("datacenter") or {}).get("name") not in DATACENTERS:
            raise self.err(500, "Invalid value provided for 'datacenter.name'.",
                           "SoftLayer_Exception_InvalidValue")
        if p.get("operatingSystemReferenceCode") not in IMAGES:
            raise self.err(500, "Invalid value provided for 'operatingSystemReferenceCode'.",
                           "SoftLayer_Exception_InvalidValue")
        with self.lock:
            pubs = []
            for ref in p.get("sshKeys") or []:
                pubs.append(self.key((ref or {}).get("id", 0))["key"])
            n = self.pool.take()
            if n is None:
                raise self.err(500, "Your account has reached its virtual server limit.",
                               "SoftLayer_Exception_Public")
            gid = next(self.ids)
            g = {"id": gid, "hostname": p["hostname"], "domain": p["domain"],
                 "fullyQualifiedDomainName": "%s.%s" % (p["hostname"], p["domain"]),
                 "startCpus": p["startCpus"], "maxMemory": p["maxMemory"],
                 "hourlyBillingFlag": bool(p.get("hourlyBillingFlag")),
                 "localDiskFlag": bool(p.get("localDiskFlag")),
                 "privateNetworkOnlyFlag": bool(p.get("privateNetworkOnlyFlag")),
                 "createDate": time.strftime("%Y-%m-%dT%H:%M:%S-06:00"),
                 "globalIdentifier": "fake-%d" % gid,
                 "_power": "Halted", "_tx": "PROVISION", "_ip": None, "_host": n,
                 "_private": bool(p.get("privateNetworkOnlyFlag"))}
            self.guests[gid] = g

        def booted(ip, error):
            with self.lock:
                if gid not in self.guests:
                    return
                if not ip:
                    g["_tx"] = "PROVISION_FAILED"
                    return
                g["_ip"] = ip
                g["_power"] = "Running"
            # The setup transactions end a moment after the host is up.
            time.sleep(0.5)
            with self.lock:
                g["_tx"] = None

        self.pool.boot(n, pubs, booted, delay=self.ip_delay)
        return 201, self.public(g)

    def guest(self, gid):
        g = self.guests.get(int(gid))
        if not g:
            raise self.err(404, "Unable to find object with id of '%s'." % gid)
        return g

    def get_guest(self, req, gid):
        with self.lock:
            return 200, self.public(self.guest(gid))

    def list_guests(self, req):
        with self.lock:
            return 200, [self.public(g) for g in self.guests.values()]

    def delete_guest(self, req, gid):
        with self.lock:
            g = self.guest(gid)
            del self.guests[g["id"]]
        if g["_host"] is not None:
            self.pool.release(g["_host"])
        return 200, "true"

    def guest_method(self, req, gid, method):
        with self.lock:
            g = self.guest(gid)
            n = g["_host"]
            if method == "getPowerState":
                name = g["_power"]
                return 200, {"keyName": name.upper(), "name": name}
            if method == "getActiveTransaction":
                if not g["_tx"]:
                    return 200, "null"
                return 200, {"id": next(self.ids), "guestId": g["id"], "elapsedSeconds": 3,
                             "createDate": time.strftime("%Y-%m-%dT%H:%M:%S-06:00"),
                             "transactionStatus": {"name": g["_tx"], "friendlyName": g["_tx"].title(),
                                                   "averageDuration": "1.0"}}
            if method == "getPrimaryIpAddress":
                return 200, json.dumps(None if g.get("_private") else g["_ip"])
            if method == "getPrimaryBackendIpAddress":
                return 200, json.dumps(g["_ip"])
            if method not in ("powerOn", "powerOff", "powerOffSoft", "rebootSoft", "rebootHard",
                              "rebootDefault", "pause", "resume"):
                raise self.err(404, "Function (\"%s\") is not a valid method for this service." % method,
                               "SoftLayer_Exception_Public")
            if g["_tx"]:
                raise self.err(500, "Cannot %s: a transaction is active (%s)." % (method, g["_tx"]),
                               "SoftLayer_Exception_Public")
            off = method in ("powerOff", "powerOffSoft", "pause")
            g["_tx"] = method.upper()

        def settle(power):
            with self.lock:
                g["_power"] = power
                g["_tx"] = None

        if n is None:
            settle("Halted" if off else "Running")
        elif off:
            def run():
                if method == "powerOffSoft":
                    time.sleep(0.5)
                self.pool.power_off(n)
                settle("Halted")
            threading.Thread(target=run, daemon=True).start()
        elif method in ("powerOn", "resume"):
            def run():
                self.pool.power_on(n)
                settle("Running")
            threading.Thread(target=run, daemon=True).start()
        else:
            self.pool.reboot(n, lambda: settle("Running"))
        return 200, "true"


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--user", required=True)
        p.add_argument("--api-key", required=True)
    fakecloud.main(SoftLayer, "fake SoftLayer REST API", extra)
