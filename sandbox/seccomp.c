/* SPDX-License-Identifier: MIT */
#include "sandbox/seccomp.h"
#include "sandbox/seccomp_prebuilt.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/dir_security.h"
#include "policy/syscall_groups.h"
#include "policy/syscall_names.h"

/*
 * The default profile's deny list, in the spirit of Docker's default
 * profile and systemd's groups: what container escapes and kernel exploits
 * have used, and what a worker with no capabilities has no use for.
 * Calls that are only dangerous with some arguments (clone, ioctl, socket,
 * personality) have argument rules instead (add_arg_rules()).
 */
const char sbox_seccomp_default_deny[] =
	"@mount @keyring @module @reboot @swap @raw-io @clock @obsolete @cpu-emulation "
	"unshare setns bpf perf_event_open userfaultfd io_uring_setup io_uring_enter "
	"io_uring_register ptrace process_vm_readv process_vm_writev process_madvise kcmp "
	"pidfd_getfd open_by_handle_at name_to_handle_at acct quotactl quotactl_fd syslog "
	"lookup_dcookie fanotify_init nfsservctl vhangup";

/* The strict profile's allow list: systemd's @system-service, plus self-
 * sandboxing (seccomp, landlock), plus calls newer than systemd's v254
 * tables.  The deny layer still applies on top. */
const char sbox_seccomp_strict_allow[] =
	"@system-service @sandbox @default @pkey sethostname setdomainname "
	"futex_wait futex_wake futex_requeue map_shadow_stack mseal cachestat fchmodat2";

enum arg_rules { ARGS_NONE, ARGS_CLONE, ARGS_CLONE3, ARGS_IOCTL, ARGS_SOCKET, ARGS_PERSONALITY };

struct rule {
	int nr;
	bool deny;              /* deny layer: refused whatever the arguments */
	uint32_t action;        /* ... with this action */
	enum arg_rules args;    /* deny layer: refused for some arguments */
	bool allow;             /* allow layer (strict) */
};

struct plan {
	struct rule *v;
	size_t n, cap;
	uint32_t deny_action;   /* SystemCallErrorNumber= as an action */
};

static struct rule *plan_rule(struct plan *p, int nr)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].nr == nr)
			return &p->v[i];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct rule *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n] = (struct rule){ .nr = nr };
	return &p->v[p->n++];
}

enum op { OP_DENY, OP_ALLOW, OP_STRICT_ALLOW };

struct walk {
	struct plan *plan;
	enum op op;
	uint32_t action;
	bool exact;             /* named one by one, not through a group */
};

static int apply_one(const char *name, void *arg)
{
	struct walk *w = arg;
	int nr = sbox_syscall_resolve(name);
	struct rule *r;

	/* Not a call of the native architecture (mmap2 on x86-64): a group
	 * of systemd's lists every architecture's names. */
	if (nr < 0)
		return 0;
	r = plan_rule(w->plan, nr);
	if (!r)
		return -ENOMEM;
	switch (w->op) {
	case OP_DENY:
		r->deny = true;
		r->action = w->action;
		r->allow = false;
		break;
	case OP_ALLOW:
		/* Only a name given on its own leaves the deny layer, its
		 * argument rules included (SystemCallFilter=ioctl allows
		 * TIOCSTI again); a group only extends the strict allow
		 * list, so "@system-service" can't lift keyctl or setns by
		 * the way. */
		r->allow = true;
		if (w->exact) {
			r->deny = false;
			r->args = ARGS_NONE;
		}
		break;
	case OP_STRICT_ALLOW:
		r->allow = true;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int apply_word(struct walk *w, const char *word)
{
	if (word[0] == '@') {
		w->exact = false;
		return sbox_syscall_group_expand(word, apply_one, w) < 0 ? -EINVAL : 0;
	}
	w->exact = true;
	return apply_one(word, w);
}

static int apply_list(struct plan *p, const char *list, enum op op, uint32_t action)
{
	struct walk w = { .plan = p, .op = op, .action = action };

	while (*list) {
		size_t len = strcspn(list, " ");
		char word[64];
		int r;

		if (len >= sizeof(word))
			return -EINVAL;
		memcpy(word, list, len);
		word[len] = '\0';
		if (len > 0 && (r = apply_word(&w, word)) < 0)
			return r;
		list += len;
		while (*list == ' ')
			list++;
	}
	return 0;
}

static int mark_args(struct plan *p, const char *name, enum arg_rules kind)
{
	int nr = sbox_syscall_resolve(name);
	struct rule *r;

	if (nr < 0)
		return 0;
	r = plan_rule(p, nr);
	if (!r)
		return -ENOMEM;
	r->args = kind;
	return 0;
}

static int build_plan(struct plan *p, const struct sbox_security *s, struct sbox_err *err)
{
	int r = 0;

	p->deny_action = s->syscall_errno ? SCMP_ACT_ERRNO((uint32_t)s->syscall_errno) :
		SCMP_ACT_KILL_PROCESS;
	r = apply_list(p, sbox_seccomp_default_deny, OP_DENY, p->deny_action);
	if (r == 0)
		r = mark_args(p, "clone", ARGS_CLONE);
	if (r == 0)
		r = mark_args(p, "ioctl", ARGS_IOCTL);
	if (r == 0)
		r = mark_args(p, "socket", ARGS_SOCKET);
	if (r == 0)
		r = mark_args(p, "personality", ARGS_PERSONALITY);
	if (r == 0)
		r = mark_args(p, "clone3", ARGS_CLONE3);
	if (r == 0 && s->seccomp == SBOX_SECCOMP_STRICT)
		r = apply_list(p, sbox_seccomp_strict_allow, OP_STRICT_ALLOW, 0);
	if (r < 0)
		return sbox_fail(err, -r, "building the system call filter's profile");

	/* SystemCallFilter=, in order: a later entry wins. */
	for (size_t i = 0; i < s->syscall_filter.n; i++) {
		const char *e = s->syscall_filter.v[i];
		bool deny = e[0] == '~';
		char name[128];
		const char *colon;
		uint32_t action = p->deny_action;
		int code;

		e += deny;
		colon = strchr(e, ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon ? (size_t)(colon - e) : strlen(e)), e);
		if (colon) {
			if (sbox_parse_errno(colon + 1, &code) < 0)
				return sbox_fail(err, EINVAL, "SystemCallFilter=%s", s->syscall_filter.v[i]);
			action = SCMP_ACT_ERRNO((uint32_t)code);
		}
		r = apply_list(p, name, deny ? OP_DENY : OP_ALLOW, action);
		if (r < 0)
			return sbox_fail(err, -r, "SystemCallFilter=%s", s->syscall_filter.v[i]);
	}
	return 0;
}

static bool in_strv(const struct sbox_strv *v, const char *e)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (strcmp(v->v[i], e) == 0)
			return true;
	return false;
}

int sbox_seccomp_lifts_deny(const struct sbox_security *s, const struct sbox_strv *site,
			    char *out, size_t size, struct sbox_err *err)
{
	struct sbox_security profile = *s;
	struct plan p = { 0 };
	int found = 0;

	/* The profile's own layers, before any entry edits them. */
	profile.syscall_filter.n = 0;
	if (build_plan(&p, &profile, err) < 0) {
		free(p.v);
		return -1;
	}
	for (size_t i = 0; i < s->syscall_filter.n && !found; i++) {
		const char *e = s->syscall_filter.v[i];
		char name[128];
		int nr;

		/* Denies only add; a group only extends the strict allow
		 * list (apply_one). */
		if (e[0] == '~' || e[0] == '@' || in_strv(site, e))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(e, ":"), e);
		nr = sbox_syscall_resolve(name);
		for (size_t k = 0; nr >= 0 && k < p.n && !found; k++)
			if (p.v[k].nr == nr && (p.v[k].deny || p.v[k].args != ARGS_NONE)) {
				snprintf(out, size, "%s", e);
				found = 1;
			}
	}
	free(p.v);
	return found;
}

#define CMP_MASKED(arg, mask, value) SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, mask, value)

/* personality(2): only what Docker's profile allows, PER_LINUX and
 * PER_LINUX32 with or without UNAME26, and the query 0xffffffff; nothing
 * that turns ASLR off (ADDR_NO_RANDOMIZE), makes data executable
 * (READ_IMPLIES_EXEC) or maps page zero.  libseccomp compares each argument
 * once per rule, so "not in that set" becomes one rule per bit: with bit 31
 * clear any bit outside the allowed ones; with bit 31 set any clear bit
 * (the only such value allowed is 0xffffffff).  The kernel reads the
 * argument as 32 bits, and so do the masks. */
static int personality_rules(scmp_filter_ctx ctx, int nr, uint32_t action)
{
	const uint32_t allowed = 0x0008 /* PER_LINUX32 */ | 0x0020000 /* UNAME26 */;
	int r;

	for (uint32_t b = 0; b < 31; b++) {
		uint32_t bit = UINT32_C(1) << b;

		if (!(bit & allowed)) {
			r = seccomp_rule_add(ctx, action, nr, 1, CMP_MASKED(0, bit | 0x80000000U, bit));
			if (r < 0)
				return r;
		}
		r = seccomp_rule_add(ctx, action, nr, 1, CMP_MASKED(0, bit | 0x80000000U, 0x80000000U));
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_arg_rules(scmp_filter_ctx ctx, const struct rule *rule, uint32_t action)
{
	/* New namespaces, and CLONE_PARENT: a child made the caller's
	 * sibling is its parent's to reap.  A zygote worker's parent is its
	 * template, which waits only for the workers it forked: every such
	 * child stayed a zombie in the template, charged to the user, after
	 * its worker had ended (a hostile review left 150 there with 3). */
	static const uint64_t denied_flags[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
		CLONE_NEWPID, CLONE_NEWNET, CLONE_PARENT,
	};
	/* clone's flags are its first argument, except on s390 (second). */
#if defined(__s390__) || defined(__s390x__)
	const unsigned clone_arg = 1;
#else
	const unsigned clone_arg = 0;
#endif
	int r = 0;

	switch (rule->args) {
	case ARGS_CLONE:
		for (size_t i = 0; i < SBOX_ARRAY_SIZE(denied_flags) && r == 0; i++)
			r = seccomp_rule_add(ctx, action, rule->nr, 1,
					     CMP_MASKED(clone_arg, denied_flags[i], denied_flags[i]));
		return r;
	case ARGS_CLONE3:
		/* ENOSYS, not EPERM: libc then falls back to clone(2), whose
		 * flags (unlike clone3's, in memory) the filter can see. */
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), rule->nr, 0);
	case ARGS_IOCTL:
		/* The kernel truncates the command to 32 bits: compare only
		 * those, or TIOCSTI | 1 << 32 would slip by (CVE-2019-10063). */
		r = seccomp_rule_add(ctx, action, rule->nr, 1, CMP_MASKED(1, 0xffffffffU, TIOCSTI));
		if (r == 0)
			r = seccomp_rule_add(ctx, action, rule->nr, 1,
					     CMP_MASKED(1, 0xffffffffU, TIOCLINUX));
		/* TIOCSETD: a line discipline (N_NULL) set on a terminal the
		 * worker shares with its caller kills it for the caller.  The
		 * discipline is behind a pointer the filter can't read, so
		 * every TIOCSETD goes. */
		if (r == 0)
			r = seccomp_rule_add(ctx, action, rule->nr, 1,
					     CMP_MASKED(1, 0xffffffffU, TIOCSETD));
		return r;
	case ARGS_SOCKET:
		/* AF_ALG: a kernel crypto API with a record of bugs; AF_VSOCK:
		 * a way out to the hypervisor and the host. */
		r = seccomp_rule_add(ctx, action, rule->nr, 1, CMP_MASKED(0, 0xffffffffU, AF_ALG));
		if (r == 0)
			r = seccomp_rule_add(ctx, action, rule->nr, 1,
					     CMP_MASKED(0, 0xffffffffU, AF_VSOCK));
		return r;
	case ARGS_PERSONALITY:
		return personality_rules(ctx, rule->nr, action);
	case ARGS_NONE:
	default:
		return 0;
	}
}

/* libseccomp writes the program to an fd: a memfd, read back at once. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog, struct sbox_err *err)
{
	_cleanup_close_ int fd = memfd_create("sbox-seccomp", MFD_CLOEXEC);
	struct sock_filter *insns;
	off_t size;
	int r;

	if (fd < 0)
		return sbox_fail(err, errno, "creating a memfd for the system call filter");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return sbox_fail(err, -r, "exporting the system call filter");
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return sbox_fail(err, EINVAL, "the system call filter has a bad size (%lld bytes)",
				 (long long)size);
	insns = malloc((size_t)size);
	if (!insns)
		return sbox_fail(err, ENOMEM, "reading the system call filter");
	if (pread(fd, insns, (size_t)size, 0) != (ssize_t)size) {
		free(insns);
		return sbox_fail(err, errno ? errno : EIO, "reading the system call filter");
	}
	prog->filter = insns;
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

static scmp_filter_ctx new_ctx(uint32_t def_action, struct sbox_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(def_action);

	if (!ctx) {
		sbox_fail(err, ENOMEM, "creating the system call filter");
		return NULL;
	}
	/* Native architecture only: a call through int 0x80 (i386) or the
	 * x32 ABI would reach the kernel's other syscall tables, where the
	 * rules above do not apply, so it kills the process. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
		seccomp_release(ctx);
		sbox_fail(err, EINVAL, "setting the system call filter's attributes");
		return NULL;
	}
	return ctx;
}

static int compile_deny_layer(const struct plan *p, struct sock_fprog *prog, struct sbox_err *err)
{
	scmp_filter_ctx ctx = new_ctx(SCMP_ACT_ALLOW, err);
	int r = 0;

	if (!ctx)
		return -1;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		const struct rule *rule = &p->v[i];

		if (rule->deny)
			r = seccomp_rule_add(ctx, rule->action, rule->nr, 0);
		else
			r = add_arg_rules(ctx, rule, p->deny_action);
		if (r < 0) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rule->nr);

			sbox_fail(err, -r, "adding the rule for %s to the system call filter",
				  name ? name : "?");
			free(name);
		}
	}
	if (r == 0)
		r = export_prog(ctx, prog, err);
	seccomp_release(ctx);
	return r < 0 ? -1 : 0;
}

static int compile_allow_layer(const struct plan *p, struct sock_fprog *prog, struct sbox_err *err)
{
	scmp_filter_ctx ctx = new_ctx(p->deny_action, err);
	int r = 0;

	if (!ctx)
		return -1;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		if (!p->v[i].allow)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p->v[i].nr, 0);
		if (r < 0)
			sbox_fail(err, -r, "adding system call %d to the allow list", p->v[i].nr);
	}
	if (r == 0)
		r = export_prog(ctx, prog, err);
	seccomp_release(ctx);
	return r < 0 ? -1 : 0;
}

int sbox_seccomp_compile_fresh(struct sbox_seccomp *f, const struct sbox_security *s,
			       struct sbox_err *err)
{
	struct plan p = { 0 };
	int r = 0;

	memset(f, 0, sizeof(*f));
	if (s->seccomp == SBOX_SECCOMP_NONE)
		return 0;
	/* libseccomp asks the running kernel, through seccomp(2), which
	 * actions exist; where that call is hidden (valgrind) it would refuse
	 * SECCOMP_RET_KILL_PROCESS.  The program is only exported here; the
	 * kernel that runs it has had KILL_PROCESS since 4.14 (older ones
	 * kill on an action they don't know). */
	if (seccomp_api_get() < 3 && seccomp_api_set(3) < 0)
		return sbox_fail(err, EINVAL, "setting libseccomp's API level");
	if (build_plan(&p, s, err) < 0) {
		free(p.v);
		return -1;
	}
	/* The allow layer first, so the deny layer's errno wins ties. */
	if (s->seccomp == SBOX_SECCOMP_STRICT)
		r = compile_allow_layer(&p, &f->progs[f->n++], err);
	if (r == 0)
		r = compile_deny_layer(&p, &f->progs[f->n++], err);
	free(p.v);
	if (r < 0) {
		sbox_seccomp_free(f);
		sbox_err_prefix(err, "SeccompProfile=%s",
				s->seccomp == SBOX_SECCOMP_STRICT ? "strict" : "default");
		return -1;
	}
	return 0;
}

/*
 * A long-lived launcher (sboxd, a libsbox process launching in a loop)
 * compiles the same few profiles again and again: libseccomp's build and
 * export are most of P1's allocations.  The cache keeps the exported
 * programs of the last CACHE_SLOTS policies, keyed by everything
 * build_plan() reads (SeccompProfile=, SystemCallErrorNumber=, every
 * SystemCallFilter= entry in order), written out in full with each
 * length before its bytes: two policies share a program only when those
 * are equal byte for byte, never by a pointer, a hash or a profile name.
 * The rest of the program comes from constants of this file and the
 * native architecture, the same for the whole process, and for the build:
 * the build's table of the default profiles' programs (sandbox/
 * seccomp_prebuilt.h), made by this file, is looked up first, by the same
 * key, and a launch that finds its policy there runs no libseccomp at all
 * (a direct sboxrun, which compiles once per process).  Callers get their
 * own copy, to free as before.  A mutex, since a libsbox caller may launch
 * from several threads (sboxd launches from its loop thread only); it is
 * never taken after fork, where the worker only installs the programs.
 */
#define CACHE_SLOTS 16

struct cache_slot {
	char *key;              /* NULL: empty */
	size_t key_len;
	struct sbox_seccomp f;
	unsigned long used;     /* cache_clock when last served */
};

static struct {
	pthread_mutex_t lock;
	struct cache_slot slot[CACHE_SLOTS];
	unsigned long clock, hits;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct keybuf {
	char *v;
	size_t n, cap;
	bool oom;
};

static void key_put(struct keybuf *k, const void *data, size_t len)
{
	if (k->oom)
		return;
	if (k->n + len > k->cap) {
		size_t cap = (k->n + len) * 2 + 64;
		char *v = realloc(k->v, cap);

		if (!v) {
			k->oom = true;
			return;
		}
		k->v = v;
		k->cap = cap;
	}
	memcpy(k->v + k->n, data, len);
	k->n += len;
}

static void key_put_u64(struct keybuf *k, uint64_t v)
{
	key_put(k, &v, sizeof(v));
}

/* The canonical form of what the filter is built from; NULL on ENOMEM. */
char *sbox_seccomp_policy_key(const struct sbox_security *s, size_t *len)
{
	struct keybuf k = { 0 };

	key_put_u64(&k, (uint64_t)s->seccomp);
	key_put_u64(&k, (uint64_t)(int64_t)s->syscall_errno);
	key_put_u64(&k, s->syscall_filter.n);
	for (size_t i = 0; i < s->syscall_filter.n; i++) {
		size_t l = strlen(s->syscall_filter.v[i]);

		key_put_u64(&k, l);
		key_put(&k, s->syscall_filter.v[i], l);
	}
	if (k.oom) {
		free(k.v);
		return NULL;
	}
	*len = k.n;
	return k.v;
}

static int filter_copy(struct sbox_seccomp *dst, const struct sbox_seccomp *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++) {
		size_t size = src->progs[i].len * sizeof(struct sock_filter);
		struct sock_filter *insns = malloc(size);

		if (!insns) {
			sbox_seccomp_free(dst);
			return -1;
		}
		memcpy(insns, src->progs[i].filter, size);
		dst->progs[i] = (struct sock_fprog){ .len = src->progs[i].len, .filter = insns };
		dst->n = i + 1;
	}
	return 0;
}

/* A copy of the build's program for key (sandbox/seccomp_prebuilt.h), or
 * -1: none, or out of memory.  The table is constant: no lock. */
static int prebuilt_get(const char *key, size_t len, struct sbox_seccomp *f)
{
	for (size_t i = 0; i < sbox_seccomp_n_prebuilt; i++) {
		const struct sbox_seccomp_prebuilt *p = &sbox_seccomp_prebuilt[i];
		struct sbox_seccomp view = { .n = p->n };

		if (p->key_len != len || memcmp(p->key, key, len) != 0)
			continue;
		/* A view of the constant table for filter_copy(), which only
		 * reads through it. */
		for (size_t j = 0; j < p->n; j++)
			view.progs[j] = (struct sock_fprog){
				.len = p->progs[j].len,
				.filter = (struct sock_filter *)p->progs[j].insns };
		return filter_copy(f, &view);
	}
	return -1;
}

/* Under the lock: the slot whose key is exactly key, or NULL. */
static struct cache_slot *cache_find(const char *key, size_t len)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *c = &cache.slot[i];

		if (c->key && c->key_len == len && memcmp(c->key, key, len) == 0)
			return c;
	}
	return NULL;
}

/* Under the lock: a copy of the cached programs for key, or -1. */
static int cache_get(const char *key, size_t len, struct sbox_seccomp *f)
{
	struct cache_slot *c = cache_find(key, len);

	if (!c || filter_copy(f, &c->f) < 0)
		return -1;
	c->used = ++cache.clock;
	cache.hits++;
	return 0;
}

/* Under the lock: keep a copy of f for key in the least recently used
 * slot.  Out of memory, nothing is kept; the launch goes on. */
static void cache_put(char *key, size_t len, const struct sbox_seccomp *f)
{
	struct cache_slot *victim = &cache.slot[0];
	struct sbox_seccomp copy;

	/* Another thread may have compiled the same policy meanwhile. */
	if (cache_find(key, len) || filter_copy(&copy, f) < 0) {
		free(key);
		return;
	}
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (!cache.slot[i].key) {
			victim = &cache.slot[i];
			break;
		}
		if (cache.slot[i].used < victim->used)
			victim = &cache.slot[i];
	}
	free(victim->key);
	sbox_seccomp_free(&victim->f);
	*victim = (struct cache_slot){ .key = key, .key_len = len, .f = copy,
				       .used = ++cache.clock };
}

int sbox_seccomp_compile(struct sbox_seccomp *f, const struct sbox_security *s,
			 struct sbox_err *err)
{
	size_t len = 0;
	char *key;
	int r;

	memset(f, 0, sizeof(*f));
	if (s->seccomp == SBOX_SECCOMP_NONE)
		return 0;
	key = sbox_seccomp_policy_key(s, &len);
	if (key) {
		r = prebuilt_get(key, len, f);
		pthread_mutex_lock(&cache.lock);
		if (r == 0)
			cache.hits++;
		else
			r = cache_get(key, len, f);
		pthread_mutex_unlock(&cache.lock);
		if (r == 0) {
			free(key);
			return 0;
		}
	}
	if (sbox_seccomp_compile_fresh(f, s, err) < 0) {
		free(key);
		return -1;
	}
	if (key) {
		pthread_mutex_lock(&cache.lock);
		cache_put(key, len, f);
		pthread_mutex_unlock(&cache.lock);
	}
	return 0;
}

void sbox_seccomp_cache_stats(size_t *entries, unsigned long *hits)
{
	pthread_mutex_lock(&cache.lock);
	*entries = 0;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		*entries += cache.slot[i].key != NULL;
	*hits = cache.hits;
	pthread_mutex_unlock(&cache.lock);
}

int sbox_seccomp_load(const struct sbox_seccomp *f, struct sbox_err *err)
{
	for (size_t i = 0; i < f->n; i++) {
		/* prctl rather than seccomp(2): the same with no flags, and
		 * known to tools that don't know seccomp(2) (valgrind). */
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f->progs[i], 0, 0) < 0) {
			int e = errno;

			if (e == EACCES)
				return sbox_fail(err, e, "installing the system call filter (it needs no_new_privs or CAP_SYS_ADMIN)");
			return sbox_fail(err, e, "installing the system call filter (program %zu of %zu)",
					 i + 1, f->n);
		}
	}
	return 0;
}

void sbox_seccomp_free(struct sbox_seccomp *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->progs[i].filter);
	memset(f, 0, sizeof(*f));
}
