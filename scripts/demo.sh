#!/bin/sh
# A worker's-eye view of a sandbox: what it sees of processes, /dev, its
# environment and the root filesystem.
set -u
sboxrun=${1:-build/release/sboxrun}
exec "$sboxrun" --hostname demo --env GREETING="hello from the sandbox" -- /bin/sh -c '
echo "== whoami:      $(id)"
echo "== hostname:    $(hostname)"
echo "== my pid:      $$   (pid 1 is $(cat /proc/1/comm))"
echo "== processes:   $(ls /proc | grep -E "^[0-9]+$" | tr "\n" " ")"
echo "== /dev:        $(ls /dev | tr "\n" " ")"
echo "== environment:"; env | sort | sed "s/^/     /"
if touch /sbox-demo 2>/dev/null; then echo "== / is WRITABLE"; else echo "== / is read-only: $(touch /sbox-demo 2>&1)"; fi
touch /tmp/scratch && echo "== /tmp is a private, writable tmpfs"
echo "== network:     $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
'
