# Sourced by the benchmarks: make_store STORE N makes one machine (none
# driver) through the tree, then clones it N times in the store with its
# name replaced, while nothing is mounted. Needs $BIN and $W. The machines'
# URL is $BENCH_URL, else tcp://127.0.0.1:PORT on a port nothing listens on
# (a refused connection: tests elsewhere on this machine listen on 2376).
refused_url() {
	local p
	for p in $(seq 47001 47999); do
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
		timeout 1 bash -c "</dev/tcp/127.0.0.1/$p" 2>/dev/null && continue
		printf 'tcp://127.0.0.1:%s' "$p"; return 0
	done
	return 1
}
make_store() {
	local store=$1 n=$2
	mkdir -p "$store" "$W/mnt"
	"$BIN" -o "store=$store" "$W/mnt"
	mkdir "$W/mnt/seed"
	echo "${BENCH_URL:-$(refused_url)}" > "$W/mnt/seed/options/url"
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
