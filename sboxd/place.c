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
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#ifndef PIDFD_GET_PID_NAMESPACE
#define PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)
#endif

/* Whether the user namespace that owns pid namespace ns is owned by uid
 * and is not the host's; *ino gets its inode.  Closes ns. */
static bool owned_by_user(int ns, uid_t uid, const struct stat *host_user, ino_t *ino)
{
	struct stat st;
	uid_t owner = (uid_t)-1;
	int userns = ioctl(ns, NS_GET_USERNS);
	bool ok = false;

	close(ns);
	if (userns < 0)
		return false;
	if (fstat(userns, &st) == 0 && ioctl(userns, NS_GET_OWNER_UID, &owner) == 0)
		ok = owner == uid && (st.st_dev != host_user->st_dev || st.st_ino != host_user->st_ino);
	*ino = st.st_ino;
	close(userns);
	return ok;
}

/* A zygote's worker: its pid namespace, and each between it and sboxd's,
 * owned by one user namespace that the peer's uid made itself (not the
 * host's).  Never a container's: a pid namespace root made on the way
 * (its user namespace the host's, or root's) would let a PLACE take its
 * process out of the container's cgroup. */
bool place_peer_in_users_namespace(int fd, uid_t uid)
{
	struct stat host_user, host_pid, st;
	int pidfd = -1, ns;
	socklen_t len = sizeof(pidfd);
	ino_t first = 0, ino;

	if (stat("/proc/self/ns/user", &host_user) < 0 || stat("/proc/self/ns/pid", &host_pid) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0 || pidfd < 0)
		return false;
	ns = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
	close(pidfd);
	for (int depth = 0; ns >= 0 && depth < 32; depth++) {
		int parent;

		if (fstat(ns, &st) < 0)
			break;
		if (st.st_dev == host_pid.st_dev && st.st_ino == host_pid.st_ino) {
			close(ns);
			return depth > 0;
		}
		parent = ioctl(ns, NS_GET_PARENT);
		if (!owned_by_user(ns, uid, &host_user, &ino) || (first && ino != first)) {
			if (parent >= 0)
				close(parent);
			return false;
		}
		first = ino;
		ns = parent;
	}
	if (ns >= 0)
		close(ns);
	return false;
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
	if (launch_take_child(d, j, child, &p, idx, n, err) < 0) {
		*code = SBOX_E_INTERNAL;
		goto out;
	}
	/* The worker builds its own environment: it gets the resolved
	 * policy's Environment= (the site's [Defaults] included). */
	launch_reply(d, c, m->hdr.seq, j, p.env.v);
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
	}
}
