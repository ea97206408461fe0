#!/usr/bin/env bash
# Rebuilds the demo's committed SPIR-V from its GLSL (needs glslang-tools).
set -euo pipefail
cd "$(dirname "$0")"
for f in *.comp; do
  glslangValidator -V --target-env vulkan1.2 "$f" -o "${f%.comp}.spv"
done
