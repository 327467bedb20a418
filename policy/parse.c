/* SPDX-License-Identifier: MIT */
#include "policy/parse.h"

#include <errno.h>
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
	return sbox_policy_load_file_within(p, path, SBOX_INI_PIPE_TIMEOUT_MS, err);
}

int sbox_policy_load_file_within(struct sbox_policy *p, const char *path, int timeout_ms,
				 struct sbox_err *err)
{
	struct stat st;
	/* A file, or a pipe the caller named (-p /dev/stdin, -p <(...)):
	 * never a directory (read as an empty policy) or a device. */
	int fd = sbox_ini_open(path, "policy file", true, &st, err);
	FILE *f;
	int r;

	if (fd < -1)
		return sbox_fail(err, -fd, "%s: cannot open policy file", path);
	if (fd < 0)
		return -1;
	f = sbox_ini_read_fd(fd, path, "policy file", timeout_ms, err);
	close(fd);
	if (!f)
		return -1;
	r = sbox_policy_load_stream(p, f, path, err);
	fclose(f);
	return r;
}

int sbox_policy_load_string(struct sbox_policy *p, const char *text, const char *name,
			    struct sbox_err *err)
{
	return sbox_ini_parse(NULL, text ? text : "", name, handler, p, err);
}
