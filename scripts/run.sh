#!/usr/bin/env bash
# Sets everything up (Debian packages, release build) and runs samscape's main job: the desktop app
# with the default SGD/SAM pair on Fashion-MNIST (resources/configs/sam-vs-sgd-quick.json) training
# and being analysed live.
#   ./scripts/run.sh                       the app, with the default pair started
#   ./scripts/run.sh --headless            the same pair in the command line (no display needed)
#   ./scripts/run.sh train --help          anything else passes through to samscape-cli
set -euo pipefail
cd "$(dirname "$0")/.."
config=resources/configs/sam-vs-sgd-quick.json

if (($# == 0)); then
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "run.sh: no display (neither DISPLAY nor WAYLAND_DISPLAY is set). Either run the app under a" >&2
    echo "virtual X server:   xvfb-run -a -s '-screen 0 1600x1000x24' ./scripts/run.sh" >&2
    echo "(add --demo --screenshot pair.png --after-epochs 10 to samscape to get a picture), or run the same" >&2
    echo "pair in the command line:   ./scripts/run.sh --headless" >&2
    exit 2
  fi
  scripts/setup.sh release samscape samscape-cli >&2
  exec build/release/app/samscape --demo
fi

if [ "$1" = "--headless" ]; then
  shift
  scripts/setup.sh release samscape-cli >&2
  cli=build/release/app/samscape-cli
  # SGD and SAM from the same seed (same initial weights and data order), sliced along one set of
  # directions so their loss surfaces are comparable.
  stamp=$(date +%Y%m%d-%H%M%S)
  directions=$(mktemp -d)/directions.bin
  for optimizer in sgd sam; do
    "$cli" train --config "$config" --optimizer "$optimizer" --directions "$directions" \
      --name "pair $stamp ${optimizer^^}" --tag headless-pair "$@"
  done
  exec "$cli" runs list --tag headless-pair
fi

scripts/setup.sh release samscape-cli samscape-bench >&2
exec build/release/app/samscape-cli "$@"
