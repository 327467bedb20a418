/* SPDX-License-Identifier: MIT */
#include "policy/ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* What path turned out to be, judged on an O_PATH descriptor, which opens
 * nothing: a device's open() may have side effects (/dev/watchdog arms a
 * timer, a tty becomes the controlling terminal), so it is refused before
 * anything opens it for reading. */
static int check_type(const struct stat *st, const char *path, const char *what,
		      bool allow_pipe, struct sbox_err *err)
{
	if (S_ISREG(st->st_mode)) {
		if (st->st_size > SBOX_INI_SIZE_MAX)
			return sbox_fail(err, 0, "%s: the %s is larger than %d bytes", path, what,
					 SBOX_INI_SIZE_MAX);
		return 0;
	}
	if (S_ISFIFO(st->st_mode) && allow_pipe)
		return 0;
	if (S_ISDIR(st->st_mode) && allow_pipe)
		return sbox_fail(err, EISDIR, "%s: cannot read the %s", path, what);
	return sbox_fail(err, 0, "%s: the %s is not a regular file%s", path, what,
			 allow_pipe ? " or a pipe" : "");
}

/* Open the very inode the O_PATH descriptor holds, for reading: through
 * /proc/self/fd, so a path swapped between the check and this open can't
 * put a device there.  Non-blocking: a FIFO without a writer opens at once
 * (read_bounded() then waits for its text, within its timeout). */
static int reopen_for_reading(int path_fd, const struct stat *st, const char *path,
			      const char *what, struct sbox_err *err)
{
	char proc[64];
	struct stat now;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return sbox_fail(err, errno, "%s: cannot open the %s (through %s)", path, what, proc);
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return sbox_fail(err, 0, "%s: the %s changed while it was opened: refused", path, what);
	}
	return fd;
}

int sbox_ini_open(const char *path, const char *what, bool allow_pipe, struct stat *st,
		  struct sbox_err *err)
{
	int path_fd = open(path, O_PATH | O_CLOEXEC);
	int fd;

	if (path_fd < 0)
		return -errno;   /* the caller words it: a missing file may be fine */
	if (fstat(path_fd, st) < 0) {
		sbox_fail(err, errno, "%s: cannot read the %s", path, what);
		close(path_fd);
		return -1;
	}
	if (check_type(st, path, what, allow_pipe, err) < 0) {
		close(path_fd);
		return -1;
	}
	fd = reopen_for_reading(path_fd, st, path, what, err);
	close(path_fd);
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to have something (text or its end) before the deadline. */
static int wait_readable(int fd, long long deadline, const char *path, const char *what,
			 int timeout_ms, struct sbox_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return sbox_fail(err, 0, "%s: no end of the %s within %d s: a pipe that nobody writes to, or that is never closed",
					 path, what, timeout_ms / 1000);
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return sbox_fail(err, errno, "%s: waiting for the %s", path, what);
	}
}

/* All of fd, at most SBOX_INI_SIZE_MAX + 1 bytes (so the parser still says
 * "larger than"), within timeout_ms from the start: a FIFO nobody writes,
 * or whose writer never finishes, ends in an error, not a hang. */
static char *read_bounded(int fd, const char *path, const char *what, int timeout_ms,
			  size_t *len, struct sbox_err *err)
{
	long long deadline = now_ms() + timeout_ms;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf) {
		sbox_fail(err, ENOMEM, "%s: reading the %s", path, what);
		return NULL;
	}
	while (n <= SBOX_INI_SIZE_MAX) {
		ssize_t r;

		if (n == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				sbox_fail(err, ENOMEM, "%s: reading the %s", path, what);
				goto fail;
			}
			buf = bigger;
			cap *= 2;
		}
		if (wait_readable(fd, deadline, path, what, timeout_ms, err) < 0)
			goto fail;
		r = read(fd, buf + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			sbox_fail(err, errno, "%s: cannot read the %s", path, what);
			goto fail;
		}
		n += (size_t)r;
	}
	*len = n;
	return buf;
fail:
	free(buf);
	return NULL;
}

/* The text read, served as a stdio stream (NUL bytes included: the parser
 * refuses them) and freed with it. */
struct text_stream {
	char *buf;
	size_t len, pos;
};

static ssize_t text_read(void *cookie, char *out, size_t size)
{
	struct text_stream *t = cookie;
	size_t n = t->len - t->pos < size ? t->len - t->pos : size;

	memcpy(out, t->buf + t->pos, n);
	t->pos += n;
	return (ssize_t)n;
}

static int text_close(void *cookie)
{
	struct text_stream *t = cookie;

	free(t->buf);
	free(t);
	return 0;
}

FILE *sbox_ini_read_fd(int fd, const char *path, const char *what, int timeout_ms,
		       struct sbox_err *err)
{
	static const cookie_io_functions_t io = { .read = text_read, .close = text_close };
	struct text_stream *t = calloc(1, sizeof(*t));
	FILE *f;

	if (!t) {
		sbox_fail(err, ENOMEM, "%s: reading the %s", path, what);
		return NULL;
	}
	t->buf = read_bounded(fd, path, what, timeout_ms, &t->len, err);
	if (!t->buf) {
		free(t);
		return NULL;
	}
	f = fopencookie(t, "r", io);
	if (!f) {
		sbox_fail(err, errno, "%s: reading the %s", path, what);
		text_close(t);
	}
	return f;
}
