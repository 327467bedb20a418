/* SPDX-License-Identifier: MIT */
#include "sandbox/rlimits.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

#include "policy/dir_security.h"

static rlim_t to_rlim(uint64_t v)
{
	return v == UINT64_MAX ? RLIM_INFINITY : (rlim_t)v;
}

int sbox_rlimits_apply(const struct sbox_security *s, struct sbox_err *err)
{
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++) {
		const struct sbox_rlimit *l = &s->rlimits[r];
		struct rlimit rl;

		if (!l->set)
			continue;
		rl.rlim_cur = to_rlim(l->soft);
		rl.rlim_max = to_rlim(l->hard);
		if (setrlimit(r, &rl) == 0)
			continue;
		if (errno == EPERM)
			return sbox_fail(err, errno, "%s: setting the limit (raising a hard limit needs CAP_SYS_RESOURCE in the host's user namespace, which an unprivileged caller lacks; LimitNOFILE= is also bounded by fs.nr_open)",
					 sbox_rlimit_directive(r));
		return sbox_fail(err, errno, "%s: setting the limit", sbox_rlimit_directive(r));
	}
	return 0;
}
