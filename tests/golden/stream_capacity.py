#!/usr/bin/env python3
"""Sets one level's capacity in a command stream (docs/cmd-format.md), for
the loader's golden tests of its capacity checks (stream_capacity_*.test).

  stream_capacity.py IN.cmd OUT.cmd LEVEL WORDS

Rewrites capacity_words of the architecture level named LEVEL to WORDS and
the header's hash of the architecture section (FNV-1a 64, stream/format.c
cmdf_hash) to match, so the loader reads the stream as one compiled for a
chip whose LEVEL holds WORDS words: what a tampered stream, or one written
for another chip, looks like.  Every section keeps its length.
"""
import struct
import sys

HEADER_BYTES = 80
NAME_MAX = 48  # ir/ir.h ACCEL_NAME_MAX
MAX_AXES = 3   # ir/ir.h ACCEL_MAX_AXES


def fnv1a(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    src, dst, level, words = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    b = bytearray(open(src, "rb").read())
    arch_off, arch_len = struct.unpack_from("<QQ", b, 24)
    assert arch_off == HEADER_BYTES, "not a command stream of this format"
    nl = struct.unpack_from("<q", b, arch_off)[0]
    o, found = arch_off + 8, False
    for _ in range(nl):
        name = bytes(b[o:o + NAME_MAX]).split(b"\0")[0].decode()
        cap = o + NAME_MAX + 4 + 4 + 8 + 8 * MAX_AXES  # flags, u32, instances, fan-out
        if name == level:
            struct.pack_into("<q", b, cap, words)
            found = True
        o = cap + 16  # capacity, block
    assert o + 8 == arch_off + arch_len, "architecture section does not parse"
    if not found:
        sys.exit("no level named '%s'" % level)
    struct.pack_into("<Q", b, 16, fnv1a(b[arch_off:arch_off + arch_len]))
    open(dst, "wb").write(b)


if __name__ == "__main__":
    main()
