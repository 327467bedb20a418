/* SPDX-License-Identifier: MIT */
/*
 * spank_sbox: a Slurm SPANK plugin that runs every task of a job step in an
 * sbox sandbox (docs/slurm.md).
 *
 * It execs sboxrun rather than linking sandbox/: sboxrun is the tested,
 * installed privileged launcher, and a plugin loaded into slurmstepd should
 * not carry a second copy of the sandbox code nor its failure modes.  The
 * exec happens in slurm_spank_task_init_privileged, which Slurm calls in the
 * forked task process, as root, after the task's stdio, process group and
 * cgroups are set up and before it drops to the user: sboxrun (root) builds
 * the sandbox inside the task's cgroups and runs the command as the job's
 * user.  The task's pid is sboxrun's, so Slurm waits for it, signals it and
 * takes its exit status, which is the worker's.
 *
 * Failure never runs the task unsandboxed: any error here returns -1 from
 * the privileged hook, which makes slurmstepd exit the task with status 1,
 * and the reason is written to the task's stderr; a sandbox sboxrun can't
 * build ends with its message on the same stderr and status 125.
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

SPANK_PLUGIN(sbox, 1);

#define SET_SEP '\n'    /* joins repeated --sbox-set values */
/* srun/sbatch hand the joined --sbox-set list to the remote side in the
 * job's environment (Slurm keeps only an option's last value). */
#define SETS_ENV "SBOX_SLURM_SETS"

/* Site defaults, from plugstack.conf's arguments. */
static struct {
	bool required;          /* every task sandboxed, with or without --sbox */
	char sboxrun[4096];
	char policy[4096];      /* site policy, applied before the job's */
	char site_config[4096]; /* sboxrun --site-config (GPU inventory) */
	char gres_conf[4096];
	enum { ENV_ALL, ENV_SLURM, ENV_NONE } env;
} site = {
	.sboxrun = "/usr/local/bin/sboxrun",
	.gres_conf = "/etc/slurm/gres.conf",
};

/* The job's options, as the remote side sees them. */
static struct {
	bool sbox;
	char *policy;
	char *sets;             /* SET_SEP-joined */
} job;

static int opt_sbox(int val, const char *optarg, int remote);
static int opt_policy(int val, const char *optarg, int remote);
static int opt_set(int val, const char *optarg, int remote);

static struct spank_option options[] = {
	{ "sbox", NULL, "Run each task in an sbox sandbox (sbox's defaults and the site's)",
	  0, 0, opt_sbox },
	{ "sbox-policy", "FILE", "Run each task in an sbox sandbox with this job policy", 1, 0,
	  opt_policy },
	{ "sbox-set", "DIRECTIVE=VALUE",
	  "Run each task in an sbox sandbox with this policy directive (repeatable)", 1, 0,
	  opt_set },
	SPANK_OPTIONS_TABLE_END
};

/* Directives a job may set: what sboxd's bounds let an ordinary client set
 * without a site bound.  Identity, binds, devices, GPUs, the network, the
 * cgroup parent and capabilities stay the site's and Slurm's (docs/slurm.md). */
static const char *const job_directives[] = {
	"Hostname", "TemporaryFileSystem", "InaccessiblePaths", "Environment",
	"PassEnvironment", "WorkingDirectory", "UMask", "NewSession", "MemoryMax",
	"MemoryHigh", "MemorySwapMax", "TasksMax", "CPUQuota", "CPUWeight", "AllowedCPUs",
	"AllowedMemoryNodes", "IOWeight", "RuntimeMaxSec", "NoNewPrivileges",
	"SeccompProfile", "SystemCallFilter", "SystemCallErrorNumber", "LimitCPU",
	"LimitFSIZE", "LimitDATA", "LimitSTACK", "LimitCORE", "LimitRSS", "LimitNOFILE",
	"LimitAS", "LimitNPROC", "LimitMEMLOCK", "LimitLOCKS", "LimitSIGPENDING",
	"LimitMSGQUEUE", "LimitNICE", "LimitRTPRIO", "LimitRTTIME", NULL
};

/* The task's stderr is the job's: the user reads why the task didn't run
 * there, and slurmd's log gets the same line. */
static void task_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void task_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "sbox (slurm): %s\n", msg);
	slurm_error("sbox: %s", msg);
}

static int opt_sbox(int val, const char *optarg, int remote)
{
	job.sbox = true;
	return 0;
}

static int opt_policy(int val, const char *optarg, int remote)
{
	if (!optarg || !*optarg || optarg[0] != '/') {
		slurm_error("sbox: --sbox-policy needs an absolute file name");
		return -1;
	}
	free(job.policy);
	job.policy = strdup(optarg);
	job.sbox = true;
	return job.policy ? 0 : -1;
}

static int append_set(const char *v)
{
	size_t old = job.sets ? strlen(job.sets) : 0;
	char *n = realloc(job.sets, old + strlen(v) + 2);

	if (!n)
		return -1;
	if (old)
		n[old++] = SET_SEP;
	strcpy(n + old, v);
	job.sets = n;
	return 0;
}

static int opt_set(int val, const char *optarg, int remote)
{
	if (!optarg || !strchr(optarg, '=') || strchr(optarg, SET_SEP)) {
		slurm_error("sbox: --sbox-set needs DIRECTIVE=VALUE on one line");
		return -1;
	}
	job.sbox = true;
	if (append_set(optarg) < 0)
		return -1;
	/* srun and sbatch send their own environment to the job: the
	 * joined list travels there (Slurm keeps only an option's last
	 * value for the remote side). */
	return remote ? 0 : setenv(SETS_ENV, job.sets, 1);
}

static int copy_arg(char *dst, size_t size, const char *arg, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(arg, key, n) != 0)
		return 0;
	if (snprintf(dst, size, "%s", arg + n) >= (int)size) {
		slurm_error("sbox: plugstack.conf: %s too long", key);
		return -1;
	}
	return 1;
}

static int parse_args(int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		int r = 0;

		if (strcmp(av[i], "required") == 0) {
			site.required = true;
			continue;
		}
		if (strcmp(av[i], "env=all") == 0 || strcmp(av[i], "env=slurm") == 0 ||
		    strcmp(av[i], "env=none") == 0) {
			site.env = av[i][4] == 'a' ? ENV_ALL : av[i][4] == 's' ? ENV_SLURM : ENV_NONE;
			continue;
		}
		r = copy_arg(site.sboxrun, sizeof site.sboxrun, av[i], "sboxrun=");
		if (!r)
			r = copy_arg(site.policy, sizeof site.policy, av[i], "policy=");
		if (!r)
			r = copy_arg(site.site_config, sizeof site.site_config, av[i], "site_config=");
		if (!r)
			r = copy_arg(site.gres_conf, sizeof site.gres_conf, av[i], "gres_conf=");
		if (r < 0)
			return -1;
		if (r == 0) {
			slurm_error("sbox: plugstack.conf: unknown argument '%s'", av[i]);
			return -1;
		}
	}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	if (parse_args(ac, av) < 0)
		return -1;
	/* Registered here rather than through a spank_options symbol:
	 * sbatch and salloc (allocator context) only see options
	 * registered this way. */
	for (struct spank_option *o = options; o->name; o++)
		if (spank_option_register(sp, o) != ESPANK_SUCCESS) {
			slurm_error("sbox: can't register --%s", o->name);
			return -1;
		}
	return 0;
}

/* The remote side's view of the options: getopt for each, and the joined
 * --sbox-set list from the job's environment (SETS_ENV). */
static int remote_options(spank_t sp)
{
	char *arg = NULL;
	static char sets[65536];

	if (spank_option_getopt(sp, &options[0], &arg) == ESPANK_SUCCESS)
		job.sbox = true;
	arg = NULL;
	if (spank_option_getopt(sp, &options[1], &arg) == ESPANK_SUCCESS && arg) {
		if (opt_policy(0, arg, 1) < 0)
			return -1;
	}
	if (spank_getenv(sp, SETS_ENV, sets, sizeof sets) == ESPANK_SUCCESS && sets[0]) {
		job.sbox = true;
		free(job.sets);
		job.sets = strdup(sets);
		if (!job.sets)
			return -1;
	} else {
		arg = NULL;
		if (spank_option_getopt(sp, &options[2], &arg) == ESPANK_SUCCESS && arg &&
		    !job.sets && opt_set(0, arg, 1) < 0)
			return -1;
	}
	return 0;
}

/* A growing argv/envp. */
struct vec {
	char **v;
	size_t n, cap;
};

static int vec_add(struct vec *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof *v);

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	if (!(a->v[a->n] = strdup(s)))
		return -1;
	a->v[++a->n] = NULL;
	return 0;
}

static int vec_addf(struct vec *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vec_addf(struct vec *a, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	return vec_add(a, buf);
}

static bool job_directive(const char *name, size_t len)
{
	for (size_t i = 0; job_directives[i]; i++)
		if (strlen(job_directives[i]) == len && strncmp(job_directives[i], name, len) == 0)
			return true;
	return false;
}

/* One DIRECTIVE=VALUE from the job becomes `--set DIRECTIVE=VALUE`, if the
 * job may set that directive; sboxrun checks the value. */
static int add_job_set(struct vec *a, const char *line, const char *where)
{
	const char *eq = strchr(line, '=');
	size_t len;

	if (!eq) {
		task_error("%s: '%s' is not DIRECTIVE=VALUE", where, line);
		return -1;
	}
	len = (size_t)(eq - line);
	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (!job_directive(line, len)) {
		task_error("%s: %.*s= is the site's to set, not a job's (docs/slurm.md)", where,
			   (int)len, line);
		return -1;
	}
	eq++;
	while (isspace((unsigned char)*eq))
		eq++;
	return vec_addf(a, "--set=%.*s=%s", (int)len, line, eq);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The job policy is read here with the user's file system identity, so a
 * job can't name a file only root may read; each line goes through the
 * directive check above. */
static int add_job_policy(struct vec *a, const char *file, uid_t uid, gid_t gid)
{
	char line[8192];
	FILE *f;
	int fd, lineno = 0, rc = 0;
	bool in_sandbox = false;

	setfsgid(gid);
	setfsuid(uid);
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int saved = errno;
	setfsuid(0);
	setfsgid(0);
	if (fd < 0) {
		task_error("--sbox-policy=%s: can't open it as the job's user: %s", file,
			   strerror(saved));
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		task_error("--sbox-policy=%s: %s", file, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		char where[4200], *s = trim(line);

		lineno++;
		snprintf(where, sizeof where, "--sbox-policy=%s line %d", file, lineno);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			in_sandbox = strcmp(s, "[Sandbox]") == 0;
			if (!in_sandbox) {
				task_error("%s: unknown section %s (a policy has [Sandbox])", where, s);
				rc = -1;
			}
			continue;
		}
		if (!in_sandbox) {
			task_error("%s: a directive before [Sandbox]", where);
			rc = -1;
			continue;
		}
		rc = add_job_set(a, s, where);
	}
	fclose(f);
	return rc;
}

static int add_job_sets(struct vec *a)
{
	char *copy, *p, *line;

	if (!job.sets)
		return 0;
	copy = strdup(job.sets);
	if (!copy)
		return -1;
	for (p = copy; (line = strsep(&p, "\n"));)
		if (*line && add_job_set(a, line, "--sbox-set") < 0) {
			free(copy);
			return -1;
		}
	free(copy);
	return 0;
}

/* The memory hierarchy's path of this process (cgroup v1), or the unified
 * one (v2): where Slurm's task/cgroup put the task.  The sandbox's cgroup
 * is made under it, so Slurm's limits and accounting hold it. */
static int own_cgroup(char *out, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	bool found = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c2 = '\0';
		/* v1: the memory line; v2: "0::" only when nothing else. */
		if (strcmp(c1 + 1, "memory") == 0 || (!found && c1 == line + 1 && line[0] == '0' && !c1[1])) {
			snprintf(out, size, "%s", c2 + 1);
			found = true;
			if (strcmp(c1 + 1, "memory") == 0)
				break;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* gres.conf: the File= of the idx'th gpu record, ranges expanded
 * (nvidia[0-3]), in file order as slurmd numbers them. */
static int gres_file(unsigned idx, char *out, size_t size)
{
	char line[4096];
	FILE *f = fopen(site.gres_conf, "re");
	unsigned n = 0;

	if (!f) {
		task_error("gres_conf %s: %s", site.gres_conf, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *name = strstr(line, "Name=gpu"), *file = strstr(line, "File=");
		char *e, *lb;

		if (!name || !file || line[strspn(line, " \t")] == '#')
			continue;
		file += 5;
		file[strcspn(file, " \t\n")] = '\0';
		lb = strchr(file, '[');
		if (!lb) {
			if (n++ == idx) {
				snprintf(out, size, "%s", file);
				fclose(f);
				return 0;
			}
			continue;
		}
		unsigned lo = (unsigned)strtoul(lb + 1, &e, 10), hi = lo;
		if (*e == '-')
			hi = (unsigned)strtoul(e + 1, &e, 10);
		char *rb = strchr(e, ']');
		if (!rb || *e != ']' || hi < lo)
			continue;
		for (unsigned m = lo; m <= hi; m++, n++)
			if (n == idx) {
				snprintf(out, size, "%.*s%u%s", (int)(lb - file), file, m, rb + 1);
				fclose(f);
				return 0;
			}
	}
	fclose(f);
	task_error("GPU %u of the allocation is not in %s", idx, site.gres_conf);
	return -1;
}

/* The inventory, as `sboxrun --list-gpus --json` prints it: the UUID of the
 * GPU one of whose nodes is node (a /dev path as the inventory names it). */
static int uuid_of_node(const char *inventory, const char *node, char *uuid, size_t size)
{
	char want[4400];
	const char *hit, *u;

	snprintf(want, sizeof want, "\"%s\"", node);
	hit = strstr(inventory, want);
	if (!hit)
		return -1;
	/* The GPU's own "uuid" precedes its "nodes" in the object. */
	for (u = hit; u > inventory; u--)
		if (strncmp(u, "\"uuid\":\"", 8) == 0)
			break;
	if (u == inventory)
		return -1;
	u += 8;
	snprintf(uuid, size, "%.*s", (int)strcspn(u, "\""), u);
	return 0;
}

static char *read_inventory(char *dev_root, size_t size)
{
	int pfd[2];
	pid_t pid;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t r;
	int st;

	if (!buf || pipe2(pfd, O_CLOEXEC) < 0) {
		free(buf);
		return NULL;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		if (site.site_config[0])
			execl(site.sboxrun, "sboxrun", "--site-config", site.site_config,
			      "--list-gpus", "--json", (char *)NULL);
		else
			execl(site.sboxrun, "sboxrun", "--direct", "--list-gpus", "--json",
			      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && (r = read(pfd[0], buf + len, cap - len - 1)) > 0)
		len += (size_t)r;
	close(pfd[0]);
	buf[len] = '\0';
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		task_error("%s --list-gpus failed: the GPU inventory is unknown", site.sboxrun);
		free(buf);
		return NULL;
	}
	const char *d = strstr(buf, "\"dev_root\":\"");
	if (d) {
		d += 12;
		snprintf(dev_root, size, "%.*s", (int)strcspn(d, "\""), d);
	}
	return buf;
}

/* Slurm's allocation to sbox's --gpu: SLURM_STEP_GPUS (else SLURM_JOB_GPUS)
 * holds gres indices; each is a File= node in gres.conf, named in the
 * inventory as /dev/<node below DevRoot=>. */
static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int add_gpus(struct vec *a, char **env)
{
	char list[1024], dev_root[4096] = "/dev", *inv, *p, *tok;
	const char *v = env_get(env, "SLURM_STEP_GPUS");
	int rc = 0;

	if (!v)
		v = env_get(env, "SLURM_JOB_GPUS");
	if (!v || !*v)
		return 0;
	if (snprintf(list, sizeof list, "%s", v) >= (int)sizeof list) {
		task_error("SLURM_STEP_GPUS too long");
		return -1;
	}
	inv = read_inventory(dev_root, sizeof dev_root);
	if (!inv)
		return -1;
	for (p = list; rc == 0 && (tok = strsep(&p, ","));) {
		char file[4096], node[4200], uuid[256], *end;
		size_t rl = strlen(dev_root);
		unsigned long idx = strtoul(tok, &end, 10);

		if (!*tok || *end) {
			task_error("GPU list '%s': not gres indices", list);
			rc = -1;
			break;
		}
		if (gres_file((unsigned)idx, file, sizeof file) < 0) {
			rc = -1;
			break;
		}
		if (strncmp(file, dev_root, rl) == 0 && file[rl] == '/')
			snprintf(node, sizeof node, "/dev%s", file + rl);
		else
			snprintf(node, sizeof node, "%s", file);
		if (uuid_of_node(inv, node, uuid, sizeof uuid) < 0) {
			task_error("GPU %lu (%s): no GPU of sbox's inventory has that node", idx, file);
			rc = -1;
			break;
		}
		rc = vec_addf(a, "--gpu=%s", uuid);
	}
	free(inv);
	return rc;
}

static bool env_dropped(const char *e)
{
	/* sbox sets these for the GPUs it grants; the last is ours. */
	static const char *const drop[] = { "CUDA_VISIBLE_DEVICES=", "GPU_DEVICE_ORDINAL=",
					    "ROCR_VISIBLE_DEVICES=", SETS_ENV "=", NULL };

	for (size_t i = 0; drop[i]; i++)
		if (strncmp(e, drop[i], strlen(drop[i])) == 0)
			return true;
	return false;
}

static bool env_passed(const char *e)
{
	switch (site.env) {
	case ENV_ALL:
		return true;
	case ENV_SLURM:
		return strncmp(e, "SLURM_", 6) == 0 || strncmp(e, "SLURMD_", 7) == 0;
	case ENV_NONE:
	default:
		return false;
	}
}

/* Variables the dynamic loader and glibc obey (glibc's unsecvars.h, kept
 * out of set-uid programs' environments) and sbox's own: sboxrun runs as
 * root, so the job's values of these must never be sboxrun's environment
 * (a job's LD_PRELOAD would run as root). */
static bool env_unsafe_for_root(const char *e)
{
	static const char *const names[] = {
		"GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
		"LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF",
		"RES_OPTIONS", "TMPDIR", "TZDIR", NULL
	};
	size_t n = strcspn(e, "=");

	if (strncmp(e, "LD_", 3) == 0 || strncmp(e, "MALLOC_", 7) == 0 ||
	    strncmp(e, "SBOX_", 5) == 0)
		return true;
	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncmp(e, names[i], n) == 0)
			return true;
	return false;
}

/* The task's environment (complete: Slurm's per-task variables, the
 * gres ones, what the user exported) reaches the worker: a variable safe
 * for a root process becomes sboxrun's and is named with --pass-env (its
 * value stays out of sboxrun's command line, which anyone can read); the
 * others travel as --env=NAME=VALUE only. */
static int add_env(struct vec *argv, struct vec *envp, char **env)
{
	for (char **e = env; *e; e++) {
		if (!strchr(*e, '=') || env_dropped(*e))
			continue;
		if (env_unsafe_for_root(*e)) {
			if (env_passed(*e) && vec_addf(argv, "--env=%s", *e) < 0)
				return -1;
			continue;
		}
		if (vec_add(envp, *e) < 0)
			return -1;
		if (env_passed(*e) &&
		    vec_addf(argv, "--pass-env=%.*s", (int)strcspn(*e, "="), *e) < 0)
			return -1;
	}
	return 0;
}

/* What the task sends the root helper from slurm_spank_task_init. */
struct task_msg {
	char **argv, **env;
	char *cwd;
};

static int build_argv(struct vec *a, struct vec *envp, const struct task_msg *t, uid_t uid,
		      gid_t gid)
{
	char cg[4096];

	if (vec_add(a, site.sboxrun) || vec_add(a, "--direct"))
		return -1;
	if (site.site_config[0] && vec_addf(a, "--site-config=%s", site.site_config))
		return -1;
	if (site.policy[0] && vec_addf(a, "--policy=%s", site.policy))
		return -1;
	if (job.policy && add_job_policy(a, job.policy, uid, gid) < 0)
		return -1;
	if (add_job_sets(a) < 0)
		return -1;
	/* After the job's: the worker is the job's user, in Slurm's cgroup. */
	if (vec_addf(a, "--user=%u", (unsigned)uid) || vec_addf(a, "--group=%u", (unsigned)gid))
		return -1;
	if (own_cgroup(cg, sizeof cg) < 0) {
		task_error("can't read this task's cgroup from /proc/self/cgroup");
		return -1;
	}
	if (vec_addf(a, "--cgroup-parent=%s", cg))
		return -1;
	if (add_gpus(a, t->env) < 0)
		return -1;
	if (t->cwd[0] && vec_addf(a, "--chdir=%s", t->cwd))
		return -1;
	if (add_env(a, envp, t->env) < 0)
		return -1;
	if (vec_add(a, "--"))
		return -1;
	for (char **v = t->argv; *v; v++)
		if (vec_add(a, *v) < 0)
			return -1;
	return 0;
}

/*
 * The two halves.  slurm_spank_task_init_privileged runs as root in the
 * forked task, before Slurm sets up the task's stdio and environment; it
 * forks the root helper, which inherits the task's cgroups and waits.
 * slurm_spank_task_init runs in the task as the user, with stdio and the
 * environment complete, just before Slurm would exec the command: it sends
 * the helper its stdio (SCM_RIGHTS), argv, environment and working
 * directory, and waits for the helper, which execs sboxrun as root.  The
 * task then ends as sboxrun ended (the worker's status).  Between setuid
 * and exec the task is not dumpable, so no process of the user can ptrace
 * it and forge what the helper gets; the helper takes uid, gid, policy,
 * cgroup and options from its own (root) side, only argv, environment,
 * working directory, stdio and the gres list from the task.
 */
static int helper_sock = -1;
static pid_t helper_pid = -1;

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int send_fds(int sock)
{
	int fds[3] = { 0, 1, 2 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(u.buf, 0, sizeof u.buf);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int fds[3])
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	struct cmsghdr *c;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(3 * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
	return 0;
}

/* A string list as: count, then each string with its NUL. */
static int send_list(int sock, char **v)
{
	uint32_t n = 0;

	while (v && v[n])
		n++;
	if (send_all(sock, &n, sizeof n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(v[i]);

		if (send_all(sock, &len, sizeof len) < 0 || send_all(sock, v[i], len) < 0)
			return -1;
	}
	return 0;
}

#define MAX_LIST 65536
#define MAX_STR (1u << 20)

static char **recv_list(int sock)
{
	uint32_t n;
	char **v;

	if (recv_all(sock, &n, sizeof n) < 0 || n > MAX_LIST)
		return NULL;
	v = calloc(n + 1, sizeof *v);
	for (uint32_t i = 0; v && i < n; i++) {
		uint32_t len;

		if (recv_all(sock, &len, sizeof len) < 0 || len > MAX_STR ||
		    !(v[i] = malloc(len + 1)) || recv_all(sock, v[i], len) < 0)
			return NULL;    /* the helper exits at once: no need to free */
		v[i][len] = '\0';
	}
	return v;
}

/* Signals Slurm sends the whole step (scancel, srun): sboxrun forwards them
 * to the worker; the task and the helper only wait and report. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGCONT, SIGTSTP, SIGALRM };

static void ignore_forwarded(void)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		signal(forwarded[i], SIG_IGN);
}

/* The task ends as the helper (sboxrun, the worker) ended. */
static void __attribute__((noreturn)) end_like(int st)
{
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

/* On cgroup v1 Slurm makes the task's levels only in the hierarchies it
 * uses (memory, freezer, ...); sboxrun makes the missing ones of
 * --cgroup-parent in the others (pids, blkio, cpu ...).  They are noted
 * before and removed after, deepest first, so the step leaves nothing. */
#define MAX_MADE 256
static char *made[MAX_MADE];
static size_t n_made;

static void note_missing_levels(const char *cg)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) && n_made < MAX_MADE) {
		char path[8192];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s", de->d_name);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		for (const char *p = cg + 1; n_made < MAX_MADE; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			snprintf(path, sizeof path, "/sys/fs/cgroup/%s%.*s", de->d_name,
				 (int)(p - cg), cg);
			if (access(path, F_OK) < 0 && errno == ENOENT)
				made[n_made++] = strdup(path);
			if (!*p)
				break;
		}
	}
	closedir(d);
}

static void remove_made_levels(void)
{
	/* Noted parent first within each hierarchy: remove backwards. */
	for (size_t i = n_made; i-- > 0;)
		if (made[i] && rmdir(made[i]) < 0 && errno != ENOENT && errno != EBUSY)
			slurm_error("sbox: rmdir %s: %s", made[i], strerror(errno));
}

/* Slurm sends a step's signals other than SIGKILL (scancel --signal,
 * srun's forwarding) only to its tasks, the direct children of slurmstepd:
 * the task, as the user, can't signal the root sboxrun, so it writes each
 * signal's number to the helper, which passes the forwarded ones on to
 * sboxrun (which forwards them to the worker), until sboxrun ends. */
static bool forwarded_signal(int sig)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		if (forwarded[i] == sig)
			return true;
	return false;
}

/* The first child of pid, from /proc (CONFIG_PROC_CHILDREN), or -1. */
static pid_t first_child(pid_t pid)
{
	char file[96];
	FILE *f;
	int child = -1;

	snprintf(file, sizeof file, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(file, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &child) != 1)
		child = -1;
	fclose(f);
	return child;
}

/* sboxrun forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the worker
 * (sboxrun(1), SIGNALS); any other signal would end sboxrun itself, and
 * with it the job (Slurm's --signal=USR1@T is meant for the worker). Those
 * go to the worker directly: sboxrun's child is the sandbox's init, whose
 * child is the worker. */
static void pass_signal(pid_t sboxrun, int sig)
{
	pid_t init, worker;

	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
		kill(sboxrun, sig);
		return;
	}
	init = first_child(sboxrun);
	worker = init > 0 ? first_child(init) : -1;
	if (worker > 0)
		kill(worker, sig);
}

static void relay_signals(int sock, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };

	if (pidfd < 0)
		return;         /* old kernel: no relay, SIGKILL still ends the step */
	for (;;) {
		unsigned char sig;

		if (poll(p, p[1].fd < 0 ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			if (read(sock, &sig, 1) != 1)
				p[1].fd = -1;   /* the task is gone: wait only */
			else if (forwarded_signal(sig))
				pass_signal(pid, sig);
		}
	}
	close(pidfd);
}

static void __attribute__((noreturn)) run_sboxrun(struct vec *argv, struct vec *envp, int sock)
{
	char cg[4096];
	pid_t pid;
	int st;

	if (own_cgroup(cg, sizeof cg) == 0 && strcmp(cg, "/") != 0)
		note_missing_levels(cg);
	pid = fork();
	if (pid < 0) {
		task_error("the task was not run: fork: %s", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		sigset_t none;

		/* Slurm blocks signals around this hook; sboxrun must
		 * see them to forward them to the worker. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Only the task's stdio: none of slurmstepd's descriptors
		 * (its log, its pipes) live on in the sandbox's launcher. */
		close_range(3, ~0U, 0);
		execve(site.sboxrun, argv->v, envp->v);
		task_error("the task was not run: exec %s: %s", site.sboxrun, strerror(errno));
		_exit(1);
	}
	ignore_forwarded();
	relay_signals(sock, pid);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	remove_made_levels();
	end_like(st);
}

/* The helper was forked before Slurm put the task into the step's cgroups
 * (Slurm moves the task's pid only): it joins the task's own, in every
 * hierarchy, so that sboxrun and the sandbox stay in Slurm's step (its
 * proctrack container: scancel, its limits and accounting). */
static const char *hierarchy_dir(const char *ctrls, char *buf, size_t size)
{
	struct stat st;

	if (strncmp(ctrls, "name=", 5) == 0)
		ctrls += 5;
	if (!*ctrls) {  /* the v2 line: the unified tree */
		snprintf(buf, size, "/sys/fs/cgroup/unified");
		if (stat(buf, &st) == 0 && access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
			return buf;
		snprintf(buf, size, "/sys/fs/cgroup");
		return access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0 ? buf : NULL;
	}
	snprintf(buf, size, "/sys/fs/cgroup/%s", ctrls);
	return stat(buf, &st) == 0 ? buf : NULL;
}

static int join_cgroups_of(pid_t pid)
{
	char file[64], line[4096];
	FILE *f;
	int rc = 0;

	snprintf(file, sizeof file, "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f) {
		task_error("the task was not run: %s: %s", file, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char dir[4096], procs[8400];
		int fd;

		if (!c2)
			continue;
		*c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (!hierarchy_dir(c1 + 1, dir, sizeof dir))
			continue;
		snprintf(procs, sizeof procs, "%s%s/cgroup.procs", dir,
			 strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0) {
			task_error("the task was not run: can't join the task's cgroup %s: %s", procs,
				   strerror(errno));
			rc = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
	return rc;
}

static void helper_main(int sock, uid_t uid, gid_t gid)
{
	struct vec argv = { 0 }, envp = { 0 };
	struct task_msg t;
	char *cwdv[2] = { NULL, NULL }, **cw;
	int fds[3];

	if (recv_fds(sock, fds) < 0)
		_exit(1);       /* the task is gone or failed before: nothing to run */
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(1);
	t.argv = recv_list(sock);
	t.env = recv_list(sock);
	cw = recv_list(sock);
	if (!t.argv || !t.env || !cw || !t.argv[0]) {
		task_error("the task was not run: its description did not arrive");
		_exit(1);
	}
	t.cwd = cw[0] ? cw[0] : (cwdv[0] = "");
	if (join_cgroups_of(getppid()) < 0)
		_exit(1);
	if (build_argv(&argv, &envp, &t, uid, gid) < 0) {
		task_error("the task was not run: its sandbox can't be described (above)");
		_exit(1);
	}
	run_sboxrun(&argv, &envp, sock);
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	int sv[2];
	uid_t uid;
	gid_t gid;

	if (spank_remote(sp) != 1)
		return 0;
	if (remote_options(sp) < 0)
		return -1;
	if (!job.sbox && !site.required)
		return 0;
	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
		task_error("can't get the job's user");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		task_error("socketpair: %s", strerror(errno));
		return -1;
	}
	helper_pid = fork();
	if (helper_pid < 0) {
		task_error("fork: %s", strerror(errno));
		return -1;
	}
	if (helper_pid == 0) {
		close(sv[1]);
		helper_main(sv[0], uid, gid);
	}
	close(sv[0]);
	helper_sock = sv[1];
	return 0;
}

static void relay_handler(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (write(helper_sock, &b, 1) < 0) {
		/* the helper is gone: nothing to relay to */
	}
	errno = saved;
}

/* The task waits for the helper and hands it the signals Slurm sends. */
static void relay_to_helper(void)
{
	struct sigaction sa = { .sa_handler = relay_handler };
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], &sa, NULL);
	/* Slurm blocks these around the hooks. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char **argv = NULL, **env = NULL, cwd[4096] = "", *cwdl[2] = { cwd, NULL };
	int argc = 0, st;

	if (helper_sock < 0)
		return 0;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS || argc < 1) {
		task_error("the task was not run: can't read its command and environment");
		_exit(1);
	}
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = '\0';
	if (send_fds(helper_sock) < 0 || send_list(helper_sock, argv) < 0 ||
	    send_list(helper_sock, env) < 0 || send_list(helper_sock, cwdl) < 0) {
		task_error("the task was not run: the sandbox helper is gone: %s", strerror(errno));
		_exit(1);
	}
	relay_to_helper();
	while (waitpid(helper_pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	end_like(st);
}

/* Removes the empty directories below and at dir, deepest first; a busy
 * one (a process in it, or a child) stays. */
static void rmdir_empty_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[8192];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		rmdir_empty_tree(sub);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * At the step's end (slurmstepd, root): the levels sboxrun made for the
 * step's tasks in the hierarchies Slurm doesn't use.  Each helper removes
 * its own; when two tasks of a step share a new level, the one that ends
 * first can't (the other is still in it), so the step's end sweeps what
 * is left: empty directories of this step (then of its job and user when
 * empty), in every hierarchy.  Slurm's own are busy or already gone.
 */
int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	uid_t uid;
	uint32_t jobid, stepid;
	char pat[512], up[8192];
	glob_t g;

	if (spank_remote(sp) != 1)
		return 0;
	if (remote_options(sp) < 0 || (!job.sbox && !site.required))
		return 0;
	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
		return 0;
	for (int depth = 0; depth < 2; depth++) {
		snprintf(pat, sizeof pat, "/sys/fs/cgroup/*/%suid_%u/job_%u/step_%u",
			 depth ? "*/" : "", (unsigned)uid, (unsigned)jobid, (unsigned)stepid);
		if (glob(pat, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			rmdir_empty_tree(g.gl_pathv[i]);
			snprintf(up, sizeof up, "%s", g.gl_pathv[i]);
			for (int lv = 0; lv < 2; lv++) {      /* job_J, then uid_U */
				char *slash = strrchr(up, '/');

				if (!slash)
					break;
				*slash = '\0';
				rmdir(up);
			}
		}
		globfree(&g);
	}
	return 0;
}
