#!/usr/bin/env bash
# Installs the Debian packages named in the given lists that are missing
# (apt-get, with sudo when not root). Usage: deploy/install-packages.sh LIST...
set -euo pipefail
missing=()
for list in "$@"; do
	while read -r pkg; do
		case "$pkg" in ''|'#'*) continue ;; esac
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done <"$list"
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "installing ${missing[*]}" >&2
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
