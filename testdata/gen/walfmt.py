"""Independent decoders for etcd's on-disk formats (python3 stdlib only).

Used by gen.py to compute ground truth from the *clean* fixtures. Written from
shared/spec/etcd-formats.md sections 3-5 (WAL), 8 (.snap) and 9 (bbolt); it shares
no code with the Rust crates under test.
"""

import struct

# ---------------------------------------------------------------- CRC-32C

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)
_CRC_TABLE = tuple(_CRC_TABLE)


def crc32c_append(crc, data):
    """etcd's chaining: crc32.Update(prev, castagnoli, data)."""
    t = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c_append(0, b"123456789") == 0xE3069283

# ---------------------------------------------------------------- protobuf


def varint(buf, off, end):
    """Returns (value, new_off). Raises ValueError on truncation."""
    v = 0
    shift = 0
    while True:
        if off >= end:
            raise ValueError("truncated varint")
        b = buf[off]
        off += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, off
        shift += 7
        if shift > 63:
            raise ValueError("varint overflow")


def fields(buf, off, end):
    """Yields (field_no, wire_type, value, value_off, value_len) for a protobuf message in buf[off:end].
    For length-delimited fields value is None and (value_off, value_len) locate the bytes."""
    while off < end:
        key, off = varint(buf, off, end)
        fno, wt = key >> 3, key & 7
        if fno == 0:
            raise ValueError("illegal tag 0")
        if wt == 0:
            v, off2 = varint(buf, off, end)
            yield fno, wt, v, off, off2 - off
            off = off2
        elif wt == 2:
            ln, off = varint(buf, off, end)
            if off + ln > end:
                raise ValueError("truncated bytes field")
            yield fno, wt, None, off, ln
            off += ln
        elif wt == 1:
            if off + 8 > end:
                raise ValueError("truncated fixed64")
            yield fno, wt, struct.unpack_from("<Q", buf, off)[0], off, 8
            off += 8
        elif wt == 5:
            if off + 4 > end:
                raise ValueError("truncated fixed32")
            yield fno, wt, struct.unpack_from("<I", buf, off)[0], off, 4
            off += 4
        else:
            raise ValueError("bad wire type %d" % wt)


REC_TYPES = {1: "metadata", 2: "entry", 3: "state", 4: "crc", 5: "snapshot"}
ENTRY_TYPES = {0: "EntryNormal", 1: "EntryConfChange", 2: "EntryConfChangeV2"}
CC_TYPES = {0: "AddNode", 1: "RemoveNode", 2: "UpdateNode", 3: "AddLearnerNode"}


def parse_entry(buf, off, end):
    e = {"entry_type": "EntryNormal", "term": 0, "index": 0, "payload_off": None, "payload_len": 0}
    for fno, wt, v, voff, vlen in fields(buf, off, end):
        if fno == 1 and wt == 0:
            e["entry_type"] = ENTRY_TYPES.get(v, str(v))
        elif fno == 2 and wt == 0:
            e["term"] = v
        elif fno == 3 and wt == 0:
            e["index"] = v
        elif fno == 4 and wt == 2:
            e["payload_off"] = voff
            e["payload_len"] = vlen
    return e


def parse_simple(buf, off, end, names):
    out = {n: 0 for n in names.values()}
    for fno, wt, v, voff, vlen in fields(buf, off, end):
        if fno in names and wt == 0:
            out[names[fno]] = v
    return out


def parse_conf_change(buf, off, end):
    cc = {"type": "AddNode", "node_id": 0, "context": b""}
    for fno, wt, v, voff, vlen in fields(buf, off, end):
        if fno == 2 and wt == 0:
            cc["type"] = CC_TYPES.get(v, str(v))
        elif fno == 3 and wt == 0:
            cc["node_id"] = v
        elif fno == 4 and wt == 2:
            cc["context"] = bytes(buf[voff:voff + vlen])
    return cc


# ---------------------------------------------------------------- WAL


def walk_segment(buf, verify_crc=True, crc=0):
    """Frame walk of one WAL segment (bytes-like). Returns dict with 'records' (list of dicts),
    'end_of_data', 'stop', 'crc' (running crc at the end; like etcd's decoder it starts at `crc`
    and is reset by crc records)."""
    n = len(buf)
    off = 0
    recs = []
    stop = "eof"
    crc_ok = True
    mv = memoryview(buf)
    while True:
        if off == n:
            stop = "eof"
            break
        if off + 8 > n:
            stop = "partial-length-word"
            break
        w = struct.unpack_from("<Q", buf, off)[0]
        if w == 0:
            stop = "zero-length-word"
            break
        rec_len = w & 0x00FFFFFFFFFFFFFF
        pad = (w >> 56) & 7 if w >> 63 else 0
        if rec_len >= 10 * 1024 * 1024 - pad:
            stop = "oversize"
            break
        if off + 8 + rec_len + pad > n:
            stop = "short-frame"
            break
        body = off + 8
        r = {"ordinal": len(recs), "offset": off, "frame_len": 8 + rec_len + pad, "rec_len": rec_len,
             "pad": pad, "type": None, "crc": 0, "data_off": None, "data_len": 0,
             "index": None, "term": None}
        try:
            for fno, wt, v, voff, vlen in fields(buf, body, body + rec_len):
                if fno == 1 and wt == 0:
                    r["type"] = REC_TYPES.get(v, str(v))
                elif fno == 2 and wt == 0:
                    r["crc"] = v
                elif fno == 3 and wt == 2:
                    r["data_off"] = voff
                    r["data_len"] = vlen
        except ValueError as e:
            stop = "bad-record: %s" % e
            break
        if r["data_off"] is None:
            r["data_off"] = body + rec_len
        d0, dl = r["data_off"], r["data_len"]
        if r["type"] == "crc":
            if crc != 0 and crc != r["crc"]:
                crc_ok = False
            crc = r["crc"]
        else:
            if verify_crc:
                crc = crc32c_append(crc, mv[d0:d0 + dl])
                if crc != r["crc"]:
                    crc_ok = False
                    stop = "crc-mismatch"
                    recs.append(r)
                    break
            else:
                crc = r["crc"]
        t = r["type"]
        if t == "entry":
            e = parse_entry(buf, d0, d0 + dl)
            r.update(e)
            if e["entry_type"] == "EntryConfChange" and e["payload_off"] is not None:
                cc = parse_conf_change(buf, e["payload_off"], e["payload_off"] + e["payload_len"])
                r["conf_change"] = {"type": cc["type"], "node_id": "%016x" % cc["node_id"]}
        elif t == "state":
            r["hardstate"] = parse_simple(buf, d0, d0 + dl, {1: "term", 2: "vote", 3: "commit"})
        elif t == "snapshot":
            s = parse_simple(buf, d0, d0 + dl, {1: "index", 2: "term"})
            r["snapshot"] = s
        elif t == "metadata":
            m = parse_simple(buf, d0, d0 + dl, {1: "node_id", 2: "cluster_id"})
            r["metadata"] = {"node_id": "%016x" % m["node_id"], "cluster_id": "%016x" % m["cluster_id"]}
        recs.append(r)
        off += r["frame_len"]
    if stop == "zero-length-word":
        # is everything after the zero word zero, too?
        tail = mv[off:]
        stop = "zero-tail" if not any(tail) else "zero-length-word-then-data"
    return {"records": recs, "end_of_data": off, "stop": stop, "crc": crc, "crc_ok": crc_ok}


def segment_summary(name, size, walk):
    recs = walk["records"]
    ents = [r for r in recs if r["type"] == "entry"]
    types = {}
    for r in recs:
        types[r["type"]] = types.get(r["type"], 0) + 1
    s = {
        "name": name,
        "size": size,
        "records": len(recs),
        "record_types": types,
        "entries": len(ents),
        "first_index": ents[0]["index"] if ents else None,
        "last_index": ents[-1]["index"] if ents else None,
        "end_of_data": walk["end_of_data"],
        "stop": walk["stop"],
        "crc_ok": walk["crc_ok"],
        "start_crc": recs[0]["crc"] if recs and recs[0]["type"] == "crc" else None,
        "end_crc": walk["crc"],
    }
    sts = [r for r in recs if r["type"] == "state"]
    if sts:
        s["last_hardstate"] = sts[-1]["hardstate"]
    snaps = [r["snapshot"] for r in recs if r["type"] == "snapshot"]
    s["snapshot_records"] = snaps
    md = [r for r in recs if r["type"] == "metadata"]
    if md:
        s["metadata"] = md[0]["metadata"]
    ccs = [{"index": r["index"], **r["conf_change"]} for r in ents if "conf_change" in r]
    if ccs:
        s["conf_changes"] = ccs
    return s


def parse_wal_name(name):
    base = name[:-4]
    a, b = base.split("-")
    return int(a, 16), int(b, 16)


# ---------------------------------------------------------------- .snap


def parse_snap(buf):
    crc = None
    d_off = d_len = None
    for fno, wt, v, voff, vlen in fields(buf, 0, len(buf)):
        if fno == 1 and wt == 0:
            crc = v
        elif fno == 2 and wt == 2:
            d_off, d_len = voff, vlen
    out = {"crc": crc, "data_off": d_off, "data_len": d_len, "size": len(buf)}
    if d_off is not None:
        out["crc_ok"] = crc32c_append(0, buf[d_off:d_off + d_len]) == crc
        # raftpb.Snapshot: 1 data, 2 metadata{1 conf_state, 2 index, 3 term}
        for fno, wt, v, voff, vlen in fields(buf, d_off, d_off + d_len):
            if fno == 1 and wt == 2:
                out["v2_off"], out["v2_len"] = voff, vlen
            elif fno == 2 and wt == 2:
                m = parse_simple(buf, voff, voff + vlen, {2: "index", 3: "term"})
                out["index"], out["term"] = m["index"], m["term"]
    return out


# ---------------------------------------------------------------- bbolt


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def parse_meta(buf, page_off):
    m = page_off + 16
    magic, version, page_size, flags = struct.unpack_from("<IIII", buf, m)
    root, seq, freelist, pgid, txid, checksum = struct.unpack_from("<QQQQQQ", buf, m + 16)
    return {"page_offset": page_off, "magic": magic, "version": version, "page_size": page_size,
            "root": root, "freelist": freelist, "pgid": pgid, "txid": txid, "checksum": checksum,
            "checksum_ok": fnv1a64(buf[m:m + 56]) == checksum, "meta_offset": m}


def page_header(buf, page_size, pgid):
    off = pgid * page_size
    pid, flags, count, overflow = struct.unpack_from("<QHHI", buf, off)
    return {"id": pid, "flags": flags, "count": count, "overflow": overflow, "offset": off}


def leaf_elems(buf, off, count):
    out = []
    for i in range(count):
        e = off + 16 + i * 16
        fl, pos, ks, vs = struct.unpack_from("<IIII", buf, e)
        k = bytes(buf[e + pos:e + pos + ks])
        v = (e + pos + ks, vs)
        out.append((fl, k, v))
    return out


def branch_elems(buf, off, count):
    out = []
    for i in range(count):
        e = off + 16 + i * 16
        pos, ks, child = struct.unpack_from("<IIQ", buf, e)
        out.append((bytes(buf[e + pos:e + pos + ks]), child))
    return out


def bolt_info(buf):
    """Meta pages, current meta, top-level buckets and the page tree of bucket `key`."""
    m0 = parse_meta(buf, 0)
    ps = m0["page_size"] if m0["checksum_ok"] else 4096
    m1 = parse_meta(buf, ps)
    metas = [m0, m1]
    valid = [m for m in metas if m["checksum_ok"] and m["magic"] == 0xED0CDAED]
    cur = max(valid, key=lambda m: m["txid"])
    info = {"page_size": ps, "metas": metas, "current_meta_page": metas.index(cur), "pgid": cur["pgid"],
            "txid": cur["txid"]}
    # root bucket (assume single leaf page, as for etcd's ~10 top-level buckets)
    def walk_leaves(pgid, depth=0):
        h = page_header(buf, ps, pgid)
        if h["flags"] & 0x02:
            return [pgid]
        if h["flags"] & 0x01:
            res = []
            for _k, child in branch_elems(buf, h["offset"], h["count"]):
                res += walk_leaves(child, depth + 1)
            return res
        raise ValueError("page %d has flags %#x" % (pgid, h["flags"]))
    buckets = {}
    for leaf in walk_leaves(cur["root"]):
        h = page_header(buf, ps, leaf)
        for fl, k, (voff, vlen) in leaf_elems(buf, h["offset"], h["count"]):
            if fl & 1:
                broot = struct.unpack_from("<Q", buf, voff)[0]
                buckets[k.decode("latin1")] = broot
    info["buckets"] = buckets
    kroot = buckets.get("key", 0)
    info["key_bucket_root"] = kroot
    if kroot:
        info["key_bucket_root_flags"] = page_header(buf, ps, kroot)["flags"]
        info["key_bucket_leaves"] = walk_leaves(kroot)
    return info


def bolt_bucket_items(buf, bucket):
    """Items of a top-level bucket of the current meta's tree: [(key, value_offset, value_len)].
    Handles inline buckets (root 0: the page follows the 16-byte bucket header in the value) and
    branch/leaf trees; nested buckets are listed with their raw header as value."""
    info = bolt_info(buf)
    ps = info["page_size"]
    cur = info["metas"][info["current_meta_page"]]

    def leaf_pages(pgid):
        h = page_header(buf, ps, pgid)
        if h["flags"] & 0x02:
            return [h["offset"]]
        if h["flags"] & 0x01:
            out = []
            for _k, child in branch_elems(buf, h["offset"], h["count"]):
                out += leaf_pages(child)
            return out
        raise ValueError("page %d has flags %#x" % (pgid, h["flags"]))

    for off in leaf_pages(cur["root"]):
        h = page_header(buf, ps, off // ps)
        for fl, k, (voff, vlen) in leaf_elems(buf, off, h["count"]):
            if not (fl & 1) or k != bucket.encode():
                continue
            broot = struct.unpack_from("<Q", buf, voff)[0]
            if broot == 0:  # inline bucket
                poff = voff + 16
                _pid, flags, count, _ovf = struct.unpack_from("<QHHI", buf, poff)
                return [(kk, vo, vl) for _f, kk, (vo, vl) in leaf_elems(buf, poff, count)]
            out = []
            for loff in leaf_pages(broot):
                hh = page_header(buf, ps, loff // ps)
                out += [(kk, vo, vl) for _f, kk, (vo, vl) in leaf_elems(buf, loff, hh["count"])]
            return out
    raise KeyError(bucket)


def bolt_get(buf, bucket, key):
    """(value_offset, value bytes) of bucket/key in the current tree, or None."""
    for k, vo, vl in bolt_bucket_items(buf, bucket):
        if k == key:
            return vo, bytes(buf[vo:vo + vl])
    return None
