#!/usr/bin/python3
"""Write the PyTorch .pth fixtures of PthReaderTest into src/test/resources/pth/.

Every valid file is written by torch.save itself (PyTorch 1.13), so the Java reader is
tested against the real byte layout of both serialization formats
(torch/serialization.py: `_save` for the zip format, `_legacy_save` for the pre-1.6 one):

  resnet8.pth.gz          torch.save(resnet8.state_dict(), ...), zip format, gzipped
  resnet8_legacy.pth.gz   the same state_dict, _use_new_zipfile_serialization=False, gzipped
  resnet8_io.safetensors  an input batch and PyTorch's eval-mode output for it (tools/tensorfile.py)
  dtypes.pth              F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL tensors, strided views and two
                          tensors sharing one storage (zip format)
  dtypes_legacy.pth       the same dict in the legacy format
  dtypes_bigendian.pth    dtypes.pth rewritten as a big-endian machine writes it (byteorder "big")

and hostile files, built from pickle bytes this script writes but never loads:

  evil_os_system.pth      data.pkl calls os.system through GLOBAL + REDUCE
  evil_posix_system.pth   torch.save of a dict whose value reduces to os.system (pickled as posix.system)
  evil_builtins_eval.pth  protocol-4 data.pkl calling builtins.eval through STACK_GLOBAL + REDUCE
  huge_storage.pth        a storage declared with 2**40 elements backed by a 16-byte entry
  short_storage.pth       a storage declared with 10 float32 elements backed by 8 bytes
  truncated.pth           the first half of dtypes.pth
  truncated_pickle.pth    a well-formed zip whose data.pkl stops in the middle

The payloads only `touch` MARKER; the tests assert it never appears.

ResNet-8 weights are random but drawn from a coarse grid (small integers times a power of
two), so the float32 storages gzip to about a fifth (312 KB to 63 KB) and the fixtures stay small; the
reference output is computed in float64 from the same (exactly representable) weights.

Usage (Debian): apt-get install -y python3-torch; /usr/bin/python3 tools/make_pth_fixtures.py
"""

import gzip
import io
import os
import pickle
import struct
import tempfile
import zipfile
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

import tensorfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "test", "resources", "pth")
MARKER = "/tmp/resnet4j_pth_evil_marker"


# ---------------------------------------------------------------------------------------------
# CIFAR ResNet-8 (He et al. 2015, section 4.2 with n = 1), option-A shortcuts, module names as
# in resnet4j's CifarResNet so that the state_dict keys match (see tools/make_goldens.py).
# ---------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or in_planes != planes) else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # Option A: subsample by 2, zero-pad planes/4 channels on both sides (parameter-free)
        sc = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + sc)


class ResNet8(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def grid(g, shape, lo, hi, step):
    """Uniform random multiples of `step` in [lo, hi]: exact in float32 and compressible."""
    n = int(round((hi - lo) / step))
    return lo + step * torch.randint(0, n + 1, shape, generator=g).double()


def randomize(model, g):
    sd = model.state_dict()
    with torch.no_grad():
        for k, t in sd.items():
            if k.endswith("num_batches_tracked"):
                t.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif k.endswith("running_mean"):
                t.copy_(grid(g, t.shape, -0.25, 0.25, 1 / 64))
            elif k.endswith("running_var"):
                t.copy_(grid(g, t.shape, 0.5, 1.5, 1 / 32))
            elif t.dim() == 1 and k.endswith(".weight"):  # batch norm gamma
                t.copy_(grid(g, t.shape, 0.75, 1.25, 1 / 32))
            elif k.endswith(".bias"):
                t.copy_(grid(g, t.shape, -0.125, 0.125, 1 / 64))
            else:  # conv / linear weight: about Kaiming's scale, sqrt(2 / fan_in)
                fan_in = t[0].numel()
                scale = 2.0 ** round(torch.log2(torch.tensor((6.0 / fan_in) ** 0.5)).item())
                t.copy_(grid(g, t.shape, -1, 1, 1 / 8) * scale)


def write_gz(path, data):
    with open(path, "wb") as f:  # mtime 0 and no file name: byte-identical reruns
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as z:
            z.write(data)


def torch_bytes(obj, legacy, name):
    """torch.save into a real file called `name` (the zip format names its archive after it)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
        with open(path, "rb") as f:
            return f.read()


def make_resnet8():
    g = torch.Generator().manual_seed(20240611)
    model = ResNet8(10)
    randomize(model, g)
    model.eval()
    sd = model.state_dict()
    write_gz(os.path.join(OUT, "resnet8.pth.gz"), torch_bytes(sd, False, "resnet8.pth"))
    write_gz(os.path.join(OUT, "resnet8_legacy.pth.gz"), torch_bytes(sd, True, "resnet8_legacy.pth"))

    x = torch.randn(2, 3, 32, 32, generator=g)
    with torch.no_grad():
        out32 = model(x)
        out64 = model.double()(x.double())  # the weights are exact in float32, so this is exact
    err = ((out32.double() - out64).abs().max() / out64.abs().max()).item()
    tensorfile.save(os.path.join(OUT, "resnet8_io.safetensors"),
                    {"input": x.numpy(), "output": out64.float().numpy()},
                    {"model": "resnet8", "mode": "eval", "torch": torch.__version__,
                     "reference": "float64 forward of the stored weights",
                     "torch_f32_err_output": repr(err)})
    print("resnet8: %d tensors, torch float32 vs float64 output: %.2e" % (len(sd), err))


def dtype_dict():
    d = OrderedDict()
    d["f32"] = torch.tensor([[1.5, -2.0, 3.25], [0.0, -0.0, 1e-3]], dtype=torch.float32)
    # 2**-24 is the smallest float16 subnormal; 65504 the largest finite float16
    d["f16"] = torch.tensor([1.5, -2.25, 65504.0, 2.0 ** -24, float("inf")], dtype=torch.float16)
    d["bf16"] = torch.tensor([1.0, -3.140625, 2.0 ** 100], dtype=torch.bfloat16)
    d["f64"] = torch.tensor([[1.0 / 3.0, -2.5], [1e-3, 1e10]], dtype=torch.float64)
    d["i64"] = torch.tensor([-5, 2 ** 40, 7], dtype=torch.int64)
    d["num_batches_tracked"] = torch.tensor(123, dtype=torch.int64)  # 0-d, as in BatchNorm
    d["i32"] = torch.tensor([-2 ** 31, 5], dtype=torch.int32)
    d["i16"] = torch.tensor([-2 ** 15, 123], dtype=torch.int16)
    d["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    d["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    # Views: torch.save writes the whole underlying storage plus offset/size/stride.
    d["transposed"] = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # (4,3) stride (1,4)
    d["slice"] = torch.arange(24, dtype=torch.float32).reshape(4, 6)[:, 1::2]  # offset 1, stride (6,2)
    d["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)  # stride (0,1)
    base = torch.arange(10, dtype=torch.float64) * 0.5
    d["shared_a"] = base[2:5]  # offset 2 into the same F64 storage ...
    d["shared_b"] = base[5:9].view(2, 2)  # ... offset 5
    d["empty"] = torch.zeros(0, 3)
    assert d["shared_a"].storage().data_ptr() == d["shared_b"].storage().data_ptr()
    assert not d["slice"].is_contiguous() and d["slice"].storage_offset() == 1
    return d


def storage_dtypes(pkl):
    """storage key -> dtype from a data.pkl, read with a pickle.Unpickler that builds nothing."""
    keys = {}

    class Inspect(pickle.Unpickler):
        def find_class(self, module, name):
            if "Storage" in name:
                return name
            return OrderedDict if name == "OrderedDict" else (lambda *a: None)

        def persistent_load(self, pid):
            keys[pid[2]] = pid[1]
            return None

    # find_class above returns inert lambdas for every global, so nothing is executed
    Inspect(io.BytesIO(pkl)).load()
    return keys


def make_dtypes():
    d = dtype_dict()
    pth = torch_bytes(d, False, "dtypes.pth")
    with open(os.path.join(OUT, "dtypes.pth"), "wb") as f:
        f.write(pth)
    with open(os.path.join(OUT, "dtypes_legacy.pth"), "wb") as f:
        f.write(torch_bytes(d, True, "dtypes_legacy.pth"))
    with open(os.path.join(OUT, "truncated.pth"), "wb") as f:
        f.write(pth[: len(pth) // 2])

    # A big-endian writer (torch >= 2.1 records sys.byteorder in `byteorder`) stores every
    # element in its native order; rebuild the archive that way.
    sizes = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
             "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
             "ByteStorage": 1, "BoolStorage": 1}
    src = zipfile.ZipFile(io.BytesIO(pth))
    prefix = src.namelist()[0].split("/")[0]
    types = storage_dtypes(src.read(prefix + "/data.pkl"))
    entries = []
    for name in src.namelist():
        data = src.read(name)
        if name.startswith(prefix + "/data/"):
            es = sizes[types[name.rsplit("/", 1)[1]]]
            data = b"".join(data[i:i + es][::-1] for i in range(0, len(data), es))
        entries.append(("archive" + name[len(prefix):], data))
    entries.append(("archive/byteorder", b"big"))
    write_zip(os.path.join(OUT, "dtypes_bigendian.pth"), entries)


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def unicode(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def make_hostile():
    cmd = "touch " + MARKER
    # PROTO 2; GLOBAL 'os system'; BINUNICODE cmd; TUPLE1; REDUCE; STOP: what pickle.loads runs.
    evil = b"\x80\x02" + b"cos\nsystem\n" + unicode(cmd) + b"\x85" + b"R" + b"."
    write_zip(os.path.join(OUT, "evil_os_system.pth"),
              [("archive/data.pkl", evil), ("archive/version", b"3\n")])

    class PosixSystem:  # pickling calls __reduce__ only; os.system itself is never called
        def __reduce__(self):
            return os.system, (cmd,)

    sd = OrderedDict(weight=torch.ones(2), payload=PosixSystem())
    with open(os.path.join(OUT, "evil_posix_system.pth"), "wb") as f:
        f.write(torch_bytes(sd, False, "evil_posix_system.pth"))

    class Eval:
        def __reduce__(self):
            return eval, ("__import__('os').system(%r)" % cmd,)

    pkl = pickle.dumps(OrderedDict(x=Eval()), protocol=4)  # FRAME, STACK_GLOBAL, MEMOIZE
    assert b"builtins" in pkl and b"\x93" in pkl
    write_zip(os.path.join(OUT, "evil_builtins_eval.pth"),
              [("archive/data.pkl", pkl), ("archive/version", b"3\n")])

    write_zip(os.path.join(OUT, "huge_storage.pth"),
              [("archive/data.pkl", tensor_pickle(2 ** 40, (2 ** 20, 2 ** 20), (2 ** 20, 1))),
               ("archive/data/0", bytes(16)), ("archive/version", b"3\n")])
    write_zip(os.path.join(OUT, "short_storage.pth"),
              [("archive/data.pkl", tensor_pickle(10, (10,), (1,))),
               ("archive/data/0", bytes(8)), ("archive/version", b"3\n")])

    good = torch_bytes(OrderedDict(w=torch.arange(4.0)), False, "tp.pth")
    src = zipfile.ZipFile(io.BytesIO(good))
    entries = [(n, src.read(n)) for n in src.namelist()]
    entries = [(n, d[: len(d) // 2] if n.endswith("data.pkl") else d) for n, d in entries]
    write_zip(os.path.join(OUT, "truncated_pickle.pth"), entries)


class _Storage:
    """Stands for storage '0' in tensor_pickle; the pickler turns it into a persistent id."""


def tensor_pickle(numel, size, stride):
    """data.pkl of {'w': tensor} whose storage '0' declares `numel` float32 elements."""
    storage = _Storage()

    class Rebuild:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (storage, 0, size, stride, False, OrderedDict())

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is storage:
                return ("storage", torch.FloatStorage, "0", "cpu", numel)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(OrderedDict(w=Rebuild()))
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    make_resnet8()
    make_dtypes()
    make_hostile()
    total = 0
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print("%8d  %s" % (size, name))
    print("%8d  total" % total)


if __name__ == "__main__":
    main()
