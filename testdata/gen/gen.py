#!/usr/bin/env python3
"""Fixture generator for wal-inspect: real etcd data dirs + damaged cases with ground truth.

    python3 testdata/gen/gen.py all                 # install etcd, every config, cases, verdicts
    python3 testdata/gen/gen.py clean CONFIG...     # (re)generate clean config archive(s)
    python3 testdata/gen/gen.py cases [CASE...]     # (re)compute case edit lists + ground truth
    python3 testdata/gen/gen.py verdicts [CASE...]  # run real etcd on each damaged case
    python3 testdata/gen/gen.py release-verdicts RELEASE [CASE...]
                                                    # one release's verdicts merged into the cases
                                                    # it judges (OLDER_RELEASES: 3.5.6, 3.4.9)
    python3 testdata/gen/gen.py selftest [DIR]     # check walfmt against shared/etcd-samples ground truth
    python3 testdata/gen/gen.py list

Every etcd started here listens on 127.0.0.1 only (asserted in etcd_cmd) and is stopped by PID.
Only python3's standard library, the etcd binaries (scripts/install-etcd.sh) and `tar`/`zstd` are used.
"""

import argparse
import base64
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walfmt  # noqa: E402

TD = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # testdata/
ROOT = os.path.dirname(TD)
FIX = os.path.join(TD, "fixtures")
CASES_DIR = os.path.join(TD, "cases")
WORK = os.path.join(TD, ".cache", "gen")
ETCD_CACHE = os.path.join(TD, ".cache", "etcd")
TOKEN = "wal-inspect-fixtures"
LOOPBACK = "127.0.0.1"

# Releases built from etcd's Go modules by scripts/install-etcd.sh (3.5.35, 3.6.16, 3.7.3) live in a
# per-user cache shared by every clone; 3.5.1 / 3.4.23 in the project-local cache as before.
GO_ETCD_CACHE = os.environ.get("WAL_INSPECT_ETCD_CACHE") or os.path.join(
    os.path.expanduser("~"), ".cache", "wal-inspect", "etcd")

# key (a config's "ver") -> where the binaries are, the exact version, the restore tool, the
# install-etcd.sh argument, flags the release does not know (dropped when it runs on data whose
# config has them, e.g. --enable-v2 for 3.6/3.7).
VERSIONS = {
    "3.5": {"dir": os.path.join(ETCD_CACHE, "v3.5.1"), "version": "3.5.1", "restore": ["etcdutl"],
            "install": "3.5"},
    "3.4": {"dir": os.path.join(ETCD_CACHE, "v3.4.23"), "version": "3.4.23", "restore": ["etcdctl"],
            "install": "3.4", "unknown_flags": ["--enable-v2"]},
    "3.5.35": {"dir": os.path.join(GO_ETCD_CACHE, "3.5.35"), "version": "3.5.35", "restore": ["etcdutl"],
               "install": "3.5-latest"},
    "3.6": {"dir": os.path.join(GO_ETCD_CACHE, "3.6.16"), "version": "3.6.16", "restore": ["etcdutl"],
            "install": "3.6", "unknown_flags": ["--enable-v2"]},
    "3.7": {"dir": os.path.join(GO_ETCD_CACHE, "3.7.3"), "version": "3.7.3", "restore": ["etcdutl"],
            "install": "3.7", "unknown_flags": ["--enable-v2"]},
    # Opt-in builds (scripts/install-etcd.sh 3.5.6 | 3.4.9 | older), see OLDER_RELEASES.
    "3.5.6": {"dir": os.path.join(GO_ETCD_CACHE, "3.5.6"), "version": "3.5.6", "restore": ["etcdutl"],
              "install": "3.5.6"},
    "3.4.9": {"dir": os.path.join(GO_ETCD_CACHE, "3.4.9"), "version": "3.4.9", "restore": ["etcdctl"],
              "install": "3.4.9", "unknown_flags": ["--enable-v2"]},
}
# Every release, oldest first: the cross-release cases record each one's verdict on the same bytes.
ALL_RELEASES = ["3.4", "3.5", "3.5.35", "3.6", "3.7"]
# Older releases, one per start rule of etcd-member/src/release.rs that none of the above shows:
# 3.5.6 for 3.5.5-3.5.6 (max entry size = what is left of the file, fatal; a .snap.db behind the
# snapshot re-applied), 3.4.9 for 3.4.0-3.4.9 (no max entry size). Each judges the cases whose data
# its release line wrote (config "ver" in the tuple) and every cross-release case; its verdict
# joins the case's `releases` / `etcd_verdicts` next to the data's own release.
OLDER_RELEASES = {"3.5.6": ("3.5", "3.5.35"), "3.4.9": ("3.4",)}
VKEY = {v["version"]: k for k, v in VERSIONS.items()}


def version_order(k):
    """Sort key of a VERSIONS key or an exact version: oldest first."""
    return tuple(int(x) for x in VERSIONS[VKEY.get(k, k)]["version"].split("."))

# Ports: member i of a config uses client base+2i, peer base+2i+1; base+50/51 for the restore check.
# 3.5.1/3.4.23 configs: 23100-23899; built releases and special configs: 25100-26599.
CONFIGS = {
    "v35-single": {"ver": "3.5", "members": ["m1"], "base_port": 23100, "snapshot_count": 500,
                   "workload": "mixed", "ops": 2500, "seed": 3501, "save_restore": True},
    "v34-single": {"ver": "3.4", "members": ["m1"], "base_port": 23200, "snapshot_count": 500,
                   "workload": "mixed", "ops": 2500, "seed": 3401, "save_restore": True},
    "v35-rollover": {"ver": "3.5", "members": ["m1"], "base_port": 23300, "snapshot_count": 100000,
                     "workload": "large", "ops": 170, "seed": 3502,
                     "extra": ["--max-wals", "0", "--quota-backend-bytes", str(8 * 1024 ** 3)]},
    "v34-rollover": {"ver": "3.4", "members": ["m1"], "base_port": 23700, "snapshot_count": 100000,
                     "workload": "large", "ops": 170, "seed": 3402,
                     "extra": ["--max-wals", "0", "--quota-backend-bytes", str(8 * 1024 ** 3)]},
    "v35-cluster3": {"ver": "3.5", "members": ["m1", "m2", "m3"], "base_port": 23400, "snapshot_count": 300,
                     "workload": "mixed", "ops": 600, "seed": 3503},
    "v34-cluster3": {"ver": "3.4", "members": ["m1", "m2", "m3"], "base_port": 23500, "snapshot_count": 300,
                     "workload": "mixed", "ops": 600, "seed": 3403},
    "v35-removed-member": {"ver": "3.5", "members": ["m1", "m2"], "base_port": 23600, "snapshot_count": 10000,
                           "workload": "membership", "ops": 150, "seed": 3504},
    "v34-removed-member": {"ver": "3.4", "members": ["m1", "m2"], "base_port": 23800, "snapshot_count": 10000,
                           "workload": "membership", "ops": 150, "seed": 3404},
}

# The same four configs for each built release. Prefix = v<major><minor> of the release; 3.5.35
# is v3535 because v35 already names 3.5.1's data.
RELEASE_PREFIX = {"3.5.35": "v3535", "3.6": "v36", "3.7": "v37"}
for _ver, _pre, _base, _seed in (("3.5.35", "v3535", 25100, 35350), ("3.6", "v36", 25500, 3600),
                                 ("3.7", "v37", 25900, 3700)):
    CONFIGS[_pre + "-single"] = {"ver": _ver, "members": ["m1"], "base_port": _base, "snapshot_count": 500,
                                 "workload": "mixed", "ops": 2500, "seed": _seed + 1, "save_restore": True,
                                 "suite": "extended"}
    CONFIGS[_pre + "-rollover"] = {"ver": _ver, "members": ["m1"], "base_port": _base + 100,
                                   "snapshot_count": 100000, "workload": "large", "ops": 170, "seed": _seed + 2,
                                   "extra": ["--max-wals", "0", "--quota-backend-bytes", str(8 * 1024 ** 3)],
                                   "suite": "extended"}
    CONFIGS[_pre + "-cluster3"] = {"ver": _ver, "members": ["m1", "m2", "m3"], "base_port": _base + 200,
                                   "snapshot_count": 300, "workload": "mixed", "ops": 600, "seed": _seed + 3,
                                   "suite": "extended"}
    CONFIGS[_pre + "-removed-member"] = {"ver": _ver, "members": ["m1", "m2"], "base_port": _base + 300,
                                         "snapshot_count": 10000, "workload": "membership", "ops": 150,
                                         "seed": _seed + 4, "suite": "extended"}

# Data only the 3.5 line can write, for the cross-release cases (started later by 3.6/3.7).
CONFIGS["v35-v2store"] = {"ver": "3.5", "members": ["m1"], "base_port": 26300, "snapshot_count": 50,
                          "workload": "v2store", "ops": 120, "seed": 3505, "extra": ["--enable-v2"],
                          "suite": "extended"}
CONFIGS["v3535-v2store"] = {"ver": "3.5.35", "members": ["m1"], "base_port": 26400, "snapshot_count": 50,
                            "workload": "v2store", "ops": 120, "seed": 35355, "extra": ["--enable-v2"],
                            "suite": "extended"}
CONFIGS["v35-learners"] = {"ver": "3.5", "members": ["m1"], "base_port": 26500, "snapshot_count": 10000,
                           "workload": "learners", "ops": 60, "seed": 3506, "suite": "extended"}

# "Kitchen sink": a 3-member cluster whose WAL holds every entry kind the release writes (workload
# kitchensink, see workload_kitchensink); lease checkpoints are on (the release's flag), 3.5.35 also
# serves the v2 API. Members m4 (learner, promoted, updated, removed) and m5 (added as a voter, never
# started, removed) are added by the workload.
for _ver, _pre, _base, _seed, _flags in (
        ("3.5.35", "v3535", 26700, 35356, ["--enable-v2", "--experimental-enable-lease-checkpoint",
                                           "--experimental-enable-lease-checkpoint-persist"]),
        ("3.6", "v36", 26800, 3606, ["--feature-gates", "LeaseCheckpoint=true,LeaseCheckpointPersist=true"]),
        ("3.7", "v37", 26900, 3706, ["--feature-gates", "LeaseCheckpoint=true,LeaseCheckpointPersist=true"])):
    CONFIGS[_pre + "-kitchensink"] = {"ver": _ver, "members": ["m1", "m2", "m3"], "base_port": _base,
                                      "snapshot_count": 100, "workload": "kitchensink", "ops": 0, "seed": _seed,
                                      "extra": _flags, "suite": "extended"}

# Kubernetes objects (Kubernetes' own storage-encoded fixtures, testdata/k8s) under the keys the
# apiserver uses, written through the v3 API (#19).
CONFIGS["v35-k8s"] = {"ver": "3.5", "members": ["m1"], "base_port": 26600, "snapshot_count": 10000,
                      "workload": "k8s", "ops": 0, "seed": 3507, "save_restore": True, "suite": "extended"}

K8S_OBJECTS = [
    ("apps.v1.Deployment", "/registry/deployments/namespaceValue/nameValue"),
    ("apps.v1.DaemonSet", "/registry/daemonsets/namespaceValue/nameValue"),
    ("apps.v1.StatefulSet", "/registry/statefulsets/namespaceValue/nameValue"),
    ("batch.v1.Job", "/registry/jobs/namespaceValue/nameValue"),
    ("coordination.k8s.io.v1.Lease", "/registry/leases/namespaceValue/nameValue"),
    ("core.v1.ConfigMap", "/registry/configmaps/namespaceValue/nameValue"),
    ("core.v1.Event", "/registry/events/namespaceValue/nameValue"),
    ("core.v1.Namespace", "/registry/namespaces/nameValue"),
    ("core.v1.Node", "/registry/minions/nameValue"),
    ("core.v1.Pod", "/registry/pods/namespaceValue/nameValue"),
    ("core.v1.Secret", "/registry/secrets/namespaceValue/nameValue"),
    ("core.v1.Service", "/registry/services/specs/namespaceValue/nameValue"),
    ("networking.k8s.io.v1.Ingress", "/registry/ingress/namespaceValue/nameValue"),
    ("rbac.authorization.k8s.io.v1.ClusterRole", "/registry/clusterroles/nameValue"),
]
K8S_CR = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
          "metadata": {"name": "web", "namespace": "prod", "uid": "3f0c2b1e-cr",
                       "creationTimestamp": "2024-05-01T10:00:00Z",
                       "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
          "spec": {"secretName": "web-tls"}}

MiB = 1024 * 1024


def log(*a):
    print("[gen %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def jdump(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=True)
        f.write("\n")
    os.replace(tmp, path)


def jload(path):
    with open(path) as f:
        return json.load(f)


def hex16(v):
    return "%016x" % int(v)


# ------------------------------------------------------------------ etcd binaries / processes


def ensure_etcd():
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "install-etcd.sh")], check=True)


def etcd_bin(ver, tool="etcd"):
    p = os.path.join(VERSIONS[ver]["dir"], tool)
    if not os.path.exists(p):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "install-etcd.sh"), VERSIONS[ver]["install"]],
                       check=True)
    return p


def drop_unknown_flags(ver, flags):
    """Flags of a config that release `ver` does not know (and their values) left out."""
    unknown = set(VERSIONS[ver].get("unknown_flags", []))
    out = []
    skip = False
    for i, a in enumerate(flags):
        if skip:
            skip = False
            continue
        if a in unknown:
            # a boolean flag (next is another flag or nothing) or one with a value
            skip = i + 1 < len(flags) and not flags[i + 1].startswith("--")
            continue
        out.append(a)
    return out


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
    env["ETCDCTL_API"] = "3"
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def url(port):
    return "http://%s:%d" % (LOOPBACK, port)


def all_members(cfg):
    """Members a config's workload starts with plus those it adds later (same port scheme)."""
    later = {"membership": ["m3"], "learners": ["m2", "m3"], "kitchensink": ["m4", "m5"]}.get(cfg["workload"], [])
    return list(cfg["members"]) + later


def member_ports(cfg, i):
    return cfg["base_port"] + 2 * i, cfg["base_port"] + 2 * i + 1


def initial_cluster(cfg, names=None):
    names = names or cfg["members"]
    return ",".join("%s=%s" % (n, url(member_ports(cfg, cfg["all_members"].index(n))[1])) for n in names)


def flags_for(cfg, name, data_dir, state="new", cluster=None, extra_peer_urls=()):
    i = cfg["all_members"].index(name)
    cport, pport = member_ports(cfg, i)
    listen_peers = [url(pport)] + list(extra_peer_urls)
    f = ["--name", name, "--data-dir", data_dir,
         "--listen-client-urls", url(cport), "--advertise-client-urls", url(cport),
         "--listen-peer-urls", ",".join(listen_peers), "--initial-advertise-peer-urls", url(pport),
         "--initial-cluster", cluster or initial_cluster(cfg), "--initial-cluster-token", TOKEN,
         "--initial-cluster-state", state, "--logger", "zap", "--log-outputs", "stderr",
         "--snapshot-count", str(cfg["snapshot_count"])]
    return f + list(cfg.get("extra", []))


def check_loopback(args):
    keys = {"--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls",
            "--initial-advertise-peer-urls", "--initial-cluster", "--endpoints", "--listen-metrics-urls"}
    for k, v in zip(args, args[1:]):
        if k in keys:
            for u in v.split(","):
                u = u.split("=", 1)[-1] if k == "--initial-cluster" else u
                assert u.startswith("http://127.0.0.1:"), "non-loopback url %r in %s" % (u, k)
    for a in args:
        if a.startswith("--") and "=" in a and a.split("=")[0] in keys:
            raise AssertionError("use separate flag values: %r" % a)


class Etcd:
    """One etcd process, started with explicit loopback-only URLs, stopped by PID."""

    def __init__(self, ver, args, logpath, cport):
        self.ver = ver
        self.args = [etcd_bin(ver)] + list(args)
        check_loopback(self.args)
        self.logpath = logpath
        self.cport = cport
        os.makedirs(os.path.dirname(logpath), exist_ok=True)
        self.logf = open(logpath, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
        self.pid = self.proc.pid
        self.t0 = time.time()

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=20.0, need_leader=True):
        end = time.time() + timeout
        while time.time() < end:
            if not self.alive():
                return False
            try:
                st = api(self.cport, "/v3/maintenance/status", {}, timeout=2)
                if not need_leader or int(st.get("leader", "0")) != 0:
                    return True
            except Exception:
                pass
            time.sleep(0.2)
        return False

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=20.0):
        rc = self.proc.poll()
        if rc is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                rc = self.proc.wait()
        self.logf.close()
        return rc


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def api(port, path, body, timeout=10):
    req = urllib.request.Request(url(port) + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError("POST %s -> HTTP %d: %s" % (path, e.code, e.read()[:500])) from None


def b64(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.b64encode(b).decode()


def etcdctl(ver, port, *args, timeout=60, check=True, inp=None):
    cmd = [etcd_bin(ver, "etcdctl"), "--endpoints", url(port)] + list(args)
    check_loopback(cmd)
    env = clean_env()
    if ver in ("3.6", "3.7"):
        env.pop("ETCDCTL_API")  # v2 is gone: 3.6+ warns "unrecognized environment variable" on stderr
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout, input=inp)
    if check and p.returncode != 0:
        raise RuntimeError("etcdctl %s failed: %s %s" % (args, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def etcdctl_retry(ver, port, *args, tries=60):
    """Member operations fail with "unhealthy cluster" until peers have been connected for a while."""
    for _ in range(tries):
        p = etcdctl(ver, port, *args, check=False)
        if p.returncode == 0:
            return p
        time.sleep(0.5)
    raise RuntimeError("etcdctl %s failed: %s" % (args, p.stderr[-800:]))


def status_json(ver, port):
    p = etcdctl(ver, port, "endpoint", "status", "-w", "json")
    st = json.loads(p.stdout)[0]["Status"]
    h = st["header"]
    return {"revision": h["revision"], "raft_index": st["raftIndex"], "raft_term": st["raftTerm"],
            "raft_applied_index": st.get("raftAppliedIndex"), "member_id": hex16(h["member_id"]),
            "cluster_id": hex16(h["cluster_id"]), "leader": hex16(st["leader"]), "db_size": st["dbSize"],
            "version": st["version"]}


def keyspace(ver, port):
    p = etcdctl(ver, port, "get", "", "--prefix", "-w", "json")
    return json.loads(p.stdout)


# ------------------------------------------------------------------ workloads


def rand_bytes_key(rng):
    specials = [b"bin/nl\nkey", b"bin/nul\x00key", b"bin/ff\xff\xfe", b"bin/tab\tcr\r", b"bin/\x01\x02\x03",
                b"bin/utf8-\xc3\xa9t\xc3\xa9", b"bin/space key"]
    return rng.choice(specials)


def rand_value(rng, i):
    r = rng.random()
    if r < 0.03:
        n = rng.randint(9000, 40000)  # a few multi-sector records
    elif r < 0.10:
        n = rng.randint(0, 4)
    else:
        n = rng.randint(5, 300)
    head = ("v%d:" % i).encode()
    body = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(min(n, 64)))
    v = (head + body * (n // max(1, len(body)) + 1))[:max(n, len(head))]
    if rng.random() < 0.05:
        v += b"\n\x00\xff\x01binary"
    return v


def workload_mixed(ver, port, ops, seed):
    rng = random.Random(seed)
    counts = {}

    def bump(k):
        counts[k] = counts.get(k, 0) + 1

    def key():
        if rng.random() < 0.02:
            return rand_bytes_key(rng)
        return ("k/%04d" % rng.randint(0, 399)).encode()

    leases = []
    compacted = None
    t0 = time.time()
    for i in range(ops):
        r = rng.random()
        if i == int(ops * 0.7):
            rev = int(api(port, "/v3/kv/range", {"key": b64("k/"), "limit": 1})["header"]["revision"])
            compacted = rev - 100
            api(port, "/v3/kv/compaction", {"revision": str(compacted)})
            bump("compact")
        elif r < 0.50:
            api(port, "/v3/kv/put", {"key": b64(key()), "value": b64(rand_value(rng, i))})
            bump("put")
        elif r < 0.58:
            api(port, "/v3/kv/deleterange", {"key": b64(key())})
            bump("delete")
        elif r < 0.60:
            a = rng.randint(0, 390)
            api(port, "/v3/kv/deleterange", {"key": b64("k/%04d" % a), "range_end": b64("k/%04d" % (a + 5))})
            bump("delete_range")
        elif r < 0.74:
            k = key()
            cmp_val = rand_value(rng, i) if rng.random() < 0.5 else b""
            kind = rng.random()
            if kind < 0.5:
                cmp = {"result": "EQUAL", "target": "VALUE", "key": b64(k), "value": b64(cmp_val)}
            else:
                cmp = {"result": "GREATER", "target": "VERSION", "key": b64(k), "version": str(rng.randint(0, 3))}
            succ = [{"request_put": {"key": b64(k), "value": b64(rand_value(rng, i))}},
                    {"request_range": {"key": b64(k)}}]
            k2 = key()
            k3 = key()
            while k3 == k2:  # etcd rejects a txn branch that writes one key twice
                k3 = key()
            body = {"compare": [cmp], "success": succ,
                    "failure": [{"request_put": {"key": b64(k2), "value": b64(b"txn-failure-%d" % i)}},
                                {"request_delete_range": {"key": b64(k3)}}]}
            res = api(port, "/v3/kv/txn", body)
            bump("txn_success" if res.get("succeeded") else "txn_failure")
        elif r < 0.80:
            res = api(port, "/v3/lease/grant", {"TTL": "3600"})
            leases.append(res["ID"])
            bump("lease_grant")
        elif r < 0.93 and leases:
            api(port, "/v3/kv/put", {"key": b64(b"lease/%s/%d" % (rng.choice(leases).encode(), i)),
                                     "value": b64(rand_value(rng, i)), "lease": rng.choice(leases)})
            bump("put_with_lease")
        elif leases:
            lid = leases.pop(rng.randrange(len(leases)))
            api(port, "/v3/lease/revoke", {"ID": lid})
            bump("lease_revoke")
        else:
            api(port, "/v3/kv/put", {"key": b64(key()), "value": b64(rand_value(rng, i))})
            bump("put")
    return {"ops": ops, "seed": seed, "counts": counts, "compacted_at_revision": compacted,
            "leases_left": len(leases), "seconds": round(time.time() - t0, 1)}


def workload_large(ver, port, ops, seed):
    """~1 MB highly compressible values, to roll the WAL over into 3 segments."""
    pattern = b"wal-inspect rollover fixture. 0123456789abcdef " * 21000
    t0 = time.time()
    for i in range(ops):
        v = (b"big-%06d|" % i + pattern)[:1000000]
        api(port, "/v3/kv/put", {"key": b64("big/%02d" % (i % 8)), "value": b64(v)}, timeout=60)
    for i in range(20):
        api(port, "/v3/kv/put", {"key": b64("small/%02d" % i), "value": b64("small value %d" % i)})
    rev = int(api(port, "/v3/kv/range", {"key": b64("big/"), "limit": 1})["header"]["revision"])
    api(port, "/v3/kv/compaction", {"revision": str(rev), "physical": True}, timeout=120)
    etcdctl(ver, port, "defrag", "--command-timeout=120s", timeout=180)
    return {"ops": ops + 20, "counts": {"put_1MB": ops, "put_small": 20, "compact": 1, "defrag": 1},
            "value_size": 1000000, "compacted_at_revision": rev, "seconds": round(time.time() - t0, 1)}


def v2_put(port, key, value):
    """PUT /v2/keys/<key> (the v2 API, served by 3.5 with --enable-v2)."""
    body = urllib.parse.urlencode({"value": value}).encode()
    req = urllib.request.Request(url(port) + "/v2/keys/" + key, data=body, method="PUT",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with _opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def workload_v2store(ver, port, ops, seed):
    """Custom v2 store content (a directory with keys, written through the v2 API), then enough v3
    puts that a .snap (whose v2 store JSON carries it) is taken after it."""
    rng = random.Random(seed)
    t0 = time.time()
    v2 = []
    for i in range(3):
        k = "wal-inspect/custom/k%d" % i
        res = v2_put(port, k, "v2 value %d" % i)
        v2.append({"key": "/" + k, "action": res.get("action"),
                   "modifiedIndex": (res.get("node") or {}).get("modifiedIndex")})
    for i in range(ops):
        api(port, "/v3/kv/put", {"key": b64("v3/%03d" % i), "value": b64(rand_value(rng, i))})
    return {"ops": ops + 3, "counts": {"v2_put": 3, "put": ops}, "v2_keys": v2, "seconds": round(time.time() - t0, 1)}


def workload_k8s(ver, port):
    """Kubernetes' own storage-encoded objects (testdata/k8s/*.pb, from k8s.io/api's
    testdata/HEAD) under the apiserver's keys, a JSON custom resource, a value encrypted at
    rest, the apiserver's special keys and one key of someone else; the ground truth of every
    object (from the fixture's JSON twin) goes into the config's JSON."""
    t0 = time.time()
    kdir = os.path.join(TD, "k8s")
    objects = []

    def put(key, value):
        etcdctl(ver, port, "put", key, inp=value)

    for f, key in K8S_OBJECTS:
        value = open(os.path.join(kdir, f + ".pb"), "rb").read()
        want = jload(os.path.join(kdir, f + ".json"))
        md = want["metadata"]
        put(key, value)
        namespaced = key.count("/") >= 4 and not key.startswith("/registry/minions/")
        objects.append({"key": key, "kind": want["kind"], "api_version": want["apiVersion"],
                        "namespace": md["namespace"] if namespaced else None, "name": md["name"],
                        "uid": md["uid"], "creation_timestamp": md["creationTimestamp"],
                        "encoding": "protobuf", "bytes": len(value)})
    cr = json.dumps(K8S_CR, separators=(",", ":")).encode()
    put("/registry/cert-manager.io/certificates/prod/web", cr)
    objects.append({"key": "/registry/cert-manager.io/certificates/prod/web", "kind": "Certificate",
                    "api_version": "cert-manager.io/v1", "group": "cert-manager.io", "resource": "certificates",
                    "namespace": "prod", "name": "web", "uid": K8S_CR["metadata"]["uid"],
                    "creation_timestamp": K8S_CR["metadata"]["creationTimestamp"], "encoding": "json",
                    "bytes": len(cr)})
    enc = b"k8s:enc:aescbc:v1:key1:" + bytes(random.Random(3507).randrange(256) for _ in range(64))
    put("/registry/secrets/prod/enc", enc)
    objects.append({"key": "/registry/secrets/prod/enc", "kind": None, "api_version": None,
                    "namespace": "prod", "name": "enc", "uid": None, "creation_timestamp": None,
                    "encoding": "encrypted:aescbc", "bytes": len(enc)})
    for key, value, special in (("compact_rev_key", b"7", "compact_rev_key"),
                                ("/registry/masterleases/127.0.0.1", b"k8s\x00", "master_lease")):
        put(key, value)
        objects.append({"key": key, "special": special, "bytes": len(value)})
    put("someone/else", b"x")
    return {"ops": len(objects) + 1, "k8s_objects": objects, "other_keys": ["someone/else"],
            "seconds": round(time.time() - t0, 1)}


def workload_learners(cfg, procs, data, logs, meta):
    """etcd 3.5.1 (<= 3.5.19, etcd#19557): m1 alone; add m2 as learner, start it, promote it (the v2
    store makes it a voter, the db keeps isLearner=true), then add m3 as a learner (not started):
    the db's members bucket then holds two learners while the v2 store counts one."""
    ver = cfg["ver"]
    p1 = procs["m1"].cport
    rng = random.Random(cfg["seed"])
    steps = []
    for i in range(20):
        api(p1, "/v3/kv/put", {"key": b64("pre/%03d" % i), "value": b64(rand_value(rng, i))})
    c2, pp2 = member_ports(cfg, 1)
    out = etcdctl_retry(ver, p1, "member", "add", "m2", "--peer-urls", url(pp2), "--learner", "-w", "json")
    m2id = json.loads(out.stdout)["member"]["ID"]
    steps.append({"step": "member add m2 --learner", "id": hex16(m2id)})
    fl = flags_for(cfg, "m2", os.path.join(data, "m2"), state="existing",
                   cluster=initial_cluster(cfg, ["m1", "m2"]))
    procs["m2"] = Etcd(ver, fl, os.path.join(logs, "m2.log"), c2)
    meta["members"].append({"name": "m2", "client_port": c2, "peer_port": pp2, "data_dir": "data/m2",
                            "member_dir": "data/m2/member", "flags": [a.replace(data + "/", "data/") for a in fl]})
    procs["m2"].wait_ready(30)
    for i in range(20):
        api(p1, "/v3/kv/put", {"key": b64("learner/%03d" % i), "value": b64(rand_value(rng, i))})
    etcdctl_retry(ver, p1, "member", "promote", "%x" % m2id, tries=80)
    steps.append({"step": "member promote m2", "id": hex16(m2id)})
    for i in range(10):
        api(p1, "/v3/kv/put", {"key": b64("voter/%03d" % i), "value": b64(rand_value(rng, i))})
    c3, pp3 = member_ports(cfg, 2)
    out = etcdctl_retry(ver, p1, "member", "add", "m3", "--peer-urls", url(pp3), "--learner", "-w", "json")
    m3id = json.loads(out.stdout)["member"]["ID"]
    steps.append({"step": "member add m3 --learner (never started)", "id": hex16(m3id)})
    for i in range(10):
        api(p1, "/v3/kv/put", {"key": b64("after/%03d" % i), "value": b64(rand_value(rng, i))})
    return {"ops": 60, "steps": steps, "promoted_member": hex16(m2id), "learner_member": hex16(m3id)}


# Entry kinds by an independent reading of each entry (field numbers of etcdserverpb.InternalRaftRequest;
# a bare v2 Request is told by its field 2, the method), names as wal-inspect's EntryKind.
IRR_KINDS = {2: "v2_request", 3: "range", 4: "put", 5: "delete_range", 6: "txn", 7: "compaction",
             8: "lease_grant", 9: "lease_revoke", 10: "alarm", 11: "lease_checkpoint", 1000: "auth_enable",
             1011: "auth_disable", 1012: "authenticate", 1013: "auth_status", 1100: "auth_user_add",
             1101: "auth_user_delete", 1102: "auth_user_get", 1103: "auth_user_change_password",
             1104: "auth_user_grant_role", 1105: "auth_user_revoke_role", 1106: "auth_user_list",
             1107: "auth_role_list", 1200: "auth_role_add", 1201: "auth_role_delete", 1202: "auth_role_get",
             1203: "auth_role_grant_permission", 1204: "auth_role_revoke_permission",
             1300: "cluster_version_set", 1301: "cluster_member_attr_set", 1302: "downgrade_info_set",
             9900: "downgrade_version_test"}
V2_METHODS = {b"PUT", b"POST", b"DELETE", b"QGET", b"GET", b"HEAD", b"SYNC"}
# Kinds no workload here can make a release write, and why (per release line).
KINDS_NEVER_WRITTEN = {
    "range": "etcd 3.x serves a range by ReadIndex, never as an entry",
    "downgrade_version_test": "written only by etcd's own tests",
    "conf_change_v2": "etcd proposes v1 ConfChanges only",
}
KINDS_NOT_BY = {
    "3.5.35": {"cluster_version_set": "3.5 sets the cluster version with a v2 PUT /0/version (v2_request)",
               "cluster_member_attr_set": "3.5 publishes member attributes with a v2 PUT "
                                          "/0/members/<id>/attributes (v2_request)"},
    "3.6": {"v2_request": "3.6 has no v2 API and writes no v2 requests"},
    "3.7": {"v2_request": "3.7 has no v2 API and writes no v2 requests"},
}


def entry_kind(buf, r):
    """wal-inspect's kind name of one entry record of walfmt.walk_segment."""
    if r["entry_type"] == "EntryConfChange":
        return "conf_change"
    if r["entry_type"] == "EntryConfChangeV2":
        return "conf_change_v2"
    if not r["payload_len"]:
        return "noop"
    off = r["payload_off"]
    try:
        fs = list(walfmt.fields(buf, off, off + r["payload_len"]))
    except ValueError:
        return "unknown"
    if any(f == 2 and wt == 2 and bytes(buf[vo:vo + vl]) in V2_METHODS for f, wt, _, vo, vl in fs):
        return "v2_request"  # a bare v2 Request: its field 2 is the method
    for f, wt, _, _, _ in fs:
        if f in IRR_KINDS and wt == 2:
            return IRR_KINDS[f]
    return "unknown"


def wal_entry_kinds(member_dir):
    """Entry records of a member's WAL (every record as written, overwritten ones too) by kind, the
    v2 methods and the conf change types."""
    kinds, v2, ccs = {}, {}, []
    wdir = os.path.join(member_dir, "wal")
    for name in sorted(os.listdir(wdir)):
        if not name.endswith(".wal"):
            continue
        with open(os.path.join(wdir, name), "rb") as f:
            buf = f.read()
        for r in walfmt.walk_segment(buf)["records"]:
            if r["type"] != "entry":
                continue
            k = entry_kind(buf, r)
            kinds[k] = kinds.get(k, 0) + 1
            if k == "v2_request":
                for f, wt, _, vo, vl in walfmt.fields(buf, r["payload_off"], r["payload_off"] + r["payload_len"]):
                    if f == 2 and wt == 2:
                        m = bytes(buf[vo:vo + vl]).decode()
                        v2[m] = v2.get(m, 0) + 1
            if k == "conf_change":
                ccs.append(r["conf_change"])
    return {"kinds": dict(sorted(kinds.items())), "v2_methods": dict(sorted(v2.items())), "conf_changes": ccs}


def v2_req(port, method, key, params=None, query=""):
    """One v2 API request (3.5 with --enable-v2): PUT/POST with form params, GET/DELETE with a query."""
    body = urllib.parse.urlencode(params).encode() if params is not None else None
    req = urllib.request.Request(url(port) + "/v2/keys/" + key + (("?" + query) if query else ""), data=body,
                                 method=method, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with _opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def cluster_version(port):
    with _opener.open(url(port) + "/version", timeout=5) as r:
        return json.loads(r.read()).get("etcdcluster")


def workload_kitchensink(cfg, procs, data, logs, meta):
    """Every entry kind the release writes, on a 3-member cluster: a leader transfer, puts (prev_kv,
    ignore_value, with a lease), single/range/prefix deletes, txns (success and failure branches, a
    nested txn), leases (grant, attached put, keep-alive, revoke, expiry, and a checkpoint: a 600 s lease
    is checkpointed by the leader 5 min after its grant, and the keep-alive after that clears the
    remaining TTL with a second checkpoint), compactions, alarms (list, activate NOSPACE, disarm), every
    auth request (users, roles, permissions, enable, authenticated requests, status, get/list, password
    change, revokes, disable, deletes), the v2 API (3.5: PUT, TTL PUT -> SYNC, POST, QGET, CAS, DELETE,
    dir), downgrade enable/cancel (the cluster version lowered and raised again on 3.6+), member add m4
    --learner / start / promote / update / remove (m4 exits), member add m5 (a voter, never started) /
    remove. `steps` lists what was done, in order."""
    ver = cfg["ver"]
    v36plus = ver in ("3.6", "3.7")
    p1 = procs["m1"].cport
    rng = random.Random(cfg["seed"])
    steps = []
    t0 = time.time()

    def step(what, **kw):
        steps.append(dict({"step": what, "t": round(time.time() - t0, 1)}, **kw))
        log("kitchensink %s: %s" % (ver, what))

    def ctl(*args, user=None, inp=None):
        a = (["--user", user] if user else []) + list(args)
        return etcdctl(ver, p1, *a, inp=inp)

    def put(k, v, **kw):
        body = {"key": b64(k), "value": b64(v)}
        body.update(kw)
        return api(p1, "/v3/kv/put", body)

    members = {m["name"]: int(m["ID"]) for m in json.loads(ctl("member", "list", "-w", "json").stdout)["members"]}
    by_id = {v: k for k, v in members.items()}

    # leader transfer: a new term (and the new leader's empty entry) in the middle of the log
    leader = int(status_json(ver, p1)["leader"], 16)
    lport = procs[by_id[leader]].cport
    target = next(i for n, i in sorted(members.items()) if i != leader)
    etcdctl_retry(ver, lport, "move-leader", "%x" % target)
    for _ in range(50):
        if int(status_json(ver, p1)["leader"], 16) == target:
            break
        time.sleep(0.2)
    step("move-leader", from_member=by_id[leader], to_member=by_id[target])

    # the lease the leader checkpoints 5 min (etcd's fixed checkpoint interval) after its grant
    cp_lease = api(p1, "/v3/lease/grant", {"TTL": "600"})["ID"]
    t_cp = time.time()
    put(b"lease/checkpointed", b"held by a 600 s lease", lease=cp_lease)
    step("lease grant TTL 600 (checkpointed later) + put with it", lease=hex16(cp_lease))

    # KV
    for i in range(20):
        put(("kv/%02d" % i).encode(), rand_value(rng, i), **({"prev_kv": True} if i % 5 == 0 else {}))
    put(b"kv/00", b"", ignore_value=True)
    put(b"bin/nul\x00key", b"\x00\xff\n value")
    step("put x22 (prev_kv, ignore_value, binary key)")
    api(p1, "/v3/kv/deleterange", {"key": b64("kv/00")})
    api(p1, "/v3/kv/deleterange", {"key": b64("kv/01"), "prev_kv": True})
    step("delete single x2")
    api(p1, "/v3/kv/deleterange", {"key": b64("kv/02"), "range_end": b64("kv/05")})
    ctl("del", "kv/1", "--prefix")
    step("delete range + prefix")
    for i, want in enumerate((True, False)):
        k = "kv/%02d" % (6 + i)
        cmp = {"result": "EQUAL" if want else "NOT_EQUAL", "target": "VERSION", "key": b64(k), "version": "1"}
        inner = {"compare": [{"result": "GREATER", "target": "CREATE", "key": b64(k), "create_revision": "0"}],
                 "success": [{"request_put": {"key": b64("txn/nested/%d" % i), "value": b64("n")}}],
                 "failure": []}
        res = api(p1, "/v3/kv/txn", {
            "compare": [cmp],
            "success": [{"request_put": {"key": b64(k), "value": b64("txn-success")}},
                        {"request_range": {"key": b64(k)}},
                        {"request_txn": inner}],
            "failure": [{"request_put": {"key": b64("txn/failure/%d" % i), "value": b64("txn-failure")}},
                        {"request_delete_range": {"key": b64("kv/%02d" % (8 + i))}}]})
        ok = bool(res.get("succeeded"))
        step("txn (%s branch)" % ("success" if ok else "failure"), succeeded=ok)

    # leases: attached put, keep-alive (no entry), explicit revoke, revoke by expiry
    lid = api(p1, "/v3/lease/grant", {"TTL": "60"})["ID"]
    put(b"lease/kept", b"x", lease=lid)
    ctl("lease", "keep-alive", "--once", "%x" % int(lid))
    api(p1, "/v3/lease/revoke", {"ID": lid})
    step("lease grant TTL 60, put with it, keep-alive --once, revoke", lease=hex16(lid))
    short = api(p1, "/v3/lease/grant", {"TTL": "3"})["ID"]
    put(b"lease/expiring", b"x", lease=short)
    for _ in range(60):
        try:
            if int(api(p1, "/v3/lease/timetolive", {"ID": short}).get("TTL", "-1")) == -1:
                break
        except RuntimeError as e:  # some releases answer "requested lease not found"
            if "not found" in str(e):
                break
            raise
        time.sleep(0.5)
    else:
        raise RuntimeError("lease %s did not expire" % short)
    step("lease grant TTL 3 + put, revoked by the leader on expiry", lease=hex16(short))

    # compaction
    rev = int(api(p1, "/v3/kv/range", {"key": b64("kv/"), "limit": 1})["header"]["revision"])
    ctl("compaction", str(rev - 10))
    ctl("compaction", "--physical", str(rev - 5))
    step("compaction (and --physical)", revisions=[rev - 10, rev - 5])

    # alarms
    ctl("alarm", "list")
    api(p1, "/v3/maintenance/alarm", {"action": "ACTIVATE", "memberID": str(members["m1"]), "alarm": "NOSPACE"})
    listed = ctl("alarm", "list").stdout.decode().strip()
    ctl("alarm", "disarm")
    step("alarm list, activate NOSPACE, list, disarm", listed=listed)

    # auth: every request kind
    root, alice = "root:rootpw", "alice:alicepw"
    ctl("user", "add", root)
    ctl("user", "grant-role", "root", "root")
    ctl("role", "add", "app")
    ctl("role", "grant-permission", "app", "readwrite", "app/", "--prefix")
    ctl("user", "add", alice)
    ctl("user", "grant-role", "alice", "app")
    ctl("auth", "enable")
    ctl("put", "app/by-alice", "written with auth", user=alice)
    ctl("auth", "status", user=root)
    ctl("user", "get", "alice", user=root)
    ctl("user", "list", user=root)
    ctl("role", "get", "app", user=root)
    ctl("role", "list", user=root)
    ctl("user", "passwd", "alice", "--interactive=false", user=root, inp=b"alicepw2\n")
    ctl("put", "app/by-alice", "after the password change", user="alice:alicepw2")
    ctl("role", "revoke-permission", "app", "app/", "--prefix", user=root)
    ctl("user", "revoke-role", "alice", "app", user=root)
    ctl("auth", "disable", user=root)
    ctl("user", "delete", "alice")
    ctl("role", "delete", "app")
    ctl("user", "revoke-role", "root", "root")
    ctl("user", "delete", "root")
    step("auth: user add root/alice, role add, grant-permission, grant-role, auth enable, put as alice, "
         "auth status, user get/list, role get/list, user passwd, revoke-permission, revoke-role, "
         "auth disable, user/role delete")

    # the v2 API (3.5 only)
    if not v36plus:
        v2_req(p1, "PUT", "ks/plain", {"value": "v2"})
        v2_req(p1, "PUT", "ks/plain", {"value": "v2 cas", "prevValue": "v2"})
        v2_req(p1, "PUT", "ks/dir", {"dir": "true"})
        v2_req(p1, "POST", "ks/queue", {"value": "in order"})
        v2_req(p1, "GET", "ks/plain", query="quorum=true")
        v2_req(p1, "DELETE", "ks/plain")
        v2_req(p1, "PUT", "ks/ttl", {"value": "expires", "ttl": "2"})
        time.sleep(4)  # the leader proposes SYNC every 500 ms while a TTL key exists; it expires the key
        step("v2: PUT, CAS PUT, PUT dir, POST, GET quorum=true (QGET), DELETE, PUT ttl=2 (SYNCs)")

    # downgrade: enable, then cancel (3.6+: the cluster version is lowered to the target, then raised)
    target_v = {"3.5.35": "3.4", "3.6": "3.5", "3.7": "3.6"}[ver]
    cv0 = cluster_version(p1)
    if v36plus:
        ctl("downgrade", "validate", target_v)
        ctl("downgrade", "enable", target_v)
    else:
        # 3.5's etcdctl has no downgrade command; the server serves it over the gateway. 3.5 applies a
        # DowngradeInfoSet without answering its proposer (applierV3backend.Apply returns nil), so the
        # request times out after the entry was committed and applied ("The server is ready to downgrade").
        api(p1, "/v3/maintenance/downgrade", {"action": "VALIDATE", "version": target_v})
        answers = []
        for action in ("ENABLE", "CANCEL"):
            try:
                api(p1, "/v3/maintenance/downgrade", {"action": action, "version": target_v}, timeout=15)
                answers.append("%s: ok" % action)
            except RuntimeError as e:
                if "request timed out" not in str(e):
                    raise
                answers.append("%s: %s" % (action, e))
    lowered = None
    if v36plus:
        for _ in range(60):
            lowered = cluster_version(p1)
            if lowered.startswith(target_v + "."):
                break
            time.sleep(0.5)
    if v36plus:
        ctl("downgrade", "cancel")
        answers = ["ENABLE: ok", "CANCEL: ok"]
    raised = cluster_version(p1)
    for _ in range(60):
        raised = cluster_version(p1)
        if raised == cv0:
            break
        time.sleep(0.5)
    step("downgrade validate/enable %s, cancel" % target_v, cluster_version_before=cv0,
         cluster_version_enabled=lowered, cluster_version_after=raised, answers=answers)

    # membership: m4 learner -> voter -> updated -> removed; m5 voter never started -> removed
    c4, pp4 = member_ports(cfg, 3)
    extra_peer = url(pp4 + 20)
    out = etcdctl_retry(ver, p1, "member", "add", "m4", "--peer-urls", url(pp4), "--learner", "-w", "json")
    m4 = json.loads(out.stdout)["member"]["ID"]
    fl = flags_for(cfg, "m4", os.path.join(data, "m4"), state="existing",
                   cluster=initial_cluster(cfg, ["m1", "m2", "m3", "m4"]), extra_peer_urls=[extra_peer])
    procs["m4"] = Etcd(ver, fl, os.path.join(logs, "m4.log"), c4)
    meta["members"].append({"name": "m4", "client_port": c4, "peer_port": pp4, "data_dir": "data/m4",
                            "member_dir": "data/m4/member", "flags": [a.replace(data + "/", "data/") for a in fl]})
    if not procs["m4"].wait_ready(30):
        raise RuntimeError("m4 did not start, see %s" % procs["m4"].logpath)
    for i in range(5):
        put(("member/learner/%d" % i).encode(), b"x")
    etcdctl_retry(ver, p1, "member", "promote", "%x" % m4, tries=80)
    etcdctl_retry(ver, p1, "member", "update", "%x" % m4, "--peer-urls", "%s,%s" % (url(pp4), extra_peer))
    for i in range(5):
        put(("member/voter/%d" % i).encode(), b"x")
    time.sleep(1)
    etcdctl_retry(ver, p1, "member", "remove", "%x" % m4)
    rc = procs["m4"].wait_exit(20)
    step("member add m4 --learner, start, promote, update peer URLs, remove (m4 exited by itself, rc %s)" % rc,
         id=hex16(m4))
    _, pp5 = member_ports(cfg, 4)
    out = etcdctl_retry(ver, p1, "member", "add", "m5", "--peer-urls", url(pp5), "-w", "json")
    m5 = json.loads(out.stdout)["member"]["ID"]
    etcdctl_retry(ver, p1, "member", "remove", "%x" % m5)
    step("member add m5 (voter, never started), remove", id=hex16(m5))

    # the checkpoint: due 300 s after the grant (checked every 500 ms by the leader); a keep-alive after
    # it clears the remaining TTL with a second checkpoint
    wait = t_cp + 303 - time.time()
    if wait > 0:
        log("waiting %.0f s for the lease checkpoint" % wait)
        time.sleep(wait)
    ctl("lease", "keep-alive", "--once", "%x" % int(cp_lease))
    time.sleep(1)
    api(p1, "/v3/lease/revoke", {"ID": cp_lease})
    step("lease checkpoint due (5 min after the grant), keep-alive --once, revoke", lease=hex16(cp_lease))
    for i in range(5):
        put(("after/%d" % i).encode(), b"x")
    step("put x5")
    return {"ops": len(steps), "steps": steps, "removed_members": {"m4": hex16(m4), "m5": hex16(m5)},
            "seconds": round(time.time() - t0, 1)}


# ------------------------------------------------------------------ archives


def make_archive(src_dir, out):
    tmp = out + ".tmp"
    entries = sorted(os.listdir(src_dir))
    cmd = ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=2024-01-01 00:00:00",
           "-I", "zstd -19 -T2 -q", "-cf", tmp, "-C", src_dir] + entries
    subprocess.run(cmd, check=True)
    os.replace(tmp, out)


def extract_archive(archive, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    subprocess.run(["tar", "-I", "zstd", "-xf", archive, "-C", dest], check=True)


def wal_summary(member_dir):
    """Per-segment WAL summary by our own decoder (walfmt), CRC chained across segments."""
    wdir = os.path.join(member_dir, "wal")
    segs = []
    walks = []
    crc = 0
    for name in sorted(os.listdir(wdir)):
        if not name.endswith(".wal"):
            continue
        with open(os.path.join(wdir, name), "rb") as f:
            buf = f.read()
        w = walfmt.walk_segment(buf, crc=crc)
        crc = w["crc"]
        seq, idx = walfmt.parse_wal_name(name)
        s = walfmt.segment_summary(name, len(buf), w)
        s["seq"], s["name_index"] = seq, idx
        segs.append(s)
        walks.append((name, w))
    return {"segments": segs, "all_crc_ok": all(s["crc_ok"] for s in segs)}, walks


# ------------------------------------------------------------------ clean configs


def gen_clean(name):
    cfg = dict(CONFIGS[name])
    ver = cfg["ver"]
    cfg["all_members"] = all_members(cfg)
    wd = os.path.join(WORK, "clean", name)
    if os.path.exists(wd):
        shutil.rmtree(wd)
    data = os.path.join(wd, "data")
    logs = os.path.join(WORK, "logs", name)
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(data)
    log("clean %s: etcd %s, members %s" % (name, VERSIONS[ver]["version"], cfg["members"]))
    procs = {}
    meta = {"config": name, "etcd_version": VERSIONS[ver]["version"], "suite": cfg.get("suite", "default"),
            "initial_cluster_token": TOKEN,
            "snapshot_count": cfg["snapshot_count"], "members": [], "archive": name + ".tar.zst",
            "layout": "data/<member>/member/{wal,snap}"}
    try:
        for n in cfg["members"]:
            i = cfg["all_members"].index(n)
            cport, pport = member_ports(cfg, i)
            fl = flags_for(cfg, n, os.path.join(data, n))
            procs[n] = Etcd(ver, fl, os.path.join(logs, n + ".log"), cport)
            meta["members"].append({"name": n, "client_port": cport, "peer_port": pport,
                                    "data_dir": "data/" + n, "member_dir": "data/%s/member" % n,
                                    "flags": [a.replace(wd + "/", "") for a in fl]})
        for n, p in procs.items():
            if not p.wait_ready(30):
                raise RuntimeError("etcd %s did not become ready, see %s" % (n, p.logpath))
        port = procs[cfg["members"][0]].cport
        if cfg["workload"] == "mixed":
            meta["workload"] = workload_mixed(ver, port, cfg["ops"], cfg["seed"])
        elif cfg["workload"] == "large":
            meta["workload"] = workload_large(ver, port, cfg["ops"], cfg["seed"])
        elif cfg["workload"] == "membership":
            meta["workload"] = workload_membership(cfg, procs, data, logs, meta)
        elif cfg["workload"] == "v2store":
            meta["workload"] = workload_v2store(ver, port, cfg["ops"], cfg["seed"])
        elif cfg["workload"] == "learners":
            meta["workload"] = workload_learners(cfg, procs, data, logs, meta)
        elif cfg["workload"] == "k8s":
            meta["workload"] = workload_k8s(ver, port)
        elif cfg["workload"] == "kitchensink":
            meta["workload"] = workload_kitchensink(cfg, procs, data, logs, meta)
        time.sleep(1.0)
        live = [n for n in procs if procs[n].alive()]
        port = procs[live[0]].cport
        meta["final"] = {"status": {n: status_json(ver, procs[n].cport) for n in live}}
        st0 = meta["final"]["status"][live[0]]
        ks = keyspace(ver, port)
        meta["final"].update({"revision": st0["revision"], "key_count": ks.get("count", 0),
                              "raft_index": st0["raft_index"], "raft_term": st0["raft_term"],
                              "cluster_id": st0["cluster_id"]})
        meta["member_ids"] = {n: meta["final"]["status"][n]["member_id"] for n in live}
        ml = json.loads(etcdctl(ver, port, "member", "list", "-w", "json").stdout)
        meta["member_list"] = [{"id": hex16(m["ID"]), "name": m.get("name", ""), "peer_urls": m.get("peerURLs", []),
                                "is_learner": bool(m.get("isLearner", False))} for m in ml["members"]]
        if cfg.get("save_restore"):
            snapfile = os.path.join(wd, "snapshot.db")
            p = etcdctl(ver, port, "snapshot", "save", snapfile)
            meta["snapshot_save"] = {"file": "snapshot.db", "rc": p.returncode,
                                     "size": os.path.getsize(snapfile)}
    finally:
        meta["stop_rc"] = {}
        for n, p in procs.items():
            meta["stop_rc"][n] = p.stop()
    with open(os.path.join(wd, "keyspace.json"), "w") as f:
        json.dump(ks, f, indent=1)
    meta["keyspace_file"] = "keyspace.json"  # inside the archive: `etcdctl get "" --prefix -w json`
    # WAL summaries of every member dir, by our own decoder
    meta["wal"] = {}
    for n in cfg["all_members"]:
        md = os.path.join(data, n, "member")
        if os.path.isdir(md):
            meta["wal"][n], _ = wal_summary(md)
            meta["wal"][n]["snap_files"] = sorted(x for x in os.listdir(os.path.join(md, "snap")) if x.endswith(".snap"))
    if cfg["workload"] == "kitchensink":
        meta["entry_kinds"] = {n: wal_entry_kinds(os.path.join(data, n, "member")) for n in cfg["all_members"]
                               if os.path.isdir(os.path.join(data, n, "member"))}
        produced = sorted({k for v in meta["entry_kinds"].values() for k in v["kinds"]})
        if "unknown" in produced:
            raise RuntimeError("%s: entries of unknown kind: %s" % (name, meta["entry_kinds"]))
        why = dict(KINDS_NEVER_WRITTEN, **KINDS_NOT_BY[ver])
        every = ["noop"] + sorted(set(IRR_KINDS.values())) + ["conf_change", "conf_change_v2"]
        meta["kinds_produced"] = produced
        meta["kinds_not_produced"] = {k: why.get(k, "not produced (unexpected)") for k in every if k not in produced}
    for n in cfg["all_members"]:
        md = os.path.join(data, n, "member")
        if cfg["workload"] in ("learners", "v2store") and os.path.isdir(md):
            meta.setdefault("membership_on_disk", {})[n] = membership_on_disk(md)
    if cfg.get("save_restore"):
        meta["save_restore"] = save_restore(cfg, wd, logs)
    shutil.rmtree(os.path.join(wd, "scratch"), ignore_errors=True)
    out = os.path.join(FIX, name + ".tar.zst")
    make_archive(wd, out)
    # stale extracted copies of the previous archive (the testdata crate's cache)
    for d in glob.glob(os.path.join(TD, ".cache", "extract", name + "-*")):
        shutil.rmtree(d, ignore_errors=True)
    meta["archive_size"] = os.path.getsize(out)
    shutil.rmtree(wd, ignore_errors=True)  # the archive is the product; keep the disk footprint small
    meta["config_params"] = {k: v for k, v in CONFIGS[name].items()}
    jdump(meta, os.path.join(FIX, name + ".json"))
    if name in BASELINES:
        gen_baselines([name])
        meta = jload(os.path.join(FIX, name + ".json"))
    log("clean %s: revision %s keys %s raft index %s, archive %d bytes" % (
        name, meta["final"]["revision"], meta["final"]["key_count"], meta["final"]["raft_index"],
        meta["archive_size"]))
    return meta


def v2_custom_nodes(v2):
    """Top-level v2 store nodes other than /0 (membership) that have children: what etcd 3.6's
    membership.IsMetaStoreOnly calls custom content (a /2 auth node only if a child of it has children)."""
    out = []
    for node in ((v2.get("Root") or {}).get("Children") or {}).values():
        path = node.get("Path", "")
        kids = node.get("Children") or {}
        if path == "/0" or not kids:
            continue
        if path == "/2" and not any((k.get("Children") or {}) for k in kids.values()):
            continue
        out.append(path)
    return sorted(out)


def v2_leaf_keys(node, out):
    kids = node.get("Children")
    if kids:
        for k in kids.values():
            v2_leaf_keys(k, out)
    elif node.get("Path") and not node.get("Dir"):
        out.append(node["Path"])
    return out


def membership_on_disk(md):
    """Members as the bbolt db records them (isLearner) and as the newest .snap's v2 store does,
    by our own decoders (walfmt), plus the custom v2 content of that .snap."""
    with open(os.path.join(md, "snap", "db"), "rb") as f:
        db = f.read()
    out = {"db_members": []}
    for k, vo, vl in walfmt.bolt_bucket_items(db, "members"):
        m = json.loads(db[vo:vo + vl])
        out["db_members"].append({"key": k.decode(), "name": m.get("name", ""),
                                  "is_learner": bool(m.get("isLearner", False))})
    out["db_learners"] = sum(1 for m in out["db_members"] if m["is_learner"])
    snaps = sorted(x for x in os.listdir(os.path.join(md, "snap")) if x.endswith(".snap"))
    out["snap_files"] = snaps
    if snaps:
        with open(os.path.join(md, "snap", snaps[-1]), "rb") as f:
            buf = f.read()
        sn = walfmt.parse_snap(buf)
        v2 = json.loads(buf[sn["v2_off"]:sn["v2_off"] + sn["v2_len"]])
        out["newest_snap"] = {"file": snaps[-1], "index": sn["index"], "term": sn["term"]}
        members = ((v2["Root"]["Children"].get("0") or {}).get("Children") or {}).get("members") or {}
        out["v2_members"] = []
        for mnode in sorted((members.get("Children") or {}).values(), key=lambda x: x["Path"]):
            ra = (mnode.get("Children") or {}).get("raftAttributes")
            attrs = json.loads(ra["Value"]) if ra else {}
            out["v2_members"].append({"id": mnode["Path"].rsplit("/", 1)[-1],
                                      "is_learner": bool(attrs.get("isLearner", False))})
        out["v2_learners"] = sum(1 for m in out["v2_members"] if m["is_learner"])
        out["v2_custom_nodes"] = v2_custom_nodes(v2)
        out["v2_custom_keys"] = sorted(k for n in out["v2_custom_nodes"]
                                       for k in v2_leaf_keys(v2["Root"]["Children"][n.strip("/")], []))
    return out


def restore_flags(cfg, rname, rport):
    return ["--name", rname, "--initial-cluster", "%s=%s" % (rname, url(rport)),
            "--initial-cluster-token", TOKEN + "-restore", "--initial-advertise-peer-urls", url(rport)]


def run_restore(ver, snapfile, outdir, cfg, rname, rport):
    tool = VERSIONS[ver]["restore"][0]
    args = [etcd_bin(ver, tool), "snapshot", "restore", snapfile, "--data-dir", outdir] + restore_flags(cfg, rname, rport)
    check_loopback(args)
    p = subprocess.run(args, capture_output=True, env=clean_env(), timeout=120)
    return args, p


def tool_log_lines(p, wd):
    """stdout/stderr of etcdctl/etcdutl without Go stack traces, paths made relative."""
    out = []
    for ln in (p.stdout + p.stderr).decode(errors="replace").replace(wd + "/", "").splitlines():
        if ln.startswith("\t") or not ln.strip():
            continue
        out.append(ln.split(',"stacktrace"')[0][:400])
    return out[-20:]


def save_restore(cfg, wd, logs):
    ver = cfg["ver"]
    rname = "r1"
    cport, rport = cfg["base_port"] + 50, cfg["base_port"] + 51
    outdir = os.path.join(wd, "restore", rname)
    args, p = run_restore(ver, os.path.join(wd, "snapshot.db"), outdir, cfg, rname, rport)
    res = {"tool": VERSIONS[ver]["restore"][0], "rc": p.returncode,
           "args": [a.replace(wd + "/", "") for a in args[1:]],
           "flags": dict(zip(restore_flags(cfg, rname, rport)[::2], restore_flags(cfg, rname, rport)[1::2])),
           "output_dir": "restore/" + rname, "log": tool_log_lines(p, wd)}
    if p.returncode != 0:
        raise RuntimeError("restore failed: %s" % res["stderr_tail"])
    md = os.path.join(outdir, "member")
    res["wal"], _ = wal_summary(md)
    res["snap_files"] = sorted(os.listdir(os.path.join(md, "snap")))
    # start etcd on a scratch copy of the restored dir and record what it reports
    scratch = os.path.join(wd, "scratch", rname)
    shutil.copytree(outdir, scratch)
    fl = ["--name", rname, "--data-dir", scratch, "--listen-client-urls", url(cport), "--advertise-client-urls",
          url(cport), "--listen-peer-urls", url(rport), "--initial-advertise-peer-urls", url(rport),
          "--initial-cluster", "%s=%s" % (rname, url(rport)), "--initial-cluster-token", TOKEN + "-restore",
          "--logger", "zap", "--log-outputs", "stderr"]
    e = Etcd(ver, fl, os.path.join(logs, "restore-start.log"), cport)
    try:
        if not e.wait_ready(30):
            raise RuntimeError("etcd on restored dir did not start; see %s" % e.logpath)
        st = status_json(ver, cport)
        res["started"] = {"member_id": st["member_id"], "cluster_id": st["cluster_id"],
                          "revision": st["revision"], "raft_index": st["raft_index"], "raft_term": st["raft_term"],
                          "key_count": keyspace(ver, cport).get("count", 0)}
    finally:
        res["started_stop_rc"] = e.stop()
    shutil.rmtree(scratch)
    return res


def workload_membership(cfg, procs, data, logs, meta):
    """m1+m2 running; add m3 as learner, start it, promote, update its peer URLs, write, remove it."""
    ver = cfg["ver"]
    p1 = procs["m1"].cport
    steps = []
    rng = random.Random(cfg["seed"])
    for i in range(50):
        api(p1, "/v3/kv/put", {"key": b64("pre/%03d" % i), "value": b64(rand_value(rng, i))})
    c3, pp3 = member_ports(cfg, 2)
    extra_peer = url(pp3 + 20)  # second peer URL m3 also listens on, used by `member update`
    for _ in range(60):  # strict reconfig check: "unhealthy cluster" until peers are connected for a while
        out = etcdctl(ver, p1, "member", "add", "m3", "--peer-urls", url(pp3), "--learner", "-w", "json",
                      check=False)
        if out.returncode == 0:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("member add failed: %s" % out.stderr[-500:])
    res = json.loads(out.stdout)
    m3id = res["member"]["ID"]
    steps.append({"step": "member add --learner", "id": hex16(m3id)})
    fl = flags_for(cfg, "m3", os.path.join(data, "m3"), state="existing",
                   cluster=initial_cluster(cfg, ["m1", "m2", "m3"]), extra_peer_urls=[extra_peer])
    procs["m3"] = Etcd(ver, fl, os.path.join(logs, "m3.log"), c3)
    meta["members"].append({"name": "m3", "client_port": c3, "peer_port": pp3, "data_dir": "data/m3",
                            "member_dir": "data/m3/member", "flags": [a.replace(data + "/", "data/") for a in fl]})
    procs["m3"].wait_ready(30)
    for i in range(30):
        api(p1, "/v3/kv/put", {"key": b64("learner/%03d" % i), "value": b64(rand_value(rng, i))})
    for _ in range(40):
        p = etcdctl(ver, p1, "member", "promote", "%x" % m3id, check=False)
        if p.returncode == 0:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("promote failed: %s" % p.stderr)
    steps.append({"step": "member promote", "id": hex16(m3id)})
    for i in range(30):
        api(p1, "/v3/kv/put", {"key": b64("voter/%03d" % i), "value": b64(rand_value(rng, i))})
    etcdctl_retry(ver, p1, "member", "update", "%x" % m3id, "--peer-urls", "%s,%s" % (url(pp3), extra_peer))
    steps.append({"step": "member update", "id": hex16(m3id), "peer_urls": [url(pp3), extra_peer]})
    for i in range(30):
        api(p1, "/v3/kv/put", {"key": b64("updated/%03d" % i), "value": b64(rand_value(rng, i))})
    time.sleep(1)
    meta["removed_member_status_before_removal"] = status_json(ver, c3)
    etcdctl_retry(ver, p1, "member", "remove", "%x" % m3id)
    steps.append({"step": "member remove", "id": hex16(m3id)})
    rc = procs["m3"].wait_exit(20)
    steps.append({"step": "m3 exited by itself", "rc": rc})
    for i in range(10):
        api(p1, "/v3/kv/put", {"key": b64("after/%03d" % i), "value": b64(rand_value(rng, i))})
    return {"ops": 150, "steps": steps, "removed_member": "m3", "removed_member_id": hex16(m3id)}


# ------------------------------------------------------------------ cases


def clean_dir(config):
    """Extracted pristine copy of a config archive under .cache/gen/extract/<config>."""
    d = os.path.join(WORK, "extract", config)
    arch = os.path.join(FIX, config + ".tar.zst")
    stamp = os.path.join(d, ".stamp")
    key = "%d-%d" % (os.path.getsize(arch), os.stat(arch).st_mtime_ns)
    if os.path.exists(stamp) and open(stamp).read() == key:
        return d
    extract_archive(arch, d)
    with open(stamp, "w") as f:
        f.write(key)
    return d


_walk_cache = {}


def walks_for(config, member_dir):
    k = (config, member_dir)
    if k not in _walk_cache:
        _walk_cache[k] = wal_summary(os.path.join(clean_dir(config), member_dir))
    return _walk_cache[k]


def read(config, rel):
    with open(os.path.join(clean_dir(config), rel), "rb") as f:
        return f.read()


def rec_public(r):
    keys = ["ordinal", "offset", "frame_len", "rec_len", "pad", "type", "index", "term", "entry_type",
            "data_off", "data_len", "payload_off", "payload_len", "crc"]
    out = {k: r.get(k) for k in keys}
    if r["type"] != "entry":
        out["index"] = out["term"] = None
    return out


def wal_context(config, member, seg_name, rec):
    """entries_after / last_good_entry_before across all segments."""
    summ, walks = walks_for(config, member)
    before = None
    after = 0
    seen = False
    first_after = last_after = None
    for name, w in walks:
        for r in w["records"]:
            hit = (name == seg_name and r["ordinal"] >= rec["ordinal"]) or seen
            if name == seg_name and r["ordinal"] == rec["ordinal"]:
                seen = True
            if r["type"] != "entry":
                continue
            if hit:
                after += 1
                first_after = first_after if first_after is not None else r["index"]
                last_after = r["index"]
            else:
                before = [r["index"], r["term"]]
    return {"entries_after": after, "entries_after_range": [first_after, last_after],
            "last_good_entry_before": before}


def seg_walk(config, member, which):
    summ, walks = walks_for(config, member)
    if which == "last":
        return walks[-1]
    if which == "middle":
        return walks[len(walks) // 2]
    return walks[which]


def pick(records, frac, pred):
    n = len(records)
    start = int(n * frac)
    for r in records[start:] + records[:start][::-1]:
        if pred(r):
            return r
    raise RuntimeError("no record matches")


def newest_snap(config, member):
    sd = os.path.join(clean_dir(config), member, "snap")
    return sorted(x for x in os.listdir(sd) if x.endswith(".snap"))[-1]


def op_write(f, off, old, new, why=None):
    d = {"op": "write", "file": f, "offset": off, "old": old.hex(), "hex": new.hex()}
    if why:
        d["why"] = why
    return d


def build_case(name, spec):
    """Returns the case JSON (without etcd_verdict)."""
    config, kind = spec["clean"], spec["kind"]
    cfg = CONFIGS[config]
    mem = "data/%s/member" % spec.get("member_name", cfg["members"][0])
    seg_rel = lambda n: "wal/" + n  # noqa: E731
    case = {"case": name, "clean": config, "etcd_version": VERSIONS[cfg["ver"]]["version"],
            "member": mem, "data_dir": os.path.dirname(mem), "kind": kind}
    if spec.get("suite", cfg.get("suite", "default")) != "default":  # absent = default (older JSONs)
        case["suite"] = spec.get("suite", cfg.get("suite"))
    if spec.get("releases"):
        case["releases"] = [VERSIONS[k]["version"] for k in spec["releases"]]
    if spec.get("start_members"):
        case["start_members"] = spec["start_members"]
    gt = {}
    edits = []
    if kind.startswith("wal-"):
        seg_name, w = seg_walk(config, mem, spec.get("segment", "last"))
        recs = w["records"]
        f = "%s/wal/%s" % (mem, seg_name)
        buf = read(config, f)
        if kind == "wal-flip-entry":
            r = pick(recs, spec.get("frac", 0.5), lambda r: r["type"] == "entry" and r["entry_type"] == "EntryNormal"
                     and r["payload_len"] >= 24)
            off = r["payload_off"] + r["payload_len"] // 2
            edits.append(op_write(f, off, buf[off:off + 1], bytes([buf[off] ^ 0xFF])))
            what = "one byte XOR 0xff inside raftpb.Entry.Data of entry %d (protobuf framing intact), %s segment" % (
                r["index"], spec.get("segment", "last"))
        elif kind == "wal-flip-last-record":
            r = recs[-1]
            off = r["data_off"] + r["data_len"] - 1
            edits.append(op_write(f, off, buf[off:off + 1], bytes([buf[off] ^ 0xFF])))
            what = "one byte XOR 0xff in the data field of the last record (%s) of the last segment" % r["type"]
        elif kind == "wal-torn-tail":
            r = pick(recs, 0.97, lambda r: r["type"] == "entry" and r["rec_len"] >= 40)
            size = r["offset"] + 8 + r["rec_len"] // 2
            edits.append({"op": "truncate", "file": f, "size": size, "old_size": len(buf)})
            what = "last segment truncated at %d, in the middle of record #%d (torn tail)" % (size, r["ordinal"])
        elif kind == "wal-zero-4k":
            end = w["end_of_data"]
            target = spec.get("frac", 0.85)
            cands = []
            for r in recs:
                a = (r["offset"] + 4095) // 4096 * 4096
                if r["offset"] < a < r["offset"] + r["frame_len"] and a + 4096 + 512 < end:
                    cands.append((a, r))
            a, r = min(cands, key=lambda c: abs(c[0] - end * target))
            old = buf[a:a + 4096]
            edits.append({"op": "zero", "file": f, "offset": a, "len": 4096, "old": old.hex()})
            what = "4096 bytes zeroed at 4096-aligned offset %d, starting inside record #%d; valid records follow" % (
                a, r["ordinal"])
        elif kind == "wal-zero-512-lenword":
            end = w["end_of_data"]
            aligned = [r for r in recs if r["offset"] % 512 == 0 and r["offset"] + 512 < end - 1024
                       and r["ordinal"] > 4]
            r = min(aligned, key=lambda r: abs(r["offset"] - end * spec.get("frac", 0.8)))
            edits.append({"op": "zero", "file": f, "offset": r["offset"], "len": 512,
                          "old": buf[r["offset"]:r["offset"] + 512].hex()})
            what = "512 bytes zeroed at sector-aligned offset %d = the length word of record #%d; valid records follow" % (
                r["offset"], r["ordinal"])
        elif kind == "wal-zero-512-inside":
            cands = []
            for r in recs:
                a = (r["offset"] + 8 + 511) // 512 * 512
                if r["offset"] + 8 < a and a + 512 <= r["offset"] + r["frame_len"]:
                    cands.append((a, r))
            a, r = cands[len(cands) // 2]
            edits.append({"op": "zero", "file": f, "offset": a, "len": 512, "old": buf[a:a + 512].hex()})
            what = "512 bytes zeroed at sector-aligned offset %d inside record #%d's body, %s segment" % (
                a, r["ordinal"], spec.get("segment"))
        elif kind in ("wal-len-huge", "wal-len-misframed"):
            r = pick(recs, spec.get("frac", 0.6), lambda r: r["type"] == "entry" and r["rec_len"] >= 32)
            old = buf[r["offset"]:r["offset"] + 8]
            wv = int.from_bytes(old, "little")
            if kind == "wal-len-huge":
                nv = (wv & 0xFF00000000000000) | 0x0000000002000000 * 100  # 3,355,443,200 > 10 MiB, top byte kept
                what = "length word of record #%d set to %d bytes (> 10 MiB; top/pad byte kept)" % (
                    r["ordinal"], nv & 0x00FFFFFFFFFFFFFF)
                if spec.get("segment"):
                    what += ", %s segment" % spec["segment"]
            else:
                nv = wv + 16  # low byte += 16: frame 16 bytes too long, misaligns everything after
                assert (nv & 0xFF) == ((wv & 0xFF) + 16) & 0xFF and nv >> 8 == wv >> 8, "carry"
                what = "length word low byte of record #%d changed (%d -> %d): record mis-framed by 16 bytes" % (
                    r["ordinal"], wv & 0xFF, nv & 0xFF)
            new = nv.to_bytes(8, "little")
            edits.append(op_write(f, r["offset"], old, new))
        elif kind == "wal-len-beyond-file":
            # the last entry record of a (full) middle segment claims 4096 bytes more than the file
            # has after its length word: < 10 MiB, so 3.5.1's fixed limit does not catch it
            r = [x for x in recs if x["type"] == "entry"][-1]
            old = buf[r["offset"]:r["offset"] + 8]
            wv = int.from_bytes(old, "little")
            claim = len(buf) - (r["offset"] + 8) + 4096
            assert claim < 10 * MiB - 8, claim
            nv = (wv & 0xFF00000000000000) | claim
            edits.append(op_write(f, r["offset"], old, nv.to_bytes(8, "little")))
            gt["claimed_len"] = claim
            gt["file_size"] = len(buf)
            what = ("length word of record #%d (the last entry of a middle segment) set to %d bytes: %d more than "
                    "the %d-byte file holds after it (< 10 MiB; top/pad byte kept)" % (
                        r["ordinal"], claim, 4096, len(buf)))
        elif kind == "wal-record-malformed":
            # walpb.Record framing and frame length intact, but its data field's length varint claims
            # more bytes than the record has (same varint width): gogo returns io.ErrUnexpectedEOF,
            # protobuf-go "cannot parse invalid wire-format data"
            def data_len_varint(r):
                i = r["offset"] + 8
                end = i + r["rec_len"]
                for fno, wt, v, voff, vlen in walfmt.fields(buf, i, end):
                    if fno == 3 and wt == 2:
                        # the varint ends at voff; find where it starts (after the key byte 0x1a)
                        k = voff - 1
                        while buf[k - 1] & 0x80:
                            k -= 1
                        return k, voff
                return None
            r = pick(recs, spec.get("frac", 0.75), lambda r: r["type"] == "entry" and r["data_len"] >= 40
                     and data_len_varint(r) is not None)
            a, b = data_len_varint(r)
            old = buf[a:b]
            v = walfmt.varint(buf, a, b)[0]
            nv = v + 16
            enc = bytearray()
            x = nv
            while True:
                if x < 0x80:
                    enc.append(x)
                    break
                enc.append((x & 0x7F) | 0x80)
                x >>= 7
            assert len(enc) == len(old), "varint width changed"
            edits.append(op_write(f, a, old, bytes(enc)))
            gt["data_len_varint_offset"] = a
            gt["data_len_claimed"] = nv
            what = ("walpb.Record #%d (entry %d) malformed: its data field's length varint says %d bytes, the "
                    "record holds %d (frame length and CRC untouched), last segment" % (
                        r["ordinal"], r["index"], nv, v))
        elif kind == "wal-last-empty":
            summ, walks = walks_for(config, mem)
            lname, lw = walks[-1]
            f = "%s/wal/%s" % (mem, lname)
            seg_name = lname
            recs = lw["records"]
            r = recs[0]
            edits.append({"op": "truncate", "file": f, "size": 0, "old_size": len(read(config, f))})
            what = "last WAL segment %s truncated to 0 bytes (the previous segment ends cleanly)" % lname
        elif kind == "wal-delete-segment":
            summ, walks = walks_for(config, mem)
            dname, _ = walks[len(walks) // 2]
            nname, nw = walks[len(walks) // 2 + 1]
            edits.append({"op": "delete", "file": "%s/wal/%s" % (mem, dname)})
            r = nw["records"][0]
            f = "%s/wal/%s" % (mem, nname)
            seg_name = nname
            gt["deleted_segment"] = "wal/" + dname
            what = "middle WAL segment %s deleted; the crc record at the start of %s no longer chains" % (dname, nname)
        elif kind == "wal-rename-segment":
            summ, walks = walks_for(config, mem)
            lname, lw = walks[-1]
            seq, idx = walfmt.parse_wal_name(lname)
            to = "%016x-%016x.wal" % (seq + 2, idx)
            edits.append({"op": "rename", "from": "%s/wal/%s" % (mem, lname), "to": "%s/wal/%s" % (mem, to)})
            r = lw["records"][0]
            gt["renamed_to"] = "wal/" + to
            what = "last WAL segment renamed out of sequence: seq %d -> %d (%s -> %s)" % (seq, seq + 2, lname, to)
        else:
            raise ValueError(kind)
        gt["file"] = seg_rel(seg_name)
        gt["segment"] = seg_name
        gt["segment_position"] = [n for n, _ in walks_for(config, mem)[1]].index(seg_name)
        gt["segments_total"] = len(walks_for(config, mem)[1])
        gt["record"] = rec_public(r)
        gt["records_in_segment"] = len(recs) if kind not in ("wal-delete-segment",) else len(
            walks_for(config, mem)[1][gt["segment_position"]][1]["records"])
        gt["offset"] = edits[0].get("offset", edits[0].get("size", r["offset"]))
        if edits[0]["op"] in ("write", "zero"):
            gt["offset_in_record_frame"] = edits[0]["offset"] - r["offset"]
        gt.update(wal_context(config, mem, seg_name, r))
    elif kind == "snap-flip":
        sname = newest_snap(config, mem)
        f = "%s/snap/%s" % (mem, sname)
        buf = read(config, f)
        s = walfmt.parse_snap(buf)
        off = s["data_off"] + s["data_len"] // 2
        edits.append(op_write(f, off, buf[off:off + 1], bytes([buf[off] ^ 0xFF])))
        gt.update({"file": "snap/" + sname, "offset": off, "record": None,
                   "snap": {k: s[k] for k in ("crc", "crc_ok", "data_off", "data_len", "index", "term", "size")},
                   "other_snaps": [x for x in sorted(os.listdir(os.path.dirname(os.path.join(clean_dir(config), f))))
                                   if x.endswith(".snap") and x != sname]})
        what = "one byte XOR 0xff in the middle of the newest .snap file's payload (crc no longer matches)"
    elif kind == "db-behind-snap":
        f = mem + "/snap/db"
        buf = read(config, f)
        info = walfmt.bolt_info(buf)
        off, val = walfmt.bolt_get(buf, "meta", b"consistent_index")
        ci = int.from_bytes(val, "big")
        sd = os.path.join(clean_dir(config), mem, "snap")
        snaps = sorted(x for x in os.listdir(sd) if x.endswith(".snap"))
        idx = [walfmt.parse_wal_name(x.replace(".snap", ".wal"))[1] for x in snaps]  # term-index
        newest, older = idx[-1], idx[-2]
        assert older < newest <= ci, (older, newest, ci)
        edits.append(op_write(f, off, val, older.to_bytes(8, "big"), why="meta/consistent_index %d -> %d" % (
            ci, older)))
        gt.update({"file": "snap/db", "record": None, "offset": off, "page_id": None, "page_size": info["page_size"],
                   "consistent_index": ci, "consistent_index_new": older, "newest_snap": snaps[-1],
                   "newest_snap_index": newest, "snap_files": snaps,
                   "expected_snap_db": "%016x.snap.db" % newest})
        what = ("db behind its newest .snap: meta/consistent_index set from %d to %d (the index of the older %s), "
                "the newest .snap is at %d; no %016x.snap.db" % (ci, older, snaps[-2], newest, newest))
        if spec.get("as_snap_db"):
            # ... and the lowered db is also there as the newest snapshot's <index>.snap.db, so that
            # etcd's RecoverSnapshotBackend finds it and the index check after it is reached
            to = "%s/snap/%016x.snap.db" % (mem, newest)
            edits.append({"op": "copy", "from": f, "to": to})
            gt["copied_to"] = "snap/%016x.snap.db" % newest
            what = ("db behind its newest .snap, with that .snap's db present: meta/consistent_index lowered from %d "
                    "to %d (below the newest .snap's index %d) and the db copied to %016x.snap.db" % (
                        ci, older, newest, newest))
    elif kind == "db-deleted":
        f = mem + "/snap/db"
        sd = os.path.join(clean_dir(config), mem, "snap")
        snaps = sorted(x for x in os.listdir(sd) if x.endswith(".snap"))
        buf = read(config, f)
        info = walfmt.bolt_info(buf)
        edits.append({"op": "delete", "file": f})
        newest = walfmt.parse_wal_name(snaps[-1].replace(".snap", ".wal"))[1]
        gt.update({"file": "snap/db", "record": None, "offset": 0, "size": len(buf), "txid": info["txid"],
                   "snap_files": snaps, "newest_snap_index": newest, "expected_snap_db": "%016x.snap.db" % newest})
        what = "snap/db deleted while %d .snap files exist (newest at index %d)" % (len(snaps), newest)
    elif kind in ("v2store-custom", "learners-two"):
        # the condition was written by etcd itself (the config's workload); nothing is edited
        meta = jload(os.path.join(FIX, config + ".json"))
        md = meta["membership_on_disk"][os.path.basename(os.path.dirname(mem))]
        case["as_written"] = True
        if kind == "v2store-custom":
            assert md["v2_custom_nodes"], md
            gt.update({"file": "snap/" + md["newest_snap"]["file"], "record": None, "offset": None,
                       "v2_custom_nodes": md["v2_custom_nodes"], "v2_custom_keys": md["v2_custom_keys"],
                       "newest_snap": md["newest_snap"]})
            what = ("etcd %s data dir (--enable-v2) with custom v2 store content written through the v2 API: %s "
                    "in the newest .snap" % (case["etcd_version"], ", ".join(md["v2_custom_keys"])))
        else:
            assert md["db_learners"] >= 2, md
            gt.update({"file": "snap/db", "record": None, "offset": None, "db_members": md["db_members"],
                       "db_learners": md["db_learners"], "v2_members": md.get("v2_members"),
                       "v2_learners": md.get("v2_learners")})
            what = ("etcd %s data dir whose db holds %d learners (a promoted learner still isLearner=true in "
                    "the db, etcd#19557, plus a second learner added after the promotion)" % (
                        case["etcd_version"], md["db_learners"]))
    elif kind.startswith("db-"):
        f = mem + "/snap/db"
        buf = read(config, f)
        info = walfmt.bolt_info(buf)
        ps = info["page_size"]
        gt.update({"file": "snap/db", "record": None, "page_size": ps, "txid": info["txid"],
                   "current_meta_page": info["current_meta_page"], "pgid": info["pgid"]})
        if kind in ("db-meta-current", "db-meta-both"):
            pages = [info["current_meta_page"]] if kind == "db-meta-current" else [0, 1]
            for pg in pages:
                m = info["metas"][pg]
                off = m["meta_offset"] + 48  # low byte of txid: checksum no longer matches
                edits.append(op_write(f, off, buf[off:off + 1], bytes([buf[off] ^ 0xFF]),
                                      why="meta page %d txid low byte" % pg))
            gt["page_id"] = pages[0]
            gt["pages"] = pages
            gt["offset"] = edits[0]["offset"]
            what = ("current bbolt meta page (page %d, txid %d) corrupted: txid byte flipped, checksum mismatch" % (
                pages[0], info["txid"]) if kind == "db-meta-current" else
                "both bbolt meta pages corrupted (txid byte flipped in each; checksum mismatch)")
        else:
            leaves = info["key_bucket_leaves"]
            pg = leaves[len(leaves) // 2]
            off = pg * ps + 8
            edits.append(op_write(f, off, buf[off:off + 2], (0x40).to_bytes(2, "little"),
                                  why="page flags leaf(0x02) -> 0x40"))
            gt.update({"page_id": pg, "offset": off, "key_bucket_root": info["key_bucket_root"],
                       "key_bucket_leaf_count": len(leaves)})
            what = "flags of leaf page %d of bucket `key` overwritten with 0x0040 (not a valid page type)" % pg
    elif kind in ("save-flip", "save-no-trailer"):
        f = "snapshot.db"
        buf = read(config, f)
        body = buf[:-32]
        assert hashlib.sha256(body).digest() == buf[-32:], "snapshot.db trailer is not sha256(body)"
        info = walfmt.bolt_info(body)
        case["member"] = None
        case["data_dir"] = None
        gt.update({"file": "snapshot.db", "record": None, "size": len(buf), "page_size": info["page_size"],
                   "sha256_trailer": buf[-32:].hex()})
        if kind == "save-flip":
            off = (len(body) // info["page_size"] // 2) * info["page_size"] + 100
            edits.append(op_write(f, off, buf[off:off + 1], bytes([buf[off] ^ 0xFF])))
            gt["offset"] = off
            gt["page_id"] = off // info["page_size"]
            what = "`snapshot save` file with one byte XOR 0xff in the body (page %d); sha256 trailer kept" % gt["page_id"]
        else:
            edits.append({"op": "truncate", "file": f, "size": len(body), "old_size": len(buf)})
            gt["offset"] = len(body)
            what = "`snapshot save` file without its 32-byte sha256 trailer"
    else:
        raise ValueError(kind)
    case["what"] = what
    case["edits"] = edits
    case["ground_truth"] = gt
    return case


def case_specs():
    s = {}
    for v in ("v35", "v34") + tuple(RELEASE_PREFIX.values()):
        c = v + "-single"
        s[v + "-wal-flip-entry-mid"] = {"clean": c, "kind": "wal-flip-entry", "frac": 0.5}
        s[v + "-wal-flip-last-record"] = {"clean": c, "kind": "wal-flip-last-record"}
        s[v + "-wal-torn-tail"] = {"clean": c, "kind": "wal-torn-tail"}
        s[v + "-wal-zero-4k"] = {"clean": c, "kind": "wal-zero-4k", "frac": 0.85}
        s[v + "-wal-zero-512-lenword"] = {"clean": c, "kind": "wal-zero-512-lenword", "frac": 0.8}
        s[v + "-wal-len-huge"] = {"clean": c, "kind": "wal-len-huge", "frac": 0.6}
        s[v + "-wal-len-misframed"] = {"clean": c, "kind": "wal-len-misframed", "frac": 0.65}
        s[v + "-snap-flip-newest"] = {"clean": c, "kind": "snap-flip"}
        s[v + "-db-meta-current"] = {"clean": c, "kind": "db-meta-current"}
        s[v + "-db-meta-both"] = {"clean": c, "kind": "db-meta-both"}
        s[v + "-db-leaf-flags"] = {"clean": c, "kind": "db-leaf-flags"}
        s[v + "-save-flip"] = {"clean": c, "kind": "save-flip"}
        s[v + "-save-no-trailer"] = {"clean": c, "kind": "save-no-trailer"}
    for v in ("v35", "v34") + tuple(RELEASE_PREFIX.values()):
        c = v + "-cluster3"
        both = ["m1", "m2", "m3"]
        s[v + "-cluster3-m2-wal-flip-entry"] = {"clean": c, "kind": "wal-flip-entry", "frac": 0.5,
                                                "member_name": "m2", "start_members": both}
        s[v + "-cluster3-m2-torn-tail"] = {"clean": c, "kind": "wal-torn-tail", "member_name": "m2",
                                           "start_members": both}
    for v in ("v35", "v34") + tuple(RELEASE_PREFIX.values()):
        r = v + "-rollover"
        s[v + "-roll-delete-middle"] = {"clean": r, "kind": "wal-delete-segment"}
        s[v + "-roll-rename-last"] = {"clean": r, "kind": "wal-rename-segment"}
        s[v + "-roll-flip-middle"] = {"clean": r, "kind": "wal-flip-entry", "segment": "middle", "frac": 0.5}
        s[v + "-roll-zero-512-middle"] = {"clean": r, "kind": "wal-zero-512-inside", "segment": "middle"}
        s[v + "-roll-torn-tail"] = {"clean": r, "kind": "wal-torn-tail"}
    # Cross-release cases: one set of bytes (3.5 data), every release's verdict (`etcd_verdicts`).
    x = {"suite": "extended", "releases": ALL_RELEASES}
    s["v35-roll-len-huge-middle"] = dict(x, clean="v35-rollover", kind="wal-len-huge", segment="middle", frac=0.5)
    s["v35-roll-len-beyond-file"] = dict(x, clean="v35-rollover", kind="wal-len-beyond-file", segment="middle")
    s["v35-wal-record-malformed"] = dict(x, clean="v35-single", kind="wal-record-malformed", frac=0.75)
    s["v35-db-behind-snap"] = dict(x, clean="v35-single", kind="db-behind-snap")
    s["v35-db-behind-snap-db"] = dict(x, clean="v35-single", kind="db-behind-snap", as_snap_db=True)
    s["v35-v2store-custom"] = dict(x, clean="v35-v2store", kind="v2store-custom")
    s["v3535-v2store-custom"] = dict(x, clean="v3535-v2store", kind="v2store-custom")
    s["v35-learners-two"] = dict(x, clean="v35-learners", kind="learners-two", start_members=["m1", "m2"])
    # issue 15 (3.5.1's verdict is the one asked for; every release's is recorded too)
    s["v35-roll-last-empty"] = dict(x, clean="v35-rollover", kind="wal-last-empty")
    s["v35-db-deleted"] = dict(x, clean="v35-single", kind="db-deleted")
    # per-release suites: the cases of a built release's data are in the extended suite
    for name, spec in s.items():
        if CONFIGS[spec["clean"]].get("suite") == "extended":
            spec.setdefault("suite", "extended")
        # the older releases judge their line's data and the cross-release cases too
        own = CONFIGS[spec["clean"]]["ver"]
        extra = [k for k, lines in OLDER_RELEASES.items() if spec.get("releases") or own in lines]
        if extra:
            spec["releases"] = sorted(set(spec.get("releases") or [own]) | set(extra), key=version_order)
    return s


def available_cases():
    return {k: v for k, v in case_specs().items() if os.path.exists(os.path.join(FIX, v["clean"] + ".tar.zst"))}


def gen_cases(names=None):
    os.makedirs(CASES_DIR, exist_ok=True)
    specs = available_cases()
    for name in names or sorted(specs):
        case = build_case(name, specs[name])
        path = os.path.join(CASES_DIR, name + ".json")
        if os.path.exists(path):
            old = jload(path)
            if "etcd_verdict" in old and old.get("edits") == case["edits"]:
                case["etcd_verdict"] = old["etcd_verdict"]
                case["expected_outcome"] = old.get("expected_outcome")
                if "etcd_verdicts" in old:
                    case["etcd_verdicts"] = old["etcd_verdicts"]
        jdump(case, path)
        log("case %s: %s" % (name, case["what"]))


# ------------------------------------------------------------------ applying edits


def apply_edits(root, edits):
    for e in edits:
        op = e["op"]
        if op == "write":
            p = os.path.join(root, e["file"])
            with open(p, "r+b") as f:
                f.seek(e["offset"])
                assert f.read(len(e["hex"]) // 2).hex() == e["old"], "old bytes differ in %s" % p
                f.seek(e["offset"])
                f.write(bytes.fromhex(e["hex"]))
        elif op == "zero":
            with open(os.path.join(root, e["file"]), "r+b") as f:
                f.seek(e["offset"])
                f.write(b"\0" * e["len"])
        elif op == "truncate":
            os.truncate(os.path.join(root, e["file"]), e["size"])
        elif op == "delete":
            os.remove(os.path.join(root, e["file"]))
        elif op == "rename":
            os.rename(os.path.join(root, e["from"]), os.path.join(root, e["to"]))
        elif op == "copy":
            shutil.copyfile(os.path.join(root, e["from"]), os.path.join(root, e["to"]))
        else:
            raise ValueError(op)


def scratch_copy(config, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(clean_dir(config), dest, ignore=shutil.ignore_patterns(".stamp"))


def listing(d):
    out = {}
    for base, _dirs, files in os.walk(d):
        for fn in files:
            p = os.path.join(base, fn)
            out[os.path.relpath(p, d)] = os.path.getsize(p)
    return out


def first_fatal(logtext):
    lines = logtext.splitlines()
    for ln in lines:
        try:
            j = json.loads(ln)
        except Exception:
            continue
        if isinstance(j, dict) and j.get("level") in ("fatal", "panic", "dpanic"):
            # a panic recovered and re-raised by etcd's scheduler carries its text in "panic"
            return {"kind": "zap-" + j["level"], "msg": j.get("msg"), "error": j.get("error") or j.get("panic"),
                    "caller": j.get("caller"), "line": ln[:600]}
    for ln in lines:
        if ln.startswith("panic:") or ln.startswith("fatal error:"):
            return {"kind": "go-panic", "msg": ln, "error": None, "line": ln}
    return None


def interesting_log_lines(logtext, limit=12):
    keys = ("repair", "broken", "corrupt", "crc", "ignored file", "removed", "fatal", "panic", "error",
            "failed", "unexpected EOF")
    out = []
    for ln in logtext.splitlines():
        try:
            j = json.loads(ln)
        except Exception:
            if ln.startswith("panic:"):
                out.append(ln[:400])
            continue
        if not isinstance(j, dict):
            continue
        if str(j.get("caller", "")).startswith(("rafthttp/", "etcdserver/zap_raft")) and j.get("level") not in (
                "fatal", "panic"):
            continue  # peer connection noise
        if j.get("level") in ("warn", "error", "fatal", "panic") or any(k in ln for k in keys[:6]):
            j.pop("ts", None)
            j.pop("stacktrace", None)
            out.append(json.dumps(j)[:400])
    return out[:limit]


def repair_point(seg, broken):
    """Offset of the first record etcd rewrote after its Repair: walk the repaired segment and find
    the first frame whose bytes differ from the pre-repair copy (= end of the last valid record)."""
    with open(seg, "rb") as f:
        new = f.read()
    with open(broken, "rb") as f:
        old = f.read()
    w = walfmt.walk_segment(new, verify_crc=False)
    for r in w["records"]:
        a, b = r["offset"], r["offset"] + r["frame_len"]
        if new[a:b] != old[a:b]:
            return {"first_rewritten_record_offset": a, "post_run_size": len(new)}
    return {"first_rewritten_record_offset": w["end_of_data"], "post_run_size": len(new)}


def port_free(port):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as etcd: TIME_WAIT is no obstacle
    try:
        sock.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def wait_ports_free(ports, what, timeout=120):
    """The config's own ports (peers are reached at the URLs stored in the data): wait while
    something else (another run, a test) holds one, rather than record its failure as a verdict."""
    end = time.time() + timeout
    while True:
        busy = [p for p in ports if not port_free(p)]
        if not busy:
            return
        if time.time() > end:
            raise SystemExit("%s: ports %s on %s stayed busy for %d s" % (what, busy, LOOPBACK, timeout))
        time.sleep(2)


def verdict_for(name, case, ver=None):
    """Real etcd `ver` (default: the config's own release) on a scratch copy of the damaged data."""
    config = case["clean"]
    cfg = dict(CONFIGS[config])
    cfg["all_members"] = all_members(cfg)
    ver = ver or cfg["ver"]
    cfg["extra"] = drop_unknown_flags(ver, cfg.get("extra", []))
    wd = os.path.join(WORK, "verdict", name)
    logs = os.path.join(WORK, "logs", "verdict")
    os.makedirs(logs, exist_ok=True)
    scratch_copy(config, wd)
    apply_edits(wd, case["edits"])
    before = listing(wd)
    t0 = time.time()
    v = {"etcd": VERSIONS[ver]["version"]}
    if VERSIONS[ver]["version"] != VERSIONS[CONFIGS[config]["ver"]]["version"]:
        v["data_written_by"] = VERSIONS[CONFIGS[config]["ver"]]["version"]
        dropped = [a for a in CONFIGS[config].get("extra", []) if a in VERSIONS[ver].get("unknown_flags", [])]
        if dropped:
            v["flags_dropped"] = dropped
    started = case.get("start_members") or [os.path.basename(case.get("data_dir") or "m1")]
    wait_ports_free(sorted({p for m in started if m in cfg["all_members"]
                            for p in member_ports(cfg, cfg["all_members"].index(m))} |
                           ({cfg["base_port"] + 50, cfg["base_port"] + 51} if case["kind"].startswith("save-")
                            else set())), name)
    if case["kind"].startswith("save-"):
        rname, rport = "r1", cfg["base_port"] + 51
        out = os.path.join(wd, "restore-out")
        args, p = run_restore(ver, os.path.join(wd, "snapshot.db"), out, cfg, rname, rport)
        err = (p.stdout + p.stderr).decode(errors="replace")
        errline = next((ln for ln in err.splitlines() if ln.startswith("Error:")), None)
        v.update({"tool": " ".join([VERSIONS[ver]["restore"][0], "snapshot", "restore"]),
                  "outcome": "exited", "exit_code": p.returncode,
                  "error_line": errline, "output_tail": err[-1200:],
                  "args": [a.replace(wd + "/", "") for a in args[1:]]})
        exp = "refuses" if p.returncode != 0 else "starts"
    else:
        n = os.path.basename(case["data_dir"])
        i = cfg["all_members"].index(n)
        cport, _ = member_ports(cfg, i)
        fl = flags_for(cfg, n, os.path.join(wd, case["data_dir"]),
                       cluster=initial_cluster(cfg, cfg["all_members"]))
        logpath = os.path.join(logs, name + ".log")
        e = Etcd(ver, fl, logpath, cport)
        # cluster cases: the undamaged members are started too (from the same scratch copy)
        peers = {}
        for m in case.get("start_members", []):
            if m == n:
                continue
            mp, _ = member_ports(cfg, cfg["all_members"].index(m))
            peers[m] = Etcd(ver, flags_for(cfg, m, os.path.join(wd, "data", m),
                                           cluster=initial_cluster(cfg, cfg["all_members"])),
                            os.path.join(logs, "%s.%s.log" % (name, m)), mp)
        ready = False

        def check_peers():
            # while the damaged member still runs (if it does): can the others serve?
            v["other_members"] = {}
            for m, pe in peers.items():
                ok = pe.wait_ready(10)
                info = {"ready": ok}
                if ok:
                    p = etcdctl(ver, pe.cport, "--command-timeout=5s", "put", "verdict/probe-" + m, "x",
                                check=False, timeout=30)
                    info["put_ok"] = p.returncode == 0
                    try:
                        info["revision"] = status_json(ver, pe.cport)["revision"]
                    except Exception as ex:
                        info["status_error"] = str(ex)
                v["other_members"][m] = info
        end = time.time() + 15
        while time.time() < end and e.alive():
            if e.wait_ready(0.5):
                ready = True
                break
        if ready:
            v["outcome"] = "started"
            try:
                st = status_json(ver, cport)
                v["after_start"] = {"revision": st["revision"], "raft_index": st["raft_index"],
                                    "raft_term": st["raft_term"], "member_id": st["member_id"],
                                    "cluster_id": st["cluster_id"]}
                try:
                    v["after_start"]["key_count"] = keyspace(ver, cport).get("count", 0)
                except Exception as ex:  # noqa
                    v["after_start"]["key_count"] = None
                p = etcdctl(ver, cport, "--command-timeout=5s", "put", "verdict/probe", "x", check=False, timeout=30)
                outl = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()
                v["put"] = {"ok": p.returncode == 0, "command": "etcdctl --command-timeout=5s put verdict/probe x",
                            "output": outl[-1][:300] if outl else ""}
            except Exception as ex:
                v["status_error"] = str(ex)
            v["exit_code"] = None
            if peers:
                check_peers()
            v["stopped_by_us_rc"] = e.stop()
        elif peers:
            check_peers()
            v["outcome"] = "exited" if e.wait_exit(0.1) is not None else "hung"
            v["exit_code"] = e.proc.poll()
            v["stopped_by_us_rc"] = e.stop() if v["outcome"] == "hung" else None
        else:
            rc = e.wait_exit(0.1)
            if rc is None:
                v["outcome"] = "hung"
                v["exit_code"] = None
                # Still running but never ready: 3.6+ hold client requests back until the member
                # has published itself through raft, so a wedged 3.6 looks like this. Probe a put
                # anyway (before stopping it), and let the log say whether it elected a leader.
                p = etcdctl(ver, cport, "--command-timeout=5s", "put", "verdict/probe", "x", check=False, timeout=30)
                outl = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()
                v["put"] = {"ok": p.returncode == 0, "command": "etcdctl --command-timeout=5s put verdict/probe x",
                            "output": outl[-1][:300] if outl else ""}
                v["stopped_by_us_rc"] = e.stop()
            else:
                e.stop()
                v["outcome"] = "exited"
                v["exit_code"] = rc
        if peers:
            for m, pe in peers.items():
                v["other_members"][m]["stopped_by_us_rc"] = pe.stop()
        with open(logpath, errors="replace") as f:
            text = f.read().replace(wd + "/", "")
        ff = first_fatal(text)
        v["first_fatal"] = ff
        v["log_excerpt"] = interesting_log_lines(text)
        after = listing(wd)
        v["files_added"] = {k: s for k, s in after.items() if k not in before}
        v["files_removed"] = sorted(k for k in before if k not in after)
        v["files_resized"] = {k: [before[k], after[k]] for k in before if k in after and before[k] != after[k]}
        v["wal_repaired"] = any(k.endswith(".wal.broken") for k in v["files_added"])
        for k in v["files_added"]:
            if k.endswith(".wal.broken"):
                v["repair_point"] = repair_point(os.path.join(wd, k[:-len(".broken")]), os.path.join(wd, k))
                v["repair_point"]["file"] = k[:-len(".broken")]
        v["wedged"] = bool(v["outcome"] == "started" and v.get("put") and not v["put"]["ok"])
        if v["outcome"] == "hung":
            v["serving"] = "now serving peer/client/metrics" in text or "serving client traffic" in text
            v["leader_elected"] = " became leader at term " in text
            # elected itself and serves, but writes never complete: the same wedge as a 3.5 that
            # reports ready and times out every put
            v["wedged"] = bool(v["serving"] and v["leader_elected"] and not v["put"]["ok"])
        if v["outcome"] == "exited" and v["exit_code"] not in (0, None):
            exp = "refuses"
        elif v["outcome"] in ("started", "hung") and (v["outcome"] == "started" or v["wedged"]) \
                and v["wal_repaired"]:
            exp = "repairs_tail"
        elif v["outcome"] == "started" or v["wedged"]:
            exp = "starts"
        else:
            exp = "refuses"
    v["seconds"] = round(time.time() - t0, 1)
    shutil.rmtree(wd, ignore_errors=True)
    return v, exp


BASELINES = {"v35-single": ["m1"], "v34-single": ["m1"], "v35-rollover": ["m1"], "v34-rollover": ["m1"],
             "v35-removed-member": ["m3"], "v34-removed-member": ["m3"]}
for _pre in RELEASE_PREFIX.values():
    BASELINES.update({_pre + "-single": ["m1"], _pre + "-rollover": ["m1"], _pre + "-removed-member": ["m3"]})


def gen_baselines(names=None):
    """Start real etcd on a scratch copy of the *clean* data (one member alone) and record what it
    did, as `clean_baseline` in fixtures/<config>.json (data-loss comparison for the cases; for
    v35-removed-member: what the removed member does with its own data dir)."""
    for config in names or sorted(BASELINES):
        path = os.path.join(FIX, config + ".json")
        if not os.path.exists(path):
            continue
        meta = jload(path)
        meta["clean_baseline"] = {}
        for m in BASELINES[config]:
            fake = {"clean": config, "edits": [], "kind": "baseline", "data_dir": "data/" + m}
            v, exp = verdict_for("baseline-%s-%s" % (config, m), fake)
            v["expected_outcome"] = exp
            meta["clean_baseline"][m] = v
            ff = v.get("first_fatal") or {}
            log("baseline %s/%s: %s exit=%s %s" % (config, m, v["outcome"], v.get("exit_code"), ff.get("msg") or ""))
        jdump(meta, path)


def log_verdict(name, v, exp):
    ff = v.get("first_fatal") or {}
    log("verdict %s [%s]: %s exit=%s %s put=%s -> %s" % (
        name, v.get("etcd"), v["outcome"], v.get("exit_code"),
        ff.get("error") or ff.get("msg") or v.get("error_line") or "", (v.get("put") or {}).get("ok"), exp))


def release_baselines(config, releases):
    """Every release started on a scratch copy of the *clean* data of `config` (one member, or the
    config's start set), as `clean_baseline_by_release` in fixtures/<config>.json: tells a verdict on
    damaged bytes from a release that refuses this data anyway (e.g. 3.4 on 3.5 data)."""
    path = os.path.join(FIX, config + ".json")
    meta = jload(path)
    have = meta.setdefault("clean_baseline_by_release", {})
    # a cluster's members together (m1 alone would wait for a quorum)
    start = {"v35-learners": ["m1", "m2"]}.get(config) or \
        (list(CONFIGS[config]["members"]) if len(CONFIGS[config]["members"]) > 1 else None)
    for k in releases:
        rel = VERSIONS[k]["version"]
        if rel in have:
            continue
        fake = {"clean": config, "edits": [], "kind": "baseline", "data_dir": "data/m1"}
        if start:
            fake["start_members"] = start
        v, exp = verdict_for("baseline-%s@%s" % (config, rel), fake, ver=k)
        v["expected_outcome"] = exp
        have[rel] = v
        log_verdict("baseline-%s" % config, v, exp)
        jdump(meta, path)


def gen_verdicts(names=None):
    specs = available_cases()
    for name in names or sorted(specs):
        path = os.path.join(CASES_DIR, name + ".json")
        if not os.path.exists(path):
            gen_cases([name])
        case = jload(path)
        own = CONFIGS[case["clean"]]["ver"]
        releases = sorted((VKEY[r] for r in case.get("releases", [])), key=version_order)
        if releases:
            release_baselines(case["clean"], releases)
            case["etcd_verdicts"] = {}
            for k in releases:
                v, exp = verdict_for("%s@%s" % (name, VERSIONS[k]["version"]), case, ver=k)
                v["expected_outcome"] = exp
                case["etcd_verdicts"][VERSIONS[k]["version"]] = v
                log_verdict(name, v, exp)
            v = dict(case["etcd_verdicts"][VERSIONS[own]["version"]])
            exp = v.pop("expected_outcome")
        else:
            v, exp = verdict_for(name, case)
            log_verdict(name, v, exp)
        case["etcd_verdict"] = v
        case["expected_outcome"] = exp
        jdump(case, path)


def with_releases(case, verdicts):
    """`case` with `releases` and `etcd_verdicts` set from `verdicts` (release -> verdict), oldest
    first, each key where build_case / gen_verdicts put it."""
    rels = sorted(verdicts, key=version_order)
    out = {}
    for k, v in case.items():
        if k in ("releases", "start_members", "as_written", "what") and "releases" not in out:
            out["releases"] = rels
        if k in ("releases", "etcd_verdicts"):
            continue
        if k == "etcd_verdict":
            out["etcd_verdicts"] = {r: verdicts[r] for r in rels}
        out[k] = v
    return out


def gen_release_verdicts(rel, names=None):
    """Release `rel` (an OLDER_RELEASES version) run on the cases it judges; its verdict merged into
    each case's `etcd_verdicts` (and `releases`), its clean baseline into the config's
    `clean_baseline_by_release`. No other release's verdict is run or changed: a case judged by its
    own release only so far gets `etcd_verdicts[own]` = its `etcd_verdict` + `expected_outcome` as
    recorded (the own release's clean baseline is run when the config has none)."""
    k = VKEY.get(rel, rel)
    if k not in OLDER_RELEASES:
        raise SystemExit("release-verdicts: %s is not one of %s" % (rel, ", ".join(OLDER_RELEASES)))
    version = VERSIONS[k]["version"]
    specs = available_cases()
    for name in names or sorted(specs):
        if name not in specs:
            raise SystemExit("release-verdicts: no case %s" % name)
        if k not in specs[name].get("releases", []):
            if names:
                raise SystemExit("release-verdicts: %s does not judge %s (OLDER_RELEASES)" % (version, name))
            continue
        path = os.path.join(CASES_DIR, name + ".json")
        case = jload(path) if os.path.exists(path) else None
        if case is None or "etcd_verdict" not in case:
            gen_verdicts([name])  # nothing recorded yet: every release of the case
            continue
        own = VERSIONS[CONFIGS[case["clean"]]["ver"]]["version"]
        verdicts = dict(case.get("etcd_verdicts") or
                        {own: dict(case["etcd_verdict"], expected_outcome=case["expected_outcome"])})
        release_baselines(case["clean"], sorted({VKEY[r] for r in verdicts} | {k}, key=version_order))
        v, exp = verdict_for("%s@%s" % (name, version), case, ver=k)
        v["expected_outcome"] = exp
        verdicts[version] = v
        log_verdict(name, v, exp)
        jdump(with_releases(case, verdicts), path)


README_HEAD = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.head.md")).read() \
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.head.md")) else ""


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def gen_readme():
    """testdata/README.md = gen/README.head.md + tables generated from fixtures/*.json and cases/*.json."""
    out = [README_HEAD.rstrip(), "", "## Clean configurations (generated table)", "",
           "| config | etcd | members | workload | final revision | keys | raft index/term | WAL segments (records/entries) | .snap files | archive |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name in sorted(CONFIGS):
        p = os.path.join(FIX, name + ".json")
        if not os.path.exists(p):
            continue
        m = jload(p)
        f = m["final"]
        segs = []
        snaps = 0
        for mem, w in m["wal"].items():
            segs.append("%s: %s" % (mem, ", ".join("%d/%d" % (s["records"], s["entries"]) for s in w["segments"])))
            snaps = max(snaps, len(w.get("snap_files", [])))
        wl = m.get("workload", {})
        counts = wl.get("counts") or {}
        wdesc = ", ".join("%s %s" % (k, v) for k, v in counts.items()) if counts else \
            "; ".join(s["step"] for s in wl.get("steps", []))
        out.append("| `%s` | %s | %s | %s | %s | %s | %s/%s | %s | %d | %.0f KB |" % (
            name, m["etcd_version"], ", ".join("%s (`%s`)" % (n, i) for n, i in m["member_ids"].items()),
            md_escape(wdesc), f["revision"], f["key_count"], f["raft_index"], f["raft_term"],
            "; ".join(segs), snaps, m["archive_size"] / 1000.0))
        if "save_restore" in m:
            sr = m["save_restore"]
            st = sr.get("started", {})
            out.append("| | | `snapshot.db` + `restore/r1` | `%s snapshot restore` %s | %s | %s | %s/%s | restored member `%s`, cluster `%s` | | |" % (
                sr["tool"], md_escape(" ".join("%s %s" % kv for kv in sr["flags"].items())), st.get("revision"),
                st.get("key_count"), st.get("raft_index"), st.get("raft_term"), st.get("member_id"),
                st.get("cluster_id")))
    out += ["", "## Damaged cases (generated table)", "",
            "`expected_outcome`: refuses = etcd exited with an error; repairs_tail = started and left a "
            "`.wal.broken`; starts = started without repair. \"put\" = `etcdctl --command-timeout=5s put` "
            "after start (FAILED = the wedged state).", "",
            "| case | suite | etcd | fault | where | etcd's verdict | expected |", "|---|---|---|---|---|---|---|"]
    cross, older = [], []
    for name in sorted(os.listdir(CASES_DIR)):
        if not name.endswith(".json"):
            continue
        c = jload(os.path.join(CASES_DIR, name))
        gt = c["ground_truth"]
        v = c.get("etcd_verdict", {})
        where = "`%s` @ %s" % (gt["file"], gt.get("offset"))
        r = gt.get("record")
        if r:
            where += "; rec #%d (off %d, %s%s)" % (r["ordinal"], r["offset"], r["type"],
                                                    " idx %s term %s" % (r["index"], r["term"]) if r["index"] else "")
        if gt.get("page_id") is not None:
            where += "; page %s" % gt["page_id"]
        verdict = verdict_text(v)
        if c.get("etcd_verdicts"):
            if {VERSIONS[k]["version"] for k in ALL_RELEASES} <= set(c["etcd_verdicts"]):
                cross.append(c)
            else:
                older.append(c)
        out.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (c["case"], c.get("suite", "default"), c["etcd_version"],
                                                              md_escape(c["what"]), where, verdict,
                                                              c.get("expected_outcome")))
    if cross:
        out += ["", "## Cross-release cases (generated table)", "",
                "The same damaged bytes (data written by the release in the `data` column) started by every "
                "release, one at a time on its own scratch copy. `clean:` is what that release did with the "
                "undamaged copy (`clean_baseline_by_release` in the config's JSON), so a refusal of the data "
                "as such (e.g. 3.4 on 3.5 data) is told from a verdict on the damage.", "",
                "| case | data | fault | release | clean | verdict on the damaged copy | expected |",
                "|---|---|---|---|---|---|---|"]
        for c in cross:
            meta = jload(os.path.join(FIX, c["clean"] + ".json"))
            first = True
            for rel, v in c["etcd_verdicts"].items():
                b = (meta.get("clean_baseline_by_release") or {}).get(rel) or {}
                out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    "`%s`" % c["case"] if first else "", c["etcd_version"] if first else "",
                    md_escape(c["what"]) if first else "", rel, clean_text(b),
                    verdict_text(v, with_msg=True), v.get("expected_outcome")))
                first = False
    if older:
        out += ["", "## Older releases on their line's cases (generated table)", "",
                "%s (opt-in builds, `scripts/install-etcd.sh older`) started on the damaged copies of the "
                "cases their release line wrote (`gen.py release-verdicts RELEASE`), each recorded in "
                "`etcd_verdicts` beside the verdict of the release that wrote the data (`own`). `clean:` as "
                "above." % " and ".join(sorted((VERSIONS[k]["version"] for k in OLDER_RELEASES), key=version_order,
                                               reverse=True)), "",
                "| case | suite | data | release | clean | verdict on the damaged copy | expected | own |",
                "|---|---|---|---|---|---|---|---|"]
        for c in older:
            meta = jload(os.path.join(FIX, c["clean"] + ".json"))
            for rel, v in c["etcd_verdicts"].items():
                if rel == c["etcd_version"]:
                    continue
                b = (meta.get("clean_baseline_by_release") or {}).get(rel) or {}
                out.append("| `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
                    c["case"], c.get("suite", "default"), c["etcd_version"], rel, clean_text(b),
                    verdict_text(v, with_msg=True), v.get("expected_outcome"), c.get("expected_outcome")))
    with open(os.path.join(TD, "README.md"), "w") as f:
        f.write("\n".join(out) + "\n")


def clean_text(b):
    """What a release did with the undamaged copy, short."""
    if not b:
        return "?"
    if b.get("outcome") == "started":
        return "starts" + ("" if (b.get("put") or {}).get("ok") else " (put FAILED)")
    ff = b.get("first_fatal") or {}
    err = ff.get("error") or ff.get("msg") or ""
    return "%s%s" % (b.get("outcome"), ": `%s`" % md_escape(err)[:100] if err else "")


def verdict_text(v, with_msg=False):
    """One line for a verdict (README tables); with_msg: the fatal line's msg before its error."""
    if not v:
        return "(no verdict yet)"
    ff = v.get("first_fatal") or {}
    err = ff.get("error") or ff.get("msg") or v.get("error_line") or ""
    if v.get("outcome") == "started":
        a = v.get("after_start", {})
        verdict = "started%s; revision %s, raft index %s; put %s" % (
            " (WAL repaired, `.broken` left, records rewritten from offset %s)" % v["repair_point"][
                "first_rewritten_record_offset"] if v.get("repair_point") else "",
            a.get("revision"), a.get("raft_index"), "ok" if (v.get("put") or {}).get("ok") else "FAILED (wedged)")
        added = [k.rsplit("/", 1)[-1] for k in v.get("files_added", {}) if k.endswith(".broken")]
        if added and not v.get("repair_point"):
            verdict += "; added " + ", ".join(added)
    elif v.get("outcome") == "hung":
        verdict = "hung (never ready in 15 s, killed)%s" % (": `%s`" % md_escape(err)[:160] if err else "")
        if v.get("serving") is not None:
            verdict += "; serving %s, leader elected %s, put %s%s" % (
                "yes" if v["serving"] else "no", "yes" if v.get("leader_elected") else "no",
                "ok" if (v.get("put") or {}).get("ok") else "FAILED", " (wedged)" if v.get("wedged") else "")
        if v.get("repair_point"):
            verdict += "; WAL repaired, `.broken` left, records rewritten from offset %s" % v["repair_point"][
                "first_rewritten_record_offset"]
    elif with_msg and ff.get("msg") and ff.get("error") and ff["msg"] != ff["error"]:
        verdict = "exit %s: `%s` — `%s`" % (v.get("exit_code"), md_escape(ff["msg"]), md_escape(err)[:200])
    else:
        verdict = "exit %s: `%s`" % (v.get("exit_code"), md_escape(err)[:160])
    if v.get("other_members"):
        verdict += "; other members: " + ", ".join(
            "%s %s" % (m, "put ok" if i.get("put_ok") else ("ready, put FAILED" if i.get("ready") else "not ready"))
            for m, i in sorted(v["other_members"].items()))
    return verdict


def selftest(samples_dir):
    """Checks walfmt against the ground truth of shared/etcd-samples (produced independently)."""
    n = 0
    for oracle in sorted(glob.glob(os.path.join(samples_dir, "*", "oracle.json"))):
        o = jload(oracle)
        rec = o.get("ground_truth", {}).get("record")
        if not rec:
            continue
        arch = os.path.join(samples_dir, "_clean", o["clean_source"] + ".tar.zst")
        d = os.path.join(WORK, "selftest", o["clean_source"])
        if not os.path.isdir(d):
            extract_archive(arch, d)
        seg = os.path.join(d, "data", o["ground_truth"]["file"])
        with open(seg, "rb") as f:
            w = walfmt.walk_segment(f.read(), verify_crc=False)
        r = w["records"][rec["ordinal"]]
        for k in ("offset", "frame_len", "rec_len", "pad", "type", "index", "term", "data_off", "data_len"):
            if rec.get(k) is not None or k in ("index", "term"):
                got = r.get(k) if r["type"] == "entry" or k not in ("index", "term") else None
                assert got == rec.get(k), "%s: %s %r != %r" % (o["case"], k, got, rec.get(k))
        assert len(w["records"]) == o["ground_truth"]["records_in_segment"], o["case"]
        n += 1
        log("selftest %s: record #%d ok" % (o["case"], rec["ordinal"]))
    for meta in sorted(glob.glob(os.path.join(samples_dir, "_clean", "*.meta.json"))):
        m = jload(meta)
        d = os.path.join(WORK, "selftest", m["config"])
        if not os.path.isdir(d):
            extract_archive(meta.replace(".meta.json", ".tar.zst"), d)
        for mem, wal in m["wal"].items():
            summ, _ = wal_summary(os.path.join(d, "data", mem, "member"))
            for a, b in zip(summ["segments"], wal["segments"]):
                for k_ours, k_theirs in (("records", "records"), ("entries", "entries"),
                                         ("end_of_data", "end_of_data"), ("first_index", "first_entry_index"),
                                         ("last_index", "last_entry_index")):
                    assert a[k_ours] == b[k_theirs], "%s %s %s: %r != %r" % (m["config"], a["name"], k_ours,
                                                                          a[k_ours], b[k_theirs])
            assert summ["all_crc_ok"], m["config"]
            n += 1
            log("selftest %s/%s: %d segments ok" % (m["config"], mem, len(summ["segments"])))
    shutil.rmtree(os.path.join(WORK, "selftest"), ignore_errors=True)
    if n == 0:
        raise SystemExit("selftest: no samples found in %s" % samples_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["all", "clean", "cases", "verdicts", "release-verdicts", "baselines", "readme",
                                     "selftest", "list"])
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    os.makedirs(FIX, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    t0 = time.time()
    if a.step == "list":
        print("configs:", " ".join(CONFIGS))
        print("cases:", " ".join(sorted(case_specs())))
        return
    if a.step in ("all", "clean", "verdicts", "release-verdicts", "baselines"):
        ensure_etcd()
    if a.step == "all":
        for c in a.names or CONFIGS:
            gen_clean(c)
        gen_cases()
        gen_verdicts()
        gen_readme()
    elif a.step == "baselines":
        gen_baselines(a.names or None)
    elif a.step == "selftest":
        selftest(a.names[0] if a.names else os.path.join(os.path.dirname(ROOT), "shared", "etcd-samples"))
    elif a.step == "readme":
        gen_readme()
    elif a.step == "clean":
        for c in a.names or CONFIGS:
            gen_clean(c)
    elif a.step == "cases":
        gen_cases(a.names or None)
    elif a.step == "verdicts":
        gen_verdicts(a.names or None)
    elif a.step == "release-verdicts":
        if not a.names:
            raise SystemExit("release-verdicts RELEASE [CASE...]: RELEASE is one of %s" % ", ".join(OLDER_RELEASES))
        gen_release_verdicts(a.names[0], a.names[1:] or None)
    log("done in %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
