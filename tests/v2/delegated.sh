#!/bin/sh
# Run a command as nobody:nogroup from inside the delegated cgroup leaf that
# the v2 test VM prepares (tests/v2/vm-init.sh): the unprivileged user then
# owns the non-root parent $SBOX_V2_DELEGATED and sits in its leaf
# $SBOX_V2_DELEGATED_LEAF, as a user under a systemd Delegate=yes unit does.
# Must be started as root (it moves itself into the leaf first).
#
#   tests/v2/delegated.sh build/asan/tests/test_cgroup ...
set -eu
: "${SBOX_V2_DELEGATED_LEAF:?not in the v2 test VM (tests/v2/run-vm.sh sets it)}"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
echo $$ >"$SBOX_V2_DELEGATED_LEAF/cgroup.procs"
exec setpriv --reuid nobody --regid nogroup --clear-groups -- "$@"
