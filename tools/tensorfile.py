"""Minimal safetensors reader/writer on numpy (no safetensors package needed).

Format: 8-byte little-endian u64 header length N, N bytes of JSON header (padded with spaces to
a multiple of 8), then the raw little-endian tensor bytes; each header entry is
{"dtype", "shape", "data_offsets": [begin, end]} relative to the data section.
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def save(path, tensors, metadata=None):
    """Write a dict name -> array (anything np.asarray accepts) as float32 safetensors."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = np.asarray(t, dtype="<f4")
        b = np.ascontiguousarray(a).tobytes()
        # list(a.shape), taken before ascontiguousarray, which turns a 0-d array into shape [1]
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file into a dict name -> numpy array (float32 where stored so)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[e["dtype"]]).reshape(e["shape"])
    return out
