"""Writes the small seed files of the fuzz corpus (run from Fuzz/Corpus).

The checkpoint seeds are written by `autograd train --dataset xor --model
mlp:3 --epochs 1 --samples 60`; this script makes the rest with NumPy and the
standard library, so each format's seed is a valid file of a few bytes. The
`regression-*` seeds are inputs the fuzz targets once crashed on, kept as
found.
"""
import json
import struct

import numpy as np


def safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for name, (dtype, array) in tensors.items():
        blob = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


safetensors("safetensors/two.safetensors", {
    "w": ("F32", np.arange(6, dtype="<f4").reshape(2, 3)),
    "b": ("F64", np.array([0.5, -1.0], dtype="<f8")),
}, {"format": "pt"})
safetensors("safetensors/scalar.safetensors", {"s": ("F32", np.array(3.0, dtype="<f4"))})

np.save("npy/f4.npy", np.arange(6, dtype="<f4").reshape(2, 3))
np.save("npy/f8-fortran.npy", np.asfortranarray(np.arange(6, dtype="<f8").reshape(3, 2)))
np.save("npy/u1.npy", np.array([0, 1, 255], dtype="u1"))
np.save("npy/i8-scalar.npy", np.array(7, dtype="<i8"))

with open("idx/images-idx3-ubyte", "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 3) + bytes(range(12)))
with open("idx/labels-idx1-ubyte", "wb") as f:
    f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes([1, 0, 9]))

with open("csv/header.csv", "w") as f:
    f.write("x1,x2,label\n0.5,-1,0\n1e-3, 2.25 ,1\n")
with open("csv/crlf.csv", "wb") as f:
    f.write(b"1,2,3,0\r\n4,5,6,1\r\n")
