#!/bin/sh
# The docs must stay true to the directive table: every directive has an entry
# in docs/policy.md, and every flag of sboxrun --help is in the man page.
set -u
sboxrun=${1:-build/release/sboxrun}
fail=0 n=0
for d in $("$sboxrun" --help-policy | awk '{print $1}'); do
	n=$((n + 1))
	grep -q "^### $d=" docs/policy.md || { echo "docs/policy.md: no entry for $d="; fail=1; }
done
for f in $("$sboxrun" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	n=$((n + 1))
	esc=$(printf '%s' "$f" | sed 's/-/\\\\-/g')
	grep -q -- "$esc" docs/man/sboxrun.1 || { echo "docs/man/sboxrun.1: flag $f not documented"; fail=1; }
done
echo "check-docs: $n names checked"
exit $fail
