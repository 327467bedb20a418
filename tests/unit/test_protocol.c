/* SPDX-License-Identifier: MIT */
/*
 * The wire format (wire/protocol.c): round trips of every message, and
 * every kind of broken packet the decoder must refuse with a sentence —
 * short, truncated, oversized, wrong version, unknown type, bad attributes,
 * fd abuse.  tests/fuzz/fuzz_protocol.c throws random bytes at the same
 * decoder; this file pins down the exact answers.
 */
#include "wire/protocol.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sbox_err err;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Decoding must fail, and the reason must contain `why`. */
static void refused(const void *buf, size_t len, size_t nfds, const char *why)
{
	struct sbox_msg m;

	memset(&err, 0, sizeof(err));
	assert_int_equal(sbox_msg_decode(buf, len, nfds, &m, &err), -1);
	if (!strstr(err.msg, why))
		fprintf(stderr, "expected '%s' in: %s\n", why, err.msg);
	assert_non_null(strstr(err.msg, why));
	sbox_msg_free(&m);
}

static void finish(struct sbox_mb *b)
{
	assert_int_equal(sbox_mb_finish(b, &err), 0);
}

static void full_launch(struct sbox_mb *b)
{
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 7);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "/bin/echo");
	sbox_mb_str(b, SBOX_ATTR_ARGV, "hello world");
	sbox_mb_str(b, SBOX_ATTR_ENV, "TERM=xterm");
	sbox_mb_str(b, SBOX_ATTR_ENV, "A=");
	sbox_mb_str(b, SBOX_ATTR_CWD, "/srv");
	sbox_mb_str(b, SBOX_ATTR_POLICY, "[Sandbox]\nMemoryMax=1G\n");
	sbox_mb_str(b, SBOX_ATTR_NAME, "trial-3");
	sbox_mb_u32(b, SBOX_ATTR_STDIN, (uint32_t)sbox_mb_fd(b, 10));
	sbox_mb_u32(b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(b, 11));
	sbox_mb_pair(b, SBOX_ATTR_PASS_FD, 5, (uint32_t)sbox_mb_fd(b, 12));
	sbox_mb_pair(b, SBOX_ATTR_BIND_FD, 0, (uint32_t)sbox_mb_fd(b, 13));
	sbox_mb_u32(b, SBOX_ATTR_FLAGS, SBOX_LAUNCH_DETACH | SBOX_LAUNCH_WAIT_GPU);
	sbox_mb_u32(b, SBOX_ATTR_GPU_COUNT, 2);
	finish(b);
}

static void test_launch_round_trip(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;

	(void)state;
	full_launch(&b);
	assert_int_equal(b.nfds, 4);
	assert_int_equal(b.fds[2], 12);
	assert_int_equal(sbox_msg_decode(b.buf, b.len, b.nfds, &m, &err), 0);
	assert_int_equal(m.hdr.type, SBOX_MSG_LAUNCH);
	assert_int_equal(m.hdr.seq, 7);
	assert_int_equal(m.hdr.version, SBOX_PROTO_VERSION);
	assert_int_equal(m.argc, 2);
	assert_string_equal(m.argv[1], "hello world");
	assert_null(m.argv[2]);
	assert_int_equal(m.n_env, 2);
	assert_string_equal(m.env[1], "A=");
	assert_string_equal(m.cwd, "/srv");
	assert_string_equal(m.policy, "[Sandbox]\nMemoryMax=1G\n");
	assert_string_equal(m.name, "trial-3");
	assert_int_equal(m.stdio[0], 0);
	assert_int_equal(m.stdio[1], 1);
	assert_int_equal(m.stdio[2], -1);
	assert_int_equal(m.n_pass, 1);
	assert_int_equal(m.pass[0].key, 5);
	assert_int_equal(m.pass[0].index, 2);
	assert_int_equal(m.n_binds, 1);
	assert_int_equal(m.binds[0].index, 3);
	assert_int_equal(m.flags, SBOX_LAUNCH_DETACH | SBOX_LAUNCH_WAIT_GPU);
	assert_int_equal(m.gpu_count, 2);
	sbox_msg_free(&m);
	sbox_mb_free(&b);
}

static void test_replies_round_trip(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	struct sbox_msg_stats st = { .valid = true, .have = SBOX_STATS_CPU | SBOX_STATS_OOM,
				     .cgroup_version = 1, .wall_usec = 1500000,
				     .cpu_user_usec = 7, .oom_kills = 1 };

	(void)state;
	sbox_mb_begin(&b, SBOX_MSG_EXIT, 9);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, 1ULL << 40);
	sbox_mb_u32(&b, SBOX_ATTR_OUTCOME, SBOX_OUTCOME_EXITED);
	sbox_mb_i32(&b, SBOX_ATTR_STATUS, 9);
	sbox_mb_u32(&b, SBOX_ATTR_OOM, 1);
	sbox_mb_stats(&b, &st);
	finish(&b);
	assert_int_equal(sbox_msg_decode(b.buf, b.len, 0, &m, &err), 0);
	assert_true(m.job_id == 1ULL << 40);
	assert_int_equal(m.status, 9);
	assert_true(m.oom);
	assert_true(m.stats.valid);
	assert_int_equal(m.stats.have, SBOX_STATS_CPU | SBOX_STATS_OOM);
	assert_int_equal(m.stats.wall_usec, 1500000);
	assert_int_equal(m.stats.oom_kills, 1);
	sbox_msg_free(&m);

	/* A list of jobs, nested records. */
	sbox_mb_begin(&b, SBOX_MSG_JOBS, 3);
	for (int i = 0; i < 3; i++) {
		sbox_mb_nest_begin(&b, SBOX_ATTR_JOB);
		sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, (uint64_t)i + 1);
		sbox_mb_u32(&b, SBOX_ATTR_UID, 1000);
		sbox_mb_str(&b, SBOX_ATTR_NAME, "python");
		sbox_mb_u32(&b, SBOX_ATTR_GPU, (uint32_t)i);
		sbox_mb_u32(&b, SBOX_ATTR_GPU, 7);
		sbox_mb_nest_end(&b);
	}
	finish(&b);
	assert_int_equal(sbox_msg_decode(b.buf, b.len, 0, &m, &err), 0);
	assert_int_equal(m.n_jobs, 3);
	assert_int_equal(m.jobs[2].id, 3);
	assert_int_equal(m.jobs[2].n_gpus, 2);
	assert_int_equal(m.jobs[2].gpus[0], 2);
	assert_string_equal(m.jobs[1].name, "python");
	sbox_msg_free(&m);

	sbox_mb_error(&b, 4, SBOX_E_BOUND, 0, "MemoryMax=8G is past the site bound MemoryMax=4G");
	finish(&b);
	assert_int_equal(sbox_msg_decode(b.buf, b.len, 0, &m, &err), 0);
	assert_int_equal(m.errcode, SBOX_E_BOUND);
	assert_string_equal(m.message, "MemoryMax=8G is past the site bound MemoryMax=4G");
	sbox_msg_free(&m);
	sbox_mb_free(&b);
}

static void test_header(void **state)
{
	struct sbox_mb b = { 0 };
	uint8_t buf[64];

	(void)state;
	refused("SBOX", 4, 0, "shorter than its 16-byte header");
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	finish(&b);
	memcpy(buf, b.buf, b.len);
	buf[0] = 'X';
	refused(buf, b.len, 0, "not an sbox message");
	memcpy(buf, b.buf, b.len);
	buf[4] = 2;                                 /* version 2 */
	refused(buf, b.len, 0, "protocol version 2 is not supported");
	memcpy(buf, b.buf, b.len);
	buf[6] = 0x42;                              /* type 0x42 */
	refused(buf, b.len, 0, "unknown message type 66");
	memcpy(buf, b.buf, b.len);
	put32(buf + 12, 17);                        /* claims 17 bytes */
	refused(buf, b.len, 0, "says 17 bytes but 16 arrived");
	/* A packet larger than the cap is refused before anything else. */
	refused(b.buf, SBOX_PROTO_MAX_MSG + 1, 0, "over the 131072-byte limit");
	sbox_mb_free(&b);
}

static void test_truncated_everywhere(void **state)
{
	struct sbox_mb b = { 0 };

	(void)state;
	full_launch(&b);
	/* Every prefix of a good message, with its length field patched to
	 * match, is refused with a reason (ASan checks that no read goes past
	 * it) — but for the two that end where the last two attributes (no
	 * fds) begin: those are whole messages. */
	size_t ok = 0;

	for (size_t len = SBOX_PROTO_HDR_LEN + 1; len < b.len; len++) {
		uint8_t *copy = malloc(len);
		struct sbox_msg m;

		memcpy(copy, b.buf, len);
		put32(copy + 12, (uint32_t)len);
		memset(&err, 0, sizeof(err));
		if (sbox_msg_decode(copy, len, b.nfds, &m, &err) == 0) {
			assert_int_equal(m.argc, 2);
			assert_true(len == b.len - 12 || len == b.len - 24);
			ok++;
			sbox_msg_free(&m);
		} else {
			assert_true(err.msg[0] != '\0');
		}
		free(copy);
	}
	assert_int_equal(ok, 2);
	sbox_mb_free(&b);
}

/* A LAUNCH with one hand-made attribute after ARGV. */
static size_t raw_launch(uint8_t *buf, uint16_t tag, uint16_t flags, const void *v, uint32_t len)
{
	size_t n = SBOX_PROTO_HDR_LEN;
	const char argv0[] = "/bin/true";

	memset(buf, 0, SBOX_PROTO_HDR_LEN);
	put32(buf, SBOX_PROTO_MAGIC);
	buf[4] = SBOX_PROTO_VERSION;
	buf[6] = SBOX_MSG_LAUNCH;
	buf[n] = SBOX_ATTR_ARGV;
	buf[n + 1] = 0;
	buf[n + 2] = buf[n + 3] = 0;
	put32(buf + n + 4, sizeof(argv0) - 1);
	memcpy(buf + n + 8, argv0, sizeof(argv0) - 1);
	n += 8 + sizeof(argv0) - 1;
	buf[n] = (uint8_t)tag;
	buf[n + 1] = (uint8_t)(tag >> 8);
	buf[n + 2] = (uint8_t)flags;
	buf[n + 3] = (uint8_t)(flags >> 8);
	put32(buf + n + 4, len);
	if (v)
		memcpy(buf + n + 8, v, len);
	n += 8 + (v ? len : 0);
	put32(buf + 12, (uint32_t)n);
	return n;
}

static void test_bad_attributes(void **state)
{
	uint8_t buf[256];
	uint8_t four[4] = { 1, 0, 0, 0 };
	size_t n;

	(void)state;
	n = raw_launch(buf, SBOX_ATTR_CWD, 0, "/a\0b", 4);
	refused(buf, n, 0, "CWD holds a NUL byte");
	n = raw_launch(buf, SBOX_ATTR_FLAGS, 0, "ab", 2);
	refused(buf, n, 0, "FLAGS is 2 bytes, expected 4");
	n = raw_launch(buf, SBOX_ATTR_CWD, 1, "/", 1);
	refused(buf, n, 0, "reserved flags");
	n = raw_launch(buf, SBOX_ATTR_CWD, 0, NULL, 1000);       /* claims 1000 */
	refused(buf, n, 0, "claims 1000 bytes");
	n = raw_launch(buf, SBOX_ATTR_PROTO_VERSION, 0, four, 4); /* a PONG attribute */
	refused(buf, n, 0, "PROTO_VERSION is not allowed here");
	n = raw_launch(buf, SBOX_ATTR_ENV, 0, "NOEQUALS", 8);
	refused(buf, n, 0, "is not NAME=value");
	n = raw_launch(buf, SBOX_ATTR_ENV, 0, "=x", 2);
	refused(buf, n, 0, "is not NAME=value");
	four[0] = 0xff;
	four[1] = 0xff;
	n = raw_launch(buf, SBOX_ATTR_FLAGS, 0, four, 4);
	refused(buf, n, 0, "unknown FLAGS");
	/* Unknown tags are skipped: a later revision may add some. */
	n = raw_launch(buf, 999, 0, "whatever", 8);
	{
		struct sbox_msg m;

		assert_int_equal(sbox_msg_decode(buf, n, 0, &m, &err), 0);
		assert_int_equal(m.argc, 1);
		sbox_msg_free(&m);
	}
	/* Stray bytes after the last attribute. */
	n = raw_launch(buf, SBOX_ATTR_CWD, 0, "/", 1);
	buf[n] = 0;
	put32(buf + 12, (uint32_t)n + 3);
	refused(buf, n + 3, 0, "3 stray bytes");
}

static void test_required_and_duplicates(void **state)
{
	struct sbox_mb b = { 0 };

	(void)state;
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_CWD, "/");
	finish(&b);
	refused(b.buf, b.len, 0, "required attribute ARGV is missing");
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "");
	finish(&b);
	refused(b.buf, b.len, 0, "ARGV[0] is empty");
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_str(&b, SBOX_ATTR_CWD, "/");
	sbox_mb_str(&b, SBOX_ATTR_CWD, "/tmp");
	finish(&b);
	refused(b.buf, b.len, 0, "CWD given twice");
	sbox_mb_begin(&b, SBOX_MSG_SIGNAL, 1);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, 1);
	sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, 65);
	finish(&b);
	refused(b.buf, b.len, 0, "SIGNAL 65 is not a signal number");
	sbox_mb_begin(&b, SBOX_MSG_WAIT, 1);
	finish(&b);
	refused(b.buf, b.len, 0, "required attribute JOB_ID is missing");
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_u32(&b, SBOX_ATTR_GPU_COUNT, 65);
	finish(&b);
	refused(b.buf, b.len, 0, "GPU_COUNT 65 is more than 64");
	sbox_mb_free(&b);
}

static void test_fd_abuse(void **state)
{
	struct sbox_mb b = { 0 };

	(void)state;
	/* An index past the fds that arrived. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_u32(&b, SBOX_ATTR_STDOUT, 3);
	finish(&b);
	refused(b.buf, b.len, 2, "STDOUT names fd #3, but 2 arrived");
	/* One fd for two uses. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_u32(&b, SBOX_ATTR_STDOUT, 0);
	sbox_mb_u32(&b, SBOX_ATTR_STDERR, 0);
	finish(&b);
	refused(b.buf, b.len, 1, "fd #0 is used twice");
	/* An fd nobody names. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	finish(&b);
	refused(b.buf, b.len, 1, "fd #0 arrived but no attribute uses it");
	/* fds on a message that takes none. */
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	finish(&b);
	refused(b.buf, b.len, 1, "PING: carries 1 fds but takes none");
	/* More fds than the cap. */
	refused(b.buf, b.len, SBOX_PROTO_MAX_FDS + 1, "fds in one message");
	/* Pass targets: not stdio, not past the cap, not twice. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 2, 0);
	finish(&b);
	refused(b.buf, b.len, 1, "PASS_FD target 2 is outside 3..1023");
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 9, 0);
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 9, 1);
	finish(&b);
	refused(b.buf, b.len, 2, "PASS_FD 9 given twice");
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_pair(&b, SBOX_ATTR_BIND_FD, 64, 0);
	finish(&b);
	refused(b.buf, b.len, 1, "BIND_FD ordinal 64 is past 63");
	sbox_mb_free(&b);
}

/* A keeper's record of a queued launch whose fds wait parked: the one fd
 * that comes is the park, PARKED_FDS says how many wait in it, and the
 * launch's fd attributes (after it) index those. */
static void parked_record(struct sbox_mb *b, uint32_t parked, bool stdout_first)
{
	sbox_mb_begin(b, SBOX_MSG_KEEP_QUEUE, 0);
	sbox_mb_nest_begin(b, SBOX_ATTR_JOB);
	sbox_mb_u64(b, SBOX_ATTR_JOB_ID, 7);
	sbox_mb_nest_end(b);
	if (stdout_first)
		sbox_mb_u32(b, SBOX_ATTR_STDOUT, 0);
	sbox_mb_u32(b, SBOX_ATTR_PARKED_FDS, parked);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "x");
	if (!stdout_first) {
		sbox_mb_u32(b, SBOX_ATTR_STDOUT, 2);
		sbox_mb_pair(b, SBOX_ATTR_PASS_FD, 5, 0);
	}
	finish(b);
}

static void test_parked_fds(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;

	(void)state;
	parked_record(&b, 3, false);
	assert_int_equal(sbox_msg_decode(b.buf, b.len, 1, &m, &err), 0);
	assert_true(m.parked);
	assert_int_equal(m.parked_fds, 3);
	assert_int_equal(m.stdio[1], 2);
	sbox_msg_free(&m);
	/* Only with the one park. */
	refused(b.buf, b.len, 2, "PARKED_FDS 3 with 2 fds");
	refused(b.buf, b.len, 0, "PARKED_FDS 3 with 0 fds");
	/* Its indices count the park's fds, not the message's. */
	parked_record(&b, 2, false);
	refused(b.buf, b.len, 1, "STDOUT names fd #2, but 2 arrived");
	/* After an fd attribute, it would move what that one counted. */
	parked_record(&b, 3, true);
	refused(b.buf, b.len, 1, "PARKED_FDS after an fd attribute");
	/* Over the cap. */
	parked_record(&b, SBOX_PROTO_MAX_FDS + 1, false);
	refused(b.buf, b.len, 1, "PARKED_FDS");
	/* Nowhere else. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	sbox_mb_u32(&b, SBOX_ATTR_PARKED_FDS, 1);
	finish(&b);
	refused(b.buf, b.len, 0, "attribute PARKED_FDS is not allowed here");
	sbox_mb_free(&b);
}

static void test_builder_limits(void **state)
{
	struct sbox_mb b = { 0 };
	char *big = malloc(SBOX_PROTO_MAX_MSG);
	size_t mark;

	(void)state;
	memset(big, 'a', SBOX_PROTO_MAX_MSG - 1);
	big[SBOX_PROTO_MAX_MSG - 1] = '\0';
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "x");
	mark = sbox_mb_mark(&b);
	sbox_mb_str(&b, SBOX_ATTR_POLICY, big);
	assert_true(b.overflow);
	assert_int_equal(sbox_mb_finish(&b, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 131072 bytes"));
	/* A list that overflowed is cut at the last whole record. */
	sbox_mb_rewind(&b, mark);
	assert_false(b.overflow);
	finish(&b);
	for (int i = 0; i < SBOX_PROTO_MAX_FDS; i++)
		assert_int_equal(sbox_mb_fd(&b, i), i);
	assert_int_equal(sbox_mb_fd(&b, 99), -1);
	free(big);
	sbox_mb_free(&b);
}

/* Bit flips of a good message never crash, and what passes decodes whole. */
static void test_mutations(void **state)
{
	struct sbox_mb b = { 0 };
	uint64_t x = 88172645463325252ULL;

	(void)state;
	full_launch(&b);
	for (int round = 0; round < 20000; round++) {
		uint8_t copy[2048];
		struct sbox_msg m;
		size_t len = b.len;

		assert_true(len <= sizeof(copy));
		memcpy(copy, b.buf, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			copy[x % len] ^= (uint8_t)(1u << (x >> 32) % 8);
		}
		if (sbox_msg_decode(copy, len, b.nfds, &m, &err) == 0)
			assert_true(m.argc >= 1 && m.argv[0][0] != '\0');
		sbox_msg_free(&m);
	}
	sbox_mb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch_round_trip),
		cmocka_unit_test(test_replies_round_trip),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_attributes),
		cmocka_unit_test(test_required_and_duplicates),
		cmocka_unit_test(test_parked_fds),
		cmocka_unit_test(test_fd_abuse),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
