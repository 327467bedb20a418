# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # top, B, RES ... come from bench/run.sh
# bench/run.sh's helpers: peers, rows, measurement, throughput, scaling,
# memory.  Sourced with B, RES, ROUNDS, RUNS, WARMUP ... set (bench/run.sh).

PEERS="bubblewrap crun runc hyperfine gnuplot-nox"
SBOXD_PID=
SBOXD_SOCK="$RES/sboxd.sock"
PROBE="$top/$B/sbox-probe"

# Debian's packages for the peers, through the project's installer.
install_peers() {
	local missing="" p
	for p in $PEERS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
		log "missing:$missing (BENCH_NO_INSTALL=1: their rows will say so)"
		return 0
	fi
	log "installing$missing"
	SBOX_EXTRA_PACKAGES="$missing" "$top/scripts/install-deps.sh" >&2 ||
		log "installing$missing failed: their rows will say so"
}

hybrid_cgroups() {
	[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
		[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]
}

version_of() { # tool: its first version line, or "not installed"
	command -v "$1" >/dev/null 2>&1 || { echo "not installed"; return; }
	case $1 in
	bwrap | crun | runc | hyperfine | firejail) "$1" --version 2>&1 | head -1 ;;
	gnuplot) gnuplot --version ;;
	unshare) unshare --version | head -1 ;;
	*) echo "?" ;;
	esac
}

machine_info() {
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host=$(uname -n)"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "cpus=$(nproc)"
	echo "mem_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
	echo "virt=$(systemd-detect-virt 2>/dev/null || echo unknown)"
	if hybrid_cgroups; then
		echo "cgroups=hybrid (v1 controllers, empty cgroup2 at /sys/fs/cgroup/unified)"
	elif [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "cgroups=unified (cgroup v2)"
	else
		echo "cgroups=v1"
	fi
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "quick=$QUICK"
	echo "rounds=$ROUNDS"
	echo "runs=$RUNS"
	echo "warmup=$WARMUP"
	echo "git=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
	for t in unshare bwrap crun runc firejail hyperfine gnuplot; do
		echo "version.$t=$(version_of $t)"
	done
	echo "version.sboxrun=$("$B/sboxrun" --version 2>&1 | head -1)"
}

# "Full isolation" as the issue defines it: all namespaces including the
# network, a cgroup with memory and pids limits, the device filter,
# seccomp, no capabilities.  Each directive is used when this sboxrun
# knows it (sboxrun --check); the ones it doesn't are listed in the report.
FULL_DIRECTIVES=(
	"PrivateNetwork=none|network namespace with lo only"
	"MemoryMax=256M|cgroup memory limit"
	"TasksMax=64|cgroup pids limit"
	"SeccompProfile=default|seccomp deny list"
	"CapabilityBoundingSet=|no capabilities"
	"NoNewPrivileges=yes|no_new_privs"
)
FULL_FLAGS=()
FULL_CLI=()
FULL_SETS=()
FULL_WHAT=()
SBOX_DIRECT_ARGS=""
: >"$RES/full-missing.txt"

detect_sbox() {
	local d nv what a b
	for d in "${FULL_DIRECTIVES[@]}"; do
		nv=${d%%|*} what=${d#*|}
		if "$B/sboxrun" --set "$nv" --check >/dev/null 2>&1; then
			FULL_FLAGS+=(--set "$nv")
			FULL_SETS+=("$nv")
			FULL_WHAT+=("$what")
		else
			printf '%s\t%s\n' "$nv" "$what" >>"$RES/full-missing.txt"
		fi
	done
	printf '%s\n' "${FULL_SETS[@]}" >"$RES/full-sets.txt"
	# The issue's command line, `sboxrun --memory 256M --pids 64`, when
	# its effective policy is the full set's (sboxrun's defaults supply
	# the rest); the --set list otherwise.
	FULL_CLI=("${FULL_FLAGS[@]}")
	if [ ${#FULL_FLAGS[@]} -gt 0 ] &&
		a=$("$B/sboxrun" --check --memory 256M --pids 64 2>&1) &&
		b=$("$B/sboxrun" --check "${FULL_FLAGS[@]}" 2>&1) && [ "$a" = "$b" ]; then
		FULL_CLI=(--memory 256M --pids 64)
	fi
	printf '%s\n' "${FULL_CLI[*]}" >"$RES/full-cli.txt"
	# sboxrun goes through sboxd when its socket answers: the direct rows
	# must not, whatever runs on this machine.
	if "$B/sboxrun" --help 2>&1 | grep -q -- '--direct'; then
		SBOX_DIRECT_ARGS=--direct
	elif "$B/sboxrun" --help 2>&1 | grep -q -- '--no-daemon'; then
		SBOX_DIRECT_ARGS=--no-daemon
	fi
}

sbox_isolation() { # default|full
	local s="ns: pid mnt uts ipc net cgroup; ro host root, private /dev /tmp /proc" w
	if [ "$1" = full ]; then
		for w in "${FULL_WHAT[@]}"; do
			s="$s; $w"
		done
		[ -s "$RES/full-missing.txt" ] &&
			s="$s; not yet in sboxrun: $(cut -f2 "$RES/full-missing.txt" | paste -sd, - | sed 's/,/, /g')"
	else
		s="$s; sboxrun's defaults"
	fi
	echo "$s"
}

# The paced API rows (apibench -p): the idle time before each timed launch.
API_PAUSE_MS=${BENCH_API_PAUSE_MS:-50}

# A private sboxd for the rows that go through it, with its default pool
# of prepared sandboxes (when this sboxd has one), and a second one with
# the pool off (POOL_OFF_CONF) for the API and throughput rows' "pool
# off" lines.  Each has its own socket, state directory and limits, so
# that it neither meets a system sboxd nor refuses the scaling run's 1000
# live sandboxes.
POOL_OFF_CONF=${BENCH_POOL_OFF_CONF:-$'[Pool]\nSize=0'}
NOPOOL_PID=
NOPOOL_SOCK="$RES/sboxd-nopool.sock"

sboxd_conf() { # name extra-config: writes $RES/NAME.conf
	cat >"$RES/$1.conf" <<-EOF
		[Daemon]
		StateDirectory=$RES/$1-state
		MaxJobs=4096
		MaxJobsPerUser=4096
		MaxConnections=256
		NetnsPool=${BENCH_NETNS_POOL:-16}
	EOF
	[ -n "$2" ] && printf '%s\n' "$2" >>"$RES/$1.conf"
	chmod 644 "$RES/$1.conf"
}

# Start sboxd as NAME; its pid in SPAWNED.  1 when it did not come up
# (why: the tail of $RES/NAME.log).
spawn_sboxd() { # name socket extra-config
	SPAWNED=
	sboxd_conf "$1" "$3"
	# shellcheck disable=SC2086
	"$B/sboxd" --foreground --config "$RES/$1.conf" --socket "$2" \
		${BENCH_SBOXD_ARGS:-} >"$RES/$1.log" 2>&1 &
	SPAWNED=$!
	for _ in $(seq 50); do
		[ -S "$2" ] && return 0
		kill -0 "$SPAWNED" 2>/dev/null || break
		sleep 0.1
	done
	kill "$SPAWNED" 2>/dev/null
	wait "$SPAWNED" 2>/dev/null
	SPAWNED=
	return 1
}

start_sboxd() { # the reason it can't go to $RES/na-sboxd
	[ -x "$B/sboxd" ] || { unavailable sboxd "sboxd not built yet ($B/sboxd missing)"; return 1; }
	if ! spawn_sboxd sboxd "$SBOXD_SOCK" ""; then
		unavailable sboxd "sboxd did not start: $(tail -c 300 "$RES/sboxd.log" | tr '\n' ' ')"
		return 1
	fi
	SBOXD_PID=$SPAWNED
	awk '/VmRSS/ { print "sboxd_rss_kb_idle=" $2 }' "/proc/$SBOXD_PID/status" >"$RES/memory.txt"
	start_sboxd_nopool
}

# The pool-off sboxd: an sboxd without the [Pool] section refuses the
# configuration (unknown sections are errors), which says it has no pool:
# then the default rows are already "no pool" and this one is not needed.
start_sboxd_nopool() {
	if spawn_sboxd sboxd-nopool "$NOPOOL_SOCK" "$POOL_OFF_CONF"; then
		NOPOOL_PID=$SPAWNED
		echo "pool=yes" >"$RES/pool.txt"
		log "sboxd has a pool of prepared sandboxes: measuring pool on and off"
	else
		{
			echo "pool=no"
			echo "pool_why=$(grep -m1 -i -E 'pool|unknown|error' "$RES/sboxd-nopool.log" | tr -d '\t')"
		} >"$RES/pool.txt"
		log "sboxd refused '$(printf '%s' "$POOL_OFF_CONF" | tr '\n' ' ')': no pool to turn off"
	fi
}

stop_sboxd() {
	local p
	for p in "$SBOXD_PID" "$NOPOOL_PID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SBOXD_PID=""
	NOPOOL_PID=""
}

# The command of each row, as run.sh recorded it.
cmd_of() { # id -> CMD array
	eval "CMD=($(cat "$RES/cmd-$1"))"
}

# How a row runs here.  crun refuses the hybrid layout ("cgroups in hybrid
# mode not supported, drop all controllers from cgroupv2"): it runs in a
# private mount namespace where the empty cgroup2 at /sys/fs/cgroup/unified
# is unmounted, so it sees plain cgroup v1; the wrapper is set up once per
# batch, outside the timed commands.
wrap_of() { # id -> WRAP array (a prefix)
	WRAP=()
	if [ "$1" = crun ] && hybrid_cgroups; then
		WRAP=(unshare -m --propagation private sh -c
			'umount /sys/fs/cgroup/unified && exec "$@"' sh)
	fi
}

# The row's command with sbox-probe in place of /bin/true.
probe_cmd_of() { # id -> CMD array
	local i
	case $1 in
	crun) CMD=(crun run --bundle "$RES/bundle-probe" bench-crun-probe) ;;
	runc) CMD=(runc run --bundle "$RES/bundle-probe" bench-runc-probe) ;;
	*)
		cmd_of "$1"
		i=$((${#CMD[@]} - 1))
		CMD[i]=$PROBE
		CMD+=(report)
		;;
	esac
}

tool_of() {
	case $1 in
	exec) echo true ;;
	sboxrun | sboxrun-full | sboxd) echo "$B/sboxrun" ;;
	*) cmd_of "$1"; echo "${CMD[0]}" ;;
	esac
}

# Smoke-test each row once, and record what it isolates as seen from
# inside (iso-ID.txt: sbox-probe's report).
check_rows() {
	local id err tool
	# crun spec writes the bundles' config.json (bench/mkbundle.sh).
	if command -v crun >/dev/null; then
		if ! { "$top/bench/mkbundle.sh" "$RES/bundle" "$TRUE" &&
			"$top/bench/mkbundle.sh" "$RES/bundle-probe" "$PROBE" report &&
			"$top/bench/mkbundle.sh" "$RES/bundle-sleep" /bin/sleep 3.25; } \
			>/dev/null 2>"$RES/bundle.err"; then
			log "building the OCI bundle failed: $(cat "$RES/bundle.err")"
		fi
	fi
	start_sboxd
	for id in "${ROWS[@]}"; do
		[ -e "$RES/na-$id" ] && continue
		tool=$(tool_of "$id")
		if ! command -v "$tool" >/dev/null 2>&1; then
			case $id in
			firejail) unavailable "$id" "not installed; optional: apt-get install firejail" ;;
			*) unavailable "$id" "$tool not installed" ;;
			esac
			continue
		fi
		if [ "$id" = sboxrun-full ] && [ ${#FULL_SETS[@]} -eq 0 ]; then
			unavailable "$id" "sboxrun knows none of the full-isolation directives yet"
			continue
		fi
		cmd_of "$id"
		wrap_of "$id"
		if ! err=$(timeout 30 "${WRAP[@]}" "${CMD[@]}" 2>&1 </dev/null); then
			unavailable "$id" "failed: $(printf '%s' "$err" | tail -c 300 | tr '\n' ' ')"
			continue
		fi
		probe_cmd_of "$id"
		timeout 30 "${WRAP[@]}" "${CMD[@]}" >"$RES/iso-$id.txt" 2>&1 </dev/null ||
			log "$id: the probe run failed (isolation table incomplete)"
		host_view "$id"
	done
}

# What the host sees of a row's sandbox while it runs: its cgroup and the
# limits there (hostview-ID.txt).  The row runs `sleep 3.25` instead of
# /bin/true; the sleeper is found by that argument.
host_view() { # id
	local id=$1 pid="" i path ctl f bg
	case $id in
	crun | runc) CMD=("$id" run --bundle "$RES/bundle-sleep" "bench-$id-sleep") ;;
	*)
		cmd_of "$id"
		i=$((${#CMD[@]} - 1))
		CMD[i]=/bin/sleep
		CMD+=(3.25)
		;;
	esac
	wrap_of "$id"
	"${WRAP[@]}" "${CMD[@]}" >/dev/null 2>&1 </dev/null &
	bg=$!
	for _ in $(seq 40); do
		pid=$(find_sleeper)
		[ -n "$pid" ] && break
		sleep 0.05
	done
	{
		[ -n "$pid" ] || { echo "error=the sleeper was not found"; wait "$bg" 2>/dev/null; return; }
		while IFS=: read -r _ ctl path; do
			case $ctl in
			memory) f=/sys/fs/cgroup/memory$path/memory.limit_in_bytes ;;
			pids) f=/sys/fs/cgroup/pids$path/pids.max ;;
			devices) f=/sys/fs/cgroup/devices$path/devices.list ;;
			"") f=/sys/fs/cgroup/unified$path/memory.max
			    [ -d /sys/fs/cgroup/unified ] || f=/sys/fs/cgroup$path/memory.max ;;
			*) continue ;;
			esac
			echo "cgroup.${ctl:-v2}=$path"
			[ -r "$f" ] && echo "limit.${ctl:-v2}=$(head -3 "$f" | paste -sd, -)"
		done <"/proc/$pid/cgroup"
		if [ -r "/sys/fs/cgroup/unified$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/pids.max" ]; then
			echo "limit.v2pids=$(cat "/sys/fs/cgroup/unified$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/pids.max")"
		fi
		kill -KILL "$pid" 2>/dev/null
	} >"$RES/hostview-$id.txt"
	wait "$bg" 2>/dev/null
}

# The process whose whole command line is "/bin/sleep 3.25" (a wrapper's
# also holds the words, in a longer line).  One pgrep, not a shell loop over
# /proc: with other users' thousands of processes on this machine, a scan
# per try made the isolation check take minutes.
find_sleeper() {
	pgrep -n -x -f '/bin/sleep 3\.25'
}

# One round of one row: hyperfine, without a shell, JSON out.
measure_row() { # id round
	local id=$1 r=$2 cmdline
	cmd_of "$id"
	wrap_of "$id"
	cmdline=$(printf '%q ' "${CMD[@]}")
	if ! "${WRAP[@]}" hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" \
		--export-json "$RES/lat-$id-r$r.json" -- "$cmdline" \
		>/dev/null 2>>"$RES/lat-$id.err" </dev/null; then
		log "$id: round $r failed (see $RES/lat-$id.err)"
		rm -f "$RES/lat-$id-r$r.json"
	fi
}

# The API path: launches from the same process, no client binary.
# libsbox-nopool: the same through the sboxd whose pool is off.  The probe
# launches with the measured policy: a pool keeps a few shapes per user
# (the whole policy is the shape), and a probe of another shape would
# evict the measured one.
api_available() { # fork|direct|libsbox|libsbox-nopool|fork-paced|libsbox-paced
	[ -x "$B/apibench" ] || return 1
	case $1 in
	fork | direct | fork-paced) return 0 ;;
	libsbox | libsbox-paced) [ -n "$SBOXD_PID" ] || return 1 ;;
	libsbox-nopool) [ -n "$NOPOOL_PID" ] || return 1 ;;
	*) return 1 ;;
	esac
	api_args "$1"
	"$B/apibench" -n 1 -w 0 "${API[@]}" >/dev/null 2>&1
}

api_args() { # mode -> API array: apibench's arguments after the counts
	local s
	API=()
	# *-paced: API_PAUSE_MS of idle before each timed launch, the latency of
	# a launch that does not follow another at once (the pool refilled).
	case $1 in *-paced) API=(-p "$API_PAUSE_MS") ;; esac
	case $1 in
	fork | fork-paced) API+=(fork) ;;
	direct | libsbox | libsbox-nopool | libsbox-paced)
		for s in "${FULL_SETS[@]}"; do
			API+=(-s "$s")
		done
		case $1 in
		libsbox | libsbox-paced) API+=(-S "$SBOXD_SOCK" -P "$SBOXD_PID" libsbox) ;;
		libsbox-nopool) API+=(-S "$NOPOOL_SOCK" -P "$NOPOOL_PID" libsbox) ;;
		*) API+=(direct) ;;
		esac
		;;
	*) ;;
	esac
}

api_round() { # round
	local m
	echo "pause_ms=$API_PAUSE_MS" >"$RES/api-paced.txt"
	for m in fork direct libsbox libsbox-nopool fork-paced libsbox-paced; do
		api_available "$m" || continue
		api_args "$m"
		"$B/apibench" -n $((API_N / ROUNDS)) -w "$WARMUP" -o "$RES/api-$m-r$1.raw" \
			"${API[@]}" >"$RES/api-$m-r$1.json" 2>>"$RES/api-$m.err" ||
			log "apibench $m, round $1 failed (see $RES/api-$m.err)"
	done
}

# Throughput, and whatever launches leave behind (namespaces, cgroups, veths).
count_ns() { # type: distinct namespaces of that type over all processes
	stat -L -c %i /proc/[0-9]*/ns/"$1" 2>/dev/null | sort -u | wc -l
}

# sbox names a sandbox's cgroup sbox-LAUNCHERPID-N (sandbox/cgroup.c): one
# whose launcher is gone is left over; sboxd's own should be none when idle.
sbox_cgroups() { # stale|sboxd|all
	local d pid n=0
	while read -r d; do
		pid=${d##*/sbox-}
		pid=${pid%%-*}
		case $1 in
		stale) [ -d "/proc/$pid" ] || n=$((n + 1)) ;;
		sboxd) [ "$pid" = "$SBOXD_PID" ] && n=$((n + 1)) ;;
		*) n=$((n + 1)) ;;
		esac
	done < <(find /sys/fs/cgroup -mindepth 2 -type d -name 'sbox-[0-9]*-[0-9]*' 2>/dev/null)
	echo "$n"
}

# What sboxd NAME (its pid) holds: fds, children, cgroups.  With a pool,
# these include the prepared sandboxes, the same number before and after
# once the pool has refilled.
sboxd_snapshot() { # prefix pid
	echo "sbox_cgroups_$1=$(SBOXD_PID=$2 sbox_cgroups sboxd)"
	echo "$1_fds=$(find /proc/"$2"/fd -mindepth 1 2>/dev/null | wc -l)"
	echo "$1_children=$(grep -l "^PPid:.$2\$" /proc/[0-9]*/status 2>/dev/null | wc -l)"
}

leak_snapshot() {
	echo "sbox_cgroups_stale=$(sbox_cgroups stale)"
	echo "sbox_cgroups_all=$(sbox_cgroups all)"
	[ -n "$SBOXD_PID" ] && sboxd_snapshot sboxd "$SBOXD_PID"
	[ -n "$NOPOOL_PID" ] && sboxd_snapshot sboxd_nopool "$NOPOOL_PID"
	echo "all_cgroups=$(find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | wc -l)"
	echo "host_mounts=$(wc -l </proc/1/mountinfo)"
	echo "nsfs_mounts=$(grep -c ' - nsfs ' /proc/1/mountinfo)"
	local t
	for t in net mnt pid ipc uts cgroup; do
		echo "ns_$t=$(count_ns $t)"
	done
	echo "host_links=$(ip -o link 2>/dev/null | wc -l)"
	echo "sbox_init_procs=$(grep -lx 'sbox-init' /proc/[0-9]*/comm 2>/dev/null | wc -l)"
	echo "zombies=$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)"
	[ -n "$SBOXD_PID" ] &&
		echo "sboxd_rss_kb=$(awk '/VmRSS/ { print $2 }' /proc/"$SBOXD_PID"/status)"
}

# The counts that are sbox's alone (report.py's leak verdict): none may
# grow.  Teardown may run off sboxd's loop and a pool refills after the
# last launch, so the check waits for them to settle, up to 20 s.
LEAK_OWN="sbox_cgroups_stale sbox_cgroups_sboxd sboxd_fds sboxd_children"
LEAK_OWN="$LEAK_OWN sbox_cgroups_sboxd_nopool sboxd_nopool_fds sboxd_nopool_children"

leak_grown() { # before after: the own counts that grew, as "key+N ..."
	local k b a out=""
	for k in $LEAK_OWN; do
		b=$(sed -n "s/^$k=//p" "$1") a=$(sed -n "s/^$k=//p" "$2")
		[ -n "$b" ] && [ -n "$a" ] && [ "$a" -gt "$b" ] && out="$out $k+$((a - b))"
	done
	echo "${out# }"
}

settled_leak_snapshot() { # before after
	local i
	for i in $(seq 20); do
		sleep 1
		leak_snapshot >"$2"
		[ -z "$(leak_grown "$1" "$2")" ] && break
	done
	echo "settle_s=$i" >>"$2"
}

# The own counts alone, for comparing two snapshots.
own_counts() { # snapshot file
	local k
	for k in $LEAK_OWN; do
		grep "^$k=" "$1"
	done
}

# A pool holds sandboxes per shape it has seen: the "before" count is taken
# once the throughput's shape has been launched and the pool has refilled
# (two snapshots 1 s apart agree, up to 15 s), so that a pool that grew to
# hold it is not counted as a leak.
stable_leak_snapshot() { # file
	local i
	leak_snapshot >"$1"
	for i in $(seq 15); do
		sleep 1
		leak_snapshot >"$1.next"
		[ "$(own_counts "$1")" = "$(own_counts "$1.next")" ] && break
		mv "$1.next" "$1"
	done
	rm -f "$1.next"
}

throughput() {
	local c modes=() m clients
	# Through sboxd: libsbox in-process clients when built, else sboxrun
	# client processes; with the pool off at the target's 4 clients; the
	# direct library for comparison (only as a stand-in in a quick run).
	if api_available libsbox; then
		modes+=(libsbox)
		api_available libsbox-nopool && modes+=(libsbox-nopool)
	elif [ -n "$SBOXD_PID" ] && [ ! -e "$RES/na-sboxd" ]; then
		modes+=(sboxrun-client)
	fi
	[ "$QUICK" = 1 ] && [ ${#modes[@]} -gt 0 ] || modes+=(direct)
	for m in "${modes[@]}"; do
		case $m in
		libsbox*) api_args "$m" && "$B/apibench" -n 4 -w 0 "${API[@]}" >/dev/null 2>&1 ;;
		*) ;;
		esac
	done
	stable_leak_snapshot "$RES/leak-before.txt"
	for m in "${modes[@]}"; do
		clients=$TP_CLIENTS
		[ "$m" = libsbox-nopool ] && clients=4
		for c in $clients; do
			log "throughput: $m, $c clients, ${TP_SECONDS}s"
			case $m in
			sboxrun-client)
				"$B/apibench" -t "$TP_SECONDS" -j "$c" fork -- "$top/$B/sboxrun" \
					--socket "$SBOXD_SOCK" "${FULL_CLI[@]}" -- "$TRUE" ;;
			*)
				api_args "$m"
				"$B/apibench" -t "$TP_SECONDS" -j "$c" "${API[@]}" ;;
			esac >"$RES/tp-$m-$c.json" 2>>"$RES/tp.err" ||
				log "throughput $m/$c had failures (see $RES/tp.err)"
		done
	done
	# Let the kernel and sboxd finish tearing sandboxes down before the count.
	settled_leak_snapshot "$RES/leak-before.txt" "$RES/leak-after.txt"
}

# Through sboxd when it runs, the in-process library otherwise; both in a
# full run.
scaling() {
	local k m modes=(direct)
	api_available libsbox && modes=(libsbox)
	[ "$QUICK" = 1 ] || modes=(direct "${modes[@]}")
	[ "${modes[*]}" = "direct direct" ] && modes=(direct)
	for m in "${modes[@]}"; do
		api_available "$m" || continue
		for k in $SCALES; do
			log "scaling: $m with $k live sandboxes"
			api_args "$m"
			"$B/apibench" -n "$SCALE_N" -w 5 -L "$k" "${API[@]}" \
				>"$RES/scale-$m-$k.json" 2>>"$RES/scale.err" ||
				log "scaling $m/$k failed (see $RES/scale.err)"
		done
	done
}

# Floors (bench/floor.c): the kernel's own cost of the same isolation with no
# launcher, sequential (as the API rows), with the scaling run's most live
# sandboxes, and at the throughput target's 4 clients; and fork+exec at 4
# clients, the most any launcher of /bin/true could do here.
floors() {
	local k top=0
	[ -x "$B/floorbench" ] || { log "floors: $B/floorbench not built"; return 0; }
	for k in $SCALES; do [ "$k" -gt "$top" ] && top=$k; done
	log "floors: the kernel alone, 0 and $top live, and 4 clients"
	"$B/floorbench" -n "$SCALE_N" -w 5 >"$RES/floor-0.json" 2>>"$RES/floor.err" ||
		log "floor failed (see $RES/floor.err)"
	[ "$top" -gt 0 ] && { "$B/floorbench" -n "$SCALE_N" -w 5 -L "$top" >"$RES/floor-$top.json" \
		2>>"$RES/floor.err" || log "floor with $top live failed (see $RES/floor.err)"; }
	"$B/floorbench" -t "$TP_SECONDS" -j 4 >"$RES/floor-tp-4.json" 2>>"$RES/floor.err" ||
		log "floor throughput failed (see $RES/floor.err)"
	"$B/apibench" -t "$TP_SECONDS" -j 4 fork >"$RES/tp-fork-4.json" 2>>"$RES/tp.err" ||
		log "fork throughput failed (see $RES/tp.err)"
}

# sboxd's resident memory once every row has run (idle size: start_sboxd).
memory() {
	[ -n "$SBOXD_PID" ] || return 0
	awk '/VmRSS/ { print "sboxd_rss_kb_end=" $2 }' /proc/"$SBOXD_PID"/status >>"$RES/memory.txt"
}
