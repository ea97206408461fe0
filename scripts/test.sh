#!/usr/bin/env bash
# Builds polyhal's sdist and, from it, the platform wheel with the native code built in;
# installs that wheel with the test extras into a virtual environment of its own
# (.venv-wheel: the development .venv of `pip install -e .` is left alone); checks the code
# with ruff and mypy, builds the documentation site (warnings are errors) and runs the whole
# test suite against the installed wheel, not the source tree.
# As root on Debian/Ubuntu it also installs Mesa's lavapipe so the vulkan driver is tested
# on the CPU (set POLYHAL_SKIP_APT=1 to skip that).  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -z "${POLYHAL_SKIP_APT:-}" ] \
    && [ -x .ci/setup-vulkan.sh ]; then
  .ci/setup-vulkan.sh
fi
venv=.venv-wheel
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip build
rm -f dist/polyhal-*
"$venv/bin/python" -m build -q -o dist .  # the sdist, then the wheel built from the sdist alone
ls dist/polyhal-*
wheels=(dist/polyhal-*.whl)
"$venv/bin/python" -m pip uninstall -q -y polyhal 2>/dev/null || true
"$venv/bin/python" -m pip install -q "${wheels[0]}[test,vulkan,iree,docs,mpi]"
"$venv/bin/ruff" check src tests benchmarks examples scripts docs
"$venv/bin/ruff" format --check src tests benchmarks examples scripts
"$venv/bin/mypy"  # strict on the front end and the driver contract: [tool.mypy], pyproject.toml
"$venv/bin/python" -m sphinx -W --keep-going -b html docs docs/_build/html -q
POLYHAL_TEST_INSTALLED=1 exec "$venv/bin/python" -m pytest -q "$@"
