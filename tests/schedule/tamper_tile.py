#!/usr/bin/env python3
"""Breaks a depth-first group's tile in a command stream, for the loader's
located errors (tests/schedule/run_depth_bad_*.test).

  tamper_tile.py IN.cmd OUT.cmd halo|origin|reduce

Finds the first CMD_TILE record (docs/cmd-format.md, "Depth-first groups")
and, with `halo`, shrinks its copy-in to one row, so the tile reads rows no
step brought into the home level; with `origin`, moves its rectangle one
row down, so its nest is no longer its layer's cut to the rectangle; with
`reduce`, halves the reduce dim of the first softmax tile layer (its key
axis, the output's columns), so the tile cuts the rows it normalises.
"""
import struct
import sys

CMD_LAYER = 1
CMD_TILE = 12


def halve_reduce_dim(b, p):
    """In the LAYER payload at p (docs/cmd-format.md): if its op is softmax,
    halves the bound of its reduce dim and returns True."""
    def string(at):
        n = struct.unpack_from("<I", b, at)[0]
        return bytes(b[at + 4:at + 4 + n]).decode(), at + 4 + n
    _name, at = string(p)
    op, at = string(at)
    if op != "softmax":
        return False
    ndims = b[at + 1]
    at += 8 + 4 * 2 + 4 * 4 + 8 * 4  # kind .. u16, act_alpha, act_beta, f[4], i[4]
    for _ in range(ndims):
        bound = struct.unpack_from("<q", b, at)[0]
        if b[at + 8]:
            struct.pack_into("<q", b, at, bound // 2)
            return True
        at += 10 + b[at + 9]
    return False


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("halo", "origin", "reduce"):
        print("usage: tamper_tile.py IN.cmd OUT.cmd halo|origin|reduce", file=sys.stderr)
        return 2
    b = bytearray(open(sys.argv[1], "rb").read())
    c_off, c_len = struct.unpack_from("<QQ", b, 56)
    at, layer = c_off, 0
    while at < c_off + c_len:
        op, n = b[at], struct.unpack_from("<I", b, at + 4)[0]
        if op == CMD_LAYER:
            layer = at + 8
        if op == CMD_TILE and sys.argv[3] == "reduce":
            if halve_reduce_dim(b, layer):
                open(sys.argv[2], "wb").write(b)
                return 0
        elif op == CMD_TILE:
            p = at + 8  # payload: u32 layer, u8 home, u8 flags, u16, i64 tile, row0, col0, copy-in ...
            if sys.argv[3] == "halo":
                lo = struct.unpack_from("<q", b, p + 32)[0]
                struct.pack_into("<q", b, p + 40, lo + 1)  # copy-in rows [lo, lo + 1)
            else:
                row0 = struct.unpack_from("<q", b, p + 16)[0]
                struct.pack_into("<q", b, p + 16, row0 + 1)
            open(sys.argv[2], "wb").write(b)
            return 0
        at += 8 + n
    print("no tile record", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
