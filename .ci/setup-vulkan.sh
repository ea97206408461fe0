#!/usr/bin/env bash
# Installs what the vulkan driver is tested with on a machine without a GPU (Debian 12):
# Mesa's lavapipe (a Vulkan 1.3 CPU device) and the loader, glslangValidator (the "glsl"
# format), SPIRV-Tools (spirv-val checks every SPIR-V module before it reaches the
# driver) and the Khronos validation layer (tests/vulkan keep it silent).
# Skips apt entirely when everything is already there.
set -euo pipefail
packages=(mesa-vulkan-drivers libvulkan1 glslang-tools spirv-tools vulkan-validationlayers)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
