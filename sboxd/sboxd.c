/* SPDX-License-Identifier: MIT */
/*
 * sboxd: the privileged forkserver (sboxd(8), docs/protocol.md).  It starts
 * before any heavy state exists and keeps none: it reads the site
 * configuration, takes back the jobs of a predecessor from the keeper, and
 * serves clients on a SOCK_SEQPACKET socket from one single-threaded event
 * loop (sboxd/loop.c).  SIGTERM stops accepting, ends the jobs of
 * connected clients, and leaves detached jobs to the keeper for the next
 * sboxd.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/netns_pool.h"
#include "sandbox/net_host.h"

static void usage(FILE *out)
{
	fputs("Usage: sboxd [--config FILE] [--socket PATH] [--foreground]\n"
	      "The sbox forkserver: launches sandboxes for local users and node agents.\n"
	      "\n"
	      "  -c, --config FILE   site configuration (default " SBOX_SITE_DEFAULT_PATH ";\n"
	      "                      root-owned, not writable by others)\n"
	      "  -s, --socket PATH   listen here (default: Socket= of [Daemon], else\n"
	      "                      " SBOX_DEFAULT_SOCKET ")\n"
	      "  -f, --foreground    stay in the foreground, log to stderr\n"
	      "  -h, --help          show this help\n"
	      "      --version       show the version\n"
	      "See sboxd(8) and docs/protocol.md.\n", out);
}

static int mkdirs(const char *path, mode_t last_mode, struct sbox_err *err)
{
	char buf[PATH_MAX];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return sbox_fail(err, ENAMETOOLONG, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return sbox_fail(err, errno, "creating %s", buf);
		*p = '/';
	}
	if (mkdir(buf, last_mode) < 0 && errno != EEXIST)
		return sbox_fail(err, errno, "creating %s", buf);
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return sbox_fail(err, errno ? errno : ENOTDIR, "%s", buf);
	if (st.st_uid != 0)
		return sbox_fail(err, 0, "%s is owned by uid %u, not root: refused", buf,
				 (unsigned)st.st_uid);
	return 0;
}

/* One sboxd per state directory: two would lease the same GPUs. */
static int lock_state(struct sboxd *d, struct sbox_err *err)
{
	const char *dir = sbox_site_state_dir(&d->site.daemon);
	char path[PATH_MAX];

	if (mkdirs(dir, 0700, err) < 0)
		return -1;
	chmod(dir, 0700);
	snprintf(path, sizeof(path), "%s/sboxd.lock", dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->lock_fd < 0)
		return sbox_fail(err, errno, "opening %s", path);
	/* A predecessor just killed may have cloned a sandbox's init a
	 * moment before: the lock lives on in the init's copy of its fds
	 * until its first step (C0) closes them.  So a lock held is tried
	 * again for up to 2 s before it means another sboxd. */
	for (int tries = 0; flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		struct timespec ts = { 0, 50 * 1000000 };

		if (errno != EWOULDBLOCK || tries == 40)
			return sbox_fail(err, errno,
					 "another sboxd runs with StateDirectory=%s (%s is locked)", dir,
					 path);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* systemd socket activation (sboxd.socket), without libsystemd: the fd
 * is 3 when LISTEN_PID is us. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0;
	socklen_t len = sizeof(type);

	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
		return -1;
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, O_NONBLOCK);
	return 3;
}

static int listen_socket(struct sboxd *d, bool *made, struct sbox_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	char *slash;
	int fd = activated_socket();

	*made = false;
	if (fd >= 0)
		return fd;
	if (strlen(d->socket_path) >= sizeof(sa.sun_path))
		return sbox_fail(err, ENAMETOOLONG, "socket path %s", d->socket_path);
	snprintf(dir, sizeof(dir), "%s", d->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdirs(dir, 0755, err) < 0)
			return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sbox_fail(err, errno, "creating the socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->socket_path);
	/* The state lock says no other sboxd owns it: a leftover socket. */
	unlink(d->socket_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return sbox_fail(err, e, "binding %s", d->socket_path);
	}
	*made = true;
	/* Anyone may connect; who may do what is SO_PEERCRED's business
	 * (AllowUsers=, AllowGroups=). */
	if (chmod(d->socket_path, 0666) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		close(fd);
		return sbox_fail(err, e, "listening on %s", d->socket_path);
	}
	return fd;
}

static int setup_signals(struct sboxd *d, struct sbox_err *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return sbox_fail(err, errno, "blocking signals");
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->signal_fd < 0)
		return sbox_fail(err, errno, "creating a signalfd");
	return 0;
}

/* Every client is an fd: take what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Detach from the terminal; the parent exits once we listen (or says why
 * we could not), so that "sboxd && sboxrun ..." works. */
static int daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char buf[SBOX_ERR_MSG_MAX];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		setsid();
		*ready_fd = p[1];
		return 0;
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	if (n == 1 && buf[0] == '\n')
		_exit(0);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "sboxd: %s\n", buf);
	}
	_exit(1);
}

/* The site configuration and what it says about the host, read first,
 * so that a bad file stops sboxd before it takes the state lock. */
static int load_config(struct sboxd *d, bool config_given, struct sbox_err *err)
{
	if (geteuid() != 0)
		return sbox_fail(err, EPERM, "sboxd must run as root");
	/* The default file may be missing (built-in defaults: only root may
	 * connect); a file named on the command line must exist. */
	if (sbox_site_load(&d->site, d->config_path, config_given, err) < 0)
		return -1;
	d->site.daemon.bounds.file = d->config_path;
	/* A killed predecessor's sandboxes died with it (or live on and hold
	 * their leases): the lease files of the dead ones go now.  A veth
	 * range that overlaps the host's networks would route them into
	 * sandboxes: a range the site named is its error; the built-in
	 * default only leaves veth refused (checked again at each lease). */
	if (sbox_net_host_start(&d->site, err) < 0) {
		if (d->site.network.veth_subnet_set)
			return -1;
		sboxd_log("%s; PrivateNetwork=veth will be refused", err->msg);
		sbox_err_clear(err);
	}
	if (!d->socket_path)
		d->socket_path = d->site.daemon.socket ? d->site.daemon.socket : SBOX_DEFAULT_SOCKET;
	return 0;
}

/* The state lock, signals and the event loop's own resources: taken
 * before the state is read, so that no second sboxd reads it too. */
static int prepare_loop(struct sboxd *d, struct sbox_err *err)
{
	if (lock_state(d, err) < 0 || setup_signals(d, err) < 0)
		return -1;
	raise_nofile();
	/* One fd kept in reserve, so that at EMFILE a client is still told
	 * why (conn_accept) instead of waiting in the backlog. */
	d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	d->rxbuf = malloc(SBOX_PROTO_MAX_MSG + 1);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!d->rxbuf || d->epfd < 0)
		return sbox_fail(err, errno ? errno : ENOMEM, "setting up the event loop");
	return teardown_start(d, err);
}

/* Leases, the keeper and what it kept of a predecessor's jobs, and the
 * job ids: all before the socket opens, so no client sees a half state. */
static int restore_state(struct sboxd *d, struct sbox_err *err)
{
	if (leases_init(d, err) < 0)
		return -1;
	if (keeper_start(d, err) < 0) {
		sboxd_log("%s; jobs will not survive a restart of sboxd", err->msg);
		sbox_err_clear(err);
	}
	return keeper_recover(d, err) < 0 || ids_load(d, err) < 0 ? -1 : 0;
}

/* The network helpers launches share: the reaper, and the netns pool
 * (without which launches still work, only slower). */
static int prepare_network(struct sboxd *d, struct sbox_err *err)
{
	if (sbox_net_reaper_new(&d->net_reaper, err) < 0)
		return -1;
	if (d->site.daemon.netns_pool > 0 &&
	    sbox_netns_pool_new(&d->netns_pool, d->site.daemon.netns_pool, err) < 0) {
		sboxd_log("%s: no netns pool", err->msg);
		sbox_err_clear(err);
	}
	return 0;
}

/* What every launch needs that can be made once, ahead: the device
 * program of a sandbox granted no device (cgroup v2).  Without it
 * launches load their own. */
static void prepare_devices(void)
{
	struct sbox_err err = { 0 };
	char note[SBOX_ERR_MSG_MAX];

	if (sbox_devices_prepare_base(&err) < 0)
		sboxd_log("%s: launches will load the device program themselves", err.msg);
	/* And what the host's mounts cost every launch (--check=host's). */
	if (sbox_check_host_note(note, sizeof(note)))
		sboxd_log("note: %s", note);
}

/* The listening socket last: clients come in only to a ready daemon. */
static int open_socket(struct sboxd *d, bool *made, struct sbox_err *err)
{
	d->listen_fd = listen_socket(d, made, err);
	if (d->listen_fd < 0)
		return -1;
	d->w_listen.kind = W_LISTEN;
	d->w_signal.kind = W_SIGNAL;
	d->w_keeper.kind = W_KEEPER;
	if (sboxd_watch(d, d->listen_fd, &d->w_listen, EPOLLIN) < 0 ||
	    sboxd_watch(d, d->signal_fd, &d->w_signal, EPOLLIN) < 0 ||
	    (d->keeper_fd >= 0 && sboxd_watch(d, d->keeper_fd, &d->w_keeper, EPOLLIN) < 0))
		return sbox_fail(err, errno, "watching the sockets");
	return 0;
}

static int start(struct sboxd *d, bool config_given, bool *made, struct sbox_err *err)
{
	/* The network helpers before the state: an adopted veth job's end
	 * goes to the reaper too. */
	if (load_config(d, config_given, err) < 0 || prepare_loop(d, err) < 0 ||
	    prepare_network(d, err) < 0 || restore_state(d, err) < 0)
		return -1;
	prepare_devices();
	if (pool_init(d, err) < 0 || open_socket(d, made, err) < 0)
		return -1;
	/* Launches queued before a restart whose GPUs came free meanwhile. */
	jobs_retry_queued(d);
	return 0;
}

#define CARRY_ON (-1)   /* parse_args(): nothing more to say, start */

/* The command line; CARRY_ON to start, else the exit code. */
static int parse_args(int argc, char **argv, struct sboxd *d, bool *config_given)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:s:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			*config_given = true;
			break;
		case 's':
			d->socket_path = optarg;
			break;
		case 'f':
			d->foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sboxd %s (protocol %d)\n", SBOX_VERSION, SBOX_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sboxd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return CARRY_ON;
}

/* Whoever started a backgrounded sboxd waits on the ready pipe: a
 * newline when it listens, the error when it could not start. */
static void tell_ready(int *ready)
{
	if (*ready >= 0) {
		(void)!write(*ready, "\n", 1);
		close(*ready);
		*ready = -1;
	}
}

static void tell_failure(int ready, const struct sbox_err *err)
{
	if (ready >= 0)
		(void)!write(ready, err->msg, strlen(err->msg));
	else
		fprintf(stderr, "sboxd: %s\n", err->msg);
}

/* The socket goes only if this sboxd made it (an activated one is the
 * caller's); then everything start() took. */
static void shut_down(struct sboxd *d, bool made)
{
	sboxd_drop_all(d);
	if (made && d->listen_fd >= 0)
		unlink(d->socket_path);
	pool_free(d);
	if (d->netns_pool)
		sbox_netns_pool_free(d->netns_pool);
	sbox_net_reaper_free(d->net_reaper);
	leases_free(d);
	for (int *fd = (int[]){ d->listen_fd, d->epfd, d->signal_fd, d->keeper_fd, d->lock_fd, d->spare_fd, -2 };
	     *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	free(d->rxbuf);
	sbox_site_free(&d->site);
}

int main(int argc, char **argv)
{
	struct sboxd d = { .epfd = -1, .listen_fd = -1, .signal_fd = -1, .lock_fd = -1,
			   .keeper_fd = -1, .spare_fd = -1, .next_job_id = 1,
			   .config_path = SBOX_SITE_DEFAULT_PATH };
	struct sbox_err err = { 0 };
	int ready = -1, rc;
	bool made = false, config_given = false;

	sbox_site_init(&d.site);
	rc = parse_args(argc, argv, &d, &config_given);
	if (rc != CARRY_ON)
		return rc;
	if (!d.foreground && daemonize(&ready) < 0) {
		fprintf(stderr, "sboxd: going to the background: %s\n", strerror(errno));
		return 1;
	}
	if (start(&d, config_given, &made, &err) < 0) {
		tell_failure(ready, &err);
		rc = 1;
	} else {
		sboxd_log("listening on %s (protocol %d, %zu GPU%s, config %s)", d.socket_path,
			  SBOX_PROTO_VERSION, d.leases.inv.n, d.leases.inv.n == 1 ? "" : "s",
			  d.config_path);
		tell_ready(&ready);
		rc = sboxd_run(&d) < 0 ? 1 : 0;
		sboxd_log("stopped");
	}
	shut_down(&d, made);
	return rc;
}
