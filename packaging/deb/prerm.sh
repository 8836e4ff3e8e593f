#!/bin/sh
# Before the .deb is removed: stop the service if it runs. The data dir
# (/var/lib/gpumesh: identity key, ledger) is kept.
set -e
if [ -d /run/systemd/system ]; then
  systemctl stop gpumesh.service >/dev/null 2>&1 || true
fi
