#!/usr/bin/env python3
"""Edits one field of a naasc search checkpoint in place, for the tests of
its reader (search/checkpoint.c).

  ckpt_edit.py FILE nlog-byte7 [--fix-checksum]

nlog-byte7 adds 8 to the top byte of the record count (the count grows by
2^59, and count x 160-byte record wraps to the same length in 64 bits).
It finds the count in either format: 1 ("NAASCKP1", the count at offset 40)
or 2 ("NAASCKPT", at 56).  --fix-checksum recomputes format 2's checksum
(FNV-1a 64 of every byte before the last 8), so the count itself is what
the reader must refuse.
"""
import struct
import sys


def fnv1a(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    path, field = sys.argv[1], sys.argv[2]
    fix = "--fix-checksum" in sys.argv[3:]
    d = bytearray(open(path, "rb").read())
    base = {b"NAASCKP1": 8, b"NAASCKPT": 24}.get(bytes(d[:8]))
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
