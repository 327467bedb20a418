/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox's device set, and its enforcement by the kernel's device
 * controller: every device the sandbox may open, as (type, major, minor,
 * access) rules — the base nodes of the private /dev, the granted GPUs'
 * nodes, and the policy's DeviceAllow= entries.  Nothing else can be opened,
 * even when a node shows up inside (bound by a policy, passed as a file
 * descriptor, or made visible by mistake): the kernel answers EPERM.
 *
 *   cgroup v1: "a" into devices.deny, then each rule into devices.allow.
 *   cgroup v2: a BPF_CGROUP_DEVICE program, built from the set in the parent
 *              before clone (P1) and attached to the sandbox's cgroup.
 */
#ifndef SBOX_SANDBOX_DEVICES_H
#define SBOX_SANDBOX_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"

struct sbox_gpu_grant;

#define SBOX_DEV_ANY (-1)

struct sbox_device_rule {
	char type;        /* 'c', 'b', or 'a' (both) */
	int32_t major;    /* SBOX_DEV_ANY: every major */
	int32_t minor;    /* SBOX_DEV_ANY: every minor */
	unsigned access;  /* SBOX_DEV_ACC_* (policy/policy.h) */
};

struct sbox_device_set {
	struct sbox_device_rule *rules;
	size_t n;
	/* DeviceAllow= paths below /dev that the private /dev shows too:
	 * names below /dev ("fuse", "net/tun"), bound from the host's /dev. */
	char **binds;
	size_t n_binds;
};

/* The nodes every sandbox's /dev holds (sandbox/devfs.c) and their rules:
 * null, zero, full, random, urandom, tty, ptmx and the private devpts. */
extern const struct sbox_device_rule sbox_devices_base[];
extern const size_t sbox_n_devices_base;

void sbox_device_set_init(struct sbox_device_set *s);
void sbox_device_set_free(struct sbox_device_set *s);

/* Add a rule; the same (type, major, minor) merges its access. */
int sbox_device_set_add(struct sbox_device_set *s, char type, int32_t major, int32_t minor,
			unsigned access, struct sbox_err *err);

/* The sandbox's set: base + grant (may be NULL) + DeviceAllow=, whose
 * specifiers are resolved here (stat of /dev paths, /proc/devices groups).
 * In the parent, before clone (P1). */
int sbox_device_set_build(struct sbox_device_set *s, const struct sbox_policy *p,
			  const struct sbox_gpu_grant *g, struct sbox_err *err);

/* The same with another /proc/devices (tests). */
int sbox_device_set_build_at(struct sbox_device_set *s, const struct sbox_policy *p,
			     const struct sbox_gpu_grant *g, const char *proc_devices,
			     struct sbox_err *err);

/* "c 195:2 rw", "c 136:* rw", "a *:* rwm": devices.allow's syntax. */
int sbox_device_rule_format(const struct sbox_device_rule *r, char *buf, size_t len);

/* cgroup v1: write "a" to devices.deny, then every rule to devices.allow,
 * both opened below devices_dir_fd (the sandbox's directory in the devices
 * hierarchy).  Then check devices.list says exactly the set. */
int sbox_devices_apply_v1(int devices_dir_fd, const struct sbox_device_set *s,
			  struct sbox_err *err);

/* cgroup v2: load the set as a BPF_CGROUP_DEVICE program; returns its fd
 * (CLOEXEC, the caller's to close) or -1.  Needs CAP_BPF or CAP_SYS_ADMIN.
 * Built once per set and process: the programs of the last few sets stay
 * loaded, keyed by their instructions compared whole, and a set that
 * would load the same program gets a duplicate of its fd. */
int sbox_devices_bpf_load(const struct sbox_device_set *s, struct sbox_err *err);
/* How many programs the cache holds, and how many loads it served. */
void sbox_devices_bpf_cache_stats(size_t *entries, unsigned long *hits);
/* sbox_devices_prepare_base() is sandbox/sandbox.h's. */
/* Attach it to a cgroup v2 directory (BPF_F_ALLOW_MULTI: programs of
 * ancestors still run, and every one must allow). */
int sbox_devices_bpf_attach(int prog_fd, int cgroup_fd, struct sbox_err *err);

/* Device grants are enforced by a device cgroup, which only root can set
 * up (a v2 program needs CAP_BPF/CAP_SYS_ADMIN, v1 rules CAP_SYS_ADMIN):
 * GPUs= and DeviceAllow= fail here for another launcher, rather than
 * give devices nothing would confine. */
int sbox_devices_check_privilege(const struct sbox_policy *p, uid_t launcher_euid,
				 struct sbox_err *err);
/* The same for a GPU the launcher selected itself (sboxrun --gpus N), by
 * its label: refused unless launcher_euid is root. */
int sbox_devices_check_gpu_privilege(const char *gpu, uid_t launcher_euid, struct sbox_err *err);

/* The launch step: put the set in force on the sandbox's cgroup, before
 * the worker can run.  v2: build the program, attach it, close it (the
 * attachment holds it); v1: the writer above.  cgroup_fd is the sandbox's
 * directory fd in the devices hierarchy (v1) or its cgroup2 directory (v2). */
int sbox_devices_enforce(const struct sbox_device_set *s, bool v2, int cgroup_fd,
			 struct sbox_err *err);

/* The same, on the sandbox's cgroup (sandbox/cgroup.h), at P1.  A root
 * launcher must enforce: a failure fails the launch, and so does a cgroup
 * without a devices controller (v1) when the set grants devices beyond
 * the base (GPUs the launcher selected, DeviceAllow=).  An
 * unprivileged launcher can't (sbox_devices_check_privilege() refused its
 * grants): its sandbox has the private /dev alone, nothing beyond what the
 * caller may open anyway. */
struct sbox_cgroup;
int sbox_devices_enforce_cgroup(const struct sbox_device_set *s, const struct sbox_policy *p,
				const struct sbox_cgroup *cg, uid_t launcher_euid,
				struct sbox_err *err);

/* The majors /proc/devices gives a name (fnmatch pattern) of one type
 * ('c' or 'b').  0 (with *n possibly 0), or -1 with errno. */
int sbox_proc_devices_majors(const char *path, char type, const char *pattern,
			     unsigned *majors, size_t max, size_t *n);

#endif
