/* SPDX-License-Identifier: MIT */
/*
 * sbox_slurm_task_error() for the checks that drive one file of slurm/
 * outside a task (join_check.c, gres_check.c): the plugin says it on the
 * job's stderr (slurm/spank_sbox.c); here, on the check's.
 */
#include <stdarg.h>
#include <stdio.h>

#include "slurm/sbox_slurm.h"

void sbox_slurm_task_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
