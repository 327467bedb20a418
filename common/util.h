/* SPDX-License-Identifier: MIT */
/* Small shared helpers: cleanup attributes (as crun and systemd use them) so
 * that every early return releases what it holds, and allocation wrappers. */
#ifndef SBOX_COMMON_UTIL_H
#define SBOX_COMMON_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(sbox_freep)
#define _cleanup_close_ _cleanup_(sbox_closep)
#define SBOX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void sbox_freep(void *p)
{
	free(*(void **)p);
}

static inline void sbox_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

/* A client's text shown to others (a job's name in root's --jobs):
 * control bytes and DEL become '?', so that it can't drive the terminal
 * of whoever reads it.  So do the C1 controls as UTF-8 writes them
 * (U+0080-U+009F: 0xC2 then 0x80-0x9F), each byte a '?': a UTF-8
 * terminal (xterm, VTE) takes U+009B as ESC [ and U+009D as ESC ]. */
static inline void sbox_tame_controls(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)s[0], next = (unsigned char)s[1];

		if (c < 0x20 || c == 0x7f) {
			*s = '?';
		} else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
			s[0] = s[1] = '?';
			s++;
		}
	}
}

/* Hand ownership out of a cleanup variable. */
#define sbox_steal_fd(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define sbox_steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#endif
