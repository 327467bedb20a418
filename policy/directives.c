/* SPDX-License-Identifier: MIT */
/*
 * The directive table and the setters and printers of the process and
 * filesystem directives.  Later areas (resources, devices, security,
 * network) add their rows here and keep their setters in their own files.
 */
#include "policy/directives.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/dir_devices.h"
#include "policy/dir_network.h"
#include "policy/dir_resources.h"
#include "policy/dir_security.h"
#include "policy/setters.h"
#include "policy/values.h"

/* Setters of every area share these, so every directive reports a bad
 * value the same way. */

int sbox_set_string(char **field, const char *value, struct sbox_err *err)
{
	char *copy = NULL;

	if (value[0] != '\0') {
		copy = strdup(value);
		if (!copy)
			return sbox_fail(err, ENOMEM, "copying value");
	}
	free(*field);
	*field = copy;
	return 0;
}

int sbox_set_bool(bool *field, const char *value, struct sbox_err *err)
{
	if (sbox_parse_bool(value, field) < 0)
		return sbox_fail(err, 0, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", value);
	return 0;
}

/* Scalars are stored and printed verbatim (as systemd reads them); only
 * list directives are split into words and so need quoting. */
void sbox_print_string(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s=%s\n", name, value ? value : "");
}

/* Split a list value; "" is reported as n == 0 so the caller resets. */
int sbox_split_value(const char *value, char ***words, size_t *n,
		     struct sbox_err *err)
{
	int r = sbox_split_words(value, words, n);

	if (r < 0)
		return sbox_fail(err, -r, "cannot split '%s' into words (unbalanced quote or trailing backslash?)",
				 value);
	return 0;
}

/* Hostname=: checked here, so a bad name fails the policy, not the launch. */

static int set_hostname(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	size_t len = strlen(v);

	/* RFC 1123 labels: what sethostname() would accept is wider, but a
	 * name a resolver chokes on helps nobody. */
	if (len > 64)
		return sbox_fail(err, 0, "hostname '%s' is longer than 64 characters", v);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '.')
			return sbox_fail(err, 0, "hostname '%s' may only hold letters, digits, '-' and '.'", v);
	return sbox_set_string(&p->hostname, v, err);
}

static void print_hostname(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	sbox_print_string(out, d->name, sbox_policy_hostname(p));
}

/* PrivateUsers=: stays -1 (auto) unless set, so root and users get the
 * right default without saying so. */

static int set_private_users(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	bool b;

	if (strcmp(v, "auto") == 0) {
		p->private_users = -1;
		return 0;
	}
	if (sbox_set_bool(&b, v, err) < 0)
		return sbox_fail(err, 0, "'%s' is not yes, no or auto", v);
	p->private_users = b;
	return 0;
}

static void print_private_users(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	fprintf(out, "%s=%s\n", d->name,
		p->private_users < 0 ? "auto" : p->private_users ? "yes" : "no");
}

/* Mounts: BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem=,
 * InaccessiblePaths= share one ordered list, because the order of mounts
 * matters (a tmpfs over a bind hides it). */

static void drop_mounts_of_kind(struct sbox_policy *p, enum sbox_mount_kind kind)
{
	size_t j = 0;

	for (size_t i = 0; i < p->n_mounts; i++) {
		struct sbox_mount *m = &p->mounts[i];

		if (m->kind == kind) {
			free(m->src);
			free(m->dst);
			free(m->options);
			continue;
		}
		p->mounts[j++] = *m;
	}
	p->n_mounts = j;
}

static int push_mount(struct sbox_policy *p, enum sbox_mount_kind kind, const char *src,
		      size_t src_len, const char *dst, const char *options, bool optional,
		      struct sbox_err *err)
{
	struct sbox_mount *v = realloc(p->mounts, (p->n_mounts + 1) * sizeof(*v));
	struct sbox_mount m = { .kind = kind, .optional = optional };

	if (!v)
		return sbox_fail(err, ENOMEM, "adding mount");
	p->mounts = v;
	if (src)
		m.src = strndup(src, src_len);
	m.dst = strdup(dst);
	if (options)
		m.options = strdup(options);
	if ((src && !m.src) || !m.dst || (options && !m.options)) {
		free(m.src);
		free(m.dst);
		free(m.options);
		return sbox_fail(err, ENOMEM, "adding mount");
	}
	p->mounts[p->n_mounts++] = m;
	return 0;
}

/* One BindPaths= word: [-]SRC[:DST[:OPTIONS]], OPTIONS "rbind" (default)
 * or "norbind"; sbox always binds recursively, so norbind is refused
 * rather than silently ignored. */
static int add_bind_word(struct sbox_policy *p, enum sbox_mount_kind kind, const char *word,
			 struct sbox_err *err)
{
	bool optional = word[0] == '-';
	const char *src = optional ? word + 1 : word;
	const char *colon = strchr(src, ':');
	_cleanup_free_ char *dst = NULL;

	if (!colon)
		return push_mount(p, kind, src, strlen(src), src, NULL, optional, err);
	dst = strdup(colon + 1);
	if (!dst)
		return sbox_fail(err, ENOMEM, "adding mount");
	char *opt = strchr(dst, ':');
	if (opt) {
		*opt++ = '\0';
		if (strcmp(opt, "rbind") != 0)
			return sbox_fail(err, 0, "bind option '%s' is not supported (only rbind)", opt);
	}
	if (colon == src || dst[0] == '\0')
		return sbox_fail(err, 0, "'%s' is not SOURCE[:DESTINATION]", word);
	return push_mount(p, kind, src, (size_t)(colon - src), dst, NULL, optional, err);
}

static int set_mount_list(struct sbox_policy *p, enum sbox_mount_kind kind, const char *value,
			  struct sbox_err *err)
{
	char **words;
	size_t n;
	int r = 0;

	if (sbox_split_value(value, &words, &n, err) < 0)
		return -1;
	if (n == 0)
		drop_mounts_of_kind(p, kind);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *w = words[i];

		switch (kind) {
		case SBOX_MOUNT_BIND:
		case SBOX_MOUNT_BIND_RO:
			r = add_bind_word(p, kind, w, err);
			break;
		case SBOX_MOUNT_TMPFS: {
			const char *colon = strchr(w, ':');
			_cleanup_free_ char *dst = strndup(w, colon ? (size_t)(colon - w) : strlen(w));

			if (!dst)
				return sbox_fail(err, ENOMEM, "adding mount");
			r = push_mount(p, kind, NULL, 0, dst, colon ? colon + 1 : NULL, false, err);
			break;
		}
		case SBOX_MOUNT_INACCESSIBLE:
			r = push_mount(p, kind, NULL, 0, w[0] == '-' ? w + 1 : w, NULL, w[0] == '-', err);
			break;
		default:
			r = sbox_fail(err, EINVAL, "unknown mount kind");
			break;
		}
	}
	sbox_strv_free(words);
	return r;
}

static int set_bind(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_mount_list(p, SBOX_MOUNT_BIND, v, err);
}

static int set_bind_ro(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_mount_list(p, SBOX_MOUNT_BIND_RO, v, err);
}

static int set_tmpfs(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_mount_list(p, SBOX_MOUNT_TMPFS, v, err);
}

static int set_inaccessible(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_mount_list(p, SBOX_MOUNT_INACCESSIBLE, v, err);
}

static enum sbox_mount_kind kind_of_directive(const struct sbox_directive *d)
{
	if (d->set == set_bind)
		return SBOX_MOUNT_BIND;
	if (d->set == set_bind_ro)
		return SBOX_MOUNT_BIND_RO;
	if (d->set == set_tmpfs)
		return SBOX_MOUNT_TMPFS;
	return SBOX_MOUNT_INACCESSIBLE;
}

static void print_mounts(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	enum sbox_mount_kind kind = kind_of_directive(d);
	bool any = false;

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		_cleanup_free_ char *word = NULL;
		int n;

		if (m->kind != kind)
			continue;
		any = true;
		switch (kind) {
		case SBOX_MOUNT_BIND:
		case SBOX_MOUNT_BIND_RO:
			n = asprintf(&word, "%s%s:%s", m->optional ? "-" : "", m->src, m->dst);
			break;
		case SBOX_MOUNT_TMPFS:
			n = asprintf(&word, "%s%s%s", m->dst, m->options ? ":" : "",
				     m->options ? m->options : "");
			break;
		case SBOX_MOUNT_INACCESSIBLE:
		default:
			n = asprintf(&word, "%s%s", m->optional ? "-" : "", m->dst);
			break;
		}
		if (n < 0)
			word = NULL;
		sbox_print_word(out, d->name, word);
	}
	if (!any)
		fprintf(out, "%s=\n", d->name);
}

/* Environment=, PassEnvironment=: the worker's environment is built from
 * these (and TERM), never inherited whole from the launcher. */

static bool env_name_valid(const char *name, size_t len)
{
	if (len == 0 || isdigit((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}

/* Later assignments of a name replace earlier ones, as in systemd. */
int sbox_env_set(struct sbox_strv *env, const char *assignment)
{
	size_t len = strcspn(assignment, "=");

	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], assignment, len) == 0 && env->v[i][len] == '=') {
			char *copy = strdup(assignment);

			if (!copy)
				return -ENOMEM;
			free(env->v[i]);
			env->v[i] = copy;
			return 0;
		}
	}
	return sbox_strv_push(env, assignment);
}

/* *taken counts the words of both lists, so that the lookups of a whole
 * policy stay bounded (SBOX_ENV_WORDS_MAX), repeats included. */
static int set_env_list(struct sbox_strv *list, bool names_only, const char *value,
			unsigned *taken, struct sbox_err *err)
{
	char **words;
	size_t n;
	int r = 0;

	if (sbox_split_value(value, &words, &n, err) < 0)
		return -1;
	if (n > SBOX_ENV_WORDS_MAX - *taken) {
		sbox_strv_free(words);
		return sbox_fail(err, 0, "more than %d words in Environment= and PassEnvironment= in all",
				 SBOX_ENV_WORDS_MAX);
	}
	*taken += (unsigned)n;
	if (n == 0)
		sbox_strv_clear(list);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *eq = strchr(words[i], '=');
		size_t len = names_only ? strlen(words[i]) : (eq ? (size_t)(eq - words[i]) : 0);

		if (names_only && eq)
			r = sbox_fail(err, 0, "'%s' is not a variable name (PassEnvironment= takes names; use Environment= for NAME=value)",
				      words[i]);
		else if (!names_only && !eq)
			r = sbox_fail(err, 0, "'%s' is not NAME=value", words[i]);
		else if (!env_name_valid(words[i], len))
			r = sbox_fail(err, 0, "'%.*s' is not a valid variable name", (int)len, words[i]);
		else if ((names_only ? sbox_strv_push(list, words[i]) : sbox_env_set(list, words[i])) < 0)
			r = sbox_fail(err, ENOMEM, "adding '%s'", words[i]);
	}
	sbox_strv_free(words);
	return r;
}

static int set_env(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_env_list(&p->env, false, v, &p->env_words, err);
}

static int set_pass_env(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_env_list(&p->pass_env, true, v, &p->env_words, err);
}

void sbox_print_word(FILE *out, const char *name, const char *word)
{
	_cleanup_free_ char *quoted = word ? sbox_quote_word_dup(word) : NULL;

	/* Out of memory: a lone quote, which fails to read back, never an
	 * empty value, which would reset a list. */
	fprintf(out, "%s=%s\n", name, quoted ? quoted : "\"");
}

void sbox_print_strv(FILE *out, const char *name, const struct sbox_strv *s)
{
	if (s->n == 0)
		fprintf(out, "%s=\n", name);
	for (size_t i = 0; i < s->n; i++)
		sbox_print_word(out, name, s->v[i]);
}

static void print_env(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	sbox_print_strv(out, d->name, &p->env);
}

static void print_pass_env(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	sbox_print_strv(out, d->name, &p->pass_env);
}

/* WorkingDirectory=, UMask=, NewSession=: the process state the worker
 * starts with. */

static int set_workdir(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	if (v[0] != '\0' && v[0] != '/')
		return sbox_fail(err, 0, "'%s' is not an absolute path", v);
	return sbox_set_string(&p->workdir, v, err);
}

static void print_workdir(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	/* Empty means "the caller's working directory". */
	sbox_print_string(out, d->name, p->workdir);
}

static int set_umask(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	if (sbox_parse_umask(v, &p->umask) < 0)
		return sbox_fail(err, 0, "'%s' is not an octal mask between 0000 and 0777", v);
	return 0;
}

static void print_umask(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	fprintf(out, "%s=%04o\n", d->name, (unsigned)p->umask);
}

static int set_new_session(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return sbox_set_bool(&p->new_session, v, err);
}

static void print_new_session(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	fprintf(out, "%s=%s\n", d->name, p->new_session ? "yes" : "no");
}

/* The one directive table: flags, --set, policy files, --check and the
 * reference docs all come from these rows (tests/check-docs.sh checks them). */

const struct sbox_directive sbox_directives[] = {
	{ "Hostname", "hostname", 0, "NAME", NULL,
	  "host name inside the sandbox's UTS namespace (default: sbox)", "worker-1",
	  0, set_hostname, print_hostname },
	{ "PrivateUsers", NULL, 0, NULL, NULL,
	  "run in a new user namespace: yes, no or auto (auto: when the caller is not root)", "auto",
	  0, set_private_users, print_private_users },
	{ "BindPaths", "bind", 0, "SRC[:DST]", NULL,
	  "bind a host path read-write (\"-\" before SRC: skip when missing)", "/srv/data:/data",
	  SBOX_DIR_LIST, set_bind, print_mounts },
	{ "BindReadOnlyPaths", "ro-bind", 0, "SRC[:DST]", NULL,
	  "bind a host path read-only", "/opt/models:/models",
	  SBOX_DIR_LIST, set_bind_ro, print_mounts },
	{ "TemporaryFileSystem", "tmpfs", 0, "DST[:OPTS]", NULL,
	  "mount an empty tmpfs (options: mode=, size=, nr_inodes=)", "/scratch:size=1G",
	  SBOX_DIR_LIST, set_tmpfs, print_mounts },
	{ "InaccessiblePaths", "inaccessible", 0, "PATH", NULL,
	  "hide a path: nothing can be read, written or executed there", "/home",
	  SBOX_DIR_LIST, set_inaccessible, print_mounts },
	{ "Environment", "env", 'e', "NAME=VALUE", NULL,
	  "set an environment variable for the worker", "OMP_NUM_THREADS=4",
	  SBOX_DIR_LIST, set_env, print_env },
	{ "PassEnvironment", "pass-env", 0, "NAME", NULL,
	  "pass the caller's value of a variable, when it has one", "HOME",
	  SBOX_DIR_LIST, set_pass_env, print_pass_env },
	{ "WorkingDirectory", "chdir", 'C', "DIR", NULL,
	  "working directory of the worker (default: the caller's, else /)", "/srv/job",
	  0, set_workdir, print_workdir },
	{ "UMask", "umask", 0, "MODE", NULL,
	  "file mode creation mask of the worker (default 0022)", "0077",
	  0, set_umask, print_umask },
	{ "NewSession", NULL, 0, NULL, NULL,
	  "start the worker in a new session, away from the caller's terminal (default yes)", "yes",
	  0, set_new_session, print_new_session },
	{ "NewSession", "tty", 't', NULL, "no",
	  "keep the caller's terminal for an interactive worker (NewSession=no)", NULL,
	  0, set_new_session, NULL },
	/* Each area's rows live beside its setters (policy/dir_*.h); they
	 * join this one table so that flags, --set, --check and the docs
	 * check see every directive. */
	SBOX_RESOURCES_DIRECTIVES
	SBOX_DEVICES_DIRECTIVES
	SBOX_SECURITY_DIRECTIVES
	SBOX_NETWORK_DIRECTIVES
};

const size_t sbox_n_directives = SBOX_ARRAY_SIZE(sbox_directives);

const struct sbox_directive *sbox_directive_find(const char *name)
{
	for (size_t i = 0; i < sbox_n_directives; i++)
		if (sbox_directives[i].print && strcmp(sbox_directives[i].name, name) == 0)
			return &sbox_directives[i];
	return NULL;
}

const struct sbox_directive *sbox_directive_suggest(const char *name)
{
	const struct sbox_directive *best = NULL;
	size_t best_d = (size_t)-1;
	size_t limit = strlen(name) / 3 + 2;

	for (size_t i = 0; i < sbox_n_directives; i++) {
		size_t d = sbox_edit_distance(name, sbox_directives[i].name);

		if (d < best_d) {
			best_d = d;
			best = &sbox_directives[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

const struct sbox_directive *sbox_directive_by_flag(const char *flag)
{
	for (size_t i = 0; i < sbox_n_directives; i++)
		if (sbox_directives[i].flag && strcmp(sbox_directives[i].flag, flag) == 0)
			return &sbox_directives[i];
	return NULL;
}

const char *sbox_directive_text(const char *name, const char *value, char *buf, size_t len)
{
	snprintf(buf, len, "%s=%s", name, value);
	return buf;
}

int sbox_policy_set(struct sbox_policy *p, const char *name, const char *value,
		    struct sbox_err *err)
{
	const struct sbox_directive *d = sbox_directive_find(name);

	if (!d) {
		const struct sbox_directive *s = sbox_directive_suggest(name);

		if (sbox_net_site_only_directive(name, err) < 0)
			return -1;
		if (s)
			return sbox_fail(err, 0, "unknown directive '%s'; did you mean '%s'?", name, s->name);
		return sbox_fail(err, 0, "unknown directive '%s' (sboxrun --help-policy lists them)", name);
	}
	if (d->set(p, value, err) < 0) {
		/* Quote at most 80 characters of the value: a long one would push
		 * the reason out of the message. */
		size_t len = strlen(value);

		sbox_err_prefix(err, "%s=%.*s%s", d->name, (int)(len > 80 ? 80 : len), value,
				len > 80 ? "..." : "");
		return -1;
	}
	return 0;
}

void sbox_policy_print(const struct sbox_policy *p, FILE *out)
{
	fprintf(out, "[%s]\n", SBOX_POLICY_SECTION);
	for (size_t i = 0; i < sbox_n_directives; i++)
		if (sbox_directives[i].print)
			sbox_directives[i].print(p, &sbox_directives[i], out);
}
