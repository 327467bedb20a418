/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Network groups (PrivateNetwork=group:NAME): sandboxes started by separate
 * launchers share one network namespace, as the containers of a Kubernetes
 * pod do; it lives while any member lives.  Names are per user and per
 * worker: the registry is three files NAME@WORKER.* in
 * /run/sbox/net/group/UID/ (UID: the user the launch is for, WORKER: the
 * uid its worker runs as; a tmpfs that sandboxes can't see,
 * sandbox/network.c), so that one user's group never blocks, nor is joined
 * by, another user's job of the same name, and a launcher that runs
 * workers as several users never puts two of them in one netns (NAME
 * below stands for NAME@WORKER):
 *
 *   NAME.lock     flock(LOCK_EX) while a launcher changes the group
 *   NAME.members  flock(LOCK_SH) held for each member's life (by its
 *                 launcher and its init's copy of the fd): membership is
 *                 holding it; the file's owner is the uid the group
 *                 belongs to (a daemon serves many users); it is empty:
 *                 the registry holds no data (sandbox/network.c)
 *   NAME.netns    the group's netns, an nsfs file bind-mounted there
 *
 * The first member creates the netns in its clone and publishes it at P4;
 * later members open NAME.netns and their child joins it with setns().  The
 * member that leaves last (the one that gets LOCK_EX on NAME.members) unmounts
 * and removes everything.  Locks die with their holder, so a launcher killed
 * by SIGKILL leaves at worst a published netns with no members: the next
 * launcher to join NAME sees that (LOCK_EX on NAME.members succeeds), removes
 * it and starts a fresh one, so nothing of a finished job reaches the next;
 * a daemon's start sweeps every group no member holds (sbox_netgroup_sweep),
 * and a daemon that adopts a member ends its group at the member's end
 * (sbox_netgroup_adopt).
 */
#ifndef SBOX_SANDBOX_NETGROUP_H
#define SBOX_SANDBOX_NETGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/dir_network.h"

struct sbox_netgroup {
	int lock_fd;        /* NAME.lock, held from join to publish (creator) */
	int member_fd;      /* NAME.members, LOCK_SH while a member */
	int ns_fd;          /* the group's netns (joiners), -1 for the creator */
	bool creator;       /* this member's clone makes the netns */
	bool adopted;       /* a successor's: its membership was init's */
	uid_t owner;        /* the uid whose group this is */
	uid_t worker;       /* the uid its workers run as */
	char name[SBOX_NET_GROUP_MAX + 1];
};

void sbox_netgroup_init(struct sbox_netgroup *g);
/* Become a member.  Afterwards either g->creator (the registry stays locked
 * until sbox_netgroup_publish) or g->ns_fd is the group's netns.  owner: the
 * uid the launch is for; worker: the uid the worker runs as (User=); a
 * group is joined only by launches for the same two. */
int sbox_netgroup_join(struct sbox_netgroup *g, const char *name, uid_t owner, uid_t worker,
		       struct sbox_err *err);
/* Creator, at P4: publish the netns of pid (our unreaped child) as the
 * group's, and unlock the registry. */
int sbox_netgroup_publish(struct sbox_netgroup *g, pid_t pid, struct sbox_err *err);
/* Stop being a member; the last one removes the group (idempotent). */
void sbox_netgroup_leave(struct sbox_netgroup *g);
/* A successor daemon's sandbox that its predecessor made a member of
 * NAME: its membership is its init's copy of the members lock, so the
 * leave at its end holds no lock of its own, and removes the group if no
 * member is left. */
void sbox_netgroup_adopt(struct sbox_netgroup *g, const char *name, uid_t owner, uid_t worker);
/* Remove every group no member holds (a launcher killed by SIGKILL, a
 * daemon that went while its sandboxes were members), skipping any a
 * launcher is changing: the number removed. */
int sbox_netgroup_sweep(void);
/* Path of a group's file ("lock", "members", "netns") of owner's, for
 * workers of uid worker. */
void sbox_netgroup_path(uid_t owner, uid_t worker, const char *name, const char *what, char *buf,
			size_t len);

#endif
