/* SPDX-License-Identifier: MIT */
/*
 * The GPU inventory, selection and grant against fake GPU machines
 * (tests/fixtures/fake-gpus.sh), and the site configuration that points at
 * them.  Tests that need device nodes (mknod) or root-owned files run as
 * root only; the rest run as anyone.
 */
#include "policy/dir_devices.h"
#include "policy/directives.h"
#include "policy/site.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/sandbox.h"
#include "sboxrun/gpu_list.h"
#include "sboxrun/via_daemon.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/fake-gpus.sh"
#define UUID0 "GPU-0a1b2c3d-0000-4000-8000-000000000000"
#define UUID1 "GPU-0a1b9999-0000-4000-8000-000000000001"
#define UUID2 "GPU-5e6f7a8b-0000-4000-8000-000000000002"
#define UUID3 "GPU-c0ffee00-0000-4000-8000-000000000003"

struct machine {
	char dir[64];
	struct sbox_site site;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static char *path_in(const struct machine *m, const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", m->dir, rel);
	return buf[k];
}

/* A fake machine; the site configuration points discovery at it. */
static struct machine *machine_new(bool amd)
{
	struct machine *m = calloc(1, sizeof(*m));
	char cmd[256], conf[1024];
	struct sbox_err err = { 0 };

	assert_non_null(m);
	snprintf(m->dir, sizeof(m->dir), "/var/tmp/sbox-gpu-unit.XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(cmd, sizeof(cmd), "sh %s %s %s", FIXTURE, m->dir, amd ? "--amd" : "");
	assert_int_equal(system(cmd), 0);
	snprintf(conf, sizeof(conf), "[GPUs]\nProcRoot=%s/proc\nSysRoot=%s/sys\nDevRoot=%s/dev/\n",
		 m->dir, m->dir, m->dir);
	sbox_site_init(&m->site);
	if (sbox_site_load_string(&m->site, conf, "test.conf", &err) < 0)
		fail_msg("%s", err.msg);
	return m;
}

static void machine_free(struct machine *m)
{
	sbox_site_free(&m->site);
	nftw(m->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(m);
}

static void load(struct machine *m, struct sbox_gpu_inventory *inv)
{
	struct sbox_err err = { 0 };

	if (sbox_gpu_inventory_load(inv, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (mknod, root-owned files)\n");
		skip();
	}
}

/* [GPUs] in the site configuration. */

static void test_site_defaults(void **state)
{
	struct sbox_site s;

	(void)state;
	sbox_site_init(&s);
	assert_string_equal(sbox_site_proc_root(&s), "/proc");
	assert_string_equal(sbox_site_sys_root(&s), "/sys");
	assert_string_equal(sbox_site_dev_root(&s), "/dev");
	assert_string_equal(sbox_site_proc_root(NULL), "/proc");
	assert_int_equal(s.gpus.inventory, SBOX_SITE_INVENTORY_DISCOVER);
	assert_int_equal(s.gpus.locality, SBOX_SITE_LOCALITY_AUTO);
	sbox_site_free(&s);
}

static void test_site_keys(void **state)
{
	struct sbox_site s;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s,
		"; comment\n[GPUs]\nProcRoot=/srv/p/\nSysRoot=/srv/s\nDevRoot=/\nLocality=no\n",
		"t", &err), 0);
	assert_string_equal(sbox_site_proc_root(&s), "/srv/p");
	assert_string_equal(sbox_site_sys_root(&s), "/srv/s");
	assert_string_equal(sbox_site_dev_root(&s), "/");
	assert_int_equal(s.gpus.locality, SBOX_SITE_LOCALITY_NO);
	sbox_site_free(&s);
}

static void expect_site_error(const char *text, const char *msg)
{
	struct sbox_site s;
	struct sbox_err err = { 0 };

	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, text, "t.conf", &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	sbox_site_free(&s);
}

static void test_site_errors(void **state)
{
	(void)state;
	expect_site_error("[GPUs]\nProcRot=/x\n", "t.conf:2: unknown key 'ProcRot' in [GPUs]; did you mean 'ProcRoot'?");
	expect_site_error("[GPU]\nProcRoot=/x\n", "t.conf:2: unknown section [GPU]");
	expect_site_error("ProcRoot=/x\n", "t.conf:1: 'ProcRoot=' is outside a section");
	expect_site_error("[GPUs]\n\nProcRoot=proc\n", "t.conf:3: ProcRoot=proc: expected an absolute path");
	expect_site_error("[GPUs]\nDevRoot=/a/../b\n", "DevRoot=/a/../b: expected an absolute path without '..'");
	expect_site_error("[GPUs]\nInventory=nvml\n", "Inventory=nvml: expected discover or static");
	expect_site_error("[GPUs]\nLocality=maybe\n", "Locality=maybe: expected auto, yes or no");
	expect_site_error("[GPUs]\nGPU=0 GPU-a 0000:01:00.0 nvidia0\n",
			  "GPU= lines are a static inventory: set Inventory=static");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0\n",
			  "t.conf:3: GPU=0 GPU-a 01:00.0: expected INDEX UUID BUS NODE");
	expect_site_error("[GPUs]\nInventory=static\nGPU=x GPU-a 01:00.0 nvidia0\n", "'x' is not an index");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 1:2 nvidia0\n", "'1:2' is not a PCI bus id");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0 ../nvidia0\n",
			  "is not a device node name below DevRoot");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0 nvidia0 numa=x\n",
			  "expected numa=NODE");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0 nvidia0 cpus=3-1\n",
			  "expected cpus=LIST");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0 nvidia0 colour=red\n",
			  "unknown GPU option");
	expect_site_error("[GPUs]\nInventory=static\nGPU=0 GPU-a 01:00.0 nvidia0\nGPU=1 GPU-b 0000:01:00.0 nvidia1\n",
			  "t.conf:4: GPU=1 GPU-b 0000:01:00.0 nvidia1: the same GPU (index, UUID or bus id) as the GPU= line 3");
	expect_site_error("[GPUs]\nSharedNodes=nvidiactl\n", "SharedNodes= belongs to a static inventory");
}

/* DevRoot= below /tmp, where init's staging tmpfs hides the host's: every
 * launch failed binding its nodes ("No such file or directory") while
 * --check=host and --list-gpus passed.  Refused when the inventory is
 * read, which all three do. */
static void test_dev_root_below_staging(void **state)
{
	struct sbox_gpu_inventory inv;
	struct sbox_site s;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[GPUs]\nDevRoot=/tmp/curated/dev\n", "t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), -1);
	if (!strstr(err.msg, "DevRoot=/tmp/curated/dev is below /tmp"))
		fail_msg("'%s'", err.msg);
	sbox_site_free(&s);
	/* Nor as it resolves: //tmp/x and /./tmp/x read otherwise. */
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[GPUs]\nDevRoot=//tmp\n", "t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), -1);
	sbox_site_free(&s);
	/* /tmpfoo is not below /tmp. */
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[GPUs]\nDevRoot=/tmpfoo\n", "t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), 0);
	sbox_gpu_inventory_free(&inv);
	sbox_site_free(&s);
}

static void write_conf(const char *path, mode_t mode, uid_t uid)
{
	write_text(path, "[GPUs]\nLocality=yes\n");
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, uid, 0), 0);
}

/* Like sudoers: a file someone else can write is refused. */
static void test_site_file_ownership(void **state)
{
	char dir[] = "/var/tmp/sbox-site.XXXXXX", path[128];
	struct sbox_site s;
	struct sbox_err err = { 0 };

	(void)state;
	skip_unless_root();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sbox.conf", dir);

	write_conf(path, 0644, 0);
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load(&s, path, true, &err), 0);
	assert_int_equal(s.gpus.locality, SBOX_SITE_LOCALITY_YES);
	assert_string_equal(s.path, path);
	sbox_site_free(&s);

	write_conf(path, 0664, 0);
	assert_int_equal(sbox_site_load(&s, path, true, &err), -1);
	assert_non_null(strstr(err.msg, "is writable by its group (mode 0664): refused"));
	sbox_site_free(&s);

	write_conf(path, 0646, 0);
	assert_int_equal(sbox_site_load(&s, path, true, &err), -1);
	assert_non_null(strstr(err.msg, "is writable by others (mode 0646): refused"));
	sbox_site_free(&s);

	write_conf(path, 0644, 65534);
	assert_int_equal(sbox_site_load(&s, path, true, &err), -1);
	assert_non_null(strstr(err.msg, "is owned by uid 65534, not root: refused"));
	sbox_site_free(&s);

	assert_int_equal(unlink(path), 0);
	/* The default file may be absent; a file named on purpose may not. */
	assert_int_equal(sbox_site_load(&s, path, false, &err), 0);
	assert_null(s.path);
	assert_int_equal(sbox_site_load(&s, path, true, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open the site configuration: No such file or directory"));
	sbox_site_free(&s);
	assert_int_equal(sbox_site_load(&s, dir, true, &err), -1);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	sbox_site_free(&s);
	rmdir(dir);
}

/* Discovery from fake /proc, /sys and /dev trees. */

static void test_discover_nvidia_and_amd(void **state)
{
	struct machine *m = machine_new(true);
	struct sbox_gpu_inventory inv;
	const struct sbox_gpu *g;

	(void)state;
	load(m, &inv);
	assert_string_equal(inv.source, "discover");
	assert_int_equal(inv.n, 6);
	/* NVIDIA by PCI bus id; minors don't follow the index. */
	static const struct {
		const char *uuid, *bus, *node;
		unsigned minor;
	} nv[] = {
		{ UUID0, "0000:01:00.0", "nvidia0", 0 },
		{ UUID1, "0000:02:00.0", "nvidia1", 1 },
		{ UUID2, "0000:41:00.0", "nvidia3", 3 },
		{ UUID3, "0000:81:00.0", "nvidia2", 2 },
	};
	for (unsigned i = 0; i < 4; i++) {
		g = &inv.gpus[i];
		assert_int_equal(g->index, i);
		assert_int_equal(g->vendor, SBOX_GPU_NVIDIA);
		assert_string_equal(g->uuid, nv[i].uuid);
		assert_string_equal(g->bus, nv[i].bus);
		assert_int_equal(g->n_nodes, 1);
		assert_string_equal(g->nodes[0].name, nv[i].node);
		assert_true(g->nodes[0].known);
		assert_int_equal(g->nodes[0].major, 195);
		assert_int_equal(g->nodes[0].minor, nv[i].minor);
		assert_int_equal(g->numa_node, 0);
		assert_true(g->cpus[0] != '\0');
	}
	assert_string_equal(inv.gpus[2].model, "NVIDIA Fake GPU 3");
	/* AMD after NVIDIA, in kfd topology order (node 0 is a CPU). */
	g = &inv.gpus[4];
	assert_int_equal(g->index, 4);
	assert_int_equal(g->vendor, SBOX_GPU_AMD);
	assert_int_equal(g->vendor_index, 0);
	assert_string_equal(g->uuid, "GPU-1234567890abcdef");
	assert_string_equal(g->bus, "0000:c3:00.0");
	assert_string_equal(g->nodes[0].name, "dri/renderD128");
	assert_int_equal(g->nodes[0].major, 226);
	assert_int_equal(g->nodes[0].minor, 128);
	assert_int_equal(g->numa_node, 1);
	g = &inv.gpus[5];
	assert_int_equal(g->vendor_index, 1);
	assert_string_equal(g->uuid, "");
	assert_string_equal(g->bus, "0000:c7:00.0");
	/* Shared nodes, with the numbers the drivers registered. */
	assert_int_equal(inv.n_shared, geteuid() == 0 ? 5 : 2);
	assert_string_equal(inv.shared[0].name, "nvidiactl");
	assert_int_equal(inv.shared[0].major, 195);
	assert_int_equal(inv.shared[0].minor, 255);
	assert_true(inv.shared[0].required);
	if (geteuid() == 0) {
		assert_string_equal(inv.shared[2].name, "nvidia-uvm");
		assert_int_equal(inv.shared[2].major, 511);
		assert_int_equal(inv.shared[2].minor, 0);
		assert_string_equal(inv.shared[4].name, "kfd");
		assert_int_equal(inv.shared[4].major, 240);
	}
	assert_false(inv.nvidia_caps);
	sbox_gpu_inventory_free(&inv);
	machine_free(m);
}

static void test_discover_nothing(void **state)
{
	struct sbox_site s;
	struct sbox_gpu_inventory inv;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[GPUs]\nProcRoot=/nonexistent\nSysRoot=/nonexistent\n",
					       "t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), 0);
	assert_int_equal(inv.n, 0);
	assert_int_equal(inv.n_shared, 0);
	sbox_gpu_inventory_free(&inv);
	sbox_site_free(&s);
}

static void test_discover_old_driver_and_errors(void **state)
{
	struct machine *m = machine_new(false);
	struct sbox_gpu_inventory inv;
	struct sbox_err err = { 0 };

	(void)state;
	/* Older drivers register "nvidia-frontend". */
	write_text(path_in(m, "proc/devices"), "Character devices:\n195 nvidia-frontend\n");
	load(m, &inv);
	assert_int_equal(inv.n, 4);
	assert_int_equal(inv.gpus[0].nodes[0].major, 195);
	sbox_gpu_inventory_free(&inv);

	/* GPUs listed, but no major: the driver is half there. */
	write_text(path_in(m, "proc/devices"), "Character devices:\n  1 mem\nBlock devices:\n195 nvidia\n");
	assert_int_equal(sbox_gpu_inventory_load(&inv, &m->site, &err), -1);
	assert_non_null(strstr(err.msg, "GPU inventory: "));
	assert_non_null(strstr(err.msg, "has no 'nvidia' character device major"));

	write_text(path_in(m, "proc/devices"), "Character devices:\n195 nvidia\n");
	write_text(path_in(m, "proc/driver/nvidia/gpus/0000:02:00.0/information"),
		   "Model: X\nBus Location: 0000:02:00.0\nDevice Minor: 1\n");
	assert_int_equal(sbox_gpu_inventory_load(&inv, &m->site, &err), -1);
	assert_non_null(strstr(err.msg, "gpus/0000:02:00.0/information: no 'GPU UUID:' line"));

	write_text(path_in(m, "proc/driver/nvidia/gpus/0000:02:00.0/information"),
		   "GPU UUID: GPU-x\nDevice Minor: 254\n");
	assert_int_equal(sbox_gpu_inventory_load(&inv, &m->site, &err), -1);
	assert_non_null(strstr(err.msg, "no valid 'Device Minor:' line"));
	machine_free(m);
}

static void test_static_inventory(void **state)
{
	struct sbox_site s;
	struct sbox_gpu_inventory inv;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s,
		"[GPUs]\nInventory=static\nDevRoot=/nonexistent\n"
		"GPU=1 GPU-bbbb 0000:3B:00.0 /dev/nvidia1 numa=1 cpus=16-31\n"
		"GPU=0 GPU-aaaa 3a:00.0 nvidia0\n"
		"GPU=7 XPU-1 0000:90:00.0 xpu0,xpu-ctl numa=-1\n",
		"t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), 0);
	assert_string_equal(inv.source, "static");
	assert_int_equal(inv.n, 3);
	assert_int_equal(inv.gpus[0].index, 0);
	assert_string_equal(inv.gpus[0].bus, "0000:3a:00.0");
	assert_int_equal(inv.gpus[0].numa_node, -1);
	assert_int_equal(inv.gpus[1].index, 1);
	assert_string_equal(inv.gpus[1].uuid, "GPU-bbbb");
	assert_string_equal(inv.gpus[1].bus, "0000:3b:00.0");
	assert_string_equal(inv.gpus[1].nodes[0].name, "nvidia1");
	assert_false(inv.gpus[1].nodes[0].known);
	assert_int_equal(inv.gpus[1].numa_node, 1);
	assert_string_equal(inv.gpus[1].cpus, "16-31");
	assert_int_equal(inv.gpus[1].vendor, SBOX_GPU_NVIDIA);
	assert_int_equal(inv.gpus[2].vendor, SBOX_GPU_OTHER);
	assert_int_equal(inv.gpus[2].n_nodes, 2);
	assert_string_equal(inv.gpus[2].nodes[1].name, "xpu-ctl");
	/* nvidiactl is required, so listed even where DevRoot lacks it. */
	assert_int_equal(inv.n_shared, 1);
	assert_string_equal(inv.shared[0].name, "nvidiactl");
	sbox_gpu_inventory_free(&inv);
	sbox_site_free(&s);

	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s,
		"[GPUs]\nInventory=static\nGPU=0 X-1 01:00.0 accel0\nSharedNodes=accel-ctl /dev/accel-mgmt\n",
		"t", &err), 0);
	assert_int_equal(sbox_gpu_inventory_load(&inv, &s, &err), 0);
	assert_int_equal(inv.n_shared, 2);
	assert_string_equal(inv.shared[1].name, "accel-mgmt");
	sbox_gpu_inventory_free(&inv);
	sbox_site_free(&s);
}

/* Selection: what GPUs= names resolved against an inventory. */

static void expect_found(const struct sbox_gpu_inventory *inv, const char *spec, size_t want)
{
	struct sbox_err err = { 0 };
	size_t pos = 99;

	if (sbox_gpu_find(inv, spec, &pos, &err) < 0)
		fail_msg("%s: %s", spec, err.msg);
	if (pos != want)
		fail_msg("%s found GPU %zu, not %zu", spec, pos, want);
}

static void expect_not_found(const struct sbox_gpu_inventory *inv, const char *spec, const char *msg)
{
	struct sbox_err err = { 0 };
	size_t pos = 99;

	assert_int_equal(sbox_gpu_find(inv, spec, &pos, &err), -1);
	assert_int_equal(pos, 99);
	if (!strstr(err.msg, msg))
		fail_msg("%s: '%s' does not contain '%s'", spec, err.msg, msg);
	/* Every error lists the inventory. */
	if (inv->n && !strstr(err.msg, "the GPUs are: 0 " UUID0 " 0000:01:00.0; 1 "))
		fail_msg("%s: '%s' does not list the inventory", spec, err.msg);
}

static void test_find(void **state)
{
	struct machine *m = machine_new(false);
	struct sbox_gpu_inventory inv;

	(void)state;
	load(m, &inv);
	expect_found(&inv, "2", 2);
	expect_found(&inv, "0", 0);
	expect_found(&inv, UUID2, 2);
	expect_found(&inv, "gpu-5E6F7A8B-0000-4000-8000-000000000002", 2);
	expect_found(&inv, "GPU-5e6f", 2);
	expect_found(&inv, "5e6f", 2);
	expect_found(&inv, "c0ffee", 3);
	expect_found(&inv, "GPU-0a1b2", 0);
	expect_found(&inv, "0000:41:00.0", 2);
	expect_found(&inv, "41:00.0", 2);
	expect_found(&inv, "0000:81:00.0", 3);
	expect_found(&inv, "0000:02:00.0", 1);
	expect_not_found(&inv, "4", "no GPU has this index; the GPUs are: ");
	expect_not_found(&inv, "0a1b", "the UUID prefix is ambiguous (2 GPUs match)");
	expect_not_found(&inv, "GPU-0a1b", "the UUID prefix is ambiguous (2 GPUs match)");
	expect_not_found(&inv, "GPU-ffff", "no GPU has this UUID or UUID prefix");
	expect_not_found(&inv, "0000:42:00.0", "no GPU at this PCI bus id");
	expect_not_found(&inv, "42:00.0", "no GPU at this PCI bus id");
	sbox_gpu_inventory_free(&inv);

	memset(&inv, 0, sizeof(inv));
	inv.source = "discover";
	expect_not_found(&inv, "0", "this machine has no GPUs (inventory: discover");
	machine_free(m);
}

/* --list-gpus output, table and JSON. */

static char *print(const struct sbox_gpu_inventory *inv, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	sboxrun_gpu_list_print(inv, json, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_print(void **state)
{
	struct machine *m = machine_new(true);
	struct sbox_gpu_inventory inv;
	char *text, *json, line[512], want[768];

	(void)state;
	load(m, &inv);
	text = print(&inv, false);
	assert_non_null(strstr(text, "INDEX VENDOR  UUID"));
	snprintf(line, sizeof(line), "%-5u %-7s %-40s %-12s %-4s %-10s /dev/nvidia3\n", 2u, "nvidia",
		 UUID2, "0000:41:00.0", "0", inv.gpus[2].cpus);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "/dev/dri/renderD129\n"));
	assert_non_null(strstr(text, "shared nodes: /dev/nvidiactl"));
	json = print(&inv, true);
	snprintf(want, sizeof(want),
		 "{\"index\":2,\"vendor\":\"nvidia\",\"uuid\":\"%s\",\"bus_id\":\"0000:41:00.0\","
		 "\"model\":\"NVIDIA Fake GPU 3\",\"numa_node\":0,\"local_cpus\":\"%s\",\"nodes\":[\"/dev/nvidia3\"]}",
		 UUID2, inv.gpus[2].cpus);
	if (!strstr(json, want))
		fail_msg("%s lacks %s", json, want);
	assert_ptr_equal(strstr(json, "{\"source\":\"discover\",\"dev_root\":\""), json);
	assert_non_null(strstr(json, "\"shared_nodes\":[\"/dev/nvidiactl\""));
	assert_non_null(strstr(json, "],\"mig_caps\":false}\n"));
	free(text);
	free(json);
	sbox_gpu_inventory_free(&inv);
	machine_free(m);

	memset(&inv, 0, sizeof(inv));
	inv.source = "static";
	inv.dev_root = (char *)"/dev";
	text = print(&inv, false);
	assert_string_equal(text, "no GPUs (inventory: static)\n");
	free(text);
	json = print(&inv, true);
	assert_string_equal(json, "{\"source\":\"static\",\"dev_root\":\"/dev\",\"gpus\":[],\"shared_nodes\":[],\"mig_caps\":false}\n");
	free(json);
}

/* The grant: the nodes a granted GPU brings into the sandbox. */

static void policy_with(struct sbox_policy *p, const char *const *settings)
{
	struct sbox_err err = { 0 };

	sbox_policy_init(p);
	for (size_t i = 0; settings[i]; i += 2)
		if (sbox_policy_set(p, settings[i], settings[i + 1], &err) < 0)
			fail_msg("%s", err.msg);
}

static const char *env_of(const struct sbox_gpu_grant *g, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; g->env && g->env[i]; i++)
		if (strncmp(g->env[i], name, len) == 0 && g->env[i][len] == '=')
			return g->env[i] + len + 1;
	return NULL;
}

static bool cpu_set(const struct sbox_gpu_grant *g, unsigned cpu)
{
	return g->cpus[cpu / 8] & (1u << (cpu % 8));
}

/* As a launcher does: the inventory read once, GPUs= resolved into a
 * selection, the grant made of the selection (none without GPUs=). */
static int grant_of(struct sbox_gpu_grant *g, const struct sbox_policy *p,
		    const struct sbox_site *site, struct sbox_err *err)
{
	struct sbox_gpu_inventory inv;
	struct sbox_gpu_selection sel;
	unsigned idx[16];
	int r;

	sbox_gpu_grant_init(g);
	if (p->devices.gpus.n == 0)
		return sbox_gpu_grant_prepare(g, NULL, p, site, err);
	assert_true(p->devices.gpus.n <= 16);
	if (sbox_gpu_inventory_load(&inv, site, err) < 0)
		return -1;
	r = sbox_gpu_select(&sel, &inv, p, idx, err);
	if (r == 0)
		r = sbox_gpu_grant_prepare(g, &sel, p, site, err);
	sbox_gpu_inventory_free(&inv);
	return r;
}

static void test_grant_gpu2(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	static const char *const set[] = { "GPUs", "2", NULL };
	static const char *const want[] = { "nvidia3", "nvidiactl", "nvidia-modeset", "nvidia-uvm",
					    "nvidia-uvm-tools" };

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	policy_with(&p, set);
	if (grant_of(&g, &p, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.gpus[0].uuid, UUID2);
	assert_int_equal(g.n_nodes, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(g.nodes[i].name, want[i]);
	assert_int_equal(g.nodes[0].major, 195);
	assert_int_equal(g.nodes[0].minor, 3);
	assert_int_equal(g.nodes[3].major, 511);
	assert_string_equal(g.dev_root, path_in(m, "dev"));
	assert_string_equal(env_of(&g, "CUDA_VISIBLE_DEVICES"), UUID2);
	assert_string_equal(env_of(&g, "NVIDIA_VISIBLE_DEVICES"), UUID2);
	assert_null(env_of(&g, "ROCR_VISIBLE_DEVICES"));
	assert_true(g.nvidia);
	assert_string_equal(g.nv_proc_dir, path_in(m, "proc/driver/nvidia"));
	assert_non_null(strstr(g.nv_params, "\nModifyDeviceFiles: 0\nDeviceFileUID: 0\n"));
	assert_null(strstr(g.nv_params, "ModifyDeviceFiles: 1"));
	assert_non_null(strstr(g.nv_version, "sbox fake"));
	assert_non_null(g.nv_registry);
	/* Locality, by default: GPU 2's CPU (the machine's last) and node 0. */
	assert_true(g.pin);
	assert_true(g.has_mems);
	assert_true(g.mems[0] == 1);
	unsigned last = 0, n_set = 0;
	for (unsigned c = 0; c < SBOX_GPU_MAX_CPUS; c++)
		if (cpu_set(&g, c)) {
			last = c;
			n_set++;
		}
	assert_int_equal(n_set, 1);
	assert_int_equal((unsigned)atoi(g.gpus[0].cpus), last);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	machine_free(m);
}

static void test_grant_several_and_dedup(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	static const char *const set[] = { "GPUs", "3 0", "GPUs", UUID3, "GPUs", "0000:01:00.0",
					   "GPULocality", "no", NULL };

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	policy_with(&p, set);
	if (grant_of(&g, &p, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
	/* In the policy's order, each GPU once; shared nodes once. */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.gpus[0].index, 3);
	assert_int_equal(g.gpus[1].index, 0);
	assert_int_equal(g.n_nodes, 6);
	assert_string_equal(g.nodes[0].name, "nvidia2");
	assert_string_equal(g.nodes[1].name, "nvidia0");
	assert_string_equal(env_of(&g, "CUDA_VISIBLE_DEVICES"), UUID3 "," UUID0);
	assert_false(g.pin);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	machine_free(m);
}

static void test_grant_locality_site_default(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	static const char *const set[] = { "GPUs", "1", NULL };
	static const char *const yes[] = { "GPUs", "1", "GPULocality", "yes", NULL };

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	m->site.gpus.locality = SBOX_SITE_LOCALITY_NO;
	policy_with(&p, set);
	assert_int_equal(grant_of(&g, &p, &m->site, &err), 0);
	assert_false(g.pin);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	/* auto: pinned, unless the policy chose its CPUs (AllowedCPUs=). */
	m->site.gpus.locality = SBOX_SITE_LOCALITY_AUTO;
	policy_with(&p, set);
	assert_int_equal(grant_of(&g, &p, &m->site, &err), 0);
	assert_true(g.pin);
	sbox_gpu_grant_free(&g);
	p.res.allowed_cpus = (char *)"0";
	assert_int_equal(grant_of(&g, &p, &m->site, &err), 0);
	assert_false(g.pin);
	p.res.allowed_cpus = NULL;
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	m->site.gpus.locality = SBOX_SITE_LOCALITY_NO;
	/* The policy's word wins over the site's default. */
	policy_with(&p, yes);
	assert_int_equal(grant_of(&g, &p, &m->site, &err), 0);
	assert_true(g.pin);
	sbox_gpu_grant_free(&g);
	/* Unknown local CPUs: no pinning at all rather than a wrong one. */
	write_text(path_in(m, "sys/bus/pci/devices/0000:02:00.0/local_cpulist"), "");
	assert_int_equal(grant_of(&g, &p, &m->site, &err), 0);
	assert_false(g.pin);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	machine_free(m);
}

static void test_grant_amd(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	static const char *const set[] = { "GPUs", "5,4", NULL };

	(void)state;
	skip_unless_root();
	m = machine_new(true);
	policy_with(&p, set);
	if (grant_of(&g, &p, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(g.n_nodes, 3);
	assert_string_equal(g.nodes[0].name, "dri/renderD129");
	assert_string_equal(g.nodes[1].name, "dri/renderD128");
	assert_string_equal(g.nodes[2].name, "kfd");
	assert_int_equal(g.nodes[2].major, 240);
	/* No UUID for the second AMD GPU: its position among AMD GPUs. */
	assert_string_equal(env_of(&g, "ROCR_VISIBLE_DEVICES"), "1,GPU-1234567890abcdef");
	assert_null(env_of(&g, "CUDA_VISIBLE_DEVICES"));
	assert_false(g.nvidia);
	assert_true(g.mems[0] == 2);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	machine_free(m);
}

static void expect_grant_error(struct machine *m, const char *gpus, const char *msg)
{
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	const char *const set[] = { "GPUs", gpus, NULL };

	policy_with(&p, set);
	assert_int_equal(grant_of(&g, &p, &m->site, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	assert_null(g.gpus);
	sbox_policy_free(&p);
}

static void test_grant_errors(void **state)
{
	struct machine *m;

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	expect_grant_error(m, "9", "GPUs=9: no GPU has this index; the GPUs are: 0 " UUID0);
	expect_grant_error(m, "0a1b", "GPUs=0a1b: the UUID prefix is ambiguous");
	/* A node that is not what the driver says is refused, not bound. */
	assert_int_equal(unlink(path_in(m, "dev/nvidia3")), 0);
	assert_int_equal(mknod(path_in(m, "dev/nvidia3"), S_IFCHR | 0666, makedev(195, 2)), 0);
	expect_grant_error(m, "2", "GPU 2 (" UUID2 "): ");
	expect_grant_error(m, "2", "dev/nvidia3 is device 195:2, but the driver says 195:3: refused");
	assert_int_equal(unlink(path_in(m, "dev/nvidia3")), 0);
	write_text(path_in(m, "dev/nvidia3"), "");
	expect_grant_error(m, "2", "dev/nvidia3 is not a character device");
	assert_int_equal(unlink(path_in(m, "dev/nvidia3")), 0);
	expect_grant_error(m, "2", "dev/nvidia3 (is the driver loaded and its nodes made");
	/* The shared control node is required; the others are optional. */
	assert_int_equal(unlink(path_in(m, "dev/nvidiactl")), 0);
	expect_grant_error(m, "1", "GPU driver: device node ");
	machine_free(m);
}

static void test_grant_none(void **state)
{
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	struct sbox_site s;

	(void)state;
	/* No GPUs named: nothing is read, even from a site that can't be. */
	sbox_site_init(&s);
	s.gpus.proc_root = strdup("/nonexistent");
	sbox_policy_init(&p);
	assert_int_equal(grant_of(&g, &p, &s, &err), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.n_nodes, 0);
	assert_null(g.env);
	assert_false(g.pin);
	sbox_gpu_grant_free(&g);
	sbox_policy_free(&p);
	sbox_site_free(&s);
}

/* The grant takes the launcher's selection and never the policy's GPUs=
 * text: a client's words can't add a GPU the launcher did not choose
 * (sboxd's leases, sboxrun's --gpus N). */
static void test_grant_takes_the_selection(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_grant g;
	struct sbox_gpu_inventory inv;
	struct sbox_err err = { 0 };
	static const char *const set[] = { "GPUs", "0", NULL };
	const unsigned two[] = { 2 }, past[] = { 7 };
	struct sbox_gpu_selection sel = { .inv = &inv, .idx = two, .n = 1 };

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	policy_with(&p, set);
	if (sbox_gpu_inventory_load(&inv, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
	if (sbox_gpu_grant_prepare(&g, &sel, &p, &m->site, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.gpus[0].uuid, UUID2);
	assert_string_equal(env_of(&g, "CUDA_VISIBLE_DEVICES"), UUID2);
	sbox_gpu_grant_free(&g);
	/* An empty selection grants nothing, whatever GPUs= says. */
	sel.n = 0;
	assert_int_equal(sbox_gpu_grant_prepare(&g, &sel, &p, &m->site, &err), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.n_nodes, 0);
	/* A position past the inventory is refused, not read. */
	sel = (struct sbox_gpu_selection){ .inv = &inv, .idx = past, .n = 1 };
	assert_int_equal(sbox_gpu_grant_prepare(&g, &sel, &p, &m->site, &err), -1);
	assert_non_null(strstr(err.msg, "granting GPU 7: the inventory has 4 GPUs"));
	assert_null(g.gpus);
	/* GPUs= without a selection: refused, never resolved here. */
	assert_int_equal(sbox_gpu_grant_prepare(&g, NULL, &p, &m->site, &err), -1);
	assert_non_null(strstr(err.msg, "GPUs=0: the launcher passed no GPU selection"));
	assert_null(g.gpus);
	sbox_gpu_inventory_free(&inv);
	sbox_policy_free(&p);
	machine_free(m);
}

/* sboxrun in direct mode: GPUs= or --gpus N resolved once, against the
 * site's inventory, into the selection the launch hands to the grant. */
static void expect_direct(const struct sbox_cli *cli, const char *const *set, const char *what,
			  const struct machine *m, const char *msg)
{
	struct sbox_policy p;
	struct sboxrun_gpus g = { 0 };
	const struct sbox_gpu_selection *sel;
	struct sbox_err err = { 0 };

	policy_with(&p, set);
	assert_int_equal(sboxrun_direct_gpus(cli, &p, &m->site, &g, what, &sel, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	sboxrun_gpus_free(&g);
	sbox_policy_free(&p);
}

static void test_direct_gpus(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sboxrun_gpus g = { 0 };
	const struct sbox_gpu_selection *sel;
	struct sbox_err err = { 0 };
	struct sbox_cli cli = { 0 };
	static const char *const none[] = { NULL };
	static const char *const named[] = { "GPUs", "3 0", "GPUs", UUID3, NULL };
	static const char *const zero[] = { "GPUs", "0", NULL };

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	/* No GPU asked for: no selection, nothing read. */
	policy_with(&p, none);
	assert_int_equal(sboxrun_direct_gpus(&cli, &p, &m->site, &g, NULL, &sel, &err), 0);
	assert_null(sel);
	assert_false(g.choice.loaded);
	/* --gpus N: the first N, no leases. */
	cli.gpus = 2;
	if (sboxrun_direct_gpus(&cli, &p, &m->site, &g, NULL, &sel, &err) < 0)
		fail_msg("%s", err.msg);
	assert_ptr_equal(sel, &g.choice.sel);
	assert_ptr_equal(sel->inv, &g.choice.inv);
	assert_int_equal(sel->n, 2);
	assert_int_equal(sel->idx[0], 0);
	assert_int_equal(sel->idx[1], 1);
	assert_int_equal(p.devices.gpus.n, 0);   /* the policy is not rewritten */
	sboxrun_gpus_free(&g);
	sbox_policy_free(&p);
	/* GPUs=: each GPU once, in the order named. */
	cli.gpus = 0;
	policy_with(&p, named);
	if (sboxrun_direct_gpus(&cli, &p, &m->site, &g, NULL, &sel, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(sel->n, 2);
	assert_int_equal(sel->idx[0], 3);
	assert_int_equal(sel->idx[1], 0);
	assert_int_equal(p.devices.gpus.n, 3);   /* the text as written */
	sboxrun_gpus_free(&g);
	sbox_policy_free(&p);
	cli.gpus = 5;
	expect_direct(&cli, none, NULL, m, "--gpus 5: this machine has 4 GPUs");
	cli.gpus = 1;
	expect_direct(&cli, zero, NULL, m, "--gpus 1 and GPUs=0 both given: ask for a number or name them");
	cli.gpus = 0;
	expect_direct(&cli, (const char *const[]){ "GPUs", "9", NULL }, NULL, m,
		      "GPUs=9: no GPU has this index");
	/* An unprivileged sboxrun has no device cgroup to give: refused in
	 * the words the launch used when GPUs= was written back (after the
	 * inventory is read, as then: the fake machine made readable). */
	assert_int_equal(chmod(m->dir, 0755), 0);
	assert_int_equal(seteuid(65534), 0);
	cli.gpus = 1;
	expect_direct(&cli, none, NULL, m,
		      "GPUs=" UUID0 ": granting a GPU needs a device cgroup, which only root can set up");
	expect_direct(&cli, none, "--check=host", m,
		      "--check=host: GPUs=" UUID0 ": granting a GPU needs a device cgroup");
	cli.gpus = 0;
	expect_direct(&cli, zero, NULL, m, "GPUs=0: granting a GPU needs a device cgroup");
	assert_int_equal(seteuid(0), 0);
	machine_free(m);
}

/* The library's own word, not only sboxrun's: a non-root caller of
 * sbox_spawn() that hands it a selection (--gpus N leaves GPUs= empty)
 * would get GPU nodes in /dev with no device cgroup behind the grant. */
static void test_spawn_refuses_unprivileged_gpus(void **state)
{
	struct machine *m;
	struct sbox_policy p;
	struct sbox_gpu_choice c = { 0 };
	const struct sbox_gpu_selection *sel = NULL;
	struct sbox_child *child = NULL;
	struct sbox_err err = { 0 };
	char *argv[] = { "/bin/true", NULL };
	struct sbox_launch l = { .argv = argv, .stdio = { -1, -1, -1 } };
	static const char *const none[] = { NULL };
	int r;

	(void)state;
	skip_unless_root();
	m = machine_new(false);
	policy_with(&p, none);
	if (sbox_gpu_choose_first(&c, 1, &m->site, &sel, &err) < 0)
		fail_msg("%s", err.msg);
	l.site = &m->site;
	l.gpus = sel;
	l.caller_uid = 65534;
	l.caller_gid = 65534;
	assert_int_equal(chmod(m->dir, 0755), 0);
	assert_int_equal(seteuid(65534), 0);
	r = sbox_spawn(&p, &l, &child, &err);
	assert_int_equal(seteuid(0), 0);
	sbox_child_free(child);
	assert_int_equal(r, -1);
	if (!strstr(err.msg, "GPUs=" UUID0 ": granting a GPU needs a device cgroup, which only root can set up"))
		fail_msg("'%s' is not the refusal", err.msg);
	sbox_gpu_choice_free(&c);
	sbox_policy_free(&p);
	machine_free(m);
}

static void test_grant_env(void **state)
{
	struct sbox_gpu_grant g;
	struct sbox_err err = { 0 };
	char **env = calloc(4, sizeof(char *));
	char *add[] = { "CUDA_VISIBLE_DEVICES=GPU-x", "NVIDIA_VISIBLE_DEVICES=GPU-x", NULL };

	(void)state;
	assert_non_null(env);
	env[0] = strdup("PATH=/bin");
	env[1] = strdup("CUDA_VISIBLE_DEVICES=0");
	sbox_gpu_grant_init(&g);
	g.env = add;
	/* The grant's word is final: a policy's Environment= can't point
	 * CUDA at another GPU's index. */
	assert_int_equal(sbox_gpu_grant_env(&g, &env, &err), 0);
	assert_string_equal(env[0], "PATH=/bin");
	assert_string_equal(env[1], "CUDA_VISIBLE_DEVICES=GPU-x");
	assert_string_equal(env[2], "NVIDIA_VISIBLE_DEVICES=GPU-x");
	assert_null(env[3]);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_site_defaults),
		cmocka_unit_test(test_site_keys),
		cmocka_unit_test(test_site_errors),
		cmocka_unit_test(test_dev_root_below_staging),
		cmocka_unit_test(test_site_file_ownership),
		cmocka_unit_test(test_discover_nvidia_and_amd),
		cmocka_unit_test(test_discover_nothing),
		cmocka_unit_test(test_discover_old_driver_and_errors),
		cmocka_unit_test(test_static_inventory),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_grant_gpu2),
		cmocka_unit_test(test_grant_several_and_dedup),
		cmocka_unit_test(test_grant_locality_site_default),
		cmocka_unit_test(test_grant_amd),
		cmocka_unit_test(test_grant_errors),
		cmocka_unit_test(test_grant_none),
		cmocka_unit_test(test_grant_takes_the_selection),
		cmocka_unit_test(test_direct_gpus),
		cmocka_unit_test(test_spawn_refuses_unprivileged_gpus),
		cmocka_unit_test(test_grant_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
