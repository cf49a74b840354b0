#!/usr/bin/python3
"""Check `resnet4j forward` against torchvision: load the same safetensors weights into the
torchvision model, run the same input, and print the largest difference.

    python3 tools/check_forward.py resnet18 W.safetensors X.safetensors Y.safetensors [--train-mode]
"""
import sys

import numpy as np
import torch
import torchvision

import tensorfile


def main(argv):
    name, weights, inp, out = argv[:4]
    train = "--train-mode" in argv
    state = {k: torch.from_numpy(v.copy()) for k, v in tensorfile.load(weights).items()}
    fc = state.get("fc.weight")
    model = getattr(torchvision.models, name)(num_classes=fc.shape[0] if fc is not None else 1000)
    state = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    model.train(train)
    x = torch.from_numpy(tensorfile.load(inp)["input"].copy())
    with torch.no_grad():
        want = model(x).numpy()
    got = tensorfile.load(out)["output"]
    err = np.abs(want - got).max() / np.abs(want).max()
    print("torchvision %s (%s): max |resnet4j - torch| / max |torch| = %.2e" % (name, "train" if train else "eval", err))
    return 0 if err < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
