#!/usr/bin/env bash
# Installs the Debian packages Vigil's tests, demo and benchmarks use. Idempotent: it only
# calls apt-get when something is missing. Needs root.
set -euo pipefail

pkgs=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
	iproute2 tshark iperf3 nftables ca-certificates make)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
apt-get update
# tshark asks whether non-root users may capture; keep the default (no).
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
