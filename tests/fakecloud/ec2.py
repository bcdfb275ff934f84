#!/usr/bin/env python3
"""A fake Amazon EC2 Query API on the fakecloud framework, for the
amazonec2 driver's tests. Faithful to the wire as AWS documents it:

- POST / with a form body Action=...&Version=..., answered in XML with
  the 2016-11-15 namespace, lists as <xxxSet><item>, errors as
  <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>.
- Every request's SigV4 signature is computed again here from what
  arrived (canonical request, string to sign, HMAC chain) and compared:
  an unknown access key is 401 AuthFailure, a wrong signature 403
  SignatureDoesNotMatch, a date outside the scope 403
  SignatureDoesNotMatch too.
- Instances are real lab hosts (tests/lab) booted with the imported key
  authorized: pending until the host is up (and has its IP), running,
  stopping -> stopped (host frozen, link down), pending -> running again,
  RebootInstances reboots the host, TerminateInstances: shutting-down,
  the host is downed, terminated (still listed, as EC2 does for a while).

Control, besides the framework's (/_fault, /_delay_ip, /_requests,
/_state):
  POST /_ec2fault {"action": "RunInstances", "code": "RequestLimitExceeded",
                   "status": 503, "count": 1}
      the next COUNT calls of ACTION answer that EC2 error;
      {"action": A, "delay": S}: they are answered as usual after S s.
  POST /_ec2seed {"instance_id": "i-...", "state": "stopped", "key": NAME}
      an instance (and key pair) made elsewhere, without a host: what a
      Docker Machine store's machine points at.
/_state: {"instances": [live ones], "key_pairs": [...], "security_groups":
[all but "default"], "terminated": [...]}: an empty account has
empty instances, key_pairs and security_groups.

Usage: ec2.py --port-file F --hosts 131-134 [--access-key AK --secret-key SK
       [--session-token T]] [--account AK SK TOKEN]... [--region us-east-1]
A key with a session token (temporary credentials) must send it
(X-Amz-Security-Token), else AuthFailure.
"""

import base64
import fnmatch
import hashlib
import hmac
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecloud  # noqa: E402

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
OWNER = "123456789012"
CANONICAL = "099720109477"
VPC = "vpc-0a1b2c3d4e5f60718"
DEFAULT_SG = "sg-0d0e0f0a0b0c0d0e0"

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}


class EC2Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def hexid(prefix, n=17):
    return prefix + "".join(random.choice("0123456789abcdef") for _ in range(n))


def x(v):
    return escape(str(v))


def items(tag, rows):
    """<tag><item>row</item>...</tag>, or <tag/> when empty."""
    if not rows:
        return "<%s/>" % tag
    return "<%s>%s</%s>" % (tag, "".join("<item>%s</item>" % r for r in rows), tag)


def enc(s):
    return quote(s, safe="-_.~")


def sigv4_check(req, accounts, log):
    """The signature AWS would compute for this request, compared with the
    one sent. Returns the access key; raises EC2Error."""
    auth = req.headers.get("Authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        raise EC2Error(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    cred = fields.get("Credential", "").split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise EC2Error(400, "IncompleteSignature", "Authorization header requires a valid Credential")
    ak, date8, region, service, _ = cred
    if ak not in accounts:
        raise EC2Error(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
    secret, token = accounts[ak]
    amzdate = req.headers.get("X-Amz-Date") or ""
    signed = fields.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed or not amzdate.startswith(date8):
        raise EC2Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
    try:
        when = datetime.strptime(amzdate, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise EC2Error(400, "AuthFailure", "X-Amz-Date is not a date")
    if abs((datetime.now(timezone.utc) - when).total_seconds()) > 900:
        raise EC2Error(400, "RequestExpired", "Request has expired.")
    if token and req.headers.get("X-Amz-Security-Token") != token:
        raise EC2Error(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
    hdrs = []
    for name in signed:
        vals = req.headers.get_all(name) or []
        hdrs.append("%s:%s" % (name, ",".join(" ".join(v.split()) for v in vals)))
    query = "&".join("%s=%s" % (enc(k), enc(v)) for k, v in
                     sorted(parse_qsl(req.raw_query, keep_blank_values=True)))
    creq = "\n".join([req.method, quote(req.path or "/", safe="/-_.~"), query,
                      "\n".join(hdrs) + "\n", ";".join(signed),
                      hashlib.sha256(req.raw).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (date8, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date8, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        log("signature mismatch; canonical request:\n" + creq)
        raise EC2Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
    if service != "ec2":
        raise EC2Error(403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'ec2'.")
    return ak


def numbered(form, prefix):
    """Values of PREFIX.1, PREFIX.2, ... in order."""
    out, i = [], 1
    while "%s.%d" % (prefix, i) in form:
        out.append(form["%s.%d" % (prefix, i)])
        i += 1
    return out


def filters(form):
    """Filter.N.Name / Filter.N.Value.M -> {name: [values]}."""
    out, i = {}, 1
    while "Filter.%d.Name" % i in form:
        out[form["Filter.%d.Name" % i]] = numbered(form, "Filter.%d.Value" % i)
        i += 1
    return out


class EC2(fakecloud.FakeCloud):
    routes = [("POST", r"/", "query_api")]
    content_type = "text/xml;charset=UTF-8"

    def __init__(self, args):
        super().__init__(args)
        self.accounts = {args.access_key: (args.secret_key, args.session_token or None)}
        for ak, sk, token in args.account or []:
            self.accounts[ak] = (sk, token or None)
        self.region = args.region
        self.ec2faults = []
        self.key_pairs = {}
        self.groups = {DEFAULT_SG: {"name": "default", "description": "default VPC security group",
                                    "vpc": VPC, "perms": [], "tags": {}}}
        self.subnets = [
            {"id": "subnet-0aaa1111bbbb2222c", "vpc": VPC, "az": self.region + "a", "default": True,
             "cidr": "172.31.0.0/20"},
            {"id": "subnet-0ddd3333eeee4444f", "vpc": VPC, "az": self.region + "b", "default": True,
             "cidr": "172.31.16.0/20"},
        ]
        self.images = [
            {"id": "ami-0b0ea68c435eb488d", "owner": CANONICAL, "date": "2024-04-23T09:56:00.000Z",
             "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423"},
            {"id": "ami-04b70fa74e45c3917", "owner": CANONICAL, "date": "2025-06-10T12:00:00.000Z",
             "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"},
            {"id": "ami-0a1b2c3d4e5f60789", "owner": CANONICAL, "date": "2025-07-01T12:00:00.000Z",
             "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250701",
             "arch": "arm64"},
            {"id": "ami-0ffffffffffffffff", "owner": "111122223333", "date": "2026-01-01T00:00:00.000Z",
             "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-fake"},
        ]
        self.instances = {}
        self.next_ip = 10

    # ---- framework hooks ----
    def error_body(self, status, message):
        code = {503: "RequestLimitExceeded", 500: "InternalError"}.get(status, "InvalidParameterValue")
        if status == 503:
            message = "Request limit exceeded."
        return self.err_xml(code, message)

    def err_xml(self, code, message):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
                "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
                % (x(code), x(message), uuid.uuid4()))

    def control(self, req):
        if req.method == "POST" and req.path == "/_ec2fault":
            spec = req.json() or {}
            with self.lock:
                self.ec2faults.append(dict(spec, count=int(spec.get("count", 1))))
            return 200, {"ok": True}
        if req.method == "POST" and req.path == "/_ec2seed":
            # An instance made elsewhere (a Docker Machine store's), no host.
            spec = req.json() or {}
            with self.lock:
                inst = {"id": spec["instance_id"], "state": spec.get("state", "stopped"), "host": None,
                        "ip": spec.get("ip", ""), "image": "ami-04b70fa74e45c3917", "key": spec.get("key", ""),
                        "type": "t2.micro", "groups": [], "subnet": self.subnets[0]["id"],
                        "az": self.subnets[0]["az"], "tags": {}, "reservation": hexid("r-"),
                        "private_ip": "172.31.9.9", "launch": "2019-06-01T10:00:00.000Z", "token": ""}
                self.instances[inst["id"]] = inst
                if inst["key"]:
                    self.key_pairs[inst["key"]] = {"material": "ssh-ed25519 AAAA", "fingerprint": "x"}
            return 200, {"ok": True}
        return super().control(req)

    def dump_state(self):
        live = [self.inst_json(i) for i in self.instances.values() if i["state"] != "terminated"]
        return {"instances": live,
                "terminated": [i["id"] for i in self.instances.values() if i["state"] == "terminated"],
                "key_pairs": sorted(self.key_pairs),
                "security_groups": sorted(g["name"] for gid, g in self.groups.items() if gid != DEFAULT_SG)}

    def inst_json(self, i):
        return {"id": i["id"], "state": i["state"], "host": i["host"], "ip": i["ip"],
                "key": i["key"], "tags": i["tags"], "groups": i["groups"], "image": i["image"]}

    def dispatch(self, req):
        """The signature first: framework faults (/_fault) apply after it."""
        if not req.path.startswith("/_"):
            req.raw_query = "&".join("%s=%s" % (k, v) for k, vs in req.query.items() for v in vs)
            try:
                sigv4_check(req, self.accounts, self.log)
            except EC2Error as e:
                return e.status, self.err_xml(e.code, e.message), {}
        return super().dispatch(req)

    # ---- the API ----
    def query_api(self, req):
        try:
            ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype != "application/x-www-form-urlencoded":
                raise EC2Error(400, "InvalidParameterValue", "content type must be application/x-www-form-urlencoded")
            form = dict(parse_qsl(req.raw.decode(), keep_blank_values=True))
            action = form.get("Action", "")
            if not form.get("Version"):
                raise EC2Error(400, "MissingParameter", "The request must contain the parameter Version")
            with self.lock:
                f = next((f for f in self.ec2faults if f["count"] > 0 and f.get("action") == action), None)
                if f:
                    f["count"] -= 1
            if f and f.get("delay"):
                time.sleep(float(f["delay"]))  # then answered as usual
            elif f:
                raise EC2Error(int(f.get("status", 503)), f.get("code", "RequestLimitExceeded"),
                               f.get("message", "Request limit exceeded."))
            handler = getattr(self, "op_" + action, None)
            if not handler:
                raise EC2Error(400, "InvalidAction", "The action %s is not valid for this web service." % action)
            with self.lock:
                inner = handler(form)
            return 200, ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">'
                         "<requestId>%s</requestId>%s</%sResponse>"
                         % (action, NS, uuid.uuid4(), inner, action))
        except EC2Error as e:
            return e.status, self.err_xml(e.code, e.message)

    def op_DescribeAccountAttributes(self, f):
        attrs = [("supported-platforms", "VPC"), ("default-vpc", VPC), ("max-instances", "20")]
        return items("accountAttributeSet", [
            "<attributeName>%s</attributeName>%s" % (n, items("attributeValueSet", ["<attributeValue>%s</attributeValue>" % v]))
            for n, v in attrs])

    def op_DescribeImages(self, f):
        owners = numbered(f, "Owner")
        flt = filters(f)
        out = []
        for im in self.images:
            if owners and im["owner"] not in owners:
                continue
            if "name" in flt and not any(fnmatch.fnmatchcase(im["name"], p) for p in flt["name"]):
                continue
            if "architecture" in flt and im.get("arch", "x86_64") not in flt["architecture"]:
                continue
            if "state" in flt and "available" not in flt["state"]:
                continue
            out.append("<imageId>%s</imageId><imageLocation>%s/%s</imageLocation><imageState>available</imageState>"
                       "<imageOwnerId>%s</imageOwnerId><creationDate>%s</creationDate><isPublic>true</isPublic>"
                       "<architecture>%s</architecture><imageType>machine</imageType><name>%s</name>"
                       "<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/sda1</rootDeviceName>"
                       "<virtualizationType>hvm</virtualizationType>"
                       % (im["id"], im["owner"], x(im["name"]), im["owner"], im["date"],
                          im.get("arch", "x86_64"), x(im["name"])))
        return items("imagesSet", out)

    def subnet_xml(self, s):
        return ("<subnetId>%s</subnetId><state>available</state><vpcId>%s</vpcId><cidrBlock>%s</cidrBlock>"
                "<availableIpAddressCount>4091</availableIpAddressCount><availabilityZone>%s</availabilityZone>"
                "<defaultForAz>%s</defaultForAz><mapPublicIpOnLaunch>true</mapPublicIpOnLaunch>"
                % (s["id"], s["vpc"], s["cidr"], s["az"], "true" if s["default"] else "false"))

    def op_DescribeSubnets(self, f):
        flt = filters(f)
        ids = numbered(f, "SubnetId")
        out = []
        for s in self.subnets:
            if ids and s["id"] not in ids:
                continue
            if "subnet-id" in flt and s["id"] not in flt["subnet-id"]:
                continue
            if "vpc-id" in flt and s["vpc"] not in flt["vpc-id"]:
                continue
            # Docker Machine sends the zone letter alone with a custom endpoint.
            if "availability-zone" in flt and not any(z in (s["az"], s["az"][len(self.region):])
                                                      for z in flt["availability-zone"]):
                continue
            out.append(self.subnet_xml(s))
        return items("subnetSet", out)

    def op_DescribeKeyPairs(self, f):
        names = numbered(f, "KeyName")
        for n in names:
            if n not in self.key_pairs:
                raise EC2Error(400, "InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % n)
        return items("keySet", ["<keyName>%s</keyName><keyFingerprint>%s</keyFingerprint>"
                                % (x(n), self.key_pairs[n]["fingerprint"])
                                for n in sorted(self.key_pairs) if not names or n in names])

    def op_ImportKeyPair(self, f):
        name = f.get("KeyName", "")
        if not name:
            raise EC2Error(400, "MissingParameter", "The request must contain the parameter KeyName")
        if name in self.key_pairs:
            raise EC2Error(400, "InvalidKeyPair.Duplicate", "The keypair '%s' already exists." % name)
        try:
            material = base64.b64decode(f.get("PublicKeyMaterial", ""), validate=True).decode()
            kind, blob = material.split()[:2]
            raw = base64.b64decode(blob)
            assert kind in ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256")
        except Exception:
            raise EC2Error(400, "InvalidKey.Format", "Key is not in valid OpenSSH public key format")
        fp = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
        self.key_pairs[name] = {"material": "%s %s" % (kind, blob), "fingerprint": fp}
        return "<keyName>%s</keyName><keyFingerprint>%s</keyFingerprint><keyPairId>%s</keyPairId>" % (
            x(name), fp, hexid("key-"))

    def op_DeleteKeyPair(self, f):
        # EC2 answers true for a key pair that is not there.
        self.key_pairs.pop(f.get("KeyName", ""), None)
        return "<return>true</return>"

    def group_xml(self, gid, g):
        perms = ["<ipProtocol>%s</ipProtocol><fromPort>%s</fromPort><toPort>%s</toPort><groups/>%s"
                 "<ipv6Ranges/><prefixListIds/>" % (p[0], p[1], p[2], items("ipRanges", ["<cidrIp>%s</cidrIp>" % p[3]]))
                 for p in g["perms"]]
        return ("<ownerId>%s</ownerId><groupId>%s</groupId><groupName>%s</groupName>"
                "<groupDescription>%s</groupDescription><vpcId>%s</vpcId>%s"
                "<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item>"
                "<cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissionsEgress>%s"
                % (OWNER, gid, x(g["name"]), x(g["description"]), g["vpc"], items("ipPermissions", perms),
                   items("tagSet", ["<key>%s</key><value>%s</value>" % (x(k), x(v))
                                    for k, v in g.get("tags", {}).items()]) if g.get("tags") else ""))

    def op_DescribeSecurityGroups(self, f):
        ids = numbered(f, "GroupId")
        flt = filters(f)
        for i in ids:
            if i not in self.groups:
                raise EC2Error(400, "InvalidGroup.NotFound", "The security group '%s' does not exist" % i)
        out = []
        for gid, g in self.groups.items():
            if ids and gid not in ids:
                continue
            if "group-name" in flt and g["name"] not in flt["group-name"]:
                continue
            if "vpc-id" in flt and g["vpc"] not in flt["vpc-id"]:
                continue
            out.append(self.group_xml(gid, g))
        return items("securityGroupInfo", out)

    def op_CreateSecurityGroup(self, f):
        name, vpc = f.get("GroupName", ""), f.get("VpcId", VPC)
        if not name or "GroupDescription" not in f:
            raise EC2Error(400, "MissingParameter", "The request must contain the parameter GroupName and GroupDescription")
        if vpc != VPC:
            raise EC2Error(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc)
        if any(g["name"] == name and g["vpc"] == vpc for g in self.groups.values()):
            raise EC2Error(400, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'" % (name, vpc))
        gid = hexid("sg-")
        self.groups[gid] = {"name": name, "description": f["GroupDescription"], "vpc": vpc, "perms": [],
                            "tags": {}}
        return "<return>true</return><groupId>%s</groupId>" % gid

    def op_AuthorizeSecurityGroupIngress(self, f):
        gid = f.get("GroupId", "")
        if gid not in self.groups:
            raise EC2Error(400, "InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)
        g, i, new = self.groups[gid], 1, []
        while "IpPermissions.%d.IpProtocol" % i in f:
            p = "IpPermissions.%d." % i
            perm = (f[p + "IpProtocol"], int(f.get(p + "FromPort", -1)), int(f.get(p + "ToPort", -1)),
                    f.get(p + "IpRanges.1.CidrIp", ""))
            if perm in g["perms"] or perm in new:
                raise EC2Error(400, "InvalidPermission.Duplicate",
                               "the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists"
                               % (perm[3], perm[0].upper(), perm[1], perm[2]))
            new.append(perm)
            i += 1
        g["perms"].extend(new)
        return "<return>true</return>"

    def op_DeleteSecurityGroup(self, f):
        gid = f.get("GroupId", "")
        if gid not in self.groups:
            raise EC2Error(400, "InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)
        if gid == DEFAULT_SG:
            raise EC2Error(400, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user" % gid)
        if any(gid in i["groups"] for i in self.instances.values() if i["state"] != "terminated"):
            raise EC2Error(400, "DependencyViolation", "resource %s has a dependent object" % gid)
        del self.groups[gid]
        return "<return>true</return>"

    # ---- instances ----
    def set_state(self, inst, state):
        self.log("instance %s: %s -> %s" % (inst["id"], inst["state"], state))
        inst["state"] = state

    def op_RunInstances(self, f):
        token = f.get("ClientToken", "")
        same = next((i for i in self.instances.values() if token and i["token"] == token), None)
        if same:  # idempotent: the same answer again
            return self.run_answer(same)
        if f.get("MinCount") != "1" or f.get("MaxCount") != "1":
            raise EC2Error(400, "InvalidParameterValue", "this fake runs one instance a call")
        image = f.get("ImageId", "")
        if not any(im["id"] == image for im in self.images):
            raise EC2Error(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist" % image)
        key = f.get("KeyName", "")
        if key and key not in self.key_pairs:
            raise EC2Error(400, "InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % key)
        groups = numbered(f, "NetworkInterface.1.SecurityGroupId") or numbered(f, "SecurityGroupId")
        for g in groups:
            if g not in self.groups:
                raise EC2Error(400, "InvalidGroup.NotFound", "The security group '%s' does not exist" % g)
        subnet_id = f.get("NetworkInterface.1.SubnetId") or f.get("SubnetId") or self.subnets[0]["id"]
        subnet = next((s for s in self.subnets if s["id"] == subnet_id), None)
        if not subnet:
            raise EC2Error(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist" % subnet_id)
        n = self.pool.take()
        if n is None:
            raise EC2Error(500, "InsufficientInstanceCapacity", "We currently do not have sufficient capacity in the Availability Zone you requested.")
        self.next_ip += 1
        inst = {"id": hexid("i-"), "state": "pending", "host": n, "ip": "", "image": image, "key": key,
                "type": f.get("InstanceType", "m1.small"), "groups": groups or [DEFAULT_SG],
                "subnet": subnet["id"], "az": subnet["az"], "tags": {}, "reservation": hexid("r-"),
                "private_ip": "172.31.%d.%d" % (self.next_ip // 250, self.next_ip % 250 + 2),
                "launch": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "token": token}
        self.instances[inst["id"]] = inst
        pubkeys = [self.key_pairs[key]["material"]] if key else []

        def up(ip, err):
            with self.lock:
                if inst["state"] != "pending":
                    # Terminated while it booted (a delayed IP): down again.
                    if ip:
                        self.pool.release(n)
                    return
                if not ip:
                    self.log("instance %s: host did not boot: %s" % (inst["id"], err))
                    self.set_state(inst, "terminated")
                    return
                inst["ip"] = ip
                self.set_state(inst, "running")

        self.pool.boot(n, pubkeys, up, delay=self.ip_delay)
        return self.run_answer(inst)

    def run_answer(self, inst):
        return ("<reservationId>%s</reservationId><ownerId>%s</ownerId>%s%s"
                % (inst["reservation"], OWNER, items("groupSet", ["<groupId>%s</groupId>" % g for g in inst["groups"]]),
                   items("instancesSet", [self.instance_xml(inst)])))

    def instance_xml(self, i):
        tags = items("tagSet", ["<key>%s</key><value>%s</value>" % (x(k), x(v)) for k, v in i["tags"].items()])
        ip = "<ipAddress>%s</ipAddress>" % i["ip"] if i["ip"] and i["state"] in ("pending", "running", "stopping") else ""
        priv = "<privateIpAddress>%s</privateIpAddress>" % i["private_ip"] if i["state"] != "terminated" else ""
        return ("<instanceId>%s</instanceId><imageId>%s</imageId><instanceState><code>%d</code><name>%s</name>"
                "</instanceState><privateDnsName>ip-%s.ec2.internal</privateDnsName><dnsName/>"
                "<keyName>%s</keyName><amiLaunchIndex>0</amiLaunchIndex><instanceType>%s</instanceType>"
                "<launchTime>%s</launchTime><placement><availabilityZone>%s</availabilityZone><tenancy>default</tenancy>"
                "</placement><monitoring><state>disabled</state></monitoring><subnetId>%s</subnetId><vpcId>%s</vpcId>"
                "%s%s%s<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
                "<rootDeviceName>/dev/sda1</rootDeviceName><virtualizationType>hvm</virtualizationType>%s%s"
                % (i["id"], i["image"], STATE_CODES[i["state"]], i["state"], i["private_ip"].replace(".", "-"),
                   x(i["key"]), x(i["type"]), i["launch"], i["az"], i["subnet"], VPC, priv, ip,
                   items("groupSet", ["<groupId>%s</groupId><groupName>%s</groupName>"
                                      % (g, x(self.groups.get(g, {}).get("name", ""))) for g in i["groups"]]),
                   tags, "<clientToken>%s</clientToken>" % x(i["token"]) if i["token"] else "<clientToken/>"))

    def lookup(self, ids):
        if not ids:
            raise EC2Error(400, "MissingParameter", "The request must contain the parameter InstanceId")
        out = []
        for i in ids:
            if i not in self.instances:
                raise EC2Error(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % i)
            out.append(self.instances[i])
        return out

    def op_DescribeInstances(self, f):
        ids = numbered(f, "InstanceId")
        insts = self.lookup(ids) if ids else list(self.instances.values())
        flt = filters(f)
        if "client-token" in flt:
            insts = [i for i in insts if i["token"] in flt["client-token"]]
        if "instance-state-name" in flt:
            insts = [i for i in insts if i["state"] in flt["instance-state-name"]]
        return items("reservationSet", [
            "<reservationId>%s</reservationId><ownerId>%s</ownerId><groupSet/>%s"
            % (i["reservation"], OWNER, items("instancesSet", [self.instance_xml(i)])) for i in insts])

    def change(self, f, fn):
        rows = []
        for inst in self.lookup(numbered(f, "InstanceId")):
            prev = inst["state"]
            fn(inst)
            rows.append("<instanceId>%s</instanceId><currentState><code>%d</code><name>%s</name></currentState>"
                        "<previousState><code>%d</code><name>%s</name></previousState>"
                        % (inst["id"], STATE_CODES[inst["state"]], inst["state"], STATE_CODES[prev], prev))
        return items("instancesSet", rows)

    def later(self, seconds, fn):
        def run():
            time.sleep(seconds)
            with self.lock:
                fn()
        threading.Thread(target=run, daemon=True).start()

    def op_StopInstances(self, f):
        force = f.get("Force") == "true"

        def stop(inst):
            if inst["state"] in ("stopped", "stopping"):
                return
            if inst["state"] not in ("running", "pending"):
                raise EC2Error(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be stopped." % inst["id"])
            self.set_state(inst, "stopping")
            if inst["host"] is not None:
                self.pool.power_off(inst["host"])

            def done():
                if inst["state"] == "stopping":
                    self.set_state(inst, "stopped")
            self.later(0.3 if force else 1.0, done)
        return self.change(f, stop)

    def op_StartInstances(self, f):
        def start(inst):
            if inst["state"] in ("running", "pending"):
                return
            if inst["state"] != "stopped":
                raise EC2Error(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started." % inst["id"])
            self.set_state(inst, "pending")
            if inst["host"] is not None:
                self.pool.power_on(inst["host"])

            def done():
                if inst["state"] == "pending":
                    self.set_state(inst, "running")
            self.later(1.0, done)
        return self.change(f, start)

    def op_RebootInstances(self, f):
        for inst in self.lookup(numbered(f, "InstanceId")):
            if inst["state"] != "running":
                raise EC2Error(400, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be rebooted." % inst["id"])
            self.pool.reboot(inst["host"], lambda: None)
        return "<return>true</return>"

    def op_TerminateInstances(self, f):
        def term(inst):
            if inst["state"] in ("terminated", "shutting-down"):
                return
            self.set_state(inst, "shutting-down")
            host = inst["host"]

            def gone():
                if host is not None:
                    self.pool.release(host, wait=True)
                with self.lock:
                    self.set_state(inst, "terminated")
            threading.Thread(target=gone, daemon=True).start()
        return self.change(f, term)

    def op_CreateTags(self, f):
        ids = numbered(f, "ResourceId")
        tags, i = {}, 1
        while "Tag.%d.Key" % i in f:
            tags[f["Tag.%d.Key" % i]] = f.get("Tag.%d.Value" % i, "")
            i += 1
        for r in ids:
            if r in self.instances:
                self.instances[r]["tags"].update(tags)
            elif r in self.groups:
                self.groups[r].setdefault("tags", {}).update(tags)
            else:
                raise EC2Error(400, "InvalidID", "The ID '%s' is not valid" % r)
        return "<return>true</return>"


def extra(p):
    p.add_argument("--access-key", default="AKIDFAKEEC2EXAMPLE")
    p.add_argument("--secret-key", default="fake/ec2+secret/KEY0123456789EXAMPLE")
    p.add_argument("--session-token", default="")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", nargs=3, action="append", metavar=("AK", "SK", "TOKEN"),
                   help="another key of the same account; TOKEN: its session token ('' for none)")


if __name__ == "__main__":
    fakecloud.main(EC2, "A fake Amazon EC2 Query API whose instances are lab hosts.", extra)
