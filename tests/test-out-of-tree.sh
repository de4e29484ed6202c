#!/bin/sh
# test-out-of-tree.sh: a plugin built outside the tree, against an installed
# libgossip (its gossip-1.0.pc), loads and passes the same conformance suite
# as the in-tree compressors.  Installs into a private DESTDIR, never the system.
# Speaks TAP; arguments from run-test.sh (--tap -k) are ignored.
set -u
builddir=$(cd "${GOSSIP_TEST_BUILDDIR:?}/.." && pwd)
example=$(cd "${GOSSIP_TEST_SRCDIR:?}/../examples/out-of-tree-plugin" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gossip-oot.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$2"; }

echo "1..3"
if make -C "$builddir" -s install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1; then
  ok "make install into a DESTDIR"
else
  not_ok "make install into a DESTDIR" "$tmp/install.log"
fi

prefix=$(sed -n 's/^prefix=//p' "$builddir/gossip-1.0.pc")
libdir=$(sed -n 's/^libdir=//p' "$builddir/gossip-1.0.pc" | sed "s|\${exec_prefix}|$prefix|; s|\${prefix}|$prefix|")
cp -R "$example" "$tmp/src"
# The installed .pc, relocated to where DESTDIR put the files.
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$tmp/root$prefix|; s|^libdir=$libdir|libdir=$tmp/root$libdir|" \
  "$tmp/root$libdir/pkgconfig/gossip-1.0.pc" >"$tmp/pc/gossip-1.0.pc" 2>>"$tmp/build.log"
if PKG_CONFIG_PATH="$tmp/pc" \
   make -C "$tmp/src" >"$tmp/build.log" 2>&1 \
   && [ -f "$tmp/src/gossip-compress-lz4.so" ]; then
  ok "example plugin builds against the installed gossip-1.0.pc"
else
  not_ok "example plugin builds against the installed gossip-1.0.pc" "$tmp/build.log"
fi

if GOSSIP_TEST_COMPRESSORS="$tmp/src/gossip-compress-lz4.so" \
   LD_LIBRARY_PATH="$tmp/root$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
   "$builddir/tests/test-compressor" >"$tmp/suite.log" 2>&1; then
  ok "example plugin loads by path and passes the compressor conformance suite"
else
  not_ok "example plugin loads by path and passes the compressor conformance suite" "$tmp/suite.log"
fi
