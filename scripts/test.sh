#!/usr/bin/env bash
# Installs what is missing, builds, runs every test with ctest.
source "$(dirname "$0")/common.sh"
install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
install_node_test_tools
report_blas
build
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" --timeout 600
