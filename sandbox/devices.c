/* SPDX-License-Identifier: MIT */
/*
 * The device set and the two ways the kernel enforces it (see devices.h).
 *
 * The v2 program is emitted as raw BPF instructions and loaded with the
 * bpf(2) syscall, as systemd (bpf-devices.c), crun and runc do: it is a
 * straight list of comparisons, libbpf would only wrap the two syscalls, and
 * the privileged side keeps one library fewer (docs/gpus.md).
 */
#include "sandbox/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/dir_devices.h"
#include "policy/values.h"
#include "sandbox/cgroup.h"
#include "sandbox/gpu_grant.h"

#define RW (SBOX_DEV_ACC_READ | SBOX_DEV_ACC_WRITE)
#define ALL_ACCESS (SBOX_DEV_ACC_READ | SBOX_DEV_ACC_WRITE | SBOX_DEV_ACC_MKNOD)

/* The nodes of sandbox/devfs.c.  Read and write only: /dev is read-only
 * inside and nothing there needs mknod. */
const struct sbox_device_rule sbox_devices_base[] = {
	{ 'c', 1, 3, RW },              /* null */
	{ 'c', 1, 5, RW },              /* zero */
	{ 'c', 1, 7, RW },              /* full */
	{ 'c', 1, 8, RW },              /* random */
	{ 'c', 1, 9, RW },              /* urandom */
	{ 'c', 5, 0, RW },              /* tty */
	{ 'c', 5, 2, RW },              /* ptmx of the private devpts */
	{ 'c', 136, SBOX_DEV_ANY, RW }, /* its pts/N */
};
const size_t sbox_n_devices_base = SBOX_ARRAY_SIZE(sbox_devices_base);

/* Base node names, so that DeviceAllow=/dev/null does not bind twice. */
static const char *const base_names[] = { "null", "zero", "full", "random", "urandom", "tty", "ptmx" };

void sbox_device_set_init(struct sbox_device_set *s)
{
	memset(s, 0, sizeof(*s));
}

void sbox_device_set_free(struct sbox_device_set *s)
{
	free(s->rules);
	sbox_strv_free(s->binds);
	sbox_device_set_init(s);
}

int sbox_device_set_add(struct sbox_device_set *s, char type, int32_t major, int32_t minor,
			unsigned access, struct sbox_err *err)
{
	struct sbox_device_rule *v;

	for (size_t i = 0; i < s->n; i++) {
		struct sbox_device_rule *r = &s->rules[i];

		if (r->type == type && r->major == major && r->minor == minor) {
			r->access |= access;
			return 0;
		}
	}
	v = realloc(s->rules, (s->n + 1) * sizeof(*v));
	if (!v)
		return sbox_fail(err, ENOMEM, "adding a device rule");
	s->rules = v;
	v[s->n++] = (struct sbox_device_rule){ type, major, minor, access };
	return 0;
}

int sbox_proc_devices_majors(const char *path, char type, const char *pattern,
			     unsigned *majors, size_t max, size_t *n)
{
	FILE *f = fopen(path, "re");
	char line[256];
	char section = 0;

	*n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned major;
		char name[200];

		if (strncmp(line, "Character devices:", 18) == 0) {
			section = 'c';
			continue;
		}
		if (strncmp(line, "Block devices:", 14) == 0) {
			section = 'b';
			continue;
		}
		if (section != type || sscanf(line, "%u %199s", &major, name) != 2)
			continue;
		if (fnmatch(pattern, name, 0) != 0)
			continue;
		if (*n < max)
			majors[*n] = major;
		++*n;
	}
	fclose(f);
	if (*n > max)
		*n = max;
	return 0;
}

static bool is_base_name(const char *name)
{
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(base_names); i++)
		if (strcmp(base_names[i], name) == 0)
			return true;
	return false;
}

static int add_bind(struct sbox_device_set *s, const char *name, struct sbox_err *err)
{
	char **v;

	if (is_base_name(name))
		return 0;
	for (size_t i = 0; i < s->n_binds; i++)
		if (strcmp(s->binds[i], name) == 0)
			return 0;
	v = realloc(s->binds, (s->n_binds + 2) * sizeof(*v));
	if (!v)
		return sbox_fail(err, ENOMEM, "adding /dev/%s", name);
	s->binds = v;
	v[s->n_binds] = strdup(name);
	if (!v[s->n_binds])
		return sbox_fail(err, ENOMEM, "adding /dev/%s", name);
	v[++s->n_binds] = NULL;
	return 0;
}

/* "/dev/char/10:229": numbers only; systemd reads these without a stat. */
static bool numbered_path(const char *spec, char *type, unsigned *major, unsigned *minor)
{
	int n = 0;

	if (sscanf(spec, "/dev/char/%u:%u%n", major, minor, &n) == 2 && spec[n] == '\0') {
		*type = 'c';
		return true;
	}
	n = 0;
	if (sscanf(spec, "/dev/block/%u:%u%n", major, minor, &n) == 2 && spec[n] == '\0') {
		*type = 'b';
		return true;
	}
	return false;
}

static int add_allow(struct sbox_device_set *s, const struct sbox_device_allow *a,
		     const char *proc_devices, struct sbox_err *err)
{
	unsigned major, minor, majors[64];
	size_t n;
	struct stat st;
	char type;

	if (numbered_path(a->spec, &type, &major, &minor))
		return sbox_device_set_add(s, type, (int32_t)major, (int32_t)minor, a->access, err);
	if (a->spec[0] == '/') {
		if (stat(a->spec, &st) < 0)
			return sbox_fail(err, errno, "DeviceAllow=%s", a->spec);
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			return sbox_fail(err, 0, "DeviceAllow=%s: not a device node", a->spec);
		if (sbox_device_set_add(s, S_ISCHR(st.st_mode) ? 'c' : 'b', (int32_t)major(st.st_rdev),
					(int32_t)minor(st.st_rdev), a->access, err) < 0)
			return -1;
		/* A node the policy allows is one it means to use: show it
		 * in the private /dev under its host name. */
		return add_bind(s, a->spec + strlen("/dev/"), err);
	}
	type = a->spec[0] == 'c' ? 'c' : 'b';
	const char *group = strchr(a->spec, '-') + 1;
	if (sbox_proc_devices_majors(proc_devices, type, group, majors, SBOX_ARRAY_SIZE(majors), &n) < 0)
		return sbox_fail(err, errno, "DeviceAllow=%s: reading %s", a->spec, proc_devices);
	if (n == 0)
		return sbox_fail(err, 0, "DeviceAllow=%s: %s has no %s device group '%s'", a->spec,
				 proc_devices, type == 'c' ? "character" : "block", group);
	for (size_t i = 0; i < n; i++)
		if (sbox_device_set_add(s, type, (int32_t)majors[i], SBOX_DEV_ANY, a->access, err) < 0)
			return -1;
	return 0;
}

/* A fresh set of the base nodes' rules, in their order. */
static int base_set(struct sbox_device_set *s, struct sbox_err *err)
{
	sbox_device_set_init(s);
	for (size_t i = 0; i < sbox_n_devices_base; i++) {
		const struct sbox_device_rule *r = &sbox_devices_base[i];

		if (sbox_device_set_add(s, r->type, r->major, r->minor, r->access, err) < 0)
			return -1;
	}
	return 0;
}

int sbox_device_set_build_at(struct sbox_device_set *s, const struct sbox_policy *p,
			     const struct sbox_gpu_grant *g, const char *proc_devices,
			     struct sbox_err *err)
{
	if (base_set(s, err) < 0)
		goto fail;
	/* The grant's nodes: the granted GPUs' own and their driver's shared
	 * ones, with the numbers sbox_gpu_grant_prepare() checked. */
	for (size_t i = 0; g && i < g->n_nodes; i++)
		if (sbox_device_set_add(s, 'c', (int32_t)g->nodes[i].major, (int32_t)g->nodes[i].minor,
					RW, err) < 0)
			goto fail;
	for (size_t i = 0; i < p->devices.n_allow; i++)
		if (add_allow(s, &p->devices.allow[i], proc_devices, err) < 0)
			goto fail;
	return 0;
fail:
	sbox_device_set_free(s);
	return -1;
}

int sbox_device_set_build(struct sbox_device_set *s, const struct sbox_policy *p,
			  const struct sbox_gpu_grant *g, struct sbox_err *err)
{
	return sbox_device_set_build_at(s, p, g, "/proc/devices", err);
}

int sbox_device_rule_format(const struct sbox_device_rule *r, char *buf, size_t len)
{
	char major[16], minor[16], acc[4];

	if (r->major == SBOX_DEV_ANY)
		snprintf(major, sizeof(major), "*");
	else
		snprintf(major, sizeof(major), "%d", (int)r->major);
	if (r->minor == SBOX_DEV_ANY)
		snprintf(minor, sizeof(minor), "*");
	else
		snprintf(minor, sizeof(minor), "%d", (int)r->minor);
	return snprintf(buf, len, "%c %s:%s %s", r->type, major, minor,
			sbox_format_device_access(r->access, acc));
}

/* cgroup v1: the device rules are lines written to devices.deny and
 * devices.allow. */

static int open_at(int dir_fd, const char *file, struct sbox_err *err)
{
	int fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return sbox_fail(err, errno, "opening %s of the sandbox's devices cgroup", file);
	return fd;
}

/* One rule per write(): that is how the controller parses them, on one
 * open file as well as on many. */
static int write_rule(int fd, const char *file, const char *text, struct sbox_err *err)
{
	size_t len = strlen(text);

	if (write(fd, text, len) != (ssize_t)len)
		return sbox_fail(err, errno, "writing '%s' to %s of the sandbox's devices cgroup", text, file);
	return 0;
}

static int write_at(int dir_fd, const char *file, const char *text, struct sbox_err *err)
{
	_cleanup_close_ int fd = open_at(dir_fd, file, err);

	if (fd < 0)
		return -1;
	return write_rule(fd, file, text, err);
}

/* Every rule of the set into devices.allow, opened once (an open and a
 * close per rule were two thirds of the writer's system calls). */
static int write_allow(int dir_fd, const struct sbox_device_set *s, struct sbox_err *err)
{
	_cleanup_close_ int fd = open_at(dir_fd, "devices.allow", err);
	char rule[64];

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		sbox_device_rule_format(&s->rules[i], rule, sizeof(rule));
		if (write_rule(fd, "devices.allow", rule, err) < 0)
			return -1;
	}
	return 0;
}

static bool list_has(const char *list, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = list; (p = strstr(p, line)); p += len)
		if ((p == list || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

int sbox_devices_apply_v1(int devices_dir_fd, const struct sbox_device_set *s,
			  struct sbox_err *err)
{
	char rule[64];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *list = NULL;
	size_t lines = 0, len = 0, cap = 0;

	/* Deny everything first: a fresh cgroup inherits "a *:* rwm". */
	if (write_at(devices_dir_fd, "devices.deny", "a", err) < 0 ||
	    write_allow(devices_dir_fd, s, err) < 0)
		return -1;
	/* Read it back: what the kernel holds is what the sandbox gets. */
	fd = openat(devices_dir_fd, "devices.list", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbox_fail(err, errno, "opening devices.list of the sandbox's devices cgroup");
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *grown = realloc(list, cap + 8192);

			if (!grown)
				return sbox_fail(err, ENOMEM, "reading devices.list of the sandbox's devices cgroup");
			list = grown;
			cap += 8192;
		}
		n = read(fd, list + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sbox_fail(err, errno, "reading devices.list of the sandbox's devices cgroup");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	list[len] = '\0';
	for (const char *c = list; *c; c++)
		lines += *c == '\n';
	for (size_t i = 0; i < s->n; i++) {
		sbox_device_rule_format(&s->rules[i], rule, sizeof(rule));
		if (!list_has(list, rule))
			return sbox_fail(err, EPROTO, "the sandbox's devices cgroup lacks '%s' after writing it", rule);
	}
	if (lines != s->n)
		return sbox_fail(err, EPROTO, "the sandbox's devices cgroup holds %zu rules, not the %zu written",
				 lines, s->n);
	return 0;
}

/* cgroup v2 has no device files: a BPF program attached to the cgroup
 * decides each open. */

/* The few instruction forms the program needs (the kernel's filter.h
 * macros are not part of the uapi). */
static struct bpf_insn ldx_w(int dst, int src, short off)
{
	return (struct bpf_insn){ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = (uint8_t)dst,
				  .src_reg = (uint8_t)src, .off = off };
}

static struct bpf_insn alu_k(int op, int dst, int32_t imm)
{
	return (struct bpf_insn){ .code = (uint8_t)(BPF_ALU | op | BPF_K), .dst_reg = (uint8_t)dst, .imm = imm };
}

static struct bpf_insn mov64_x(int dst, int src)
{
	return (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = (uint8_t)dst,
				  .src_reg = (uint8_t)src };
}

static struct bpf_insn mov64_k(int dst, int32_t imm)
{
	return (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = (uint8_t)dst, .imm = imm };
}

static struct bpf_insn jne_k(int dst, int32_t imm, short off)
{
	return (struct bpf_insn){ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = (uint8_t)dst,
				  .off = off, .imm = imm };
}

static struct bpf_insn exit_insn(void)
{
	return (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
}

static uint32_t bpf_access(unsigned access)
{
	return ((access & SBOX_DEV_ACC_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0) |
	       ((access & SBOX_DEV_ACC_READ) ? BPF_DEVCG_ACC_READ : 0) |
	       ((access & SBOX_DEV_ACC_WRITE) ? BPF_DEVCG_ACC_WRITE : 0);
}

/*
 * r2 = type, r3 = requested access, r4 = major, r5 = minor; then one block
 * per rule: each test that fails jumps past the block's "return 1"; after
 * the last block, "return 0".  Within a block, k instructions: a jump at
 * position j skips (k - 1 - j) instructions to land on the next block.
 */
static size_t emit_rule(struct bpf_insn *out, const struct sbox_device_rule *r)
{
	struct bpf_insn b[8];
	size_t k = 0, jumps[4], nj = 0;
	uint32_t acc = bpf_access(r->access);
	uint32_t all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

	if (r->type != 'a') {
		jumps[nj++] = k;
		b[k++] = jne_k(2, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
	}
	if (acc != all) {
		/* Every requested bit must be allowed: (req & ~acc) == 0. */
		b[k++] = mov64_x(1, 3);
		b[k++] = alu_k(BPF_AND, 1, (int32_t)(~acc & all));
		jumps[nj++] = k;
		b[k++] = jne_k(1, 0, 0);
	}
	if (r->major != SBOX_DEV_ANY) {
		jumps[nj++] = k;
		b[k++] = jne_k(4, r->major, 0);
	}
	if (r->minor != SBOX_DEV_ANY) {
		jumps[nj++] = k;
		b[k++] = jne_k(5, r->minor, 0);
	}
	b[k++] = mov64_k(0, 1);
	b[k++] = exit_insn();
	for (size_t i = 0; i < nj; i++)
		b[jumps[i]].off = (short)(k - 1 - jumps[i]);
	memcpy(out, b, k * sizeof(*b));
	return k;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* The program for the set: a header loading the context into r2-r5, one
 * block per rule, "return 0".  NULL on ENOMEM. */
static struct bpf_insn *build_program(const struct sbox_device_set *s, size_t *len)
{
	size_t n = 0;
	struct bpf_insn *prog = calloc(8 + s->n * 8, sizeof(*prog));

	if (!prog)
		return NULL;
	/* struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
	 * access_type = access << 16 | type. */
	prog[n++] = ldx_w(2, 1, 0);
	prog[n++] = alu_k(BPF_AND, 2, 0xffff);
	prog[n++] = ldx_w(3, 1, 0);
	prog[n++] = alu_k(BPF_RSH, 3, 16);
	prog[n++] = ldx_w(4, 1, 4);
	prog[n++] = ldx_w(5, 1, 8);
	for (size_t i = 0; i < s->n; i++)
		n += emit_rule(prog + n, &s->rules[i]);
	prog[n++] = mov64_k(0, 0);
	prog[n++] = exit_insn();
	*len = n;
	return prog;
}

static int load_program(const struct bpf_insn *prog, size_t n, struct sbox_err *err)
{
	static const char license[] = "MIT";
	union bpf_attr attr;
	char log[4096];
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "sbox_devices");
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	/* Again with the verifier's log, for the message. */
	int e = errno;
	log[0] = '\0';
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	if (e == EPERM)
		return sbox_fail(err, e, "loading the device program (BPF_CGROUP_DEVICE) needs CAP_BPF or CAP_SYS_ADMIN");
	return sbox_fail(err, e, "loading the device program (BPF_CGROUP_DEVICE, %zu instructions)%s%.200s", n,
			 log[0] ? "; verifier: " : "", log);
}

/*
 * A long-lived launcher (sboxd) loads the program of the same few device
 * sets again and again, and each load runs the verifier.  The cache keeps
 * the loaded programs of the last PROG_SLOTS sets, keyed by the program's
 * instructions themselves, compared whole: exactly what the kernel would
 * be given, so two sets share a program only when they would load the
 * same one, never by a pointer, a hash or a name.  The kernel's program
 * is immutable once loaded.  Callers get their own fd (a duplicate), to
 * close as before; the cache's fds are CLOEXEC, and a sandbox's init
 * closes every launcher fd (C0, C6c).  A mutex, as for the seccomp cache:
 * a libsbox caller may launch from several threads.
 */
#define PROG_SLOTS 8

struct prog_slot {
	struct bpf_insn *insns;  /* NULL: empty */
	size_t n;
	int fd;
	unsigned long used;      /* progs.clock when last served */
};

static struct {
	pthread_mutex_t lock;
	struct prog_slot slot[PROG_SLOTS];
	unsigned long clock, hits;
} progs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Under the lock: the slot holding exactly this program, or NULL. */
static struct prog_slot *prog_cache_find(const struct bpf_insn *insns, size_t n)
{
	for (size_t i = 0; i < PROG_SLOTS; i++) {
		struct prog_slot *c = &progs.slot[i];

		if (c->insns && c->n == n && memcmp(c->insns, insns, n * sizeof(*insns)) == 0)
			return c;
	}
	return NULL;
}

/* Under the lock: a duplicate of the cached program's fd, or -1. */
static int prog_cache_get(const struct bpf_insn *insns, size_t n)
{
	struct prog_slot *c = prog_cache_find(insns, n);
	int fd;

	if (!c)
		return -1;
	fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	c->used = ++progs.clock;
	progs.hits++;
	return fd;
}

/* Under the lock: keep insns (taken) and a duplicate of fd in the least
 * recently used slot.  Out of fds or memory, nothing is kept. */
static void prog_cache_put(struct bpf_insn *insns, size_t n, int fd)
{
	struct prog_slot *victim = &progs.slot[0];
	int own;

	/* Another thread may have loaded the same program meanwhile. */
	if (prog_cache_find(insns, n) || (own = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(insns);
		return;
	}
	for (size_t i = 0; i < PROG_SLOTS; i++) {
		if (!progs.slot[i].insns) {
			victim = &progs.slot[i];
			break;
		}
		if (progs.slot[i].used < victim->used)
			victim = &progs.slot[i];
	}
	if (victim->insns) {
		free(victim->insns);
		close(victim->fd);
	}
	*victim = (struct prog_slot){ .insns = insns, .n = n, .fd = own, .used = ++progs.clock };
}

int sbox_devices_bpf_load(const struct sbox_device_set *s, struct sbox_err *err)
{
	size_t n = 0;
	struct bpf_insn *prog = build_program(s, &n);
	int fd;

	if (!prog)
		return sbox_fail(err, ENOMEM, "building the device program");
	pthread_mutex_lock(&progs.lock);
	fd = prog_cache_get(prog, n);
	pthread_mutex_unlock(&progs.lock);
	if (fd >= 0) {
		free(prog);
		return fd;
	}
	fd = load_program(prog, n, err);
	if (fd < 0) {
		free(prog);
		return -1;
	}
	pthread_mutex_lock(&progs.lock);
	prog_cache_put(prog, n, fd);
	pthread_mutex_unlock(&progs.lock);
	return fd;
}

void sbox_devices_bpf_cache_stats(size_t *entries, unsigned long *hits)
{
	pthread_mutex_lock(&progs.lock);
	*entries = 0;
	for (size_t i = 0; i < PROG_SLOTS; i++)
		*entries += progs.slot[i].insns != NULL;
	*hits = progs.hits;
	pthread_mutex_unlock(&progs.lock);
}

int sbox_devices_prepare_base(struct sbox_err *err)
{
	struct sbox_device_set s;
	int fd;

	if (base_set(&s, err) < 0) {
		sbox_device_set_free(&s);
		return -1;
	}
	fd = sbox_devices_bpf_load(&s, err);
	sbox_device_set_free(&s);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int sbox_devices_bpf_attach(int prog_fd, int cgroup_fd, struct sbox_err *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* MULTI, as systemd does: a program an ancestor holds (a systemd
	 * unit's) still runs, and the sandbox's can only narrow it. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return sbox_fail(err, errno, "attaching the device program to the sandbox's cgroup");
	return 0;
}

int sbox_devices_check_gpu_privilege(const char *gpu, uid_t launcher_euid, struct sbox_err *err)
{
	if (launcher_euid == 0)
		return 0;
	return sbox_fail(err, EPERM, "GPUs=%s: granting a GPU needs a device cgroup, which only root can set up (run sboxrun as root, or ask sboxd)",
			 gpu);
}

int sbox_devices_check_privilege(const struct sbox_policy *p, uid_t launcher_euid,
				 struct sbox_err *err)
{
	if (launcher_euid == 0)
		return 0;
	if (p->devices.gpus.n > 0)
		return sbox_devices_check_gpu_privilege(p->devices.gpus.v[0], launcher_euid, err);
	if (p->devices.n_allow > 0)
		return sbox_fail(err, EPERM, "DeviceAllow=%s: allowing a device needs a device cgroup, which only root can set up (run sboxrun as root, or ask sboxd)",
				 p->devices.allow[0].spec);
	return 0;
}

int sbox_devices_enforce(const struct sbox_device_set *s, bool v2, int cgroup_fd,
			 struct sbox_err *err)
{
	int prog, r;

	if (cgroup_fd < 0)
		return sbox_fail(err, EBADF, "enforcing the device set: the sandbox has no device cgroup");
	if (!v2)
		return sbox_devices_apply_v1(cgroup_fd, s, err);
	prog = sbox_devices_bpf_load(s, err);
	if (prog < 0)
		return -1;
	r = sbox_devices_bpf_attach(prog, cgroup_fd, err);
	close(prog);
	return r;
}

int sbox_devices_enforce_cgroup(const struct sbox_device_set *s, const struct sbox_policy *p,
				const struct sbox_cgroup *cg, uid_t launcher_euid,
				struct sbox_err *err)
{
	/* The set, not GPUs=, says what is granted: the launcher's GPU
	 * selection (sboxd's --gpus N) leaves GPUs= empty. */
	bool grants = p->devices.gpus.n > 0 || p->devices.n_allow > 0 ||
		      s->n > sbox_n_devices_base;
	int fd;

	if (launcher_euid != 0)
		return 0;
	fd = cg ? sbox_cgroup_devices_fd(cg) : -1;
	if (fd < 0) {
		if (!grants)
			return 0;   /* v1 without a devices hierarchy: /dev alone */
		return sbox_fail(err, ENODEV, "%s: the sandbox's cgroup has no devices controller to enforce GPUs= and DeviceAllow= (is the v1 devices hierarchy mounted?)",
				 cg ? sbox_cgroup_path(cg) : "no cgroup");
	}
	if (sbox_devices_enforce(s, sbox_cgroup_is_v2(cg), fd, err) < 0) {
		sbox_err_prefix(err, "device rules of cgroup %s", sbox_cgroup_name(cg));
		return -1;
	}
	return 0;
}
