#!/usr/bin/env bash
# Rebuilds the committed SPIR-V beside each GLSL kernel: glsl/NAME.comp -> glsl/NAME.spv.
# The SPIR-V entry point is named NAME (the polyhal entry point name), not "main", so a
# driver can look it up by the entry point's name. Needs glslangValidator (and spirv-val
# when installed): apt-get install -y glslang-tools spirv-tools
set -euo pipefail
cd "$(dirname "$0")/glsl"
for source in *.comp; do
  name="${source%.comp}"
  glslangValidator -V --target-env vulkan1.2 -e "$name" --source-entrypoint main \
    -o "$name.spv" "$source" >/dev/null
  if command -v spirv-val >/dev/null 2>&1; then
    spirv-val --target-env vulkan1.2 "$name.spv"
  fi
done
