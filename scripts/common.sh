# Shared by scripts/test.sh and scripts/demo.sh: install what is missing (Debian
# packages; the torch 2.13.0 CPU wheel into the project's .venv), then configure and
# build. Source it; it sets ROOT, VENV and JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
JOBS="${JOBS:-2}"
# The LibTorch of the default build. Pinned: this exact wheel lies on the project's
# machines; an unpinned `torch` makes pip fetch a CUDA build of several GB.
TORCH_WHEEL_VERSION="2.13.0"

PACKAGES=(
  build-essential cmake pkg-config ccache python3-venv
  libre2-dev libfmt-dev libgtest-dev cimg-dev libpng-dev zlib1g-dev libjpeg-dev
  libcli11-dev nlohmann-json3-dev    # the command-line tool
  libicu-dev libsentencepiece-dev    # the tokenizer (tokenizer.json, SentencePiece .model)
)
# Debian's LibTorch 1.13.1, the second tested configuration. Without OpenBLAS it falls
# back to reference BLAS (~25x slower).
DEBIAN_TORCH_PACKAGES=(libtorch-dev libopenblas0-openmp)
# Only the tests: the browser test of the HTML viewer, numpy's reading of attn.npz, and
# the 1.13 fixtures (python3-torch and python3-torchvision never run in the library or CLI).
TEST_PACKAGES=(chromium python3-numpy python3-torch python3-torchvision)

install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "attnhook: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The project's virtualenv with the pinned torch wheel (its LibTorch: headers,
# libtorch_cpu.so, TorchConfig.cmake), plus `pip install -r` of any files given.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "attnhook: creating $VENV"
    /usr/bin/python3 -m venv "$VENV"
  fi
  local have
  have="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
  if [ "$have" != "$TORCH_WHEEL_VERSION" ]; then
    "$VENV/bin/pip" install --quiet "torch==$TORCH_WHEEL_VERSION"
  fi
  local requirements
  for requirements in "$@"; do
    [ -f "$requirements" ] || { echo "attnhook: missing $requirements" >&2; return 1; }
    # Installs only what is missing; the stamp skips pip when nothing changed.
    local stamp="$VENV/.$(basename "$requirements").stamp"
    if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ]; then
      "$VENV/bin/pip" install --quiet -r "$requirements" "torch==$TORCH_WHEEL_VERSION"
      touch "$stamp"
    fi
  done
}

# Directory of the wheel's TorchConfig.cmake.
venv_torch_dir() {
  "$VENV/bin/python" -c 'import os, torch.utils; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))'
}

# Node.js (with npm) for the viewer's browser test; Debian's nodejs if none is there.
install_node_test_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || install_missing nodejs npm
  local viewer="$ROOT/test/viewer"
  if [ ! -d "$viewer/node_modules/playwright-core" ] || [ "$viewer/package-lock.json" -nt "$viewer/node_modules" ]; then
    (cd "$viewer" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

report_blas() {
  local blas
  blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
  echo "attnhook: BLAS in use by Debian's LibTorch: ${blas:-unknown}"
  case "$blas" in *openblas*) ;; *) echo "attnhook: warning: not OpenBLAS; Debian's LibTorch will be very slow" >&2 ;; esac
}

# build <build dir> [cmake args...]
build() {
  local dir="$1"
  shift
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$dir" -j"$JOBS"
}
