/* SPDX-License-Identifier: MIT */
#include "policy/ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ini_ctx {
	FILE *f;
	const char *text;
	const char *name;
	sbox_ini_handler h;
	void *user;
	struct sbox_err *err;
	char *buf;               /* the current physical line, NUL-terminated */
	size_t total;            /* bytes read so far, bounded by SBOX_INI_SIZE_MAX */
	unsigned line;           /* lines read so far */
	char section[256];       /* current [section]; libinih cuts its copy at 50 */
	char prev_name[256];     /* last Name=: an indented line continues its value */
	bool failed;             /* an error is recorded in err: read no further */
	unsigned fail_line;
};

static void record_failure(struct ini_ctx *c)
{
	if (c->failed)
		return;
	c->failed = true;
	c->fail_line = c->line;
}

/* The next byte of the input, or EOF.  Counts against the size bound, so a
 * pipe that never ends (yes, /dev/zero behind a FIFO) is cut off quickly. */
static int next_byte(struct ini_ctx *c)
{
	int ch;

	if (c->f)
		ch = getc_unlocked(c->f);
	else
		ch = *c->text ? (unsigned char)*c->text++ : EOF;
	if (ch != EOF && ++c->total > SBOX_INI_SIZE_MAX) {
		sbox_fail(c->err, 0, "input larger than %d bytes: not a policy", SBOX_INI_SIZE_MAX);
		record_failure(c);
		return EOF;
	}
	return ch;
}

/* One physical line into c->buf (with its newline, if any): its length, or
 * -1 at the end or on an error (recorded).  Never reads past the line limit:
 * a 200 MB line is refused after 64 KiB, not read whole first. */
static ssize_t next_line(struct ini_ctx *c)
{
	size_t n = 0;
	int ch = 0;

	while (n <= SBOX_INI_LINE_MAX && (ch = next_byte(c)) != EOF) {
		c->buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (c->failed)
		return -1;
	if (c->f && ferror(c->f)) {
		sbox_fail(c->err, errno, "reading");
		record_failure(c);
		return -1;
	}
	c->buf[n] = '\0';
	if (n > SBOX_INI_LINE_MAX) {
		sbox_fail(c->err, 0, "line longer than %d characters", SBOX_INI_LINE_MAX);
		record_failure(c);
		return -1;
	}
	if (memchr(c->buf, '\0', n)) {
		/* libinih would see the line end there: "Hostname=ok\0evil"
		 * must not quietly become "Hostname=ok". */
		sbox_fail(c->err, 0, "NUL byte in the line: a policy is text");
		record_failure(c);
		return -1;
	}
	return n > 0 ? (ssize_t)n : -1;
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

/* libinih's find_chars_or_comment: the first of chars, or an inline
 * comment (';' after whitespace), or the end. */
static char *find_or_comment(char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !(chars && strchr(chars, *s)) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static bool syntax_error(struct ini_ctx *c, const char *what)
{
	sbox_fail(c->err, 0, "syntax error: %s", what);
	record_failure(c);
	return false;
}

static bool is_continuation(const struct ini_ctx *c, const char *line, const char *start)
{
	return c->prev_name[0] && *start && start > line;
}

/* Classify a line as libinih will, before it does: stop at the first
 * syntax error (libinih itself reads on to the end), and keep our copy of
 * the section and of the last name in step with libinih's. */
static bool check_line(struct ini_ctx *c, char *line)
{
	char *start = line, *end;
	size_t len;

	if (c->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#' || is_continuation(c, line, start))
		return true;
	if (*start == '[') {
		end = find_or_comment(start + 1, "]");
		if (*end != ']')
			return syntax_error(c, "expected ']' after the section name");
		len = (size_t)(end - start - 1);
		if (len >= sizeof(c->section))
			return syntax_error(c, "section name too long");
		snprintf(c->section, sizeof(c->section), "%.*s", (int)len, start + 1);
		c->prev_name[0] = '\0';
		return true;
	}
	end = find_or_comment(start, "=:");
	if (*end != '=' && *end != ':')
		return syntax_error(c, "expected [Section] or Name=value");
	len = (size_t)(end - start);
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	snprintf(c->prev_name, sizeof(c->prev_name), "%.*s", (int)len, start);
	return true;
}

/* A line too long for libinih's buffer, parsed here by libinih's rules
 * (already classified by check_line) and handed to the same handler, so
 * nothing is cut and nothing behaves differently. */
static void long_line(struct ini_ctx *c)
{
	char *start = c->buf, *s, *sep;

	while (isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#' || *start == '[')
		return;
	if (is_continuation(c, c->buf, start)) {
		*find_or_comment(start, NULL) = '\0';
		if (c->h(c->user, c->section, c->prev_name, trim(start), c->line, c->err) < 0)
			record_failure(c);
		return;
	}
	s = start;
	sep = find_or_comment(s, "=:");
	*sep = '\0';
	*find_or_comment(sep + 1, NULL) = '\0';
	if (c->h(c->user, c->section, trim(s), trim(sep + 1), c->line, c->err) < 0)
		record_failure(c);
}

static char *reader(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	ssize_t n;

	if (c->failed)
		return NULL;     /* the first error ends the reading */
	c->line++;
	n = next_line(c);
	if (n < 0 || !check_line(c, c->buf))
		return NULL;
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

	(void)section;   /* cut at 50 characters by libinih: ours is whole */
	if (c->failed)
		return 1;
	if (c->h(c->user, c->section, key, value, c->line, c->err) < 0) {
		record_failure(c);
		return 0;
	}
	return 1;
}

/* Messages quote the input: show its control bytes as \xNN, so a policy
 * can't drive the terminal of whoever reads the error. */
static void escape_controls(struct sbox_err *err)
{
	char out[sizeof(err->msg)];
	size_t o = 0;

	for (const char *s = err->msg; *s && o + 5 < sizeof(out); s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	memcpy(err->msg, out, o + 1);
}

static int parse(struct ini_ctx *c)
{
	int line = ini_parse_stream(reader, c, handler, c);

	if (line < 0)
		return sbox_fail(c->err, ENOMEM, "%s: parsing", c->name);
	if (c->failed && (line == 0 || c->fail_line <= (unsigned)line)) {
		sbox_err_prefix(c->err, "%s:%u", c->name, c->fail_line);
		return -1;
	}
	if (line > 0)
		return sbox_fail(c->err, 0, "%s:%d: syntax error: expected [Section] or Name=value",
				 c->name, line);
	return 0;
}

int sbox_ini_parse(FILE *f, const char *text, const char *name, sbox_ini_handler h,
		   void *user, struct sbox_err *err)
{
	struct ini_ctx c = { .f = f, .text = f ? NULL : text, .name = name, .h = h,
			     .user = user, .err = err };
	int r;

	if (!c.f && !c.text)
		c.text = "";
	c.buf = malloc(SBOX_INI_LINE_MAX + 2);
	if (!c.buf)
		return sbox_fail(err, ENOMEM, "%s: parsing", name);
	r = parse(&c);
	free(c.buf);
	if (r < 0)
		escape_controls(err);
	return r;
}

int sbox_ini_check_fd(int fd, const char *path, const char *what, bool allow_pipe,
		      struct sbox_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return sbox_fail(err, errno, "%s: cannot read the %s", path, what);
	if (S_ISREG(st.st_mode)) {
		if (st.st_size > SBOX_INI_SIZE_MAX)
			return sbox_fail(err, 0, "%s: the %s is larger than %d bytes", path, what,
					 SBOX_INI_SIZE_MAX);
		return 0;
	}
	if (S_ISFIFO(st.st_mode) && allow_pipe)
		return 0;
	if (S_ISDIR(st.st_mode))
		return sbox_fail(err, EISDIR, "%s: cannot read the %s", path, what);
	return sbox_fail(err, 0, "%s: the %s is not a regular file%s", path, what,
			 allow_pipe ? " or a pipe" : "");
}
