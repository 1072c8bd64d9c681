#!/usr/bin/env bash
# Install the system packages Lumen needs, or say exactly how, before anything else runs.
#   packaging/system_packages.sh run|test [--check]
# run: what the app needs; test: that plus what the tests need (packaging/system-packages.txt).
# As root it installs what is missing; otherwise it says what and why and uses sudo; without
# sudo it stops with the command to type. --check only reports (exit 1 when something lacks).
# LUMEN_SYSTEM_PACKAGES names another list (tests/test_system_packages.py).
set -euo pipefail
want="${1:-run}"
check_only="${2:-}"
list="${LUMEN_SYSTEM_PACKAGES:-$(dirname "$0")/system-packages.txt}"

if ! command -v dpkg >/dev/null 2>&1; then
  echo "system packages: not a Debian/Ubuntu system; see $list for what Lumen needs." >&2
  exit 0
fi

missing=() why=()
while read -r package when reason; do
  case "$package" in ''|'#'*) continue ;; esac
  [ "$want" = run ] && [ "$when" != run ] && continue
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package") why+=("$package: $reason")
  fi
done < "$list"

[ ${#missing[@]} -eq 0 ] && exit 0
command="apt-get install -y --no-install-recommends ${missing[*]}"
echo "Lumen needs these system packages for 'make $want':" >&2
printf '  %s\n' "${why[@]}" >&2
if [ "$check_only" = --check ]; then
  echo "Install them with: sudo apt-get update && sudo $command" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && $command -qq >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  echo "Installing them with sudo (it may ask for your password)." >&2
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $command -qq >/dev/null
else
  echo "Install them as root, then run 'make $want' again:" >&2
  echo "  apt-get update && $command" >&2
  exit 1
fi
