#!/usr/bin/env bash
# Builds the cython backend with AddressSanitizer + UndefinedBehaviorSanitizer in a scratch copy of
# the committed tree and runs the kernel tests, the hostile-geometry cases and the real models on
# it; any sanitizer report fails the run. Not part of CI (the build alone takes minutes).
# Usage: bash tools/sanitize.sh [PYTEST ARGS...]   (default: the kernel and hostile-input tests)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" archive HEAD | tar -x -C "$WORK"
cd "$WORK"
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -U pip
GOSSAMER_SANITIZE=address,undefined .venv/bin/pip install --disable-pip-version-check -q -e '.[test]'
SO="$(ls cython_kernels/_ext*.so)"
if ! nm -D "$SO" | grep -q __asan_report; then
  echo "the extension was not built with AddressSanitizer" >&2
  exit 1
fi
ASAN_LIB="$(gcc -print-file-name=libasan.so)"
UBSAN_LIB="$(gcc -print-file-name=libubsan.so)"
if [ "$#" -eq 0 ]; then
  set -- tests/cython_kernels tests/test_real_models.py tests/refimpl/test_memory_budget.py
fi
# numpy and the Python allocator are not instrumented: leaks and their odd frees are not ours
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  GOSSAMER_MODELS="${GOSSAMER_MODELS:-$HOME/.cache/gossamer/models}" \
  .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
echo "sanitized run: no reports"
