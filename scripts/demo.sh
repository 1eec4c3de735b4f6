#!/usr/bin/env bash
# Installs what is missing, builds, trains a small Transformer to reverse digit
# sequences, hooks it and writes attention pictures into out/.
source "$(dirname "$0")/common.sh"
install_missing "${PACKAGES[@]}"
ensure_venv
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
build "$BUILD_DIR" -DTorch_DIR="$(venv_torch_dir)"
OUT="${OUT:-$ROOT/out}"
mkdir -p "$OUT"
"$BUILD_DIR/reverse_demo" "$OUT"
