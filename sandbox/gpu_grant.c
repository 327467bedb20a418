/* SPDX-License-Identifier: MIT */
/*
 * The grant: what a sandbox gets of the GPUs its launcher selected (GPUs=
 * or --gpus N, resolved once by the launcher against its own inventory:
 * struct sbox_gpu_selection).  Checked in the parent before clone (P1);
 * the child only binds the nodes (sandbox/devfs.c), masks
 * /proc/driver/nvidia and applies the locality.
 */
#include "sandbox/gpu_grant.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/setters.h"
#include "policy/values.h"
#include "sandbox/fsutil.h"

#define PROC_TEXT_MAX 65536

void sbox_gpu_grant_init(struct sbox_gpu_grant *g)
{
	memset(g, 0, sizeof(*g));
}

void sbox_gpu_grant_free(struct sbox_gpu_grant *g)
{
	free(g->gpus);
	free(g->dev_root);
	free(g->nodes);
	free(g->nv_proc_dir);
	free(g->nv_params);
	free(g->nv_version);
	free(g->nv_registry);
	sbox_strv_free(g->env);
	sbox_gpu_grant_init(g);
}

static const char *gpu_name(const struct sbox_gpu *gpu, char *buf, size_t len)
{
	snprintf(buf, len, "GPU %u (%s)", gpu->index, gpu->uuid[0] ? gpu->uuid : gpu->bus);
	return buf;
}

/* Check a node on the host and record its numbers: a character device, and
 * the very one the driver says when the driver said. */
static int check_node(struct sbox_gpu_grant *g, const struct sbox_dev_node *n, const char *who,
		      struct sbox_err *err)
{
	char path[4096];
	struct stat st;
	struct sbox_dev_node *v;

	snprintf(path, sizeof(path), "%s/%s", strcmp(g->dev_root, "/") ? g->dev_root : "", n->name);
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT && !n->required && who == NULL)
			return 0;   /* an optional shared node the host lacks */
		return sbox_fail(err, errno, "%s: device node %s%s", who ? who : "GPU driver", path,
				 errno == ENOENT ? " (is the driver loaded and its nodes made, e.g. by nvidia-modprobe?)" : "");
	}
	if (!S_ISCHR(st.st_mode))
		return sbox_fail(err, 0, "%s: %s is not a character device", who ? who : "GPU driver", path);
	if (n->known && (major(st.st_rdev) != n->major || minor(st.st_rdev) != n->minor))
		return sbox_fail(err, 0, "%s: %s is device %u:%u, but the driver says %u:%u: refused",
				 who ? who : "GPU driver", path, major(st.st_rdev), minor(st.st_rdev),
				 n->major, n->minor);
	for (size_t i = 0; i < g->n_nodes; i++)
		if (strcmp(g->nodes[i].name, n->name) == 0)
			return 0;
	v = realloc(g->nodes, (g->n_nodes + 1) * sizeof(*v));
	if (!v)
		return sbox_fail(err, ENOMEM, "adding %s", path);
	g->nodes = v;
	v[g->n_nodes] = *n;
	v[g->n_nodes].major = major(st.st_rdev);
	v[g->n_nodes].minor = minor(st.st_rdev);
	v[g->n_nodes].known = true;
	g->n_nodes++;
	return 0;
}

/* A copy of one of the driver's /proc files, or NULL when it has none.
 * params gets ModifyDeviceFiles: 0, as NVIDIA's container toolkit writes
 * it: the driver's user-space library must not try to create or chmod
 * device nodes inside (it could not: /dev is read-only). */
static int read_proc_copy(const char *dir, const char *name, char **out, struct sbox_err *err)
{
	char path[4096];
	_cleanup_free_ char *text = malloc(PROC_TEXT_MAX);

	*out = NULL;
	if (!text)
		return sbox_fail(err, ENOMEM, "reading %s/%s", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sbox_read_text(path, text, PROC_TEXT_MAX - 32) < 0)
		return errno == ENOENT ? 0 : sbox_fail(err, errno, "reading %s", path);
	if (strcmp(name, "params") == 0) {
		char *m = strstr(text, "ModifyDeviceFiles:");

		if (m) {
			char *end = strchrnul(m, '\n');

			memmove(m + 20, end, strlen(end) + 1);
			memcpy(m, "ModifyDeviceFiles: 0", 20);
		} else {
			strcat(text, "ModifyDeviceFiles: 0\n");
		}
	}
	*out = sbox_steal_ptr(text);
	return 0;
}

static int join_env(struct sbox_strv *env, const char *name, const struct sbox_gpu_grant *g,
		    enum sbox_gpu_vendor vendor)
{
	char value[4096];
	size_t off = 0;

	off += (size_t)snprintf(value, sizeof(value), "%s=", name);
	for (size_t i = 0; i < g->n && off < sizeof(value); i++) {
		const struct sbox_gpu *gpu = &g->gpus[i];

		if (gpu->vendor != vendor)
			continue;
		if (value[off - 1] != '=')
			value[off++] = ',';
		/* UUIDs: indices differ between the host, NVML and CUDA, and
		 * inside the sandbox the granted GPUs are all there is. */
		if (gpu->uuid[0])
			off += (size_t)snprintf(value + off, sizeof(value) - off, "%s", gpu->uuid);
		else
			off += (size_t)snprintf(value + off, sizeof(value) - off, "%u", gpu->vendor_index);
	}
	return sbox_env_set(env, value);
}

static int build_env(struct sbox_gpu_grant *g, struct sbox_err *err)
{
	struct sbox_strv env = { 0 };
	bool nv = false, amd = false;
	int r = 0;

	for (size_t i = 0; i < g->n; i++) {
		nv |= g->gpus[i].vendor == SBOX_GPU_NVIDIA;
		amd |= g->gpus[i].vendor == SBOX_GPU_AMD;
	}
	if (nv) {
		r |= join_env(&env, "CUDA_VISIBLE_DEVICES", g, SBOX_GPU_NVIDIA);
		r |= join_env(&env, "NVIDIA_VISIBLE_DEVICES", g, SBOX_GPU_NVIDIA);
	}
	if (amd)
		r |= join_env(&env, "ROCR_VISIBLE_DEVICES", g, SBOX_GPU_AMD);
	if (r) {
		sbox_strv_clear(&env);
		return sbox_fail(err, ENOMEM, "building the GPUs' environment");
	}
	g->env = env.v;
	return 0;
}

/* Pin when the policy says so; otherwise as the site says, where "auto"
 * pins unless the policy chose CPUs itself (AllowedCPUs=). */
static bool want_pin(const struct sbox_policy *p, const struct sbox_site *site)
{
	if (p->devices.gpu_locality >= 0)
		return p->devices.gpu_locality;
	switch (site ? site->gpus.locality : SBOX_SITE_LOCALITY_AUTO) {
	case SBOX_SITE_LOCALITY_YES:
		return true;
	case SBOX_SITE_LOCALITY_NO:
		return false;
	case SBOX_SITE_LOCALITY_AUTO:
	default:
		return p->res.allowed_cpus == NULL;
	}
}

static void plan_locality(struct sbox_gpu_grant *g, const struct sbox_policy *p,
			  const struct sbox_site *site)
{
	uint8_t bits[SBOX_GPU_MAX_CPUS / 8];

	if (g->n == 0 || !want_pin(p, site))
		return;
	/* All or nothing: pinning to the CPUs of some of the GPUs would
	 * starve the others. */
	g->has_mems = true;
	for (size_t i = 0; i < g->n; i++) {
		const struct sbox_gpu *gpu = &g->gpus[i];

		if (!gpu->cpus[0] || sbox_parse_id_list(gpu->cpus, bits, SBOX_GPU_MAX_CPUS) < 0)
			return;
		for (size_t b = 0; b < sizeof(bits); b++)
			g->cpus[b] |= bits[b];
		if (gpu->numa_node < 0 || gpu->numa_node >= SBOX_GPU_MAX_NUMA)
			g->has_mems = false;
		else
			g->mems[gpu->numa_node / 8] |= (uint8_t)(1u << (gpu->numa_node % 8));
	}
	g->pin = true;
}

/* The selected GPUs, copied from the inventory in the selection's order;
 * a GPU the selection names twice is granted once. */
static int copy_gpus(struct sbox_gpu_grant *g, const struct sbox_gpu_selection *sel,
		     struct sbox_err *err)
{
	const struct sbox_gpu_inventory *inv = sel->inv;

	g->gpus = calloc(sel->n, sizeof(*g->gpus));
	g->dev_root = strdup(inv->dev_root);
	if (!g->gpus || !g->dev_root)
		return sbox_fail(err, ENOMEM, "granting GPUs");
	for (size_t i = 0; i < sel->n; i++) {
		bool dup = false;

		if (sel->idx[i] >= inv->n)
			return sbox_fail(err, EINVAL, "granting GPU %u: the inventory has %zu GPUs",
					 sel->idx[i], inv->n);
		for (size_t k = 0; k < g->n; k++)
			dup |= g->gpus[k].index == inv->gpus[sel->idx[i]].index;
		if (!dup)
			g->gpus[g->n++] = inv->gpus[sel->idx[i]];
	}
	return 0;
}

/* Every node of the granted GPUs and, for the vendors granted, the
 * driver's shared ones: checked on the host now, at grant time, against
 * what the inventory says (check_node()). */
static int check_nodes(struct sbox_gpu_grant *g, const struct sbox_gpu_inventory *inv,
		       struct sbox_err *err)
{
	char who[160];

	for (size_t i = 0; i < g->n; i++) {
		const struct sbox_gpu *gpu = &g->gpus[i];

		gpu_name(gpu, who, sizeof(who));
		for (size_t k = 0; k < gpu->n_nodes; k++)
			if (check_node(g, &gpu->nodes[k], who, err) < 0)
				return -1;
		g->nvidia |= gpu->vendor == SBOX_GPU_NVIDIA;
	}
	for (size_t k = 0; k < inv->n_shared; k++) {
		bool used = false;

		for (size_t i = 0; i < g->n; i++)
			used |= g->gpus[i].vendor == inv->shared[k].vendor;
		if (used && check_node(g, &inv->shared[k], NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* The driver's /proc/driver/nvidia files the sandbox's copy shows. */
static int copy_nvidia_proc(struct sbox_gpu_grant *g, const struct sbox_gpu_inventory *inv,
			    struct sbox_err *err)
{
	char dir[4096];

	if (!g->nvidia)
		return 0;
	snprintf(dir, sizeof(dir), "%s/driver/nvidia", strcmp(inv->proc_root, "/") ? inv->proc_root : "");
	g->nv_proc_dir = strdup(dir);
	if (!g->nv_proc_dir)
		return sbox_fail(err, ENOMEM, "granting GPUs");
	if (read_proc_copy(dir, "params", &g->nv_params, err) < 0 ||
	    read_proc_copy(dir, "version", &g->nv_version, err) < 0 ||
	    read_proc_copy(dir, "registry", &g->nv_registry, err) < 0)
		return -1;
	return 0;
}

int sbox_gpu_grant_prepare(struct sbox_gpu_grant *g, const struct sbox_gpu_selection *sel,
			   const struct sbox_policy *p, const struct sbox_site *site,
			   struct sbox_err *err)
{
	sbox_gpu_grant_init(g);
	if (!sel || sel->n == 0) {
		/* No GPU unless the launcher chose some: nothing is read.  A
		 * policy that names GPUs but reached here without a selection
		 * would otherwise run without them, silently. */
		if (!sel && p->devices.gpus.n > 0)
			return sbox_fail(err, EINVAL, "GPUs=%s: the launcher passed no GPU selection (sbox_gpu_select())",
					 p->devices.gpus.v[0]);
		return 0;
	}
	if (copy_gpus(g, sel, err) < 0 || check_nodes(g, sel->inv, err) < 0 ||
	    copy_nvidia_proc(g, sel->inv, err) < 0 || build_env(g, err) < 0) {
		sbox_gpu_grant_free(g);
		return -1;
	}
	plan_locality(g, p, site);
	return 0;
}

int sbox_gpu_grant_env(const struct sbox_gpu_grant *g, char ***envp, struct sbox_err *err)
{
	struct sbox_strv env = { .v = *envp };

	while (env.v && env.v[env.n])
		env.n++;
	/* After Environment=: these are facts of the grant, not preferences. */
	for (size_t i = 0; g->env && g->env[i]; i++)
		if (sbox_env_set(&env, g->env[i]) < 0) {
			*envp = env.v;
			return sbox_fail(err, ENOMEM, "adding %s to the environment", g->env[i]);
		}
	*envp = env.v;
	return 0;
}

/* What follows runs in the sandbox (init and the child), from the grant
 * the parent prepared: nothing here reads the inventory. */

int sbox_gpu_apply_locality(const struct sbox_gpu_grant *g, struct sbox_err *err)
{
	cpu_set_t *set;
	size_t size;
	char list[512];

	if (!g || !g->pin)
		return 0;
	set = CPU_ALLOC(SBOX_GPU_MAX_CPUS);
	if (!set)
		return sbox_fail(err, ENOMEM, "allocating a CPU set");
	size = CPU_ALLOC_SIZE(SBOX_GPU_MAX_CPUS);
	CPU_ZERO_S(size, set);
	for (int c = 0; c < SBOX_GPU_MAX_CPUS; c++)
		if (g->cpus[c / 8] & (1u << (c % 8)))
			CPU_SET_S((size_t)c, size, set);
	/* Init's affinity and memory policy are inherited by the worker.  A
	 * placement, not a limit (docs/policy.md): one the kernel finds
	 * nothing to place on (EINVAL: none of the CPUs online or in the
	 * launcher's cpuset, a node without memory, as sysfs may name for a
	 * GPU) is left out, not a failed launch. */
	if (sched_setaffinity(0, size, set) < 0 && errno != EINVAL) {
		int e = errno;

		CPU_FREE(set);
		sbox_format_id_list(g->cpus, SBOX_GPU_MAX_CPUS, list, sizeof(list));
		return sbox_fail(err, e, "pinning to the GPUs' local CPUs %s (GPULocality=)", list);
	}
	CPU_FREE(set);
	if (!g->has_mems)
		return 0;
	size_t nodes = 0;
	unsigned long mask[SBOX_GPU_MAX_NUMA / (8 * sizeof(unsigned long))] = { 0 };
	for (int n = 0; n < SBOX_GPU_MAX_NUMA; n++)
		if (g->mems[n / 8] & (1u << (n % 8))) {
			mask[n / (8 * sizeof(unsigned long))] |= 1ul << (n % (8 * sizeof(unsigned long)));
			nodes++;
		}
	/* Preferred, not bound: memory comes from the GPUs' node while it
	 * has some, and from elsewhere rather than failing. */
	int mode = nodes == 1 ? MPOL_PREFERRED : MPOL_PREFERRED_MANY;
	if (syscall(SYS_set_mempolicy, mode, mask, (unsigned long)SBOX_GPU_MAX_NUMA + 1) < 0 &&
	    errno != EINVAL) {
		sbox_format_id_list(g->mems, SBOX_GPU_MAX_NUMA, list, sizeof(list));
		return sbox_fail(err, errno, "preferring the GPUs' memory node(s) %s (GPULocality=)", list);
	}
	return 0;
}

static int write_file_at(int dir, const char *name, const char *text, struct sbox_err *err)
{
	_cleanup_close_ int fd = -1;
	size_t len;

	if (!text)
		return 0;
	len = strlen(text);
	fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return sbox_fail(err, errno, "writing /proc/driver/nvidia/%s in the sandbox", name);
	return 0;
}

static int bind_gpu_dir(int gpus_fd, const char *src_dir, const char *bus, struct sbox_err *err)
{
	const unsigned long long attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					 MOUNT_ATTR_NOEXEC;
	char src[4096];
	_cleanup_close_ int tree = -1;
	_cleanup_close_ int target = -1;

	if (sbox_pathf(src, sizeof(src), "%s/gpus/%s", src_dir, bus) < 0)
		return sbox_fail(err, errno, "%s/gpus/%s", src_dir, bus);
	tree = sbox_bind_source(src, attrs, false, err);
	if (tree < 0) {
		if (err->errnum != ENOENT)
			return -1;
		sbox_err_clear(err);
		return 0;   /* a static inventory's GPU the driver doesn't list */
	}
	if (mkdirat(gpus_fd, bus, 0555) < 0)
		return sbox_fail(err, errno, "creating /proc/driver/nvidia/gpus/%s in the sandbox", bus);
	target = openat(gpus_fd, bus, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (target < 0)
		return sbox_fail(err, errno, "opening /proc/driver/nvidia/gpus/%s in the sandbox", bus);
	return sbox_bind_attach(tree, target, attrs, false, err);
}

static int fill_mask(int dir, const struct sbox_gpu_grant *g, struct sbox_err *err)
{
	_cleanup_close_ int gpus = -1;

	if (write_file_at(dir, "version", g->nv_version, err) < 0 ||
	    write_file_at(dir, "params", g->nv_params, err) < 0 ||
	    write_file_at(dir, "registry", g->nv_registry, err) < 0)
		return -1;
	if (mkdirat(dir, "gpus", 0555) < 0)
		return sbox_fail(err, errno, "creating /proc/driver/nvidia/gpus in the sandbox");
	gpus = openat(dir, "gpus", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (gpus < 0)
		return sbox_fail(err, errno, "opening /proc/driver/nvidia/gpus in the sandbox");
	for (size_t i = 0; i < g->n; i++)
		if (g->gpus[i].vendor == SBOX_GPU_NVIDIA &&
		    bind_gpu_dir(gpus, g->nv_proc_dir, g->gpus[i].bus, err) < 0)
			return -1;
	return 0;
}

int sbox_gpu_mask_proc(int root_fd, const struct sbox_gpu_grant *g, struct sbox_err *err)
{
	bool show = g && g->nvidia;
	const char *at = "/proc/driver/nvidia";
	_cleanup_close_ int target = sbox_open_in_root(root_fd, at, O_DIRECTORY);
	_cleanup_close_ int top = -1;
	_cleanup_close_ int dir = -1;

	if (target < 0) {
		if (errno != ENOENT)
			return sbox_fail(err, errno, "opening %s of the sandbox", at);
		if (!show)
			return 0;   /* no driver, nothing granted: nothing to hide */
		/* The inventory came from another proc root (a static or a
		 * test inventory): the sandbox's /proc has no nvidia/ to
		 * cover, so the tmpfs covers /proc/driver and holds it. */
		at = "/proc/driver";
		target = sbox_open_in_root(root_fd, at, O_DIRECTORY);
		if (target < 0)
			return sbox_fail(err, errno, "opening %s of the sandbox", at);
	}
	if (sbox_mount_tmpfs(target, MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     "mode=0555,size=256k,nr_inodes=256", err, at) < 0)
		return -1;
	top = sbox_open_in_root(root_fd, at, O_DIRECTORY);
	if (top < 0)
		return sbox_fail(err, errno, "opening the tmpfs on %s", at);
	if (show) {
		dir = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir >= 0 && strcmp(at, "/proc/driver") == 0) {
			int sub;

			if (mkdirat(dir, "nvidia", 0555) < 0)
				return sbox_fail(err, errno, "creating /proc/driver/nvidia in the sandbox");
			sub = openat(dir, "nvidia", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			close(dir);
			dir = sub;
		}
		if (dir < 0)
			return sbox_fail(err, errno, "opening /proc/driver/nvidia in the sandbox");
		if (fill_mask(dir, g, err) < 0)
			return -1;
	}
	/* Read-only: nothing inside can add an entry the driver would read. */
	if (sbox_remount_flags(top, MOUNT_ATTR_RDONLY, false, err) < 0) {
		sbox_err_prefix(err, "making %s read-only in the sandbox", at);
		return -1;
	}
	return 0;
}
