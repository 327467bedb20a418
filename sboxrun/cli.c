/* SPDX-License-Identifier: MIT */
#include "sboxrun/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/directives.h"
#include "policy/parse.h"
#include "policy/site.h"
#include "policy/values.h"

enum {
	OPT_SET = 0x1000,
	OPT_CHECK,
	OPT_PASS_FD,
	OPT_HELP_POLICY,
	OPT_VERSION,
	OPT_SITE_CONFIG,
	OPT_LIST_GPUS,
	OPT_JSON,
	OPT_STATS,
	OPT_JSON_STATUS,
	OPT_SOCKET,
	OPT_DIRECT,
	OPT_DETACH,
	OPT_WAIT_GPU,
	OPT_GPUS,
	OPT_ATTACH,
	OPT_JOBS,
	OPT_LEASES,
	OPT_CAP_LIMITS,
	OPT_DIRECTIVE = 0x2000,   /* + index in sbox_directives */
};

static const struct option launcher_options[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "set", required_argument, NULL, OPT_SET },
	{ "check", optional_argument, NULL, OPT_CHECK },
	{ "pass-fd", required_argument, NULL, OPT_PASS_FD },
	{ "help", no_argument, NULL, 'h' },
	{ "help-policy", no_argument, NULL, OPT_HELP_POLICY },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "site-config", required_argument, NULL, OPT_SITE_CONFIG },
	{ "list-gpus", no_argument, NULL, OPT_LIST_GPUS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "json-status", required_argument, NULL, OPT_JSON_STATUS },
	{ "cap-limits", no_argument, NULL, OPT_CAP_LIMITS },
	/* sboxd's client (sboxrun/via_daemon.c); --direct refuses the rest. */
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "wait-gpu", no_argument, NULL, OPT_WAIT_GPU },
	{ "gpus", required_argument, NULL, OPT_GPUS },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "jobs", no_argument, NULL, OPT_JOBS },
	{ "leases", no_argument, NULL, OPT_LEASES },
};

static struct option *build_options(char *shortopts, size_t len)
{
	size_t n = SBOX_ARRAY_SIZE(launcher_options) + sbox_n_directives + 1;
	struct option *o = calloc(n, sizeof(*o));
	size_t k = 0, s = 0;

	if (!o)
		return NULL;
	/* '+': stop at the first non-option, the worker's command; ':': a
	 * missing argument is ':', not '?' (whose optopt, for a long option,
	 * is its value, not a character). */
	s += (size_t)snprintf(shortopts + s, len - s, "+:p:h");
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(launcher_options); i++)
		o[k++] = launcher_options[i];
	for (size_t i = 0; i < sbox_n_directives; i++) {
		const struct sbox_directive *d = &sbox_directives[i];

		if (!d->flag)
			continue;
		o[k].name = d->flag;
		o[k].has_arg = d->metavar ? required_argument : no_argument;
		o[k].val = OPT_DIRECTIVE + (int)i;
		k++;
		if (d->short_flag && s + 3 < len)
			s += (size_t)snprintf(shortopts + s, len - s, "%c%s", d->short_flag,
					      d->metavar ? ":" : "");
	}
	return o;
}

static const struct sbox_directive *directive_of_short(int c)
{
	for (size_t i = 0; i < sbox_n_directives; i++)
		if (sbox_directives[i].short_flag == c)
			return &sbox_directives[i];
	return NULL;
}

/* A flag is one value: quote it so that list directives, which split their
 * value into words, take "--env 'A=x y'" as one assignment. */
static int apply_flag(struct sbox_policy *p, const struct sbox_directive *d, const char *arg,
		      struct sbox_err *err)
{
	_cleanup_free_ char *quoted = NULL;
	const char *v = d->metavar ? arg : d->flag_value;

	if (d->flags & SBOX_DIR_LIST) {
		quoted = sbox_quote_word_dup(v);
		if (!quoted)
			return sbox_fail(err, ENOMEM, "--%s", d->flag);
		v = quoted;
	}
	if (d->set(p, v, err) < 0) {
		sbox_err_prefix(err, "--%s %s", d->flag, arg ? arg : "");
		return -1;
	}
	return 0;
}

static int apply_set(struct sbox_policy *p, const char *arg, struct sbox_err *err)
{
	const char *eq = strchr(arg, '=');
	char name[128];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return sbox_fail(err, 0, "--set %s: expected NAME=VALUE", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (sbox_policy_set(p, name, eq + 1, err) < 0) {
		sbox_err_prefix(err, "--set");
		return -1;
	}
	return 0;
}

static int parse_pass_fd(struct sbox_cli *cli, const char *arg, struct sbox_err *err)
{
	uint64_t fd;

	if (sbox_parse_uint(arg, 3, 65535, &fd) < 0)
		return sbox_fail(err, 0, "--pass-fd %s: expected an fd number of 3 or more", arg);
	if (fcntl((int)fd, F_GETFD) < 0)
		return sbox_fail(err, errno, "--pass-fd %s", arg);
	if (cli->n_pass_fds >= SBOX_MAX_PASS_FDS)
		return sbox_fail(err, 0, "--pass-fd %s: at most %d fds", arg, SBOX_MAX_PASS_FDS);
	cli->pass_fds[cli->n_pass_fds++] = (int)fd;
	return 0;
}

/* "--stats=1": a long option that takes no argument, given one. */
static bool takes_no_argument(const struct option *opts, const char *arg)
{
	size_t n = strcspn(arg, "=");

	if (strncmp(arg, "--", 2) != 0 || arg[n] != '=')
		return false;
	for (; opts->name; opts++)
		if (strlen(opts->name) == n - 2 && strncmp(opts->name, arg + 2, n - 2) == 0)
			return opts->has_arg == no_argument;
	return false;
}

int sbox_cli_parse(int argc, char **argv, struct sbox_cli *cli, struct sbox_policy *p,
		   struct sbox_err *err)
{
	char shortopts[64];
	_cleanup_free_ struct option *opts = build_options(shortopts, sizeof(shortopts));
	int c;

	if (!opts)
		return sbox_fail(err, ENOMEM, "building the option table");
	opterr = 0;

	/* Pass 1: policy files only, in the order given. */
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'p' && sbox_policy_load_file(p, optarg, err) < 0)
			return -1;
	}

	/* Pass 2: everything else, in order, on top of the files. */
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		const struct sbox_directive *d = NULL;
		int r = 0;

		switch (c) {
		case 'p':
			break;
		case 'h':
			cli->help = true;
			break;
		case OPT_HELP_POLICY:
			cli->help_policy = true;
			break;
		case OPT_VERSION:
			cli->version = true;
			break;
		case OPT_CHECK:
			cli->check = true;
			if (optarg && strcmp(optarg, "host") == 0)
				cli->check_host = true;
			else if (optarg)
				return sbox_fail(err, 0, "--check=%s: expected --check or --check=host", optarg);
			break;
		case OPT_SITE_CONFIG:
			cli->site_config = optarg;
			break;
		case OPT_LIST_GPUS:
			cli->list_gpus = true;
			break;
		case OPT_STATS:
			cli->stats = true;
			break;
		case OPT_JSON_STATUS:
			cli->json_status = optarg;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_CAP_LIMITS:
			cli->cap_limits = true;
			break;
		case OPT_SOCKET:
			cli->socket = optarg;
			break;
		case OPT_DIRECT:
			cli->direct = true;
			break;
		case OPT_DETACH:
			cli->detach = true;
			break;
		case OPT_WAIT_GPU:
			cli->wait_gpu = true;
			break;
		case OPT_GPUS: {
			uint64_t n;

			if (sbox_parse_uint(optarg, 1, 64, &n) < 0)
				return sbox_fail(err, 0, "--gpus %s: expected a number of GPUs (1-64)", optarg);
			cli->gpus = (unsigned)n;
			break;
		}
		case OPT_ATTACH:
			cli->attach = optarg;
			break;
		case OPT_JOBS:
			cli->jobs = true;
			break;
		case OPT_LEASES:
			cli->leases = true;
			break;
		case OPT_SET:
			r = apply_set(p, optarg, err);
			break;
		case OPT_PASS_FD:
			r = parse_pass_fd(cli, optarg, err);
			break;
		case '?':
			if (optopt > 0 && optopt < 0x80 && strncmp(argv[optind - 1], "--", 2) != 0)
				return sbox_fail(err, 0, "unknown option '-%c' (see --help)", optopt);
			if (takes_no_argument(opts, argv[optind - 1]))
				return sbox_fail(err, 0, "option '%.*s' takes no argument (see --help)",
						 (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			return sbox_fail(err, 0, "unknown or ambiguous option '%s' (see --help)",
					 argv[optind - 1]);
		case ':':
			return sbox_fail(err, 0, "option '%s' needs an argument (see --help)", argv[optind - 1]);
		default:
			if (c >= OPT_DIRECTIVE && c < OPT_DIRECTIVE + (int)sbox_n_directives)
				d = &sbox_directives[c - OPT_DIRECTIVE];
			else
				d = directive_of_short(c);
			if (!d)
				return sbox_fail(err, 0, "unhandled option %d", c);
			r = apply_flag(p, d, optarg, err);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	cli->command = optind < argc ? &argv[optind] : NULL;
	return 0;
}

void sbox_cli_usage(FILE *out)
{
	fputs("Usage: sboxrun [OPTION]... [--] COMMAND [ARG]...\n"
	      "Run COMMAND in a sandbox: its own pid, mount, ipc, uts, network and cgroup\n"
	      "namespaces, a read-only view of the host's root, a private /dev and /tmp,\n"
	      "and a clean process state.\n"
	      "\n"
	      "Launcher options:\n"
	      "  -p, --policy FILE      read a policy file (repeatable; later files win)\n"
	      "      --set NAME=VALUE   set any policy directive (after the files)\n"
	      "      --check            check the policy's syntax and values, print the\n"
	      "                         effective policy; run nothing\n"
	      "      --check=host       and resolve it against this host as a launch here\n"
	      "                         would: bind sources, users, GPUs, devices, cgroup\n"
	      "                         (through sboxd: bind sources and mount points;\n"
	      "                         sboxd checks the rest against its bounds at launch)\n"
	      "      --pass-fd N        keep fd N open in the worker (repeatable)\n"
	      "      --help-policy      list every policy directive\n"
	      "      --list-gpus        print the GPU inventory (with --json: as JSON)\n"
	      "      --site-config FILE read this site configuration instead of\n"
	      "                         " SBOX_SITE_DEFAULT_PATH " (root-owned; direct mode only)\n"
	      "  -h, --help             show this help\n"
	      "      --version          show the version\n"
	      "      --stats            at exit, print wall and CPU time, peak memory and OOM\n"
	      "                         kills of the sandbox on stderr\n"
	      "      --json-status FILE at exit, write the exit code, signal, OOM and timeout\n"
	      "                         flags and those figures to FILE as one JSON object\n"
	      "      --cap-limits       refuse a Limit*= hard limit above sboxrun's own (for\n"
	      "                         a root caller passing on another's policy)\n"
	      "\n"
	      "Through sboxd (used when its socket answers; see sboxd(8)):\n"
	      "      --socket PATH      sboxd's socket (default $SBOX_SOCKET, else\n"
	      "                         /run/sbox/sboxd.sock); fail if it doesn't answer\n"
	      "      --direct           never use sboxd: launch the sandbox here\n"
	      "      --gpus N           lease N free GPUs for the job's life (without sboxd:\n"
	      "                         the first N of the inventory, no lease)\n"
	      "      --wait-gpu         wait for leased GPUs to come free instead of failing\n"
	      "      --detach           print the job id and exit; the job outlives sboxrun\n"
	      "      --attach JOB       wait for job JOB (forwarding signals) and exit as it does\n"
	      "      --jobs             list your jobs (root: all jobs)\n"
	      "      --leases           list the GPUs and the jobs that hold them\n"
	      "\n"
	      "Policy flags (each sets the directive in brackets):\n", out);
	for (size_t i = 0; i < sbox_n_directives; i++) {
		const struct sbox_directive *d = &sbox_directives[i];
		char lhs[64];

		if (!d->flag)
			continue;
		if (d->short_flag)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", d->short_flag, d->flag,
				 d->metavar ? " " : "", d->metavar ? d->metavar : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", d->flag, d->metavar ? " " : "",
				 d->metavar ? d->metavar : "");
		fprintf(out, "  %-26s %s [%s=]\n", lhs, d->summary, d->name);
	}
	fputs("\n"
	      "Exit status: the worker's; 128+N when it died of signal N; 125 when sbox\n"
	      "failed; 126 when COMMAND can't be executed; 127 when it isn't found;\n"
	      "137 when the OOM killer ended it past MemoryMax=; 124 after RuntimeMaxSec=.\n"
	      "See sboxrun(1) and docs/policy.md.\n", out);
}

void sbox_cli_list_directives(FILE *out)
{
	for (size_t i = 0; i < sbox_n_directives; i++) {
		const struct sbox_directive *d = &sbox_directives[i];

		if (!d->print)
			continue;
		fprintf(out, "%-22s %s%s%s\n", d->name, d->summary, d->flag ? "; flag --" : "",
			d->flag ? d->flag : "");
	}
}
