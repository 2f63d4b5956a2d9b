#!/usr/bin/env bash
# Installs the host packages drill builds its helper images from (Debian 12).
# drill never pulls images: the registry and load balancer images are assembled from
# these binaries and imported into the local Docker engine.
# With --tests, also what `cargo test` needs: Chromium, which renders the HTML report.
set -euo pipefail

packages=(docker-registry haproxy nginx caddy busybox-static iproute2 iptables containerd)
# What `drill bench` compares drill with (it reports a missing one as not installed).
packages+=(skopeo docker-compose)
for arg in "$@"; do
  case "$arg" in
    --tests) packages+=(chromium) ;;
    *) echo "install-deps: unknown option $arg (usage: $0 [--tests])" >&2; exit 64 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (sudo $0)" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  # Docker CE ships its own containerd (containerd.io), which Debian's package would
  # replace: use the one that is there.
  if [ "$p" = containerd ] && command -v containerd >/dev/null 2>&1; then
    continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Without systemd, the packages' scripts would start their services (a host nginx on
  # port 80 of every interface): drill only wants the binaries.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packages start system services where systemd runs; drill only wants the binaries,
# and a host registry listening on every interface is not wanted.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now docker-registry haproxy nginx caddy containerd >/dev/null 2>&1 || true
fi
if ! docker info >/dev/null 2>&1; then
  echo "install-deps: the Docker engine does not answer; start it (systemctl start docker)" >&2
  exit 1
fi
echo "install-deps: ${packages[*]} installed; Docker engine reachable"
