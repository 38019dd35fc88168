#!/usr/bin/env bash
# Sets everything up (Debian packages, release build) and runs samscape's main job: with no
# arguments, SGD training of the small CNN on Fashion-MNIST (10,000 training images, 10 epochs) with
# a progress bar, results in runs/<time>-cnn/. Arguments pass through to samscape-cli:
#   ./scripts/run.sh                       the default job
#   ./scripts/run.sh train --help          every training flag
#   ./scripts/run.sh train --model resnet20 --epochs 3
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release samscape-cli samscape-bench >&2
cli=build/release/app/samscape-cli
if (($# == 0)); then
  exec "$cli" train --config resources/configs/fashion-mnist-quick.json
fi
exec "$cli" "$@"
