#!/usr/bin/env bash
# Transfer learning, measured (docs/TRANSFER.md): pre-train ResNet-20 on five Fashion-MNIST
# classes (T-shirt/top, Trouser, Pullover, Dress, Coat), then learn the other five (Sandal,
# Shirt, Sneaker, Bag, Ankle boot) from N labelled images, on the same images and budget:
# from scratch, fine-tuning every layer (new head), and a linear probe (backbone and its BN
# frozen, only the new classifier trains); scratch and fine-tuning each at two learning rates. Prints one line per run.
#
#   examples/transfer-fashion-mnist.sh     RUNS=runs/transfer NS="100 500" EPOCHS=15 SOURCE_EPOCHS=2
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/transfer}
NS=${NS:-100 500}               # labelled target images (drawn at random, seeded, from the 30,000)
EPOCHS=${EPOCHS:-15}            # target budget, the same for every run
SOURCE_EPOCHS=${SOURCE_EPOCHS:-2}
common=(--model resnet20 --data fashion-mnist --runs-dir "$RUNS" --seed 0)

./resnet4j train "${common[@]}" --classes 0,1,2,3,4 --epochs "$SOURCE_EPOCHS" --name source | tail -2
W="$RUNS/source/checkpoints/best.safetensors"

run() { # label name args...
  local label=$1 name=$2; shift 2
  "$@" --name "$name" | tail -2 | head -1 | sed "s/^done: /$label: /"
}
for n in $NS; do
  target=(--classes 5,6,7,8,9 --train-subset "$n" --epochs "$EPOCHS" --batch-size 32 --warmup-epochs 1)
  for lr in 0.1 0.02; do
    run "N=$n scratch, lr $lr" "n$n-scratch-lr$lr" ./resnet4j train "${common[@]}" "${target[@]}" --lr "$lr"
  done
  for lr in 0.02 0.005; do
    run "N=$n fine-tune, lr $lr" "n$n-finetune-lr$lr" ./resnet4j finetune "${common[@]}" "${target[@]}" --weights "$W" --new-head --lr "$lr"
  done
  run "N=$n linear probe, lr 0.1" "n$n-probe-lr0.1" ./resnet4j finetune "${common[@]}" "${target[@]}" --weights "$W" --new-head \
      --lr 0.1 --freeze conv1,bn1,layer1,layer2,layer3 --freeze-bn
done
