#!/usr/bin/python3
"""Generate the FCOS goldens: torchvision 0.14's FCOS (fcos.py) end to end.

Writes, under resnet4j-core/src/test/resources/goldens/:

  fcos_transform.safetensors  GeneralizedRCNNTransform(min_size=128, max_size=192) on two formula
                              images (3x120x160 and 3x100x90, values in [0, 1)): each normalized,
                              resized image before padding ('image0', 'image1'), in float64; the
                              batch shape and image sizes in the metadata.
  fcos_eval.safetensors       the model in eval mode (float64): the anchors, the head's three
                              outputs (cls_logits [N, HWA, 91], bbox_regression [N, HWA, 4],
                              bbox_ctrness [N, HWA, 1], levels concatenated) and the detections
                              per image after postprocess_detections and transform.postprocess
                              (boxes in the original image's pixels, scores, labels).
  fcos_train.safetensors      the loss dict of FCOS in train mode (compute_loss) for targets on
                              the same two images, image 1 without boxes, and the same for a
                              batch without any box; the gradients of sum(losses) for the head's
                              parameters and three backbone ones: 1-D ones whole, weights as
                              their L2 norm, their dot product with r = hash(i, 3000) and
                              out-channel 0; PyTorch float32's own errors in the metadata.
  fcos_counts.safetensors     (metadata only) parameter counts, total and trainable, of
                              fcos_resnet50_fpn with and without weights and of the resnet18 variant.
  keys_fcos_head.txt          the head's state_dict keys with shapes, as in the whole model.

The model is FCOS(_resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3, [2, 3, 4],
LastLevelP6P7(256, 256)), num_classes=91): fcos_resnet50_fpn as built when weights are given,
so batch norm is frozen in train mode too. Every state_dict entry is set by make_goldens.py's
formula (no weights stored). The score threshold is chosen by the script in a wide gap of the
candidate scores, so that float32 cannot move a candidate across it; the NMS, top-k and top-100
margins are checked and recorded.

Usage (Debian): apt-get install -y python3-torch python3-torchvision
    python3 tools/make_fcos_goldens.py
"""

import math
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.detection.fcos import FCOS
from torchvision.ops import boxes as box_ops

import make_goldens
import tensorfile
from make_detection_goldens import build_backbone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "goldens")
MIN_SIZE, MAX_SIZE = 128, 192
IMAGES = [(3, 120, 160), (3, 100, 90)]
# targets in the original images' pixels: two nested boxes (the smaller area wins), one overlapping
TARGET_BOXES = [[[20.0, 30.0, 60.0, 80.0], [25.0, 35.0, 45.0, 55.0], [60.0, 30.0, 150.0, 110.0], [5.0, 5.0, 40.0, 30.0]], []]
TARGET_LABELS = [[3, 17, 90, 1], []]
SKETCH_SEED = 3000


def image(shape, k):
    """A formula image in [0, 1): 0.5 + 0.5 * hash(i, k), k = 1001, 1002, ... per image."""
    n = int(np.prod(shape))
    return torch.from_numpy(0.5 + 0.5 * make_goldens.hash_uniform(n, k)).reshape(shape)


def build(**kw):
    torch.manual_seed(0)
    m = FCOS(build_backbone(50, True, 3, 256), num_classes=91, min_size=MIN_SIZE, max_size=MAX_SIZE, **kw)
    make_goldens.init_weights(m)
    return m


def images(dtype):
    return [image(s, 1001 + j).to(dtype) for j, s in enumerate(IMAGES)]


def meta_common():
    return {"torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
            "formula": make_goldens.FORMULA, "min_size": str(MIN_SIZE), "max_size": str(MAX_SIZE),
            "images": ";".join(",".join(map(str, s)) for s in IMAGES), "image_formula": "0.5 + 0.5 * hash(i, 1001 + j)"}


def make_transform():
    m = build().double().eval()
    ims = images(torch.float64)
    il, _ = m.transform(ims)
    out, meta = {}, meta_common()
    for j, im in enumerate(ims):
        normed = m.transform.normalize(im)
        resized, _ = m.transform.resize(normed)
        out["image%d" % j] = resized
    meta["batch_shape"] = ",".join(map(str, il.tensors.shape))
    meta["image_sizes"] = ";".join("%d,%d" % s for s in il.image_sizes)
    path = os.path.join(OUT_DIR, "fcos_transform.safetensors")
    tensorfile.save(path, {k: v.numpy() for k, v in out.items()}, meta)
    print("%-50s %8.1f KB  sizes %s batch %s" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0, il.image_sizes,
                                                 tuple(il.tensors.shape)))


def head_outputs(m, ims):
    il, _ = m.transform(ims)
    feats = list(m.backbone(il.tensors).values())
    ho = m.head(feats)
    anchors = m.anchor_generator(il, feats)
    return il, feats, ho, anchors


def choose_threshold(scores, lo, hi):
    """A score threshold between ranks lo and hi of the candidate scores, in their widest gap."""
    srt = torch.sort(scores.flatten(), descending=True)[0]
    best, at = -1.0, 0
    for i in range(lo, hi):
        gap = float(srt[i - 1] - srt[i])
        if gap > best:
            best, at = gap, i
    return float(srt[at - 1] + srt[at]) / 2, best / 2


def nms_margin(boxes, labels, thresh):
    """The smallest |IoU - thresh| over same-class pairs: how far NMS's decisions are from flipping."""
    margin = float("inf")
    for c in labels.unique():
        b = boxes[labels == c]
        if len(b) > 1:
            iou = box_ops.box_iou(b, b)
            iou = iou[~torch.eye(len(b), dtype=torch.bool)]
            margin = min(margin, float((iou - thresh).abs().min()))
    return margin


# postprocessing configurations over the same head outputs: (name, NMS IoU threshold, candidates
# kept per level); the score threshold is chosen below (about 400 candidates per image); with 91
# classes the default 0.6 suppresses few boxes, so a second one at 0.3 makes NMS decide more, and
# a third keeps only 40 candidates per level, so the top-k cut decides too
POST = [("nms0.6", 0.6, 1000), ("nms0.3", 0.3, 1000), ("nms0.6_top40", 0.6, 40)]


def make_eval():
    m = build().double().eval()
    ims = images(torch.float64)
    with torch.no_grad():
        il, feats, ho, anchors = head_outputs(m, ims)
    scores = torch.sqrt(torch.sigmoid(ho["cls_logits"]) * torch.sigmoid(ho["bbox_ctrness"]))
    thresh, thresh_margin = choose_threshold(scores, 700, 900)
    out = {"anchors": anchors[0]}
    out.update({k: v for k, v in ho.items()})
    meta = meta_common()
    meta["score_thresh"] = repr(thresh)
    meta["score_thresh_margin"] = "%.3e" % thresh_margin
    meta["levels"] = ";".join("%d,%d" % tuple(f.shape[-2:]) for f in feats)
    meta["post"] = ";".join("%s,%r,%d" % p for p in POST)
    m.score_thresh = thresh
    n_per = [f.shape[2] * f.shape[3] for f in feats]
    for name, nms, topk in POST:
        m.nms_thresh = nms
        m.topk_candidates = topk
        m32 = build(score_thresh=thresh, nms_thresh=nms, topk_candidates=topk).float().eval()
        with torch.no_grad():
            dets = m(ims)
            dets32 = m32(images(torch.float32))
            m.detections_per_img = 10 ** 6
            allkept = m(ims)
            m.detections_per_img = 100
        for j, d in enumerate(dets):
            p = "%s/det%d/" % (name, j)
            for k in ("boxes", "scores", "labels"):
                out[p + k] = d[k].double()
            # PyTorch's own float32 run makes the same decisions
            assert torch.equal(d["labels"], dets32[j]["labels"]), "float32 and float64 disagree on labels"
            meta[p + "torch_f32_box_err"] = "%.3e" % float((d["boxes"] - dets32[j]["boxes"].double()).abs().max())
            meta[p + "torch_f32_score_err"] = "%.3e" % float((d["scores"] - dets32[j]["scores"].double()).abs().max())
            # how far the decisions are from flipping: IoUs against the NMS threshold, the 100th score against the 101st
            s = scores[j].flatten()
            idx = torch.where(s > thresh)[0]
            b = box_ops.clip_boxes_to_image(m.box_coder.decode(ho["bbox_regression"][j][idx // 91], anchors[j][idx // 91]),
                                            il.image_sizes[j])
            margin = nms_margin(b, idx % 91, nms)
            assert margin > 1e-4, margin
            # the top-k cut per level: the topk-th and the next score apart
            for lv in s.split([n * 91 for n in n_per]):
                srt = torch.sort(lv[lv > thresh], descending=True)[0]
                if len(srt) > topk:
                    assert float(srt[topk - 1] - srt[topk]) > 5e-6, (name, j)
                    meta[p + "topk_cut_margin"] = "%.3e" % min(float(meta.get(p + "topk_cut_margin", "inf")),
                                                               float(srt[topk - 1] - srt[topk]))
            meta[p + "candidates"] = str(len(idx))
            meta[p + "nms_margin"] = "%.3e" % margin
            meta[p + "kept_by_nms"] = str(len(allkept[j]["scores"]))
            ks = allkept[j]["scores"]
            if len(ks) > 100:
                meta[p + "cut_margin"] = "%.3e" % float(ks[99] - ks[100])
                assert float(ks[99] - ks[100]) > 5e-6
    path = os.path.join(OUT_DIR, "fcos_eval.safetensors")
    tensorfile.save(path, {k: v.double().numpy() for k, v in out.items()}, meta)
    print("%-50s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))
    print({k: v for k, v in meta.items() if k not in ("formula",)})


# backbone parameters whose gradients are checked too: the pyramid's and the last stage's first conv
# (layer2's and layer3's are ill-conditioned under the formula weights: PyTorch's own float32
# gradient norm there is 3e-3 away from float64's, so they cannot pin anything at 1e-4)
WATCHED = ["backbone.fpn.layer_blocks.0.0.bias", "backbone.fpn.layer_blocks.0.0.weight", "backbone.body.layer4.0.conv1.weight"]


def make_train():
    out, meta = {}, meta_common()
    for case, boxes_per_image in (("train", TARGET_BOXES), ("train_empty", [[], []])):
        m = build().double().train()
        ims = images(torch.float64)
        targets = []
        for j, bl in enumerate(boxes_per_image):
            b = torch.tensor(bl, dtype=torch.float64).reshape(-1, 4)
            lab = torch.tensor(TARGET_LABELS[j] if case == "train" else [], dtype=torch.int64)
            targets.append({"boxes": b, "labels": lab})
            out["%s/boxes%d" % (case, j)] = b
            out["%s/labels%d" % (case, j)] = lab.double()
        losses = m(ims, targets)
        total = sum(losses.values())
        total.backward()
        for k, v in losses.items():
            out["%s/loss/%s" % (case, k)] = v.detach()
        # the matching, to name a disagreement: foreground anchors per image
        il, tg = m.transform(ims, [{k: v.clone() for k, v in t.items()} for t in targets])
        for j, t in enumerate(tg):
            out["%s/resized_boxes%d" % (case, j)] = t["boxes"]
        named = dict(m.named_parameters())
        for k in [k for k in named if k.startswith("head.")] + WATCHED:
            g = named[k].grad
            if g.dim() == 1:
                out["%s/grad/%s" % (case, k)] = g
            else:
                r = torch.from_numpy(make_goldens.hash_uniform(g.numel(), SKETCH_SEED)).reshape(g.shape)
                out["%s/grad_norm/%s" % (case, k)] = g.norm()
                out["%s/grad_dot/%s" % (case, k)] = (g * r).sum()
                out["%s/grad_out0/%s" % (case, k)] = g[0]
        # float32's own error on the losses and the gradients' norms
        m32 = build().float().train()
        l32 = m32(images(torch.float32), [{"boxes": t["boxes"].float(), "labels": t["labels"]} for t in targets])
        sum(l32.values()).backward()
        for k, v in losses.items():
            meta["%s/torch_f32_rel_err/%s" % (case, k)] = "%.3e" % (abs(float(l32[k]) - float(v)) / max(abs(float(v)), 1e-30))
        named32 = dict(m32.named_parameters())

        def f32_err(k):
            return float((named[k].grad - named32[k].grad.double()).norm() / max(float(named[k].grad.norm()), 1e-30))
        # the head and the pyramid; the body's parameter apart: its float32 gradient varies from run to run
        worst = max(f32_err(k) for k in named if k.startswith("head.") or k.startswith("backbone.fpn.") and k in WATCHED)
        meta["%s/torch_f32_worst_grad_rel_err" % case] = "%.3e" % worst
        for k in WATCHED:
            if k.startswith("backbone.body."):
                meta["%s/torch_f32_grad_rel_err/%s" % (case, k)] = "%.3e" % f32_err(k)
        print(case, {k: float(v) for k, v in losses.items()})
    meta["sketch"] = "grad_dot = sum(grad * r), r = hash(i, %d) over the flat gradient" % SKETCH_SEED
    path = os.path.join(OUT_DIR, "fcos_train.safetensors")
    tensorfile.save(path, {k: v.detach().double().numpy() for k, v in out.items()}, meta)
    print("%-50s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def make_keys():
    m = build()
    with open(os.path.join(OUT_DIR, "keys_fcos_head.txt"), "w") as f:
        for k, v in m.state_dict().items():
            if k.startswith("head."):
                f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))
    counts = {}
    counts["fcos_resnet50_fpn"] = m
    counts["fcos_resnet50_fpn_scratch"] = torchvision.models.detection.fcos_resnet50_fpn(weights=None, weights_backbone=None)
    counts["fcos_resnet18_fpn"] = FCOS(build_backbone(18, True, 3, 256), num_classes=91)
    meta = {}
    for name, model in counts.items():
        meta[name + "/parameters_total"] = str(sum(p.numel() for p in model.parameters()))
        meta[name + "/parameters_trainable"] = str(sum(p.numel() for p in model.parameters() if p.requires_grad))
    path = os.path.join(OUT_DIR, "fcos_counts.safetensors")
    tensorfile.save(path, {}, meta)
    print(meta)


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    which = sys.argv[1:] or ["keys", "transform", "eval", "train"]
    for w in which:
        {"keys": make_keys, "transform": make_transform, "eval": make_eval, "train": make_train}[w]()


if __name__ == "__main__":
    sys.exit(main())
