"""Goldens for the antialiased bilinear resize (torchvision's Resize on PIL images).

Writes src/test/resources/goldens/resize_aa.safetensors: a seeded uint8 RGB image as [0, 1]
floats, and for each output size both PyTorch's interpolate(bilinear, antialias=True) on the
float image (the same filter in float32, the exact reference) and PIL's Image.resize(BILINEAR)
on the uint8 image (rounded to bytes after each pass: agreement within 1/255 is the bar).
Run with Debian's python3 (PyTorch 1.13, Pillow): python3 tools/make_resize_goldens.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import tensorfile

SIZES = [(13, 20), (8, 71), (37, 53), (90, 41), (5, 5)]


def main():
    rng = np.random.default_rng(20261127)
    # smooth structure plus noise, so both filtering and edge handling matter
    yy, xx = np.mgrid[0:37, 0:53]
    base = 127 + 80 * np.sin(xx / 5.0)[None] * np.cos(yy / 7.0)[None] + rng.normal(0, 25, (3, 37, 53))
    img = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    x = torch.from_numpy(img.astype(np.float32) / 255.0)
    out = {"input": x.numpy()}
    pil = Image.fromarray(np.transpose(img, (1, 2, 0)), "RGB")
    for h, w in SIZES:
        t = F.interpolate(x[None], size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
        out[f"torch_{h}x{w}"] = t.numpy()
        p = np.asarray(pil.resize((w, h), Image.BILINEAR)).astype(np.float32) / 255.0
        out[f"pil_{h}x{w}"] = np.transpose(p, (2, 0, 1))
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "src", "test", "resources", "goldens", "resize_aa.safetensors")
    tensorfile.save(path, out, {"source": "tools/make_resize_goldens.py", "torch": torch.__version__})
    print("wrote", os.path.normpath(path), len(out), "tensors")


if __name__ == "__main__":
    main()
