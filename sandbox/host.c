/* SPDX-License-Identifier: MIT */
/*
 * The host probe (sandbox/host.h): the totals the policy's percentages are
 * taken of, and the layout of the host's cgroup filesystems
 * (sbox_cgroup_host_detect(), declared in sandbox/cgroup.h).
 */
#include "sandbox/host.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>

#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/cgroup_backend.h"

#define CGROUP_FS "/sys/fs/cgroup"

/* A missing or unreadable file reads as 0: "unknown". */
static uint64_t read_proc_u64(const char *proc, const char *file)
{
	char path[PATH_MAX], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", proc, file);
	n = sbox_cg_read(AT_FDCWD, path, buf, sizeof(buf));
	return n > 0 ? strtoull(buf, NULL, 10) : 0;
}

void sbox_host_probe_in(struct sbox_host *h, const char *proc)
{
	struct sysinfo si;
	uint64_t pid_max = read_proc_u64(proc, "sys/kernel/pid_max");
	uint64_t threads_max = read_proc_u64(proc, "sys/kernel/threads-max");

	h->mem_total = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
	/* systemd's TasksMax=% base: the smaller of the two kernel limits. */
	h->tasks_total = pid_max && threads_max ? (pid_max < threads_max ? pid_max : threads_max)
						: (pid_max ? pid_max : threads_max);
}

void sbox_host_probe(struct sbox_host *h)
{
	sbox_host_probe_in(h, "/proc");
}

void sbox_host_hard_limits(uint64_t *hard)
{
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++) {
		struct rlimit rl;

		hard[r] = UINT64_MAX;
		if (getrlimit(r, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
			hard[r] = rl.rlim_max;
	}
}

/* Whether the comma-separated options hold name, whole. */
static bool opts_have(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; *p; ) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, len) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The controllers sbox uses among a v1 mount's super options
 * ("rw,memory"), as SBOX_CG_* bits. */
static unsigned v1_mask_of(const char *opts)
{
	static const struct { const char *name; unsigned bit; } known[] = {
		{ "memory", SBOX_CG_MEMORY }, { "pids", SBOX_CG_PIDS },
		{ "cpu", SBOX_CG_CPU }, { "cpuacct", SBOX_CG_CPUACCT },
		{ "cpuset", SBOX_CG_CPUSET }, { "blkio", SBOX_CG_BLKIO },
		{ "freezer", SBOX_CG_FREEZER }, { "devices", SBOX_CG_DEVICES },
	};
	unsigned mask = 0;

	for (size_t i = 0; i < SBOX_ARRAY_SIZE(known); i++)
		if (opts_have(opts, known[i].name))
			mask |= known[i].bit;
	return mask;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; ) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* A mountinfo line's mount point, filesystem type and super options; false
 * for a line of another shape. */
static bool parse_mount(const char *line, char mnt[SBOX_CG_PATH_MAX], char fstype[32],
			char opts[512])
{
	const char *sep = strstr(line, " - ");

	/* id parent major:minor root MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
	if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
	    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
		return false;
	unescape_octal(mnt);
	return true;
}

/* Every cgroup mount: the v1 hierarchies sbox uses (the first mount of each
 * controller), and into v2 the first cgroup2 mount. */
static void scan_mountinfo(struct sbox_cgroup_host *h, char *v2, size_t v2_len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char mnt[SBOX_CG_PATH_MAX], fstype[32], opts[512];

		if (!parse_mount(line, mnt, fstype, opts))
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && v2[0] == '\0') {
			snprintf(v2, v2_len, "%s", mnt);
		} else if (strcmp(fstype, "cgroup") == 0) {
			unsigned mask = v1_mask_of(opts);
			bool dup = false;

			for (size_t i = 0; i < h->n_v1; i++)
				dup |= (h->v1[i].mask & mask) != 0;
			if (!mask || dup || h->n_v1 >= SBOX_CG_MOUNTS_MAX)
				continue;
			h->v1[h->n_v1].mask = mask;
			snprintf(h->v1[h->n_v1].path, sizeof(h->v1[0].path), "%s", mnt);
			snprintf(h->v1[h->n_v1].opts, sizeof(h->v1[0].opts), "%s", opts);
			h->n_v1++;
		}
	}
	free(line);
	fclose(f);
}

int sbox_host_favordynmods(const char *mountinfo, unsigned *mounts, unsigned *with)
{
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL;
	size_t cap = 0;

	*mounts = *with = 0;
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char mnt[SBOX_CG_PATH_MAX], fstype[32], opts[512];

		if (!parse_mount(line, mnt, fstype, opts) ||
		    (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0))
			continue;
		(*mounts)++;
		*with += opts_have(opts, "favordynmods");
	}
	free(line);
	fclose(f);
	return 0;
}

/* Which cgroup version rules, and where it is mounted. */
static void detect_layout(struct sbox_cgroup_host *h)
{
	char v2[SBOX_CG_PATH_MAX] = "";
	struct statfs sf;

	if (statfs(CGROUP_FS, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		/* Pure v2 (systemd's unified layout). */
		h->version = 2;
		snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", CGROUP_FS);
		return;
	}
	/* Hybrid or legacy: the v1 controllers rule; a cgroup2 mount beside
	 * them (systemd's "unified") holds no controller. */
	scan_mountinfo(h, v2, sizeof(v2));
	if (h->n_v1 > 0) {
		h->version = 1;
	} else if (v2[0]) {
		h->version = 2;
		snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", v2);
	}
}

/* The caller's own v2 cgroup, the "0::" line: where a delegated subtree
 * lies (sbox_cgroup_default_parent()). */
static void read_self(struct sbox_cgroup_host *h)
{
	char buf[8192];

	if (sbox_cg_read(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "0::", 3) == 0) {
			snprintf(h->self, sizeof(h->self), "%.*s", (int)strcspn(l + 3, "\n"), l + 3);
			return;
		}
	}
}

int sbox_cgroup_host_detect(struct sbox_cgroup_host *h, struct sbox_err *err)
{
	memset(h, 0, sizeof(*h));
	detect_layout(h);
	read_self(h);
	sbox_host_probe(&h->host);
	(void)err;
	return 0;
}
