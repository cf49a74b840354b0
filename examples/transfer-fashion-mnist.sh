#!/usr/bin/env bash
# Transfer learning, measured (docs/TRANSFER.md): pre-train ResNet-20 on five Fashion-MNIST
# classes (T-shirt/top, Trouser, Pullover, Dress, Coat), then learn the other five (Sandal,
# Shirt, Sneaker, Bag, Ankle boot) from a small labelled set, four ways on the same images and
# budget: from scratch at two learning rates, fine-tuning every layer, and a linear probe
# (backbone frozen, only the new classifier trains). Prints one summary line per run.
#
#   examples/transfer-fashion-mnist.sh          RUNS=runs/transfer N=500 EPOCHS=15 SOURCE_EPOCHS=2
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/transfer}
N=${N:-500}                     # labelled target images (drawn at random, seeded, from the 30,000)
EPOCHS=${EPOCHS:-15}            # target budget, the same for every run
SOURCE_EPOCHS=${SOURCE_EPOCHS:-2}
common=(--model resnet20 --data fashion-mnist --runs-dir "$RUNS" --seed 0)
target=(--classes 5,6,7,8,9 --train-subset "$N" --epochs "$EPOCHS" --batch-size 32 --warmup-epochs 1)

./resnet4j train "${common[@]}" --classes 0,1,2,3,4 --epochs "$SOURCE_EPOCHS" --name source | tail -2
W="$RUNS/source/checkpoints/best.safetensors"

summary() { tail -2 | head -1 | sed "s/^/$1: /"; }
./resnet4j train "${common[@]}" "${target[@]}" --lr 0.1 --name scratch-lr0.1 | summary "scratch, lr 0.1"
./resnet4j train "${common[@]}" "${target[@]}" --lr 0.02 --name scratch-lr0.02 | summary "scratch, lr 0.02"
./resnet4j finetune "${common[@]}" "${target[@]}" --weights "$W" --new-head --lr 0.02 --name finetune | summary "fine-tune all layers, lr 0.02"
./resnet4j finetune "${common[@]}" "${target[@]}" --weights "$W" --new-head --lr 0.1 \
    --freeze conv1,bn1,layer1,layer2,layer3 --freeze-bn --name linear-probe | summary "linear probe, lr 0.1"
