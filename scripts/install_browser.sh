#!/usr/bin/env bash
# Headless Chromium for the demo's browser tests (tests/test_demo_browser.py), from Debian packages.
# Idempotent: does nothing when /usr/bin/chromium exists. Never use `playwright install` (it downloads
# a browser from the internet); the Python playwright package drives this system Chromium instead.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
/usr/bin/chromium --version
