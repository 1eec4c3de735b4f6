# Shared by scripts/test.sh and scripts/demo.sh: install what is missing (Debian
# packages only), then configure and build. Source it; it sets BUILD_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${JOBS:-2}"

PACKAGES=(
  build-essential cmake pkg-config ccache
  libtorch-dev libopenblas0-openmp   # without OpenBLAS LibTorch falls back to reference BLAS (~25x slower)
  libre2-dev libfmt-dev libgtest-dev cimg-dev libpng-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev    # the command-line tool
)
# Only the tests: the browser test of the HTML viewer, numpy's reading of attn.npz, and
# regenerating the TorchScript fixtures (python3-torch never runs in the library or CLI).
TEST_PACKAGES=(chromium python3-numpy python3-torch)

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
  echo "attnhook: BLAS in use: ${blas:-unknown}"
  case "$blas" in *openblas*) ;; *) echo "attnhook: warning: not OpenBLAS; LibTorch will be very slow" >&2 ;; esac
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$BUILD_DIR" -j"$JOBS"
}
