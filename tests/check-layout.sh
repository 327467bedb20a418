#!/usr/bin/env bash
# The tree stays readable by a newcomer:
#  (a) no "-- area --" markers: a comment says why the code is there, not
#      which change added it ("/* -- daemon -- */", "/* ---- x ---- */",
#      "# -- x --" in the Makefile and the scripts);
#  (b) every file the docs cite under a source directory exists: a stale
#      name sends a reader looking for code that moved;
#  (c) every source file of the libraries and programs (common/ policy/
#      sandbox/ sboxrun/ sboxd/ wire/ libsbox/ include/) has its line in
#      docs/design.md's layout section;
#  (d) the rooms depend one way: policy/ on nothing of sbox's but common/;
#      sandbox/ on policy/; wire/ and libsbox/ never on sandbox/ or the
#      programs (libsbox/zygote.c excepted: sandbox/zygote.h, the zygote
#      API's in-process steps); sboxrun/ and sboxd/ never on each other; and outside
#      sandbox/ (tests and bench excepted: they are white-box) only the
#      headers of sandbox/'s public face, each marked "Public:" on its
#      second line (the others "Internal to sandbox/").
# Each failure is printed as "FAIL: FILE:LINE: what", to be fixed from the list.
#
#   tests/check-layout.sh
set -u -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
fail=0 n=0
bad() { echo "FAIL: $*"; fail=1; }

# Tracked and new files alike, never build output.
files() {
	find . \( -path ./build -o -path ./.git \) -prune -o -type f \( "$@" \) -print |
		sed 's|^\./||' | sort
}

# Every line of the files named on stdin that matches ERE $1, as a failure.
markers() {
	local files l rest
	mapfile -t files
	n=$((n + ${#files[@]}))
	[ ${#files[@]} -gt 0 ] || return 0
	while IFS= read -r l; do
		rest=${l#*:}
		bad "${l%%:*}:${rest%%:*}: area marker: ${rest#*:}"
	done < <(grep -nHE -- "$1" "${files[@]}")
}

# (a) A marker opens a comment with "--" then a dash, a blank or the end of
# the line ("--check" is a flag, not a marker), or closes one with " -- */".
markers '/\*[[:space:]]*--(-|[[:space:]]|$)|[[:space:]]--[[:space:]]*\*/' \
	< <(files -name '*.c' -o -name '*.h')
markers '^[[:space:]]*#[[:space:]]*--(-|[[:space:]]|$)' \
	< <(files -name Makefile -o -name '*.mk' -o -name '*.sh' -o -name '*.py' -o -path './scripts/*')

# (b) Names under a source directory, in backquotes, in the docs.
srcdirs='common|policy|sandbox|sboxrun|sboxd|wire|libsbox|include|slurm|python|tests|bench|docs|scripts|examples|systemd|launcher'
for doc in README.md docs/*.md; do
	while IFS= read -r l; do
		name=${l#*:}
		name=${name//\`/}
		n=$((n + 1))
		# What a run leaves behind (tests/v2/out/) is ignored by git, not absent.
		[ -e "$name" ] || git check-ignore -q "${name%/}/" 2>/dev/null ||
			bad "$doc:${l%%:*}: cites $name, which does not exist"
	done < <(grep -noE "\`($srcdirs)/[A-Za-z0-9_./-]*\`" "$doc")
done

# (c) docs/design.md's layout section runs from its heading to the next
# level-2 heading.
layout=$(awk '/^## Layout/{on=1; next} /^## /{on=0} on' docs/design.md)
[ -n "$layout" ] || bad "docs/design.md: no '## Layout' section"
while read -r f; do
	n=$((n + 1))
	grep -qF -- "\`$f\`" <<<"$layout" || bad "docs/design.md: the layout does not list $f"
done < <(files \( -path './common/*' -o -path './policy/*' -o -path './sandbox/*' \
	-o -path './sboxrun/*' -o -path './sboxd/*' -o -path './wire/*' -o -path './libsbox/*' \
	-o -path './include/*' \) \
	\( -name '*.c' -o -name '*.h' -o -name '*.map' -o -name '*.in' \))

# (d) Each include of "room/x.h" in a room's files, against what the room
# may include.
may_include() { # room header -> 0 when allowed
	local room=$1 h=$2 hroom=${2%%/*}
	# libsbox's public header, as include/sbox/libsbox.h or <-Iinclude> sbox/.
	case $hroom in include | sbox) hroom=libsbox ;; esac
	[ "$hroom" = "$room" ] || [ "$hroom" = common ] && return 0
	case $room in
	policy) return 1 ;;
	sandbox) [ "$hroom" = policy ] ;;
	wire | libsbox) [ "$hroom" = policy ] || [ "$hroom" = wire ] ||
		# The zygote API runs a sandbox's steps in the caller's
		# process: it alone may include sandbox/'s zygote face.
		{ [ "$h" = sandbox/zygote.h ] && [ "$f" = libsbox/zygote.c ]; } ;;
	sboxrun | sboxd | slurm | examples)
		case $hroom in
		policy | wire | libsbox) return 0 ;;
		sandbox) head -2 "$h" | grep -q '^/\* Public:' ;;
		sboxrun) [ "$room" != sboxd ] ;;
		*) return 1 ;;
		esac ;;
	*) return 0 ;;
	esac
}
for h in sandbox/*.h; do
	n=$((n + 1))
	head -2 "$h" | grep -qE '^/\* (Public:|Internal to sandbox/)' ||
		bad "$h:2: says neither 'Public:' nor 'Internal to sandbox/'"
done
while IFS= read -r l; do
	f=${l%%:*} rest=${l#*:}
	line=${rest%%:*}
	h=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$rest")
	n=$((n + 1))
	may_include "${f%%/*}" "$h" || bad "$f:$line: ${f%%/*}/ may not include $h"
done < <(files \( -path './policy/*' -o -path './sandbox/*' -o -path './wire/*' \
	-o -path './libsbox/*' -o -path './sboxrun/*' -o -path './sboxd/*' -o -path './slurm/*' \
	-o -path './examples/*' \) \( -name '*.c' -o -name '*.h' \) |
	xargs grep -nHE '^#include "[a-z]+/' 2>/dev/null)

echo "check-layout: $n names checked"
exit $fail
