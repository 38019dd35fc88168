#!/usr/bin/env bash
# Every page of the app, at 1366x768 and at 1920x1080, as the README shows them:
#   pair-SIZE.png           the landscape page: the default pair run to the end, its pair plane
#   pair-SIZE-curves.png    the curves page of the same pair
#   pair-SIZE-spectrum.png  the spectrum page
#   study-SIZE.png          the Study page on the accuracy preset, as `samscape-cli study` left it in
#                           the studies workspace (run the presets first: README, "What samscape reproduces")
# Usage: scripts/screenshots.sh [OUT_DIR (resources/screenshots)] [STUDIES_WORKSPACE (build/studies)]
# The release build's app (scripts/setup.sh release samscape); SAMSCAPE_APP overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-resources/screenshots}
studies=${2:-build/studies}
app=${SAMSCAPE_APP:-build/release/app/samscape}
if [ ! -x "$app" ]; then
  echo "screenshots.sh: $app: no such program (build it: scripts/setup.sh release samscape)" >&2
  exit 2
fi
if [ ! -d "$studies/studies/accuracy" ]; then
  echo "screenshots.sh: $studies/studies/accuracy: no such study (run it: samscape-cli study --config" \
    "resources/studies/accuracy.json --workspace $studies)" >&2
  exit 2
fi
mkdir -p "$out"
for size in 1366x768 1920x1080; do
  workspace=$(mktemp -d)
  # Settings of earlier sessions (window geometry, the last launch form) stay out of the pictures.
  XDG_CONFIG_HOME=$(mktemp -d) xvfb-run -a -s "-screen 0 ${size}x24" "$app" --workspace "$workspace" --demo \
    --screenshot "$out/pair-$size.png" --after-epochs 60
  XDG_CONFIG_HOME=$(mktemp -d) xvfb-run -a -s "-screen 0 ${size}x24" "$app" --workspace "$studies" \
    --study accuracy --screenshot "$out/study-$size.png"
  rm -rf "$workspace"
done
ls -l "$out"
