# Sourced by the benchmarks: make_store STORE N makes one machine (none
# driver) through the tree, then clones it N times in the store with its
# name replaced, while nothing is mounted. Needs $BIN and $W.
make_store() {
	local store=$1 n=$2
	mkdir -p "$store" "$W/mnt"
	"$BIN" -o "store=$store" "$W/mnt"
	mkdir "$W/mnt/seed"
	echo tcp://127.0.0.1:2376 > "$W/mnt/seed/options/url"
	echo none > "$W/mnt/seed/driver"
	fusermount3 -u "$W/mnt"; sleep 0.2
	python3 - "$store/machines" "$n" <<'PY'
import os, shutil, sys
root, n = sys.argv[1], int(sys.argv[2])
seed = os.path.join(root, "seed")
text = {f: open(os.path.join(seed, f)).read() for f in ("config.json", "machinefs.json")}
pems = {f: open(os.path.join(seed, f), "rb").read() for f in ("ca.pem", "cert.pem", "key.pem")}
for i in range(1, n + 1):
    d = os.path.join(root, f"m{i}")
    os.mkdir(d, 0o700)
    for f, t in text.items():
        with open(os.path.join(d, f), "w") as o:
            o.write(t.replace("seed", f"m{i}"))
        os.chmod(os.path.join(d, f), 0o600)
    for f, b in pems.items():
        with open(os.path.join(d, f), "wb") as o:
            o.write(b)
shutil.rmtree(seed)
PY
}
