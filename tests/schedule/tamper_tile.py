#!/usr/bin/env python3
"""Breaks a depth-first group's tile in a command stream, for the loader's
located errors (tests/schedule/run_depth_bad_*.test).

  tamper_tile.py IN.cmd OUT.cmd halo|origin

Finds the first CMD_TILE record (docs/cmd-format.md, "Depth-first groups")
and, with `halo`, shrinks its copy-in to one row, so the tile reads rows no
step brought into the home level; with `origin`, moves its rectangle one
row down, so its nest is no longer its layer's cut to the rectangle.
"""
import struct
import sys

CMD_TILE = 12


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("halo", "origin"):
        print("usage: tamper_tile.py IN.cmd OUT.cmd halo|origin", file=sys.stderr)
        return 2
    b = bytearray(open(sys.argv[1], "rb").read())
    c_off, c_len = struct.unpack_from("<QQ", b, 56)
    at = c_off
    while at < c_off + c_len:
        op, n = b[at], struct.unpack_from("<I", b, at + 4)[0]
        if op == CMD_TILE:
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
