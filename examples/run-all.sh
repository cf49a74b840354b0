#!/usr/bin/env bash
# Runs every example program on tiny generated data, in a scratch folder; stops at the first failure.
# Needs target/resnet4j-examples.jar (mvn package) and a JDK 25 as $JAVA_HOME or java on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for ex in BuildModels LoadTorchvisionWeights FineTuneImageFolder ExtractFeatures BatchedInference InferenceClient ExportOnnx; do
  echo "== $ex"
  args=(); { [ "$ex" = BatchedInference ] || [ "$ex" = InferenceClient ]; } && args=(runs/finetune/checkpoints/best.safetensors)
  "$JAVA" --add-modules jdk.incubator.vector -cp "$HERE/target/resnet4j-examples.jar" "org.resnet4j.examples.$ex" "${args[@]}" \
    2> >(grep -v '^WARNING: Using incubator modules' >&2)
done
echo "all examples ran"
