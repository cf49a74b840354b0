#!/usr/bin/python3
"""Generate the PyTorch reference values for resnet4j's optimizers, LR schedules and gradient
clipping (org.resnet4j.train), written to

    src/test/resources/goldens/optim.safetensors

Everything the Java test needs is stored in the file (a few KB): the initial parameters, the
gradient of every step, and PyTorch's results, so the test recomputes nothing from a formula.

Optimizers: three parameters "a" [4, 3], "b" [5], "c" [2, 3, 2] in two param groups
({a, b} with the optimizer's defaults; {c} with weight_decay 0 and half the lr, the usual
"no_decay" group, and in some cases its own momentum/dampening or betas). "c" gets no gradient at step 3 (grad None), so PyTorch skips it there, which
also leaves its AdamW step count one behind. Five steps, lr per step given by lr_<case> (constant
except the *_sched cases). Parameters and gradients are rounded to float32 (what resnet4j holds);
PyTorch then runs in float64, so the stored results are the exact answer for those inputs.

Schedules: the lr PyTorch's scheduler gives the optimizer at iterations 0..N-1 (read from
param_groups[0]["lr"] before each scheduler.step()).

Usage (Debian): apt-get install -y python3-torch; /usr/bin/python3 tools/make_optim_goldens.py
"""

import os
import warnings

import numpy as np
import torch

import tensorfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "test", "resources", "goldens", "optim.safetensors")

SHAPES = {"a": (4, 3), "b": (5,), "c": (2, 3, 2)}
STEPS = 5
NO_GRAD = ("c", 2)  # (parameter, 0-based step) with grad None


def hash_uniform(n, k):
    """Values in [-1, 1) from the sine hash of tools/make_goldens.py (no smooth structure)."""
    i = np.arange(n, dtype=np.float64)
    h = np.sin(12.9898 * i + 78.233 * k) * 43758.5453
    return 2.0 * (h - np.floor(h)) - 1.0


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def initial_params():
    return {name: f32(hash_uniform(int(np.prod(s)), 10 + j).reshape(s))
            for j, (name, s) in enumerate(SHAPES.items())}


def grads():
    """grads[step][name]; magnitudes vary by step and by element (0.01 .. 1), so Adam's
    normalisation and SGD's momentum both see something non-trivial."""
    out = []
    for t in range(STEPS):
        g = {}
        for j, (name, s) in enumerate(SHAPES.items()):
            n = int(np.prod(s))
            scale = 0.5 + 0.5 * hash_uniform(n, 100 + 10 * t + j)  # 0 .. 1
            g[name] = f32((0.01 + scale) * hash_uniform(n, 200 + 10 * t + j)).reshape(s)
        out.append(g)
    return out


def run_optimizer(make, lrs, c_options):
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in initial_params().items()}
    opt = make([{"params": [params["a"], params["b"]]},
                {"params": [params["c"]], "weight_decay": 0.0, "lr_scale": 0.5, **c_options}])
    gs = grads()
    history = {}
    for t in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = lrs[t] * group.get("lr_scale", 1.0)
        for k, p in params.items():
            p.grad = None if (k, t) == NO_GRAD else torch.tensor(gs[t][k], dtype=torch.float64)
        opt.step()
        for k, p in params.items():
            history[f"step{t + 1}/{k}"] = p.detach().numpy().copy()
    return history


def sgd(momentum, dampening, nesterov, weight_decay):
    def make(groups):
        return torch.optim.SGD(groups, lr=0.1, momentum=momentum, dampening=dampening,
                               nesterov=nesterov, weight_decay=weight_decay)
    return make


def adamw(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    def make(groups):
        return torch.optim.AdamW(groups, lr=1e-3, betas=betas, eps=eps, weight_decay=weight_decay)
    return make


OPT_CASES = {
    # name: (factory, lr per step, extra options of group {c})
    "sgd_momentum": (sgd(0.9, 0.0, False, 5e-4), [0.1] * STEPS, {}),
    "sgd_nesterov": (sgd(0.9, 0.0, True, 5e-4), [0.1] * STEPS, {}),
    "sgd_dampening": (sgd(0.9, 0.1, False, 5e-4), [0.1] * STEPS, {}),
    "sgd_plain": (sgd(0.0, 0.0, False, 5e-4), [0.1] * STEPS, {}),
    "sgd_sched": (sgd(0.9, 0.0, True, 5e-4), [0.1, 0.08, 0.05, 0.02, 0.01], {}),
    "sgd_group_options": (sgd(0.9, 0.0, False, 5e-4), [0.1] * STEPS, {"momentum": 0.5, "dampening": 0.2}),
    "adamw": (adamw(), [1e-3] * STEPS, {}),
    "adamw_sched": (adamw(), [1e-3, 2e-3, 5e-4, 1e-4, 1e-3], {}),
    # eps 1e-3 against |g| of 0.01 .. 1 makes "eps outside the sqrt" visible, and a larger lr
    # the bias corrections; group {c} overrides the betas.
    "adamw_eps": (adamw(betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1), [1e-2] * STEPS, {"betas": (0.5, 0.9)}),
}


def lr_trace(make_sched, base_lr, n, momentum=0.0):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr, momentum=momentum)
    sched = make_sched(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()  # no grad: nothing moves, but the scheduler sees the usual call order
        sched.step()
    return np.array(out, dtype=np.float64)


S = torch.optim.lr_scheduler
N = 50
SCHEDULES = {
    # name: (factory, base lr); the Java test builds the same schedule by name
    "step": (lambda o: S.StepLR(o, step_size=10, gamma=0.1), 0.1),
    "multistep": (lambda o: S.MultiStepLR(o, milestones=[15, 35], gamma=0.1), 0.1),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=N, eta_min=1e-4), 0.1),
    "onecycle": (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=N), 0.1),
    "warmup_cosine": (lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                  S.CosineAnnealingLR(o, T_max=N - 5)], milestones=[5]), 0.1),
}


def clip_cases(out):
    """clip_grad_norm_ over a and b's step-1 gradients (total norm about 1.71): max_norm 1 clips,
    max_norm 10 does not; clip_grad_value_ at 0.3."""
    g = grads()[0]
    for case, max_norm in (("clip1", 1.0), ("clip10", 10.0)):
        ps = [torch.zeros(SHAPES[k], dtype=torch.float64, requires_grad=True) for k in ("a", "b")]
        for p, k in zip(ps, ("a", "b")):
            p.grad = torch.tensor(g[k], dtype=torch.float64)
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        out[f"{case}/total_norm"] = np.array(total.item())
        out[f"{case}/a"], out[f"{case}/b"] = ps[0].grad.numpy().copy(), ps[1].grad.numpy().copy()
    ps = [torch.zeros(SHAPES[k], dtype=torch.float64, requires_grad=True) for k in ("a", "b")]
    for p, k in zip(ps, ("a", "b")):
        p.grad = torch.tensor(g[k], dtype=torch.float64)
    torch.nn.utils.clip_grad_value_(ps, 0.3)
    out["clipvalue/a"], out["clipvalue/b"] = ps[0].grad.numpy().copy(), ps[1].grad.numpy().copy()


def main():
    # SequentialLR calls CosineAnnealingLR.step(0) at its milestone, which PyTorch 1.13 flags as
    # deprecated usage; it is PyTorch's own internal call, so the warning is noise here.
    warnings.filterwarnings("ignore", message="The epoch parameter")
    out = {}
    for k, v in initial_params().items():
        out[f"init/{k}"] = v
    for t, g in enumerate(grads()):
        for k, v in g.items():
            if (k, t) != NO_GRAD:
                out[f"grad{t + 1}/{k}"] = v
    for name, (make, lrs, c_options) in OPT_CASES.items():
        out[f"{name}/lr"] = np.array(lrs)
        for k, v in run_optimizer(make, lrs, c_options).items():
            out[f"{name}/{k}"] = v
    for name, (make, base) in SCHEDULES.items():
        out[f"lr/{name}"] = lr_trace(make, base, N, momentum=0.9)
    clip_cases(out)
    meta = {"generator": "tools/make_optim_goldens.py", "torch": torch.__version__,
            "note": "float64 reference stored as float32; see the script's docstring"}
    tensorfile.save(OUT, out, meta)
    print(f"{OUT}: {len(out)} tensors, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
