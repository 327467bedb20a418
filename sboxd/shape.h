/* SPDX-License-Identifier: MIT */
/*
 * A prepared sandbox's shape (sboxd/pool.c): everything sbox_prepare()
 * consumed, as one text, so that the pool hands a request only a sandbox
 * prepared from exactly the same inputs.  No other sboxd file is needed
 * to compute it (the unit tests link it alone).
 */
#ifndef SBOX_SBOXD_SHAPE_H
#define SBOX_SBOXD_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"
#include "sandbox/sandbox.h"

/* May a sandbox for this launch be prepared ahead at all?  Not when its
 * preparation reads something of the request itself: GPUs leased to it,
 * a veth's address or a network group taken for it, its terminal
 * (NewSession=no) -- those launch in full.  Binds of the client's fds
 * wait for the request (C6g) where their destinations meet no other
 * mount nor /dev, /proc, /sys; elsewhere they launch in full too. */
bool pool_shape_poolable(const struct sbox_policy *p, const struct sbox_launch *l);

/* The shape's key: the launch's facts that prepare reads, then the policy
 * as sbox_policy_print() writes it (every directive of the table, so a
 * new directive is part of the shape without a change here), less what
 * specialise sets: the hostname, WorkingDirectory=, the environment,
 * RuntimeMaxSec=, the limits' values (which limits are set, and which
 * are infinite, stay in it) and the binds' sources (their destinations
 * stay).  NULL: out of memory. */
char *pool_shape_key(const struct sbox_policy *p, const struct sbox_launch *l);

/* What a refill of p's shape prepares from: p's policy text less what
 * specialise sets, its limits with p's values.  It parses back to a
 * policy of the same key.  NULL: out of memory. */
char *pool_shape_policy(const struct sbox_policy *p);

#endif
