#!/bin/sh
# Installs the Debian packages mprog needs on the host: QEMU for both guest architectures, the
# compilers for the static agent, llc for the shell reproducers' programs, what building the
# mprog-X.Y kernels from kernel-configs/ needs (make, flex, bison, bc, libelf and openssl headers;
# git applies the patches of `mprog kernel build` and reads the state of a git tree),
# and the tools vm/*.ts run (util-linux's setpriv and unshare tie every child to mprog's life;
# coreutils' libstdbuf runs the host's bpftool line-buffered;
# apt's own private configuration fetches kernels, kernel sources, busybox and bpftool later;
# chromium renders report.html in its test, a real browser;
# this script never touches the system's apt sources).
# Idempotent: installs only what is missing and says nothing when everything is there.
set -eu

packages="
qemu-system-x86 qemu-system-arm qemu-user-static
gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross llvm
xz-utils zstd gzip tar binutils file iproute2 util-linux cpio coreutils
debian-archive-keyring apt dpkg
make flex bison bc libelf-dev libssl-dev git
chromium
lcov
"

if [ $# -gt 0 ]; then
	echo "usage: scripts/setup.sh" >&2
	exit 2
fi

# Node itself comes with the machine (Debian 12's own nodejs is 18, too old for vitest 4): check it.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "setup.sh: mprog needs Node.js 20 or later with npm (found: $(node --version 2>/dev/null || echo none)); install it, e.g. from https://nodejs.org or NodeSource, then run this again" >&2
	exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "setup.sh: this script needs a Debian (or derived) host with apt; install by hand:$packages" >&2
	exit 1
fi

missing=
for p in $packages; do
	case $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "setup.sh: missing packages:$missing; run this script as root (or install sudo)" >&2
	exit 1
fi

echo "setup.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# One update, and only when apt cannot find a missing package with the lists it already has.
# shellcheck disable=SC2086 # word lists
if ! $as_root apt-get install -qq -y --no-install-recommends $missing >/dev/null 2>&1; then
	$as_root apt-get update -qq
	$as_root apt-get install -qq -y --no-install-recommends $missing >/dev/null
fi
