#!/usr/bin/python3
"""A torch.save'd FCOS state_dict end to end: torchvision's detections against resnet4j's.

No trained weights can be had offline, so the models are seeded and then adjusted
deterministically until real detections come out: torchvision's random head starts every class
logit near the prior's -4.6 (fcos.py, FCOSClassificationHead: bias -log((1 - 0.01) / 0.01),
weights normal(std 0.01)), which puts every score near sqrt(0.01 * 0.5) = 0.07, below the 0.2
threshold. The adjustment multiplies cls_logits' weights by CLS_GAIN (spreading the logits over
the image), moves its bias by a shift plus a per-class term (so several classes win somewhere:
CLASS_SPREAD * cos(1.3 k); for resnet50 the class's peak logit on the image subtracted and
LEVEL_SPREAD * cos(1.3 k) added, since its seeded features vary so little over the image that two
classes took every box), and gives
bbox_reg a positive bias (boxes of about an anchor's size instead of dots).
The shift is chosen on the head's outputs (the logits are linear in it) so that 30 to 90
candidates (resnet50: 20 to 40) pass the threshold, as far from it as can be, and then checked: the detections are between 20 and 99 (so the top-100 cut
never decides), no two adjacent kept scores within 1e-5 (their order is then not rounding's), no
candidate score is within 1e-4 of the score threshold, no same-class IoU
among the candidates within 1e-4 of the NMS threshold, and no level has more than 1000
candidates: float32 rounding on either side cannot flip a decision.

Two parts:

  resnet50   torchvision.models.detection.fcos_resnet50_fpn(weights=None, weights_backbone=None)
             (seed 0; BatchNorm2d, which in eval mode computes what resnet4j's FrozenBatchNorm2d
             does), adjusted; torch.save of its state_dict (130 MB), a drawn 480x640 PNG, and
             torchvision's eval-mode detections (float32, and float64 for scale) as JSON, all
             under target/fcos_pth/; then `./resnet4j convert` and `./resnet4j detect --json` on
             them and a comparison: count, labels in order, largest box and score differences.
             Nothing of this is committed (the state_dict is too large); docs/DETECTION.md
             records the figures.
  fixture    the CI-sized version: FCOS(resnet18 body with FrozenBatchNorm2d, 3 trainable layers,
             LastLevelP6P7(256, 256), 91 classes, min_size 384, max_size 512), resnet4j's
             fcos_resnet18_fpn; every weight tensor a view (torch.as_strided) of a storage of
             its own of at most POOL values, so torch.save writes 19 million parameters in about
             1.4 MB: resnet4j-core/src/test/resources/pth/fcos_resnet18_fpn_views.pth, and
             goldens/fcos_pth_detections.safetensors with the drawn 3x96x128 image and
             torchvision's float32 detections on it (boxes, scores, labels; margins in the
             metadata). FcosPthTest reads the .pth with io.pth.Pth and compares.

Usage (Debian: apt-get install -y python3-torch python3-torchvision):
    python3 tools/make_fcos_pth.py fixture
    python3 tools/make_fcos_pth.py resnet50     # needs the launcher built (./resnet4j builds it)
"""

import json
import math
import os
import subprocess
import sys

import torch
import torchvision
from torchvision.models.detection.fcos import FCOS
from torchvision.ops import boxes as box_ops

import tensorfile
from make_detection_goldens import build_backbone
from make_fcos_goldens import head_outputs, nms_margin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "goldens")
PTH_DIR = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "pth")
WORK = os.path.join(ROOT, "target", "fcos_pth")
CLS_GAIN = 4.0
BBOX_BIAS = [1.0, 0.8, 1.2, 0.9]  # l, t, r, b in anchor sizes: boxes about twice an anchor wide
POOL = 8192
CLASS_SPREAD = 0.4  # per-class bias term: cos(1.3 k) times this
LEVEL_SPREAD = 2.0  # the same term on levelled classes: their peaks apart, so kept scores do not nearly tie
PRIOR = -math.log((1 - 0.01) / 0.01)


def drawn_image(h, w):
    """A deterministic uint8 RGB picture: a colour gradient, two rectangles, a disk, stripes."""
    y = torch.arange(h, dtype=torch.float64)[:, None] / h
    x = torch.arange(w, dtype=torch.float64)[None, :] / w
    img = torch.stack(torch.broadcast_tensors(x, y, 0.5 + 0.5 * torch.sin(6.0 * (x + y)))).clone()
    img[:, int(0.2 * h):int(0.6 * h), int(0.12 * w):int(0.4 * w)] = torch.tensor([0.9, 0.15, 0.1], dtype=torch.float64)[:, None, None]
    img[:, int(0.5 * h):int(0.88 * h), int(0.55 * w):int(0.94 * w)] = torch.tensor([0.1, 0.7, 0.25], dtype=torch.float64)[:, None, None]
    disk = ((x - 0.7) ** 2 + ((y - 0.25) * h / w) ** 2) < 0.12 ** 2
    img[:, disk.expand(h, w)] = torch.tensor([0.2, 0.3, 0.95], dtype=torch.float64)[:, None]
    stripes = ((torch.arange(w) // max(1, w // 40)) % 2 == 0)[None, :] & (y > 0.9)
    img[:, stripes.expand(h, w)] = 1.0
    return (img * 255).round().clamp(0, 255).to(torch.uint8)


def as_input(u8):
    # what resnet4j's decoder gives for an 8-bit PNG: byte / 255 in float32 (ToTensor)
    return u8.to(torch.float32) / 255


def adjust(m, shift, level=None):
    """The deterministic adjustment described above, in place; level: a per-class bias term."""
    cls = m.head.classification_head.cls_logits
    k = cls.bias.numel()
    with torch.no_grad():
        cls.weight.mul_(CLS_GAIN)
        per_class = CLASS_SPREAD * torch.cos(1.3 * torch.arange(k, dtype=torch.float64)).float() if level is None else level.float()
        cls.bias.copy_(PRIOR + shift + per_class)
        m.head.regression_head.bbox_reg.bias.copy_(torch.tensor(BBOX_BIAS))


def levelled(m, x):
    """Per class, minus its highest logit on the image under the gain (shift 0, no per-class
    term): each class then peaks at the same logit, and the shift lets the peaks through."""
    state = {k: v.clone() for k, v in m.state_dict().items()}
    adjust(m, 0.0, torch.zeros(m.head.classification_head.cls_logits.bias.numel(), dtype=torch.float64))
    with torch.no_grad():
        _, _, ho, _ = head_outputs(m, [x])
    m.load_state_dict(state)
    k = ho["cls_logits"].shape[-1]
    # plus a per-class term, so that the classes' peaks (and so the kept scores) are apart
    return -(ho["cls_logits"][0].double().amax(0) - PRIOR) + LEVEL_SPREAD * torch.cos(1.3 * torch.arange(k, dtype=torch.float64))


def candidates(m, x):
    """What postprocess_detections sees: per level the scores, the decoded clipped boxes of those
    above the threshold and their classes; returns (scores, boxes, labels, per-level counts)."""
    with torch.no_grad():
        il, feats, ho, anchors = head_outputs(m, [x])
    k = ho["cls_logits"].shape[-1]
    s = torch.sqrt(torch.sigmoid(ho["cls_logits"][0]) * torch.sigmoid(ho["bbox_ctrness"][0])).flatten()
    idx = torch.where(s > m.score_thresh)[0]
    boxes = box_ops.clip_boxes_to_image(m.box_coder.decode(ho["bbox_regression"][0][idx // k], anchors[0][idx // k]),
                                        il.image_sizes[0])
    n_per = [f.shape[2] * f.shape[3] for f in feats]
    per_level = [int((lv > m.score_thresh).sum()) for lv in s.split([n * k for n in n_per])]
    return s, boxes, idx % k, per_level


def shifts(m, x, lo=30, hi=90):
    """Shifts of the class bias ordered by how far the nearest candidate score then lies from the
    threshold, among those that leave lo to hi candidates and whose kept scores (after NMS) are
    at least 2e-5 apart: the logits are linear in the bias and the boxes do not depend on it, so
    the head runs once (at shift 0) and each shift is scored on its outputs."""
    with torch.no_grad():
        il, _, ho, anchors = head_outputs(m, [x])
    k = ho["cls_logits"].shape[-1]
    c = ho["cls_logits"][0].double().flatten()
    ct = torch.sigmoid(ho["bbox_ctrness"][0].double()).expand(-1, k).flatten()
    t = m.score_thresh

    def count(d, sel=slice(None)):
        return int((torch.sqrt(torch.sigmoid(c[sel] + d) * ct[sel]) > t).sum())

    a, b = -30.0, 30.0  # count(a) small, count(b) large: bisect to (lo + hi) / 2 candidates
    for _ in range(60):
        mid = (a + b) / 2
        a, b = (mid, b) if count(mid) < (lo + hi) // 2 else (a, mid)
    sel = torch.where(torch.sqrt(torch.sigmoid(c + a + 1.0) * ct) > t)[0]  # every candidate of a shift up to a + 1
    boxes = box_ops.clip_boxes_to_image(m.box_coder.decode(ho["bbox_regression"][0][sel // k].double(),
                                                           anchors[0][sel // k].double()), il.image_sizes[0])
    found = []
    for i in range(-400, 201):
        d = a + i * 0.005
        sc = torch.sqrt(torch.sigmoid(c[sel] + d) * ct[sel])
        on = sc > t
        n = int(on.sum())
        if lo <= n <= hi:
            kept = sc[on][box_ops.batched_nms(boxes[on], sc[on], sel[on] % k, m.nms_thresh)]
            if float((kept[:-1] - kept[1:]).min()) > 2e-5:
                found.append((float((sc - t).abs().min()), round(d, 3)))
    return [d for _, d in sorted(found, reverse=True)]


def settle(m, x, level=None, lo=30, hi=90):
    """Tries the best shifts until one gives decisions that all have margins. Returns the metadata."""
    state = {k: v.clone() for k, v in m.state_dict().items()}
    adjust(m, 0.0, level)
    for shift in shifts(m, x, lo, hi)[:8]:
        m.load_state_dict(state)
        adjust(m, shift, level)
        s, boxes, labels, per_level = candidates(m, x)
        with torch.no_grad():
            kept = m([x])[0]["scores"]
        n = len(kept)
        thr_margin = float((s - m.score_thresh).abs().min())
        nms = nms_margin(boxes, labels, m.nms_thresh)
        # the order of the detections: adjacent scores apart, or rounding could swap two
        order = float((kept[:-1] - kept[1:]).min()) if n > 1 else float("inf")
        ok = (20 <= n < m.detections_per_img and thr_margin > 1e-4 and nms > 1e-4 and order > 1e-5
              and max(per_level) <= m.topk_candidates)
        print("shift %.3f: %d detections, %d candidates %s, score margin %.2e, NMS margin %.2e, order margin %.2e%s"
              % (shift, n, len(labels), per_level, thr_margin, nms, order, "" if ok else " (rejected)"))
        if ok:
            return {"cls_gain": repr(CLS_GAIN), "cls_shift": repr(shift), "bbox_bias": repr(BBOX_BIAS),
                    "candidates": str(len(labels)), "candidates_per_level": repr(per_level),
                    "score_thresh_margin": "%.3e" % thr_margin, "nms_margin": "%.3e" % nms, "order_margin": "%.3e" % order,
                    "torch_version": torch.__version__, "torchvision_version": torchvision.__version__}
    raise SystemExit("no class-bias shift gives detections with margins")


def dets_json(d):
    return [{"box": [float(v) for v in b], "score": float(s), "label": int(l)}
            for b, s, l in zip(d["boxes"], d["scores"], d["labels"])]


def compare(want, got):
    """Count, labels in order, largest box and score differences of two detection lists."""
    same = len(want) == len(got) and [w["label"] for w in want] == [g["label"] for g in got]
    box = max((abs(a - b) for w, g in zip(want, got) for a, b in zip(w["box"], g["box"])), default=0.0)
    score = max((abs(w["score"] - g["score"]) for w, g in zip(want, got)), default=0.0)
    return {"count": (len(want), len(got)), "labels_equal": same, "max_box_diff_px": box, "max_score_diff": score,
            "classes": sorted({w["label"] for w in want})}


def viewed(state, gen):
    """Each floating tensor as a view of its own storage of at most POOL values (overlapping rows:
    out-channel o starts at o * stride0), values scaled as a trained net's might be."""
    out = {}
    for key, t in state.items():
        if not t.is_floating_point():
            out[key] = t.clone()
            continue
        n = t.numel()
        if key.endswith("running_var"):
            pool = 1.0 + 0.2 * torch.rand(n, generator=gen)
        elif key.endswith("running_mean") or key.endswith("bias"):
            pool = 0.1 * torch.randn(n, generator=gen)
        elif t.dim() == 1:  # batch/group norm weights
            pool = 1.0 + 0.1 * torch.randn(n, generator=gen)
        else:
            inner = n // t.shape[0]
            size = min(n, POOL)
            pool = torch.randn(size, generator=gen) * math.sqrt(2.0 / inner)
        if t.dim() == 1 or n <= POOL:
            out[key] = pool.reshape(t.shape)
            continue
        inner = n // t.shape[0]  # one out-channel's weights, contiguous
        step = max(1, (POOL - inner) // max(1, t.shape[0] - 1))
        strides = [step] + list(torch.empty(t.shape[1:]).stride())
        out[key] = torch.as_strided(pool, t.shape, strides)
    return out


def make_fixture():
    torch.manual_seed(0)
    m = FCOS(build_backbone(18, True, 3, 256), num_classes=91, min_size=384, max_size=512).eval()
    views = viewed(m.state_dict(), torch.Generator().manual_seed(1))
    m.load_state_dict(views)
    u8 = drawn_image(96, 128)
    x = as_input(u8)
    meta = settle(m, x)
    # the adjusted head back into the saved views, so what is saved is what ran: the gain (a power
    # of two, exact) applied to the weight's storage keeps it a view; the biases are small
    sd = m.state_dict()
    views["head.classification_head.cls_logits.weight"]._base.mul_(CLS_GAIN)
    for key in ("head.classification_head.cls_logits.bias", "head.regression_head.bbox_reg.bias"):
        views[key] = sd[key].clone()
    for key, v in views.items():
        assert torch.equal(v, sd[key]), key
    with torch.no_grad():
        d = m([x])[0]
    path = os.path.join(PTH_DIR, "fcos_resnet18_fpn_views.pth")
    torch.save(views, path)
    print("%-60s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))
    meta["image"] = "drawn_image(96, 128) / 255"
    meta["detections"] = str(len(d["scores"]))
    out = {"image": x, "boxes": d["boxes"], "scores": d["scores"], "labels": d["labels"].float()}
    gpath = os.path.join(GOLDENS, "fcos_pth_detections.safetensors")
    tensorfile.save(gpath, {k: v.numpy() for k, v in out.items()}, meta)
    print("%-60s %8.1f KB" % (os.path.relpath(gpath, ROOT), os.path.getsize(gpath) / 1024.0))
    print(meta, "classes", sorted(set(d["labels"].tolist())))


def run(*args):
    print("$", " ".join(args))
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s" % (r.returncode, r.stderr))
    return r.stdout


def make_resnet50():
    os.makedirs(WORK, exist_ok=True)
    torch.manual_seed(0)
    m = torchvision.models.detection.fcos_resnet50_fpn(weights=None, weights_backbone=None).eval()
    u8 = drawn_image(480, 640)
    x = as_input(u8)
    # the seeded ResNet-50's features vary little over the image, so a few classes would take
    # every box (two did): the classes are levelled first, so that many peak somewhere
    meta = settle(m, x, levelled(m, x), 20, 40)
    meta["levelled"] = "True"
    pth = os.path.join(WORK, "fcos_resnet50_fpn.pth")
    torch.save(m.state_dict(), pth)
    png = os.path.join(WORK, "shapes.png")
    torchvision.io.write_png(u8, png)
    assert torch.equal(torchvision.io.read_image(png), u8)
    with torch.no_grad():
        want = dets_json(m([x])[0])
        want64 = dets_json(m.double()([x.double()])[0])
    with open(os.path.join(WORK, "torchvision.json"), "w") as f:
        json.dump({"meta": meta, "float32": want, "float64": want64}, f, indent=1)
    st = os.path.join(WORK, "fcos_resnet50_fpn.safetensors")
    print(run("./resnet4j", "convert", pth, st).strip())
    out = run("./resnet4j", "detect", "--model", "fcos_resnet50_fpn", "--weights", st, "--json",
              "--out", os.path.join(WORK, "drawn"), png)
    got = json.loads(out)[0]["detections"]
    with open(os.path.join(WORK, "resnet4j.json"), "w") as f:
        json.dump(got, f, indent=1)
    print("resnet4j against torchvision float32:", compare(want, got))
    print("resnet4j against torchvision float64:", compare(want64, got))
    print("torchvision float32 against float64: ", compare(want64, want))


def main():
    which = sys.argv[1:] or ["fixture"]
    for w in which:
        {"fixture": make_fixture, "resnet50": make_resnet50}[w]()


if __name__ == "__main__":
    sys.exit(main())
