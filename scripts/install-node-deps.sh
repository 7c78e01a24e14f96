#!/bin/sh
# Installs what a Tugboat node (`tug agent`) needs from Debian: containerd (with ctr),
# runc, the CNI plugins (/usr/lib/cni), busybox-static and catatonit (the test and pause
# images are built from them), iptables and nftables, and etcd-server (/usr/bin/etcd: the
# etcd store backend's tests and the store benchmark start one on loopback), and
# docker-registry (/usr/bin/docker-registry: test/e2e/real-registry.test.ts pulls through
# CRI from one on 127.0.0.1; the package's service is not needed). Idempotent:
# installs only the packages that are missing, running `apt-get update` once before installing.
set -eu

PACKAGES="containerd runc containernetworking-plugins busybox-static iptables nftables catatonit etcd-server docker-registry"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-node-deps: must run as root" >&2
  exit 1
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-node-deps: all present ($PACKAGES)"
  exit 0
fi

echo "install-node-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
