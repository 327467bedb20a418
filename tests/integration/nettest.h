/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the network tests (test_network.c, test_netgroup.c):
 * the registry's paths, namespaces seen from the host, lock files.
 */
#ifndef SBOX_TESTS_NETTEST_H
#define SBOX_TESTS_NETTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/harness.h"

/* Root's groups: the registry is per uid, and its files are named for the
 * worker's uid too (sandbox/netgroup.h): root's workers run as nobody
 * unless User= says otherwise. */
#define REGISTRY "/run/sbox/net"
#define GROUP_DIR REGISTRY "/group/0"
#define AS_NOBODY "@65534"
#define IPAM_DIR REGISTRY "/ipam"

static inline void host_netns(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/ns/net", buf, len - 1);

	assert_true(n > 0);
	buf[n] = '\0';
}

static inline char *sandbox_netns(const struct run_result *r)
{
	char *v = kv_get(r->out, "ns.net");

	if (!v)
		dump_result(r);
	assert_non_null(v);
	return v;
}

static inline bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Is a netns ("net:[123]") still held by a process or a mount of ours? */
static inline bool netns_held(const char *ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool held = false;
	FILE *f;
	char line[4096];
	unsigned long ino = strtoul(ns + 5, NULL, 10);

	assert_non_null(d);
	while (!held && (e = readdir(d))) {
		char path[300], target[64];
		ssize_t n;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			held = strcmp(target, ns) == 0;
		}
	}
	closedir(d);
	f = fopen("/proc/self/mountinfo", "r");
	assert_non_null(f);
	while (!held && fgets(line, sizeof(line), f)) {
		char needle[64];

		snprintf(needle, sizeof(needle), "net:[%lu]", ino);
		held = strstr(line, needle) != NULL;
	}
	fclose(f);
	return held;
}

/* The sandbox's init dies asynchronously after its launcher is killed. */
static inline bool netns_released(const char *ns)
{
	for (int i = 0; i < 100; i++) {
		if (!netns_held(ns))
			return true;
		usleep(20000);
	}
	return false;
}

/* A lock held by a killed launcher's sandbox (its init keeps a copy) goes
 * when that sandbox has died of PR_SET_PDEATHSIG, a moment after the
 * launcher: wait for it, as the next launch of a real job would not need
 * to (it would just get another address, or join the dying group). */
static inline bool wait_unlocked(const char *path)
{
	for (int i = 0; i < 200; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return errno == ENOENT;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			close(fd);
			return true;
		}
		close(fd);
		usleep(10000);
	}
	return false;
}

static inline bool is_locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	if (!locked)
		flock(fd, LOCK_UN);
	close(fd);
	return locked;
}

static inline void require_root(void)
{
	if (!running_as_root())
		skip_because("needs root (CAP_NET_ADMIN in the host's network namespace)");
}

#endif
