/* SPDX-License-Identifier: MIT */
/*
 * An example node agent: runs a queue of jobs through sboxd, one GPU each.
 *
 *   node-agent [--socket PATH] [--logs DIR] QUEUE
 *
 * QUEUE has one job a line: a policy file, then the command and its
 * arguments (words split at blanks; '#' starts a comment):
 *
 *   jobs/train.policy  /usr/bin/python3 train.py --lr 0.1
 *   jobs/train.policy  /usr/bin/python3 train.py --lr 0.01
 *
 * Every job is launched at once with one GPU and SBOX_JOB_WAIT_GPU: sboxd
 * starts as many as there are free GPUs the user may have and queues the
 * rest, starting each as a GPU comes free.  The agent then collects the
 * ends as they come and prints one line per job; it exits 0 when every job
 * exited 0.  With --logs, job N's stdout and stderr go to DIR/job-N.log.
 *
 * Build: cc node-agent.c $(pkg-config --cflags --libs sbox)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbox/libsbox.h"

#define MAX_JOBS 1024
#define MAX_WORDS 256

struct job {
	char *policy_file;
	char *words[MAX_WORDS + 1];
	uint64_t id;
	unsigned gpu;
	int done;
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *nb = realloc(buf, len + n + 1);

		if (!nb) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = nb;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

/* One line of the queue into a job; 0 when the line is empty. */
static int parse_line(char *line, struct job *j)
{
	size_t n = 0;
	char *save = NULL, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	for (char *w = strtok_r(line, " \t\r\n", &save); w && n <= MAX_WORDS;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (!j->policy_file)
			j->policy_file = strdup(w);
		else
			j->words[n++] = strdup(w);
	}
	j->words[n] = NULL;
	if (!j->policy_file)
		return 0;
	if (n == 0) {
		fprintf(stderr, "node-agent: %s: no command after the policy file\n", j->policy_file);
		return -1;
	}
	return 1;
}

static int open_log(const char *dir, uint64_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/job-%" PRIu64 ".log", dir, n);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static int launch(struct sbox_client *c, struct job *j, size_t n, const char *logs)
{
	struct sbox_job_spec s = SBOX_JOB_SPEC_INIT;
	struct sbox_job_info info;
	char *policy = read_file(j->policy_file);
	int log = -1, r;

	if (!policy) {
		fprintf(stderr, "node-agent: %s: %s\n", j->policy_file, strerror(errno));
		return -1;
	}
	if (logs) {
		log = open_log(logs, n);
		if (log < 0) {
			fprintf(stderr, "node-agent: %s: %s\n", logs, strerror(errno));
			free(policy);
			return -1;
		}
	}
	s.argv = (const char *const *)j->words;
	s.policy = policy;
	s.stdio[1] = log >= 0 ? log : 1;
	s.stdio[2] = log >= 0 ? log : 2;
	s.gpus = 1;
	s.flags = SBOX_JOB_WAIT_GPU;
	r = sbox_client_launch(c, &s, &info);
	if (log >= 0)
		close(log);      /* sboxd has its copy */
	free(policy);
	if (r < 0) {
		fprintf(stderr, "node-agent: %s: %s\n", j->policy_file, sbox_client_error(c));
		return -1;
	}
	j->id = info.id;
	printf("job %" PRIu64 ": %s %s (%s)\n", info.id, j->policy_file, j->words[0],
	       info.state == SBOX_STATE_QUEUED ? "queued for a GPU" : "started");
	return sbox_client_watch(c, info.id);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "logs", required_argument, NULL, 'l' },
		{ 0 },
	};
	static struct job jobs[MAX_JOBS];
	const char *socket_path = NULL, *logs = NULL;
	struct sbox_client *c;
	size_t n = 0, left = 0;
	int opt, failed = 0;
	char *queue, *save = NULL;

	while ((opt = getopt_long(argc, argv, "s:l:", opts, NULL)) != -1) {
		if (opt == 's')
			socket_path = optarg;
		else if (opt == 'l')
			logs = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: node-agent [--socket PATH] [--logs DIR] QUEUE\n");
		return 2;
	}
	queue = read_file(argv[optind]);
	if (!queue) {
		fprintf(stderr, "node-agent: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	for (char *line = strtok_r(queue, "\n", &save); line && n < MAX_JOBS;
	     line = strtok_r(NULL, "\n", &save)) {
		int r = parse_line(line, &jobs[n]);

		if (r < 0)
			return 1;
		n += (size_t)r;
	}
	c = sbox_client_new();
	if (!c || sbox_client_connect(c, socket_path) < 0) {
		fprintf(stderr, "node-agent: %s\n", c ? sbox_client_error(c) : strerror(ENOMEM));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (launch(c, &jobs[i], i, logs) < 0) {
			failed++;
			continue;
		}
		left++;
	}
	fflush(stdout);
	while (left > 0) {
		struct sbox_job_exit ex;

		if (sbox_client_next_exit(c, &ex, -1) < 0) {
			fprintf(stderr, "node-agent: %s\n", sbox_client_error(c));
			return 1;
		}
		left--;
		int code = sbox_client_exit_code(&ex);

		printf("job %" PRIu64 ": exit %d%s%s (%.3fs)\n", ex.id, code,
		       ex.message[0] ? ": " : "", ex.message, (double)ex.stats.wall_usec / 1e6);
		fflush(stdout);
		failed += code != 0;
	}
	sbox_client_free(c);
	return failed ? 1 : 0;
}
