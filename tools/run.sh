#!/usr/bin/env bash
# run.sh — sets up and builds plan86 (tools/setup.sh), then runs the main job:
# the built-in protected-mode demo. Extra arguments go to plan86.
# The build directory is build/ in the repository, or $PLAN86_BUILD.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${PLAN86_BUILD:-$repo/build}"

"$repo/tools/setup.sh" "$build_dir" >&2
exec "$build_dir/frontend/plan86" --demo "$@"
