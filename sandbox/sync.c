/* SPDX-License-Identifier: MIT */
#include "sandbox/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int sbox_sync_send(int fd, uint32_t type, int errnum, int value, const char *text)
{
	struct sbox_sync_msg m = { .type = type, .errnum = errnum, .value = value };
	ssize_t n;

	if (text)
		strncpy(m.text, text, sizeof(m.text) - 1);
	do
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(m)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int sbox_sync_recv(int fd, struct sbox_sync_msg *m)
{
	ssize_t n;

	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*m)) {
		errno = EPROTO;
		return -1;
	}
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}
