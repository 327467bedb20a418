/* SPDX-License-Identifier: MIT */
/*
 * The site configuration file, parsed with libinih.  The keys live in one
 * table (section, name, setter) so that later areas add a section by adding
 * rows; unknown sections and keys are errors with a suggestion, as in job
 * policies.
 */
#include "policy/site.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/ini.h"
#include "policy/values.h"

/* Debian's libinih reads 200-byte lines; see policy/parse.c. */
#define MAX_CPUS 8192

struct site_key {
	const char *section;
	const char *name;
	int (*set)(struct sbox_site *s, const char *value, unsigned line, struct sbox_err *err);
};

void sbox_site_init(struct sbox_site *s)
{
	memset(s, 0, sizeof(*s));
	s->gpus.inventory = SBOX_SITE_INVENTORY_DISCOVER;
	s->gpus.locality = SBOX_SITE_LOCALITY_AUTO;
	sbox_site_daemon_init(&s->daemon);
	sbox_site_network_init(&s->network);
}

static void site_gpu_free(struct sbox_site_gpu *g)
{
	free(g->uuid);
	free(g->bus);
	sbox_strv_free(g->nodes);
	free(g->cpus);
}

void sbox_site_free(struct sbox_site *s)
{
	free(s->path);
	free(s->gpus.proc_root);
	free(s->gpus.sys_root);
	free(s->gpus.dev_root);
	for (size_t i = 0; i < s->gpus.n_gpus; i++)
		site_gpu_free(&s->gpus.gpus[i]);
	free(s->gpus.gpus);
	sbox_strv_free(s->gpus.shared_nodes);
	sbox_site_daemon_free(&s->daemon);
	sbox_site_init(s);
}

const char *sbox_site_proc_root(const struct sbox_site *s)
{
	return s && s->gpus.proc_root ? s->gpus.proc_root : "/proc";
}

const char *sbox_site_sys_root(const struct sbox_site *s)
{
	return s && s->gpus.sys_root ? s->gpus.sys_root : "/sys";
}

const char *sbox_site_dev_root(const struct sbox_site *s)
{
	return s && s->gpus.dev_root ? s->gpus.dev_root : "/dev";
}

/* [GPUs]: where the GPU inventory comes from; read only by the privileged
 * side, so a user can't point sbox at fake device roots. */

static int set_inventory(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	if (strcmp(v, "discover") == 0)
		s->gpus.inventory = SBOX_SITE_INVENTORY_DISCOVER;
	else if (strcmp(v, "static") == 0)
		s->gpus.inventory = SBOX_SITE_INVENTORY_STATIC;
	else
		return sbox_fail(err, 0, "Inventory=%s: expected discover or static", v);
	return 0;
}

static int set_root(char **field, const char *name, const char *v, struct sbox_err *err)
{
	char *copy;

	if (!sbox_path_is_normal_absolute(v))
		return sbox_fail(err, 0, "%s=%s: expected an absolute path without '..'", name, v);
	copy = strdup(v);
	if (!copy)
		return sbox_fail(err, ENOMEM, "%s=%s", name, v);
	/* "/" and "/x/" name the same place; messages read better without. */
	for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	free(*field);
	*field = copy;
	return 0;
}

static int set_proc_root(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_root(&s->gpus.proc_root, "ProcRoot", v, err);
}

static int set_sys_root(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_root(&s->gpus.sys_root, "SysRoot", v, err);
}

static int set_dev_root(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_root(&s->gpus.dev_root, "DevRoot", v, err);
}

static int set_locality(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	bool b;

	(void)line;
	if (strcmp(v, "auto") == 0) {
		s->gpus.locality = SBOX_SITE_LOCALITY_AUTO;
		return 0;
	}
	if (sbox_parse_bool(v, &b) < 0)
		return sbox_fail(err, 0, "Locality=%s: expected auto, yes or no", v);
	s->gpus.locality = b ? SBOX_SITE_LOCALITY_YES : SBOX_SITE_LOCALITY_NO;
	return 0;
}

int sbox_pci_bus_id_normalize(const char *in, char *out, size_t len)
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;

	/* "0000:3b:00.0" or "3b:00.0"; hex, any case. */
	if (sscanf(in, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &n) == 4 && in[n] == '\0') {
		/* nothing more */
	} else if (n = 0, dom = 0, sscanf(in, "%x:%x.%x%n", &bus, &dev, &fn, &n) == 3 &&
		   in[n] == '\0') {
		/* no domain: domain 0 */
	} else {
		return -EINVAL;
	}
	for (const char *c = in; *c; c++)
		if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
			return -EINVAL;
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* A node name below DevRoot: "nvidia0", "dri/renderD128", "/dev/kfd". */
static int node_name(const char *w, char **out, struct sbox_err *err)
{
	if (strncmp(w, "/dev/", 5) == 0)
		w += 5;
	if (*w == '\0' || *w == '/' || strstr(w, "..") || strchr(w, ' '))
		return sbox_fail(err, 0, "'%s' is not a device node name below DevRoot", w);
	if (strlen(w) > SBOX_SITE_NODE_NAME_MAX)
		return sbox_fail(err, 0, "'%s' is longer than %d characters", w, SBOX_SITE_NODE_NAME_MAX);
	*out = strdup(w);
	return *out ? 0 : sbox_fail(err, ENOMEM, "copying '%s'", w);
}

static int parse_nodes(const char *list, char ***out, size_t *n, struct sbox_err *err)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return sbox_fail(err, ENOMEM, "copying '%s'", list);
	*out = NULL;
	*n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **v = realloc(*out, (*n + 2) * sizeof(char *));

		if (!v)
			return sbox_fail(err, ENOMEM, "adding node '%s'", tok);
		*out = v;
		v[*n] = NULL;
		if (node_name(tok, &v[*n], err) < 0)
			return -1;
		v[++*n] = NULL;
	}
	if (*n == 0)
		return sbox_fail(err, 0, "'%s' names no device node", list);
	return 0;
}

static int gpu_option(struct sbox_site_gpu *g, const char *w, struct sbox_err *err)
{
	uint64_t v;

	if (strncmp(w, "numa=", 5) == 0) {
		if (strcmp(w + 5, "-1") == 0) {
			g->numa_node = -1;
			return 0;
		}
		if (sbox_parse_uint(w + 5, 0, 1023, &v) < 0)
			return sbox_fail(err, 0, "'%s': expected numa=NODE (0-1023 or -1)", w);
		g->numa_node = (int)v;
		return 0;
	}
	if (strncmp(w, "cpus=", 5) == 0) {
		uint8_t bits[MAX_CPUS / 8];

		if (sbox_parse_id_list(w + 5, bits, MAX_CPUS) < 0)
			return sbox_fail(err, 0, "'%s': expected cpus=LIST (e.g. 0-15,32-47)", w);
		free(g->cpus);
		g->cpus = strdup(w + 5);
		return g->cpus ? 0 : sbox_fail(err, ENOMEM, "copying '%s'", w);
	}
	return sbox_fail(err, 0, "'%s': unknown GPU option (numa=, cpus=)", w);
}

/* GPU=INDEX UUID BUS NODE[,NODE...] [numa=N] [cpus=LIST] */
static int set_gpu(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	struct sbox_site_gpu g = { .numa_node = -1, .line = line };
	struct sbox_site_gpu *arr;
	char bus[32], **w;
	size_t n;
	uint64_t idx;
	int r = -1;

	if (sbox_split_words(v, &w, &n) < 0)
		return sbox_fail(err, 0, "GPU=%s: unbalanced quote", v);
	if (n < 4) {
		sbox_fail(err, 0, "GPU=%s: expected INDEX UUID BUS NODE[,NODE...] [numa=N] [cpus=LIST]", v);
		goto out;
	}
	if (sbox_parse_uint(w[0], 0, 1023, &idx) < 0) {
		sbox_fail(err, 0, "GPU=%s: '%s' is not an index (0-1023)", v, w[0]);
		goto out;
	}
	g.index = (unsigned)idx;
	for (const char *c = w[1]; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-') {
			sbox_fail(err, 0, "GPU=%s: '%s' is not a UUID", v, w[1]);
			goto out;
		}
	if (sbox_pci_bus_id_normalize(w[2], bus, sizeof(bus)) < 0) {
		sbox_fail(err, 0, "GPU=%s: '%s' is not a PCI bus id (DDDD:BB:DD.F)", v, w[2]);
		goto out;
	}
	g.uuid = strdup(w[1]);
	g.bus = strdup(bus);
	if (!g.uuid || !g.bus) {
		sbox_fail(err, ENOMEM, "GPU=%s", v);
		goto out;
	}
	if (parse_nodes(w[3], &g.nodes, &g.n_nodes, err) < 0)
		goto prefix;
	for (size_t i = 4; i < n; i++)
		if (gpu_option(&g, w[i], err) < 0)
			goto prefix;
	for (size_t i = 0; i < s->gpus.n_gpus; i++) {
		const struct sbox_site_gpu *o = &s->gpus.gpus[i];

		if (o->index == g.index || strcasecmp(o->uuid, g.uuid) == 0 ||
		    strcmp(o->bus, g.bus) == 0) {
			sbox_fail(err, 0, "the same GPU (index, UUID or bus id) as the GPU= line %u", o->line);
			goto prefix;
		}
	}
	arr = realloc(s->gpus.gpus, (s->gpus.n_gpus + 1) * sizeof(*arr));
	if (!arr) {
		sbox_fail(err, ENOMEM, "GPU=%s", v);
		goto out;
	}
	s->gpus.gpus = arr;
	arr[s->gpus.n_gpus++] = g;
	memset(&g, 0, sizeof(g));
	r = 0;
	goto out;
prefix:
	sbox_err_prefix(err, "GPU=%s", v);
out:
	site_gpu_free(&g);
	sbox_strv_free(w);
	return r;
}

static int set_shared_nodes(struct sbox_site *s, const char *v, unsigned line,
			    struct sbox_err *err)
{
	char **w;
	size_t n;

	(void)line;
	if (sbox_split_words(v, &w, &n) < 0)
		return sbox_fail(err, 0, "SharedNodes=%s: unbalanced quote", v);
	sbox_strv_free(s->gpus.shared_nodes);
	s->gpus.shared_nodes = NULL;
	s->gpus.n_shared = 0;
	s->gpus.shared_set = true;
	for (size_t i = 0; i < n; i++) {
		char *name;
		char **arr = realloc(s->gpus.shared_nodes, (s->gpus.n_shared + 2) * sizeof(char *));

		if (!arr) {
			sbox_strv_free(w);
			return sbox_fail(err, ENOMEM, "SharedNodes=%s", v);
		}
		s->gpus.shared_nodes = arr;
		arr[s->gpus.n_shared] = NULL;
		if (node_name(w[i], &name, err) < 0) {
			sbox_strv_free(w);
			sbox_err_prefix(err, "SharedNodes=%s", v);
			return -1;
		}
		arr[s->gpus.n_shared++] = name;
		arr[s->gpus.n_shared] = NULL;
	}
	sbox_strv_free(w);
	return 0;
}

/* One row per key: an unknown key is an error with a suggestion, not a
 * setting silently ignored. */

static const struct site_key site_keys[] = {
	{ "GPUs", "Inventory", set_inventory },
	{ "GPUs", "ProcRoot", set_proc_root },
	{ "GPUs", "SysRoot", set_sys_root },
	{ "GPUs", "DevRoot", set_dev_root },
	{ "GPUs", "Locality", set_locality },
	{ "GPUs", "GPU", set_gpu },
	{ "GPUs", "SharedNodes", set_shared_nodes },
	/* The other sections' rows live beside their setters. */
	SBOX_SITE_DAEMON_KEYS
	SBOX_SITE_NETWORK_KEYS
};

static bool section_known(const char *section)
{
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(site_keys); i++)
		if (strcmp(site_keys[i].section, section) == 0)
			return true;
	return false;
}

static const char *suggest(const char *section, const char *key)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < SBOX_ARRAY_SIZE(site_keys); i++) {
		size_t d;

		if (strcmp(site_keys[i].section, section) != 0)
			continue;
		d = sbox_edit_distance(key, site_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = site_keys[i].name;
		}
	}
	return best_d <= strlen(key) / 3 + 2 ? best : NULL;
}

static int handler(void *user, const char *section, const char *key, const char *value,
		   unsigned line, struct sbox_err *err)
{
	struct sbox_site *site = user;

	/* [Defaults] takes any job policy directive, so it has no rows here:
	 * the directive table itself checks them (policy/site_daemon.c). */
	if (strcmp(section, "Defaults") == 0)
		return sbox_site_defaults_add(site, key, value, err);
	if (!section_known(section)) {
		if (section[0] == '\0')
			return sbox_fail(err, 0, "'%s=' is outside a section (e.g. [GPUs])", key);
		return sbox_fail(err, 0, "unknown section [%s]", section);
	}
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(site_keys); i++) {
		const struct site_key *k = &site_keys[i];

		if (strcmp(k->section, section) == 0 && strcmp(k->name, key) == 0)
			return k->set(site, value, line, err);
	}
	const char *s = suggest(section, key);
	if (s)
		return sbox_fail(err, 0, "unknown key '%s' in [%s]; did you mean '%s'?", key, section, s);
	return sbox_fail(err, 0, "unknown key '%s' in [%s]", key, section);
}

/* Checks that hold for the whole file, once every line is read. */
static int site_check(const struct sbox_site *s, const char *name, struct sbox_err *err)
{
	if (s->gpus.inventory == SBOX_SITE_INVENTORY_DISCOVER && s->gpus.n_gpus > 0)
		return sbox_fail(err, 0, "%s: GPU= lines are a static inventory: set Inventory=static in [GPUs]",
				 name);
	if (s->gpus.inventory == SBOX_SITE_INVENTORY_DISCOVER && s->gpus.shared_set)
		return sbox_fail(err, 0, "%s: SharedNodes= belongs to a static inventory: set Inventory=static in [GPUs]",
				 name);
	if (sbox_site_daemon_check(s, name, err) < 0)
		return -1;
	return 0;
}

int sbox_site_load_string(struct sbox_site *s, const char *text, const char *name,
			  struct sbox_err *err)
{
	if (sbox_ini_parse(NULL, text ? text : "", name, handler, s, err) < 0)
		return -1;
	return site_check(s, name, err);
}

/* As sudo does for sudoers: whoever may write this file decides what the
 * privileged side binds into every sandbox. */
static int check_owner(const struct stat *st, const char *path, struct sbox_err *err)
{
	if (!S_ISREG(st->st_mode))
		return sbox_fail(err, 0, "%s: site configuration is not a regular file", path);
	if (st->st_uid != 0)
		return sbox_fail(err, 0, "%s: site configuration is owned by uid %u, not root: refused (chown root %s)",
				 path, (unsigned)st->st_uid, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return sbox_fail(err, 0, "%s: site configuration is writable by %s (mode %04o): refused (chmod go-w %s)",
				 path, (st->st_mode & S_IWOTH) ? "others" : "its group",
				 (unsigned)(st->st_mode & 07777), path);
	return 0;
}

int sbox_site_load(struct sbox_site *s, const char *path, bool must_exist,
		   struct sbox_err *err)
{
	struct stat st;
	_cleanup_close_ int fd = sbox_ini_open(path, "site configuration", false, &st, err);
	int r;

	if (fd == -ENOENT && !must_exist)
		return 0;
	if (fd < -1)
		return sbox_fail(err, -fd, "%s: cannot open the site configuration", path);
	if (fd < 0)
		return -1;
	if (check_owner(&st, path, err) < 0)
		return -1;
	FILE *f = sbox_ini_read_fd(fd, path, "site configuration", SBOX_INI_PIPE_TIMEOUT_MS, err);
	if (!f)
		return -1;
	r = sbox_ini_parse(f, NULL, path, handler, s, err);
	fclose(f);
	if (r < 0 || site_check(s, path, err) < 0)
		return -1;
	free(s->path);
	s->path = strdup(path);
	return s->path ? 0 : sbox_fail(err, ENOMEM, "%s", path);
}
