/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's handles on the fake launch layer (fake_sandbox.c): make the
 * k-th live fake sandbox (modulo their number) report an event or end.
 */
#ifndef SBOX_TESTS_FUZZ_FAKE_SANDBOX_H
#define SBOX_TESTS_FUZZ_FAKE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "sandbox/sandbox.h"

extern bool fake_spawn_fails;       /* the next sbox_spawn() fails */

size_t fake_children(void);
void fake_event(size_t k, enum sbox_event_kind kind, int status);
void fake_exit(size_t k, int status);
void fake_free_all(void);

#endif
