/* SPDX-License-Identifier: MIT */
/*
 * apibench's "libsbox" backend: jobs through sboxd with the client library,
 * the way a node agent launches — no sboxrun process.  The policy is the
 * -s directives as policy text.  Each process has its own connection: the
 * throughput clients are forked after init, so the connection is (re)made
 * by the process that uses it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/apibench.h"
#include "include/sbox/libsbox.h"

extern char **environ;

struct libsbox_state {
	struct sbox_client *client;
	pid_t owner;               /* the process that connected */
	char *policy;              /* "[Sandbox]\nName=Value\n..." */
	uint64_t *live;
	size_t n_live;
};

static struct sbox_client *client_of(struct bench_ctx *x)
{
	struct libsbox_state *s = x->priv;

	if (s->client && s->owner == getpid())
		return s->client;
	/* A forked client: the parent's connection stays the parent's. */
	s->client = sbox_client_new();
	s->owner = getpid();
	if (!s->client || sbox_client_connect(s->client, x->socket) < 0) {
		fprintf(stderr, "apibench: libsbox: connecting to %s: %s\n",
			x->socket ? x->socket : sbox_client_default_socket(),
			s->client ? sbox_client_error(s->client) : "out of memory");
		sbox_client_free(s->client);
		s->client = NULL;
	}
	return s->client;
}

static int libsbox_init(struct bench_ctx *x)
{
	struct libsbox_state *s = calloc(1, sizeof(*s));
	size_t len = sizeof("[Sandbox]\n");

	if (!s)
		return -1;
	x->priv = s;
	for (size_t i = 0; i < x->n_sets; i++)
		len += strlen(x->sets[i]) + 1;
	s->policy = malloc(len);
	if (!s->policy)
		return -1;
	strcpy(s->policy, "[Sandbox]\n");
	for (size_t i = 0; i < x->n_sets; i++) {
		strcat(s->policy, x->sets[i]);
		strcat(s->policy, "\n");
	}
	return client_of(x) ? 0 : -1;
}

static int launch(struct bench_ctx *x, char *const argv[], uint64_t *id)
{
	struct libsbox_state *s = x->priv;
	struct sbox_client *c = client_of(x);
	struct sbox_job_spec spec = SBOX_JOB_SPEC_INIT;
	struct sbox_job_info info;

	if (!c)
		return -1;
	spec.argv = (const char *const *)argv;
	spec.envp = (const char *const *)environ;
	spec.cwd = "/";
	spec.policy = s->policy;
	if (sbox_client_launch(c, &spec, &info) < 0) {
		fprintf(stderr, "apibench: libsbox: launch: %s\n", sbox_client_error(c));
		return -1;
	}
	*id = info.id;
	return 0;
}

static int libsbox_run(struct bench_ctx *x, char *const argv[], int *status)
{
	struct sbox_job_exit ex;
	uint64_t id;

	if (launch(x, argv, &id) < 0)
		return -1;
	if (sbox_client_wait(client_of(x), id, &ex) < 0) {
		fprintf(stderr, "apibench: libsbox: wait: %s\n", sbox_client_error(client_of(x)));
		return -1;
	}
	if (ex.outcome != SBOX_END_EXITED) {
		fprintf(stderr, "apibench: libsbox: job %llu ended with outcome %d: %s\n",
			(unsigned long long)id, ex.outcome, ex.message);
		return -1;
	}
	*status = ex.status;
	return 0;
}

static int libsbox_start_live(struct bench_ctx *x, char *const argv[])
{
	struct libsbox_state *s = x->priv;
	uint64_t *v = realloc(s->live, (s->n_live + 1) * sizeof(*v));

	if (!v)
		return -1;
	s->live = v;
	if (launch(x, argv, &s->live[s->n_live]) < 0)
		return -1;
	s->n_live++;
	return 0;
}

static void libsbox_stop_live(struct bench_ctx *x)
{
	struct libsbox_state *s = x->priv;
	struct sbox_client *c = client_of(x);
	struct sbox_job_exit ex;

	for (size_t i = 0; c && i < s->n_live; i++)
		if (sbox_client_signal(c, s->live[i], SIGKILL) < 0)
			fprintf(stderr, "apibench: libsbox: kill: %s\n", sbox_client_error(c));
	for (size_t i = 0; c && i < s->n_live; i++)
		if (sbox_client_wait(c, s->live[i], &ex) < 0)
			fprintf(stderr, "apibench: libsbox: wait: %s\n", sbox_client_error(c));
	s->n_live = 0;
}

static void libsbox_fini(struct bench_ctx *x)
{
	struct libsbox_state *s = x->priv;

	if (!s)
		return;
	libsbox_stop_live(x);
	if (s->owner == getpid())
		sbox_client_free(s->client);
	free(s->live);
	free(s->policy);
	free(s);
}

const struct bench_backend bench_libsbox_backend = {
	.name = "libsbox",
	.init = libsbox_init,
	.run = libsbox_run,
	.start_live = libsbox_start_live,
	.stop_live = libsbox_stop_live,
	.fini = libsbox_fini,
};
