/* SPDX-License-Identifier: MIT */
/*
 * apibench's "direct" backend: the sandbox library called in-process, the
 * way sboxrun's direct mode (and a Slurm plugin) uses it — one validated
 * policy built once, then sbox_spawn, the events until init is gone, reap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/apibench.h"
#include "policy/directives.h"
#include "sandbox/sandbox.h"

extern char **environ;

struct direct_state {
	struct sbox_policy policy;
	struct sbox_launch launch;
	struct sbox_child **live;
	size_t n_live;
};

static int direct_init(struct bench_ctx *x)
{
	struct direct_state *s = calloc(1, sizeof(*s));
	struct sbox_err err = { 0 };

	if (!s)
		return -1;
	x->priv = s;
	sbox_policy_init(&s->policy);
	for (size_t i = 0; i < x->n_sets; i++) {
		char name[128];
		const char *eq = strchr(x->sets[i], '=');

		if (!eq || (size_t)(eq - x->sets[i]) >= sizeof(name)) {
			fprintf(stderr, "apibench: -s %s: expected Name=Value\n", x->sets[i]);
			return -1;
		}
		memcpy(name, x->sets[i], (size_t)(eq - x->sets[i]));
		name[eq - x->sets[i]] = '\0';
		if (sbox_policy_set(&s->policy, name, eq + 1, &err) < 0) {
			fprintf(stderr, "apibench: %s\n", err.msg);
			return -1;
		}
	}
	if (sbox_policy_validate(&s->policy, &err) < 0) {
		fprintf(stderr, "apibench: %s\n", err.msg);
		return -1;
	}
	/* stdio -1: /dev/null, as hyperfine gives the other rows. */
	s->launch = (struct sbox_launch){
		.stdio = { -1, -1, -1 },
		.caller_cwd = "/",
		.caller_env = environ,
		.caller_uid = getuid(),
		.caller_gid = getgid(),
	};
	return 0;
}

static int spawn(struct direct_state *s, char *const argv[], struct sbox_child **c)
{
	struct sbox_err err = { 0 };

	s->launch.argv = argv;
	if (sbox_spawn(&s->policy, &s->launch, c, &err) < 0) {
		fprintf(stderr, "apibench: direct: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int direct_run(struct bench_ctx *x, char *const argv[], int *status)
{
	struct direct_state *s = x->priv;
	struct sbox_err err = { 0 };
	struct sbox_child *c;
	struct sbox_event ev;
	int r, st, ok = -1;

	if (spawn(s, argv, &c) < 0)
		return -1;
	while ((r = sbox_child_read_event(c, &ev, &err)) > 0) {
		if (ev.kind == SBOX_EV_EXITED) {
			*status = ev.status;
			ok = 0;
		} else if (ev.kind != SBOX_EV_STARTED && ev.kind != SBOX_EV_EMPTIED) {
			fprintf(stderr, "apibench: direct: %s\n", ev.msg);
		}
	}
	if (r < 0)
		fprintf(stderr, "apibench: direct: %s\n", err.msg);
	if (sbox_child_reap(c, &st, &err) < 0)
		ok = -1;
	sbox_child_free(c);
	return r < 0 ? -1 : ok;
}

/* Hold a sandbox whose worker runs until stop_live: wait until it started. */
static int direct_start_live(struct bench_ctx *x, char *const argv[])
{
	struct direct_state *s = x->priv;
	struct sbox_err err = { 0 };
	struct sbox_child **v = realloc(s->live, (s->n_live + 1) * sizeof(*v));
	struct sbox_event ev = { 0 };

	if (!v)
		return -1;
	s->live = v;
	if (spawn(s, argv, &s->live[s->n_live]) < 0)
		return -1;
	if (sbox_child_read_event(s->live[s->n_live], &ev, &err) <= 0 ||
	    ev.kind != SBOX_EV_STARTED) {
		fprintf(stderr, "apibench: direct: live sandbox did not start: %s\n",
			ev.kind ? ev.msg : err.msg);
		sbox_child_free(s->live[s->n_live]);
		return -1;
	}
	s->n_live++;
	return 0;
}

static void direct_stop_live(struct bench_ctx *x)
{
	struct direct_state *s = x->priv;

	for (size_t i = 0; i < s->n_live; i++)
		sbox_child_free(s->live[i]);
	s->n_live = 0;
}

static void direct_fini(struct bench_ctx *x)
{
	struct direct_state *s = x->priv;

	if (!s)
		return;
	direct_stop_live(x);
	free(s->live);
	sbox_policy_free(&s->policy);
	free(s);
}

const struct bench_backend bench_direct_backend = {
	.name = "direct",
	.init = direct_init,
	.run = direct_run,
	.start_live = direct_start_live,
	.stop_live = direct_stop_live,
	.fini = direct_fini,
};
