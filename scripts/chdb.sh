#!/usr/bin/env bash
# Installs chdb (ClickHouse 26.x in-process, from PyPI) into a virtualenv under the
# project cache, for the type-oracle tests. Prints the python interpreter's path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv="$BATCHROW_CACHE/chdb-venv"
if ! "$venv/bin/python" -c 'import chdb' >/dev/null 2>&1; then
  log "installing chdb into $venv"
  python3 -m venv "$venv" >/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check chdb >&2 || die "pip install chdb failed"
fi
echo "$venv/bin/python"
