/* SPDX-License-Identifier: MIT */
#include "policy/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/ini.h"

static int handler(void *user, const char *section, const char *key, const char *value,
		   unsigned line, struct sbox_err *err)
{
	(void)line;
	if (strcmp(section, SBOX_POLICY_SECTION) != 0) {
		if (section[0] == '\0')
			return sbox_fail(err, 0, "'%s=' is outside a section; a policy starts with [%s]",
					 key, SBOX_POLICY_SECTION);
		return sbox_fail(err, 0, "unknown section [%s]; a policy's directives go in [%s]",
				 section, SBOX_POLICY_SECTION);
	}
	return sbox_policy_set(user, key, value, err);
}

int sbox_policy_load_stream(struct sbox_policy *p, FILE *f, const char *name,
			    struct sbox_err *err)
{
	return sbox_ini_parse(f, NULL, name, handler, p, err);
}

int sbox_policy_load_file(struct sbox_policy *p, const char *path, struct sbox_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	FILE *f;
	int r;

	if (fd < 0)
		return sbox_fail(err, errno, "%s: cannot open policy file", path);
	/* A file, or a pipe the caller named (-p /dev/stdin, -p <(...)):
	 * never a directory (read as an empty policy) or a device. */
	if (sbox_ini_check_fd(fd, path, "policy file", true, err) < 0) {
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return sbox_fail(err, errno, "%s: cannot read policy file", path);
	}
	r = sbox_policy_load_stream(p, f, path, err);
	fclose(f);
	return r;
}

int sbox_policy_load_string(struct sbox_policy *p, const char *text, const char *name,
			    struct sbox_err *err)
{
	return sbox_ini_parse(NULL, text ? text : "", name, handler, p, err);
}
