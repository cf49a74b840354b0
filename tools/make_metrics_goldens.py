#!/usr/bin/python3
"""Generate the evaluation-metric goldens: COCO box AP from pycocotools, segmentation scores from numpy.

Writes, under resnet4j-core/src/test/resources/goldens/:

  coco_eval.json       a few fixed synthetic detection sets (inputs in COCO's own JSON shapes) and,
                       for each, what pycocotools' COCOeval(iouType="bbox") computes: the 12
                       summary stats, AP per category (IoU .50:.95, area all, maxDets 100, -1 where
                       the category has no ground truth), the printed summary, and the IoU and
                       recall thresholds pycocotools uses (np.linspace, kept as exact doubles).
  segmentation.json    seeded (target, prediction) masks with ignore regions, and the confusion
                       matrix, pixel accuracy, per-class accuracy, per-class IoU, mean IoU and the
                       printed summary as torchvision's references/segmentation/utils.py
                       ConfusionMatrix defines them, computed here with numpy in float64
                       (torchvision computes in float32). NaN (0/0) is written as null.

Every number is a Python float written by json (shortest repr), so the Java side reads the exact
double. Usage: pip install pycocotools numpy; python3 tools/make_metrics_goldens.py
"""

import contextlib
import importlib.metadata
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "goldens")


# --------------------------------------------------------------------------------------------
# COCO
# --------------------------------------------------------------------------------------------
def box_of(rng, size):
    """An xywh box of roughly the given side on a 0.25 grid inside a 640x480 image."""
    w = max(0.5, round(size * rng.uniform(0.6, 1.4) * 4) / 4)
    h = max(0.5, round(size * rng.uniform(0.6, 1.4) * 4) / 4)
    x = round(rng.uniform(0, 640 - w) * 4) / 4
    y = round(rng.uniform(0, 480 - h) * 4) / 4
    return [x, y, w, h]


def jitter(rng, b, scale):
    """A noisy copy of box b: each side moved by up to `scale` of the box's size."""
    x, y, w, h = b
    dx, dy = rng.uniform(-scale, scale, 2) * np.array([w, h])
    dw, dh = rng.uniform(-scale, scale, 2) * np.array([w, h])
    return [round(float(x + dx), 2), round(float(y + dy), 2),
            round(float(max(0.25, w + dw)), 2), round(float(max(0.25, h + dh)), 2)]


def random_case(name, seed, n_images, dense_image):
    """Seeded ground truth and noisy detections over n_images images and categories 1, 2, 5, 9.

    Category 5 has ground truth and is never predicted; category 9 is predicted and never in the
    ground truth. Image ids are not contiguous; the last image has no ground truth but has
    detections. Sizes cover small (side ~12), medium (~60) and large (~150) objects; scores lie on
    a 0.05 grid so many tie; some detections are duplicates; one image gets more than 100
    detections; one ground truth is a crowd region; some areas differ from w*h (a polygon's area).
    """
    rng = np.random.RandomState(seed)
    images = [3 + 4 * i for i in range(n_images)]
    cats = [1, 2, 5, 9]
    anns, dets = [], []
    for img in images[:-1]:
        for _ in range(rng.randint(1, 7)):
            cat = int(rng.choice([1, 2, 5]))
            size = float(rng.choice([12.0, 30.0, 60.0, 150.0]))
            b = box_of(rng, size)
            area = b[2] * b[3] if rng.rand() < 0.6 else round(b[2] * b[3] * rng.uniform(0.5, 0.95), 3)
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": b,
                         "area": area, "iscrowd": 0})
    # a crowd region on the first image, with detections inside it
    crowd = [100.0, 100.0, 200.0, 150.0]
    anns.append({"id": len(anns) + 1, "image_id": images[0], "category_id": 1, "bbox": crowd,
                 "area": 25000.0, "iscrowd": 1})
    for a in anns:
        if a["category_id"] == 5:
            continue
        for _ in range(rng.randint(0, 3)):  # 0 to 2 detections per object, some duplicates
            d = jitter(rng, a["bbox"], rng.choice([0.02, 0.1, 0.3]))
            s = round(float(rng.randint(1, 20)) * 0.05, 2)
            dets.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": d, "score": s})
            if rng.rand() < 0.2:
                dets.append(dict(dets[-1]))
    for img in images:  # false positives everywhere, including category 9
        for _ in range(rng.randint(0, 5)):
            dets.append({"image_id": img, "category_id": int(rng.choice([1, 2, 9])),
                         "bbox": box_of(rng, float(rng.choice([10.0, 40.0, 120.0]))),
                         "score": round(float(rng.randint(1, 20)) * 0.05, 2)})
    for _ in range(dense_image):  # more than maxDets=100 on one image
        a = anns[rng.randint(0, len(anns))]
        if a["category_id"] == 5:
            continue
        dets.append({"image_id": images[1], "category_id": a["category_id"],
                     "bbox": jitter(rng, box_of(rng, 40.0) if rng.rand() < 0.5 else a["bbox"], 0.2),
                     "score": round(float(rng.rand()), 3)})
    return {"name": name, "images": images, "categories": cats, "annotations": anns, "detections": dets}


def edge_case():
    """Hand-placed boxes on the thresholds: IoU exactly 0.5 and 0.75, areas exactly 32^2 and 96^2
    (both bounds of a range are inclusive in pycocotools), a detection matching only a crowd
    region, and a detection whose ground truth lies outside the area range."""
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0.0, 0.0, 10.0, 20.0], "area": 200.0, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [100.0, 0.0, 32.0, 32.0], "area": 1024.0, "iscrowd": 0},
        {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0.0, 100.0, 96.0, 96.0], "area": 9216.0, "iscrowd": 0},
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [0.0, 0.0, 40.0, 40.0], "area": 1600.0, "iscrowd": 0},
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": [200.0, 200.0, 100.0, 100.0], "area": 10000.0, "iscrowd": 1},
        {"id": 6, "image_id": 2, "category_id": 2, "bbox": [0.0, 300.0, 10.0, 10.0], "area": 100.0, "iscrowd": 0},
    ]
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [0.0, 0.0, 10.0, 10.0], "score": 0.9},     # IoU 0.5 with gt 1
        {"image_id": 1, "category_id": 1, "bbox": [100.0, 0.0, 32.0, 24.0], "score": 0.8},   # IoU 0.75 with gt 2
        {"image_id": 1, "category_id": 2, "bbox": [0.0, 100.0, 96.0, 96.0], "score": 0.7},   # perfect, area 96^2
        {"image_id": 2, "category_id": 1, "bbox": [210.0, 210.0, 20.0, 20.0], "score": 0.95},  # inside the crowd
        {"image_id": 2, "category_id": 1, "bbox": [220.0, 220.0, 30.0, 30.0], "score": 0.95},  # inside the crowd
        {"image_id": 2, "category_id": 1, "bbox": [2.0, 2.0, 40.0, 40.0], "score": 0.6},
        {"image_id": 2, "category_id": 1, "bbox": [0.0, 0.0, 40.0, 40.0], "score": 0.6},     # tie, perfect
        {"image_id": 2, "category_id": 2, "bbox": [1.0, 301.0, 10.0, 10.0], "score": 0.5},
        {"image_id": 2, "category_id": 2, "bbox": [400.0, 400.0, 50.0, 50.0], "score": 0.55},  # large FP
    ]
    return {"name": "edges", "images": [1, 2], "categories": [1, 2], "annotations": anns, "detections": dets}


def coco_eval(case):
    gt = COCO()
    gt.dataset = {"images": [{"id": i} for i in case["images"]],
                  "categories": [{"id": c, "name": str(c)} for c in case["categories"]],
                  "annotations": [dict(a) for a in case["annotations"]]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([dict(d) for d in case["detections"]])
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ev.summarize()
    prec = ev.eval["precision"]  # [T, R, K, A, M]
    per_cat = []
    for k in range(len(ev.params.catIds)):
        p = prec[:, :, k, 0, 2]
        per_cat.append(float(np.mean(p[p > -1])) if (p > -1).any() else -1.0)
    case = dict(case)
    case["stats"] = [float(s) for s in ev.stats]
    case["ap_per_category"] = per_cat
    case["summary"] = out.getvalue()
    return case, ev.params


def coco_goldens():
    cases = [random_case("random_a", 1234, 10, 170), random_case("random_b", 99, 12, 40), edge_case()]
    results = []
    params = None
    for c in cases:
        r, params = coco_eval(c)
        results.append(r)
        print(r["name"], len(r["annotations"]), "gts", len(r["detections"]), "dts", "AP", r["stats"][0])
    return {"generator": "tools/make_metrics_goldens.py", "pycocotools": importlib.metadata.version("pycocotools"), "numpy": np.__version__,
            "iouThrs": [float(t) for t in params.iouThrs], "recThrs": [float(t) for t in params.recThrs],
            "cases": results}


# --------------------------------------------------------------------------------------------
# segmentation
# --------------------------------------------------------------------------------------------
def nan_to_none(xs):
    return [None if np.isnan(x) else float(x) for x in xs]


def seg_case(name, seed, n, shape, absent):
    """Masks over n classes: prediction = target with ~30% of pixels replaced by a random class,
    target with an ignore (255) rectangle per image; class `absent` appears in neither."""
    rng = np.random.RandomState(seed)
    classes = [c for c in range(n) if c != absent]
    target = rng.choice(classes, size=shape)
    pred = np.where(rng.rand(*shape) < 0.3, rng.choice(classes, size=shape), target)
    for b in range(shape[0]):
        y, x = rng.randint(0, shape[1] - 4), rng.randint(0, shape[2] - 4)
        target[b, y:y + 4, x:x + 5] = 255
    keep = target != 255
    # torchvision: mat[target, pred] counted over pixels whose target lies in [0, n)
    mat = np.bincount(n * target[keep] + pred[keep], minlength=n * n).reshape(n, n)
    h = mat.astype(np.float64)
    diag = np.diag(h)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_global = diag.sum() / h.sum()
        acc = diag / h.sum(1)
        iu = diag / (h.sum(1) + h.sum(0) - diag)
    miou = iu.mean()  # torch's mean: NaN when any class is 0/0
    summary = ("global correct: {:.1f}\naverage row correct: {}\nIoU: {}\nmean IoU: {:.1f}").format(
        acc_global * 100, [f"{i:.1f}" for i in (acc * 100).tolist()],
        [f"{i:.1f}" for i in (iu * 100).tolist()], miou * 100)
    return {"name": name, "num_classes": n, "shape": list(shape),
            "target": target.reshape(-1).tolist(), "prediction": pred.reshape(-1).tolist(),
            "matrix": mat.tolist(), "pixel_accuracy": float(acc_global),
            "class_accuracy": nan_to_none(acc), "iou": nan_to_none(iu),
            "mean_iou": None if np.isnan(miou) else float(miou),
            "mean_iou_defined": float(np.nanmean(iu)), "summary": summary}


def segmentation_goldens():
    return {"generator": "tools/make_metrics_goldens.py", "numpy": np.__version__,
            "cases": [seg_case("all_present", 7, 5, (2, 13, 17), -1),
                      seg_case("class_absent", 8, 6, (3, 11, 9), 4)]}


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    write("coco_eval.json", coco_goldens())
    write("segmentation.json", segmentation_goldens())
