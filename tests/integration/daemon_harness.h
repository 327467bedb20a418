/* SPDX-License-Identifier: MIT */
/*
 * What the sboxd tests share: a daemon of their own (sboxd --foreground on a
 * socket under /var/tmp, a root-owned site configuration, its own state
 * directory), commands run as root or as nobody with their output in files
 * (a detached job may keep a pipe open long after its client is gone), and
 * raw protocol connections for the tests that misbehave on purpose.
 *
 * The binaries come from $SBOXD (else next to $SBOXRUN); they and the probe
 * are copied into the test's directory so that nobody can run them.
 */
#ifndef SBOX_TESTS_DAEMON_HARNESS_H
#define SBOX_TESTS_DAEMON_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "wire/protocol.h"
#include "tests/integration/harness.h"

#define NOBODY 65534

struct sboxd {
	char *dir;              /* 0755, under /var/tmp */
	char sock[256];
	char conf[256];
	char state[256];
	char log[256];
	char sboxrun[256];      /* copies nobody may run */
	char probe[256];
	char agent[256];
	/* Set: sboxd runs in a mount namespace of its own where this file
	 * is /etc/group (passwd_file: /etc/passwd), which a test may edit
	 * (the host's stays as it is). */
	char group_file[256];
	char passwd_file[256];
	pid_t pid;
};

struct cmd {
	int code;               /* exit code, 128+N for signal N, -1 timed out */
	char *out, *err;
};

/* Skips (the test) when not root or when the binaries are missing. */
void sboxd_prepare(struct sboxd *d);
/* Write the site configuration ([Daemon] StateDirectory=, AllowUsers=nobody,
 * then `extra`) and start sboxd; returns once it answers a PING. */
void sboxd_start(struct sboxd *d, const char *extra);
/* Start it again on the same configuration (after a kill). */
void sboxd_restart(struct sboxd *d);
/* SIGTERM and wait (bounded): sboxd's exit code. */
int sboxd_stop(struct sboxd *d);
void sboxd_kill9(struct sboxd *d);
/* Stop whatever runs, the keeper too, and remove the directory. */
void sboxd_cleanup(struct sboxd *d);
int sboxd_fd_count(const struct sboxd *d);
char *sboxd_log(const struct sboxd *d);
/* Poll (up to timeout_ms) until sboxd lists no job: true when it doesn't. */
bool sboxd_no_jobs(struct sboxd *d, int timeout_ms);

/* Run argv as uid (0 or NOBODY), waiting for the process itself (not for
 * its pipes), killed after timeout_s. */
void cmd_run(struct cmd *r, uid_t uid, int timeout_s, const char *const *argv);
void cmd_runl(struct cmd *r, uid_t uid, int timeout_s, ...) __attribute__((sentinel));
/* Start argv in the background (output into files under d->dir/bg-N). */
pid_t cmd_start(uid_t uid, const char *const *argv, const char *out_path);
void cmd_free(struct cmd *r);
void cmd_dump(const struct cmd *r);

/* Raw protocol. */
int raw_connect(const char *sock);
int raw_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds);
int raw_send_mb(int fd, struct sbox_mb *b);
/* 1: a message in *m; 0: EOF; -1: nothing within timeout_ms. */
int raw_recv(int fd, struct sbox_msg *m, int timeout_ms);
/* A PING answered on a new connection. */
bool raw_ping(const char *sock);

void become(uid_t uid);
/* The sboxd binary: $SBOXD, else the one next to $SBOXRUN (buf: PATH_MAX). */
const char *sboxd_path(char *buf);

/* The sandbox cgroup of a process on the host (v2, or v1's memory
 * hierarchy), from /proc/PID/cgroup: false when it has none. */
bool sandbox_cgroup_of(pid_t pid, char *buf, size_t len);
/* The same in v1's hierarchy of controller ("freezer"): false without. */
bool sandbox_v1_cgroup_of(pid_t pid, const char *controller, char *buf, size_t len);

#define assert_cmd(r, expected)                                               \
	do {                                                                  \
		if ((r)->code != (expected))                                  \
			cmd_dump(r);                                          \
		assert_int_equal((r)->code, (expected));                      \
	} while (0)

#define assert_cmd_err(r, text)                                               \
	do {                                                                  \
		if (!strstr((r)->err, (text)))                                \
			cmd_dump(r);                                          \
		assert_non_null(strstr((r)->err, (text)));                    \
	} while (0)

#endif
