#!/bin/sh
# test-out-of-tree.sh: a plugin built outside the tree, against libgossip as
# installed (headers under include/gossip-1.0/gossip, the library, the
# generated gossip-1.0.pc), loads by path and passes the same conformance
# suite as the in-tree compressors.
#
# The installed layout is assembled in a scratch prefix from the build tree
# rather than by `make install`: libtool relinks plugins in place while
# installing, which would race with the tests running beside this one.
# `make distcheck` exercises the real `make install`.
# Speaks TAP; arguments from run-test.sh (--tap -k) are ignored.
set -u
builddir=$(cd "${GOSSIP_TEST_BUILDDIR:?}/.." && pwd)
srcdir=$(cd "${GOSSIP_TEST_SRCDIR:?}/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gossip-oot.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$2"; }

echo "1..3"
prefix="$tmp/prefix"
{
  mkdir -p "$prefix/include/gossip-1.0/gossip" "$prefix/lib/pkgconfig" &&
  cp "$srcdir"/core/gossip/*.h "$prefix/include/gossip-1.0/gossip/" &&
  cp -P "$builddir"/core/.libs/libgossip-1.0.so* "$prefix/lib/" &&
  sed "s|^prefix=.*|prefix=$prefix|; s|^exec_prefix=.*|exec_prefix=$prefix|; s|^libdir=.*|libdir=$prefix/lib|; s|^includedir=.*|includedir=$prefix/include|" \
    "$builddir/gossip-1.0.pc" >"$prefix/lib/pkgconfig/gossip-1.0.pc"
} >"$tmp/install.log" 2>&1
if [ -f "$prefix/lib/pkgconfig/gossip-1.0.pc" ] && [ -f "$prefix/lib/libgossip-1.0.so" ]; then
  ok "installed layout: headers, library, gossip-1.0.pc"
else
  not_ok "installed layout: headers, library, gossip-1.0.pc" "$tmp/install.log"
fi

cp -R "$srcdir/examples/out-of-tree-plugin" "$tmp/src"
if PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -C "$tmp/src" >"$tmp/build.log" 2>&1 \
   && [ -f "$tmp/src/gossip-compress-lz4-example.so" ]; then
  ok "example plugin builds with pkg-config gossip-1.0"
else
  not_ok "example plugin builds with pkg-config gossip-1.0" "$tmp/build.log"
fi

if GOSSIP_TEST_COMPRESSORS="$tmp/src/gossip-compress-lz4-example.so" \
   "$builddir/tests/test-compressor" >"$tmp/suite.log" 2>&1; then
  ok "example plugin loads by path and passes the compressor conformance suite"
else
  not_ok "example plugin loads by path and passes the compressor conformance suite" "$tmp/suite.log"
fi
