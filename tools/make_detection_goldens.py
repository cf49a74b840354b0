#!/usr/bin/python3
"""Generate the detection goldens: torchvision's detection ops and its FCOS feature pyramid.

Writes, under resnet4j-core/src/test/resources/goldens/:

  detection_ops.safetensors   GroupNorm, nearest interpolation at the FPN's sizes, box_iou,
                              nms, batched_nms, remove_small_boxes, clip_boxes_to_image,
                              generalized_box_iou_loss and sigmoid_focal_loss. Ops with a
                              gradient run in float64: their inputs, output, a random r and the
                              gradients of sum(y * r) are stored (as float32).
  fpn_{case}.safetensors      the feature pyramid ('0', '1', '2', 'p6', 'p7') of torchvision's
                              _resnet_fpn_extractor over a ResNet body, in float64, with every
                              state_dict entry set by make_goldens.py's formula (no weights
                              stored); the metadata holds the parameter counts (total and
                              trainable), as torchvision counts them.
  keys_{case}.txt             the backbone's state_dict keys in order, 'key shape' per line,
                              prefixed 'backbone.' as in the full FCOS model's state_dict.

Cases: fcos_resnet50_fpn (FrozenBatchNorm2d, trainable_layers=3: the model fcos.py builds when
weights are given), fcos_resnet50_fpn_scratch (what fcos.py builds without weights: BatchNorm2d,
every layer trainable), fcos_resnet18_fpn (resnet18 body, same recipe) and
fcos_resnet18_fpn_p6c5 (LastLevelP6P7(512, 256): P6 computed from C5).

Usage (Debian): apt-get install -y python3-torch python3-torchvision
    python3 tools/make_detection_goldens.py
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.fcos import FCOS
from torchvision.ops import boxes as box_ops
from torchvision.ops import misc as misc_nn_ops
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

import make_goldens
import tensorfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "goldens")
OPS_FILE = os.path.join(OUT_DIR, "detection_ops.safetensors")


# --------------------------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------------------------
def random_boxes(gen, n, spread, max_size, degenerate=0, duplicates=0):
    """n boxes x1y1x2y2 whose corners lie in a small region, so that many overlap; the first
    `degenerate` have zero width or height, the last `duplicates` repeat earlier boxes."""
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * spread
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * max_size + 0.5
    b = torch.cat([xy, xy + wh], 1)
    for i in range(degenerate):
        b[i, 2 + (i % 2)] = b[i, i % 2]  # x2 = x1 or y2 = y1
    for i in range(duplicates):
        b[n - 1 - i] = b[degenerate + 2 * i]
    # quantize to 1/8 so that float32 holds the boxes exactly: both sides see the same boxes
    return torch.round(b * 8) / 8


def make_ops():
    gen = torch.Generator().manual_seed(2019)
    torch.manual_seed(2019)
    out = {}

    def case(name, fn, *inputs, dtype=torch.float64):
        # r from this script's own generator, drawn in float64 whatever the op's dtype
        make_goldens.op_case(out, name, fn, [t.to(dtype).clone() for t in inputs],
                             lambda y: torch.randn(y.shape, dtype=torch.float64, generator=gen).to(dtype))

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    # GroupNorm (Wu & He 2018): groups of channels normalized together, per-channel affine
    case("groupnorm_3of6", lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5),
         randn(2, 6, 5, 7) * 2 + 0.5, 1 + 0.3 * randn(6), 0.3 * randn(6))
    case("groupnorm_32of64", lambda x, w, b: F.group_norm(x, 32, w, b, 1e-5),
         randn(2, 64, 3, 4), 1 + 0.3 * randn(64), 0.3 * randn(64))
    case("groupnorm_1of4_nc", lambda x, w, b: F.group_norm(x, 1, w, b, 1e-5), randn(3, 4), 1 + 0.3 * randn(4),
         0.3 * randn(4))

    # nearest interpolation as the FPN calls it, F.interpolate(size=lateral's size): C5 -> C4
    # and C4 -> C3 of a 100x132 input (4x5 -> 7x9 -> 13x17), an exact 2x, and 2 -> 82 where
    # PyTorch's float32 source index (41 * (2/82) = 0.99999994 in float32) floors differently
    # from a float64 one. In float32, the FPN's dtype: PyTorch's float64 kernel computes the index
    # in float64 on some paths (with several channels), so float64 would pin the wrong pattern.
    for name, shape, size in [("nearest_4x5_to_7x9", (1, 3, 4, 5), (7, 9)), ("nearest_7x9_to_13x17", (1, 2, 7, 9), (13, 17)),
                              ("nearest_5x7_to_10x14", (2, 2, 5, 7), (10, 14)), ("nearest_3x2_to_7x82", (1, 2, 3, 2), (7, 82))]:
        case(name, lambda x, s=size: F.interpolate(x, size=s, mode="nearest"), randn(*shape), dtype=torch.float32)

    # box_iou: overlapping, degenerate (zero-area: IoU of two of them is 0/0 = nan) and repeated boxes
    b1 = random_boxes(gen, 40, 20, 12, degenerate=4, duplicates=3).float()
    b2 = torch.cat([b1[:6], random_boxes(gen, 24, 20, 12, degenerate=2)]).float()
    out["box_iou/in0"], out["box_iou/in1"], out["box_iou/out"] = b1, b2, box_ops.box_iou(b1, b2)

    # nms: 300 clustered boxes, scores on a grid of 1/16 so that many are equal (ties keep the
    # lower index first: torchvision sorts with a stable sort), thresholds 0.3 / 0.5 / 0.7
    boxes = random_boxes(gen, 300, 60, 25, degenerate=6, duplicates=10).float()
    scores = (torch.randint(0, 16, (300,), generator=gen).float() / 16)
    scores[290:] = scores[0:10]  # duplicated boxes with equal scores too
    classes = torch.randint(0, 5, (300,), generator=gen)
    out["nms/boxes"], out["nms/scores"], out["nms/classes"] = boxes, scores, classes.double()
    for t in (0.3, 0.5, 0.7):
        out["nms/keep_%g" % t] = torchvision.ops.nms(boxes, scores, t).double()
        # 1200 numbers <= 4000: torchvision's coordinate-offset path
        out["nms/batched_keep_%g" % t] = torchvision.ops.batched_nms(boxes, scores, classes, t).double()
    # a NaN score (torch's descending sort puts it first) and 0.0 / -0.0 (equal: index order)
    nb = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12], [0, 0, 10, 10], [50, 50, 60, 60], [51, 51, 61, 61.]])
    ns = torch.tensor([0.5, float("nan"), 0.7, -0.0, 0.0, -0.0])
    nc = torch.tensor([0, 0, 1, 1, 0, 0])
    out["nms_nan/boxes"], out["nms_nan/scores"], out["nms_nan/classes"] = nb, ns, nc.double()
    out["nms_nan/keep_0.5"] = torchvision.ops.nms(nb, ns, 0.5).double()
    out["nms_nan/batched_keep_0.5"] = torchvision.ops.batched_nms(nb, ns, nc, 0.5).double()
    # the per-class path (over 4000 numbers) with distinct scores: torchvision's final sort there
    # is not stable, so ties would come in an unspecified order
    big = random_boxes(gen, 1500, 200, 40, degenerate=10).float()
    big_scores = torch.randperm(1500, generator=gen).float() / 1500
    big_classes = torch.randint(0, 7, (1500,), generator=gen)
    out["nms_big/boxes"], out["nms_big/scores"], out["nms_big/classes"] = big, big_scores, big_classes.double()
    out["nms_big/keep_0.5"] = torchvision.ops.nms(big, big_scores, 0.5).double()
    out["nms_big/batched_keep_0.5"] = torchvision.ops.batched_nms(big, big_scores, big_classes, 0.5).double()

    # remove_small_boxes and clip_boxes_to_image
    sb = torch.cat([random_boxes(gen, 30, 40, 3, degenerate=3), random_boxes(gen, 10, 40, 3) - 20]).float()
    out["small/boxes"], out["small/keep_1"] = sb, box_ops.remove_small_boxes(sb, 1.0).double()
    out["clip/out_30x25"] = box_ops.clip_boxes_to_image(sb, (30, 25))

    # generalized_box_iou_loss (Rezatofighi et al. 2019): overlapping pairs, disjoint pairs,
    # identical pairs (ties in min/max: the gradient splits in half), pairs sharing an edge and
    # zero-area predictions
    p = random_boxes(gen, 48, 30, 15, degenerate=4)
    g = random_boxes(gen, 48, 30, 15)
    g[40:44] = p[40:44]                      # identical
    g[44, :] = torch.tensor([p[44, 2], p[44, 1], p[44, 2] + 5, p[44, 3]])  # touching at x2
    g[45, 0] = p[45, 0]                      # one coordinate equal
    g[46] = p[46] + 100                      # far apart
    for red in ("none", "mean", "sum"):
        case("giou_" + red, lambda a, b, red=red: torchvision.ops.generalized_box_iou_loss(a, b, red), p, g)

    # sigmoid_focal_loss (Lin et al. 2017, alpha 0.25, gamma 2): logits over a wide range, hard
    # targets, then soft targets (their gradient too) and the alpha = -1 / other gamma variants
    logits = randn(12, 9) * 3
    hard = (torch.rand(12, 9, generator=gen) < 0.2).double()
    soft = torch.rand(12, 9, generator=gen, dtype=torch.float64)
    for red in ("none", "mean", "sum"):
        case("focal_" + red, lambda x, t, red=red: torchvision.ops.sigmoid_focal_loss(x, t, 0.25, 2, red), logits, hard)
    case("focal_soft_sum", lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t, 0.25, 2, "sum"), logits, soft)
    case("focal_noalpha_g1.5_mean", lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t, -1, 1.5, "mean"), logits, soft)
    case("focal_g0_none", lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t, 0.5, 0, "none"), logits, hard)

    tensorfile.save(OPS_FILE, {k: v.detach().double().numpy() for k, v in out.items()},
                    {"torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
                     "dtype": "float64 (ops with gradients), float32 (box ops), stored as float32"})
    print("%-60s %8.1f KB" % (os.path.relpath(OPS_FILE, ROOT), os.path.getsize(OPS_FILE) / 1024.0))


# --------------------------------------------------------------------------------------------
# feature pyramid
# --------------------------------------------------------------------------------------------
FPN_INPUT = (1, 3, 100, 132)  # C3..C5 at 13x17, 7x9, 4x5: odd sizes, upsampled to sizes other than 2x


def build_backbone(depth, frozen, trainable_layers, p6_in):
    """As fcos.py: resnet{depth}(norm_layer=...) then _resnet_fpn_extractor(backbone,
    trainable_layers, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(p6_in, 256))."""
    norm = misc_nn_ops.FrozenBatchNorm2d if frozen else torch.nn.BatchNorm2d
    body = getattr(torchvision.models, "resnet%d" % depth)(weights=None, norm_layer=norm)
    return _resnet_fpn_extractor(body, trainable_layers, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(p6_in, 256))


CASES = {
    # name: (depth, frozen BN, trainable layers, P6 input channels)
    "fcos_resnet50_fpn": (50, True, 3, 256),
    "fcos_resnet50_fpn_scratch": (50, False, 5, 256),
    "fcos_resnet18_fpn": (18, True, 3, 256),
    "fcos_resnet18_fpn_p6c5": (18, True, 3, 512),
}


def make_fpn(name):
    depth, frozen, trainable, p6_in = CASES[name]
    if name == "fcos_resnet50_fpn_scratch":
        # the real builder: without weights fcos.py uses BatchNorm2d and trains every layer
        model = torchvision.models.detection.fcos_resnet50_fpn(weights=None, weights_backbone=None)
    else:
        model = FCOS(build_backbone(depth, frozen, trainable, p6_in), num_classes=91)
    bb = model.backbone
    with open(os.path.join(OUT_DIR, "keys_%s.txt" % name), "w") as f:
        for k, v in model.state_dict().items():
            if k.startswith("backbone."):
                f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))
    total = sum(p.numel() for p in bb.parameters())
    trainable_count = sum(p.numel() for p in bb.parameters() if p.requires_grad)
    meta = {"case": name, "torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
            "depth": str(depth), "frozen_bn": str(frozen), "trainable_layers": str(trainable), "p6_in_channels": str(p6_in),
            "parameters_total": str(total), "parameters_trainable": str(trainable_count),
            "input": ",".join(map(str, FPN_INPUT)), "formula": make_goldens.FORMULA}
    if name == "fcos_resnet50_fpn_scratch":  # keys and counts only: same graph as fcos_resnet50_fpn
        path = os.path.join(OUT_DIR, "fpn_%s.safetensors" % name)
        tensorfile.save(path, {}, meta)
        print("%-60s params %d, trainable %d" % (name, total, trainable_count))
        return
    make_goldens.init_weights(bb)
    n = int(np.prod(FPN_INPUT))
    x = torch.from_numpy(math.sqrt(3.0) * make_goldens.hash_uniform(n, 1000)).float().reshape(FPN_INPUT)
    bb.eval()
    with torch.no_grad():
        y64 = bb.double()(x.double())
        y32 = bb.float()(x)
    for k in y64:
        meta["torch_f32_err_" + k] = "%.3e" % (float((y32[k].double() - y64[k]).abs().max()) / float(y64[k].abs().max()))
    path = os.path.join(OUT_DIR, "fpn_%s.safetensors" % name)
    tensorfile.save(path, {k: v.numpy() for k, v in y64.items()}, meta)
    print("%-60s %8.1f KB  params %d, trainable %d, shapes %s" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0,
          total, trainable_count, {k: tuple(v.shape) for k, v in y64.items()}))


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    which = sys.argv[1:] or ["ops"] + list(CASES)
    for w in which:
        if w == "ops":
            make_ops()
        else:
            make_fpn(w)


if __name__ == "__main__":
    sys.exit(main())
