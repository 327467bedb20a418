/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * A pool of fresh, never-used network namespaces with lo up, prepared ahead
 * so that creating one is off a launch's latency path (docs/network.md has
 * the figures).  It only pays in a long-running launcher — sboxd keeps one
 * and refills it when idle; sboxrun's direct mode creates the netns in its
 * clone instead.  Each namespace is handed out once and its fd closed by
 * the launch, so it dies with its sandbox: no state of one job reaches the
 * next.
 *
 * Namespaces are made by unshare(CLONE_NEWNET) in the calling thread, which
 * then returns to its own with setns(): root only (CAP_SYS_ADMIN), and a
 * sandbox with a user namespace of its own can't join them (the launch
 * then falls back to CLONE_NEWNET).  Not thread-safe: one owner.
 */
#ifndef SBOX_SANDBOX_NETNS_POOL_H
#define SBOX_SANDBOX_NETNS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct sbox_netns_pool;

/* A pool that holds up to capacity namespaces; empty at first. */
int sbox_netns_pool_new(struct sbox_netns_pool **out, size_t capacity, struct sbox_err *err);
/* Prepare up to max_new namespaces (not beyond capacity): the number
 * made, or -1.  If the thread could not return to its own netns the pool
 * is unusable and the error says so: the caller must stop (a daemon whose
 * thread sits in the wrong netns is a bug waiting to happen). */
int sbox_netns_pool_fill(struct sbox_netns_pool *pool, size_t max_new, struct sbox_err *err);
/* Whose a used netns is: the uid the launch was for and the uid its
 * worker ran as (User=), both: a client that launches as several users
 * (root, AllowUserSwitch=) gives none of them another's, and a worker of
 * the same uid launched for another client gets none either. */
static inline uint64_t sbox_netns_owner(uid_t caller, uid_t worker)
{
	return (uint64_t)caller << 32 | (uint32_t)worker;
}

/* A prepared netns fd, now the caller's (O_CLOEXEC), or -1 if empty.
 * _take() hands out fresh ones only; _take_for() the newest that owner
 * gave back, else a fresh one; when only other owners' recycled ones are
 * left, the oldest of them is closed (the refill replaces it) and -1
 * returned.  may_return: the netns may come back (sbox_netns_pool_give())
 * soon; for a second its place is kept (not refilled:
 * sbox_netns_pool_room()). */
int sbox_netns_pool_take(struct sbox_netns_pool *pool);
int sbox_netns_pool_take_for(struct sbox_netns_pool *pool, uint64_t owner, bool may_return);
/* A recycled netns back into the pool, for owner's later sandboxes: the
 * pool owns fd now (a full pool closes its oldest; NULL closes fd). */
void sbox_netns_pool_give(struct sbox_netns_pool *pool, int fd, uint64_t owner);
size_t sbox_netns_pool_count(const struct sbox_netns_pool *pool);
/* How many _fill() would make now: the capacity less those held and the
 * returns still expected. */
size_t sbox_netns_pool_room(const struct sbox_netns_pool *pool);
void sbox_netns_pool_free(struct sbox_netns_pool *pool);

#endif
