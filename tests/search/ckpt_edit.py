#!/usr/bin/env python3
"""Edits one field of a naasc search checkpoint in place, for the tests of
its reader (search/checkpoint.c).

  ckpt_edit.py FILE nlog-byte7 [--fix-checksum]
  ckpt_edit.py FILE rng-zero
  ckpt_edit.py FILE upgrade
  ckpt_edit.py FILE warm-factor0
  ckpt_edit.py FILE warm-huge

upgrade rewrites a format 2 file as format 3 (search/checkpoint.c), the
same content: the counters gain the top-table count (1 with a best design,
else 0), the best vector becomes the one record (best score, vector), and
the length and checksum are made to match.  It keeps the fuzz regressions
written in format 2 reaching the checks they were found behind.

nlog-byte7 adds 8 to the top byte of the record count (the count grows by
2^59, and count x 160-byte record wraps to the same length in 64 bits).
It finds the count in either format: 1 ("NAASCKP1", the count at offset 40)
or 2 ("NAASCKPT", at 56).  --fix-checksum recomputes format 2's checksum
(FNV-1a 64 of every byte before the last 8), so the count itself is what
the reader must refuse.

rng-zero sets the optimizer's random state (format 3: the 32 bytes after
opt_save's kind, n and lambda, at 24 + 80 + 12) to zero and recomputes the
checksum: xoshiro256**'s one state it never leaves, which the reader must
refuse (a fuzzing campaign's hang, tests/fuzz/ckpt/regressions).

warm-factor0 sets the first temporal factor of the first warm-start mapping
(format 4's last block: after the counters, the optimizer's state, the top
table and the 160-byte log records, i32 n, i32 have, f64 score, then the
mappings, each an i32 level count and the levels' factors) to zero and
recomputes the checksum: a value no search writes, which the reader must
refuse.  warm-huge instead sets the first dim's temporal factor at levels 0
and 1 to 2^40 each, values the reader's range check lets through but whose
product overflows 64 bits: the search's check that each mapping is one of
its layer must refuse it without overflowing (a fuzzing find,
tests/fuzz/ckpt/regressions/crash-af98acd7...).
"""
import struct
import sys


def fnv1a(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def upgrade(path, d):
    ver = struct.unpack_from("<I", d, 8)[0]
    if ver != 2:
        print(f"ckpt_edit.py: format {ver}, not 2", file=sys.stderr)
        return 2
    # NaasCkpt of format 2: fp, iter, candidates, evals, nlog, seconds, best_score, dim, have_best, optlen
    fp, it, cand, ev, nlog, sec, best, dim, have, optlen = struct.unpack_from("<Q4q2d2iQ", d, 24)
    head_end = 24 + 72
    opt = bytes(d[head_end:head_end + optlen])
    x = bytes(d[head_end + optlen:head_end + optlen + 8 * dim])
    rest = bytes(d[head_end + optlen + 8 * dim:-8])  # the candidate log
    ntop = 1 if have else 0
    head = struct.pack("<Q4q2d2iQ2i", fp, it, cand, ev, nlog, sec, best, dim, have, optlen, ntop, 0)
    top = (struct.pack("<d", best) + x) if ntop else b""
    body = head + opt + top + rest
    out = bytearray(b"NAASCKPT" + struct.pack("<IIQ", 3, 0, 24 + len(body) + 8) + body)
    out += struct.pack("<Q", fnv1a(out))
    open(path, "wb").write(out)
    return 0


def main():
    path, field = sys.argv[1], sys.argv[2]
    fix = "--fix-checksum" in sys.argv[3:]
    d = bytearray(open(path, "rb").read())
    base = {b"NAASCKP1": 8, b"NAASCKPT": 24}.get(bytes(d[:8]))
    if base == 24 and field == "upgrade":
        return upgrade(path, d)
    if base == 24 and field == "rng-zero":
        if struct.unpack_from("<I", d, 8)[0] != 3:
            print("ckpt_edit.py: rng-zero edits format 3", file=sys.stderr)
            return 2
        at = 24 + struct.calcsize("<Q4q2d2iQ2i") + 12
        d[at:at + 32] = bytes(32)
        d[-8:] = struct.pack("<Q", fnv1a(d[:-8]))
        open(path, "wb").write(d)
        return 0
    if base == 24 and field in ("warm-factor0", "warm-huge"):
        head = "<Q4q2d2iQ2i"
        _, _, _, _, nlog, _, _, dim, _, optlen, ntop, _ = struct.unpack_from(head, d, 24)
        at = 24 + struct.calcsize(head) + optlen + 8 * ntop * (1 + dim) + 160 * nlog
        n, have = struct.unpack_from("<2i", d, at)
        if struct.unpack_from("<I", d, 8)[0] != 4 or n < 1 or have != 1:
            print(f"ckpt_edit.py: {field} edits format 4 with an incumbent", file=sys.stderr)
            return 2
        if field == "warm-factor0":
            struct.pack_into("<q", d, at + 16 + 4, 0)
        else:
            level = 8 * 8 * 2 + 8 + 3 * 8 * 9 + 1  # a level's bytes (search/checkpoint.c WLEVEL)
            struct.pack_into("<q", d, at + 16 + 4, 1 << 40)
            struct.pack_into("<q", d, at + 16 + 4 + level, 1 << 40)
        d[-8:] = struct.pack("<Q", fnv1a(d[:-8]))
        open(path, "wb").write(d)
        return 0
    if base is None or field != "nlog-byte7":
        print("ckpt_edit.py: not a checkpoint, or an unknown field", file=sys.stderr)
        return 2
    d[base + 32 + 7] = (d[base + 32 + 7] + 8) & 0xFF  # NaasCkpt: fp, iter, candidates, evals, nlog
    if fix:
        if base != 24:
            print("ckpt_edit.py: format 1 has no checksum", file=sys.stderr)
            return 2
        d[-8:] = struct.pack("<Q", fnv1a(d[:-8]))
    open(path, "wb").write(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
