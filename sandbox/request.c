/* SPDX-License-Identifier: MIT */
/*
 * S1c's request between the parent and a prepared init (sandbox/request.h):
 * a header, the worker's groups and NUL-terminated strings in a sealed
 * memfd, the client's fds beside it.
 */
#include "sandbox/request.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/identity.h"
#include "sandbox/sync.h"

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void put_strv(FILE *f, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fwrite(v[i], 1, strlen(v[i]) + 1, f);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* The header, the groups and the strings, in a new memfd, sealed: what
 * init reads is what was written. */
static int pack(const struct sbox_launch *l, char *const *envp, const gid_t *groups,
		const struct sbox_request_pooled *pooled, const struct sbox_request_hdr *h)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int fd;

	if (!f)
		return -1;
	fwrite(h, 1, sizeof(*h), f);
	if (h->n_groups)
		fwrite(groups, sizeof(*groups), h->n_groups, f);
	put_strv(f, l->argv, h->argc);
	put_strv(f, envp, h->envc);
	if (l->caller_cwd)
		fwrite(l->caller_cwd, 1, strlen(l->caller_cwd) + 1, f);
	if (h->has_hostname)
		fwrite(pooled->hostname, 1, strlen(pooled->hostname) + 1, f);
	if (h->has_workdir)
		fwrite(pooled->workdir, 1, strlen(pooled->workdir) + 1, f);
	if (fclose(f) != 0)
		return -1;
	fd = memfd_create("sbox-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (write_all(fd, buf, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The fds that travel: the memfd, the stdio given, the passed fds, the
 * bind sources.  A passed fd keeps its number unless the launcher names a
 * target; one below 3 is stdio's business (sbox_fds_sanitize() skips it).
 * fds has room for all; how many. */
static size_t collect_fds(const struct sbox_launch *l, int memfd, const int *trees,
			  size_t n_trees, struct sbox_request_hdr *h, int *fds)
{
	size_t n = 0;

	fds[n++] = memfd;
	for (int i = 0; i < 3; i++)
		if (l->stdio[i] >= 0) {
			h->stdio_mask |= 1u << i;
			fds[n++] = l->stdio[i];
		}
	for (size_t i = 0; i < l->n_pass_fds; i++) {
		int t = l->pass_fd_targets ? l->pass_fd_targets[i] : l->pass_fds[i];

		if (!l->pass_fd_targets && t < 3)
			continue;
		h->targets[h->n_pass++] = t;
		fds[n++] = l->pass_fds[i];
	}
	for (size_t i = 0; trees && i < n_trees; i++)
		if (trees[i] >= 0) {
			h->bind_index[h->n_binds++] = (uint32_t)i;
			fds[n++] = trees[i];
		}
	return n;
}

static size_t count_trees(const int *trees, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; trees && i < n; i++)
		k += trees[i] >= 0;
	return k;
}

int sbox_request_send(int sync_fd, const struct sbox_launch *l, char *const *envp,
		      const struct sbox_identity *worker,
		      const struct sbox_request_pooled *pooled, struct sbox_err *err)
{
	struct sbox_request_hdr h = { .magic = SBOX_REQUEST_MAGIC, .argc = strv_len(l->argv),
				 .envc = strv_len(envp), .has_cwd = l->caller_cwd != NULL,
				 .pooled = pooled != NULL,
				 .has_hostname = pooled && pooled->hostname,
				 .has_workdir = pooled && pooled->workdir,
				 .has_groups = worker->set_groups,
				 .n_groups = worker->set_groups ? (uint32_t)worker->n_groups : 0 };
	const int *trees = pooled ? pooled->bind_trees : NULL;
	size_t n_trees = pooled ? pooled->n_mounts : 0;
	int fds[SBOX_SYNC_MAX_FDS];         /* room for all: sandbox/request.h */
	size_t n, binds = count_trees(trees, n_trees);
	int rc;

	if (l->n_pass_fds > SBOX_REQUEST_MAX_PASS)
		return sbox_fail(err, E2BIG, "passing %zu fds (at most %d)", l->n_pass_fds,
				 SBOX_REQUEST_MAX_PASS);
	if (binds > SBOX_REQUEST_MAX_BINDS)
		return sbox_fail(err, E2BIG, "%zu bind sources (at most %d in a request)", binds,
				 SBOX_REQUEST_MAX_BINDS);
	if (worker->set_groups && worker->n_groups > SBOX_REQUEST_MAX_GROUPS)
		return sbox_fail(err, E2BIG, "the worker would have %zu groups (a request carries %u at most)",
				 worker->n_groups, SBOX_REQUEST_MAX_GROUPS);
	/* The header is written last-but-first: collect_fds() fills in the
	 * stdio mask, the targets and the bind indexes it describes. */
	n = collect_fds(l, -1, trees, n_trees, &h, fds);
	fds[0] = pack(l, envp, worker->groups, pooled, &h);
	if (fds[0] < 0)
		return sbox_fail(err, errno, "writing the request for the sandbox (memfd)");
	rc = sbox_sync_send_fds(sync_fd, SBOX_SYNC_SPECIALISE, (int)n, fds, n);
	if (rc < 0)
		sbox_fail(err, errno, "handing the request to the sandbox (sync S1c)");
	close(fds[0]);
	return rc;
}

/* The memfd's content, whole: read by init, which trusts its launcher but
 * still bounds what it reads. */
static char *read_blob(int fd, size_t *len, struct sbox_err *err)
{
	struct stat st;
	char *buf;
	size_t off = 0;

	if (fstat(fd, &st) < 0)
		return sbox_fail(err, errno, "reading the request (memfd)"), NULL;
	if (st.st_size < (off_t)sizeof(struct sbox_request_hdr) || st.st_size > SBOX_REQUEST_MAX_BYTES)
		return sbox_fail(err, EPROTO, "the request is %lld bytes", (long long)st.st_size), NULL;
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	if (!buf)
		return sbox_fail(err, ENOMEM, "reading the request"), NULL;
	while (off < *len) {
		ssize_t k = pread(fd, buf + off, *len - off, (off_t)off);

		if (k <= 0) {
			free(buf);
			return sbox_fail(err, k < 0 ? errno : EPROTO, "reading the request (memfd)"), NULL;
		}
		off += (size_t)k;
	}
	buf[*len] = '\0';
	return buf;
}

/* Point argv, envp, cwd, the hostname and the working directory at the
 * blob's strings: exactly as many as the header says, each ending inside
 * it. */
static int split_strings(struct sbox_request *req, const struct sbox_request_hdr *h, size_t off,
			 size_t len, struct sbox_err *err)
{
	size_t n = (size_t)h->argc + h->envc + !!h->has_cwd + !!h->has_hostname + !!h->has_workdir;

	if (h->argc == 0 || h->argc > SBOX_REQUEST_MAX_BYTES / 2 || h->envc > SBOX_REQUEST_MAX_BYTES / 2)
		return sbox_fail(err, EPROTO, "the request names %u arguments", h->argc);
	req->vec = calloc(n + 2, sizeof(char *));
	if (!req->vec)
		return sbox_fail(err, ENOMEM, "reading the request");
	for (size_t i = 0, slot = 0; i < n; i++, slot++) {
		size_t k;

		if (i == h->argc)
			slot++;                 /* argv's NULL */
		/* blob[len] is our own NUL: a string must end before it. */
		k = off < len ? strnlen(req->blob + off, len - off) : 0;
		if (off >= len || off + k >= len)
			return sbox_fail(err, EPROTO, "the request's strings are cut short");
		req->vec[slot] = req->blob + off;
		off += k + 1;
	}
	req->argv = req->vec;
	req->envp = req->vec + h->argc + 1;
	req->cwd = h->has_cwd ? req->envp[h->envc] : NULL;
	req->hostname = h->has_hostname ? req->envp[h->envc + !!h->has_cwd] : NULL;
	req->workdir = h->has_workdir ? req->envp[h->envc + !!h->has_cwd + !!h->has_hostname] : NULL;
	req->pooled = h->pooled != 0;
	req->envp[h->envc] = NULL;
	return 0;
}

/* stdio, the passed fds and the bind sources, in the order
 * collect_fds() sent them. */
static int place_fds(struct sbox_request *req, const struct sbox_request_hdr *h, const int *fds,
		     size_t nfds, struct sbox_err *err)
{
	size_t k = 1;

	if (h->n_pass > SBOX_REQUEST_MAX_PASS || h->n_binds > SBOX_REQUEST_MAX_BINDS ||
	    nfds != 1 + (size_t)__builtin_popcount(h->stdio_mask & 7) + h->n_pass + h->n_binds)
		return sbox_fail(err, EPROTO, "the request carries %zu fds", nfds);
	for (int i = 0; i < 3; i++)
		req->stdio[i] = (h->stdio_mask & (1u << i)) ? fds[k++] : -1;
	for (size_t i = 0; i < h->n_pass; i++) {
		req->pass_fds[i] = fds[k++];
		req->targets[i] = h->targets[i];
	}
	req->n_pass = h->n_pass;
	for (size_t i = 0; i < h->n_binds; i++) {
		req->bind_trees[i] = fds[k++];
		req->bind_index[i] = h->bind_index[i];
	}
	req->n_binds = h->n_binds;
	return 0;
}

/* The gids right after the header, copied out (the blob has no
 * alignment to offer them).  Where the strings start. */
static int take_groups(struct sbox_request *req, const struct sbox_request_hdr *h, size_t len,
		       size_t *off, struct sbox_err *err)
{
	size_t bytes = (size_t)h->n_groups * sizeof(gid_t);

	*off = sizeof(*h);
	if ((!h->has_groups && h->n_groups) || h->n_groups > SBOX_REQUEST_MAX_GROUPS ||
	    bytes > len - *off)
		return sbox_fail(err, EPROTO, "the request names %u groups", h->n_groups);
	req->has_groups = h->has_groups != 0;
	req->n_groups = h->n_groups;
	if (bytes) {
		req->groups = malloc(bytes);
		if (!req->groups)
			return sbox_fail(err, ENOMEM, "reading the request");
		memcpy(req->groups, req->blob + *off, bytes);
	}
	*off += bytes;
	return 0;
}

static int unpack(struct sbox_request *req, const int *fds, size_t nfds, struct sbox_err *err)
{
	struct sbox_request_hdr h;
	size_t len, off;

	if (nfds < 1)
		return sbox_fail(err, EPROTO, "the request carries no memfd");
	req->blob = read_blob(fds[0], &len, err);
	if (!req->blob)
		return -1;
	memcpy(&h, req->blob, sizeof(h));
	if (h.magic != SBOX_REQUEST_MAGIC)
		return sbox_fail(err, EPROTO, "the request is not one (magic %#x)", h.magic);
	if (take_groups(req, &h, len, &off, err) < 0 ||
	    split_strings(req, &h, off, len, err) < 0)
		return -1;
	return place_fds(req, &h, fds, nfds, err);
}

int sbox_request_recv(int sync_fd, struct sbox_request *req, struct sbox_err *err)
{
	struct sbox_sync_msg m;
	int fds[SBOX_SYNC_MAX_FDS];
	size_t nfds = 0;
	int n = sbox_sync_recv_fds(sync_fd, &m, fds, &nfds);
	int rc;

	memset(req, 0, sizeof(*req));
	if (n < 0)
		return sbox_fail(err, errno, "waiting for the request (sync S1c)");
	if (n == 0)
		return sbox_fail(err, ECONNRESET, "the launcher gave the sandbox up before a request");
	if (m.type != SBOX_SYNC_SPECIALISE) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return sbox_fail(err, EPROTO, "expected the request (sync S1c), got message %u", m.type);
	}
	rc = unpack(req, fds, nfds, err);
	if (nfds)
		close(fds[0]);
	if (rc < 0) {
		/* Nothing of a refused request is kept. */
		for (size_t i = 1; i < nfds; i++)
			close(fds[i]);
		free(req->groups);
		free(req->vec);
		free(req->blob);
		memset(req, 0, sizeof(*req));
		for (int i = 0; i < 3; i++)
			req->stdio[i] = -1;
	}
	return rc;
}
