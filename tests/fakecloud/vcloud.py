#!/usr/bin/env python3
"""A fake VMware Cloud Director vCloud API (XML, version 5.6) for the
vmwarevcloudair driver: one organization with one VDC, a routed network,
an edge gateway whose public IPs are the lab hosts' addresses, one catalog
with one item. Each vApp's VM is a real lab host (booted at its first
powerOn with the keys its guest customization script authorizes for root).

    vcloud.py --port-file F --hosts 41-44 --user U --password P [--org O --vdc V]

Checked: Basic auth (USER@ORG:PASSWORD) on POST /api/sessions, the
x-vcloud-authorization token on every other call (401 otherwise), the
Accept version, content types of PUT/POST bodies. Every change answers a
Task (running, then success; error with an Error element when the fake
refuses). NAT: a DNAT rule must map a public IP 10.213.N.2 to the VM whose
lab host is N (192.168.109.N inside), else configureServices fails.
Extra control: POST /_task_error {"op": "powerOn"} makes the next task of
that operation end in error.
"""
import base64, re, secrets, threading, time, uuid
import xml.etree.ElementTree as ET
import fakecloud
from fakecloud import Reply

NS = "http://www.vmware.com/vcloud/v1.5"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
T = "application/vnd.vmware.vcloud."


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def q(tag):
    return "{%s}%s" % (NS, tag)


class VCloud(fakecloud.FakeCloud):
    content_type = "application/*+xml;version=5.6"
    routes = [
        ("POST", r"/api/sessions", "sessions"),
        ("DELETE", r"/api/session", "logout"),
        ("GET", r"/api/org/?", "orglist"),
        ("GET", r"/api/org/([^/]+)", "org"),
        ("GET", r"/api/vdc/([^/]+)", "vdc"),
        ("GET", r"/api/admin/vdc/([^/]+)/edgeGateways", "edges"),
        ("GET", r"/api/admin/edgeGateway/([^/]+)", "edge"),
        ("POST", r"/api/admin/edgeGateway/([^/]+)/action/configureServices", "configure"),
        ("GET", r"/api/catalog/([^/]+)", "catalog"),
        ("GET", r"/api/catalogItem/([^/]+)", "catalog_item"),
        ("GET", r"/api/vAppTemplate/([^/]+)", "template"),
        ("POST", r"/api/vdc/([^/]+)/action/instantiateVAppTemplate", "instantiate"),
        ("GET", r"/api/vApp/(vapp-[^/]+)", "get_vapp"),
        ("DELETE", r"/api/vApp/(vapp-[^/]+)", "delete_vapp"),
        ("POST", r"/api/vApp/(vapp-[^/]+)/power/action/(powerOn|powerOff|shutdown|reset)", "power"),
        ("POST", r"/api/vApp/(vapp-[^/]+)/action/undeploy", "undeploy"),
        ("PUT", r"/api/vApp/(vm-[^/]+)/virtualHardwareSection/(cpu|memory)", "hardware"),
        ("PUT", r"/api/vApp/(vm-[^/]+)/guestCustomizationSection/?", "customize"),
        ("GET", r"/api/task/([^/]+)", "get_task"),
    ]

    def __init__(self, args):
        super().__init__(args)
        self.tokens = set()
        self.vapps = {}       # vapp id -> dict
        self.tasks = {}
        self.task_errors = {}
        self.nat = []         # [{"desc","orig_ip","orig_port","ip","port"}]
        self.fw = []
        self.org_id = str(uuid.uuid4())
        self.vdc_id = str(uuid.uuid4())
        self.edge_id = str(uuid.uuid4())
        self.cat_id = str(uuid.uuid4())
        self.item_id = str(uuid.uuid4())
        self.tmpl_id = "vappTemplate-" + str(uuid.uuid4())
        self.net_id = str(uuid.uuid4())
        self.public_ips = ["10.213.%d.2" % n for n in self.pool.free]

    # ---- framework hooks ----
    def base(self, req):
        return "http://%s" % req.headers.get("Host")

    def error_body(self, status, message):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error xmlns="%s" stackTrace="" '
                'majorErrorCode="%d" message="%s" minorErrorCode="%s"/>'
                % (NS, status, esc(message), {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "ACCESS_TO_RESOURCE_IS_FORBIDDEN",
                                             404: "RESOURCE_NOT_FOUND"}.get(status, "INTERNAL_SERVER_ERROR")))

    def dump_state(self):
        return {"vapps": [{"id": k, "name": v["name"], "status": v["status"], "host": v["host"],
                           "cpu": v["cpu"], "memory": v["memory"], "script": v["script"]}
                          for k, v in self.vapps.items()],
                "nat_rules": list(self.nat), "firewall_rules": list(self.fw)}

    def control(self, req):
        if req.method == "POST" and req.path == "/_task_error":
            with self.lock:
                self.task_errors[(req.json() or {})["op"]] = True
            return 200, {"ok": True}
        return super().control(req)

    def dispatch(self, req):
        if not req.path.startswith("/_"):
            accept = req.headers.get("Accept", "")
            if "version=" not in accept:
                return 406, self.error_body(406, "The request has invalid accept header: no version"), {}
            if req.path != "/api/sessions" and req.headers.get("x-vcloud-authorization") not in self.tokens:
                return 401, self.error_body(401, "This operation is denied."), {}
        return super().dispatch(req)

    # ---- tasks ----
    def task(self, req, op, owner, work=None, error=None):
        """A Task: running until work() (if any) calls done(err)."""
        tid = str(uuid.uuid4())
        t = {"id": tid, "op": op, "owner": owner, "status": "running", "error": None}
        with self.lock:
            if self.task_errors.pop(op, None):
                error = "injected task error of %s" % op
            self.tasks[tid] = t

        def done(err=None):
            with self.lock:
                t["status"] = "error" if err else "success"
                t["error"] = err
        if error:
            threading.Timer(0.1, done, args=(error,)).start()
        elif work:
            work(done)
        else:
            threading.Timer(0.1, done).start()
        return t

    def task_xml(self, req, t):
        b = self.base(req)
        err = ('<Error majorErrorCode="500" message="%s" minorErrorCode="INTERNAL_SERVER_ERROR"/>' % esc(t["error"])
               if t["error"] else "")
        return ('<Task xmlns="%s" status="%s" operationName="%s" name="task" id="urn:vcloud:task:%s" '
                'href="%s/api/task/%s" type="%stask+xml"><Owner href="%s"/>%s</Task>'
                % (NS, t["status"], t["op"], t["id"], b, t["id"], T, esc(t["owner"]), err))

    def get_task(self, req, tid):
        with self.lock:
            t = self.tasks.get(tid)
        if not t:
            raise Reply(404, self.error_body(404, "No access to entity task"))
        return 200, self.task_xml(req, t)

    # ---- session, org, vdc ----
    def sessions(self, req):
        auth = req.headers.get("Authorization", "")
        try:
            user, pw = base64.b64decode(auth[6:]).decode().split(":", 1) if auth.startswith("Basic ") else ("", "")
        except Exception:
            user, pw = "", ""
        if user != "%s@%s" % (self.args.user, self.args.org) or pw != self.args.password:
            raise Reply(401, self.error_body(401, "Unauthorized"))
        tok = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(tok)
        b = self.base(req)
        return 200, ('<Session xmlns="%s" user="%s" org="%s" href="%s/api/session/" type="%ssession+xml">'
                     '<Link rel="down" type="%sorgList+xml" href="%s/api/org/"/>'
                     '<Link rel="remove" href="%s/api/session/"/></Session>'
                     % (NS, esc(self.args.user), esc(self.args.org), b, T, T, b, b)), {"x-vcloud-authorization": tok}

    def logout(self, req):
        with self.lock:
            self.tokens.discard(req.headers.get("x-vcloud-authorization"))
        return 204, None

    def orglist(self, req):
        b = self.base(req)
        return 200, ('<OrgList xmlns="%s" href="%s/api/org/" type="%sorgList+xml"><Org type="%sorg+xml" '
                     'name="%s" href="%s/api/org/%s"/></OrgList>' % (NS, b, T, T, esc(self.args.org), b, self.org_id))

    def org(self, req, oid):
        if oid != self.org_id:
            raise Reply(403, self.error_body(403, "No access to entity org"))
        b = self.base(req)
        return 200, ('<Org xmlns="%s" name="%s" href="%s/api/org/%s" type="%sorg+xml">'
                     '<Link rel="down" type="%svdc+xml" name="%s" href="%s/api/vdc/%s"/>'
                     '<Link rel="down" type="%scatalog+xml" name="%s" href="%s/api/catalog/%s"/>'
                     '<FullName>%s</FullName></Org>'
                     % (NS, esc(self.args.org), b, oid, T, T, esc(self.args.vdc), b, self.vdc_id, T,
                        esc(self.args.catalog), b, self.cat_id, esc(self.args.org)))

    def vdc(self, req, vid):
        if vid != self.vdc_id:
            raise Reply(403, self.error_body(403, "No access to entity vdc"))
        b = self.base(req)
        with self.lock:
            ents = "".join('<ResourceEntity type="%svApp+xml" name="%s" href="%s/api/vApp/%s"/>'
                           % (T, esc(v["name"]), b, k) for k, v in self.vapps.items())
        return 200, ('<Vdc xmlns="%s" status="1" name="%s" href="%s/api/vdc/%s" type="%svdc+xml">'
                     '<Link rel="add" type="%sinstantiateVAppTemplateParams+xml" href="%s/api/vdc/%s/action/instantiateVAppTemplate"/>'
                     '<Link rel="edgeGateways" type="%squery.records+xml" href="%s/api/admin/vdc/%s/edgeGateways"/>'
                     '<ResourceEntities>%s</ResourceEntities>'
                     '<AvailableNetworks><Network type="%snetwork+xml" name="%s" href="%s/api/network/%s"/></AvailableNetworks>'
                     '</Vdc>' % (NS, esc(self.args.vdc), b, vid, T, T, b, vid, T, b, vid, ents, T,
                                 esc(self.args.vdc + "-default-routed"), b, self.net_id))

    def edges(self, req, vid):
        b = self.base(req)
        return 200, ('<QueryResultRecords xmlns="%s" total="1" name="edgeGateway" type="%squery.records+xml">'
                     '<EdgeGatewayRecord name="%s" href="%s/api/admin/edgeGateway/%s" gatewayStatus="READY"/>'
                     '</QueryResultRecords>' % (NS, T, esc(self.args.vdc), b, self.edge_id))

    def edge(self, req, eid):
        if eid != self.edge_id:
            raise Reply(403, self.error_body(403, "No access to entity edgeGateway"))
        b = self.base(req)
        with self.lock:
            nat = "".join('<NatRule><Description>%s</Description><RuleType>DNAT</RuleType><IsEnabled>true</IsEnabled>'
                          '<Id>%d</Id><GatewayNatRule><Interface href="%s/api/admin/network/ext"/>'
                          '<OriginalIp>%s</OriginalIp><OriginalPort>%s</OriginalPort><TranslatedIp>%s</TranslatedIp>'
                          '<TranslatedPort>%s</TranslatedPort><Protocol>tcp</Protocol></GatewayNatRule></NatRule>'
                          % (esc(r["desc"]), 65537 + i, b, r["orig_ip"], r["orig_port"], r["ip"], r["port"])
                          for i, r in enumerate(self.nat))
            fw = "".join('<FirewallRule><Id>%d</Id><IsEnabled>true</IsEnabled><Description>%s</Description>'
                         '<Policy>allow</Policy><Protocols><Tcp>true</Tcp></Protocols><DestinationPortRange>%s'
                         '</DestinationPortRange><DestinationIp>%s</DestinationIp><SourcePortRange>Any</SourcePortRange>'
                         '<SourceIp>Any</SourceIp></FirewallRule>' % (i + 1, esc(r["desc"]), r["port"], r["ip"])
                         for i, r in enumerate(self.fw))
        subs = "".join('<IpRange><StartAddress>%s</StartAddress><EndAddress>%s</EndAddress></IpRange>' % (ip, ip)
                       for ip in self.public_ips)
        return 200, ('<EdgeGateway xmlns="%s" status="1" name="%s" href="%s/api/admin/edgeGateway/%s" type="application/vnd.vmware.admin.edgeGateway+xml">'
                     '<Link rel="edgeGateway:configureServices" type="application/vnd.vmware.admin.edgeGatewayServiceConfiguration+xml" href="%s/api/admin/edgeGateway/%s/action/configureServices"/>'
                     '<Configuration><GatewayBackingConfig>compact</GatewayBackingConfig><GatewayInterfaces>'
                     '<GatewayInterface><Name>ext</Name><Network type="application/vnd.vmware.admin.network+xml" name="ext" href="%s/api/admin/network/ext"/>'
                     '<InterfaceType>uplink</InterfaceType><SubnetParticipation><Gateway>10.213.0.1</Gateway><Netmask>255.255.0.0</Netmask>'
                     '<IpRanges>%s</IpRanges></SubnetParticipation></GatewayInterface>'
                     '<GatewayInterface><Name>%s</Name><Network href="%s/api/admin/network/%s"/><InterfaceType>internal</InterfaceType></GatewayInterface>'
                     '</GatewayInterfaces><EdgeGatewayServiceConfiguration>'
                     '<FirewallService><IsEnabled>true</IsEnabled><DefaultAction>drop</DefaultAction><LogDefaultAction>false</LogDefaultAction>%s</FirewallService>'
                     '<NatService><IsEnabled>true</IsEnabled>%s</NatService>'
                     '</EdgeGatewayServiceConfiguration></Configuration></EdgeGateway>'
                     % (NS, esc(self.args.vdc), b, eid, b, eid, b, subs, esc(self.args.vdc + "-default-routed"), b,
                        self.net_id, fw, nat))

    def configure(self, req, eid):
        if req.headers.get("Content-Type") != "application/vnd.vmware.admin.edgeGatewayServiceConfiguration+xml":
            raise Reply(415, self.error_body(415, "bad content type"))
        try:
            root = ET.fromstring(req.raw)
        except ET.ParseError as e:
            raise Reply(400, self.error_body(400, "bad XML: %s" % e))
        if root.tag != q("EdgeGatewayServiceConfiguration"):
            raise Reply(400, self.error_body(400, "want EdgeGatewayServiceConfiguration"))
        nat, fw = [], []
        for r in root.iter(q("NatRule")):
            g = r.find(q("GatewayNatRule"))
            rule = {"desc": r.findtext(q("Description"), ""), "orig_ip": g.findtext(q("OriginalIp")),
                    "orig_port": g.findtext(q("OriginalPort")), "ip": g.findtext(q("TranslatedIp")),
                    "port": g.findtext(q("TranslatedPort"))}
            if r.findtext(q("RuleType")) != "DNAT":
                raise Reply(400, self.error_body(400, "the fake knows DNAT rules only"))
            if rule["orig_ip"] not in self.public_ips:
                raise Reply(400, self.error_body(400, "%s is not a public IP of this edge gateway" % rule["orig_ip"]))
            n = int(rule["orig_ip"].split(".")[2])
            if rule["ip"] != "192.168.109.%d" % n:
                raise Reply(400, self.error_body(400, "the fake NATs %s only to 192.168.109.%d" % (rule["orig_ip"], n)))
            nat.append(rule)
        for r in root.iter(q("FirewallRule")):
            fw.append({"desc": r.findtext(q("Description"), ""), "port": r.findtext(q("DestinationPortRange")),
                       "ip": r.findtext(q("DestinationIp"))})
        with self.lock:
            self.nat, self.fw = nat, fw
        b = self.base(req)
        return 202, self.task_xml(req, self.task(req, "networkConfigureEdgeGatewayServices",
                                                 "%s/api/admin/edgeGateway/%s" % (b, eid)))

    def catalog(self, req, cid):
        if cid != self.cat_id:
            raise Reply(403, self.error_body(403, "No access to entity catalog"))
        b = self.base(req)
        return 200, ('<Catalog xmlns="%s" name="%s" href="%s/api/catalog/%s" type="%scatalog+xml"><CatalogItems>'
                     '<CatalogItem type="%scatalogItem+xml" name="%s" href="%s/api/catalogItem/%s"/>'
                     '</CatalogItems></Catalog>' % (NS, esc(self.args.catalog), b, cid, T, T, esc(self.args.item), b, self.item_id))

    def catalog_item(self, req, iid):
        if iid != self.item_id:
            raise Reply(403, self.error_body(403, "No access to entity catalogItem"))
        b = self.base(req)
        return 200, ('<CatalogItem xmlns="%s" name="%s" href="%s/api/catalogItem/%s" type="%scatalogItem+xml">'
                     '<Entity type="%svAppTemplate+xml" name="%s" href="%s/api/vAppTemplate/%s"/></CatalogItem>'
                     % (NS, esc(self.args.item), b, iid, T, T, esc(self.args.item), b, self.tmpl_id))

    def template(self, req, tid):
        b = self.base(req)
        return 200, ('<VAppTemplate xmlns="%s" status="8" name="%s" href="%s/api/vAppTemplate/%s"/>'
                     % (NS, esc(self.args.item), b, tid))

    # ---- vApps ----
    def instantiate(self, req, vid):
        if req.headers.get("Content-Type") != T + "instantiateVAppTemplateParams+xml":
            raise Reply(415, self.error_body(415, "bad content type"))
        try:
            root = ET.fromstring(req.raw)
        except ET.ParseError as e:
            raise Reply(400, self.error_body(400, "bad XML: %s" % e))
        src = root.find(q("Source"))
        if root.tag != q("InstantiateVAppTemplateParams") or src is None or not src.get("href", "").endswith(self.tmpl_id):
            raise Reply(400, self.error_body(400, "bad InstantiateVAppTemplateParams"))
        name = root.get("name")
        with self.lock:
            if any(v["name"] == name for v in self.vapps.values()):
                raise Reply(400, self.error_body(400, "The VCD entity %s already exists." % name))
        n = self.pool.take()
        if n is None:
            raise Reply(400, self.error_body(400, "The operation failed because no suitable resource was found."))
        aid = "vapp-" + str(uuid.uuid4())
        v = {"name": name, "status": 0, "host": n, "vm": "vm-" + str(uuid.uuid4()), "cpu": 1, "memory": 1024,
             "script": "", "booted": False, "deleted": False}
        with self.lock:
            self.vapps[aid] = v
        def work(done):
            def fin():
                with self.lock:
                    v["status"] = 8
                done()
            threading.Timer(0.2, fin).start()
        t = self.task(req, "vdcInstantiateVapp", "%s/api/vApp/%s" % (self.base(req), aid), work)
        return 201, self.vapp_xml(req, aid, v, [t])

    def vapp_xml(self, req, aid, v, tasks=()):
        b = self.base(req)
        tx = "<Tasks>%s</Tasks>" % "".join(self.task_xml(req, t) for t in tasks) if tasks else ""
        return ('<VApp xmlns="%s" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" status="%d" name="%s" id="urn:vcloud:vapp:%s" '
                'href="%s/api/vApp/%s" type="%svApp+xml">%s<Children><Vm status="%d" name="%s" href="%s/api/vApp/%s" type="%svm+xml">'
                '<NetworkConnectionSection><ovf:Info>Network</ovf:Info><PrimaryNetworkConnectionIndex>0</PrimaryNetworkConnectionIndex>'
                '<NetworkConnection network="%s"><NetworkConnectionIndex>0</NetworkConnectionIndex><IpAddress>192.168.109.%d</IpAddress>'
                '<IsConnected>true</IsConnected><IpAddressAllocationMode>POOL</IpAddressAllocationMode></NetworkConnection>'
                '</NetworkConnectionSection></Vm></Children></VApp>'
                % (NS, v["status"], esc(v["name"]), aid[5:], b, aid, T, tx, v["status"], esc(v["name"]), b, v["vm"], T,
                   esc(self.args.vdc + "-default-routed"), v["host"]))

    def find(self, aid):
        with self.lock:
            v = self.vapps.get(aid)
        if not v:
            raise Reply(403, self.error_body(403, "No access to entity \"com.vmware.vcloud.entity.vapp:%s\"." % aid[5:]))
        return v

    def get_vapp(self, req, aid):
        v = self.find(aid)
        return 200, self.vapp_xml(req, aid, v)

    def by_vm(self, vmid):
        with self.lock:
            for k, v in self.vapps.items():
                if v["vm"] == vmid:
                    return k, v
        raise Reply(403, self.error_body(403, "No access to entity vm"))

    def hardware(self, req, vmid, what):
        aid, v = self.by_vm(vmid)
        if req.headers.get("Content-Type") != T + "rasdItem+xml":
            raise Reply(415, self.error_body(415, "bad content type"))
        root = ET.fromstring(req.raw)
        qty = root.findtext("{%s}VirtualQuantity" % RASD)
        if not qty or not qty.isdigit():
            raise Reply(400, self.error_body(400, "bad rasd:Item"))
        with self.lock:
            v[what] = int(qty)
        return 202, self.task_xml(req, self.task(req, "vappUpdateVm", "%s/api/vApp/%s" % (self.base(req), vmid)))

    def customize(self, req, vmid):
        aid, v = self.by_vm(vmid)
        if req.headers.get("Content-Type") != T + "guestCustomizationSection+xml":
            raise Reply(415, self.error_body(415, "bad content type"))
        root = ET.fromstring(req.raw)
        with self.lock:
            v["script"] = root.findtext(q("CustomizationScript"), "")
        return 202, self.task_xml(req, self.task(req, "vappUpdateVm", "%s/api/vApp/%s" % (self.base(req), vmid)))

    def power(self, req, aid, op):
        v = self.find(aid)
        owner = "%s/api/vApp/%s" % (self.base(req), aid)
        if v["status"] == 0:
            raise Reply(400, self.error_body(400, "The requested operation could not be executed since vApp \"%s\" is not resolved." % v["name"]))
        if op == "powerOn":
            if v["status"] == 4:
                raise Reply(400, self.error_body(400, "The requested operation could not be executed since vApp \"%s\" is already powered on." % v["name"]))
            def work(done):
                if v["booted"]:
                    self.pool.power_on(v["host"])
                    with self.lock:
                        v["status"] = 4
                    return done()
                keys = re.findall(r"(ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+)", v["script"])
                if not keys:
                    return done("the guest customization script authorizes no key")
                def booted(ip, err):
                    with self.lock:
                        if ip and not v["deleted"]:
                            v["booted"] = True
                            v["status"] = 4
                    done(err)
                self.pool.boot(v["host"], keys, booted, delay=self.ip_delay)
            return 202, self.task_xml(req, self.task(req, "vappDeploy", owner, work))
        if v["status"] != 4:
            raise Reply(400, self.error_body(400, "The requested operation could not be executed since vApp \"%s\" is not running." % v["name"]))
        if op in ("powerOff", "shutdown"):
            self.pool.power_off(v["host"])
            with self.lock:
                v["status"] = 8
            return 202, self.task_xml(req, self.task(req, "vappPowerOff" if op == "powerOff" else "vappShutdownGuest", owner))
        def work(done):
            self.pool.reboot(v["host"], lambda: done())
        return 202, self.task_xml(req, self.task(req, "vappReset", owner, work))

    def undeploy(self, req, aid):
        v = self.find(aid)
        if v["status"] == 4:
            self.pool.power_off(v["host"])
        with self.lock:
            v["status"] = 8
        return 202, self.task_xml(req, self.task(req, "vappUndeployPowerOff", "%s/api/vApp/%s" % (self.base(req), aid)))

    def delete_vapp(self, req, aid):
        v = self.find(aid)
        if v["status"] == 4:
            raise Reply(400, self.error_body(400, "The requested operation could not be executed since vApp \"%s\" is running." % v["name"]))
        with self.lock:
            v["deleted"] = True
            del self.vapps[aid]
        self.pool.release(v["host"])
        return 202, self.task_xml(req, self.task(req, "vdcDeleteVapp", "%s/api/vApp/%s" % (self.base(req), aid)))


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--user", required=True)
        p.add_argument("--password", required=True)
        p.add_argument("--org", default="machinefs-org")
        p.add_argument("--vdc", default="machinefs-vdc")
        p.add_argument("--catalog", default="Public Catalog")
        p.add_argument("--item", default="Ubuntu Server 12.04 LTS (amd64 20150127)")
    fakecloud.main(VCloud, "fake vCloud Director", extra)
