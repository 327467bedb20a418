/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for sboxd's message decoder (wire/protocol.c): any
 * bytes, with any number of fds claimed to have arrived beside them.  The
 * decoder must return a checked message or an error, never read past the
 * packet, leak, or crash (ASan and UBSan watch).  A decoded message is
 * encoded again from its fields and decoded once more, which must succeed:
 * what the decoder accepts, the encoder can say.
 *
 *   make fuzz [FUZZ_SECONDS=60]       (clang -fsanitize=fuzzer)
 *
 * The first byte chooses the fd count; the rest is the packet.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(const struct sbox_msg *m, size_t nfds)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg again;

	/* Only the request the daemon takes fds with, field by field. */
	if (m->hdr.type != SBOX_MSG_LAUNCH)
		return;
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, m->hdr.seq);
	for (size_t i = 0; i < m->argc; i++)
		sbox_mb_str(&b, SBOX_ATTR_ARGV, m->argv[i]);
	for (size_t i = 0; i < m->n_env; i++)
		sbox_mb_str(&b, SBOX_ATTR_ENV, m->env[i]);
	if (m->cwd)
		sbox_mb_str(&b, SBOX_ATTR_CWD, m->cwd);
	if (m->policy)
		sbox_mb_str(&b, SBOX_ATTR_POLICY, m->policy);
	if (m->name)
		sbox_mb_str(&b, SBOX_ATTR_NAME, m->name);
	for (int i = 0; i < 3; i++)
		if (m->stdio[i] >= 0)
			sbox_mb_u32(&b, (uint16_t)(SBOX_ATTR_STDIN + i), (uint32_t)m->stdio[i]);
	for (size_t i = 0; i < m->n_pass; i++)
		sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, m->pass[i].key, m->pass[i].index);
	for (size_t i = 0; i < m->n_binds; i++)
		sbox_mb_pair(&b, SBOX_ATTR_BIND_FD, m->binds[i].key, m->binds[i].index);
	if (m->flags)
		sbox_mb_u32(&b, SBOX_ATTR_FLAGS, m->flags);
	if (m->gpu_count)
		sbox_mb_u32(&b, SBOX_ATTR_GPU_COUNT, m->gpu_count);
	if (sbox_mb_finish(&b, NULL) == 0) {
		if (sbox_msg_decode(b.buf, b.len, nfds, &again, NULL) != 0)
			__builtin_trap();
		if (again.argc != m->argc || again.n_env != m->n_env || again.n_pass != m->n_pass)
			__builtin_trap();
		sbox_msg_free(&again);
	}
	sbox_mb_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbox_err err = { 0 };
	struct sbox_msg m;
	struct sbox_msg_hdr h;
	size_t nfds;

	if (size < 1)
		return 0;
	nfds = data[0] % (SBOX_PROTO_MAX_FDS + 2);
	data++;
	size--;
	(void)sbox_msg_peek(data, size, &h, &err);
	if (sbox_msg_decode(data, size, nfds, &m, &err) == 0) {
		reencode(&m, nfds);
		sbox_msg_free(&m);
	} else if (err.msg[0] == '\0') {
		__builtin_trap();        /* every refusal says why */
	}
	sbox_msg_free(&m);           /* safe twice */
	return 0;
}
