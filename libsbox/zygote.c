/* SPDX-License-Identifier: MIT */
/*
 * The zygote API (include/sbox/zygote.h): the template's state, its pid
 * namespaces, and each worker's placement through sboxd (PLACE) or in
 * process (direct, root); the steps themselves are sandbox/zygote.c's.
 * docs/security.md, "Zygotes", is the argument for the order.
 */
#include "include/sbox/zygote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "policy/parse.h"
#include "policy/policy.h"
#include "sandbox/zygote.h"
#include "include/sbox/libsbox.h"

/* What a direct-mode worker tells its template, in memory they share: its
 * cgroup, written as soon as it exists, for the template to remove. */
struct shared {
	char cgroup[4096];
};

struct worker {
	int pid;                    /* in the template's pid namespace */
	int init_pidfd;             /* its pid namespace's init */
	struct shared *shm;
};

struct sbox_zygote {
	char *socket;               /* NULL: direct */
	int helper_sock;            /* to the helper that makes inits */
	pid_t helper;
	int children_ns;            /* the pid namespace for T's other children */
	struct sbox_zygote_site *site;  /* read at open, before the user namespace */
	/* prefork's init and memory, until postfork names the worker */
	int next_init;
	struct shared *next_shm;
	struct worker *w;
	size_t n, cap;
};

static int fail(char *err, size_t len, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!len)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err, len, fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < len)
		snprintf(err + n, len - (size_t)n, ": %s", strerror(errnum));
	return -1;
}

static int from(char *err, size_t len, const struct sbox_err *e)
{
	if (len)
		snprintf(err, len, "%s", e->msg[0] ? e->msg : "failed");
	return -1;
}

static int write_file(const char *path, const char *text, char *err, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return fail(err, len, errno, "opening %s", path);
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	if (n != (ssize_t)strlen(text))
		return fail(err, len, n < 0 ? e : EIO, "writing '%s' to %s", text, path);
	return 0;
}

/* Unprivileged: T becomes a user namespace of the user's own, its ids
 * mapped to themselves, setgroups denied (as C3 does for a sandbox).
 * Nothing is asked of sboxd: a host that forbids such namespaces refuses
 * here, with the reason. */
static int own_user_namespace(char *err, size_t len)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;

		if (e == EINVAL)
			return fail(err, len, e, "making the template's user namespace (the process must be single-threaded: call sbox_zygote_open first)");
		return fail(err, len, e, "making the template's user namespace (are unprivileged user namespaces disabled? see sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone)");
	}
	if (write_file("/proc/self/setgroups", "deny", err, len) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map, err, len) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map, err, len);
}

/* T's children go to a pid namespace of T's own, whose pid 1 is the
 * helper: T may enter each worker's namespace (a child of it, owned by
 * T's user namespace) and come back to it after each fork, which its own
 * host pid namespace, owned by the host's user namespace, would not let
 * an unprivileged T do. */
static int children_namespace(struct sbox_zygote *z, char *err, size_t len)
{
	struct sbox_err e = { 0 };

	if (unshare(CLONE_NEWPID) < 0)
		return fail(err, len, errno, "making the template's pid namespace for its children");
	if (sbox_zygote_helper_start(&z->helper_sock, &z->helper, &e) < 0)
		return from(err, len, &e);
	z->children_ns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
	if (z->children_ns < 0)
		return fail(err, len, errno, "opening /proc/self/ns/pid_for_children");
	return 0;
}

/* The site configuration whose [GPUs] inventory the worker reads:
 * $SBOX_SITE_CONFIG, as sboxrun's --site-config, else the default.  In
 * direct mode it is root's own choice, as root's sboxrun's is; through
 * sboxd it only says where the nodes of the GPUs sboxd leased are, and
 * sboxd's device rules decide what opens. */
static const char *site_path(void)
{
	const char *s = getenv("SBOX_SITE_CONFIG");

	return s && s[0] ? s : NULL;
}

/* The filter of a policy with no seccomp settings of its own (the usual
 * worker's) compiled once here, in T, for every worker's cache hit.  T's
 * memory is already what every worker runs libsbox from: the cache adds
 * nothing a template's imports could not reach before. */
static void warm_default_filter(void)
{
	struct sbox_policy p;
	struct sbox_err e = { 0 };

	sbox_policy_init(&p);
	if (sbox_policy_validate(&p, &e) == 0)
		sbox_zygote_warm(&p);
	sbox_policy_free(&p);
}

struct sbox_zygote *sbox_zygote_open(const char *socket_path, char *err, size_t errlen)
{
	struct sbox_zygote *z = calloc(1, sizeof(*z));

	if (errlen)
		err[0] = '\0';
	if (!z) {
		fail(err, errlen, ENOMEM, "allocating the zygote");
		return NULL;
	}
	z->helper_sock = z->children_ns = z->next_init = -1;
	if (socket_path) {
		z->socket = strdup(socket_path[0] ? socket_path : sbox_client_default_socket());
		if (!z->socket) {
			fail(err, errlen, ENOMEM, "allocating the zygote");
			goto fail;
		}
	} else if (geteuid() != 0) {
		fail(err, errlen, EPERM, "a direct zygote (no sboxd socket) needs root: pass sboxd's socket");
		goto fail;
	}
	{
		struct sbox_err e = { 0 };

		if (sbox_zygote_site_load(&z->site, site_path(), &e) < 0) {
			from(err, errlen, &e);
			goto fail;
		}
	}
	if ((z->socket && own_user_namespace(err, errlen) < 0) ||
	    children_namespace(z, err, errlen) < 0)
		goto fail;
	warm_default_filter();
	return z;
fail:
	sbox_zygote_close(z);
	return NULL;
}

static bool nvidia_mapped(char *err, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *path = strchr(line, '/');
		const char *base = path ? strrchr(path, '/') + 1 : NULL;

		if (base && (strncmp(base, "libcuda.so", 10) == 0 ||
			     strncmp(base, "libnvidia-", 10) == 0)) {
			line[strcspn(line, "\n")] = '\0';
			fail(err, len, 0, "the template initialised CUDA: %s is mapped (import without touching the GPU; CUDA belongs in the workers)",
			     path);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* An fd on a character device of major 195, the NVIDIA driver's. */
static bool nvidia_fd_open(char *err, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char name[64], target[256];
		struct stat st;
		ssize_t n;
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) < 0 ||
		    !S_ISCHR(st.st_mode) || major(st.st_rdev) != 195)
			continue;
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		n = readlink(name, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fail(err, len, 0, "the template initialised CUDA: fd %d is open on the NVIDIA device %s (char %u:%u)",
		     fd, target, major(st.st_rdev), minor(st.st_rdev));
		found = true;
	}
	closedir(d);
	return found;
}

int sbox_zygote_check_clean(char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (nvidia_mapped(err, errlen) || nvidia_fd_open(err, errlen))
		return -1;
	return 0;
}

int sbox_zygote_prefork(struct sbox_zygote *z, char *err, size_t errlen)
{
	struct sbox_err e = { 0 };
	void *shm;

	if (errlen)
		err[0] = '\0';
	if (z->next_init >= 0)
		return fail(err, errlen, EBUSY, "sbox_zygote_prefork called twice without sbox_zygote_postfork");
	shm = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (shm == MAP_FAILED)
		return fail(err, errlen, errno, "mapping the worker's shared page");
	if (sbox_zygote_helper_init(z->helper_sock, &z->next_init, &e) < 0) {
		munmap(shm, sizeof(struct shared));
		return from(err, errlen, &e);
	}
	if (setns(z->next_init, CLONE_NEWPID) < 0) {
		fail(err, errlen, errno, "entering the worker's pid namespace");
		goto fail;
	}
	if (sbox_zygote_helper_ready(z->helper_sock, &e) < 0) {
		from(err, errlen, &e);
		/* Back, so that no child lands beside a failed init. */
		setns(z->children_ns, CLONE_NEWPID);
		goto fail;
	}
	z->next_shm = shm;
	return 0;
fail:
	syscall(SYS_pidfd_send_signal, z->next_init, SIGKILL, NULL, 0);
	close(z->next_init);
	z->next_init = -1;
	munmap(shm, sizeof(struct shared));
	return -1;
}

static void drop_worker(struct worker *w)
{
	if (w->init_pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, w->init_pidfd, SIGKILL, NULL, 0);
		close(w->init_pidfd);
	}
	if (w->shm)
		munmap(w->shm, sizeof(struct shared));
	w->init_pidfd = -1;
	w->shm = NULL;
}

int sbox_zygote_postfork(struct sbox_zygote *z, int pid, char *err, size_t errlen)
{
	struct worker w = { .pid = pid, .init_pidfd = z->next_init, .shm = z->next_shm };
	int rc = 0;

	if (errlen)
		err[0] = '\0';
	z->next_init = -1;
	z->next_shm = NULL;
	if (setns(z->children_ns, CLONE_NEWPID) < 0)
		rc = fail(err, errlen, errno, "returning to the template's pid namespace for children");
	if (pid <= 0) {
		drop_worker(&w);
		return rc;
	}
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 16;
		struct worker *nw = realloc(z->w, cap * sizeof(*nw));

		if (!nw) {
			drop_worker(&w);
			return fail(err, errlen, ENOMEM, "recording worker %d", pid);
		}
		z->w = nw;
		z->cap = cap;
	}
	z->w[z->n++] = w;
	return rc;
}

/* Through sboxd: W places itself (PLACE); the GPUs it leased come back,
 * for the grant of W's /dev, and the resolved policy's Environment= (the
 * site's [Defaults] included) into env. */
static int place_via_sboxd(struct sbox_zygote *z, const struct sbox_policy *p,
			   const char *policy_text, unsigned gpu_count,
			   struct sbox_zygote_grant **g, char *env, size_t env_len, char *err,
			   size_t len)
{
	struct sbox_client *c = sbox_client_new();
	struct sbox_job_info info;
	struct sbox_err e = { 0 };
	int rc = -1;

	if (!c)
		return fail(err, len, ENOMEM, "allocating the sboxd client");
	if (sbox_client_connect(c, z->socket) < 0 ||
	    sbox_client_place(c, policy_text, gpu_count, &info, env, env_len) < 0) {
		fail(err, len, 0, "PLACE through %s: %s", z->socket, sbox_client_error(c));
		goto out;
	}
	if (sbox_zygote_grant_leased(g, p, z->site, info.gpus, info.n_gpus, &e) < 0) {
		from(err, len, &e);
		goto out;
	}
	rc = 0;
out:
	sbox_client_free(c);
	return rc;
}

/* In W, first: the pages T shares with its other workers (still mapped in
 * T, so inherited by the fork) are not W's to write: a sibling's cgroup
 * path is what T reads back when it reaps that sibling. */
static void drop_siblings_pages(struct sbox_zygote *z)
{
	for (size_t i = 0; i < z->n; i++) {
		if (z->w[i].shm)
			munmap(z->w[i].shm, sizeof(struct shared));
		z->w[i].shm = NULL;
	}
}

static struct shared *shared_of(struct sbox_zygote *z)
{
	/* In W, prefork's page is the one of the fork that made it. */
	return z->next_shm;
}

int sbox_zygote_enter(struct sbox_zygote *z, const char *policy_text, unsigned gpu_count,
		      const int *keep_fds, size_t n_keep, char *env_out, size_t env_out_len,
		      char *err, size_t errlen)
{
	struct sbox_policy p;
	struct sbox_err e = { 0 };
	struct sbox_zygote_grant *g = NULL;
	struct shared *shm = shared_of(z);
	int rc = -1;

	drop_siblings_pages(z);
	if (errlen)
		err[0] = '\0';
	if (env_out_len)
		env_out[0] = '\0';
	sbox_policy_init(&p);
	if ((policy_text && sbox_policy_load_string(&p, policy_text, "zygote policy", &e) < 0) ||
	    sbox_policy_validate(&p, &e) < 0) {
		from(err, errlen, &e);
		goto out;
	}
	/* env_out: the policy's Environment=, then the grant's variables. */
	if (z->socket) {
		if (place_via_sboxd(z, &p, policy_text, gpu_count, &g, env_out, env_out_len, err,
				    errlen) < 0)
			goto out;
	} else if (sbox_zygote_place_direct(&g, &p, z->site, gpu_count, shm ? shm->cgroup : NULL,
					    shm ? sizeof(shm->cgroup) : 0, &e) < 0 ||
		   sbox_zygote_env_append(p.env.v, env_out, env_out_len, &e) < 0) {
		from(err, errlen, &e);
		goto out;
	}
	if (sbox_zygote_grant_env(g, env_out, env_out_len, &e) < 0 ||
	    sbox_zygote_specialise(&p, g, keep_fds, n_keep, &e) < 0) {
		from(err, errlen, &e);
		goto out;
	}
	rc = 0;
out:
	sbox_zygote_grant_free(g);
	sbox_policy_free(&p);
	return rc;
}

/* The cgroup a direct-mode worker wrote into the shared page, if it is
 * the one it could have made: the page is writable by the worker, which
 * runs the caller's code, and the template is root, so a path naming
 * another sandbox's cgroup (another user's job) must not be killed and
 * removed here.  Its own is "sbox-<its host pid>-<n>" in a cgroup
 * hierarchy, with no "." or ".." component; a copy is checked, not the
 * page the worker may still be writing. */
static bool own_cgroup(const struct worker *w, char *path, size_t len)
{
	const char *base;
	int pid;
	unsigned n;
	char tail;

	memcpy(path, w->shm->cgroup, len);
	path[len - 1] = '\0';
	if (!path[0] || strncmp(path, "/sys/fs/cgroup/", 15) != 0 || strstr(path, "/.") ||
	    strstr(path, "//"))
		return false;
	base = strrchr(path, '/') + 1;
	return sscanf(base, "sbox-%d-%u%c", &pid, &n, &tail) == 2 && pid == w->pid;
}

/* Direct mode: what is left in the worker's cgroup killed, the cgroup
 * removed; -1 (err set) only when its own could not be removed. */
static int remove_cgroup(const struct worker *w, char *err, size_t errlen)
{
	struct sbox_err e = { 0 };
	char path[sizeof(w->shm->cgroup)];

	if (!w->shm || !w->shm->cgroup[0])
		return 0;
	if (!own_cgroup(w, path, sizeof(path)))
		return fail(err, errlen, EPERM, "worker %d named a cgroup that is not its own: left alone", w->pid);
	if (sbox_zygote_remove_cgroup(path, &e) < 0)
		return from(err, errlen, &e);
	return 0;
}

int sbox_zygote_reaped(struct sbox_zygote *z, int pid, char *err, size_t errlen)
{
	int rc = 0;

	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < z->n; i++) {
		struct worker *w = &z->w[i];

		if (w->pid != pid)
			continue;
		rc = remove_cgroup(w, err, errlen);
		drop_worker(w);
		z->w[i] = z->w[--z->n];
		return rc;
	}
	return fail(err, errlen, ESRCH, "worker %d is not one of this zygote's", pid);
}

void sbox_zygote_close(struct sbox_zygote *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->n; i++) {
		char err[8];

		remove_cgroup(&z->w[i], err, sizeof(err));
		drop_worker(&z->w[i]);
	}
	if (z->next_init >= 0) {
		struct worker w = { .init_pidfd = z->next_init, .shm = z->next_shm };

		drop_worker(&w);
	}
	if (z->helper > 0) {
		kill(z->helper, SIGKILL);
		waitpid(z->helper, NULL, 0);
	}
	if (z->helper_sock >= 0)
		close(z->helper_sock);
	if (z->children_ns >= 0)
		close(z->children_ns);
	sbox_zygote_site_free(z->site);
	free(z->w);
	free(z->socket);
	free(z);
}
