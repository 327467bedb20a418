/* SPDX-License-Identifier: MIT */
/*
 * spank_sbox: a Slurm SPANK plugin that runs every task of a job step in an
 * sbox sandbox (docs/slurm.md).
 *
 * It execs sboxrun rather than linking sandbox/: sboxrun is the tested,
 * installed privileged launcher, and a plugin loaded into slurmstepd should
 * not carry a second copy of the sandbox code nor its failure modes.
 * slurm_spank_task_init_privileged (root, in the forked task) forks a root
 * helper; slurm_spank_task_init (the user, stdio and environment complete)
 * hands it the task's command, and the helper runs sboxrun as root, which
 * builds the sandbox inside the task's cgroups and runs the command as the
 * job's user; the task ends as sboxrun did (the worker's status).  The two
 * halves are described above slurm_spank_task_init_privileged below.
 *
 * Failure never runs the task unsandboxed: the privileged hook returns -1
 * (which Slurm ignores for an `optional` plugstack.conf entry), and
 * task_init then refuses the task itself (task_state): it exits 1 with
 * the reason on the task's stderr; a sandbox sboxrun can't build ends with
 * its message on the same stderr and status 125.
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>
#include <slurm/slurm.h>  /* SLURM_BATCH_SCRIPT */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

SPANK_PLUGIN(sbox, 1);

#define SET_SEP '\n'    /* joins repeated --sbox-set values */
/* srun/sbatch hand the joined --sbox-set list to the remote side in the
 * job's environment (Slurm keeps only an option's last value). */
#define SETS_ENV "SBOX_SLURM_SETS"
/* The most the joined list may hold, its NUL included. */
#define SETS_MAX 65536

/* Site defaults, from plugstack.conf's arguments. */
struct sbox_slurm_conf sbox_slurm_site = {
	.sboxrun = "/usr/local/bin/sboxrun",
	.gres_conf = "/etc/slurm/gres.conf",
};

/* The job's options, as the remote side sees them. */
static struct {
	bool sbox;
	char *policy;
	char *sets;             /* SET_SEP-joined */
	bool job_gres_env;      /* a step whose GPUs Slurm names in SLURM_JOB_GPUS */
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
	"LimitMSGQUEUE", "LimitRTTIME", NULL
};

/* sboxrun runs as root here, where sboxd's [Bounds] don't apply: what a
 * job may do with the directives above follows sboxd's default bounds for
 * an ordinary client (policy/bounds.c, sboxd/launch.c check_bounds), but
 * for Limit*= hard limits, which sboxd caps at its own and nothing caps
 * here, and the site's policy= lists can't be undone (a job may still
 * pick a looser SeccompProfile= of the two: docs/slurm.md, known limits):
 * - no list of the site's reset (an empty value clears the site's masks,
 *   tmpfs or denials);
 * - the filter stays on (AllowNoSeccomp=no): no SeccompProfile=none, and
 *   SystemCallFilter= only adds denials (a line starting with ~), since a
 *   name on its own lifts that call's deny (unshare, bpf, ioctl's TIOCSTI
 *   rule);
 * - no_new_privs stays on (AllowNewPrivileges=no);
 * - LimitNICE= and LimitRTPRIO=, which only grant (a nice value below 0,
 *   real-time priority on cores the node shares), are the site's: they
 *   are not in the list above.
 * NULL: the value may go to sboxrun, which checks it as for any policy. */
static const char *job_value_refused(const char *name, size_t len, const char *v)
{
	static const char *const lists[] = { "InaccessiblePaths", "TemporaryFileSystem",
					     "SystemCallFilter", NULL };
	const char *w;

	for (size_t i = 0; lists[i]; i++)
		if (strlen(lists[i]) == len && strncmp(lists[i], name, len) == 0 && !*v)
			return "an empty value would reset the site's list";
	if (len == 14 && strncmp(name, "SeccompProfile", len) == 0 &&
	    strcmp(v, "default") != 0 && strcmp(v, "strict") != 0)
		return "a job may choose default or strict, never turn the filter off";
	if (len == 15 && strncmp(name, "NoNewPrivileges", len) == 0 &&
	    strcasecmp(v, "yes") != 0 && strcasecmp(v, "true") != 0 && strcasecmp(v, "on") != 0 &&
	    strcmp(v, "1") != 0)
		return "no_new_privs stays on for a job";
	/* systemd's syntax, as sboxrun reads it: a "~" before the first
	 * name makes the whole line a deny line ("~@clock ptrace"); any other
	 * line allows, and a name allowed on its own lifts its deny. */
	w = v + strspn(v, " \t");
	if (len == 16 && strncmp(name, "SystemCallFilter", len) == 0 && *w != '~')
		return "a job may only add denials (a line starting with ~): a name on its own lifts that call's deny";
	return NULL;
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
	char *n;

	/* The remote side reads the joined list into SETS_MAX bytes: a
	 * longer one is refused here, where its user sees why. */
	if (old + 1 + strlen(v) >= SETS_MAX) {
		slurm_error("sbox: --sbox-set: the values together are over %u bytes",
			    (unsigned)SETS_MAX - 1);
		return -1;
	}
	n = realloc(job.sets, old + strlen(v) + 2);

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
			sbox_slurm_site.required = true;
			continue;
		}
		if (strcmp(av[i], "env=all") == 0 || strcmp(av[i], "env=slurm") == 0 ||
		    strcmp(av[i], "env=none") == 0) {
			sbox_slurm_site.env = av[i][4] == 'a' ? ENV_ALL : av[i][4] == 's' ? ENV_SLURM : ENV_NONE;
			continue;
		}
		r = copy_arg(sbox_slurm_site.sboxrun, sizeof sbox_slurm_site.sboxrun, av[i], "sboxrun=");
		if (!r)
			r = copy_arg(sbox_slurm_site.policy, sizeof sbox_slurm_site.policy, av[i], "policy=");
		if (!r)
			r = copy_arg(sbox_slurm_site.site_config, sizeof sbox_slurm_site.site_config, av[i], "site_config=");
		if (!r)
			r = copy_arg(sbox_slurm_site.gres_conf, sizeof sbox_slurm_site.gres_conf, av[i], "gres_conf=");
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
	static char sets[SETS_MAX];
	spank_err_t got;

	if (spank_option_getopt(sp, &options[0], &arg) == ESPANK_SUCCESS)
		job.sbox = true;
	arg = NULL;
	if (spank_option_getopt(sp, &options[1], &arg) == ESPANK_SUCCESS && arg) {
		if (opt_policy(0, arg, 1) < 0)
			return -1;
	}
	got = spank_getenv(sp, SETS_ENV, sets, sizeof sets);
	/* Too long for the buffer: never the last --sbox-set alone, which
	 * would drop the others without a word. */
	if (got == ESPANK_NOSPACE) {
		slurm_error("sbox: the job's --sbox-set values (%s) are over %u bytes together",
			    SETS_ENV, (unsigned)SETS_MAX - 1);
		return -1;
	}
	if (got == ESPANK_SUCCESS && sets[0]) {
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

static bool job_directive(const char *name, size_t len)
{
	for (size_t i = 0; job_directives[i]; i++)
		if (strlen(job_directives[i]) == len && strncmp(job_directives[i], name, len) == 0)
			return true;
	return false;
}

/* One DIRECTIVE=VALUE from the job becomes a line of the job's policy
 * (job_policy_fd), if the job may set that directive to that value;
 * sboxrun checks the value. */
static int add_job_set(struct vec *lines, const char *line, const char *where)
{
	const char *eq = strchr(line, '='), *why;
	size_t len;

	if (!eq) {
		sbox_slurm_task_error("%s: '%s' is not DIRECTIVE=VALUE", where, line);
		return -1;
	}
	len = (size_t)(eq - line);
	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (!job_directive(line, len)) {
		sbox_slurm_task_error("%s: %.*s= is the site's to set, not a job's (docs/slurm.md)", where,
			   (int)len, line);
		return -1;
	}
	eq++;
	while (isspace((unsigned char)*eq))
		eq++;
	why = job_value_refused(line, len, eq);
	if (why) {
		sbox_slurm_task_error("%s: %.*s=%s: %s (docs/slurm.md)", where, (int)len, line, eq, why);
		return -1;
	}
	return sbox_slurm_vec_addf(lines, "%.*s=%s", (int)len, line, eq);
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

#define JOB_POLICY_MAX (64 * 1024)

/* The job's policy file, read as the job's user and nothing more: in a
 * child that has the user's ids and groups (root's supplementary groups,
 * which setfsuid() leaves in place, would let the job name a file only
 * group root may read, and its first line would come back in an error),
 * opened without waiting (a FIFO), and only a regular file.  Its text in
 * buf (NUL-ended); -1 said on the job's stderr. */
static int read_as_user(const char *file, uid_t uid, gid_t gid, char *buf, size_t size)
{
	int pipefd[2], st;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return sbox_slurm_task_error("--sbox-policy=%s: pipe: %s", file, strerror(errno)), -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return sbox_slurm_task_error("--sbox-policy=%s: fork: %s", file, strerror(errno)), -1;
	}
	if (pid == 0) {
		struct passwd pw, *res = NULL;
		char pwbuf[4096];
		gid_t groups[256];
		int n = 256, fd;
		struct stat sb;
		char chunk[4096];
		ssize_t r;

		close(pipefd[0]);
		if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &res) != 0 || !res ||
		    getgrouplist(pw.pw_name, gid, groups, &n) < 0)
			n = 0;
		if (setgroups((size_t)n, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(EPERM);
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			_exit(errno & 0xff);
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
			_exit(EINVAL);
		while ((r = read(fd, chunk, sizeof chunk)) > 0)
			if (write(pipefd[1], chunk, (size_t)r) != r)
				_exit(EIO);
		_exit(r < 0 ? (errno & 0xff) : 0);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], buf + got, size - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) >= size - 1)
			break;
	}
	if (got >= size - 1)
		kill(pid, SIGKILL);     /* it may be blocked writing the rest */
	close(pipefd[0]);
	buf[got] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got >= size - 1) {
		sbox_slurm_task_error("--sbox-policy=%s: over %d bytes", file, JOB_POLICY_MAX);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		int e = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;

		sbox_slurm_task_error("--sbox-policy=%s: can't open it as the job's user: %s", file,
				      e == EINVAL ? "not a regular file" : strerror(e));
		return -1;
	}
	return 0;
}

/* The job policy, read as the job's user (read_as_user); each line goes
 * through the directive check above. */
static int add_job_policy(struct vec *lines, const char *file, uid_t uid, gid_t gid)
{
	char line[8192];
	static char text[JOB_POLICY_MAX + 1];
	FILE *f;
	int lineno = 0, rc = 0;
	bool in_sandbox = false;

	if (read_as_user(file, uid, gid, text, sizeof text) < 0)
		return -1;
	f = fmemopen(text, strlen(text), "r");
	if (!f) {
		sbox_slurm_task_error("--sbox-policy=%s: %s", file, strerror(errno));
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
				sbox_slurm_task_error("%s: unknown section %s (a policy has [Sandbox])", where, s);
				rc = -1;
			}
			continue;
		}
		if (!in_sandbox) {
			sbox_slurm_task_error("%s: a directive before [Sandbox]", where);
			rc = -1;
			continue;
		}
		rc = add_job_set(lines, s, where);
	}
	fclose(f);
	return rc;
}

static int add_job_sets(struct vec *lines)
{
	char *copy, *p, *line;

	if (!job.sets)
		return 0;
	copy = strdup(job.sets);
	if (!copy)
		return -1;
	for (p = copy; (line = strsep(&p, "\n"));)
		if (*line && add_job_set(lines, line, "--sbox-set") < 0) {
			free(copy);
			return -1;
		}
	free(copy);
	return 0;
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
	switch (sbox_slurm_site.env) {
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
 * out of set-uid programs' environments), those of the libraries linked
 * into sboxrun (libnl's NLDBG and NLCB: its debug output, the root
 * process's heap addresses and netlink traffic, on the job's stderr) and
 * sbox's own: sboxrun runs as root, so the job's values of these must
 * never be sboxrun's environment (a job's LD_PRELOAD would run as root). */
static bool env_unsafe_for_root(const char *e)
{
	static const char *const names[] = {
		"GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
		"LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF",
		"RES_OPTIONS", "TMPDIR", "TZDIR", "NLDBG", "NLCB", NULL
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
			if (env_passed(*e) && sbox_slurm_vec_addf(argv, "--env=%s", *e) < 0)
				return -1;
			continue;
		}
		if (sbox_slurm_vec_add(envp, *e) < 0)
			return -1;
		if (env_passed(*e) &&
		    sbox_slurm_vec_addf(argv, "--pass-env=%.*s", (int)strcspn(*e, "="), *e) < 0)
			return -1;
	}
	return 0;
}

/* The job's policy lines (its --sbox-policy file's and its --sbox-set
 * lines, as checked above), for sboxrun as a policy file of their own,
 * after the site's: a sealed memfd at fd 3 of sboxrun (run_sboxrun), named
 * /proc/self/fd/3.  Not --set on sboxrun's command line, which every user
 * of the node reads in /proc/PID/cmdline: a job's Environment=API_KEY=...
 * is the job's own. */
static int job_policy_fd = -1;

static int job_policy_file(struct vec *a, const struct vec *lines)
{
	int fd;

	if (lines->n == 0)
		return 0;
	fd = memfd_create("sbox-job-policy", MFD_ALLOW_SEALING);
	if (fd < 0) {
		sbox_slurm_task_error("the job's policy: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (dprintf(fd, "[Sandbox]\n") < 0)
		goto fail;
	for (size_t i = 0; i < lines->n; i++)
		if (dprintf(fd, "%s\n", lines->v[i]) < 0)
			goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0)
		goto fail;
	job_policy_fd = fd;
	return sbox_slurm_vec_add(a, "--policy=/proc/self/fd/3");
fail:
	sbox_slurm_task_error("the job's policy: writing it: %s", strerror(errno));
	close(fd);
	return -1;
}

/* What the task sends the root helper from slurm_spank_task_init. */
struct task_msg {
	char **argv, **env;
	char *cwd;
};

static int build_argv(struct vec *a, struct vec *envp, const struct task_msg *t, uid_t uid,
		      gid_t gid)
{
	struct vec lines = { 0 };
	char cg[4096];

	/* --cap-limits: no Limit*= hard limit above sboxrun's own, which are
	 * slurmstepd's: an unsandboxed task can't raise past them either
	 * (Slurm sets its rlimits as the user). */
	if (sbox_slurm_vec_add(a, sbox_slurm_site.sboxrun) || sbox_slurm_vec_add(a, "--direct") ||
	    sbox_slurm_vec_add(a, "--cap-limits"))
		return -1;
	if (sbox_slurm_site.site_config[0] && sbox_slurm_vec_addf(a, "--site-config=%s", sbox_slurm_site.site_config))
		return -1;
	if (sbox_slurm_site.policy[0] && sbox_slurm_vec_addf(a, "--policy=%s", sbox_slurm_site.policy))
		return -1;
	if ((job.policy && add_job_policy(&lines, job.policy, uid, gid) < 0) ||
	    add_job_sets(&lines) < 0 || job_policy_file(a, &lines) < 0) {
		sbox_slurm_vec_free(&lines);
		return -1;
	}
	sbox_slurm_vec_free(&lines);
	/* After the job's: the worker is the job's user, in Slurm's cgroup. */
	if (sbox_slurm_vec_addf(a, "--user=%u", (unsigned)uid) || sbox_slurm_vec_addf(a, "--group=%u", (unsigned)gid))
		return -1;
	if (sbox_slurm_own_cgroup(cg, sizeof cg) < 0)
		return -1;      /* said */
	if (sbox_slurm_vec_addf(a, "--cgroup-parent=%s", cg))
		return -1;
	if (sbox_slurm_add_gpus(a, t->env, job.job_gres_env) < 0)
		return -1;
	if (t->cwd[0] && sbox_slurm_vec_addf(a, "--chdir=%s", t->cwd))
		return -1;
	if (add_env(a, envp, t->env) < 0)
		return -1;
	if (sbox_slurm_vec_add(a, "--"))
		return -1;
	for (char **v = t->argv; *v; v++)
		if (sbox_slurm_vec_add(a, *v) < 0)
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

/* What task_init_privileged decided for this task.  Slurm ignores a
 * failing hook of a plugin plugstack.conf names `optional` (plugstack.c
 * _do_call_stack resets its rc): a -1 from task_init_privileged alone
 * would let Slurm exec the command unsandboxed, so task_init refuses a
 * task whose sandbox wasn't set up (TASK_REFUSED) itself. */
static enum { TASK_UNDECIDED, TASK_PLAIN, TASK_SANDBOXED, TASK_REFUSED } task_state;

static void __attribute__((noreturn)) run_sboxrun(struct vec *argv, struct vec *envp, int sock)
{
	char cg[4096];
	pid_t pid;
	int st;

	if (sbox_slurm_own_cgroup(cg, sizeof cg) == 0 && strcmp(cg, "/") != 0)
		sbox_slurm_note_missing_levels(cg);
	pid = fork();
	if (pid < 0) {
		sbox_slurm_task_error("the task was not run: fork: %s", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		sigset_t none;

		/* Slurm blocks signals around this hook; sboxrun must
		 * see them to forward them to the worker. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Only the task's stdio, and the job's policy at 3: none of
		 * slurmstepd's descriptors (its log, its pipes) live on in
		 * the sandbox's launcher. */
		if (job_policy_fd >= 0) {
			if (dup2(job_policy_fd, 3) < 0)
				_exit(1);
			close_range(4, ~0U, 0);
		} else {
			close_range(3, ~0U, 0);
		}
		execve(sbox_slurm_site.sboxrun, argv->v, envp->v);
		sbox_slurm_task_error("the task was not run: exec %s: %s", sbox_slurm_site.sboxrun, strerror(errno));
		_exit(1);
	}
	sbox_slurm_ignore_forwarded();
	sbox_slurm_relay_signals(sock, pid);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	sbox_slurm_remove_made_levels();
	sbox_slurm_end_like(st);
}

static void helper_main(int sock, uid_t uid, gid_t gid, pid_t task)
{
	struct vec argv = { 0 }, envp = { 0 };
	struct task_msg t;
	char *cwdv[2] = { NULL, NULL }, **cw;
	int fds[3];

	if (sbox_slurm_recv_fds(sock, fds) < 0)
		_exit(1);       /* the task is gone or failed before: nothing to run */
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(1);
	t.argv = sbox_slurm_recv_list(sock);
	t.env = sbox_slurm_recv_list(sock);
	cw = sbox_slurm_recv_list(sock);
	if (!t.argv || !t.env || !cw || !t.argv[0]) {
		sbox_slurm_task_error("the task was not run: its description did not arrive");
		_exit(1);
	}
	t.cwd = cw[0] ? cw[0] : (cwdv[0] = "");
	if (sbox_slurm_join_task_cgroups(task) < 0)
		_exit(1);
	if (build_argv(&argv, &envp, &t, uid, gid) < 0) {
		sbox_slurm_task_error("the task was not run: its sandbox can't be described (above)");
		_exit(1);
	}
	run_sboxrun(&argv, &envp, sock);
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	int sv[2];
	uint32_t stepid;
	pid_t task;
	uid_t uid;
	gid_t gid;

	if (spank_remote(sp) != 1)
		return 0;
	task_state = TASK_REFUSED;      /* until the helper runs */
	if (remote_options(sp) < 0)
		return -1;
	if (!job.sbox && !sbox_slurm_site.required) {
		task_state = TASK_PLAIN;
		return 0;
	}
	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
		sbox_slurm_task_error("can't get the job's user");
		return -1;
	}
	/* Which of the job's GPU variables is Slurm's (gpus.c), from
	 * Slurm's side, before the fork: the helper reads the task's
	 * environment, not how it came to be. */
	if (spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS) {
		sbox_slurm_task_error("can't get the job's step id");
		return -1;
	}
	/* slurmstepd sets the job's GPU variables, not the step's, for
	 * the batch script and for the interactive step (srun
	 * --interactive, salloc's use_interactive_step): SLURM_STEP_GPUS
	 * there is whatever the submitter exported. */
	job.job_gres_env = stepid == SLURM_BATCH_SCRIPT || stepid == SLURM_INTERACTIVE_STEP;
	/* The task (this process): the helper joins its cgroups by this pid,
	 * never by getppid() at that time, which after the task's death names
	 * whoever inherited the helper. */
	task = getpid();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		sbox_slurm_task_error("socketpair: %s", strerror(errno));
		return -1;
	}
	helper_pid = fork();
	if (helper_pid < 0) {
		sbox_slurm_task_error("fork: %s", strerror(errno));
		return -1;
	}
	if (helper_pid == 0) {
		close(sv[1]);
		helper_main(sv[0], uid, gid, task);
	}
	close(sv[0]);
	helper_sock = sv[1];
	task_state = TASK_SANDBOXED;
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
	sbox_slurm_on_forwarded(&sa);
	/* Slurm blocks these around the hooks. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char **argv = NULL, **env = NULL, cwd[4096] = "", *cwdl[2] = { cwd, NULL };
	int argc = 0, st;

	if (task_state == TASK_PLAIN || (task_state == TASK_UNDECIDED && !sbox_slurm_site.required))
		return 0;
	if (task_state != TASK_SANDBOXED || helper_sock < 0) {
		/* Now on the job's stderr: the privileged hook's went to
		 * slurmstepd's. */
		sbox_slurm_task_error("the task was not run: its sandbox could not be set up (slurmd's log)");
		_exit(1);
	}
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS || argc < 1) {
		sbox_slurm_task_error("the task was not run: can't read its command and environment");
		_exit(1);
	}
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = '\0';
	if (sbox_slurm_send_fds(helper_sock) < 0 || sbox_slurm_send_list(helper_sock, argv) < 0 ||
	    sbox_slurm_send_list(helper_sock, env) < 0 || sbox_slurm_send_list(helper_sock, cwdl) < 0) {
		sbox_slurm_task_error("the task was not run: the sandbox helper is gone: %s", strerror(errno));
		_exit(1);
	}
	relay_to_helper();
	while (waitpid(helper_pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	sbox_slurm_end_like(st);
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
	if (remote_options(sp) < 0 || (!job.sbox && !sbox_slurm_site.required))
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
			sbox_slurm_rmdir_empty_tree(g.gl_pathv[i]);
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
