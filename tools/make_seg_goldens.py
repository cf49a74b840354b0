#!/usr/bin/python3
"""Generate the PyTorch reference ("golden") files for resnet4j's semantic segmentation.

Writes, under resnet4j-core/src/test/resources/goldens/:

  seg_ops.safetensors
      single ops in float64 on small seeded inputs, each with its output and the gradient of
      sum(y * r) for a stored random r: bilinear interpolation to a size and by a scale factor
      with align_corners False and True, nearest by a scale factor, ASPP's pooling branch
      (adaptive_avg_pool2d to 1x1, then bilinear back to the input size), channel concat, and
      cross-entropy over NCHW logits with ignore_index=255.

  seg_{model}_{mode}.safetensors   (fcn_resnet50 and deeplabv3_resnet50 in eval and train mode,
                                    fcn_resnet101 and deeplabv3_resnet101 in eval mode: see MODES)
      torchvision 0.14's model with aux_loss=True and 21 classes, every state_dict entry set by
      the formula of tools/make_goldens.py (so no weights are stored), run in float64 on the
      formula input of shape INPUT_SHAPE; stores "out" and "aux". In train mode the dropout
      layers are put in eval mode (their masks are random, so no two implementations can agree
      on them) while batch norm uses batch statistics, and the file also holds the reference
      training loss of torchvision's references/segmentation/train.py, CE(out) + 0.5 CE(aux)
      with ignore_index=255, on a stored mask with ignored pixels, with the gradients of the
      heads' parameters. The metadata records the parameter counts with and without the
      auxiliary head, and PyTorch's own float32 error (how well conditioned each output is).

  keys_fcn_resnet50.txt, keys_deeplabv3_resnet50.txt
      the state_dict keys with shapes, in torchvision's order (aux_loss=True).

and under resnet4j-core/src/test/resources/pth/:

  deeplabv3_resnet50_expanded.pth, resnet50_expanded.pth
      torch.save of torchvision's deeplabv3_resnet50 (aux_loss=True) and resnet50 state_dicts
      with every tensor a stride-0 view of one value, (k + 1) / 1000 for the k-th key
      (num_batches_tracked: k), so the files carry torchvision's names, shapes and order in a few KB.

INPUT_SHAPE is 2x3x33x33: odd, so every interpolation has a non-integer ratio, and a batch of
two, because ASPP's pooling branch runs batch norm on 1x1 maps, which PyTorch refuses to do in
train mode with one value per channel. It keeps each file under 400 KB.

Usage (Debian: apt-get install -y python3-torch python3-torchvision):
    python3 tools/make_seg_goldens.py
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

import tensorfile
from make_goldens import FORMULA, default_r, hash_uniform, init_weights, op_case, rel_err

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "goldens")
INPUT_SHAPE = (2, 3, 33, 33)
CLASSES = 21
IGNORE = 255
MODELS = ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101"]
# resnet101 in eval mode only: its train mode runs the same code as resnet50's, takes the Java test
# twice as long, and is ill-conditioned at this input (PyTorch's own float32 output is 3e-4 to
# 1.5e-3 from float64: batch statistics over 50 values per channel through 101 layers)
MODES = {"fcn_resnet50": ["eval", "train"], "fcn_resnet101": ["eval"],
         "deeplabv3_resnet50": ["eval", "train"], "deeplabv3_resnet101": ["eval"]}


def save(path, tensors, metadata):
    tensorfile.save(path, {k: v.detach().cpu().double().numpy() for k, v in tensors.items()}, metadata)
    print("%-60s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def build(name, aux=True):
    ctor = getattr(torchvision.models.segmentation, name)
    return ctor(weights=None, weights_backbone=None, num_classes=CLASSES, aux_loss=aux)


def mask(shape):
    """A target mask: classes from one hash, about a fifth of the pixels ignored (255) by another."""
    n = int(np.prod(shape))
    cls = np.floor((hash_uniform(n, 2000) + 1.0) / 2.0 * CLASSES).clip(0, CLASSES - 1)
    ignored = hash_uniform(n, 2001) > 0.6
    return torch.from_numpy(np.where(ignored, IGNORE, cls).astype(np.int64).reshape(shape))


def criterion(outputs, target):
    """torchvision references/segmentation/train.py: the loss of "out" plus 0.5 x that of "aux"."""
    losses = {name: F.cross_entropy(x, target, ignore_index=IGNORE) for name, x in outputs.items()}
    return losses["out"] if len(losses) == 1 else losses["out"] + 0.5 * losses["aux"]


def run_model(name, mode, dtype, target):
    model = build(name)
    init_weights(model)
    model.to(dtype)
    model.train(mode == "train")
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # random masks cannot be matched; BN keeps batch statistics
    n = int(np.prod(INPUT_SHAPE))
    x = torch.from_numpy(math.sqrt(3.0) * hash_uniform(n, 1000)).reshape(INPUT_SHAPE).to(torch.float32).to(dtype)
    outputs = model(x)
    loss = None
    if mode == "train":
        loss = criterion(outputs, target)
        loss.backward()
    return model, outputs, loss


def head_params(model):
    return [(k, p) for k, p in model.named_parameters() if k.startswith("classifier.") or k.startswith("aux_classifier.")]


def make_model(name, mode):
    target = mask((INPUT_SHAPE[0],) + INPUT_SHAPE[2:])
    model, outputs, loss = run_model(name, mode, torch.float64, target)
    m32, outputs32, loss32 = run_model(name, mode, torch.float32, target)
    out = {"out": outputs["out"], "aux": outputs["aux"]}
    meta = {
        "model": name, "mode": mode, "torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
        "classes": str(CLASSES), "input_shape": ",".join(str(d) for d in INPUT_SHAPE), "formula": FORMULA,
        "dropout": "eval in both modes (random masks)",
        "params_aux": str(sum(p.numel() for p in build(name, True).parameters())),
        "params_noaux": str(sum(p.numel() for p in build(name, False).parameters())),
        "torch_f32_err_out": "%.3e" % rel_err(outputs32["out"], outputs["out"]),
        "torch_f32_err_aux": "%.3e" % rel_err(outputs32["aux"], outputs["aux"]),
    }
    if mode == "train":
        out["target"] = target.double()
        out["loss"] = loss.reshape(())
        p32 = dict(m32.named_parameters())
        grad_err = 0.0
        for key, p in head_params(model):
            out["gradnorm/" + key] = p.grad.norm().reshape(())
            if p.dim() == 1 or key in ("classifier.4.weight", "aux_classifier.4.weight"):
                out["grad/" + key] = p.grad
                # per-tensor conditioning: PyTorch float32's own error for this gradient
                out["torch_f32_err/grad/" + key] = torch.tensor(rel_err(p32[key].grad, p.grad))
                grad_err = max(grad_err, rel_err(p32[key].grad, p.grad))
        meta["ignore_index"] = str(IGNORE)
        meta["loss"] = "cross_entropy(out, target, ignore_index=255) + 0.5 * cross_entropy(aux, target, ignore_index=255)"
        meta["torch_f32_err_loss"] = "%.3e" % abs(float(loss32) / float(loss) - 1)
        meta["torch_f32_err_grads"] = "%.3e" % grad_err
    save(os.path.join(OUT_DIR, "seg_%s_%s.safetensors" % (name, mode)), out, meta)
    print("    params %s / %s (aux / no aux), f32 err out %s aux %s%s" % (
        meta["params_aux"], meta["params_noaux"], meta["torch_f32_err_out"], meta["torch_f32_err_aux"],
        "" if mode == "eval" else ", loss %.6f, f32 err grads %s" % (float(loss), meta["torch_f32_err_grads"])))


def make_ops():
    torch.manual_seed(7)
    out = {}

    def case(name, fn, *inputs):
        op_case(out, name, fn, [t.double() for t in inputs], default_r)

    x = torch.randn(2, 3, 5, 7)
    bil = dict(mode="bilinear")
    case("bilinear_size_up_ac", lambda t: F.interpolate(t, size=(9, 13), align_corners=True, **bil), x)
    case("bilinear_size_down_ac", lambda t: F.interpolate(t, size=(3, 4), align_corners=True, **bil), x)
    case("bilinear_size_one_ac", lambda t: F.interpolate(t, size=(1, 6), align_corners=True, **bil), x)
    case("bilinear_size_odd", lambda t: F.interpolate(t, size=(33, 31), align_corners=False, **bil), x)
    # scale factors whose product with the size is not whole: the source index uses 1/scale, not in/out
    case("bilinear_scale_1.5", lambda t: F.interpolate(t, scale_factor=1.5, align_corners=False, **bil), x)
    case("bilinear_scale_0.6x2.3", lambda t: F.interpolate(t, scale_factor=(0.6, 2.3), align_corners=False, **bil), x)
    case("bilinear_scale_1.5_ac", lambda t: F.interpolate(t, scale_factor=1.5, align_corners=True, **bil), x)
    case("nearest_scale_1.7", lambda t: F.interpolate(t, scale_factor=1.7, mode="nearest"), x)
    # ASPP's pooling branch: global average to 1x1, then bilinear back to the map's size
    case("gap_upsample", lambda t: F.interpolate(F.adaptive_avg_pool2d(t, 1), size=t.shape[-2:], **bil), x)
    case("cat_dim1", lambda a, b, c: torch.cat([a, b, c], dim=1), torch.randn(2, 3, 4, 5), torch.randn(2, 1, 4, 5),
         torch.randn(2, 2, 4, 5))
    logits = torch.randn(2, 5, 3, 4)
    target = torch.randint(0, 5, (2, 3, 4))
    target[0, 0, :] = IGNORE
    target[1, 2, 1] = IGNORE
    out["ce_ignore/target"] = target.double()
    case("ce_ignore", lambda t: F.cross_entropy(t, target, ignore_index=IGNORE), logits)
    save(os.path.join(OUT_DIR, "seg_ops.safetensors"), out,
         {"torch_version": torch.__version__, "dtype": "float64, stored as float32", "ignore_index": str(IGNORE)})


def make_keys():
    for name in ["fcn_resnet50", "deeplabv3_resnet50"]:
        path = os.path.join(OUT_DIR, "keys_%s.txt" % name)
        with open(path, "w") as f:
            for k, v in build(name).state_dict().items():
                f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))
        print("%-60s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def expanded(state_dict):
    """Each entry as a view of a one-element storage ((k + 1) / 1000 for the k-th key, expanded to
    its shape with stride 0), so torch.save writes torchvision's names and shapes in a few KB."""
    out = {}
    for k, (key, t) in enumerate(state_dict.items()):
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(k, dtype=torch.int64)
        else:
            out[key] = torch.full((1,), (k + 1) / 1000.0, dtype=torch.float32).reshape([1] * t.dim()).expand(t.shape)
    return out


def make_pth():
    """torch.save files with torchvision's keys: deeplabv3_resnet50 (aux_loss=True) and resnet50."""
    pth_dir = os.path.join(ROOT, "resnet4j-core", "src", "test", "resources", "pth")
    for name, model in [("deeplabv3_resnet50", build("deeplabv3_resnet50")),
                        ("resnet50", torchvision.models.resnet50(weights=None))]:
        path = os.path.join(pth_dir, "%s_expanded.pth" % name)
        torch.save(expanded(model.state_dict()), path)
        print("%-60s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    only = sys.argv[1:]
    if not only or "ops" in only:
        make_ops()
    if not only or "keys" in only:
        make_keys()
    if not only or "pth" in only:
        make_pth()
    for name in MODELS:
        for mode in MODES[name]:
            if not only or name in only:
                make_model(name, mode)


if __name__ == "__main__":
    sys.exit(main())
