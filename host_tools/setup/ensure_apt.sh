#!/bin/sh
# Install the Debian packages listed in a file (one per line, # comments)
# that are not installed yet. Runs apt-get as root, through sudo otherwise;
# when neither is possible it names the missing packages and fails.
set -eu
list_file=$1
missing=""
for package in $(sed -e 's/#.*//' "$list_file"); do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $package" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo"
else
    echo "error: these Debian packages are needed and cannot be installed without root:$missing" >&2
    echo "       run: sudo apt-get install$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install these packages by hand:$missing" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | $as_root debconf-set-selections
# Fresh machines may have no package lists yet; refresh once, then install.
$as_root apt-get update -qq
$as_root apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 $missing
