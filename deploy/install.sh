#!/bin/sh
# Installs or rolls back the door intercom on a Raspberry Pi; run as root
# from an unpacked bundle (host_tools/flash/rpi.py does it over ssh):
#
#   sh install.sh install RELEASE   new release from this bundle
#   sh install.sh rollback          back to the previous release
#
# Bundle: intercom-*-py3-none-any.whl (pure Python, built on the host),
# door.toml (mode 0600), password files it names, intercom.service,
# asound.conf, this script.
#
# Layout (every path under $INTERCOM_ROOT, empty on a Pi):
#   /opt/intercom/releases/RELEASE/  venv (--system-site-packages: the apt
#                                    python3-rpi-lgpio / python3-alsaaudio)
#                                    + bundle/ (what this release installed)
#   /opt/intercom/current, previous  symlinks to releases; older ones pruned
#   /var/lib/intercom/door.toml      config (0600, owner intercom); relative
#                                    paths in it (door.state_file) land here,
#                                    the service's only writable folder
#   /etc/systemd/system/intercom.service, /etc/asound.conf
#
# Environment: INTERCOM_ROOT, SYSTEMCTL, JOURNALCTL, PINCTRL, INTERCOM_PYTHON,
# STATUS_WAIT (seconds before showing status; tests replace the tools).
set -eu

ROOT=${INTERCOM_ROOT:-}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
JOURNALCTL=${JOURNALCTL:-journalctl}
PINCTRL=${PINCTRL:-/usr/bin/pinctrl}
PYTHON=${INTERCOM_PYTHON:-/usr/bin/python3}
STATUS_WAIT=${STATUS_WAIT:-3}
BASE=$ROOT/opt/intercom
STATE=$ROOT/var/lib/intercom
UNIT=intercom.service

step() { echo "==> $*"; }

switch_link() {  # switch_link NAME TARGET: atomic symlink replacement
    ln -sfn "$2" "$BASE/$1.new"
    mv -T "$BASE/$1.new" "$BASE/$1"
}

install_files() {  # install_files BUNDLE_DIR: config, unit, ALSA config
    bundle=$1
    if [ -z "$ROOT" ] && ! id intercom >/dev/null 2>&1; then
        step "creating system user intercom (groups gpio, audio)"
        useradd --system --user-group --no-create-home --home-dir /var/lib/intercom \
            --shell /usr/sbin/nologin --groups gpio,audio intercom
    fi
    step "config -> $STATE/door.toml"
    install -d -m 0700 "$STATE"
    for file in "$bundle"/door.toml "$bundle"/secrets/*; do
        [ -f "$file" ] || continue
        install -m 0600 "$file" "$STATE/$(basename "$file")"
        [ -n "$ROOT" ] || chown intercom:intercom "$STATE/$(basename "$file")"
    done
    [ -n "$ROOT" ] || chown intercom:intercom "$STATE"
    step "ALSA config -> $ROOT/etc/asound.conf"
    install -d "$ROOT/etc"
    if [ -f "$ROOT/etc/asound.conf" ] && [ ! -f "$ROOT/etc/asound.conf.before-intercom" ]; then
        cp -p "$ROOT/etc/asound.conf" "$ROOT/etc/asound.conf.before-intercom"
    fi
    install -m 0644 "$bundle/asound.conf" "$ROOT/etc/asound.conf"
    step "unit -> $ROOT/etc/systemd/system/$UNIT"
    install -d "$ROOT/etc/systemd/system"
    sed -e "s|@ROOT@|$ROOT|g" -e "s|@PINCTRL@|$PINCTRL|g" "$bundle/$UNIT" \
        > "$ROOT/etc/systemd/system/$UNIT"
    chmod 0644 "$ROOT/etc/systemd/system/$UNIT"
}

start_service() {
    step "systemctl daemon-reload, enable, restart"
    $SYSTEMCTL daemon-reload
    $SYSTEMCTL enable "$UNIT"
    $SYSTEMCTL restart "$UNIT"
    sleep "$STATUS_WAIT"
    $SYSTEMCTL status --no-pager "$UNIT" || true
    $JOURNALCTL -u "$UNIT" -n 20 --no-pager || true
}

install_release() {
    release=$1
    here=$(cd "$(dirname "$0")" && pwd)
    target=$BASE/releases/$release
    [ ! -e "$target" ] || { echo "install.sh: $target exists" >&2; exit 1; }
    step "venv $target"
    install -d "$BASE/releases"
    "$PYTHON" -m venv --system-site-packages "$target"
    step "pip install $(basename "$here"/intercom-*.whl)"
    "$target/bin/pip" install --quiet --no-index --no-deps "$here"/intercom-*.whl
    install -d -m 0700 "$target/bundle"
    cp -Rp "$here"/. "$target/bundle/"
    install_files "$target/bundle"
    if [ -L "$BASE/current" ]; then
        switch_link previous "$(readlink "$BASE/current")"
    fi
    switch_link current "releases/$release"
    step "current -> releases/$release"
    prune
    start_service
}

prune() {  # keep current and previous only
    keep_current=$(readlink "$BASE/current")
    keep_previous=$(readlink "$BASE/previous" 2>/dev/null || true)
    for old in "$BASE"/releases/*; do
        name=releases/$(basename "$old")
        if [ "$name" != "$keep_current" ] && [ "$name" != "$keep_previous" ]; then
            step "removing old $name"
            rm -rf "$old"
        fi
    done
}

rollback() {
    [ -L "$BASE/previous" ] || { echo "install.sh: no previous release to roll back to" >&2; exit 1; }
    back=$(readlink "$BASE/previous")
    now=$(readlink "$BASE/current")
    install_files "$BASE/$back/bundle"
    switch_link current "$back"
    switch_link previous "$now"
    step "rolled back: current -> $back (previous -> $now)"
    start_service
}

case "${1:-}" in
    install) install_release "${2:?release name}" ;;
    rollback) rollback ;;
    *) echo "usage: install.sh install RELEASE | rollback" >&2; exit 2 ;;
esac
