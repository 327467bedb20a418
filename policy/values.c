/* SPDX-License-Identifier: MIT */
#include "policy/values.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Everything here is fed untrusted text (policy files, the command line, a
 * fuzzer), so the character classes are spelled out in ASCII instead of
 * <ctype.h>: no locale, and no UB on negative chars.  Parsers work on a
 * [p, end) range once the surrounding whitespace is trimmed, never past end.
 */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void trim(const char *s, const char **b, const char **e)
{
	const char *end = s + strlen(s);

	while (s < end && is_ws(*s))
		s++;
	while (end > s && is_ws(end[-1]))
		end--;
	*b = s;
	*e = end;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static bool range_eq(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) == n && memcmp(p, word, n) == 0;
}

/* One or more decimal digits; advances *p past them. */
static int parse_digits(const char **p, const char *end, uint64_t *out)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q >= end || !is_digit(*q))
		return -EINVAL;
	for (; q < end && is_digit(*q); q++) {
		unsigned d = (unsigned)(*q - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = q;
	*out = v;
	return 0;
}

/*
 * "12" or "12.345": the integer part in *ip, the fraction's digits as the
 * range [*fb, *fe) (empty without a dot).  A dot needs digits on both sides,
 * so "1.", ".5" and "1.2.3" do not slip through.
 */
static int parse_decimal(const char **p, const char *end, uint64_t *ip,
			 const char **fb, const char **fe)
{
	const char *q = *p;
	int r;

	r = parse_digits(&q, end, ip);
	if (r < 0)
		return r;
	*fb = *fe = q;
	if (q < end && *q == '.') {
		q++;
		if (q >= end || !is_digit(*q))
			return -EINVAL;
		*fb = q;
		while (q < end && is_digit(*q))
			q++;
		*fe = q;
	}
	*p = q;
	return 0;
}

/*
 * floor(0.<digits> * mult), exactly and in integers: Horner's scheme from the
 * last digit, flooring at each step, which equals flooring once at the end.
 * Each step computes d * mult + v with v < mult, so mult must stay below
 * UINT64_MAX / 10 (the largest caller passes 2^60).
 */
static uint64_t scale_fraction(const char *fb, const char *fe, uint64_t mult)
{
	uint64_t v = 0;

	while (fe > fb) {
		fe--;
		v = ((uint64_t)(*fe - '0') * mult + v) / 10;
	}
	return v;
}

/* ip.frac * mult, -ERANGE if it does not fit in 64 bits. */
static int scale_decimal(uint64_t ip, const char *fb, const char *fe,
			 uint64_t mult, uint64_t *out)
{
	uint64_t v, f;

	if (ip > UINT64_MAX / mult)
		return -ERANGE;
	v = ip * mult;
	f = scale_fraction(fb, fe, mult);
	if (f > UINT64_MAX - v)
		return -ERANGE;
	*out = v + f;
	return 0;
}

/* "12.34" -> 1234: at most two fraction digits, which is all a permyriad
 * percentage can hold (systemd rejects more, too). */
static int decimal_to_hundredths(uint64_t ip, const char *fb, const char *fe,
				 uint64_t *out)
{
	uint64_t f = 0;
	int i;

	if (fe - fb > 2)
		return -EINVAL;
	for (i = 0; i < 2; i++)
		f = f * 10 + (i < fe - fb ? (uint64_t)(fb[i] - '0') : 0);
	if (ip > (UINT64_MAX - f) / 100)
		return -ERANGE;
	*out = ip * 100 + f;
	return 0;
}

/*
 * Formatting goes through a bounded buffer that is always NUL-terminated and
 * takes each piece whole or not at all: a cut "64M" would read back as "64",
 * a different value, while a missing piece at least ends at a boundary.
 */
struct sbuf {
	char *buf;
	size_t len;
	size_t pos;
	bool full;
};

static void sbuf_init(struct sbuf *b, char *buf, size_t len)
{
	b->buf = buf;
	b->len = buf ? len : 0;
	b->pos = 0;
	b->full = b->len == 0;
	if (b->len)
		buf[0] = '\0';
}

static void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->full)
		return;
	if (n >= b->len - b->pos) {
		b->full = true;
		return;
	}
	memcpy(b->buf + b->pos, s, n);
	b->pos += n;
	b->buf[b->pos] = '\0';
}

static void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Every caller prints a number and a short unit, far below 64. */
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->full = true;
		return;
	}
	sbuf_put(b, tmp, (size_t)n);
}

/* Booleans, as systemd spells them (yes/no, true/false, on/off, 1/0). */

int sbox_parse_bool(const char *s, bool *out)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
		{ "yes", true }, { "no", false },
		{ "true", true }, { "false", false },
		{ "on", true }, { "off", false },
		{ "1", true }, { "0", false },
	};
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *w = words[i].word;
		const char *p = s;

		while (*p && *w && ascii_lower(*p) == *w) {
			p++;
			w++;
		}
		if (!*p && !*w) {
			*out = words[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

/* Sizes with systemd's binary suffixes (K = 1024), checked for overflow. */

static const char size_suffixes[] = "KMGTPE";

/* 0 for K ... 5 for E, either case; -1 for anything else. */
static int size_suffix_index(char c)
{
	int i;

	for (i = 0; size_suffixes[i]; i++)
		if (ascii_lower(c) == ascii_lower(size_suffixes[i]))
			return i;
	return -1;
}

/* "50%" of total, rounded down; the percentage is at most 100 so the
 * result never exceeds total and the split below cannot overflow. */
static int size_percent(uint64_t ip, const char *fb, const char *fe,
			uint64_t total, uint64_t *out)
{
	uint64_t pm;
	int r;

	r = decimal_to_hundredths(ip, fb, fe, &pm);
	if (r < 0)
		return r;
	if (pm > 10000)
		return -ERANGE;
	if (total == 0)
		return -EINVAL;
	*out = total / 10000 * pm + total % 10000 * pm / 10000;
	return 0;
}

int sbox_parse_size(const char *s, uint64_t total, uint64_t *out)
{
	const char *p, *end, *fb, *fe;
	uint64_t ip, mult = 1;
	int r;

	if (!s)
		return -EINVAL;
	trim(s, &p, &end);
	if (range_eq(p, end, "infinity")) {
		*out = SBOX_INFINITY;
		return 0;
	}
	r = parse_decimal(&p, end, &ip, &fb, &fe);
	if (r < 0)
		return r;
	if (p < end && *p == '%') {
		if (p + 1 != end)
			return -EINVAL;
		return size_percent(ip, fb, fe, total, out);
	}
	/* systemd allows a blank between number and unit: "64 M". */
	p = skip_ws(p, end);
	if (p < end) {
		int i = size_suffix_index(*p);

		if (end - p != 1 || i < 0)
			return -EINVAL;
		mult = UINT64_C(1) << (10 * (i + 1));
	}
	return scale_decimal(ip, fb, fe, mult, out);
}

void sbox_format_size(uint64_t v, char *buf, size_t len)
{
	struct sbuf b;
	int i;

	sbuf_init(&b, buf, len);
	if (v == SBOX_INFINITY) {
		sbuf_puts(&b, "infinity");
		return;
	}
	for (i = (int)sizeof(size_suffixes) - 2; i >= 0 && v; i--) {
		unsigned shift = 10 * (unsigned)(i + 1);

		if ((v & ((UINT64_C(1) << shift) - 1)) == 0) {
			sbuf_printf(&b, "%llu%c",
				    (unsigned long long)(v >> shift),
				    size_suffixes[i]);
			return;
		}
	}
	sbuf_printf(&b, "%llu", (unsigned long long)v);
}

/* Time spans in systemd's syntax ("1min 30s"), kept in microseconds. */

#define USEC_PER_MSEC  UINT64_C(1000)
#define USEC_PER_SEC   (UINT64_C(1000) * USEC_PER_MSEC)
#define USEC_PER_MIN   (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR  (UINT64_C(60) * USEC_PER_MIN)
#define USEC_PER_DAY   (UINT64_C(24) * USEC_PER_HOUR)
#define USEC_PER_WEEK  (UINT64_C(7) * USEC_PER_DAY)

static const struct time_unit {
	const char *name;
	uint64_t usec;
} time_units[] = {
	{ "us", 1 }, { "usec", 1 }, { "\xc2\xb5s", 1 },
	{ "ms", USEC_PER_MSEC }, { "msec", USEC_PER_MSEC },
	{ "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC },
	{ "second", USEC_PER_SEC }, { "seconds", USEC_PER_SEC },
	{ "m", USEC_PER_MIN }, { "min", USEC_PER_MIN },
	{ "minute", USEC_PER_MIN }, { "minutes", USEC_PER_MIN },
	{ "h", USEC_PER_HOUR }, { "hr", USEC_PER_HOUR },
	{ "hour", USEC_PER_HOUR }, { "hours", USEC_PER_HOUR },
	{ "d", USEC_PER_DAY }, { "day", USEC_PER_DAY },
	{ "days", USEC_PER_DAY },
	{ "w", USEC_PER_WEEK }, { "week", USEC_PER_WEEK },
	{ "weeks", USEC_PER_WEEK },
};

/* Longest unit name at p, so that "msec" is not read as "m" + "sec". */
static const struct time_unit *match_time_unit(const char *p, const char *end)
{
	const struct time_unit *best = NULL;
	size_t best_len = 0, i;

	for (i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++) {
		size_t n = strlen(time_units[i].name);

		if (n > best_len && (size_t)(end - p) >= n &&
		    memcmp(p, time_units[i].name, n) == 0) {
			best = &time_units[i];
			best_len = n;
		}
	}
	return best;
}

int sbox_parse_timespan(const char *s, uint64_t *out_usec)
{
	const char *p, *end, *fb, *fe;
	uint64_t sum = 0;
	int r;

	if (!s)
		return -EINVAL;
	trim(s, &p, &end);
	if (p == end)
		return -EINVAL;
	if (range_eq(p, end, "infinity")) {
		*out_usec = SBOX_INFINITY;
		return 0;
	}
	while (p < end) {
		const struct time_unit *u;
		uint64_t ip, mult = USEC_PER_SEC, v;

		r = parse_decimal(&p, end, &ip, &fb, &fe);
		if (r < 0)
			return r;
		p = skip_ws(p, end);
		u = match_time_unit(p, end);
		if (u) {
			mult = u->usec;
			p += strlen(u->name);
		}
		r = scale_decimal(ip, fb, fe, mult, &v);
		if (r < 0)
			return r;
		if (v > UINT64_MAX - sum)
			return -ERANGE;
		sum += v;
		p = skip_ws(p, end);
	}
	/* The top value is taken by "infinity". */
	if (sum == SBOX_INFINITY)
		return -ERANGE;
	*out_usec = sum;
	return 0;
}

void sbox_format_timespan(uint64_t usec, char *buf, size_t len)
{
	static const struct time_unit parts[] = {
		{ "w", USEC_PER_WEEK }, { "d", USEC_PER_DAY },
		{ "h", USEC_PER_HOUR }, { "min", USEC_PER_MIN },
		{ "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC },
		{ "us", 1 },
	};
	struct sbuf b;
	size_t i;

	sbuf_init(&b, buf, len);
	if (usec == SBOX_INFINITY) {
		sbuf_puts(&b, "infinity");
		return;
	}
	if (usec == 0) {
		sbuf_puts(&b, "0");
		return;
	}
	/* Whole units only, so the text sums back to exactly usec. */
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint64_t n = usec / parts[i].usec;

		if (!n)
			continue;
		usec -= n * parts[i].usec;
		sbuf_printf(&b, "%s%llu%s", b.pos ? " " : "",
			    (unsigned long long)n, parts[i].name);
	}
}

/* CPU quota as a percentage with up to two decimals ("150%", "12.5%"). */

int sbox_parse_cpu_quota(const char *s, uint32_t *out_permyriad)
{
	const char *p, *end, *fb, *fe;
	uint64_t ip, v;
	int r;

	if (!s)
		return -EINVAL;
	trim(s, &p, &end);
	r = parse_decimal(&p, end, &ip, &fb, &fe);
	if (r < 0)
		return r;
	if (p + 1 != end || *p != '%')
		return -EINVAL;
	r = decimal_to_hundredths(ip, fb, fe, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	if (v == 0)
		return -EINVAL;
	*out_permyriad = (uint32_t)v;
	return 0;
}

void sbox_format_cpu_quota(uint32_t permyriad, char *buf, size_t len)
{
	unsigned ip = permyriad / 100, f = permyriad % 100;
	struct sbuf b;

	sbuf_init(&b, buf, len);
	if (f == 0)
		sbuf_printf(&b, "%u%%", ip);
	else if (f % 10 == 0)
		sbuf_printf(&b, "%u.%u%%", ip, f / 10);
	else
		sbuf_printf(&b, "%u.%02u%%", ip, f);
}

/* Integers within bounds: strtoull alone accepts "-1" and leading blanks. */

int sbox_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *p, *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	p = s;
	end = s + strlen(s);
	r = parse_digits(&p, end, &v);
	if (r < 0)
		return r;
	if (p != end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int sbox_parse_umask(const char *s, mode_t *out)
{
	const char *p;
	unsigned v = 0;
	bool big = false;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		/* Stop accumulating once too big; the rest is only checked. */
		if (!big) {
			v = v * 8 + (unsigned)(*p - '0');
			big = v > 0777;
		}
	}
	if (big)
		return -ERANGE;
	*out = (mode_t)v;
	return 0;
}

/* Id lists ("0-3,8"): CPU and memory node sets. */

/*
 * The set is nbits / 8 bytes long, as the header says, so only whole bytes
 * are usable: ids in a trailing partial byte are out of range rather than
 * written past the caller's buffer.
 */
static size_t usable_bits(size_t nbits)
{
	return nbits / 8 * 8;
}

static void set_bit(uint8_t *bits, size_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool test_bit(const uint8_t *bits, size_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

/*
 * One pass over the list; with bits == NULL it only validates, so that the
 * caller's set stays untouched unless the whole list is good.
 */
static int walk_id_list(const char *s, uint8_t *bits, size_t nbits)
{
	const char *p, *end;
	bool first = true;
	int r;

	trim(s, &p, &end);
	if (p == end)
		return -EINVAL;
	while (p < end) {
		uint64_t lo, hi, i;

		if (!first) {
			/* Blanks, or one comma with optional blanks around. */
			const char *q = skip_ws(p, end);

			if (q < end && *q == ',')
				q = skip_ws(q + 1, end);
			else if (q == p)
				return -EINVAL;
			p = q;
		}
		first = false;
		r = parse_digits(&p, end, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			r = parse_digits(&p, end, &hi);
			if (r < 0)
				return r;
		}
		if (lo > hi)
			return -EINVAL;
		if (hi >= nbits)
			return -ERANGE;
		if (bits)
			for (i = lo; i <= hi; i++)
				set_bit(bits, (size_t)i);
	}
	return 0;
}

int sbox_parse_id_list(const char *s, uint8_t *bits, size_t nbits)
{
	int r;

	if (!s)
		return -EINVAL;
	nbits = usable_bits(nbits);
	r = walk_id_list(s, NULL, nbits);
	if (r < 0)
		return r;
	if (nbits)
		memset(bits, 0, nbits / 8);
	return walk_id_list(s, bits, nbits);
}

void sbox_format_id_list(const uint8_t *bits, size_t nbits, char *buf,
			 size_t len)
{
	struct sbuf b;
	size_t i = 0, lo;

	sbuf_init(&b, buf, len);
	nbits = usable_bits(nbits);
	while (i < nbits) {
		if (!test_bit(bits, i)) {
			i++;
			continue;
		}
		lo = i;
		while (i + 1 < nbits && test_bit(bits, i + 1))
			i++;
		if (lo == i)
			sbuf_printf(&b, "%s%zu", b.pos ? "," : "", lo);
		else
			sbuf_printf(&b, "%s%zu-%zu", b.pos ? "," : "", lo, i);
		i++;
	}
}

/* Words with systemd's quoting and escapes, so a path may hold a blank. */

static char unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	default:
		return c;
	}
}

/*
 * Decode the word starting at *p (not at a blank) into w, which has room for
 * the rest of the input: decoding never makes text longer.
 */
static int next_word(const char **p, char *w, size_t *wlen)
{
	enum { Q_NONE, Q_SINGLE, Q_DOUBLE } q = Q_NONE;
	const char *s = *p;
	size_t n = 0;

	for (; *s; s++) {
		char c = *s;

		if (q == Q_SINGLE) {
			if (c == '\'')
				q = Q_NONE;
			else
				w[n++] = c;
			continue;
		}
		if (c == '\\') {
			if (!s[1])
				return -EINVAL;
			w[n++] = unescape(*++s);
			continue;
		}
		if (q == Q_DOUBLE) {
			if (c == '"')
				q = Q_NONE;
			else
				w[n++] = c;
			continue;
		}
		if (c == '\'')
			q = Q_SINGLE;
		else if (c == '"')
			q = Q_DOUBLE;
		else if (is_ws(c))
			break;
		else
			w[n++] = c;
	}
	if (q != Q_NONE)
		return -EINVAL;
	*p = s;
	*wlen = n;
	return 0;
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *w,
		     size_t wlen)
{
	char *copy;

	/* Keep room for the terminating NULL. */
	if (*n + 1 >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		char **nv;

		if (ncap > SIZE_MAX / sizeof(char *))
			return -ENOMEM;
		nv = realloc(*v, ncap * sizeof(char *));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	copy = malloc(wlen + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, w, wlen);
	copy[wlen] = '\0';
	(*v)[(*n)++] = copy;
	(*v)[*n] = NULL;
	return 0;
}

int sbox_split_words(const char *s, char ***out, size_t *n)
{
	char **v = NULL, *w;
	size_t cnt = 0, cap = 0, wlen;
	int r = 0;

	if (!s)
		return -EINVAL;
	w = malloc(strlen(s) + 1);
	if (!w)
		return -ENOMEM;
	for (;;) {
		while (is_ws(*s))
			s++;
		if (!*s)
			break;
		r = next_word(&s, w, &wlen);
		if (r < 0)
			goto fail;
		r = strv_push(&v, &cnt, &cap, w, wlen);
		if (r < 0)
			goto fail;
	}
	if (!v) {
		v = calloc(1, sizeof(char *));
		if (!v) {
			r = -ENOMEM;
			goto fail;
		}
	}
	free(w);
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(w);
	sbox_strv_free(v);
	return r;
}

void sbox_strv_free(char **v)
{
	char **p;

	if (!v)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

/* Quoted: a blank (libinih's, which counts \v and \f too: it would strip
 * one at the end of a value), a quote, a backslash, or ';' (which after a
 * blank starts libinih's inline comment). */
static bool needs_quoting(const char *w)
{
	if (!*w)
		return true;
	for (; *w; w++)
		if (isspace((unsigned char)*w) || *w == '"' || *w == '\'' || *w == '\\' || *w == ';')
			return true;
	return false;
}

char *sbox_quote_word_dup(const char *w)
{
	/* Each byte is at most two quoted, plus the quotes and the NUL. */
	size_t len = 2 * strlen(w ? w : "") + 3;
	char *buf = malloc(len);

	return buf ? sbox_quote_word(w, buf, len) : NULL;
}

char *sbox_quote_word(const char *w, char *buf, size_t len)
{
	struct sbuf b;

	sbuf_init(&b, buf, len);
	if (!w)
		w = "";
	if (!needs_quoting(w) && strlen(w) < len) {
		sbuf_puts(&b, w);
		return buf;
	}
	/* A cut-off quoted word then lacks its closing quote and fails to
	 * split, instead of reading back as a shorter word, or as an empty
	 * one, which resets a list: so is a word that needed no quotes but
	 * did not fit. */
	sbuf_put(&b, "\"", 1);
	for (; *w; w++) {
		switch (*w) {
		case '"':
			sbuf_put(&b, "\\\"", 2);
			break;
		case '\\':
			sbuf_put(&b, "\\\\", 2);
			break;
		case '\n':
			sbuf_put(&b, "\\n", 2);
			break;
		case '\t':
			sbuf_put(&b, "\\t", 2);
			break;
		case ';':
			/* Never " ;" in the printed line: libinih would cut the
			 * value there (an inline comment), inside quotes or not. */
			sbuf_put(&b, "\\;", 2);
			break;
		default:
			sbuf_put(&b, w, 1);
			break;
		}
	}
	sbuf_put(&b, "\"", 1);
	return buf;
}

/* Suggestions for a misspelt name ("did you mean"). */

size_t sbox_edit_distance(const char *a, const char *b)
{
	size_t stack_row[64], *row = stack_row;
	size_t na, nb, i, j, r;

	if (!a)
		a = "";
	if (!b)
		b = "";
	na = strlen(a);
	nb = strlen(b);
	/* One row of the classic table, as long as the shorter string. */
	if (na < nb) {
		const char *ts = a;
		size_t tn = na;

		a = b;
		b = ts;
		na = nb;
		nb = tn;
	}
	if (nb + 1 > sizeof(stack_row) / sizeof(stack_row[0])) {
		if (nb + 1 > SIZE_MAX / sizeof(size_t))
			return na;
		row = malloc((nb + 1) * sizeof(size_t));
		/* Without memory, the longer length still bounds the distance. */
		if (!row)
			return na;
	}
	for (j = 0; j <= nb; j++)
		row[j] = j;
	for (i = 1; i <= na; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= nb; j++) {
			size_t up = row[j], best;

			best = diag + (ascii_lower(a[i - 1]) != ascii_lower(b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	r = row[nb];
	if (row != stack_row)
		free(row);
	return r;
}

bool sbox_path_is_normal_absolute(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *c = path; *c; c++)
		if (c[0] == '/' && c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
			return false;
	return true;
}
