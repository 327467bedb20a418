/* SPDX-License-Identifier: MIT */
/*
 * GPUs=, DeviceAllow=, GPULocality=: syntax only.  A GPU spec is resolved
 * against the machine's inventory by the privileged side (sandbox/gpu.c), and
 * a DeviceAllow= specifier becomes device numbers there too: a policy is
 * text, and the same policy may be checked on a machine without the device.
 */
#include "policy/dir_devices.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/setters.h"
#include "policy/values.h"

#define GPU_SPEC_MAX 96

void sbox_devices_policy_init(struct sbox_devices_policy *d)
{
	memset(d, 0, sizeof(*d));
	d->gpu_locality = -1;
}

static void allow_clear(struct sbox_devices_policy *d)
{
	for (size_t i = 0; i < d->n_allow; i++)
		free(d->allow[i].spec);
	free(d->allow);
	d->allow = NULL;
	d->n_allow = 0;
}

void sbox_devices_policy_free(struct sbox_devices_policy *d)
{
	sbox_strv_clear(&d->gpus);
	allow_clear(d);
	sbox_devices_policy_init(d);
}

/* GPUs=: kept as the user wrote it; which GPUs it names is decided against
 * the inventory at launch, not here. */

/* An index ("2"), a UUID or a prefix of one ("GPU-8a3b", "8a3b"), or a PCI
 * bus id ("0000:3b:00.0", "3b:00.0").  Which of them it is and whether it
 * names exactly one GPU is only known against the inventory. */
static int check_gpu_spec(const char *s, struct sbox_err *err)
{
	size_t len = strlen(s);

	if (len == 0 || len > GPU_SPEC_MAX)
		return sbox_fail(err, 0, "'%s' is not a GPU: give an index, a UUID (or a unique prefix) or a PCI bus id",
				 s);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-:.", s[i]))
			return sbox_fail(err, 0, "'%s' is not a GPU: give an index, a UUID (or a unique prefix) or a PCI bus id",
					 s);
	return 0;
}

static bool gpu_listed(const struct sbox_strv *l, const char *spec)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], spec) == 0)
			return true;
	return false;
}

int sbox_dir_set_gpus(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	char **words;
	size_t n;
	int r = 0;

	if (sbox_split_value(v, &words, &n, err) < 0)
		return -1;
	if (n == 0)
		sbox_strv_clear(&p->devices.gpus);
	for (size_t i = 0; i < n && r == 0; i++) {
		/* "0,1" is how CUDA_VISIBLE_DEVICES and Slurm write lists. */
		char *save = NULL;

		for (char *tok = strtok_r(words[i], ",", &save); tok && r == 0;
		     tok = strtok_r(NULL, ",", &save)) {
			/* Each is looked up in the list: bounded, repeats
			 * included (SBOX_GPU_WORDS_MAX). */
			if (++p->gpu_words > SBOX_GPU_WORDS_MAX)
				r = sbox_fail(err, 0, "more than %d GPUs named", SBOX_GPU_WORDS_MAX);
			else if (check_gpu_spec(tok, err) < 0)
				r = -1;
			else if (gpu_listed(&p->devices.gpus, tok))
				continue;   /* a policy file and a flag may both name it */
			else if (sbox_strv_push(&p->devices.gpus, tok) < 0)
				r = sbox_fail(err, ENOMEM, "adding GPU '%s'", tok);
		}
	}
	sbox_strv_free(words);
	return r;
}

void sbox_dir_print_gpus(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	sbox_print_strv(out, d->name, &p->devices.gpus);
}

/* DeviceAllow= (systemd.resource-control(5)): the nodes beyond the base
 * set, each with the access the device cgroup will allow. */

int sbox_parse_device_access(const char *s, unsigned *out)
{
	unsigned a = 0;

	if (!s)
		return -EINVAL;
	if (*s == '\0') {
		*out = SBOX_DEV_ACC_READ | SBOX_DEV_ACC_WRITE | SBOX_DEV_ACC_MKNOD;
		return 0;
	}
	for (; *s; s++) {
		unsigned bit;

		switch (*s) {
		case 'r':
			bit = SBOX_DEV_ACC_READ;
			break;
		case 'w':
			bit = SBOX_DEV_ACC_WRITE;
			break;
		case 'm':
			bit = SBOX_DEV_ACC_MKNOD;
			break;
		default:
			return -EINVAL;
		}
		if (a & bit)
			return -EINVAL;
		a |= bit;
	}
	*out = a;
	return 0;
}

const char *sbox_format_device_access(unsigned access, char *buf)
{
	size_t n = 0;

	if (access & SBOX_DEV_ACC_READ)
		buf[n++] = 'r';
	if (access & SBOX_DEV_ACC_WRITE)
		buf[n++] = 'w';
	if (access & SBOX_DEV_ACC_MKNOD)
		buf[n++] = 'm';
	buf[n] = '\0';
	return buf;
}

/* Every component of path (after its leading '/') a name: none empty
 * ("/dev//fuse", a trailing '/'), "." or "..".  Init makes the node's
 * directories one component at a time and binds by name, so only a
 * plain path names one node, in the policy and in the sandbox alike. */
static bool plain_path(const char *path)
{
	for (const char *c = path + 1;; ) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c[n] == '\0')
			return true;
		c += n + 1;
	}
}

static int check_device_spec(const char *s, struct sbox_err *err)
{
	const char *group = NULL;

	if (strncmp(s, "/dev/", 5) == 0) {
		if (!plain_path(s))
			return sbox_fail(err, 0, "'%s' is not a device node path below /dev/ (no empty, '.' or '..' component)",
					 s);
		return 0;
	}
	if (strncmp(s, "char-", 5) == 0)
		group = s + 5;
	else if (strncmp(s, "block-", 6) == 0)
		group = s + 6;
	if (!group)
		return sbox_fail(err, 0, "'%s' is not a device: give a path below /dev/, char-GROUP or block-GROUP (GROUP as in /proc/devices)",
				 s);
	if (*group == '\0')
		return sbox_fail(err, 0, "'%s' names no device group (e.g. char-pts, block-loop)", s);
	return 0;
}

static int push_allow(struct sbox_devices_policy *d, const char *spec, unsigned access,
		      struct sbox_err *err)
{
	struct sbox_device_allow *v = realloc(d->allow, (d->n_allow + 1) * sizeof(*v));

	if (!v)
		return sbox_fail(err, ENOMEM, "adding DeviceAllow=%s", spec);
	d->allow = v;
	v[d->n_allow].spec = strdup(spec);
	if (!v[d->n_allow].spec)
		return sbox_fail(err, ENOMEM, "adding DeviceAllow=%s", spec);
	v[d->n_allow].access = access;
	d->n_allow++;
	return 0;
}

/* "SPEC [ACCESS]", one entry per line as in systemd; "" resets the list.
 * A flag's value arrives quoted as one word ("--device '/dev/fuse rw'"),
 * so one word holding a blank is split there. */
int sbox_dir_set_device_allow(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	char **words;
	size_t n;
	const char *spec, *access = "";
	_cleanup_free_ char *copy = NULL;
	unsigned acc;
	int r = -1;

	if (sbox_split_value(v, &words, &n, err) < 0)
		return -1;
	if (n == 0) {
		allow_clear(&p->devices);
		sbox_strv_free(words);
		return 0;
	}
	spec = words[0];
	if (n == 1 && strpbrk(words[0], " \t")) {
		copy = strdup(words[0]);
		if (!copy) {
			sbox_fail(err, ENOMEM, "copying value");
			goto out;
		}
		char *blank = strpbrk(copy, " \t");
		*blank++ = '\0';
		access = blank + strspn(blank, " \t");
		spec = copy;
	} else if (n == 2) {
		access = words[1];
	} else if (n > 2) {
		sbox_fail(err, 0, "expected one device and its access (\"/dev/fuse rw\"); give more devices on more lines");
		goto out;
	}
	if (check_device_spec(spec, err) < 0)
		goto out;
	if (sbox_parse_device_access(access, &acc) < 0) {
		sbox_fail(err, 0, "'%s' is not a device access: a combination of r (read), w (write) and m (mknod)",
			  access);
		goto out;
	}
	r = push_allow(&p->devices, spec, acc, err);
out:
	sbox_strv_free(words);
	return r;
}

void sbox_dir_print_device_allow(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	char acc[4];

	if (p->devices.n_allow == 0)
		fprintf(out, "%s=\n", d->name);
	for (size_t i = 0; i < p->devices.n_allow; i++) {
		_cleanup_free_ char *quoted = sbox_quote_word_dup(p->devices.allow[i].spec);

		fprintf(out, "%s=%s %s\n", d->name, quoted ? quoted : "\"",
			sbox_format_device_access(p->devices.allow[i].access, acc));
	}
}

/* GPULocality=: pin the worker near its GPUs (applied in init, C6b). */

int sbox_dir_set_gpu_locality(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	bool b;

	if (v[0] == '\0') {
		p->devices.gpu_locality = -1;
		return 0;
	}
	if (sbox_parse_bool(v, &b) < 0)
		return sbox_fail(err, 0, "'%s' is not yes, no, or empty (the site's default)", v);
	p->devices.gpu_locality = b;
	return 0;
}

void sbox_dir_print_gpu_locality(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	fprintf(out, "%s=%s\n", d->name,
		p->devices.gpu_locality < 0 ? "" : p->devices.gpu_locality ? "yes" : "no");
}
