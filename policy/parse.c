/* SPDX-License-Identifier: MIT */
#include "policy/parse.h"

#include <errno.h>
#include <ini.h>
#include <string.h>

#include "policy/directives.h"

/*
 * Debian's libinih reads lines into a 200-byte buffer and hands the rest of a
 * longer line back as a line of its own, which would be parsed as garbage.
 * Our reader counts lines itself and stops at an over-long one, so the user
 * gets "FILE:LINE: line too long" instead.
 */
#define LINE_MAX_INIH 200

struct parse_ctx {
	struct sbox_policy *policy;
	const char *name;
	/* input: exactly one of f / text */
	FILE *f;
	const char *text;
	size_t line;             /* lines handed to inih so far */
	bool too_long;
	bool failed;             /* a handler error is recorded in err */
	size_t fail_line;        /* ... on this line */
	struct sbox_err *err;
};

static char *finish_line(struct parse_ctx *c, char *str, size_t len, bool newline)
{
	c->line++;
	if (!newline && len >= LINE_MAX_INIH - 1) {
		c->too_long = true;
		return NULL;
	}
	return str;
}

static char *read_stream(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	size_t len;

	if (!fgets(str, num, c->f))
		return NULL;
	len = strlen(str);
	/* A line that filled the buffer without its newline is too long,
	 * unless it is the last line of the file and exactly fits. */
	if (len > 0 && str[len - 1] == '\n')
		return finish_line(c, str, len, true);
	if (feof(c->f))
		return finish_line(c, str, 0, true);
	return finish_line(c, str, len, false);
}

static char *read_text(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *nl;
	size_t len;

	if (!c->text || *c->text == '\0')
		return NULL;
	nl = strchr(c->text, '\n');
	len = nl ? (size_t)(nl - c->text + 1) : strlen(c->text);
	if (len > (size_t)num - 1) {
		c->line++;
		c->too_long = true;
		return NULL;
	}
	memcpy(str, c->text, len);
	str[len] = '\0';
	c->text += len;
	c->line++;
	return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *c = user;

	if (c->failed)
		return 1;        /* report the first error only */
	c->fail_line = c->line;
	if (strcmp(section, SBOX_POLICY_SECTION) != 0) {
		c->failed = true;
		if (section[0] == '\0')
			sbox_fail(c->err, 0, "'%s=' is outside a section; a policy starts with [%s]",
				  key, SBOX_POLICY_SECTION);
		else
			sbox_fail(c->err, 0, "unknown section [%s]; a policy's directives go in [%s]",
				  section, SBOX_POLICY_SECTION);
		return 0;
	}
	if (sbox_policy_set(c->policy, key, value, c->err) < 0) {
		c->failed = true;
		return 0;
	}
	return 1;
}

static int run(struct parse_ctx *c, ini_reader reader)
{
	int line = ini_parse_stream(reader, c, handler, c);

	if (c->too_long)
		return sbox_fail(c->err, 0, "%s:%zu: line longer than %d characters; split the list over several lines",
				 c->name, c->line, LINE_MAX_INIH - 1);
	if (line == 0)
		return 0;
	if (line < 0)
		return sbox_fail(c->err, ENOMEM, "%s: parsing", c->name);
	if (c->failed && c->fail_line <= (size_t)line) {
		sbox_err_prefix(c->err, "%s:%zu", c->name, c->fail_line);
		return -1;
	}
	/* inih's own syntax errors: no '=' or an unclosed '['. */
	return sbox_fail(c->err, 0, "%s:%d: syntax error: expected [Section] or Name=value", c->name, line);
}

int sbox_policy_load_stream(struct sbox_policy *p, FILE *f, const char *name,
			    struct sbox_err *err)
{
	struct parse_ctx c = { .policy = p, .name = name, .f = f, .err = err };

	return run(&c, read_stream);
}

int sbox_policy_load_file(struct sbox_policy *p, const char *path, struct sbox_err *err)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return sbox_fail(err, errno, "%s: cannot open policy file", path);
	r = sbox_policy_load_stream(p, f, path, err);
	fclose(f);
	return r;
}

int sbox_policy_load_string(struct sbox_policy *p, const char *text, const char *name,
			    struct sbox_err *err)
{
	struct parse_ctx c = { .policy = p, .name = name, .text = text, .err = err };

	return run(&c, read_text);
}
