/* SPDX-License-Identifier: MIT */
#include "policy/policy.h"

#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dir_devices.h"
#include "policy/dir_network.h"
#include "policy/dir_resources.h"
#include "policy/dir_security.h"
#include "policy/values.h"

void sbox_policy_init(struct sbox_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->private_users = -1;
	p->umask = 0022;          /* systemd's default UMask= */
	p->new_session = true;    /* a worker can't reach the caller's tty */
	/* Each area's defaults (resources, devices, network, security). */
	sbox_resources_init(&p->res);
	sbox_devices_policy_init(&p->devices);
	sbox_net_policy_init(&p->net);
	sbox_security_policy_init(&p->sec);
}

static void mount_free(struct sbox_mount *m)
{
	free(m->src);
	free(m->dst);
	free(m->options);
}

void sbox_policy_free(struct sbox_policy *p)
{
	free(p->hostname);
	for (size_t i = 0; i < p->n_mounts; i++)
		mount_free(&p->mounts[i]);
	free(p->mounts);
	sbox_strv_clear(&p->env);
	sbox_strv_clear(&p->pass_env);
	free(p->workdir);
	sbox_resources_free(&p->res);
	sbox_devices_policy_free(&p->devices);
	sbox_net_policy_free(&p->net);
	sbox_security_policy_free(&p->sec);
	sbox_policy_init(p);
}

int sbox_strv_push(struct sbox_strv *s, const char *value)
{
	char **v = realloc(s->v, (s->n + 2) * sizeof(*v));
	char *copy;

	if (!v)
		return -ENOMEM;
	s->v = v;
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	s->v[s->n++] = copy;
	s->v[s->n] = NULL;
	return 0;
}

void sbox_strv_clear(struct sbox_strv *s)
{
	sbox_strv_free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* What the kernel makes of a tmpfs number (memparse(): any base, a K..E
 * suffix shifted in 64 bits, wrapping), as "no bound": 0, or a value that
 * wraps to 0 or past it ("size=16E" is size=0), or that the page
 * rounding of size= wraps.  A "%" of more than the whole memory is
 * refused too: it is no bound either. */
static bool tmpfs_number_unbounded(const char *v, size_t len)
{
	static const char suffixes[] = "kmgtpe";
	unsigned long long n;
	const char *sfx;
	char *end;
	unsigned shift = 0;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (end == v || (size_t)(end - v) > len)
		return false;   /* not a number: the kernel refuses it itself */
	if (errno == ERANGE)
		return true;
	if (end < v + len && *end == '%')
		return n == 0 || n > 100;
	if (end < v + len && (sfx = strchr(suffixes, tolower((unsigned char)*end))) && *end)
		shift = 10 * (unsigned)(sfx - suffixes + 1);
	if (n == 0 || (shift && n > (ULLONG_MAX >> shift)))
		return true;
	return (n << shift) > ULLONG_MAX - 65535;
}

/* The tmpfs option that removes a bound (size=, nr_blocks=, nr_inodes=
 * that the kernel reads as 0, "unlimited").  NULL if none; else where
 * it starts in opts (it ends at the next ','). */
static const char *tmpfs_unbounded(const char *opts)
{
	static const char *const keys[] = { "size=", "nr_blocks=", "nr_inodes=" };
	const char *o = opts;

	while (o && *o) {
		size_t len = strcspn(o, ",");

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t kl = strlen(keys[k]);

			if (len > kl && strncmp(o, keys[k], kl) == 0 &&
			    tmpfs_number_unbounded(o + kl, len - kl))
				return o;
		}
		o += len;
		if (*o == ',')
			o++;
	}
	return NULL;
}

int sbox_policy_validate(const struct sbox_policy *p, struct sbox_err *err)
{
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];

		if (!sbox_path_is_normal_absolute(m->dst))
			return sbox_fail(err, 0, "mount destination '%s' must be an absolute path without '..'",
					 m->dst);
		if (strcmp(m->dst, "/") == 0)
			return sbox_fail(err, 0, "mount destination '/' is not allowed: the root is the host's, read-only");
		if (m->src && m->src[0] != '/')
			return sbox_fail(err, 0, "bind source '%s' must be an absolute path", m->src);
		/* The kernel reads a mount's options up to a page and drops
		 * the rest (a size= past it would be lost): well under. */
		if (m->options && strlen(m->options) > SBOX_TMPFS_OPTIONS_MAX)
			return sbox_fail(err, 0, "TemporaryFileSystem=%s: its options are %zu bytes, at most %d",
					 m->dst, strlen(m->options), SBOX_TMPFS_OPTIONS_MAX);
		/* A tmpfs without a bound fills the host's memory outside any
		 * accounting a site set up for it (docs/policy.md). */
		if (m->kind == SBOX_MOUNT_TMPFS && tmpfs_unbounded(m->options)) {
			const char *bad = tmpfs_unbounded(m->options);

			int n = (int)strcspn(bad, ",");

			return sbox_fail(err, 0, "TemporaryFileSystem=%s:%s: '%.*s' %s; give a bound (e.g. size=1G or size=50%%)",
					 m->dst, m->options, n, bad,
					 bad[n - 1] == '%' ? "is not a share of the RAM between 1% and 100%" :
					 "means unlimited to the kernel");
		}
	}
	if (p->workdir && p->workdir[0] != '/')
		return sbox_fail(err, 0, "WorkingDirectory=%s must be an absolute path", p->workdir);
	/* Each area checks its own directives against the others'. */
	if (sbox_resources_validate(p, err) < 0)
		return -1;
	if (sbox_security_policy_validate(p, err) < 0)
		return -1;
	if (sbox_net_policy_validate(p, err) < 0)
		return -1;
	return 0;
}
