#!/usr/bin/env bash
# Installs the named Debian packages that are missing (when root), or tells
# the user what to install. Quiet when everything is present.
set -euo pipefail
missing=()
for p in "$@"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "faultline: missing Debian packages: ${missing[*]}" >&2
	echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 2
fi
echo "faultline: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}" >/dev/null; then
	apt-get update -q >/dev/null
	apt-get install -y -q "${missing[@]}" >/dev/null
fi
