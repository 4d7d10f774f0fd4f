#!/usr/bin/env python3
"""`value_check` inputs that make the cross-check's model scan its whole keyspace over and over
(the hangs fixed in etcd-snap/src/crosscheck/model.rs; stdlib only).

    fuzz/value_hangs.py cmp KEYS COMPARES OUT   # KEYS puts, then 2 txns of COMPARES range compares
    fuzz/value_hangs.py del KEYS DELETES OUT    # KEYS puts, then DELETES deletes of every key

Full size (about 1 MB, > 100 s each before the fix): `cmp 15000 20000`, `del 10000 12000`.
fuzz/seeds/value_check/hang-* are the same at a size that replays in milliseconds.
"""
import importlib.util, struct, sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("seed", Path(__file__).resolve().parent / "seed.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

PS = 4096

def fnv(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & (2**64 - 1)
    return h

def leaf(pid, items):
    hdr = struct.pack("<QHHI", pid, 2, len(items), 0)
    elems = data = b""
    for i, (fl, k, v) in enumerate(items):
        elems += struct.pack("<IIII", fl, (len(items) - i) * 16 + len(data), len(k), len(v))
        data += k + v
    return hdr + elems + data

def meta(slot, root, pgid):
    body = struct.pack("<IIII", 0xED0CDAED, 2, PS, 0) + struct.pack("<QQQQQ", root, 0, 2**64 - 1, pgid, slot + 1)
    return (struct.pack("<QHHI", slot, 4, 0, 0) + body + struct.pack("<Q", fnv(body))).ljust(PS, b"\0")

def small_db(ci):
    """Metas, an unused page, a root leaf holding an inline `meta` bucket: consistent_index."""
    inline = struct.pack("<QQ", 0, 0) + leaf(0, [(0, b"consistent_index", struct.pack(">Q", ci))])
    root = leaf(3, [(1, b"meta", inline)]).ljust(PS, b"\0")
    return meta(0, 3, 4) + meta(1, 3, 4) + b"\0" * PS + root

def fld(n, b):
    return S.varint(n << 3 | 2) + S.varint(len(b)) + b

def vfld(n, v):
    return bytes([n << 3]) + S.varint(v)

class Seg:
    def __init__(s):
        s.crc, s.out, s.idx = 0, S.frame(S.record(4, 0, None)), 0
    def push(s, ty, data):
        s.crc = S.crc32c(data, s.crc)
        s.out += S.frame(S.record(ty, s.crc, data))
    def entry(s, irr):
        s.idx += 1
        s.push(2, vfld(1, 0) + vfld(2, 1) + vfld(3, s.idx) + fld(4, irr))
    def hard_state(s, commit):
        s.push(3, vfld(1, 1) + vfld(2, 1) + vfld(3, commit))

def put(k):  # InternalRaftRequest.put
    return fld(4, fld(1, k) + fld(2, b"v"))

def delete_all():  # .delete_range ["", "\0")
    return fld(5, fld(1, b"") + fld(2, b"\0"))

def range_compares(n):  # .txn: n compares "version != 0" over ["", "\0"), true on every key
    c = vfld(1, 3) + vfld(2, 0) + fld(3, b"") + fld(64, b"\0")
    return fld(6, fld(1, c) * n)

def main():
    mode, keys, ops, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    s = Seg()
    s.push(1, vfld(1, 1) + vfld(2, 1))
    for i in range(keys):
        s.entry(put(b"k%d" % i))
    if mode == "del":
        for _ in range(ops):
            s.entry(delete_all())
    else:
        s.entry(range_compares(ops))
        s.entry(range_compares(ops))
    s.hard_state(s.idx)
    Path(out).write_bytes(struct.pack("<I", len(s.out)) + s.out + small_db(s.idx))

if __name__ == "__main__":
    main()
