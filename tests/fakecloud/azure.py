#!/usr/bin/env python3
"""A fake Azure: Azure AD's v1 token endpoints (client credentials, device
code, refresh token) and the Azure Resource Manager calls Docker Machine's
azure driver makes, whose virtual machines are real lab hosts. See README.md.

  azure.py --port-file F --hosts 1-9 --tenant T --subscription S
           --client-id ID --client-secret SECRET [--log L]

Shapes follow Microsoft's REST references: ARM errors
{"error":{"code","message"}}, 401 with WWW-Authenticate authorization_uri
naming the tenant when no token is sent, Bearer tokens checked, api-version
required, PUT answering 201 + Azure-AsyncOperation (polled: InProgress, then
Succeeded; a VM's when its lab host answers SSH), DELETE 202 + Location +
Azure-AsyncOperation, resources in use refusing deletion (NicInUse,
InUseSubnetCannotBeDeleted, PublicIPAddressCannotBeDeleted...), VM
instanceView PowerState/*. Azure AD errors {"error","error_description",
"error_codes"}; the device code is approved after two polls
(authorization_pending twice).
"""
import base64
import itertools
import re
import secrets
import subprocess
import threading
import time
import uuid

import fakecloud
from fakecloud import Reply

DM_APP = "637ddaba-219b-43b8-bf19-8cea500cf273"
IMAGES = {("canonical", "ubuntu-24_04-lts"), ("canonical", "0001-com-ubuntu-server-jammy"),
          ("canonical", "ubuntuserver")}
S = r"/subscriptions/([^/]+)"
RG = S + r"/resourceGroups/([^/]+)"
PROV = RG + r"/providers/(Microsoft\.[A-Za-z]+)/([A-Za-z]+)/([^/]+)"

# What the Azure Linux agent does with osProfile: the admin user with
# passwordless sudo and the keys at their paths.
AGENT = r'''
u=$1
id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
while read -r path t k; do
  mkdir -p "$(dirname "$path")"
  grep -qF "$t $k" "$path" 2>/dev/null || echo "$t $k" >> "$path"
  chmod 700 "$(dirname "$path")"; chmod 600 "$path"; chown -R "$u:" "$(dirname "$path")"
done
echo "$u ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/waagent"; chmod 0440 /etc/sudoers.d/waagent
'''
KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+( .*)?$")
USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())


class Azure(fakecloud.FakeCloud):
    routes = [
        ("POST", r"/([^/]+)/oauth2/token", "token"),
        ("POST", r"/([^/]+)/oauth2/devicecode", "devicecode"),
        ("GET", r"/subscriptions", "list_subscriptions"),
        ("GET", S, "get_subscription"),
        ("POST", S + r"/providers/([^/]+)/register", "register"),
        ("GET", S + r"/providers/([^/]+)/locations/([^/]+)/operations/([^/]+)", "get_op"),
        ("GET", S + r"/providers/([^/]+)/locations/([^/]+)/operationResults/([^/]+)", "get_op_result"),
        ("GET", RG, "get_rg"),
        ("PUT", RG, "put_rg"),
        ("DELETE", RG, "delete_rg"),
        ("GET", RG + r"/resources", "list_rg_resources"),
        ("GET", PROV + r"/subnets/([^/]+)", "get_subnet"),
        ("PUT", PROV + r"/subnets/([^/]+)", "put_subnet"),
        ("DELETE", PROV + r"/subnets/([^/]+)", "delete_subnet"),
        ("GET", PROV + r"/instanceView", "get_instance_view"),
        ("POST", PROV + r"/(start|powerOff|restart|deallocate)", "vm_action"),
        ("GET", PROV, "get_res"),
        ("PUT", PROV, "put_res"),
        ("DELETE", PROV, "delete_res"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.tokens = {}        # access token -> expiry
        self.refresh = {}       # refresh token -> True
        self.devices = {}       # device code -> polls so far
        self.rgs = {}           # lower name -> rg JSON
        self.res = {}           # lower id -> resource JSON (+ "_host", "_power")
        self.ops = {}           # op id -> {"status", "polls", "error", "min_polls"}
        self.nics = itertools.count(4)
        self.tokens_issued = 0

    # ---- framework hooks ----
    def error_body(self, status, message):
        codes = {400: "BadRequest", 401: "AuthenticationFailed", 404: "ResourceNotFound",
                 409: "Conflict", 429: "TooManyRequests", 500: "InternalServerError",
                 503: "ServiceUnavailable"}
        return {"error": {"code": codes.get(status, "Error"), "message": message}}

    def extra_headers(self, req):
        return {"x-ms-request-id": str(uuid.uuid4()),
                "x-ms-ratelimit-remaining-subscription-reads": "11999"}

    def dump_state(self):
        return {"resourceGroups": sorted(r["name"] for r in self.rgs.values()),
                "resources": sorted(r["id"] for r in self.res.values()),
                "tokens_issued": self.tokens_issued,
                "vms": {r["name"]: {"power": r.get("_power"), "host": r.get("_host"),
                                    "properties": r["properties"]}
                        for r in self.res.values() if r["type"] == "Microsoft.Compute/virtualMachines"}}

    def control(self, req):
        """POST /_seed {"resourceGroup": RG, "tokens": [ACCESS_TOKEN...],
        "resources": [{"type", "name", "properties", "power"}]}: account
        content made elsewhere (a store written by Docker Machine; a
        subnet's name is "VNET/SUBNET"); no lab host behind a seeded VM."""
        if req.method == "POST" and req.path == "/_seed":
            b = req.json() or {}
            sub = self.args.subscription
            with self.lock:
                rg = b.get("resourceGroup", "docker-machine")
                self.rgs.setdefault(rg.lower(), self.rg_json(sub, rg, "westus", {}))
                for tok in b.get("tokens", []):
                    self.tokens[tok] = time.time() + 3600
                for r in b.get("resources", []):
                    if r["type"].endswith("/subnets"):  # name "VNET/SUBNET"
                        vnet, _, sn = r["name"].partition("/")
                        rid = self.subnet_id(sub, rg, vnet, sn)
                        r = dict(r, name=sn)
                    else:
                        rid = "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (sub, rg, r["type"], r["name"])
                    obj = {"id": rid, "name": r["name"], "type": r["type"], "location": "westus",
                           "properties": dict(r.get("properties") or {}, provisioningState="Succeeded")}
                    if "power" in r:
                        obj["_power"] = r["power"]
                    self.res[rid.lower()] = obj
            return 200, {"ok": True}
        if req.method == "POST" and req.path == "/_revoke":  # every token refused from now
            with self.lock:
                self.tokens.clear()
            return 200, {"ok": True}
        return super().control(req)

    def dispatch(self, req):
        p = req.path
        if not p.startswith("/_") and not re.match(r"^/[^/]+/oauth2/", p):
            if "api-version" not in req.query:
                return 400, {"error": {"code": "MissingApiVersionParameter",
                                       "message": "The api-version query parameter (?api-version=) is required for all requests."}}, {}
            auth = req.headers.get("Authorization", "")
            if not auth:
                return 401, {"error": {"code": "AuthenticationFailed",
                                       "message": "Authentication failed. The 'Authorization' header is missing."}}, {
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/%s", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."' % self.args.tenant}
            tok = auth[7:] if auth.startswith("Bearer ") else ""
            with self.lock:
                exp = self.tokens.get(tok)
            if not exp or exp < time.time():
                return 401, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "The access token is invalid."}}, {
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/%s", error="invalid_token", error_description="The access token is invalid."' % self.args.tenant}
            m = re.match(r"^/subscriptions/([^/]+)", p)
            if m and m.group(1) != self.args.subscription:
                return 404, {"error": {"code": "SubscriptionNotFound",
                                       "message": "The subscription '%s' could not be found." % m.group(1)}}, {}
        return super().dispatch(req)

    # ---- Azure AD ----
    def ad_err(self, status, error, desc, code):
        return Reply(status, {"error": error, "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (code, desc, uuid.uuid4(), uuid.uuid4(), now_iso()),
                              "error_codes": [code], "timestamp": now_iso(),
                              "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())})

    def issue(self, resource, with_refresh):
        tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-" + secrets.token_urlsafe(32)
        now = int(time.time())
        with self.lock:
            self.tokens[tok] = now + 3600
            self.tokens_issued += 1
        out = {"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
               "expires_on": str(now + 3599), "not_before": str(now), "resource": resource,
               "access_token": tok}
        if with_refresh:
            rt = "0.fake-refresh-" + secrets.token_urlsafe(32)
            self.refresh[rt] = True
            out["refresh_token"] = rt
            out["scope"] = "user_impersonation"
        return 200, out

    def check_tenant(self, tenant):
        if tenant != self.args.tenant:
            raise self.ad_err(400, "invalid_request", "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud." % tenant, 90002)

    def token(self, req, tenant):
        self.check_tenant(tenant)
        f = req.form()
        res = f.get("resource", "")
        if res.rstrip("/") not in ("https://management.core.windows.net", "https://management.azure.com"):
            raise self.ad_err(400, "invalid_resource", "The resource principal named %s was not found in the tenant." % res, 500011)
        g = f.get("grant_type")
        if g == "client_credentials":
            if f.get("client_id") != self.args.client_id:
                raise self.ad_err(400, "unauthorized_client", "Application with identifier '%s' was not found in the directory." % f.get("client_id"), 700016)
            if f.get("client_secret") != self.args.client_secret:
                raise self.ad_err(401, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", 7000215)
            return self.issue(res, False)
        if g == "device_code":
            code = f.get("code", "")
            with self.lock:
                if code not in self.devices or f.get("client_id") != DM_APP:
                    raise self.ad_err(400, "invalid_grant", "The provided value for the input parameter 'device_code' is not valid.", 70000)
                self.devices[code] += 1
                polls = self.devices[code]
            if polls <= 2:
                raise self.ad_err(400, "authorization_pending", "The user has not yet completed the sign-in.", 70016)
            with self.lock:
                del self.devices[code]
            return self.issue(res, True)
        if g == "refresh_token":
            rt = f.get("refresh_token", "")
            with self.lock:  # v1 refresh tokens stay valid after use
                ok = self.refresh.get(rt)
            if not ok:
                raise self.ad_err(400, "invalid_grant", "The refresh token has expired or is invalid.", 700082)
            return self.issue(res, True)
        raise self.ad_err(400, "unsupported_grant_type", "The provided value for the input parameter 'grant_type' is not valid.", 70003)

    def devicecode(self, req, tenant):
        self.check_tenant(tenant)
        f = req.form()
        if f.get("client_id") != DM_APP:
            raise self.ad_err(400, "unauthorized_client", "Application with identifier '%s' was not found in the directory." % f.get("client_id"), 700016)
        code = "DAQABAAEAAAD-fake-" + secrets.token_urlsafe(24)
        user = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        with self.lock:
            self.devices[code] = 0
        return 200, {"user_code": user, "device_code": code,
                     "verification_url": "https://microsoft.com/devicelogin",
                     "expires_in": "900", "interval": "1",
                     "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code %s to authenticate." % user}

    # ---- subscriptions, providers, operations ----
    def list_subscriptions(self, req):
        return 200, {"value": [self.sub_json()]}

    def sub_json(self):
        s = self.args.subscription
        return {"id": "/subscriptions/" + s, "subscriptionId": s, "tenantId": self.args.tenant,
                "displayName": "Fake subscription", "state": "Enabled"}

    def get_subscription(self, req, sub):
        return 200, self.sub_json()

    def register(self, req, sub, ns):
        return 200, {"id": "/subscriptions/%s/providers/%s" % (sub, ns), "namespace": ns,
                     "registrationState": "Registered"}

    def new_op(self, ns, min_polls=1, status="InProgress"):
        oid = str(uuid.uuid4())
        with self.lock:
            self.ops[oid] = {"status": status, "polls": 0, "min_polls": min_polls, "error": None}
        base = "http://127.0.0.1:%d/subscriptions/%s/providers/%s/locations/westus" % (
            self.port, self.args.subscription, ns)
        return oid, {"Azure-AsyncOperation": "%s/operations/%s?api-version=2024-07-01" % (base, oid),
                     "Location": "%s/operationResults/%s?api-version=2024-07-01" % (base, oid)}

    def op_status(self, oid):
        with self.lock:
            op = self.ops.get(oid)
            if not op:
                raise self.err(404, "ResourceNotFound", "The operation was not found.")
            op["polls"] += 1
            st = op["status"]
            if st == "Succeeded" and op["polls"] < op["min_polls"]:
                st = "InProgress"
            return op, st

    def get_op(self, req, sub, ns, loc, oid):
        op, st = self.op_status(oid)
        out = {"name": oid, "status": st, "startTime": now_iso()}
        if st == "Failed":
            out["error"] = op["error"]
        return 200, out

    def get_op_result(self, req, sub, ns, loc, oid):
        op, st = self.op_status(oid)
        if st == "InProgress":
            return 202, None, {"Location": "http://127.0.0.1:%d%s?api-version=2024-07-01" % (self.port, req.path)}
        if st == "Failed":
            raise Reply(400, {"error": op["error"]})
        return 204, None

    def finish(self, oid, error=None):
        with self.lock:
            op = self.ops.get(oid)
            if op:
                op["status"] = "Failed" if error else "Succeeded"
                op["error"] = error

    # ---- helpers ----
    def err(self, status, code, message):
        return Reply(status, {"error": {"code": code, "message": message}})

    def rg_json(self, sub, name, location, tags):
        return {"id": "/subscriptions/%s/resourceGroups/%s" % (sub, name), "name": name,
                "type": "Microsoft.Resources/resourceGroups", "location": location,
                "tags": tags, "properties": {"provisioningState": "Succeeded"}}

    def rg(self, name):
        r = self.rgs.get(name.lower())
        if not r:
            raise self.err(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name)
        return r

    def rid(self, sub, rg, ns, typ, name):
        return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s" % (sub, rg, ns, typ, name)

    def find(self, rid):
        return self.res.get(rid.lower())

    def public(self, r):
        out = {k: v for k, v in r.items() if not k.startswith("_")}
        out["properties"] = dict(r["properties"])
        t = r["type"]
        # Back references, as ARM shows them.
        if t == "Microsoft.Compute/availabilitySets":
            out["properties"]["virtualMachines"] = [
                {"id": v["id"]} for v in self.res.values()
                if v["type"] == "Microsoft.Compute/virtualMachines" and
                (v["properties"].get("availabilitySet") or {}).get("id", "").lower() == r["id"].lower()]
        if t == "Microsoft.Network/virtualNetworks":
            out["properties"]["subnets"] = [
                self.public(v) for v in self.res.values()
                if v["type"] == "Microsoft.Network/virtualNetworks/subnets" and v["id"].lower().startswith(r["id"].lower() + "/subnets/")]
        if t == "Microsoft.Network/virtualNetworks/subnets":
            cfg = self.users_of(r["id"], "subnet")
            if cfg:
                out["properties"]["ipConfigurations"] = cfg
        if t == "Microsoft.Network/publicIPAddresses":
            cfg = self.users_of(r["id"], "publicIPAddress")
            if cfg:
                out["properties"]["ipConfiguration"] = cfg[0]
        if t == "Microsoft.Network/networkSecurityGroups":
            out["properties"]["networkInterfaces"] = [
                {"id": v["id"]} for v in self.res.values()
                if v["type"] == "Microsoft.Network/networkInterfaces" and
                (v["properties"].get("networkSecurityGroup") or {}).get("id", "").lower() == r["id"].lower()]
        if t == "Microsoft.Network/networkInterfaces":
            vm = self.vm_of_nic(r["id"])
            if vm:
                out["properties"]["virtualMachine"] = {"id": vm["id"]}
        return out

    def users_of(self, rid, field):
        out = []
        for v in self.res.values():
            if v["type"] != "Microsoft.Network/networkInterfaces":
                continue
            for c in v["properties"].get("ipConfigurations", []):
                if ((c.get("properties") or {}).get(field) or {}).get("id", "").lower() == rid.lower():
                    out.append({"id": v["id"] + "/ipConfigurations/" + c.get("name", "ip")})
        return out

    def vm_of_nic(self, nic_id):
        for v in self.res.values():
            if v["type"] == "Microsoft.Compute/virtualMachines":
                for n in (v["properties"].get("networkProfile") or {}).get("networkInterfaces", []):
                    if n.get("id", "").lower() == nic_id.lower():
                        return v
        return None

    def ref(self, obj, what):
        rid = (obj or {}).get("id", "")
        r = self.find(rid) if rid else None
        if not r:
            raise self.err(400, "InvalidResourceReference", "Resource %s referenced by resource %s was not found." % (rid or "''", what))
        return r

    # ---- resource groups ----
    def get_rg(self, req, sub, name):
        with self.lock:
            return 200, self.rg(name)

    def put_rg(self, req, sub, name):
        b = req.json() or {}
        if not b.get("location"):
            raise self.err(400, "LocationRequired", "The location property is required for this definition.")
        with self.lock:
            old = self.rgs.get(name.lower())
            self.rgs[name.lower()] = self.rg_json(sub, old["name"] if old else name, b["location"], b.get("tags") or {})
            return (200 if old else 201), self.rgs[name.lower()]

    def in_rg(self, name):
        pre = "/subscriptions/%s/resourcegroups/%s/" % (self.args.subscription, name.lower())
        return [r for k, r in self.res.items() if k.startswith(pre)]

    def list_rg_resources(self, req, sub, name):
        with self.lock:
            self.rg(name)
            return 200, {"value": [{"id": r["id"], "name": r["name"], "type": r["type"], "location": r.get("location")}
                                   for r in self.in_rg(name) if r["type"].count("/") == 1]}

    def delete_rg(self, req, sub, name):
        with self.lock:
            if name.lower() not in self.rgs:
                raise self.err(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name)
            hosts = [r.get("_host") for r in self.in_rg(name) if r.get("_host") is not None]
            for r in self.in_rg(name):
                del self.res[r["id"].lower()]
            del self.rgs[name.lower()]
        for n in hosts:
            self.pool.release(n)
        oid, h = self.new_op("Microsoft.Resources", status="Succeeded")
        return 202, None, {"Location": h["Location"]}

    # ---- generic resources ----
    def get_res(self, req, sub, rg, ns, typ, name):
        with self.lock:
            self.rg(rg)
            r = self.find(self.rid(sub, rg, ns, typ, name))
            if not r:
                raise self.err(404, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found." % (ns, typ, name, rg))
            out = self.public(r)
            if typ == "virtualMachines" and "instanceView" in req.query.get("$expand", [""])[0]:
                out["properties"]["instanceView"] = self.instance_view(r)
            return 200, out

    def get_instance_view(self, req, sub, rg, ns, typ, name):
        with self.lock:
            r = self.find(self.rid(sub, rg, ns, typ, name))
            if not r:
                raise self.err(404, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found." % (ns, typ, name, rg))
            return 200, self.instance_view(r)

    def instance_view(self, r):
        power = r.get("_power", "starting")
        prov = r["properties"].get("provisioningState", "Succeeded")
        return {"computerName": r["name"], "statuses": [
            {"code": "ProvisioningState/%s" % prov.lower(), "level": "Info", "displayStatus": "Provisioning %s" % prov.lower()},
            {"code": "PowerState/%s" % power, "level": "Info", "displayStatus": "VM %s" % power}]}

    def put_res(self, req, sub, rg, ns, typ, name):
        b = req.json() or {}
        t = "%s/%s" % (ns, typ)
        known = {"Microsoft.Compute/availabilitySets", "Microsoft.Compute/virtualMachines",
                 "Microsoft.Network/networkSecurityGroups", "Microsoft.Network/virtualNetworks",
                 "Microsoft.Network/publicIPAddresses", "Microsoft.Network/networkInterfaces"}
        if t not in known:
            raise self.err(400, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s'." % (typ, ns))
        if not b.get("location"):
            raise self.err(400, "LocationRequired", "The location property is required for this definition.")
        props = dict(b.get("properties") or {})
        with self.lock:
            rgo = self.rg(rg)
            rid = self.rid(sub, rgo["name"], ns, typ, name)
            old = self.find(rid)
            obj = {"id": rid, "name": name, "type": t, "location": b["location"],
                   "tags": b.get("tags") or {}, "properties": props}
            if b.get("sku"):
                obj["sku"] = b["sku"]
            host_job = None
            if t == "Microsoft.Network/networkInterfaces":
                cfgs = props.get("ipConfigurations") or []
                if not cfgs:
                    raise self.err(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", "Network interface %s must have one or more IP configurations." % rid)
                for c in cfgs:
                    cp = c.setdefault("properties", {})
                    self.ref(cp.get("subnet"), rid)
                    if cp.get("publicIPAddress"):
                        ip = self.ref(cp["publicIPAddress"], rid)
                        users = [u for u in self.users_of(ip["id"], "publicIPAddress") if not u["id"].lower().startswith(rid.lower())]
                        if users:
                            raise self.err(400, "PublicIPAddressInUse", "Public IP address %s is in use by %s." % (ip["id"], users[0]["id"]))
                    if not cp.get("privateIPAddress"):
                        cp["privateIPAddress"] = old["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] if old else "192.168.0.%d" % next(self.nics)
                    c["id"] = rid + "/ipConfigurations/" + c.get("name", "ip")
                if props.get("networkSecurityGroup"):
                    self.ref(props["networkSecurityGroup"], rid)
            if t == "Microsoft.Network/publicIPAddresses":
                if (b.get("sku") or {}).get("name", "Basic") == "Basic":
                    raise self.err(400, "BasicSkuPublicIpRetired", "Basic SKU public IP addresses are retired; create a Standard SKU public IP address.")
                if props.get("publicIPAllocationMethod") != "Static":
                    raise self.err(400, "StandardSkuPublicIPAddressesCannotBeDynamic", "Standard sku publicIp %s must have AllocationMethod set to Static." % rid)
                if old:
                    props["ipAddress"] = old["properties"].get("ipAddress")
            if t == "Microsoft.Network/virtualNetworks":
                if not (props.get("addressSpace") or {}).get("addressPrefixes"):
                    raise self.err(400, "InvalidAddressSpace", "Virtual network %s has no address prefixes." % rid)
            if t == "Microsoft.Compute/availabilitySets":
                if (b.get("sku") or {}).get("name") != "Aligned":
                    raise self.err(400, "InvalidParameter", "Availability sets for managed disks must have sku Aligned.")
            if t == "Microsoft.Compute/virtualMachines":
                if old:
                    raise self.err(409, "OperationNotAllowed", "Changing property 'osProfile' is not allowed.")
                host_job = self.check_vm(rid, props)
                obj["_power"] = "starting"
                props["vmId"] = str(uuid.uuid4())
            props["provisioningState"] = "Creating" if t == "Microsoft.Compute/virtualMachines" else "Succeeded"
            props.setdefault("resourceGuid", str(uuid.uuid4()))
            self.res[rid.lower()] = obj
            oid, h = self.new_op(ns, min_polls=2)
        if host_job:
            host_job(obj, oid)
        else:
            self.finish(oid)
        return (200 if old else 201), self.public(obj), {"Azure-AsyncOperation": h["Azure-AsyncOperation"]}

    def check_vm(self, rid, props):
        if not (props.get("hardwareProfile") or {}).get("vmSize"):
            raise self.err(400, "InvalidParameter", "Required parameter 'hardwareProfile.vmSize' is missing (null).")
        st = props.get("storageProfile") or {}
        od = st.get("osDisk") or {}
        if od.get("vhd"):
            raise self.err(400, "OperationNotAllowed", "Unmanaged disks are retired: creation of virtual machines with unmanaged (VHD) OS disks is not supported.")
        ir = st.get("imageReference") or {}
        if (ir.get("publisher", "").lower(), ir.get("offer", "").lower()) not in IMAGES:
            raise self.err(404, "PlatformImageNotFound", "The platform image '%s:%s:%s:%s' is not available. Verify that all fields in the storage profile are correct." % (
                ir.get("publisher"), ir.get("offer"), ir.get("sku"), ir.get("version")))
        if props.get("availabilitySet"):
            self.ref(props["availabilitySet"], rid)
        nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
        if not nics:
            raise self.err(400, "InvalidParameter", "At least one network interface is required.")
        for n in nics:
            nic = self.ref(n, rid)
            if self.vm_of_nic(nic["id"]):
                raise self.err(400, "NicInUse", "Network Interface %s is used by existing resource %s." % (nic["id"], self.vm_of_nic(nic["id"])["id"]))
        os_ = props.get("osProfile") or {}
        user = os_.get("adminUsername", "")
        if not USER.match(user) or user in ("root", "admin", "administrator"):
            raise self.err(400, "InvalidParameter", "The Admin Username specified is not allowed.")
        keys = []
        for k in ((os_.get("linuxConfiguration") or {}).get("ssh") or {}).get("publicKeys") or []:
            if not KEY.match(k.get("keyData", "").strip()):
                raise self.err(400, "InvalidParameter", "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.")
            if not k.get("path", "").startswith("/home/%s/" % user):
                raise self.err(400, "InvalidParameter", "The value of parameter linuxConfiguration.ssh.publicKeys.path is invalid.")
            keys.append("%s %s" % (k["path"], " ".join(k["keyData"].split()[:2])))
        if not keys:
            raise self.err(400, "InvalidParameter", "Authentication using either SSH or by user name and password must be enabled in Linux profile.")
        n = self.pool.take()
        if n is None:
            raise self.err(409, "OperationNotAllowed", "Operation could not be completed as it results in exceeding approved Total Regional Cores quota.")
        od.setdefault("name", rid.rsplit("/", 1)[1] + "_OsDisk_1_" + uuid.uuid4().hex)
        od.setdefault("managedDisk", {})
        disk_id = "%s/providers/Microsoft.Compute/disks/%s" % (rid.split("/providers/")[0], od["name"])
        od["managedDisk"]["id"] = disk_id

        def job(obj, oid):
            with self.lock:
                obj["_host"] = n
                self.res[disk_id.lower()] = {"id": disk_id, "name": od["name"], "type": "Microsoft.Compute/disks",
                                             "location": obj["location"],
                                             "properties": {"diskSizeGB": 30, "provisioningState": "Succeeded",
                                                            "diskState": "Attached"}}

            def booted(ip, error):
                with self.lock:
                    if self.find(rid) is not obj:
                        return
                if ip:
                    p = subprocess.run([self.pool.lab, "exec", str(n), "sh", "-c", AGENT, "agent", user],
                                       input="\n".join(keys) + "\n", capture_output=True, text=True, timeout=60)
                    self.log("agent on host %d: status %d %s" % (n, p.returncode, p.stderr[-200:]))
                with self.lock:
                    if self.find(rid) is not obj:
                        return
                    if not ip:
                        obj["properties"]["provisioningState"] = "Failed"
                        self.finish(oid, {"code": "OSProvisioningTimedOut", "message": "OS Provisioning for VM '%s' did not finish in the allotted time. %s" % (obj["name"], error)})
                        return
                    obj["properties"]["provisioningState"] = "Succeeded"
                    obj["_power"] = "running"
                    obj["_ip"] = ip
                    for nref in props["networkProfile"]["networkInterfaces"]:
                        nic = self.find(nref["id"])
                        for c in (nic or {}).get("properties", {}).get("ipConfigurations", []):
                            pip = self.find(((c.get("properties") or {}).get("publicIPAddress") or {}).get("id", ""))
                            if pip:
                                pip["properties"]["ipAddress"] = ip
                self.finish(oid)

            self.pool.boot(n, [], booted, delay=self.ip_delay)
        return job

    def delete_res(self, req, sub, rg, ns, typ, name):
        t = "%s/%s" % (ns, typ)
        with self.lock:
            self.rg(rg)
            rid = self.rid(sub, rg, ns, typ, name)
            r = self.find(rid)
            if not r:
                return 204, None
            if t == "Microsoft.Network/networkInterfaces" and self.vm_of_nic(rid):
                raise self.err(400, "NicInUse", "Network Interface %s is used by existing resource %s. In order to delete the network interface, it must be dissociated from the resource." % (rid, self.vm_of_nic(rid)["id"]))
            if t == "Microsoft.Network/publicIPAddresses" and self.users_of(rid, "publicIPAddress"):
                raise self.err(400, "PublicIPAddressCannotBeDeleted", "Public IP address %s can not be deleted since it is still allocated to resource %s." % (rid, self.users_of(rid, "publicIPAddress")[0]["id"]))
            if t == "Microsoft.Network/networkSecurityGroups" and self.public(r)["properties"]["networkInterfaces"]:
                raise self.err(400, "InUseNetworkSecurityGroupCannotBeDeleted", "Network security group %s cannot be deleted because it is in use." % rid)
            if t == "Microsoft.Network/virtualNetworks" and self.public(r)["properties"]["subnets"]:
                for s in self.public(r)["properties"]["subnets"]:
                    if self.users_of(s["id"], "subnet"):
                        raise self.err(400, "InUseSubnetCannotBeDeleted", "Subnet %s is in use and cannot be deleted." % s["id"])
                for s in self.public(r)["properties"]["subnets"]:
                    del self.res[s["id"].lower()]
            if t == "Microsoft.Compute/availabilitySets" and self.public(r)["properties"]["virtualMachines"]:
                raise self.err(409, "OperationNotAllowed", "Availability Set %s cannot be deleted. Before deleting an Availability Set please ensure that it does not contain any VM." % rid)
            if t == "Microsoft.Compute/disks" and r["properties"].get("diskState") == "Attached":
                raise self.err(409, "OperationNotAllowed", "Disk %s is attached to VM." % name)
            del self.res[rid.lower()]
            host = r.get("_host")
            if t == "Microsoft.Compute/virtualMachines":
                od = r["properties"]["storageProfile"]["osDisk"]
                disk = self.find(od.get("managedDisk", {}).get("id", ""))
                if disk:
                    if od.get("deleteOption") == "Delete":
                        del self.res[disk["id"].lower()]
                    else:
                        disk["properties"]["diskState"] = "Unattached"
            oid, h = self.new_op(ns, status="Succeeded")
        if host is not None:
            self.pool.release(host)
        return 202, None, h

    # ---- subnets ----
    def subnet_id(self, sub, rg, vnet, name):
        return self.rid(sub, rg, "Microsoft.Network", "virtualNetworks", vnet) + "/subnets/" + name

    def get_subnet(self, req, sub, rg, ns, typ, vnet, name):
        with self.lock:
            self.rg(rg)
            r = self.find(self.subnet_id(sub, rg, vnet, name))
            if not r or not self.find(self.rid(sub, rg, ns, typ, vnet)):
                raise self.err(404, "NotFound", "Resource %s not found." % self.subnet_id(sub, rg, vnet, name))
            return 200, self.public(r)

    def put_subnet(self, req, sub, rg, ns, typ, vnet, name):
        props = dict((req.json() or {}).get("properties") or {})
        if not props.get("addressPrefix"):
            raise self.err(400, "InvalidRequestFormat", "Cannot parse the request: addressPrefix is missing.")
        with self.lock:
            rgo = self.rg(rg)
            v = self.find(self.rid(sub, rg, ns, typ, vnet))
            if not v:
                raise self.err(404, "ResourceNotFound", "The Resource 'Microsoft.Network/virtualNetworks/%s' under resource group '%s' was not found." % (vnet, rg))
            sid = self.subnet_id(sub, rgo["name"], v["name"], name)
            old = self.find(sid)
            props["provisioningState"] = "Succeeded"
            obj = {"id": sid, "name": name, "type": "Microsoft.Network/virtualNetworks/subnets", "properties": props}
            self.res[sid.lower()] = obj
            oid, h = self.new_op(ns, min_polls=2, status="Succeeded")
        return (200 if old else 201), self.public(obj), {"Azure-AsyncOperation": h["Azure-AsyncOperation"]}

    def delete_subnet(self, req, sub, rg, ns, typ, vnet, name):
        with self.lock:
            sid = self.subnet_id(sub, rg, vnet, name)
            if not self.find(sid):
                return 204, None
            if self.users_of(sid, "subnet"):
                raise self.err(400, "InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted." % (name, self.users_of(sid, "subnet")[0]["id"]))
            del self.res[sid.lower()]
            oid, h = self.new_op(ns, status="Succeeded")
        return 202, None, h

    # ---- power ----
    def vm_action(self, req, sub, rg, ns, typ, name, action):
        with self.lock:
            r = self.find(self.rid(sub, rg, ns, typ, name))
            if not r or typ != "virtualMachines":
                raise self.err(404, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found." % (ns, typ, name, rg))
            if r["properties"].get("provisioningState") == "Creating":
                raise self.err(409, "OperationNotAllowed", "Operation '%s' is not allowed since the VM is being created." % action)
            if action == "restart" and r.get("_power") != "running":
                raise self.err(409, "OperationNotAllowed", "Cannot restart the VM as it is not running.")
            n = r.get("_host")
            oid, h = self.new_op(ns)
            r["_action"] = action + ("?skipShutdown" if req.query.get("skipShutdown", ["false"])[0] == "true" else "")

        def settle(power):
            with self.lock:
                r["_power"] = power
            self.finish(oid)

        def run():
            if action in ("powerOff", "deallocate"):
                with self.lock:
                    r["_power"] = "stopping" if action == "powerOff" else "deallocating"
                if n is not None:
                    if req.query.get("skipShutdown", ["false"])[0] != "true":
                        time.sleep(0.3)
                    self.pool.power_off(n)
                settle("stopped" if action == "powerOff" else "deallocated")
            elif action == "start":
                with self.lock:
                    r["_power"] = "starting"
                if n is not None:
                    self.pool.power_on(n)
                settle("running")
            else:
                if n is None:
                    settle("running")
                else:
                    self.pool.reboot(n, lambda: settle("running"))
        threading.Thread(target=run, daemon=True).start()
        return 202, None, h

    def serve(self):
        # The port is known once the server listens; new_op needs it.
        orig = fakecloud.ThreadingHTTPServer.__init__
        cloud = self

        def init(srv, addr, handler, *a, **kw):
            orig(srv, addr, handler, *a, **kw)
            cloud.port = srv.server_address[1]
        fakecloud.ThreadingHTTPServer.__init__ = init
        super().serve()


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--tenant", required=True)
        p.add_argument("--subscription", required=True)
        p.add_argument("--client-id", required=True)
        p.add_argument("--client-secret", required=True)
    fakecloud.main(Azure, "fake Azure (Azure AD v1 + Resource Manager)", extra)
