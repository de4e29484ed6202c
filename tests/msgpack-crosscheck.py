#!/usr/bin/python3
"""Cross-check for tests/test-codec.c with an independent MessagePack
implementation (Debian's python3-msgpack).

  msgpack-crosscheck.py decode FILE   FILE holds one hex encoding per line;
                                      prints one canonical form per line
  msgpack-crosscheck.py encode        prints the hex encodings of the known
                                      structures below, one per line

Canonical form: null, true, false, integers in decimal, floats as
float:<repr>, strings as JSON strings (ASCII-escaped), binaries as
bin:<hex>, arrays as [a,b], maps as {k:v,...} in wire order.  Anything that
fails to decode prints "error:<exception class>".
"""
import json
import sys

import msgpack


def canon(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "float:" + repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=True)
    if isinstance(v, (bytes, bytearray)):
        return "bin:" + bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(canon(k) + ":" + canon(x) for k, x in v.items()) + "}"
    return "unknown:" + type(v).__name__


# Keep in step with python_structures[] in test-codec.c.
KNOWN = [
    None,
    True,
    0,
    -1,
    127,
    128,
    -33,
    65536,
    2**32,
    2**64 - 1,
    -(2**63),
    1.5,
    float("-inf"),
    "",
    "h\u00e9llo \u2603",
    "x" * 40,
    b"",
    b"\x00\xff" * 150,
    [],
    {},
    [1, "two", [3.0, None], {"k": False}],
    {"name": "node-1", "port": 7946, "tags": {"dc": "eu"}, "addrs": [b"\x7f\x00\x00\x01"]},
    {1: "one", "two": 2},
    {(1, 2): "tuple key"},
    list(range(20)),
    {"k%02d" % i: i for i in range(17)},
]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "decode":
        with open(sys.argv[2]) as f:
            for line in f:
                line = line.strip()
                try:
                    v = msgpack.unpackb(bytes.fromhex(line), raw=False, strict_map_key=False,
                                        use_list=True)
                    print(canon(v))
                except Exception as e:  # report, the C side decides
                    print("error:" + type(e).__name__)
    elif len(sys.argv) == 2 and sys.argv[1] == "encode":
        for v in KNOWN:
            print(msgpack.packb(v, use_bin_type=True).hex())
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
