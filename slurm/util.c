/* SPDX-License-Identifier: MIT */
/*
 * The sbox SPANK plugin's small helpers: a growing argv, the task's error.
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

/* The task's stderr is the job's: the user reads why the task didn't run
 * there, and slurmd's log gets the same line. */
void sbox_slurm_task_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "sbox (slurm): %s\n", msg);
	slurm_error("sbox: %s", msg);
}

int sbox_slurm_vec_add(struct vec *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof *v);

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	if (!(a->v[a->n] = strdup(s)))
		return -1;
	a->v[++a->n] = NULL;
	return 0;
}

void sbox_slurm_vec_free(struct vec *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct vec){ 0 };
}

int sbox_slurm_vec_addf(struct vec *a, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	return sbox_slurm_vec_add(a, buf);
}
