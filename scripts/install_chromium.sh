#!/usr/bin/env bash
# Install Debian's chromium for the web panel's browser test, unless one is on PATH already.
# Playwright drives this browser (executable_path); nothing ever downloads a browser of its own.
# Bounded: gives up after CHROMIUM_INSTALL_TIMEOUT seconds (default 600).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium is installed: $(command -v chromium)"
  exit 0
fi
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "error: installing chromium needs root or passwordless sudo: apt-get install chromium" >&2
    exit 1
  fi
fi
started=$SECONDS
"${sudo[@]}" timeout "${CHROMIUM_INSTALL_TIMEOUT:-600}" bash -c \
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'
echo "chromium installed in $((SECONDS - started)) s: $(command -v chromium)"
