#!/usr/bin/env bash
# Sets up a virtual environment with the test extras, checks the code with ruff, builds the
# documentation site (warnings are errors) and runs the whole test suite.
# As root on Debian/Ubuntu it also installs Mesa's lavapipe so the vulkan driver is tested
# on the CPU (set POLYHAL_SKIP_APT=1 to skip that).  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${POLYHAL_SKIP_APT:-}" ] \
    && [ -x .ci/setup-vulkan.sh ]; then
  .ci/setup-vulkan.sh
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,vulkan,iree,docs]'
.venv/bin/ruff check src tests benchmarks examples docs
.venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html -q
exec .venv/bin/python -m pytest -q "$@"
