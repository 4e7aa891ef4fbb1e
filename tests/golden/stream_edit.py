#!/usr/bin/env python3
"""Crafts a bad command stream from a good one (docs/cmd-format.md), for
the loader's golden tests (stream_*.test).

  stream_edit.py FILE.cmd EDIT

EDIT is one of:
  points-overflow  the first layer with 3 or more dims gets bounds 2^31,
                   2^9, 2^31: each bound is in range and the first two
                   multiply to exactly 2^40 points (the most accepted), so
                   the third product is 2^71, past int64 (a signed overflow
                   in the loader before it used ir.h's checked arithmetic)
  tensors-8g       the first two tensors that are not weights become 2^30
                   elements each (8 GiB in all for float32),
                   their ranks unchanged: sizes the loader must refuse
                   before it allocates anything

The file is rewritten in place; only the named fields change, so every
section keeps its length and the architecture its hash.
"""
import struct
import sys

CMD_LAYER = 1


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def tensors(b):
    """(offset of the dims, rank, role) of each tensor of the table."""
    t_off, t_len = struct.unpack_from("<QQ", b, 40)
    o = t_off
    n = u32(b, o)
    o += 4
    out = []
    for _ in range(n):
        o += 4 + u32(b, o)  # name
        dt, role, rank, packed = b[o], b[o + 1], b[o + 2], b[o + 3]
        o += 4
        out.append((o, rank, role))
        o += 8 * rank + 16  # dims, data offset and length
    assert o == t_off + t_len, "tensor table does not parse"
    return out


def layers(b):
    """Offset of each CMD_LAYER payload."""
    c_off, c_len = struct.unpack_from("<QQ", b, 56)
    o, end, out = c_off, c_off + c_len, []
    while o < end:
        op, n = b[o], u32(b, o + 4)
        if op == CMD_LAYER:
            out.append(o + 8)
        o += 8 + n
    return out


def layer_dims(b, o):
    """(ndims, offset of dim 0's bound) of the layer payload at o."""
    o += 4 + u32(b, o)  # name
    o += 4 + u32(b, o)  # vop
    ndims = b[o + 1]
    o += 8 + 4 + 4 + 16 + 32  # kind..pad, act_alpha, act_beta, fparam, iparam
    return ndims, o


def main():
    path, edit = sys.argv[1], sys.argv[2]
    b = bytearray(open(path, "rb").read())
    assert b[:8] == b"NAASCCMD", "not a command stream"
    if edit == "points-overflow":
        for o in layers(b):
            ndims, d = layer_dims(b, o)
            if ndims >= 3:
                for bound in (1 << 31, 1 << 9, 1 << 31):
                    struct.pack_into("<q", b, d, bound)
                    d += 8 + 2 + b[d + 9]  # bound, reduce, name length, name
                break
        else:
            sys.exit("stream_edit.py: no layer with 3 dims")
    elif edit == "tensors-8g":
        done = 0
        for o, rank, role in tensors(b):
            if role != 1 and rank >= 1 and done < 2:  # not a weight
                for k in range(rank):
                    struct.pack_into("<q", b, o + 8 * k, (1 << 30) if k == 0 else 1)
                done += 1
        if done < 2:
            sys.exit("stream_edit.py: fewer than two tensors that are not weights")
    else:
        sys.exit("stream_edit.py: unknown edit " + edit)
    open(path, "wb").write(b)


if __name__ == "__main__":
    main()
