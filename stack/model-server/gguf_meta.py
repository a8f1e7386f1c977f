"""Reads a GGUF file's header (its metadata keys, never its tensors) and checks expected values.

    python gguf_meta.py FILE key=value ...   exit 1 naming every key whose value differs

Weights come from registry packages and are treated as untrusted data: before a model is served, its
header must say it is the model the lock file names (architecture, size, quantisation).
"""

from __future__ import annotations

import struct
import sys
from typing import Any, BinaryIO

# GGUF value types: scalar struct formats by type id; 8 is a string, 9 an array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
# Bounds that a well-formed header stays within; anything larger is refused rather than read.
MAX_KEYS = 10_000
MAX_STRING = 1 << 20
MAX_ARRAY = 1 << 24


class GgufError(ValueError):
    pass


def _read(f: BinaryIO, n: int) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise GgufError("the file ends inside its header")
    return b


def _string(f: BinaryIO) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8))
    if n > MAX_STRING:
        raise GgufError(f"a header string of {n} bytes")
    return _read(f, n).decode("utf-8", "replace")


def _value(f: BinaryIO, t: int) -> Any:
    if t == 8:
        return _string(f)
    if t == 9:
        (et,) = struct.unpack("<I", _read(f, 4))
        (n,) = struct.unpack("<Q", _read(f, 8))
        if n > MAX_ARRAY:
            raise GgufError(f"a header array of {n} items")
        for _ in range(n):
            _value(f, et)
        return f"[{n} items]"
    fmt = _SCALARS.get(t)
    if fmt is None:
        raise GgufError(f"unknown header value type {t}")
    return struct.unpack("<" + fmt, _read(f, struct.calcsize(fmt)))[0]


def read_metadata(path: str) -> dict[str, Any]:
    with open(path, "rb") as f:
        if _read(f, 4) != b"GGUF":
            raise GgufError("not a GGUF file")
        (version,) = struct.unpack("<I", _read(f, 4))
        if version < 2:
            raise GgufError(f"GGUF version {version} is not supported")
        _tensors, keys = struct.unpack("<QQ", _read(f, 16))
        if keys > MAX_KEYS:
            raise GgufError(f"{keys} header keys")
        meta: dict[str, Any] = {}
        for _ in range(keys):
            key = _string(f)
            (t,) = struct.unpack("<I", _read(f, 4))
            meta[key] = _value(f, t)
        return meta


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, expected = sys.argv[1], sys.argv[2:]
    try:
        meta = read_metadata(path)
    except (OSError, GgufError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    wrong = []
    for item in expected:
        key, _, want = item.partition("=")
        if str(meta.get(key)) != want:
            wrong.append(f"{key} is {meta.get(key)!r}, expected {want!r}")
    if wrong:
        print(f"{path}: " + "; ".join(wrong), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
