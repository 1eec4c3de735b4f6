#!/usr/bin/env bash
# Fuzzes the attention-file readers with libFuzzer (clang, ASan + UBSan + LeakSanitizer).
#
#   scripts/fuzz.sh [seconds]    seconds per target, default 60; 0 replays the corpus only
#
# Installs clang and its runtime if missing (Debian packages), builds the harnesses of
# fuzz/ in build-fuzz/, replays the committed seed corpus fuzz/corpus/<target>/ (every
# reproducer of issue 11 and well-formed files), then fuzzes each target for the given time,
# adding what it finds to build-fuzz/corpus/<target>/ (not committed). Exits nonzero on the
# first crash, leak, sanitizer report or timeout; the input is saved as
# build-fuzz/crashes/<target>/crash-* (add it to fuzz/corpus/<target>/ once fixed).
source "$(dirname "$0")/common.sh"
FUZZ_SECONDS="${1:-60}"
TARGETS=(json npz tokenizer)
FUZZ_DIR="$ROOT/build-fuzz"

install_missing clang libclang-rt-14-dev "${PACKAGES[@]}"
mkdir -p "$FUZZ_DIR"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$FUZZ_DIR" -DCMAKE_BUILD_TYPE=Release -DATTNHOOK_FUZZ=ON \
  -DATTNHOOK_BUILD_TESTS=OFF -DATTNHOOK_BUILD_DEMO=OFF > "$FUZZ_DIR/configure.log" 2>&1 ||
  { cat "$FUZZ_DIR/configure.log"; exit 1; }
cmake --build "$FUZZ_DIR" -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
COMMON=(-rss_limit_mb=2048 -timeout=30)
for target in "${TARGETS[@]}"; do
  binary="$FUZZ_DIR/fuzz/fuzz_$target"
  crashes="$FUZZ_DIR/crashes/$target"
  mkdir -p "$crashes" "$FUZZ_DIR/corpus/$target"
  echo "attnhook: replaying fuzz/corpus/$target ($(ls "$ROOT/fuzz/corpus/$target" | wc -l) inputs)"
  "$binary" "${COMMON[@]}" -runs=0 -artifact_prefix="$crashes/" "$ROOT/fuzz/corpus/$target"
  if [ "$FUZZ_SECONDS" -gt 0 ]; then
    echo "attnhook: fuzzing $target for $FUZZ_SECONDS s"
    "$binary" "${COMMON[@]}" -max_total_time="$FUZZ_SECONDS" -max_len=16384 -print_final_stats=1 \
      -dict="$ROOT/fuzz/$target.dict" -artifact_prefix="$crashes/" \
      "$FUZZ_DIR/corpus/$target" "$ROOT/fuzz/corpus/$target"
  fi
done
echo "attnhook: fuzzing found nothing"
