#!/usr/bin/env python3
"""A fake VMware (vmrun and vmware-vdiskmanager) for the vmwarefusion
driver's tests. Both names are links to this file. It has never been
compared with a real VMware: the answers follow VMware's documentation
of vmrun ("Total running VMs: N", "Error: ..." on stdout, exit 255).

Every call is recorded in $FAKEVMWARE_LOG as "TOOL ARGS" (one line).
State lives in $FAKEVMWARE_DIR: running.json (the .vmx real paths of the
running VMs), vmnet8/dhcpd.leases (a lease per VM started), guest/NAME/
(files copied into a guest, and what runScriptInGuest's tar unpacked).

vmrun: [-T ws|fusion] [-gu USER -gp PASSWORD] COMMAND ARGS:
  list, start VMX [gui|nogui], stop VMX [soft|hard], reset VMX,
  deleteVM VMX, getGuestIPAddress VMX, directoryExistsInGuest VMX DIR,
  CopyFileFromHostToGuest VMX SRC DST, runScriptInGuest VMX SHELL TEXT,
  enableSharedFolders VMX, addSharedFolder VMX NAME DIR.
  start writes ethernet0.generatedAddress into the .vmx (as VMware does at
  the first power-on) and a DHCP lease for it.
vmware-vdiskmanager -c -t 0 -s SIZE -a ADAPTER FILE: writes a descriptor.

Knobs (environment, or KEY=VALUE lines in $FAKEVMWARE_DIR/knobs):
  FAKEVMWARE_GUEST_IP       the leased address (127.0.0.1)
  FAKEVMWARE_TOOLS          set: VMware Tools run (getGuestIPAddress answers)
  FAKEVMWARE_NO_LEASE       set: start writes no lease
  FAKEVMWARE_GUEST_USER/_PASSWORD  guest credentials (docker/tcuser)
  FAKEVMWARE_FAIL           a vmrun command (or "stop soft") that fails
  FAKEVMWARE_SOFT_POLLS     list calls a VM stays running after stop soft
                            (0; "never": soft stop never ends it)
Test-only, not recorded: vmrun --fake-set-running VMX 0|1
"""
import fcntl, json, os, random, shutil, sys, tarfile

D = os.environ.get("FAKEVMWARE_DIR", "/tmp/fakevmware")
os.makedirs(D, exist_ok=True)
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
lock = open(os.path.join(D, "lock"), "w")
fcntl.flock(lock, fcntl.LOCK_EX)
try:
    with open(os.path.join(D, "knobs")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                os.environ[k] = v
except FileNotFoundError:
    pass
knob = os.environ.get

if args[:1] != ["--fake-set-running"] and knob("FAKEVMWARE_LOG"):
    with open(knob("FAKEVMWARE_LOG"), "a") as f:
        f.write(" ".join([tool] + args) + "\n")


def die(msg):
    print("Error: %s" % msg)
    sys.exit(255)


def load(name, default):
    try:
        with open(os.path.join(D, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save(name, data):
    tmp = os.path.join(D, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.rename(tmp, os.path.join(D, name))


if tool == "vmware-vdiskmanager":
    if len(args) != 8 or args[0] != "-c" or args[1] != "-t" or args[3] != "-s" or args[5] != "-a":
        print("Usage: vmware-vdiskmanager OPTIONS <disk-name> | <mount-point>")
        sys.exit(1)
    dest = args[7]
    if os.path.exists(dest):
        print("Creating disk '%s'\nFailed to create disk: The file already exists (0x17)" % dest)
        sys.exit(1)
    size = args[4]
    mb = int(size[:-2]) if size.endswith("MB") else int(size[:-2]) * 1024
    with open(dest, "w") as f:
        f.write('# Disk DescriptorFile\nversion=1\ncreateType="monolithicSparse"\n'
                'RW %d SPARSE "%s"\nddb.adapterType = "%s"\n' % (mb * 2048, os.path.basename(dest), args[6]))
    print("Creating disk '%s'\n  Create: 100%% done.\nVirtual disk creation successful." % dest)
    sys.exit(0)

# ---- vmrun ----
if args[:1] == ["-T"]:
    if len(args) < 2 or args[1] not in ("ws", "fusion", "player", "server", "server1", "esx", "vc"):
        die("Unrecognized host type")
    args = args[2:]
guest = None
if args[:1] == ["-gu"]:
    if len(args) < 4 or args[2] != "-gp":
        die("Invalid argument: -gu without -gp")
    guest = (args[1], args[3])
    args = args[4:]
cmd = args[0] if args else ""
running = load("running.json", {})


def vm(path):
    real = os.path.realpath(path)
    if not os.path.exists(real):
        die("Cannot open VM: %s, The virtual machine cannot be found" % path)
    return real


fail = knob("FAKEVMWARE_FAIL", "")
if fail and (fail == cmd or fail == " ".join([cmd] + args[2:3])):
    die("injected failure of '%s'" % fail)

if cmd == "--fake-set-running":
    real = vm(args[1])
    if args[2] == "1":
        running[real] = 0
    else:
        running.pop(real, None)
    save("running.json", running)

elif cmd == "list":
    # A soft stop in progress ends after FAKEVMWARE_SOFT_POLLS lists.
    for k, v in list(running.items()):
        if v > 0:
            running[k] = v - 1
            if running[k] == 0:
                del running[k]
    save("running.json", running)
    print("Total running VMs: %d" % len(running))
    for k in running:
        print(k)

elif cmd == "start":
    real = vm(args[1])
    if real in running:
        die("The virtual machine is already running")  # vmrun says so, exit 255
    text = open(real).read()
    if "ethernet0.generatedAddress" not in text:
        mac = "00:0c:29:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(3))
        with open(real, "a") as f:
            f.write('ethernet0.generatedAddress = "%s"\nethernet0.generatedAddressOffset = "0"\n' % mac)
    else:
        mac = text.split('ethernet0.generatedAddress = "')[1].split('"')[0]
    running[real] = 0
    save("running.json", running)
    if not knob("FAKEVMWARE_NO_LEASE"):
        os.makedirs(os.path.join(D, "vmnet8"), exist_ok=True)
        with open(os.path.join(D, "vmnet8", "dhcpd.leases"), "a") as f:
            f.write("lease %s {\n\tstarts 0 2026/11/29 23:00:00;\n\tends 0 2026/11/29 23:30:00;\n"
                    "\thardware ethernet %s;\n\tclient-hostname \"machinefs\";\n}\n"
                    % (knob("FAKEVMWARE_GUEST_IP", "127.0.0.1"), mac))

elif cmd == "stop":
    real = vm(args[1])
    if real not in running:
        die("The virtual machine is not powered on: %s" % args[1])
    mode = args[2] if len(args) > 2 else "soft"
    polls = knob("FAKEVMWARE_SOFT_POLLS", "0")
    if mode == "soft" and polls == "never":
        pass
    elif mode == "soft" and int(polls) > 0:
        running[real] = int(polls)
    else:
        del running[real]
    save("running.json", running)

elif cmd == "reset":
    real = vm(args[1])
    if real not in running:
        die("The virtual machine is not powered on: %s" % args[1])

elif cmd == "deleteVM":
    real = vm(args[1])
    if real in running:
        die("The virtual machine should not be powered on. It is already running.")
    base = os.path.splitext(real)[0]
    for ext in (".vmx", ".vmdk", ".nvram", ".vmsd", ".vmxf"):
        if os.path.exists(base + ext):
            os.unlink(base + ext)

elif cmd == "getGuestIPAddress":
    real = vm(args[1])
    if real not in running:
        die("The virtual machine is not powered on: %s" % args[1])
    if not knob("FAKEVMWARE_TOOLS"):
        die("The VMware Tools are not running in the virtual machine: %s" % args[1])
    print(knob("FAKEVMWARE_GUEST_IP", "127.0.0.1"))

elif cmd in ("directoryExistsInGuest", "CopyFileFromHostToGuest", "runScriptInGuest",
             "enableSharedFolders", "addSharedFolder"):
    real = vm(args[1])
    if real not in running:
        die("The virtual machine is not powered on: %s" % args[1])
    if cmd != "enableSharedFolders" and cmd != "addSharedFolder":
        if guest is None:
            die("A username and password are required for this operation: use -gu and -gp")
        if guest != (knob("FAKEVMWARE_GUEST_USER", "docker"), knob("FAKEVMWARE_GUEST_PASSWORD", "tcuser")):
            die("Invalid user name or password for the guest OS")
    root = os.path.join(D, "guest", os.path.basename(os.path.splitext(real)[0]))
    os.makedirs(root, exist_ok=True)
    if cmd == "directoryExistsInGuest":
        print("The directory exists.")
    elif cmd == "CopyFileFromHostToGuest":
        dst = os.path.join(root, args[3].lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(args[2], dst)
    elif cmd == "runScriptInGuest":
        if "tar xvf /home/docker/userdata.tar -C /home/docker" in args[3]:
            with tarfile.open(os.path.join(root, "home/docker/userdata.tar")) as t:
                t.extractall(os.path.join(root, "home/docker"))
        elif args[3].startswith("sudo /bin/mv /home/docker/userdata.tar /var/lib/boot2docker/"):
            os.makedirs(os.path.join(root, "var/lib/boot2docker"), exist_ok=True)
            os.rename(os.path.join(root, "home/docker/userdata.tar"),
                      os.path.join(root, "var/lib/boot2docker/userdata.tar"))

else:
    print("Unrecognized command: %s" % cmd)
    sys.exit(255)
