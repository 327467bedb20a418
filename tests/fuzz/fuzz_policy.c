/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy and site parsers (policy/ini.c, the
 * directive table and every setter, policy/site.c): any bytes, read as a
 * job policy or as a site configuration, from memory (the text a client
 * sends to sboxd) or through a stream (a policy file or pipe: NUL bytes,
 * over-long lines, input past the 1 MiB bound: tests/fuzz/run.sh gives
 * this fuzzer a -max_len above SBOX_INI_SIZE_MAX).  The parser must
 * return a policy or a "NAME:LINE: ..." error, never crash, leak or read
 * out of bounds (ASan and UBSan watch).  An accepted policy is printed as
 * --check prints it and read back, which must succeed and print the same:
 * what --check prints is itself a policy.
 *
 *   make fuzz [FUZZ_SECONDS=60]       (clang -fsanitize=fuzzer)
 *
 * The first byte chooses: bit 0 site configuration, bit 1 stream.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/directives.h"
#include "policy/parse.h"
#include "policy/policy.h"
#include "policy/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct sbox_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		__builtin_trap();
	sbox_policy_print(p, f);
	if (fclose(f) != 0)
		__builtin_trap();
	return buf;
}

/* --check's output reads back to a policy that prints the same. */
static void round_trip(const struct sbox_policy *p)
{
	struct sbox_policy q;
	struct sbox_err err = { 0 };
	char *first = print(p), *second;

	sbox_policy_init(&q);
	if (sbox_policy_load_string(&q, first, "printed", &err) < 0) {
		fprintf(stderr, "printed policy does not read back: %s\n%s", err.msg, first);
		__builtin_trap();
	}
	second = print(&q);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "printed policy changes on reading back:\n%s---\n%s", first, second);
		__builtin_trap();
	}
	free(second);
	free(first);
	sbox_policy_free(&q);
}

static void policy(const char *text, const uint8_t *raw, size_t size, int stream)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	int r;

	sbox_policy_init(&p);
	if (stream) {
		FILE *f = fmemopen((void *)raw, size, "r");

		if (!f)
			return;
		r = sbox_policy_load_stream(&p, f, "fuzz.policy", &err);
		fclose(f);
	} else {
		r = sbox_policy_load_string(&p, text, "fuzz.policy", &err);
	}
	if (r == 0 && sbox_policy_validate(&p, &err) == 0)
		round_trip(&p);
	else if (r < 0 && strncmp(err.msg, "fuzz.policy:", 12) != 0)
		__builtin_trap();    /* an error names the file and line */
	sbox_policy_free(&p);
}

static void site(const char *text)
{
	struct sbox_site s;
	struct sbox_err err = { 0 };

	sbox_site_init(&s);
	(void)sbox_site_load_string(&s, text, "fuzz.conf", &err);
	sbox_site_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (mode & 1)
		site(text);
	else
		policy(text, data, size, mode & 2);
	free(text);
	return 0;
}
