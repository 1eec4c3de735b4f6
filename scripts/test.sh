#!/usr/bin/env bash
# Installs what is missing, builds, runs every test with ctest.
#
#   scripts/test.sh                    LibTorch 2.13 (the torch 2.13.0 wheel in .venv/), in build/
#   scripts/test.sh --libtorch debian  Debian's libtorch-dev 1.13.1, in build-debian/
#   scripts/test.sh --sanitize         with ASan+UBSan and LeakSanitizer (any sanitizer report
#                                      fails the test), in build-asan/ (build-debian-asan/)
#   scripts/test.sh --all              2.13, then 1.13 with the sanitizers (what .ci/run does)
source "$(dirname "$0")/common.sh"

libtorch=wheel
sanitize=0
all=0
for arg in "$@"; do
  case "$arg" in
    --libtorch=*) libtorch="${arg#--libtorch=}" ;;
    --libtorch) libtorch="__next__" ;;
    --sanitize) sanitize=1 ;;
    --all) all=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *)
      if [ "$libtorch" = "__next__" ]; then libtorch="$arg"
      else echo "scripts/test.sh: unknown argument '$arg' (see --help)" >&2; exit 2; fi ;;
  esac
done
case "$libtorch" in wheel|debian) ;; *) echo "scripts/test.sh: --libtorch '$libtorch': expected wheel or debian" >&2; exit 2 ;; esac

if [ "$all" = 1 ]; then
  bash "$0" && bash "$0" --libtorch debian --sanitize
  exit
fi

install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
install_node_test_tools
ensure_venv "$ROOT/test/requirements.txt"

cmake_args=()
suffix=""
[ "$sanitize" = 1 ] && suffix="-asan"
if [ "$libtorch" = debian ]; then
  install_missing "${DEBIAN_TORCH_PACKAGES[@]}"
  report_blas
  BUILD_DIR="${BUILD_DIR:-$ROOT/build-debian$suffix}"
  cmake_args+=(-DTorch_DIR=/usr/lib/x86_64-linux-gnu/cmake/Torch)
else
  BUILD_DIR="${BUILD_DIR:-$ROOT/build$suffix}"
  cmake_args+=(-DTorch_DIR="$(venv_torch_dir)")
fi
if [ "$sanitize" = 1 ]; then
  cmake_args+=(-DATTNHOOK_SANITIZE=ON -DATTNHOOK_BUILD_DEMO=OFF)
  # LibTorch's own allocations at exit (op registries) are not ours: scripts/lsan.supp.
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
  # GCC 12's LeakSanitizer crashes at exit ("Tracer caught signal 11") reading the dynamic
  # TLS of LibTorch's OpenMP worker threads (a bogus DTLS range on glibc 2.36): one thread.
  export OMP_NUM_THREADS=1
fi
build "$BUILD_DIR" "${cmake_args[@]}"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" --timeout 600
