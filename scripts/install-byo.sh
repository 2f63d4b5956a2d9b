#!/usr/bin/env bash
# Installs the registry implementations that the bring-your-own scenarios and tests run
# as host binaries (scenarios/byo-*.yaml, tests/scenarios/byo.yaml): the container-registry
# crate's server, into ~/.cargo/bin. No root needed; already installed is left alone.
set -euo pipefail
if [ -x "$HOME/.cargo/bin/container-registry" ]; then
  echo "install-byo: container-registry already in ~/.cargo/bin"
  exit 0
fi
# The crate's release profile asks for fat LTO, which triples the build for no gain a
# registry under test would show; drill's measurements are of the network path.
CARGO_PROFILE_RELEASE_LTO=false \
  cargo install container-registry --version 0.3.1 --features bin --locked --quiet
echo "install-byo: container-registry installed in ~/.cargo/bin"
