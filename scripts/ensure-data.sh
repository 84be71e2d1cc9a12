#!/bin/sh
# Make a data set available: already there, else Debian's package (root with apt), else
# the official download with checksum verification. Usage: PY=.venv/bin/python ensure-data.sh NAME
set -u
name="$1"
PY="${PY:-python3}"
found() {
    "$PY" -c "import sys; from ticketlab.data import dataset_status; sys.exit(dataset_status('$name') is None)"
}
if found; then exit 0; fi
if [ "$name" = "fashion-mnist" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's dataset-fashion-mnist package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1
    }
    if found; then exit 0; fi
fi
echo "downloading $name from its official source" >&2
"$PY" -m ticketlab download "$name"
