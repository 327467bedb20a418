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

/* Control bytes as \xNN: a message quotes the job's input (a policy
 * path, a directive), and a newline in it would start a line of the
 * job's own making in slurmd's log (root's, read by admins and their
 * tools), an escape sequence drive the terminal of whoever reads it. */
static void escape_controls(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 5 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* The task's stderr is the job's: the user reads why the task didn't run
 * there, and slurmd's log gets the same line. */
void sbox_slurm_task_error(const char *fmt, ...)
{
	char msg[1024], safe[4 * sizeof msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	escape_controls(msg, safe, sizeof safe);
	dprintf(STDERR_FILENO, "sbox (slurm): %s\n", safe);
	slurm_error("sbox: %s", safe);
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
