#!/usr/bin/env bash
# Side-by-side speed: resnet4j and the PyTorch anchor (shared/bench/torch_anchor.py) run
# alternately, A B A B, ROUNDS times per figure, on the same threads; prints the median of each
# and the ratio. The machines are shared and noisy: only ratios from one run mean anything.
#
#   bench/compare.sh [FIGURE...]     FIGURE: gemm r18i r50i r20t r56t r50t fcos deeplab fcn (default: the classifiers)
#   ROUNDS=3 THREADS=2 ANCHOR=../shared/bench/torch_anchor.py PYTHON=/usr/bin/python3
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-$(nproc)}
ANCHOR=${ANCHOR:-../shared/bench/torch_anchor.py}
PYTHON=${PYTHON:-/usr/bin/python3}
[ -f "$ANCHOR" ] || { echo "no PyTorch anchor at $ANCHOR (set ANCHOR=...)" >&2; exit 1; }
"$PYTHON" -c "import torch, torchvision" 2>/dev/null || { echo "needs python3-torch and python3-torchvision" >&2; exit 1; }
./resnet4j models >/dev/null # build once, outside the timings

figures=("$@")
[ ${#figures[@]} -gt 0 ] || figures=(gemm r18i r50i r20t r56t r50t)

ours() { # figure -> JSON lines
  case $1 in
    gemm) ./resnet4j bench gemm --threads "$THREADS" ;;
    r18i) ./resnet4j bench --model resnet18 --batch 1 --threads "$THREADS"; ./resnet4j bench --model resnet18 --batch 16 --threads "$THREADS" ;;
    r50i) ./resnet4j bench --model resnet50 --batch 1 --threads "$THREADS"; ./resnet4j bench --model resnet50 --batch 16 --threads "$THREADS" ;;
    r20t) ./resnet4j bench --model resnet20 --batch 128 --size 32 --train --threads "$THREADS"
          ./resnet4j bench --model resnet20 --batch 128 --size 28 --in-channels 1 --train --threads "$THREADS" ;;
    r56t) ./resnet4j bench --model resnet56 --batch 128 --size 32 --train --threads "$THREADS" ;;
    r50t) ./resnet4j bench --model resnet50 --batch 16 --train --threads "$THREADS" ;;
    fcos) ./resnet4j bench --model fcos_resnet50_fpn --threads "$THREADS" --min-seconds 8 ;;
    deeplab) ./resnet4j bench --model deeplabv3_resnet50 --size 520 --threads "$THREADS" --min-seconds 8 ;;
    fcn) ./resnet4j bench --model fcn_resnet50 --size 520 --threads "$THREADS" --min-seconds 8 ;;
  esac
}
theirs() { THREADS="$THREADS" "$PYTHON" "$ANCHOR" "$1" 2>/dev/null; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${figures[@]}"; do
  for r in $(seq "$ROUNDS"); do
    ours "$f" >> "$tmp/ours.$f"
    theirs "$f" >> "$tmp/theirs.$f"
  done
done

"$PYTHON" - "$tmp" "${figures[@]}" <<'PY'
import json, statistics, sys, os
tmp, figures = sys.argv[1], sys.argv[2:]
def key(d):
    if d["what"] == "sgemm": return ("sgemm", d["n"])
    w = d["what"].replace("-cifar", "").replace("-fmnist", "")
    size = d.get("size")
    return (w, d.get("batch"), tuple(size) if isinstance(size, list) else size)
def load(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"): continue
        d = json.loads(line)
        v = d.get("gflops", d.get("img_per_s"))
        out.setdefault(key(d), []).append((v, d.get("peak_rss_mb")))
    return out
hw = None
for f in figures:
    for line in open(os.path.join(tmp, "ours." + f)):
        if line.startswith("{") and "cpu" in json.loads(line):
            hw = json.loads(line); break
    if hw: break
if hw:
    print("CPU: %s (%s); resnet4j vectors %d bits, GEMM kernel %s, direct conv block %s; %s threads" % (
        hw["cpu"], hw["cpu_flags"], hw["vector_bits"], hw["gemm_kernel"], hw["direct_conv_block"], hw.get("threads")))
print("%-40s %12s %12s %8s %22s" % ("figure", "resnet4j", "pytorch", "ratio", "peak RSS MiB (ours/pt)"))
for f in figures:
    ours, theirs = load(os.path.join(tmp, "ours." + f)), load(os.path.join(tmp, "theirs." + f))
    for k in ours:
        if k not in theirs: continue
        a = statistics.median(v for v, _ in ours[k]); b = statistics.median(v for v, _ in theirs[k])
        unit = "GFLOPS" if k[0] == "sgemm" else "img/s"
        name = " ".join(str(x) for x in k if x is not None)
        rss = lambda vs: max((r for _, r in vs if r is not None), default=None)
        ra, rb = rss(ours[k]), rss(theirs[k])
        mem = "%d / %d" % (ra, rb) if ra is not None and rb is not None else ""
        print("%-40s %9.1f %s %9.1f %s %7.2fx %22s" % (name, a, unit[:3], b, unit[:3], a / b, mem))
PY
