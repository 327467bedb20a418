/* SPDX-License-Identifier: MIT */
/*
 * The GPU inventory: discovery from what the drivers publish in procfs and
 * sysfs, or the site configuration's static list; and finding the GPUs a
 * policy's GPUs= names (sbox_gpu_find(), sbox_gpu_select()).  Reading these files is all: no driver library is
 * ever loaded (see gpu.h).
 */
#include "sandbox/gpu.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/bounds.h"
#include "policy/values.h"
#include "sandbox/devices.h"
#include "sandbox/fsutil.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/mounts.h"

#define INFO_MAX 16384

static void trim(char *s)
{
	size_t n = strlen(s);
	size_t lead = strspn(s, " \t\n");

	while (n > lead && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	memmove(s, s + lead, n - lead + 1);
}

/* The value of "Key:   value" in NVIDIA's information file. */
static bool info_field(const char *text, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (*line) {
		const char *end = strchrnul(line, '\n');

		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			snprintf(out, len, "%.*s", (int)(end - line - (long)klen - 1), line + klen + 1);
			trim(out);
			return true;
		}
		line = *end ? end + 1 : end;
	}
	return false;
}

/* ROOT + REL, where a root of "/" adds nothing. */
static void join(char *out, size_t len, const char *root, const char *rel)
{
	/* A path cut short names nothing, and the open fails. */
	sbox_pathf(out, len, "%s%s", strcmp(root, "/") == 0 ? "" : root, rel);
}

static int push_gpu(struct sbox_gpu_inventory *inv, const struct sbox_gpu *g, struct sbox_err *err)
{
	struct sbox_gpu *v = realloc(inv->gpus, (inv->n + 1) * sizeof(*v));

	if (!v)
		return sbox_fail(err, ENOMEM, "adding GPU %s", g->bus);
	inv->gpus = v;
	v[inv->n++] = *g;
	return 0;
}

static void add_node(struct sbox_gpu *g, enum sbox_gpu_vendor vendor, const char *name,
		     bool known, unsigned major, unsigned minor)
{
	struct sbox_dev_node *n;

	if (g->n_nodes >= SBOX_GPU_MAX_NODES)
		return;
	n = &g->nodes[g->n_nodes++];
	/* Names from the site configuration are checked to fit there. */
	sbox_pathf(n->name, sizeof(n->name), "%s", name);
	n->vendor = vendor;
	n->known = known;
	n->major = major;
	n->minor = minor;
}

/* A shared node goes into the inventory when the host has it. */
static void add_shared(struct sbox_gpu_inventory *inv, enum sbox_gpu_vendor vendor,
		       const char *name, bool known, unsigned major, unsigned minor, bool required)
{
	char path[4096];
	struct stat st;
	struct sbox_dev_node *n;

	char rel[SBOX_GPU_NODE_NAME + 1];

	sbox_pathf(rel, sizeof(rel), "/%s", name);
	join(path, sizeof(path), inv->dev_root, rel);
	if (inv->n_shared >= SBOX_GPU_MAX_SHARED)
		return;
	if (lstat(path, &st) < 0 && !required)
		return;
	n = &inv->shared[inv->n_shared++];
	sbox_pathf(n->name, sizeof(n->name), "%s", name);
	n->vendor = vendor;
	n->known = known;
	n->major = major;
	n->minor = minor;
	n->required = required;
}

static void read_locality(struct sbox_gpu_inventory *inv, struct sbox_gpu *g)
{
	char path[4096], rel[128], buf[256];

	g->numa_node = -1;
	snprintf(rel, sizeof(rel), "/bus/pci/devices/%s/numa_node", g->bus);
	join(path, sizeof(path), inv->sys_root, rel);
	if (sbox_read_text(path, buf, sizeof(buf)) == 0) {
		trim(buf);
		/* The kernel writes -1 when the platform tells no node. */
		if (buf[0] && buf[0] != '-' && strspn(buf, "0123456789") == strlen(buf))
			g->numa_node = atoi(buf);
	}
	snprintf(rel, sizeof(rel), "/bus/pci/devices/%s/local_cpulist", g->bus);
	join(path, sizeof(path), inv->sys_root, rel);
	if (sbox_read_text(path, buf, sizeof(buf)) == 0) {
		trim(buf);
		snprintf(g->cpus, sizeof(g->cpus), "%s", buf);
	}
}

/* NVIDIA: one directory per GPU below ProcRoot/driver/nvidia/gpus, its
 * information file giving the UUID and the minor of /dev/nvidiaN, and the
 * majors from /proc/devices, so that the grant can check each node against
 * the driver's own numbers rather than trust whatever /dev holds. */

static int read_nvidia_gpu(struct sbox_gpu_inventory *inv, const char *dir, const char *bus,
			   unsigned major, struct sbox_gpu *g, struct sbox_err *err)
{
	_cleanup_free_ char *text = malloc(INFO_MAX);
	char path[4096], val[128];
	uint64_t minor;

	if (!text)
		return sbox_fail(err, ENOMEM, "reading GPU %s", bus);
	if (sbox_pathf(path, sizeof(path), "%s/%s/information", dir, bus) < 0 ||
	    sbox_read_text(path, text, INFO_MAX) < 0)
		return sbox_fail(err, errno, "reading %s", path);
	memset(g, 0, sizeof(*g));
	g->vendor = SBOX_GPU_NVIDIA;
	if (!info_field(text, "GPU UUID", g->uuid, sizeof(g->uuid)) || g->uuid[0] == '\0')
		return sbox_fail(err, 0, "%s: no 'GPU UUID:' line", path);
	if (!info_field(text, "Device Minor", val, sizeof(val)) ||
	    sbox_parse_uint(val, 0, 253, &minor) < 0)
		return sbox_fail(err, 0, "%s: no valid 'Device Minor:' line", path);
	if (!info_field(text, "Bus Location", val, sizeof(val)))
		sbox_pathf(val, sizeof(val), "%s", bus);
	if (sbox_pci_bus_id_normalize(val, g->bus, sizeof(g->bus)) < 0)
		return sbox_fail(err, 0, "%s: 'Bus Location: %s' is not a PCI bus id", path, val);
	info_field(text, "Model", g->model, sizeof(g->model));
	snprintf(val, sizeof(val), "nvidia%u", (unsigned)minor);
	add_node(g, SBOX_GPU_NVIDIA, val, true, major, (unsigned)minor);
	read_locality(inv, g);
	return 0;
}

static int cmp_bus(const void *a, const void *b)
{
	return strcmp(((const struct sbox_gpu *)a)->bus, ((const struct sbox_gpu *)b)->bus);
}

static int discover_nvidia(struct sbox_gpu_inventory *inv, struct sbox_err *err)
{
	char dir[4096], devices[4096], path[4096];
	unsigned major = 0, uvm = 0, caps = 0;
	size_t n_major = 0, n_uvm = 0, n_caps = 0, first = inv->n;
	struct dirent *de;
	struct stat st;
	DIR *d;

	join(dir, sizeof(dir), inv->proc_root, "/driver/nvidia/gpus");
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;   /* no NVIDIA driver: not an error */
		return sbox_fail(err, errno, "reading %s", dir);
	}
	join(devices, sizeof(devices), inv->proc_root, "/devices");
	/* Older drivers call the major "nvidia-frontend". */
	if (sbox_proc_devices_majors(devices, 'c', "nvidia-frontend", &major, 1, &n_major) < 0 ||
	    (n_major == 0 && sbox_proc_devices_majors(devices, 'c', "nvidia", &major, 1, &n_major) < 0)) {
		closedir(d);
		return sbox_fail(err, errno, "reading %s", devices);
	}
	if (n_major == 0) {
		closedir(d);
		return sbox_fail(err, 0, "%s lists GPUs but %s has no 'nvidia' character device major",
				 dir, devices);
	}
	sbox_proc_devices_majors(devices, 'c', "nvidia-uvm", &uvm, 1, &n_uvm);
	sbox_proc_devices_majors(devices, 'c', "nvidia-caps", &caps, 1, &n_caps);
	while ((de = readdir(d))) {
		struct sbox_gpu g;

		if (de->d_name[0] == '.')
			continue;
		if (read_nvidia_gpu(inv, dir, de->d_name, major, &g, err) < 0 ||
		    push_gpu(inv, &g, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	/* nvidia-smi and NVML number GPUs by PCI bus id; so does sbox. */
	qsort(inv->gpus + first, inv->n - first, sizeof(*inv->gpus), cmp_bus);
	if (inv->n == first)
		return 0;
	add_shared(inv, SBOX_GPU_NVIDIA, "nvidiactl", true, major, 255, true);
	add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-modeset", true, major, 254, false);
	if (n_uvm) {
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-uvm", true, uvm, 0, false);
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-uvm-tools", true, uvm, 1, false);
	}
	join(path, sizeof(path), inv->dev_root, "/nvidia-caps");
	inv->nvidia_caps = n_caps && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	return 0;
}

/* AMD: the kfd topology in sysfs, one node per agent (CPUs are agents
 * too: a GPU is one with a non-zero gpu_id); a GPU's render node and /dev/kfd
 * are what ROCm opens. */

static bool prop_u64(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *line = text; *line; line = strchrnul(line, '\n'), line += *line ? 1 : 0) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;

			errno = 0;
			*out = strtoull(line + klen + 1, &end, 10);
			return errno == 0 && end != line + klen + 1;
		}
	}
	return false;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int read_amd_node(struct sbox_gpu_inventory *inv, const char *dir, unsigned node,
			 struct sbox_gpu *g, bool *is_gpu, struct sbox_err *err)
{
	_cleanup_free_ char *props = malloc(INFO_MAX);
	char path[4096], buf[64];
	uint64_t render, location, domain = 0, unique = 0;

	*is_gpu = false;
	if (!props)
		return sbox_fail(err, ENOMEM, "reading kfd node %u", node);
	if (sbox_pathf(path, sizeof(path), "%s/%u/gpu_id", dir, node) < 0 ||
	    sbox_read_text(path, buf, sizeof(buf)) < 0)
		return sbox_fail(err, errno, "reading %s", path);
	trim(buf);
	if (strcmp(buf, "0") == 0 || buf[0] == '\0')
		return 0;   /* a CPU node */
	if (sbox_pathf(path, sizeof(path), "%s/%u/properties", dir, node) < 0 ||
	    sbox_read_text(path, props, INFO_MAX) < 0)
		return sbox_fail(err, errno, "reading %s", path);
	if (!prop_u64(props, "drm_render_minor", &render) || render > 1048575)
		return sbox_fail(err, 0, "%s: no drm_render_minor", path);
	if (!prop_u64(props, "location_id", &location))
		return sbox_fail(err, 0, "%s: no location_id", path);
	prop_u64(props, "domain", &domain);
	prop_u64(props, "unique_id", &unique);
	memset(g, 0, sizeof(*g));
	g->vendor = SBOX_GPU_AMD;
	/* location_id is the PCI bus << 8 | devfn. */
	snprintf(g->bus, sizeof(g->bus), "%04x:%02x:%02x.%x", (unsigned)(domain & 0xffff),
		 (unsigned)((location >> 8) & 0xff), (unsigned)((location >> 3) & 0x1f),
		 (unsigned)(location & 7));
	/* The form ROCm prints and ROCR_VISIBLE_DEVICES takes. */
	if (unique)
		snprintf(g->uuid, sizeof(g->uuid), "GPU-%016llx", (unsigned long long)unique);
	snprintf(g->model, sizeof(g->model), "AMD GPU (kfd node %u)", node);
	snprintf(buf, sizeof(buf), "dri/renderD%u", (unsigned)render);
	/* DRM's major is fixed: 226. */
	add_node(g, SBOX_GPU_AMD, buf, true, 226, (unsigned)render);
	read_locality(inv, g);
	*is_gpu = true;
	return 0;
}

static int discover_amd(struct sbox_gpu_inventory *inv, struct sbox_err *err)
{
	char dir[4096], devices[4096];
	_cleanup_free_ unsigned *nodes = NULL;
	size_t n = 0, n_kfd = 0, vendor_index = 0;
	unsigned kfd = 0;
	struct dirent *de;
	DIR *d;

	join(dir, sizeof(dir), inv->sys_root, "/class/kfd/kfd/topology/nodes");
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return sbox_fail(err, errno, "reading %s", dir);
	}
	while ((de = readdir(d))) {
		unsigned *v;
		uint64_t id;

		if (sbox_parse_uint(de->d_name, 0, 65535, &id) < 0)
			continue;
		v = realloc(nodes, (n + 1) * sizeof(*v));
		if (!v) {
			closedir(d);
			return sbox_fail(err, ENOMEM, "reading %s", dir);
		}
		nodes = v;
		nodes[n++] = (unsigned)id;
	}
	closedir(d);
	/* ROCm numbers GPUs in the order of the topology's nodes. */
	qsort(nodes, n, sizeof(*nodes), cmp_uint);
	for (size_t i = 0; i < n; i++) {
		struct sbox_gpu g;
		bool is_gpu;

		if (read_amd_node(inv, dir, nodes[i], &g, &is_gpu, err) < 0)
			return -1;
		if (!is_gpu)
			continue;
		g.vendor_index = (unsigned)vendor_index++;
		if (push_gpu(inv, &g, err) < 0)
			return -1;
	}
	if (vendor_index == 0)
		return 0;
	join(devices, sizeof(devices), inv->proc_root, "/devices");
	sbox_proc_devices_majors(devices, 'c', "kfd", &kfd, 1, &n_kfd);
	add_shared(inv, SBOX_GPU_AMD, "kfd", n_kfd > 0, kfd, 0, true);
	return 0;
}

/* The site configuration's static list (Inventory=static), for hosts where
 * discovery is unwanted: the vendor is told by the node names, and the
 * numbers are not known until the grant checks the nodes. */

static enum sbox_gpu_vendor vendor_of_node(const char *name)
{
	if (strncmp(name, "nvidia", 6) == 0)
		return SBOX_GPU_NVIDIA;
	if (strncmp(name, "dri/", 4) == 0)
		return SBOX_GPU_AMD;
	return SBOX_GPU_OTHER;
}

static int cmp_index(const void *a, const void *b)
{
	return cmp_uint(&((const struct sbox_gpu *)a)->index, &((const struct sbox_gpu *)b)->index);
}

static int load_static(struct sbox_gpu_inventory *inv, const struct sbox_site_gpus *s,
		       struct sbox_err *err)
{
	bool vendors[SBOX_GPU_OTHER + 1] = { false };
	unsigned counts[SBOX_GPU_OTHER + 1] = { 0 };

	for (size_t i = 0; i < s->n_gpus; i++) {
		const struct sbox_site_gpu *sg = &s->gpus[i];
		struct sbox_gpu g = { .index = sg->index, .numa_node = sg->numa_node };

		g.vendor = vendor_of_node(sg->nodes[0]);
		snprintf(g.uuid, sizeof(g.uuid), "%s", sg->uuid);
		snprintf(g.bus, sizeof(g.bus), "%s", sg->bus);
		snprintf(g.model, sizeof(g.model), "static (site configuration line %u)", sg->line);
		if (sg->cpus)
			snprintf(g.cpus, sizeof(g.cpus), "%s", sg->cpus);
		for (size_t k = 0; k < sg->n_nodes; k++)
			add_node(&g, g.vendor, sg->nodes[k], false, 0, 0);
		vendors[g.vendor] = true;
		if (push_gpu(inv, &g, err) < 0)
			return -1;
	}
	qsort(inv->gpus, inv->n, sizeof(*inv->gpus), cmp_index);
	for (size_t i = 0; i < inv->n; i++)
		inv->gpus[i].vendor_index = counts[inv->gpus[i].vendor]++;
	if (s->shared_set) {
		for (size_t i = 0; i < s->n_shared; i++)
			add_shared(inv, vendor_of_node(s->shared_nodes[i]), s->shared_nodes[i], false, 0, 0,
				   true);
		return 0;
	}
	if (vendors[SBOX_GPU_NVIDIA]) {
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidiactl", false, 0, 0, true);
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-modeset", false, 0, 0, false);
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-uvm", false, 0, 0, false);
		add_shared(inv, SBOX_GPU_NVIDIA, "nvidia-uvm-tools", false, 0, 0, false);
	}
	if (vendors[SBOX_GPU_AMD])
		add_shared(inv, SBOX_GPU_AMD, "kfd", false, 0, 0, true);
	return 0;
}

void sbox_gpu_inventory_free(struct sbox_gpu_inventory *inv)
{
	free(inv->proc_root);
	free(inv->sys_root);
	free(inv->dev_root);
	free(inv->gpus);
	memset(inv, 0, sizeof(*inv));
}

/* As the path reads, or as it resolves (//tmp/x, /./tmp/x, a link to
 * /tmp/x): init binds nodes by the host's path, which then resolves
 * under its staging tmpfs. */
static bool dev_root_below_staging(const char *dev_root)
{
	char real[PATH_MAX];

	if (sbox_path_below(dev_root, SBOX_STAGING_DIR))
		return true;
	return realpath(dev_root, real) && sbox_path_below(real, SBOX_STAGING_DIR);
}

int sbox_gpu_inventory_load(struct sbox_gpu_inventory *inv, const struct sbox_site *site,
			    struct sbox_err *err)
{
	memset(inv, 0, sizeof(*inv));
	inv->proc_root = strdup(sbox_site_proc_root(site));
	inv->sys_root = strdup(sbox_site_sys_root(site));
	inv->dev_root = strdup(sbox_site_dev_root(site));
	if (!inv->proc_root || !inv->sys_root || !inv->dev_root) {
		sbox_gpu_inventory_free(inv);
		return sbox_fail(err, ENOMEM, "reading the GPU inventory");
	}
	/* Init binds the granted nodes by their host path after it has put
	 * its staging tmpfs over SBOX_STAGING_DIR: nodes below it can't be
	 * reached then, and every launch would fail where --check=host and
	 * --list-gpus said yes. */
	if (dev_root_below_staging(inv->dev_root)) {
		sbox_fail(err, EINVAL, "DevRoot=%s is below %s, where a sandbox's init assembles its root and so can't bind nodes from; keep the nodes elsewhere (/var/lib/sbox/dev, say)",
			  inv->dev_root, SBOX_STAGING_DIR);
		goto fail;
	}
	if (site && site->gpus.inventory == SBOX_SITE_INVENTORY_STATIC) {
		inv->source = "static";
		if (load_static(inv, &site->gpus, err) < 0)
			goto fail;
		return 0;
	}
	inv->source = "discover";
	if (discover_nvidia(inv, err) < 0 || discover_amd(inv, err) < 0)
		goto fail;
	for (size_t i = 0; i < inv->n; i++) {
		inv->gpus[i].index = (unsigned)i;
		if (inv->gpus[i].vendor == SBOX_GPU_NVIDIA)
			inv->gpus[i].vendor_index = (unsigned)i;
	}
	return 0;
fail:
	sbox_err_prefix(err, "GPU inventory");
	sbox_gpu_inventory_free(inv);
	return -1;
}

/* Finding the GPUs a policy names.  Errors list the inventory, since the
 * user asking usually can't see it any other way. */

static void list_inventory(const struct sbox_gpu_inventory *inv, char *buf, size_t len)
{
	size_t off = 0;

	if (inv->n == 0) {
		snprintf(buf, len, "this machine has no GPUs (inventory: %s; see sboxrun --list-gpus)",
			 inv->source);
		return;
	}
	off += (size_t)snprintf(buf, len, "the GPUs are:");
	for (size_t i = 0; i < inv->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s %u %s %s", i ? ";" : "",
					inv->gpus[i].index, inv->gpus[i].uuid[0] ? inv->gpus[i].uuid : "-",
					inv->gpus[i].bus);
}

static bool uuid_prefix(const char *uuid, const char *spec)
{
	size_t n = strlen(spec);

	if (uuid[0] == '\0')
		return false;
	if (strncasecmp(uuid, spec, n) == 0)
		return true;
	/* "8a3b" for "GPU-8a3b...", as nvidia-smi users abbreviate. */
	return strncasecmp(uuid, "GPU-", 4) == 0 && strncasecmp(uuid + 4, spec, n) == 0;
}

int sbox_gpu_find(const struct sbox_gpu_inventory *inv, const char *spec, size_t *pos,
		  struct sbox_err *err)
{
	char list[700], bus[16];
	size_t found = 0, at = 0;
	uint64_t idx;

	if (sbox_parse_uint(spec, 0, UINT32_MAX, &idx) == 0) {
		for (size_t i = 0; i < inv->n; i++)
			if (inv->gpus[i].index == idx) {
				*pos = i;
				return 0;
			}
		list_inventory(inv, list, sizeof(list));
		return sbox_fail(err, 0, "no GPU has this index; %s", list);
	}
	if (strchr(spec, ':') && sbox_pci_bus_id_normalize(spec, bus, sizeof(bus)) == 0) {
		for (size_t i = 0; i < inv->n; i++)
			if (strcmp(inv->gpus[i].bus, bus) == 0) {
				*pos = i;
				return 0;
			}
		list_inventory(inv, list, sizeof(list));
		return sbox_fail(err, 0, "no GPU at this PCI bus id; %s", list);
	}
	for (size_t i = 0; i < inv->n; i++) {
		if (strcasecmp(inv->gpus[i].uuid, spec) == 0) {
			*pos = i;
			return 0;
		}
		if (uuid_prefix(inv->gpus[i].uuid, spec)) {
			found++;
			at = i;
		}
	}
	list_inventory(inv, list, sizeof(list));
	if (found == 0)
		return sbox_fail(err, 0, "no GPU has this UUID or UUID prefix; %s", list);
	if (found > 1)
		return sbox_fail(err, 0, "the UUID prefix is ambiguous (%zu GPUs match); %s",
				 found, list);
	*pos = at;
	return 0;
}

int sbox_gpu_select(struct sbox_gpu_selection *sel, const struct sbox_gpu_inventory *inv,
		    const struct sbox_policy *p, unsigned *idx, struct sbox_err *err)
{
	const struct sbox_strv *specs = &p->devices.gpus;

	*sel = (struct sbox_gpu_selection){ .inv = inv, .idx = idx };
	for (size_t i = 0; i < specs->n; i++) {
		size_t pos;
		bool dup = false;

		if (sbox_gpu_find(inv, specs->v[i], &pos, err) < 0) {
			sbox_err_prefix(err, "GPUs=%s", specs->v[i]);
			return -1;
		}
		/* "0" and its UUID name the same GPU: select it once. */
		for (size_t k = 0; k < sel->n; k++)
			dup |= idx[k] == pos;
		if (!dup)
			idx[sel->n++] = (unsigned)pos;
	}
	return 0;
}

static int choice_alloc(struct sbox_gpu_choice *c, size_t room, struct sbox_err *err)
{
	c->idx = calloc(room, sizeof(*c->idx));
	return c->idx ? 0 : sbox_fail(err, ENOMEM, "choosing GPUs");
}

static int choice_load(struct sbox_gpu_choice *c, const struct sbox_site *site,
		       struct sbox_err *err)
{
	if (sbox_gpu_inventory_load(&c->inv, site, err) < 0)
		return -1;
	c->loaded = true;
	return 0;
}

int sbox_gpu_choose_named(struct sbox_gpu_choice *c, const struct sbox_policy *p,
			  const struct sbox_site *site, const struct sbox_gpu_selection **out,
			  struct sbox_err *err)
{
	*out = NULL;
	if (p->devices.gpus.n == 0)
		return 0;
	/* No device cgroup to give (GPUs= says so in its own words): no
	 * inventory to read. */
	if (sbox_devices_check_privilege(p, geteuid(), err) < 0 ||
	    choice_alloc(c, p->devices.gpus.n, err) < 0 || choice_load(c, site, err) < 0 ||
	    sbox_gpu_select(&c->sel, &c->inv, p, c->idx, err) < 0)
		return -1;
	*out = &c->sel;
	return 0;
}

int sbox_gpu_choose_first(struct sbox_gpu_choice *c, unsigned n, const struct sbox_site *site,
			  const struct sbox_gpu_selection **out, struct sbox_err *err)
{
	*out = NULL;
	if (choice_alloc(c, n, err) < 0 || choice_load(c, site, err) < 0)
		return -1;
	if (c->inv.n < n)
		return sbox_fail(err, 0, "--gpus %u: this machine has %zu GPU%s", n, c->inv.n,
				 c->inv.n == 1 ? "" : "s");
	for (unsigned i = 0; i < n; i++)
		c->idx[i] = i;
	c->sel = (struct sbox_gpu_selection){ .inv = &c->inv, .idx = c->idx, .n = n };
	*out = &c->sel;
	return 0;
}

int sbox_gpu_choice_check_privilege(const struct sbox_gpu_choice *c, struct sbox_err *err)
{
	const struct sbox_gpu *first;

	if (c->sel.n == 0)
		return 0;
	first = &c->inv.gpus[c->sel.idx[0]];
	return sbox_devices_check_gpu_privilege(first->uuid[0] ? first->uuid : first->bus,
						geteuid(), err);
}

void sbox_gpu_choice_free(struct sbox_gpu_choice *c)
{
	if (c->loaded)
		sbox_gpu_inventory_free(&c->inv);
	free(c->idx);
	memset(c, 0, sizeof(*c));
}
