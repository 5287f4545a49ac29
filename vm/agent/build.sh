#!/bin/sh
# Builds, for each ARCH (x86_64, arm64; none given: both), the static mprog-agent and the library
# it preloads into bpftool (bpftool-zygote.so) into vm/agent/build/<arch>/. Rebuilds only when
# their sources, this script or the compiler changed. Installs nothing: names the Debian package
# that is missing instead.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src="$here/agent.c"
zygote_src="$here/bpftool-zygote.c"
cflags="-O2 -std=gnu11 -Wall -Wextra -Werror"

host_arch() {
	case $(uname -m) in
	x86_64) echo x86_64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# Prints "<compiler> <Debian package of the compiler> <Debian package of its static libc>".
toolchain() {
	if [ "$1" = "$(host_arch)" ]; then
		echo "gcc gcc libc6-dev"
		return
	fi
	case $1 in
	x86_64) echo "x86_64-linux-gnu-gcc gcc-x86-64-linux-gnu libc6-dev-amd64-cross" ;;
	arm64) echo "aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
	esac
}

build() {
	arch=$1
	case $arch in
	x86_64 | arm64) ;;
	*)
		echo "build.sh: unknown architecture '$arch' (known: x86_64 arm64)" >&2
		return 2
		;;
	esac
	set -- $(toolchain "$arch")
	cc=$1 cc_pkg=$2 libc_pkg=$3
	out="$here/build/$arch"
	bin="$out/mprog-agent"
	zygote="$out/bpftool-zygote.so"

	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "build.sh: $cc not found: install the Debian package $cc_pkg" >&2
		return 1
	fi
	stamp=$(cat "$src" "$here/kernel-abi.h" "$zygote_src" "$0" | sha256sum | cut -d' ' -f1)-$("$cc" -dumpfullversion)
	if [ -x "$bin" ] && [ -f "$zygote" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	# gcc answers a bare name when it has no static libc for the target.
	case $("$cc" -print-file-name=libc.a) in
	/*) ;;
	*)
		echo "build.sh: no static C library for $cc: install the Debian package $libc_pkg" >&2
		return 1
		;;
	esac
	mkdir -p "$out"
	# shellcheck disable=SC2086 # cflags is a word list
	# A private temporary name: concurrent builds of the same arch must not mix their output.
	"$cc" -static $cflags -o "$bin.$$.tmp" "$src"
	# shellcheck disable=SC2086
	"$cc" -shared -fPIC $cflags -o "$zygote.$$.tmp" "$zygote_src"
	mv "$bin.$$.tmp" "$bin"
	mv "$zygote.$$.tmp" "$zygote"
	echo "$stamp" >"$out/.stamp"
	echo "build.sh: built $bin and $zygote"
}

[ $# -gt 0 ] || set -- x86_64 arm64
for arch in "$@"; do
	build "$arch"
done
