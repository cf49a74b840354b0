#!/usr/bin/python3
"""Check `resnet4j predict --model --weights` against torchvision's ImageNet eval pipeline
(PIL decode, Resize(256) bilinear with PIL's antialiasing, CenterCrop(224), ToTensor,
Normalize) on the same .pth and images: same top-5 classes, and the largest probability gap.

    python3 tools/check_predict.py [WORKDIR]

Writes a seeded resnet18 (its classifier scaled so the softmax is peaked and the top-5 order
is meaningful) and three synthetic photos (JPEG and PNG, landscape and portrait) to WORKDIR.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms


def photo(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([128 + 100 * np.sin(xx / (9.0 + 4 * c)) * np.cos(yy / (13.0 + 3 * c)) for c in range(3)])
    img += rng.normal(0, 18, img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8).transpose(1, 2, 0), "RGB")


def main(argv):
    work = argv[0] if argv else "/tmp/resnet4j-check-predict"
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    with torch.no_grad():
        model.fc.weight.mul_(40)
    weights = os.path.join(work, "resnet18.pth")
    torch.save(model.state_dict(), weights)
    model.eval()
    rng = np.random.default_rng(1)
    images = []
    for name, (h, w) in [("land.jpg", (375, 500)), ("port.png", (480, 320)), ("small.png", (200, 260))]:
        path = os.path.join(work, name)
        photo(rng, h, w).save(path, quality=92) if name.endswith(".jpg") else photo(rng, h, w).save(path)
        images.append(path)
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([os.path.join(here, "..", "resnet4j"), "predict", "--model", "resnet18", "--weights", weights,
                          "--json", "--top", "5"] + images, check=True, capture_output=True, text=True).stdout
    ours = next(json.loads(line) for line in out.splitlines() if line.startswith("["))
    worst, same = 0.0, True
    for path, got in zip(images, ours):
        with torch.no_grad():
            p = torch.softmax(model(tf(Image.open(path).convert("RGB"))[None]), 1)[0]
        top = torch.topk(p, 5)
        want = [int(i) for i in top.indices]
        mine = [int(t["index"]) for t in got["top"]]
        gap = max(abs(float(p[i]) - float(t["probability"])) for i, t in zip(mine, got["top"]))
        worst = max(worst, gap)
        same &= want == mine
        print("%-10s torchvision %s  resnet4j %s  max |p gap| %.2e" % (os.path.basename(path), want, mine, gap))
    print("top-5 identical: %s; largest probability gap %.2e" % (same, worst))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
