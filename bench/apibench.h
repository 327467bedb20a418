/* SPDX-License-Identifier: MIT */
/* apibench's backends: one way of launching a command each (bench/apibench.c). */
#ifndef SBOX_BENCH_APIBENCH_H
#define SBOX_BENCH_APIBENCH_H

#include <stddef.h>

#define BENCH_MAX_SETS 64
#define BENCH_MAX_CLIENTS 64

struct bench_backend;

struct bench_ctx {
	const struct bench_backend *be;
	unsigned n, warmup, live, clients;
	double seconds;
	unsigned pause_ms;                 /* -p: idle time before each timed launch */
	const char *sets[BENCH_MAX_SETS];  /* -s Name=Value: policy directives */
	size_t n_sets;
	const char *socket;                /* -S: sboxd's socket (libsbox) */
	const char *raw_path;              /* -o: every latency, one a line */
	const char *watch_status;          /* -P: /proc/PID/status to read RSS from */
	char **argv;                       /* the command launched */
	void *priv;                        /* the backend's state */
};

struct bench_backend {
	const char *name;
	int (*init)(struct bench_ctx *x);
	/* Launch argv, wait for its end: 0 and its wait status, or -1. */
	int (*run)(struct bench_ctx *x, char *const argv[], int *status);
	/* Launch argv and keep it running until stop_live. */
	int (*start_live)(struct bench_ctx *x, char *const argv[]);
	void (*stop_live)(struct bench_ctx *x);
	void (*fini)(struct bench_ctx *x);
};

extern const struct bench_backend bench_direct_backend;   /* apibench_direct.c */
extern const struct bench_backend bench_libsbox_backend;  /* apibench_libsbox.c */

#endif
