#!/usr/bin/env bash
# Installs what is missing, builds, trains a small Transformer to reverse digit
# sequences, hooks it and writes attention pictures into out/.
source "$(dirname "$0")/common.sh"
install_missing "${PACKAGES[@]}"
report_blas
build
OUT="${OUT:-$ROOT/out}"
mkdir -p "$OUT"
"$BUILD_DIR/reverse_demo" "$OUT"
