/* SPDX-License-Identifier: MIT */
/* sboxrun --list-gpus: the GPU inventory for people (a table) and programs (JSON). */
#ifndef SBOX_SBOXRUN_GPU_LIST_H
#define SBOX_SBOXRUN_GPU_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "sandbox/gpu.h"

/* A table, or JSON (one object). */
void sboxrun_gpu_list_print(const struct sbox_gpu_inventory *inv, bool json, FILE *out);

#endif
