#!/bin/sh
# After the .deb is installed: the system user the unit runs as, and
# systemd told about the unit. The service is not enabled or started: an
# operator does that (systemctl enable --now gpumesh).
set -e
if ! getent passwd gpumesh >/dev/null; then
  useradd --system --home-dir /var/lib/gpumesh --no-create-home --shell /usr/sbin/nologin gpumesh
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
