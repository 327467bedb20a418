/* SPDX-License-Identifier: MIT */
#include "sboxrun/status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/dir_resources.h"
#include "policy/values.h"

/* "MemoryMax=64M", or what else bounded the memory. */
static void memory_limit_text(const struct sbox_policy *p, char *buf, size_t len)
{
	if (!p)
		snprintf(buf, len, "its MemoryMax=");
	else if (p->res.memory_max.set && p->res.memory_max.value != SBOX_INFINITY)
		sbox_limit_text("MemoryMax", &p->res.memory_max, true, buf, len);
	else if (p->res.memory_swap_max.set)
		sbox_limit_text("MemorySwapMax", &p->res.memory_swap_max, true, buf, len);
	else
		snprintf(buf, len, "no MemoryMax=: the host's or a parent cgroup's limit");
}

int sbox_end_explain(struct sbox_end *e, struct sbox_child *child, const struct sbox_policy *p,
		     int worker_status, int init_status, FILE *msg)
{
	struct sbox_err err = { 0 };

	e->have_stats = sbox_child_stats(child, &e->stats, &err) == 0;
	return sbox_end_judge(e, p, worker_status, init_status, msg);
}

int sbox_end_judge(struct sbox_end *e, const struct sbox_policy *p, int worker_status,
		   int init_status, FILE *msg)
{
	uint64_t ooms;
	char text[128];

	if (worker_status >= 0 && WIFSIGNALED(worker_status))
		e->signal = WTERMSIG(worker_status);
	else if (worker_status < 0 && init_status >= 0 && WIFSIGNALED(init_status))
		e->signal = WTERMSIG(init_status);
	if (e->timed_out) {
		if (p) {
			sbox_format_timespan(p->res.runtime_max_usec, text, sizeof(text));
			fprintf(msg, "sboxrun: worker killed: timeout (RuntimeMaxSec=%s)\n", text);
		} else {
			fprintf(msg, "sboxrun: worker killed: timeout (its RuntimeMaxSec=)\n");
		}
		return EXIT_TIMEOUT;
	}
	ooms = e->have_stats && (e->stats.have & SBOX_STAT_OOM) ? e->stats.oom_kills : 0;
	if (ooms == 0)
		return -1;
	memory_limit_text(p, text, sizeof(text));
	/* The OOM killer's signal is SIGKILL; a worker that died of it while
	 * the cgroup counted a kill was that kill's victim (or init was, and
	 * the sandbox went down with it). */
	if (e->signal == SIGKILL) {
		e->oom = true;
		fprintf(msg, "sboxrun: worker killed: out of memory (%s)\n", text);
		return 128 + SIGKILL;
	}
	fprintf(msg, "sboxrun: note: the OOM killer ended %" PRIu64 " process%s of the sandbox (%s)\n",
		ooms, ooms == 1 ? "" : "es", text);
	return -1;
}

static void human_size(uint64_t b, char *buf, size_t len)
{
	if (b >= (1ULL << 30))
		snprintf(buf, len, "%.2fG", (double)b / (1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(buf, len, "%.1fM", (double)b / (1ULL << 20));
	else if (b >= 1024)
		snprintf(buf, len, "%.1fK", (double)b / 1024);
	else
		snprintf(buf, len, "%" PRIu64 "B", b);
}

void sbox_end_print_stats(const struct sbox_end *e, FILE *out)
{
	const struct sbox_stats *s = &e->stats;
	char peak[32];

	if (!e->have_stats) {
		fprintf(out, "sboxrun: stats: none (the sandbox did not start)\n");
		return;
	}
	fprintf(out, "sboxrun: stats: wall %.3fs", (double)s->wall_usec / 1e6);
	if (s->have & SBOX_STAT_CPU)
		fprintf(out, ", cpu user %.3fs system %.3fs", (double)s->cpu_user_usec / 1e6,
			(double)s->cpu_system_usec / 1e6);
	else
		fprintf(out, ", cpu n/a");
	human_size(s->memory_peak, peak, sizeof(peak));
	fprintf(out, ", peak memory %s", s->have & SBOX_STAT_MEMORY_PEAK ? peak : "n/a");
	if (s->have & SBOX_STAT_OOM)
		fprintf(out, ", oom kills %" PRIu64, s->oom_kills);
	else
		fprintf(out, ", oom kills n/a");
	if (s->cgroup_version == 0)
		fprintf(out, " (no cgroup: from rusage, peak of the largest process)");
	fputc('\n', out);
}

static void json_u64(FILE *out, const char *key, bool have, uint64_t v)
{
	if (have)
		fprintf(out, ",\"%s\":%" PRIu64, key, v);
	else
		fprintf(out, ",\"%s\":null", key);
}

void sbox_end_format_json(const struct sbox_end *e, FILE *out)
{
	const struct sbox_stats *s = &e->stats;
	unsigned have = e->have_stats ? s->have : 0;

	fprintf(out, "{\"exit_code\":%d", e->code);
	if (e->signal)
		fprintf(out, ",\"signal\":%d", e->signal);
	else
		fprintf(out, ",\"signal\":null");
	fprintf(out, ",\"oom_killed\":%s,\"timed_out\":%s", e->oom ? "true" : "false",
		e->timed_out ? "true" : "false");
	json_u64(out, "wall_usec", e->have_stats, s->wall_usec);
	json_u64(out, "cpu_user_usec", have & SBOX_STAT_CPU, s->cpu_user_usec);
	json_u64(out, "cpu_system_usec", have & SBOX_STAT_CPU, s->cpu_system_usec);
	json_u64(out, "memory_peak_bytes", have & SBOX_STAT_MEMORY_PEAK, s->memory_peak);
	json_u64(out, "oom_kills", have & SBOX_STAT_OOM, s->oom_kills);
	if (e->have_stats && s->cgroup_version)
		fprintf(out, ",\"cgroup\":\"v%d\"}\n", s->cgroup_version);
	else
		fprintf(out, ",\"cgroup\":null}\n");
}

int sbox_end_open_json(const char *path, struct sbox_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return sbox_fail(err, errno, "--json-status %s", path);
	return fd;
}

int sbox_end_write_json(const struct sbox_end *e, int fd, const char *path, struct sbox_err *err)
{
	struct stat st;
	FILE *f;

	/* A regular file is replaced; a pipe or a terminal (/dev/stdout) is
	 * written to, as when it was opened with O_TRUNC at the end. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0) {
		int x = errno;

		close(fd);
		return sbox_fail(err, x, "--json-status %s", path);
	}
	f = fdopen(fd, "w");
	if (!f) {
		int x = errno;

		close(fd);
		return sbox_fail(err, x, "--json-status %s", path);
	}
	sbox_end_format_json(e, f);
	if (ferror(f) | (fclose(f) != 0))
		return sbox_fail(err, errno, "writing --json-status %s", path);
	return 0;
}
