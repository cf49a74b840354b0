#!/usr/bin/python3
"""Generate PyTorch "golden" reference files for the resnet4j tests.

For each model (torchvision resnet18, resnet50, resnext50_32x4d and the CIFAR
ResNet-20 of He et al. 2015 defined below) and each mode ("eval", "train"),
this script builds the model, fills every state_dict entry with a closed-form
deterministic formula (so no weights have to be stored: the Java side
recomputes them), runs one forward + backward pass of a cross-entropy loss on an
input given by the same kind of formula, in float64, and writes the results
(as float32) to

    src/test/resources/goldens/{model}_{mode}.safetensors

The files are committed; CI only reads them and never needs Python.

Usage (Debian):
    apt-get install -y python3-torch python3-torchvision
    python3 tools/make_goldens.py
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

import tensorfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "src", "test", "resources", "goldens")

# Human-readable description of the weight formula; stored in every file's
# metadata so that a reader of the golden knows exactly how the weights were
# produced without having to look at this script.
FORMULA = (
    "keys = sorted(state_dict keys) (plain string sort); k = index of key in keys; "
    "i = flat row-major element index; h = sin(12.9898*i + 78.233*k)*43758.5453, "
    "s = 2*(h - floor(h)) - 1 (a hash, uniform in [-1, 1)), computed in float64, "
    "result cast to float32. input: sqrt(3)*s with k = 1000. "
    "*num_batches_tracked: 0; "
    "*running_mean: 0.1*s; "
    "*running_var: 0.75 + 0.25*s; "
    "*.weight 1-D (batch norm gamma): 1 + 0.2*s; "
    "*.bias with prefix+'.running_mean' present (batch norm beta): 0.1*s; "
    "other *.bias (fc bias): 0.1*s; "
    "other *.weight ndim>=2 (conv/linear): s*sqrt(6/fan_in), fan_in = numel/shape[0]"
)


# --------------------------------------------------------------------------
# CIFAR ResNet-20 (He et al. 2015, section 4.2), "option A" shortcuts.
# Module names must match the Java model exactly, because the state_dict keys
# (and therefore their sorted order k in the weight formula) depend on them.
# --------------------------------------------------------------------------
class LambdaLayer(nn.Module):
    """Parameter-free wrapper so the option-A shortcut adds no state_dict keys."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            # Option A: subsample spatially by 2 and zero-pad the channel
            # dimension with planes//4 channels on BOTH sides (before and after).
            pad = planes // 4
            self.shortcut = LambdaLayer(
                lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet20(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.in_planes = 16
        self.layer1 = self._make_layer(16, 3, 1)
        self.layer2 = self._make_layer(32, 3, 2)
        self.layer3 = self._make_layer(64, 3, 2)
        self.fc = nn.Linear(64, num_classes)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for b in range(blocks):
            layers.append(BasicBlock(self.in_planes, planes, stride if b == 0 else 1))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


def build(name):
    """Return (model, classes, input_shape)."""
    if name == "cifar_resnet20":
        m = CifarResNet20(10)
        # Option A shortcuts are parameter-free, so ResNet-20 has 269,722
        # parameters (the 272,474 sometimes quoted is the option-B variant,
        # which adds 1x1 projection convs + BN: 512 + 2048 + 64 + 128 = 2,752).
        nparams = sum(p.numel() for p in m.parameters())
        assert nparams == 269722, nparams
        return m, 10, (2, 3, 32, 32)
    # 96x96 keeps layer4 at 3x3, so train-mode batch statistics are over 18 values
    # per channel: float32 then agrees with float64 to ~3e-5.
    ctor = getattr(torchvision.models, name)
    try:
        m = ctor(weights=None)  # torchvision >= 0.13
    except TypeError:
        m = ctor(pretrained=False)  # older torchvision
    return m, 1000, (2, 3, 96, 96)


# --------------------------------------------------------------------------
# Deterministic weights: see FORMULA. Computed in float64 with numpy so the
# Java side (Math.sin on doubles, then a cast to float) reproduces the values.
# --------------------------------------------------------------------------
def hash_uniform(n, k):
    """Pseudo-random values in [-1, 1) from a sine hash both languages compute the same way.

    A smooth formula such as sin(0.37*i) makes filters near copies of one another; in
    training mode batch norm then divides by near-zero variances and float32 itself
    stops agreeing with float64. The hash has no such structure."""
    i = np.arange(n, dtype=np.float64)
    h = np.sin(12.9898 * i + 78.233 * k) * 43758.5453
    return 2.0 * (h - np.floor(h)) - 1.0


def formula_values(key, k, tensor, sd_keys):
    n = tensor.numel()
    s = hash_uniform(n, k)
    if key.endswith("num_batches_tracked"):
        v = np.zeros(n)
    elif key.endswith("running_mean"):
        v = 0.1 * s
    elif key.endswith("running_var"):
        v = 0.75 + 0.25 * s
    elif key.endswith(".weight") and tensor.dim() == 1:
        v = 1.0 + 0.2 * s
    elif key.endswith(".bias") and (key[: -len(".bias")] + ".running_mean") in sd_keys:
        v = 0.1 * s
    elif key.endswith(".bias"):
        v = 0.1 * s
    elif key.endswith(".weight") and tensor.dim() >= 2:
        fan_in = n // tensor.shape[0]
        v = s * math.sqrt(6.0 / fan_in)  # uniform: variance 2/fan_in, as Kaiming
    else:
        raise ValueError("no formula for state_dict key " + key)
    return v.astype(np.float32).reshape(tuple(tensor.shape))


def init_weights(model):
    sd = model.state_dict()
    keys = sorted(sd.keys())
    key_set = set(keys)
    with torch.no_grad():
        for k, key in enumerate(keys):
            t = sd[key]
            vals = torch.from_numpy(formula_values(key, k, t, key_set))
            t.copy_(vals.to(t.dtype))  # state_dict tensors share storage with the model


def write_safetensors(path, tensors, metadata):
    """Float32 safetensors via tools/tensorfile.py (torch tensors converted to numpy)."""
    tensorfile.save(path, {k: v.detach().cpu().double().numpy() for k, v in tensors.items()}, metadata)


def run_case(name, mode, dtype):
    """One forward + backward in the given precision; returns (model, logits, loss, input grad)."""
    model, classes, shape = build(name)
    init_weights(model)
    model.to(dtype)
    model.train(mode == "train")
    batch = shape[0]
    n = int(np.prod(shape))
    x = torch.from_numpy((math.sqrt(3.0) * hash_uniform(n, 1000)).astype(np.float32).reshape(shape)).to(dtype)
    targets = torch.tensor([(7 * n + 3) % classes for n in range(batch)], dtype=torch.long)
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    loss = nn.CrossEntropyLoss()(logits, targets)
    loss.backward()
    return model, classes, batch, logits, loss, xg.grad


def rel_err(a, b):
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-12))


def make_case(name, mode):
    # The reference runs in float64, so the goldens carry PyTorch's math without
    # PyTorch's own float32 rounding; resnet4j (float32) is compared against it.
    model, classes, batch, logits, loss, input_grad = run_case(name, mode, torch.float64)
    # PyTorch's own float32 run measures how well conditioned each quantity is: in
    # training mode, batch norm's backward over few values per channel cancels heavily
    # and float32 PyTorch itself can be ~1e-2 away from float64. The tests allow
    # max(spec tolerance, 2 x this figure) and report it.
    m32, _, _, logits32, _, input_grad32 = run_case(name, mode, torch.float32)
    p32 = dict(m32.named_parameters())
    grad_err = max(rel_err(p32[k].grad, p.grad) for k, p in model.named_parameters() if p.dim() == 1 or k == "conv1.weight")
    norm_err = max(abs(float(p32[k].grad.double().norm() / p.grad.double().norm()) - 1)
                   for k, p in model.named_parameters() if float(p.grad.double().norm()) > 0)
    f32 = {"torch_f32_err_output": rel_err(logits32, logits),
           "torch_f32_err_input_grad": rel_err(input_grad32, input_grad),
           "torch_f32_err_grads": grad_err,
           "torch_f32_err_gradnorm": norm_err}

    out = {}
    out["output"] = logits
    out["loss"] = loss.reshape(())
    out["input_grad"] = input_grad
    # Full gradients only for the small tensors plus the stem convolution, to
    # keep the files small; every parameter gets a float64 L2 norm instead.
    for key, p in model.named_parameters():
        if p.dim() == 1 or key == "conv1.weight":
            out["grad/" + key] = p.grad
            # per-tensor conditioning: PyTorch float32's own error for this gradient
            out["torch_f32_err/grad/" + key] = torch.tensor(rel_err(p32[key].grad, p.grad))
    for key, p in model.named_parameters():
        out["gradnorm/" + key] = p.grad.double().norm().reshape(())

    if mode == "train":
        # Running statistics after exactly one training-mode forward pass
        # (momentum 0.1, unbiased batch variance), starting from the formula values.
        for prefix, mod in model.named_modules():
            if isinstance(mod, nn.BatchNorm2d):
                assert int(mod.num_batches_tracked) == 1, prefix
                out["running_mean/" + prefix] = mod.running_mean
                out["running_var/" + prefix] = mod.running_var

    metadata = {
        "model": name,
        "mode": mode,
        "torch_version": torch.__version__,
        "classes": str(classes),
        "batch": str(batch),
        "formula": FORMULA,
    }
    metadata.update({k: "%.3e" % v for k, v in f32.items()})
    path = os.path.join(OUT_DIR, "%s_%s.safetensors" % (name, mode))
    write_safetensors(path, out, metadata)
    print("%-40s %8.1f KB  loss=%.6f  torch f32 vs f64: %s" % (os.path.relpath(path, ROOT),
          os.path.getsize(path) / 1024.0, loss.item(), ", ".join("%s %.1e" % (k[14:], v) for k, v in f32.items())))


def default_r(y):
    """The weights r of sum(y * r): standard normal from torch's global generator, 1 for a scalar y."""
    return torch.randn(y.shape, dtype=torch.float64) if y.dim() > 0 else torch.ones((), dtype=torch.float64)


def op_case(out, name, fn, inputs, make_r):
    """One op golden into `out`: y = fn(*inputs) and the gradient of sum(y * r) for r = make_r(y),
    stored as name/in{i}, name/grad{i}, name/out and name/r, the layout the Java op tests read.
    The inputs become leaves that require grad (callers pass tensors of the dtype they want)."""
    xs = [t.requires_grad_(True) for t in inputs]
    y = fn(*xs)
    r = make_r(y)
    (y * r).sum().backward()
    for i, x in enumerate(xs):
        out["%s/in%d" % (name, i)] = x.detach()
        out["%s/grad%d" % (name, i)] = x.grad
    out[name + "/out"] = y.detach()
    out[name + "/r"] = r


def make_ops():
    """Single ops on small inputs, float64: forward output and the gradient of sum(y * r)
    for a fixed r (both stored), so each op's PyTorch semantics (output sizes, tie rules,
    align_corners, count_include_pad, label smoothing) is pinned down independently."""
    torch.manual_seed(1)
    out = {}

    def case(name, fn, *inputs):
        op_case(out, name, fn, [t.double() for t in inputs], default_r)

    x = torch.randn(2, 3, 5, 7)
    case("nearest_up", lambda t: F.interpolate(t, size=(8, 11), mode="nearest"), x)
    case("nearest_down", lambda t: F.interpolate(t, size=(3, 4), mode="nearest"), x)
    case("bilinear_up", lambda t: F.interpolate(t, size=(8, 11), mode="bilinear", align_corners=False), x)
    case("bilinear_down", lambda t: F.interpolate(t, size=(3, 4), mode="bilinear", align_corners=False), x)
    x = torch.randn(2, 3, 9, 8)
    case("maxpool_3_2_1", lambda t: F.max_pool2d(t, 3, 2, 1), x)
    case("maxpool_3_2_0_ceil", lambda t: F.max_pool2d(t, 3, 2, 0, ceil_mode=True), x)
    case("maxpool_2_2_0_dil2", lambda t: F.max_pool2d(t, 2, 2, 0, dilation=2), x)
    case("avgpool_3_2_1", lambda t: F.avg_pool2d(t, 3, 2, 1), x)
    case("adaptive_3x2", lambda t: F.adaptive_avg_pool2d(t, (3, 2)), x)
    case("adaptive_4x5", lambda t: F.adaptive_avg_pool2d(t, (4, 5)), x)
    x, w, b = torch.randn(2, 4, 9, 8), torch.randn(6, 2, 3, 3), torch.randn(6)
    case("conv_s2_p2_d2_g2", lambda t, u, v: F.conv2d(t, u, v, stride=2, padding=2, dilation=2, groups=2), x, w, b)
    x, g, bb = torch.randn(3, 4, 5, 5), torch.randn(4), torch.randn(4)
    case("batchnorm_train", lambda t, u, v: F.batch_norm(t, torch.zeros(4, dtype=torch.float64),
                                                          torch.ones(4, dtype=torch.float64), u, v, True, 0.1, 1e-5), x, g, bb)
    logits = torch.randn(5, 7)
    targets = torch.tensor([0, 3, 6, 2, 3])
    out["targets"] = targets.double()
    case("cross_entropy", lambda t: F.cross_entropy(t, targets), logits)
    case("cross_entropy_ls", lambda t: F.cross_entropy(t, targets, label_smoothing=0.1), logits)
    case("mse", lambda t, u: F.mse_loss(t, u), torch.randn(3, 4), torch.randn(3, 4))
    path = os.path.join(OUT_DIR, "ops.safetensors")
    write_safetensors(path, out, {"torch_version": torch.__version__, "dtype": "float64, stored as float32"})
    print("%-40s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def make_keys():
    """torchvision's state_dict keys, in order, with shapes: one 'key shape' line each."""
    for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
                 "resnext101_32x8d", "wide_resnet50_2"]:
        model, _, _ = build(name)
        path = os.path.join(OUT_DIR, "keys_%s.txt" % name)
        with open(path, "w") as f:
            for k, v in model.state_dict().items():
                f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))


def make_dilated():
    """resnet50 with replace_stride_with_dilation=[False, True, True] (output stride 8), eval, float64."""
    model = torchvision.models.resnet50(replace_stride_with_dilation=[False, True, True])
    init_weights(model)
    model.double().eval()
    shape = (1, 3, 64, 64)
    x = torch.from_numpy(math.sqrt(3.0) * hash_uniform(int(np.prod(shape)), 1000)).reshape(shape)
    feats = {}
    model.layer4.register_forward_hook(lambda m, i, o: feats.update(layer4=o))
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT_DIR, "resnet50_dilated_eval.safetensors")
    # layer4 is [1, 2048, 8, 8] at output stride 8: keep its per-channel means, not the whole map
    write_safetensors(path, {"output": y, "layer4_mean": feats["layer4"].mean((2, 3))}, {"model": "resnet50",
                      "replace_stride_with_dilation": "False,True,True", "formula": FORMULA})
    print("%-40s %8.1f KB" % (os.path.relpath(path, ROOT), os.path.getsize(path) / 1024.0))


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    make_keys()
    make_dilated()
    make_ops()
    for name in ["resnet18", "resnet50", "resnext50_32x4d", "cifar_resnet20"]:
        for mode in ["eval", "train"]:
            make_case(name, mode)


if __name__ == "__main__":
    sys.exit(main())
