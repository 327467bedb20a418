/* SPDX-License-Identifier: MIT */
/*
 * gres.conf as slurmd reads it for this node's GPUs (docs/slurm.md,
 * "GPUs"): which device file is gres index i.  The index is slurmd's: a
 * wrong reading here grants the sandbox another job's GPU, so what this
 * reader doesn't follow the way slurmd does is refused, never skipped.
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>
#include <slurm/slurm.h>  /* slurm_hostlist_*: slurmd's own expansion */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slurm/sbox_slurm.h"

/* Which key a line starts with: slurmd keeps the records of lines that
 * start with Name= before those that start with NodeName= (gres.c
 * gres_node_config_load: s_p_get_array "Name", then "NodeName"). */
enum rec_kind { REC_OTHER, REC_NAME, REC_NODENAME };

struct gres_rec {
	enum rec_kind kind;
	const char *name, *file, *type, *node, *multiple;
};

/* Slurm's keys are case-insensitive, its values are not. */
static void take_field(struct gres_rec *r, const char *key, const char *val)
{
	if (strcasecmp(key, "Name") == 0)
		r->name = val;
	else if (strcasecmp(key, "File") == 0 || strcasecmp(key, "Files") == 0)
		r->file = val;
	else if (strcasecmp(key, "Type") == 0)
		r->type = val;
	else if (strcasecmp(key, "NodeName") == 0)
		r->node = val;
	else if (strcasecmp(key, "MultipleFiles") == 0)
		r->multiple = val;
}

/* One line into r (pointing into line, its comment cut); -1, said, for
 * what slurmd's parser reads in a way this one doesn't (escapes, quotes,
 * continued lines, Include). */
static int parse_line(char *line, struct gres_rec *r, const char *where)
{
	char *tok, *save = NULL;
	bool first = true;

	*r = (struct gres_rec){ 0 };
	line[strcspn(line, "#")] = '\0';
	if (strpbrk(line, "\\\"'")) {
		sbox_slurm_task_error("%s: a backslash or a quote: not read here as slurmd reads it", where);
		return -1;
	}
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *eq = strchr(tok, '=');

		if (first && strncasecmp(tok, "Include", 7) == 0) {
			sbox_slurm_task_error("%s: Include is not followed here", where);
			return -1;
		}
		if (!eq) {
			sbox_slurm_task_error("%s: '%s' is not KEY=VALUE", where, tok);
			return -1;
		}
		*eq = '\0';
		if (first)
			r->kind = strcasecmp(tok, "Name") == 0 ? REC_NAME :
				  strcasecmp(tok, "NodeName") == 0 ? REC_NODENAME : REC_OTHER;
		first = false;
		take_field(r, tok, eq + 1);
	}
	/* slurmd has no NodeName= after Name= (its record's options lack it) */
	if (r->kind == REC_NAME && r->node) {
		sbox_slurm_task_error("%s: NodeName= after Name=", where);
		return -1;
	}
	return 0;
}

/* Whether the record is this node's: no NodeName=, or one whose hostlist
 * names it (gres.c _parse_gres_config_node). */
static bool rec_of_node(const struct gres_rec *r, const char *node)
{
	hostlist_t hl;
	bool found;

	if (!r->node)
		return true;
	hl = slurm_hostlist_create(r->node);
	found = hl && slurm_hostlist_find(hl, node) >= 0;
	if (hl)
		slurm_hostlist_destroy(hl);
	return found;
}

/* The state of one walk over the file. */
struct gres_walk {
	const char *node;
	unsigned idx, n;        /* wanted index; indices given so far */
	char *out;
	size_t size;
	bool found, typed;
	char type[256];         /* the first gpu record's Type= ("" none) */
};

/* A gpu record's files, each the next index, as slurmd expands them
 * (gres/common common_node_config_load: hostlist_create on File=). */
static int take_files(struct gres_walk *w, const struct gres_rec *r, const char *where)
{
	hostlist_t hl = slurm_hostlist_create(r->file);
	char *one;

	if (!hl) {
		sbox_slurm_task_error("%s: File=%s: not a list of files", where, r->file);
		return -1;
	}
	while ((one = slurm_hostlist_shift(hl))) {
		if (w->n++ == w->idx && !w->found) {
			snprintf(w->out, w->size, "%s", one);
			w->found = true;
		}
		free(one);
	}
	slurm_hostlist_destroy(hl);
	return 0;
}

/* slurmd orders GPUs of several types by slurm.conf's Gres= (gres.c
 * _merge_gres), which isn't read here: one type (or none) per node. */
static int same_type(struct gres_walk *w, const struct gres_rec *r, const char *where)
{
	const char *t = r->type ? r->type : "";

	if (!w->typed) {
		snprintf(w->type, sizeof w->type, "%s", t);
		w->typed = true;
		return 0;
	}
	if (strcmp(w->type, t) == 0)
		return 0;
	sbox_slurm_task_error("%s: GPUs of two types on node %s (Type=%s, Type=%s): slurmd orders them "
			      "by slurm.conf, which the plugin doesn't read", where, w->node, w->type, t);
	return -1;
}

static int take_record(struct gres_walk *w, const struct gres_rec *r, const char *where)
{
	if (!r->name || strcmp(r->name, "gpu") != 0 || !rec_of_node(r, w->node))
		return 0;
	if (r->multiple) {
		sbox_slurm_task_error("%s: MultipleFiles= is not followed here", where);
		return -1;
	}
	if (!r->file)   /* a count only: slurmd gives it no index either */
		return 0;
	if (same_type(w, r, where) < 0)
		return -1;
	return take_files(w, r, where);
}

/* One pass over the file, taking the records of one kind. */
static int walk_pass(FILE *f, const char *conf, enum rec_kind kind, struct gres_walk *w)
{
	char *line = NULL, where[4200];
	size_t cap = 0;
	int lineno = 0, rc = 0;

	rewind(f);
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		struct gres_rec r;

		snprintf(where, sizeof where, "%s line %d", conf, ++lineno);
		if (parse_line(line, &r, where) < 0)
			rc = -1;
		else if (r.kind == kind)
			rc = take_record(w, &r, where);
	}
	free(line);
	return rc;
}

int sbox_slurm_gres_file(const char *conf, const char *node, unsigned idx, char *out, size_t size)
{
	struct gres_walk w = { .node = node, .idx = idx, .out = out, .size = size };
	FILE *f = fopen(conf, "re");
	int rc;

	if (!f) {
		sbox_slurm_task_error("gres_conf %s: %s", conf, strerror(errno));
		return -1;
	}
	/* The whole file, not up to idx: a line not read as slurmd reads
	 * it may come after the index and still change the order. */
	rc = walk_pass(f, conf, REC_NAME, &w);
	if (rc == 0)
		rc = walk_pass(f, conf, REC_NODENAME, &w);
	fclose(f);
	if (rc == 0 && !w.found) {
		sbox_slurm_task_error("GPU %u of the allocation is not in %s for node %s", idx, conf, node);
		rc = -1;
	}
	return rc;
}
