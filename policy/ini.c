/* SPDX-License-Identifier: MIT */
#include "policy/ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ini_ctx {
	FILE *f;
	const char *text;
	const char *name;
	sbox_ini_handler h;
	void *user;
	struct sbox_err *err;
	char *buf;               /* the current physical line (getline) */
	size_t cap;
	unsigned line;           /* lines read so far */
	char section[256];       /* current [section], tracked for long lines */
	bool failed;             /* an error is recorded in err */
	unsigned fail_line;
	bool oom;
};

static void record_failure(struct ini_ctx *c)
{
	c->failed = true;
	c->fail_line = c->line;
}

/* One physical line into c->buf (with its newline, if any); length or -1. */
static ssize_t next_line(struct ini_ctx *c)
{
	if (c->f)
		return getline(&c->buf, &c->cap, c->f);
	if (!c->text || *c->text == '\0')
		return -1;
	const char *nl = strchr(c->text, '\n');
	size_t len = nl ? (size_t)(nl - c->text + 1) : strlen(c->text);
	if (len + 1 > c->cap) {
		char *b = realloc(c->buf, len + 1);

		if (!b) {
			c->oom = true;
			return -1;
		}
		c->buf = b;
		c->cap = len + 1;
	}
	memcpy(c->buf, c->text, len);
	c->buf[len] = '\0';
	c->text += len;
	return (ssize_t)len;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Keep our copy of the current section in step with what libinih sees. */
static void track_section(struct ini_ctx *c, const char *line)
{
	const char *s = line, *end;

	while (isspace((unsigned char)*s))
		s++;
	if (*s != '[')
		return;
	end = strchr(s, ']');
	if (end && (size_t)(end - s - 1) < sizeof(c->section))
		snprintf(c->section, sizeof(c->section), "%.*s", (int)(end - s - 1), s + 1);
}

/* A line too long for libinih's buffer, parsed here by libinih's rules
 * (comments, " ;" inline comments, Name = value trimmed) and handed to
 * the same handler, so nothing is cut and nothing behaves differently. */
static void long_line(struct ini_ctx *c)
{
	char *s = trim(c->buf), *eq, *semi;

	if (*s == '\0' || *s == '#' || *s == ';' || c->failed)
		return;
	if (*s == '[') {
		sbox_fail(c->err, 0, "section name too long");
		record_failure(c);
		return;
	}
	for (semi = s; (semi = strchr(semi, ';')) != NULL; semi++)
		if (semi > s && isspace((unsigned char)semi[-1])) {
			*semi = '\0';
			break;
		}
	eq = strchr(s, '=');
	if (!eq) {
		sbox_fail(c->err, 0, "syntax error: expected [Section] or Name=value");
		record_failure(c);
		return;
	}
	*eq = '\0';
	if (c->h(c->user, c->section, trim(s), trim(eq + 1), c->line, c->err) < 0)
		record_failure(c);
}

static char *reader(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	ssize_t n = next_line(c);

	if (n < 0)
		return NULL;
	c->line++;
	if ((size_t)n > SBOX_INI_LINE_MAX) {
		sbox_fail(c->err, 0, "line longer than %d characters", SBOX_INI_LINE_MAX);
		if (!c->failed)
			record_failure(c);
		return NULL;
	}
	track_section(c, c->buf);
	if ((size_t)n < (size_t)num) {
		memcpy(str, c->buf, (size_t)n + 1);
		return str;
	}
	/* Give libinih a blank line in its place: line numbers stay right. */
	long_line(c);
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *c = user;

	if (c->failed)
		return 1;        /* report the first error only */
	if (c->h(c->user, section, key, value, c->line, c->err) < 0) {
		record_failure(c);
		return 0;
	}
	return 1;
}

int sbox_ini_parse(FILE *f, const char *text, const char *name, sbox_ini_handler h,
		   void *user, struct sbox_err *err)
{
	struct ini_ctx c = { .f = f, .text = f ? NULL : text, .name = name, .h = h,
			     .user = user, .err = err };
	int line = ini_parse_stream(reader, &c, handler, &c);

	free(c.buf);
	if (line < 0 || c.oom)
		return sbox_fail(err, ENOMEM, "%s: parsing", name);
	if (c.failed && (line == 0 || c.fail_line <= (unsigned)line)) {
		sbox_err_prefix(err, "%s:%u", name, c.fail_line);
		return -1;
	}
	if (line > 0)
		return sbox_fail(err, 0, "%s:%d: syntax error: expected [Section] or Name=value",
				 name, line);
	return 0;
}
