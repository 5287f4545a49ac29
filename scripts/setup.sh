#!/bin/sh
# Installs the Debian packages mprog needs on the host: QEMU for both guest architectures, the
# compilers for the static agent, llc for the shell reproducers' programs, and the tools vm/*.ts run (apt's own private configuration
# fetches kernels, busybox and bpftool later; this script never touches the system's apt sources).
# Idempotent: installs only what is missing and says nothing when everything is there.
#   scripts/setup.sh                 the packages to run the qemu: targets and the tests
#   scripts/setup.sh --kernel-build  also what building a kernel from kernel-configs/ needs
set -eu

packages="
qemu-system-x86 qemu-system-arm qemu-user-static
gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross llvm
busybox-static cpio xz-utils zstd gzip tar binutils file iproute2
debian-archive-keyring apt dpkg
"
# make, flex, bison, bc and the libelf/openssl headers are what `make tinyconfig && make` needs.
kernel_build_packages="make flex bison bc libelf-dev libssl-dev"

case "${1:-}" in
"") ;;
--kernel-build) packages="$packages $kernel_build_packages" ;;
*)
	echo "usage: scripts/setup.sh [--kernel-build]" >&2
	exit 2
	;;
esac

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
