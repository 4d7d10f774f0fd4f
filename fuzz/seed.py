#!/usr/bin/env python3
"""Seed the fuzz corpora from the real-etcd fixtures (stdlib only).

    fuzz/seed.py [--fixtures DIR] [--out DIR] [--small]

DIR defaults to testdata/.cache/extract (filled by the testdata crate, e.g. by running
`cargo test -p testdata` once or `cargo run -p testdata --bin fixture -- clean v35-single
/tmp/x`). Writes one file per seed into OUT/<target>/ (default fuzz/corpus, gitignored).
With --small it writes the checked-in seed set (fuzz/seeds): at most a few per kind and
no file over 128 KiB, so CI can replay them in seconds.

Seeds per target:
  wal_frame      single frames (length word + walpb.Record) of every record type
  wal_segment    clean prefixes of real segments (cut at a record boundary), with and
                 without a preallocated zero tail
  wal_dir        1 flag byte + segments separated by b"\\xffSEG\\xff": a real segment
                 prefix followed by segments that continue its CRC chain (crc record,
                 metadata, snapshot, entries re-chained)
  snap_file      real .snap files
  entry_payload  entry type byte + entry data of real entries (normal, conf changes)
  mvcc_kv        revision key + mvccpb.KeyValue built from keyspace.json
  bolt_db        real member/snap/db files (the small ones)
  restore_input  the same dbs, bare and with the sha256 trailer of `snapshot save`
"""
import argparse, base64, hashlib, json, os, struct, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEP = b"\xffSEG\xff"

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)

def crc32c(data, crc=0):
    """etcd's chaining: crc32c_append(prev, data)."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def read_varint(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1
        v |= (x & 0x7F) << s; s += 7
        if not x & 0x80:
            return v, i

def fields(b):
    """protobuf fields → list of (num, value) (varint ints, length-delimited bytes)."""
    i, out = 0, []
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]; i += n
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        elif wt == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, v))
    return out

def frames(seg):
    """(offset, frame bytes, record bytes) up to the first zero length word or damage."""
    off = 0
    while off + 8 <= len(seg):
        word = struct.unpack_from("<Q", seg, off)[0]
        if word == 0:
            return
        n = word & 0x00FFFFFFFFFFFFFF
        pad = (word >> 56) & 7 if word >> 63 else 0
        end = off + 8 + n + pad
        if end > len(seg):
            return
        yield off, seg[off:end], seg[off + 8:off + 8 + n]
        off = end

def frame(rec):
    pad = (8 - len(rec) % 8) % 8
    word = len(rec) | (((0x80 | pad) << 56) if pad else 0)
    return struct.pack("<Q", word) + rec + b"\0" * pad

def record(ty, crc, data):
    r = b"\x08" + varint(ty) + b"\x10" + varint(crc)
    if data is not None:
        r += b"\x1a" + varint(len(data)) + data
    return r

def rec_fields(rec):
    d = dict(fields(rec))
    return d.get(1, 0), d.get(2, 0), d.get(3)

class Out:
    def __init__(self, base, small):
        self.base, self.small, self.count = Path(base), small, {}

    def put(self, target, name, data):
        if self.small and len(data) > 128 << 10:
            return
        d = self.base / target
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        self.count[target] = self.count.get(target, 0) + 1

def read_prefix(path, limit):
    with open(path, "rb") as f:
        return f.read(limit)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=str(ROOT / "testdata/.cache/extract"))
    ap.add_argument("--out")
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args()
    out = Out(a.out or (ROOT / "fuzz" / ("seeds" if a.small else "corpus")), a.small)
    fx = Path(a.fixtures)
    if not fx.is_dir():
        sys.exit("seed.py: no fixtures at %s (run `cargo test -p testdata` first)" % fx)
    # One extraction per config (the cache may hold several versions of one config).
    configs = {}
    for d in sorted(fx.iterdir()):
        if (d / ".complete").exists():
            configs.setdefault(d.name.rsplit("-", 1)[0], d)
    seg_cap = (8 << 10) if a.small else (256 << 10)
    per_kind = 2 if a.small else 40
    for cfg, d in sorted(configs.items()):
        wals = sorted(d.glob("data/*/member/wal/*.wal")) + sorted(d.glob("restore/*/member/wal/*.wal"))
        if a.small:
            wals = wals[:2]
        payload_seen = {}
        for wi, w in enumerate(wals):
            seg = read_prefix(w, 8 << 20)
            fr = list(frames(seg))
            if not fr:
                continue
            # Clean prefix at a record boundary.
            end = 0
            for off, f, _ in fr:
                if off + len(f) > seg_cap:
                    break
                end = off + len(f)
            prefix = seg[:end]
            tag = "%s-%d" % (cfg, wi)
            out.put("wal_segment", tag + ".wal", prefix)
            out.put("wal_segment", tag + "-prealloc.wal", prefix + b"\0" * 4096)
            # Frames of every type, and entry payloads.
            by_type = {}
            last_crc, last_entry, meta = 0, None, None
            kept = []
            for off, f, rec in fr:
                if off + len(f) > end:
                    break
                ty, crc, data = rec_fields(rec)
                last_crc = crc
                kept.append((ty, data))
                if ty == 1 and meta is None:
                    meta = data
                by_type.setdefault(ty, []).append(f)
                if ty == 2 and data:
                    e = dict(fields(data))
                    etype, edata = e.get(1, 0), e.get(4, b"")
                    last_entry = (e.get(3, 0), e.get(2, 0))
                    key = (etype, edata[:2])
                    if payload_seen.get(key, 0) < (1 if a.small else 6) and (
                        not a.small or sum(payload_seen.values()) < 12
                    ):
                        payload_seen[key] = payload_seen.get(key, 0) + 1
                        out.put("entry_payload", "%s-%d" % (tag, off), bytes([etype]) + edata)
            for ty, fl in by_type.items():
                for k, f in enumerate(fl[:per_kind]):
                    out.put("wal_frame", "%s-t%d-%d" % (tag, ty, k), f)
            # A second segment continuing the chain: crc record, metadata, snapshot at the
            # last entry, then copies of the prefix's entries (re-chained).
            if meta is not None and last_entry:
                crc = last_crc
                seg2 = frame(record(4, crc, None))
                for ty, data in [(1, meta)] + [(3, b"\x08" + varint(last_entry[0]) + b"\x10" + varint(last_entry[1]))]:
                    crc = crc32c(data, crc)
                    seg2 += frame(record(ty, crc, data))
                idx = last_entry[0]
                for ty, data in kept:
                    if ty != 2 or len(seg2) > seg_cap // 2:
                        continue
                    idx += 1
                    e = dict(fields(data))
                    ed = b"\x08" + varint(e.get(1, 0)) + b"\x10" + varint(e.get(2, 0)) + b"\x18" + varint(idx)
                    if 4 in e:
                        ed += b"\x22" + varint(len(e[4])) + e[4]
                    crc = crc32c(ed, crc)
                    seg2 += frame(record(2, crc, ed))
                out.put("wal_dir", tag + "-chain", b"\x00" + prefix + SEP + seg2)
                if not a.small or wi == 0:
                    out.put("wal_dir", tag + "-gap", b"\x02" + prefix + SEP + seg2 + SEP + seg2)
                out.put("wal_dir", tag + "-one", b"\x00" + prefix)
        for s in sorted(d.glob("data/*/member/snap/*.snap"))[: (1 if a.small else 8)]:
            out.put("snap_file", "%s-%s" % (cfg, s.name), s.read_bytes())
        dbs = sorted(d.glob("data/*/member/snap/db"), key=lambda p: p.stat().st_size)
        for db in dbs[:1]:
            if db.stat().st_size > (128 << 10 if a.small else 2 << 20):
                continue
            b = db.read_bytes()
            out.put("bolt_db", cfg + "-db", b)
            out.put("restore_input", cfg + "-db", b)
            out.put("restore_input", cfg + "-save", b + hashlib.sha256(b).digest())
        ks = d / "keyspace.json"
        if ks.exists():
            kvs = json.loads(ks.read_text()).get("kvs", [])
            for k, kv in enumerate(kvs[: (2 if a.small else 40)]):
                key = base64.b64decode(kv.get("key", ""))
                val = base64.b64decode(kv.get("value", ""))
                mod = int(kv.get("mod_revision", 0))
                rk = struct.pack(">Q", mod) + b"_" + struct.pack(">Q", k % 3) + (b"t" if k % 5 == 4 else b"")
                pb = b"\x0a" + varint(len(key)) + key
                for num in (2, 3, 4, 6):
                    v = int(kv.get({2: "create_revision", 3: "mod_revision", 4: "version", 6: "lease"}[num], 0))
                    if v:
                        pb += bytes([num << 3]) + varint(v)
                if val:
                    pb += b"\x2a" + varint(len(val)) + val
                out.put("mvcc_kv", "%s-%d" % (cfg, k), rk + pb)
    for t, n in sorted(out.count.items()):
        print("seed.py: %-14s %4d seeds in %s" % (t, n, out.base / t))

if __name__ == "__main__":
    main()
