/* SPDX-License-Identifier: MIT */
/*
 * Deferred binds (policy/bind_order.h).  A bind attached last builds the
 * same tree as one attached in its place only where nothing mounted after
 * it in full covers it (a tmpfs over its destination), lies under it (a
 * hidden path below it, which it would cover instead), or is sealed or
 * masked after it (/dev, /proc, /sys).
 */
#include "policy/bind_order.h"

#include <string.h>

/* path is dir or lies below it. */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool related(const char *a, const char *b)
{
	return under(a, b) || under(b, a);
}

/* Absolute, no "." or ".." component, no "//", no trailing '/': a text
 * that says which directory it is (before links in the root). */
static bool clean_path(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n < 2 || p[n - 1] == '/' || strstr(p, "//"))
		return false;
	for (const char *c = p; (c = strchr(c, '/')) != NULL; c++)
		if (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
				    (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return false;
	return true;
}

bool sbox_bind_dst_apart(const struct sbox_policy *p, const char *dst)
{
	static const char *const kernel_trees[] = { "/dev", "/proc", "/sys" };

	if (!clean_path(dst))
		return false;
	for (size_t k = 0; k < sizeof(kernel_trees) / sizeof(kernel_trees[0]); k++)
		if (under(dst, kernel_trees[k]))
			return false;
	for (size_t j = 0; j < p->n_mounts; j++)
		if (!sbox_mount_is_bind(&p->mounts[j]) && related(dst, p->mounts[j].dst))
			return false;
	return true;
}

bool sbox_policy_binds_deferrable(const struct sbox_policy *p, size_t max_binds)
{
	bool binds = sbox_policy_has_binds(p);
	size_t n = 0;

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];

		if (i > 0 && m->kind < p->mounts[i - 1].kind)
			return false;
		/* With binds, every destination clean: the text must say
		 * which are apart. */
		if (binds && !clean_path(m->dst))
			return false;
		if (sbox_mount_is_bind(m) && (++n > max_binds || !sbox_bind_dst_apart(p, m->dst)))
			return false;
	}
	return true;
}
