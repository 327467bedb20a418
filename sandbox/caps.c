/* SPDX-License-Identifier: MIT */
#include "sandbox/caps.h"

#include <errno.h>
#include <linux/securebits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "policy/dir_security.h"
#include "sandbox/fsutil.h"
#include "sandbox/procstate.h"

/*
 * NOROOT: uid 0 gets no capabilities from execve (only the ambient set
 * carries any), so User=root is root by uid only.  NO_SETUID_FIXUP stays
 * off and KEEP_CAPS off, both locked: a later uid change still drops
 * capabilities, and nothing can keep them.  NO_CAP_AMBIENT_RAISE: the
 * ambient set can only shrink.
 */
#define WORKER_SECBITS                                                                   \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |          \
	 SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |                         \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

unsigned sbox_caps_worker_secbits(void)
{
	return WORKER_SECBITS;
}

static const char *cap_label(int c, char *buf, size_t len)
{
	char *name = cap_to_name((cap_value_t)c);

	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	return buf;
}

/* Set flag for every capability in mask below max. */
static int set_mask(cap_t caps, cap_flag_t flag, uint64_t mask, int max)
{
	for (int c = 0; c < max && c < 64; c++) {
		cap_value_t v = c;

		if ((mask & (UINT64_C(1) << c)) && cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
			return -1;
	}
	return 0;
}

/* One PR_CAPBSET_DROP per capability the policy does not keep, without
 * asking first whether it is still there: dropping a capability already
 * gone succeeds, and a read per capability would double the calls. */
static int drop_bounding(uint64_t keep, int max, struct sbox_err *err)
{
	char name[64];

	for (int c = 0; c < max; c++) {
		if (c < 64 && (keep & (UINT64_C(1) << c)))
			continue;
		if (cap_drop_bound((cap_value_t)c) < 0)
			return sbox_fail(err, errno, "dropping %s from the bounding set",
					 cap_label(c, name, sizeof(name)));
	}
	return 0;
}

static int raise_ambient(uint64_t ambient, int max, struct sbox_err *err)
{
	char name[64];

	/* EINVAL: a kernel without ambient capabilities (before 4.3);
	 * then there is nothing to clear, and nothing may be asked for.
	 * The prctl itself: libcap's cap_reset_ambient() first asks for
	 * every capability in turn whether it is set (42 calls when none
	 * is, as in every worker without AmbientCapabilities=). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    (errno != EINVAL || ambient))
		return sbox_fail(err, errno, "clearing the ambient capability set");
	for (int c = 0; c < max && c < 64; c++)
		if ((ambient & (UINT64_C(1) << c)) && cap_set_ambient((cap_value_t)c, CAP_SET) < 0)
			return sbox_fail(err, errno, "AmbientCapabilities=%s: raising it",
					 cap_label(c, name, sizeof(name)));
	return 0;
}

int sbox_caps_first_stray(uint64_t have, uint64_t allowed)
{
	uint64_t stray = have & ~allowed;

	return stray ? __builtin_ctzll(stray) : -1;
}

/* Whether the running kernel has capability c: PR_CAPBSET_READ fails
 * with EINVAL for a number past its last one, and for nothing else. */
static bool kernel_has_cap(int c)
{
	return prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) >= 0 || errno != EINVAL;
}

/* /proc/sys/kernel/cap_last_cap, or -1 where it can't be read or parsed. */
static int read_cap_last_cap(void)
{
	char buf[32], *end;
	long v;

	if (sbox_read_text("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) < 0)
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') || v < 0 || v > 63)
		return -1;
	return (int)v;
}

/*
 * How many capabilities the running kernel has.  Not libcap's
 * cap_max_bits(): the libcap linked in (statically, for sboxrun) may be
 * older than the kernel, and a capability it has no number for would
 * stay in the bounding set.  cap_last_cap is read from the sandbox's own
 * procfs, where a policy's mounts could put another file; so its answer
 * is checked against the kernel (the last one reads, the next fails), and
 * where it can't be read or is wrong, the kernel is asked one by one.
 */
static int kernel_cap_count(void)
{
	int last = read_cap_last_cap(), n = 0;

	if (last >= 0 && kernel_has_cap(last) && !kernel_has_cap(last + 1))
		return last + 1;
	while (n < 64 && kernel_has_cap(n))
		n++;
	return n;
}

/* The bounding and ambient sets as the kernel has them, from one read of
 * /proc/self/status; where that can't be read, one query per capability. */
static void read_bound_ambient(int max, uint64_t *bnd, uint64_t *amb)
{
	struct sbox_proc_status st;

	if (sbox_proc_status_read(&st) == 0) {
		*bnd = st.cap_bnd;
		*amb = st.cap_amb;
		return;
	}
	*bnd = *amb = 0;
	for (int c = 0; c < max && c < 64; c++) {
		if (cap_get_bound((cap_value_t)c) > 0)
			*bnd |= UINT64_C(1) << c;
		if (cap_get_ambient((cap_value_t)c) > 0)
			*amb |= UINT64_C(1) << c;
	}
}

/* The capability states the worker's drop works in: made ahead by
 * sbox_caps_prepare(), in init, because the worker shares init's memory
 * until its execve (sandbox/spawn.h) and must not allocate there. */
static cap_t worker_caps, worker_readback;

int sbox_caps_prepare(struct sbox_err *err)
{
	if (!worker_caps)
		worker_caps = cap_init();
	if (!worker_readback)
		worker_readback = cap_init();
	if (!worker_caps || !worker_readback)
		return sbox_fail(err, errno, "allocating the worker's capability sets");
	return 0;
}

/* A half-dropped set must never run: read everything back.  had: the
 * bounding set before this drop, so that a capability the launcher never
 * had (a container's root without CAP_SYS_RESOURCE, and
 * "CapabilityBoundingSet=~CAP_SYS_ADMIN" names it) is not taken for one
 * the drop lost. */
static int verify(const struct sbox_security *s, cap_t want, int max, uint64_t had,
		  struct sbox_err *err)
{
	uint64_t known = max >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << max) - 1;
	uint64_t bnd, amb, missing;
	cap_t now = worker_readback;
	int c;
	char name[64];

	if (capgetp(0, now) < 0)
		return sbox_fail(err, errno, "reading the worker's capabilities back");
	if (cap_compare(now, want) != 0)
		return sbox_fail(err, EPERM, "the worker's capability sets are not what was set");
	read_bound_ambient(max, &bnd, &amb);
	/* Every bit the policy does not allow, whether or not libcap or
	 * this kernel knows it (a bit the kernel lacks reads as 0). */
	c = sbox_caps_first_stray(bnd, s->cap_bounding);
	if (c >= 0)
		return sbox_fail(err, EPERM, "%s is still in the bounding set after the drop",
				 cap_label(c, name, sizeof(name)));
	/* A kept capability the kernel and the launcher have must still be
	 * there; one newer than the kernel ("~CAP_SYS_ADMIN" names them all)
	 * or missing from the launcher's own set can't be. */
	missing = s->cap_bounding & ~bnd & known & had;
	if (missing)
		return sbox_fail(err, EPERM, "%s is not in the bounding set after the drop",
				 cap_label(__builtin_ctzll(missing), name, sizeof(name)));
	c = sbox_caps_first_stray(amb, s->cap_ambient);
	if (c >= 0)
		return sbox_fail(err, EPERM, "%s is still in the ambient set",
				 cap_label(c, name, sizeof(name)));
	if (cap_get_secbits() != WORKER_SECBITS)
		return sbox_fail(err, EPERM, "the securebits are %#x, not %#x", cap_get_secbits(),
				 WORKER_SECBITS);
	return 0;
}

int sbox_caps_narrow_bounding(const struct sbox_security *s, struct sbox_err *err)
{
	return drop_bounding(s->cap_bounding, kernel_cap_count(), err);
}

int sbox_caps_drop(const struct sbox_security *s, bool bounding_narrowed, struct sbox_err *err)
{
	int max = kernel_cap_count();
	uint64_t had, amb;
	cap_t caps;
	int r = -1;
	char name[64];

	if (sbox_caps_prepare(err) < 0)
		return -1;
	caps = worker_caps;
	if (capgetp(0, caps) < 0)
		return sbox_fail(err, errno, "reading the worker's capabilities");
	read_bound_ambient(max, &had, &amb);
	/* Granting a capability the launcher lacks itself can't work: say
	 * so, rather than the kernel's EPERM at step 3. */
	if (s->cap_ambient & ~had) {
		sbox_fail(err, EPERM, "AmbientCapabilities=%s: the launcher itself lacks it (not in its bounding set)",
			  cap_label(__builtin_ctzll(s->cap_ambient & ~had), name, sizeof(name)));
		goto out;
	}
	/* A bounding set naming capabilities newer than the kernel is fine
	 * ("~CAP_SYS_ADMIN" names them all); granting one is not. */
	if (max < 64 && (s->cap_ambient >> max) != 0) {
		sbox_fail(err, EINVAL, "AmbientCapabilities= names a capability this kernel lacks (it has %d)",
			  max);
		goto out;
	}
	/* 1. Effective = permitted: after the uid change (KEEPCAPS) the
	 *    effective set is empty, and the next steps need CAP_SETPCAP. */
	if (cap_fill(caps, CAP_EFFECTIVE, CAP_PERMITTED) < 0 || cap_set_proc(caps) < 0) {
		sbox_fail(err, errno, "raising the effective capability set to drop it");
		goto out;
	}
	/* 2. The bounding set: nothing outside it can ever come back,
	 *    whatever a file's capabilities say.  Narrowed already where
	 *    init did it ahead (C6h); the read-back below checks it either
	 *    way. */
	if (!bounding_narrowed && drop_bounding(s->cap_bounding, max, err) < 0)
		goto out;
	/* 3. Inheritable, then ambient (a cap must be permitted and
	 *    inheritable to be raised into the ambient set). */
	if (cap_clear_flag(caps, CAP_INHERITABLE) < 0 ||
	    set_mask(caps, CAP_INHERITABLE, s->cap_ambient, max) < 0 || cap_set_proc(caps) < 0) {
		sbox_fail(err, errno, "setting the inheritable capability set");
		goto out;
	}
	if (raise_ambient(s->cap_ambient, max, err) < 0)
		goto out;
	/* 4. Securebits, while CAP_SETPCAP is still effective; this also
	 *    turns PR_SET_KEEPCAPS off again, for good. */
	if (cap_set_secbits(WORKER_SECBITS) < 0) {
		sbox_fail(err, errno, "locking the securebits (%#x)", WORKER_SECBITS);
		goto out;
	}
	/* 5. Permitted = effective = inheritable = the ambient set. */
	if (cap_clear(caps) < 0 || set_mask(caps, CAP_PERMITTED, s->cap_ambient, max) < 0 ||
	    set_mask(caps, CAP_EFFECTIVE, s->cap_ambient, max) < 0 ||
	    set_mask(caps, CAP_INHERITABLE, s->cap_ambient, max) < 0 || cap_set_proc(caps) < 0) {
		sbox_fail(err, errno, "dropping the worker's capabilities");
		goto out;
	}
	r = verify(s, caps, max, had, err);
out:
	return r;
}

int sbox_caps_no_new_privs(struct sbox_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sbox_fail(err, errno, "setting no_new_privs");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return sbox_fail(err, EPERM, "no_new_privs is not set after setting it");
	return 0;
}

int sbox_caps_harden_init(struct sbox_err *err)
{
	cap_value_t kill_cap = CAP_KILL;
	cap_t caps = cap_init();
	int r = 0;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sbox_fail(err, errno, "making the sandbox's init non-dumpable");
	if (!caps)
		return sbox_fail(err, errno, "dropping the capabilities of the sandbox's init");
	if (cap_set_flag(caps, CAP_PERMITTED, 1, &kill_cap, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, &kill_cap, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		r = sbox_fail(err, errno, "dropping the capabilities of the sandbox's init");
	cap_free(caps);
	return r;
}
