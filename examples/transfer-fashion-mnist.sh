#!/usr/bin/env bash
# Transfer learning, measured (docs/TRANSFER.md): pre-train ResNet-20 on five Fashion-MNIST
# classes (T-shirt/top, Trouser, Pullover, Dress, Coat), then learn the other five (Sandal,
# Shirt, Sneaker, Bag, Ankle boot) from N labelled images, on the same images and budget:
# from scratch and fine-tuning every layer (new head), each at two learning rates, and a
# linear probe (backbone and its BN frozen, only the new classifier trains). Prints one line per run.
#
#   examples/transfer-fashion-mnist.sh     RUNS=runs/transfer GRID="500:4 500:15 100:15" SOURCE_EPOCHS=2
#   GRID: N:EPOCHS pairs (target images : epochs of target training)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/transfer}
GRID=${GRID:-500:4 500:15 100:15}
SOURCE_EPOCHS=${SOURCE_EPOCHS:-2}
common=(--model resnet20 --data fashion-mnist --runs-dir "$RUNS" --seed 0)

[ -f "$RUNS/source/checkpoints/best.safetensors" ] ||
  ./resnet4j train "${common[@]}" --classes 0,1,2,3,4 --epochs "$SOURCE_EPOCHS" --name source | tail -2
W="$RUNS/source/checkpoints/best.safetensors"

run() { # label name command...
  local label=$1 name=$2; shift 2
  "$@" --name "$name" | tail -2 | head -1 | sed "s/^done: /$label: /"
}
for cell in $GRID; do
  n=${cell%%:*} e=${cell##*:}
  # the N images are the same in every run of a cell: --train-subset draws them with --seed
  target=(--classes 5,6,7,8,9 --train-subset "$n" --epochs "$e" --batch-size 32 --warmup-epochs 1)
  for lr in 0.1 0.02; do
    run "N=$n, $e epochs, scratch, lr $lr" "n$n-e$e-scratch-lr$lr" ./resnet4j train "${common[@]}" "${target[@]}" --lr "$lr"
  done
  for lr in 0.02 0.005; do
    run "N=$n, $e epochs, fine-tune, lr $lr" "n$n-e$e-finetune-lr$lr" ./resnet4j finetune "${common[@]}" "${target[@]}" \
        --weights "$W" --new-head --lr "$lr"
  done
  run "N=$n, $e epochs, linear probe, lr 0.1" "n$n-e$e-probe-lr0.1" ./resnet4j finetune "${common[@]}" "${target[@]}" \
      --weights "$W" --new-head --lr 0.1 --freeze conv1,bn1,layer1,layer2,layer3 --freeze-bn
done
