/* SPDX-License-Identifier: MIT */
/*
 * PLACE (docs/protocol.md): a zygote's worker asks sboxd to put it, the
 * sending process itself, into a cgroup of its own with the policy's
 * limits, device rules and GPU leases (docs/security.md, "Zygotes").  The
 * request names no pid: the peer is the process the kernel recorded at
 * connect (SO_PEERPIDFD), so a client can place only itself.  The placed
 * process is a job like a launched sandbox, detached (its connection
 * closes when the worker closes its fds), counted in the user's limits,
 * listed, signalled and waited for; it ends when the process exits (its
 * pidfd), when its cgroup is killed and removed and its GPUs go back.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/zygote.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* The peer's pidfd, taken by the kernel at connect (Linux 6.5). */
static int peer_pidfd(const struct conn *c, struct sbox_err *err)
{
	int fd = -1;
	socklen_t len = sizeof(fd);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) < 0 || fd < 0)
		return sbox_fail(err, errno ? errno : ESRCH,
				 "PLACE needs the peer's pidfd (SO_PEERPIDFD, Linux 6.5)");
	return fd;
}

static int place(struct sboxd *d, struct conn *c, struct job *j, const struct sbox_msg *m,
		 uint32_t *code, struct sbox_err *err)
{
	struct sbox_policy p;
	unsigned idx[SBOX_PROTO_MAX_GPUS];
	size_t n = 0;
	struct sbox_gpu_selection gpus;
	struct sbox_child *child;
	int pidfd, rc = -1;

	if (launch_place_policy(d, &c->who, m, &p, idx, &n, code, err) < 0) {
		sbox_policy_free(&p);
		return -1;
	}
	pidfd = peer_pidfd(c, err);
	if (pidfd < 0) {
		*code = SBOX_E_INTERNAL;
		goto out;
	}
	gpus = (struct sbox_gpu_selection){ .inv = &d->leases.inv, .idx = idx, .n = n };
	{
		struct sbox_launch l = { .site = &d->site, .gpus = &gpus, .caller_uid = j->uid,
					 .caller_gid = j->gid, .stdio = { -1, -1, -1 } };

		if (sbox_zygote_place_peer(&p, &l, pidfd, &child, err) < 0) {
			*code = err->errnum == EPERM ? SBOX_E_DENIED : SBOX_E_LAUNCH;
			goto out;
		}
	}
	if (launch_take_child(d, j, child, &p, err) < 0) {
		*code = SBOX_E_INTERNAL;
		goto out;
	}
	memcpy(j->gpus, idx, n * sizeof(unsigned));
	j->n_gpus = n;
	leases_take(d, j);
	keeper_put(d, j);
	rc = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	sbox_policy_free(&p);
	return rc;
}

void place_job(struct sboxd *d, struct conn *c, struct sbox_msg *m)
{
	struct sbox_err err = { 0 };
	uint32_t code = 0;
	struct job *j = launch_admit(d, c, m);

	if (!j)
		return;
	/* It lives until the process exits, not with the connection: the
	 * worker closes every fd of its template's right after. */
	j->detached = true;
	j->placed = true;
	if (place(d, c, j, m, &code, &err) < 0) {
		j->dead = true;
		d->have_dead = true;
		conn_send_error(d, c, m->hdr.seq, code ? code : SBOX_E_INTERNAL, err.errnum, err.msg);
		return;
	}
	launch_reply(d, c, m->hdr.seq, j);
}
