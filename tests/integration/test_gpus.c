/* SPDX-License-Identifier: MIT */
/*
 * GPUs, seen from inside real sandboxes on a fake GPU machine
 * (tests/fixtures/fake-gpus.sh: four NVIDIA GPUs, nodes with major 195 and no
 * driver behind them).  The site configuration — root-owned, named with
 * --site-config — points the inventory at the fake procfs, sysfs and dev
 * directories; nothing a client sets could.
 *
 * The proof that the kernel enforces the grant: a node passed in as an
 * O_PATH descriptor is reopened through /proc/self/fd inside.  The granted
 * GPU's node gives ENXIO (the device cgroup let the open through, and no
 * driver answers), another GPU's node gives EPERM (the device cgroup).
 *
 * Needs root (mknod, device cgroups); skipped as an unprivileged user.
 */
#include "tests/integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/fake-gpus.sh"
#define UUID0 "GPU-0a1b2c3d-0000-4000-8000-000000000000"
#define UUID2 "GPU-5e6f7a8b-0000-4000-8000-000000000002"
#define UUID3 "GPU-c0ffee00-0000-4000-8000-000000000003"
#define GPU_NODES_OF_2 "nvidia-modeset nvidia-uvm nvidia-uvm-tools nvidia3 nvidiactl"

struct fake {
	char *dir;
	char conf[512];
	char dev[512];
};

static struct fake fake;

static int setup(void **state)
{
	char cmd[1024], text[2048];

	(void)state;
	if (!running_as_root())
		return 0;
	if (access(FIXTURE, R_OK) < 0) {
		fprintf(stderr, "test_gpus: %s not found: run from the repository's root\n", FIXTURE);
		return -1;
	}
	fake.dir = make_tempdir();
	snprintf(cmd, sizeof(cmd), "sh %s %s", FIXTURE, fake.dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(fake.conf, sizeof(fake.conf), "%s/sbox.conf", fake.dir);
	snprintf(fake.dev, sizeof(fake.dev), "%s/dev", fake.dir);
	snprintf(text, sizeof(text), "[GPUs]\nProcRoot=%s/proc\nSysRoot=%s/sys\nDevRoot=%s/dev\n",
		 fake.dir, fake.dir, fake.dir);
	write_text(fake.conf, text);
	return chmod(fake.conf, 0644);
}

static int teardown(void **state)
{
	(void)state;
	if (fake.dir) {
		rm_rf(fake.dir);
		free(fake.dir);
	}
	return 0;
}

static void need_root(void)
{
	if (!running_as_root())
		skip_because("GPU tests need root: mknod'd nodes and a device cgroup");
}

/* The machine's first and last online CPU: the fixture's GPUs 0-1 and 2-3
 * are local to them. */
static void online_cpus(int *first, int *last)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	char buf[256];

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	*first = atoi(buf);
	char *end = buf + strcspn(buf, "\n");
	while (end > buf && (end[-1] >= '0' && end[-1] <= '9'))
		end--;
	*last = atoi(end);
}

/* A shell script inside the sandbox; "q TAG PROBE-ARGS" prefixes the
 * probe's keys with TAG, so that one sandbox answers several questions. */
static void run_script(struct run_result *r, const struct run_opts *o, const char *const *flags,
		       const char *script)
{
	const char *args[64];
	char body[8192];
	size_t n = 0;

	snprintf(body, sizeof(body),
		 "P='%s'\nq() { t=$1; shift; \"$P\" \"$@\" | sed \"s/^/$t./\"; }\n%s",
		 probe_path(), script);
	args[n++] = "--site-config";
	args[n++] = fake.conf;
	for (size_t i = 0; flags[i]; i++)
		args[n++] = flags[i];
	args[n++] = "--";
	args[n++] = "/bin/sh";
	args[n++] = "-c";
	args[n++] = body;
	args[n] = NULL;
	run_sboxv(r, o, args);
}

static void run_report(struct run_result *r, const char *const *flags)
{
	run_script(r, NULL, flags, "exec \"$P\" report");
}

/* The dev= list of a run with GPUs is the list without, plus these. */
static void assert_dev_adds(const struct run_result *with, const char *nodes)
{
	static const char *const none[] = { NULL };
	struct run_result base;
	char *names[64], *want = NULL, *dev_base, *dev;
	size_t n = 0, len = 0;
	char *copy;

	run_report(&base, none);
	assert_exit(&base, 0);
	dev_base = kv_get(base.out, "dev");
	dev = kv_get(with->out, "dev");
	assert_non_null(dev_base);
	assert_non_null(dev);
	assert_null(strstr(dev_base, "nvidia"));
	copy = malloc(strlen(dev_base) + strlen(nodes) + 2);
	assert_non_null(copy);
	sprintf(copy, "%s %s", dev_base, nodes);
	for (char *tok = strtok(copy, " "); tok && n < 64; tok = strtok(NULL, " "))
		names[n++] = tok;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	want = calloc(1, strlen(dev_base) + strlen(nodes) + 2);
	assert_non_null(want);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(want + len, "%s%s", i ? " " : "", names[i]);
	if (strcmp(dev, want) != 0) {
		dump_result(with);
		fail_msg("dev=%s, expected %s", dev, want);
	}
	free(copy);
	free(want);
	free(dev);
	free(dev_base);
	run_result_free(&base);
}

/* --list-gpus shows the inventory a launch would choose from. */

static void test_list_gpus(void **state)
{
	struct run_result r;
	char line[512];
	int first, last;

	(void)state;
	need_root();
	online_cpus(&first, &last);
	run_sbox(&r, NULL, "--site-config", fake.conf, "--list-gpus", NULL);
	assert_exit(&r, 0);
	snprintf(line, sizeof(line), "2     nvidia  %-40s 0000:41:00.0 0    %-10d /dev/nvidia3", UUID2, last);
	assert_line(&r, line);
	snprintf(line, sizeof(line), "3     nvidia  %-40s 0000:81:00.0 0    %-10d /dev/nvidia2", UUID3, last);
	assert_line(&r, line);
	assert_line(&r, "shared nodes: /dev/nvidiactl /dev/nvidia-modeset /dev/nvidia-uvm /dev/nvidia-uvm-tools");
	run_result_free(&r);

	run_sbox(&r, NULL, "--site-config", fake.conf, "--list-gpus", "--json", NULL);
	assert_exit(&r, 0);
	snprintf(line, sizeof(line),
		 "{\"index\":2,\"vendor\":\"nvidia\",\"uuid\":\"%s\",\"bus_id\":\"0000:41:00.0\","
		 "\"model\":\"NVIDIA Fake GPU 3\",\"numa_node\":0,\"local_cpus\":\"%d\",\"nodes\":[\"/dev/nvidia3\"]}",
		 UUID2, last);
	if (!strstr(r.out, line))
		fail_msg("%s lacks %s", r.out, line);
	assert_non_null(strstr(r.out, "\"shared_nodes\":[\"/dev/nvidiactl\",\"/dev/nvidia-modeset\","));
	run_result_free(&r);
}

/* What --gpu 2 sees: its own GPU's nodes and nothing of the others. */

static void test_gpu2_view(void **state)
{
	static const char *const flags[] = { "--gpu", "2", NULL };
	struct run_result r;
	char want[32];
	int first, last;

	(void)state;
	need_root();
	online_cpus(&first, &last);
	run_report(&r, flags);
	assert_exit(&r, 0);
	/* Its own node (GPU 2 is the driver's minor 3) and the shared ones. */
	assert_dev_adds(&r, GPU_NODES_OF_2);
	/* CUDA and NVIDIA's tooling name it by UUID. */
	assert_line(&r, "env.CUDA_VISIBLE_DEVICES=" UUID2);
	assert_line(&r, "env.NVIDIA_VISIBLE_DEVICES=" UUID2);
	assert_null(kv_get(r.out, "env.ROCR_VISIBLE_DEVICES"));
	/* Pinned to its local CPU (GPULocality= by default). */
	snprintf(want, sizeof(want), "cpus_allowed=%d", last);
	assert_line(&r, want);
	run_result_free(&r);
}

static void test_proc_driver_nvidia_masked(void **state)
{
	static const char *const flags[] = { "--gpu", "2", NULL };
	struct run_result r;

	(void)state;
	need_root();
	run_script(&r, NULL, flags,
		   "cd /proc/driver/nvidia && find . | sort | sed 's/^/entry=/'\n"
		   "grep ModifyDeviceFiles params | sed 's/: /=/'\n"
		   "sed -n 's/^GPU UUID:[[:space:]]*/uuid=/p' gpus/*/information\n"
		   "q add write /proc/driver/nvidia/gpus/0000:01:00.0\n"
		   "q change write /proc/driver/nvidia/gpus/0000:41:00.0/information\n");
	assert_exit(&r, 0);
	/* Only GPU 2's entry; version and registry as the driver has them. */
	assert_int_equal(count_prefix(r.out, "entry="), 7);
	assert_line(&r, "entry=.");
	assert_line(&r, "entry=./gpus");
	assert_line(&r, "entry=./gpus/0000:41:00.0");
	assert_line(&r, "entry=./gpus/0000:41:00.0/information");
	assert_line(&r, "entry=./params");
	assert_line(&r, "entry=./registry");
	assert_line(&r, "entry=./version");
	/* The driver's library must not make nodes inside. */
	assert_line(&r, "ModifyDeviceFiles=0");
	assert_line(&r, "uuid=" UUID2);
	assert_line(&r, "add.write=EROFS");
	assert_line(&r, "change.write=EROFS");
	run_result_free(&r);
}

/* The kernel refuses what was not granted. */

struct fds {
	char paths[3][600];
};

static void open_path_fds(void *arg)
{
	const struct fds *f = arg;

	/* O_PATH: a node with no driver can't be opened for real, but it can
	 * be referred to, and reopened inside through /proc/self/fd. */
	for (int i = 0; i < 3; i++) {
		int fd = open(f->paths[i], O_PATH);

		if (fd < 0 || dup2(fd, 3 + i) < 0)
			_exit(98);
		if (fd != 3 + i)
			close(fd);
	}
}

static const char *const passfd_script =
	"q own open /dev/nvidia3 rw\n"
	"q ctl open /dev/nvidiactl rw\n"
	"q uvm open /dev/nvidia-uvm rw\n"
	"q hidden open /dev/nvidia2 rw\n"
	"q ownfd open /proc/self/fd/3 rw\n"
	"q otherfd open /proc/self/fd/4 rw\n"
	"q gpu0fd open /proc/self/fd/5 r\n";

static void test_other_gpu_refused_by_kernel(void **state)
{
	static const char *const flags[] = { "--gpu", "2", "--pass-fd", "3", "--pass-fd", "4",
					     "--pass-fd", "5", NULL };
	struct fds f;
	struct run_opts o = { .pre_exec = open_path_fds, .arg = &f };
	struct run_result r;

	(void)state;
	need_root();
	snprintf(f.paths[0], sizeof(f.paths[0]), "%s/nvidia3", fake.dev);  /* GPU 2's */
	snprintf(f.paths[1], sizeof(f.paths[1]), "%s/nvidia2", fake.dev);  /* GPU 3's */
	snprintf(f.paths[2], sizeof(f.paths[2]), "%s/nvidia0", fake.dev);  /* GPU 0's */
	run_script(&r, &o, flags, passfd_script);
	assert_exit(&r, 0);
	/* Granted: the cgroup lets the open through; no driver answers. */
	assert_line(&r, "own.open=ENXIO");
	assert_line(&r, "ctl.open=ENXIO");
	assert_line(&r, "uvm.open=ENXIO");
	assert_line(&r, "ownfd.open=ENXIO");
	/* Not granted: not in /dev ... */
	assert_line(&r, "hidden.open=ENOENT");
	/* ... and refused by the device cgroup when it shows up anyway. */
	assert_line(&r, "otherfd.open=EPERM");
	assert_line(&r, "gpu0fd.open=EPERM");
	run_result_free(&r);
}

/* A node a policy binds in is refused by the kernel too: read-only binds keep
 * device nodes, so the device cgroup decides (EPERM for GPU 0's node, ENXIO
 * for the granted GPU 2's); a writable bind is nodev (EACCES). */
static void test_bound_in_node_refused(void **state)
{
	char other[600], mine[600], rw[600];
	struct run_result r;

	(void)state;
	need_root();
	snprintf(other, sizeof(other), "%s/nvidia0:/tmp/gpu0", fake.dev);
	snprintf(mine, sizeof(mine), "%s/nvidia3:/tmp/gpu2", fake.dev);
	snprintf(rw, sizeof(rw), "%s/nvidia0:/tmp/gpu0rw", fake.dev);
	run_sbox(&r, NULL, "--site-config", fake.conf, "--gpu", "2", "--ro-bind", other,
		 probe_path(), "open", "/tmp/gpu0", "rw", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "open=EPERM");
	run_result_free(&r);
	run_sbox(&r, NULL, "--site-config", fake.conf, "--gpu", "2", "--ro-bind", mine,
		 probe_path(), "open", "/tmp/gpu2", "rw", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "open=ENXIO");
	run_result_free(&r);
	run_sbox(&r, NULL, "--site-config", fake.conf, "--gpu", "2", "--bind", rw,
		 probe_path(), "open", "/tmp/gpu0rw", "rw", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "open=EACCES");
	run_result_free(&r);
}

static void test_no_gpu_refuses_all(void **state)
{
	static const char *const flags[] = { "--pass-fd", "3", "--pass-fd", "4", "--pass-fd", "5", NULL };
	struct fds f;
	struct run_opts o = { .pre_exec = open_path_fds, .arg = &f };
	struct run_result r;

	(void)state;
	need_root();
	snprintf(f.paths[0], sizeof(f.paths[0]), "%s/nvidia3", fake.dev);
	snprintf(f.paths[1], sizeof(f.paths[1]), "%s/nvidiactl", fake.dev);
	snprintf(f.paths[2], sizeof(f.paths[2]), "%s/nvidia-uvm", fake.dev);
	run_script(&r, &o, flags,
		   "q own open /dev/nvidia3 rw\n"
		   "q fd3 open /proc/self/fd/3 rw\n"
		   "q fd4 open /proc/self/fd/4 rw\n"
		   "q fd5 open /proc/self/fd/5 r\n"
		   "q null open /dev/null rw\n");
	assert_exit(&r, 0);
	/* No GPU unless named: the same node that gave ENXIO above. */
	assert_line(&r, "own.open=ENOENT");
	assert_line(&r, "fd3.open=EPERM");
	assert_line(&r, "fd4.open=EPERM");
	assert_line(&r, "fd5.open=EPERM");
	assert_line(&r, "null.open=ok");
	run_result_free(&r);
}

/* Selection: index, UUID and bus id name the same GPU; ambiguity is refused. */

static void expect_selected(const char *spec, const char *uuid, const char *node)
{
	const char *const flags[] = { "--gpu", spec, NULL };
	struct run_result r;
	char line[160], *dev;

	run_report(&r, flags);
	assert_exit(&r, 0);
	snprintf(line, sizeof(line), "env.CUDA_VISIBLE_DEVICES=%s", uuid);
	assert_line(&r, line);
	dev = kv_get(r.out, "dev");
	assert_non_null(dev);
	snprintf(line, sizeof(line), " %s ", node);
	if (!strstr(dev, line)) {
		dump_result(&r);
		fail_msg("--gpu %s: dev=%s lacks %s", spec, dev, node);
	}
	/* Exactly one GPU node. */
	size_t gpus = 0;
	for (const char *p = dev; (p = strstr(p, " nvidia")); p++)
		gpus += p[7] >= '0' && p[7] <= '9';
	assert_int_equal(gpus, 1);
	free(dev);
	run_result_free(&r);
}

static void test_select_by_uuid_and_bus(void **state)
{
	(void)state;
	need_root();
	expect_selected("GPU-5e6f", UUID2, "nvidia3");
	expect_selected("5E6F7A8B", UUID2, "nvidia3");
	expect_selected(UUID3, UUID3, "nvidia2");
	expect_selected("c0ffee", UUID3, "nvidia2");
	expect_selected("0000:81:00.0", UUID3, "nvidia2");
	expect_selected("41:00.0", UUID2, "nvidia3");
	expect_selected("0", UUID0, "nvidia0");
}

static void test_two_gpus(void **state)
{
	static const char *const flags[] = { "--gpu", "3", "--set", "GPUs=0", NULL };
	struct run_result r;
	char want[64];
	int first, last;

	(void)state;
	need_root();
	online_cpus(&first, &last);
	run_report(&r, flags);
	assert_exit(&r, 0);
	/* In the order named; both GPUs' local CPUs. */
	assert_line(&r, "env.CUDA_VISIBLE_DEVICES=" UUID3 "," UUID0);
	assert_dev_adds(&r, "nvidia-modeset nvidia-uvm nvidia-uvm-tools nvidia0 nvidia2 nvidiactl");
	if (first == last)
		snprintf(want, sizeof(want), "cpus_allowed=%d", first);
	else
		snprintf(want, sizeof(want), last == first + 1 ? "cpus_allowed=%d-%d" : "cpus_allowed=%d,%d",
			 first, last);
	assert_line(&r, want);
	run_result_free(&r);
}

static void expect_refused(const char *spec, const char *msg)
{
	const char *const flags[] = { "--gpu", spec, NULL };
	struct run_result r;

	run_script(&r, NULL, flags, "echo ran");
	assert_exit(&r, 125);
	assert_err_contains(&r, msg);
	/* Errors list the inventory. */
	assert_err_contains(&r, "the GPUs are: 0 " UUID0 " 0000:01:00.0; 1 ");
	assert_err_contains(&r, "; 3 " UUID3 " 0000:81:00.0");
	assert_string_equal(r.out, "");
	run_result_free(&r);
}

static void test_select_errors(void **state)
{
	(void)state;
	need_root();
	expect_refused("4", "sboxrun: GPUs=4: no GPU has this index; the GPUs are:");
	expect_refused("0a1b", "GPUs=0a1b: the UUID prefix is ambiguous (2 GPUs match)");
	expect_refused("GPU-dead", "GPUs=GPU-dead: no GPU has this UUID or UUID prefix");
	expect_refused("0000:42:00.0", "GPUs=0000:42:00.0: no GPU at this PCI bus id");
}

static void test_locality_off(void **state)
{
	static const char *const off[] = { "--gpu", "2", "--set", "GPULocality=no", NULL };
	static const char *const none[] = { NULL };
	struct run_result r, base;
	char *want, *got;

	(void)state;
	need_root();
	run_report(&base, none);
	run_report(&r, off);
	assert_exit(&base, 0);
	assert_exit(&r, 0);
	want = kv_get(base.out, "cpus_allowed");
	got = kv_get(r.out, "cpus_allowed");
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(got);
	run_result_free(&r);
	run_result_free(&base);
}

/* A GPU whose sysfs names a NUMA node this host lacks (or one without
 * memory): the memory preference is left out, the launch runs, still
 * pinned to the GPU's CPUs (before: "preferring the GPUs' memory node(s)
 * 9 (GPULocality=): Invalid argument", exit 125). */
static void test_locality_node_without_memory(void **state)
{
	static const char *const flags[] = { "--gpu", "2", NULL };
	char path[600], want[64];
	struct run_result r;
	int first, last;

	(void)state;
	need_root();
	online_cpus(&first, &last);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:41:00.0/numa_node", fake.dir);
	write_text(path, "9\n");
	run_report(&r, flags);
	write_text(path, "0\n");
	assert_exit(&r, 0);
	assert_line(&r, "env.CUDA_VISIBLE_DEVICES=" UUID2);
	snprintf(want, sizeof(want), "cpus_allowed=%d", last);
	assert_line(&r, want);
	run_result_free(&r);
}

/* The site configuration is the only way to fake roots. */

static void test_site_config_guarded(void **state)
{
	static const char *const flags[] = { "--gpu", "2", NULL };
	char var[700], var2[700];
	char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", var, var2, NULL };
	struct run_result r;
	struct run_opts o = { .env = env };

	(void)state;
	need_root();
	assert_int_equal(chmod(fake.conf, 0646), 0);
	run_script(&r, NULL, flags, "echo ran");
	assert_exit(&r, 125);
	assert_err_contains(&r, "site configuration is writable by others (mode 0646): refused");
	assert_string_equal(r.out, "");
	run_result_free(&r);

	assert_int_equal(chmod(fake.conf, 0644), 0);
	assert_int_equal(chown(fake.conf, 65534, 0), 0);
	run_script(&r, NULL, flags, "echo ran");
	assert_exit(&r, 125);
	assert_err_contains(&r, "site configuration is owned by uid 65534, not root: refused");
	run_result_free(&r);
	assert_int_equal(chown(fake.conf, 0, 0), 0);

	/* Without --site-config, the fake machine is out of reach: no
	 * variable of the caller's environment names another file. */
	snprintf(var, sizeof(var), "SBOX_SITE_CONFIG=%s", fake.conf);
	snprintf(var2, sizeof(var2), "SBOX_CONFIG=%s", fake.conf);
	run_sbox(&r, &o, "--gpu", UUID2, "--", "/bin/true", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "GPUs=" UUID2 ": ");
	run_result_free(&r);

	run_sbox(&r, NULL, "--site-config", "/nonexistent/sbox.conf", "--list-gpus", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "/nonexistent/sbox.conf: cannot open the site configuration: No such file or directory");
	run_result_free(&r);
}

static void test_broken_node_refused(void **state)
{
	static const char *const flags[] = { "--gpu", "2", NULL };
	char path[600];
	struct run_result r;

	(void)state;
	need_root();
	snprintf(path, sizeof(path), "%s/nvidia3", fake.dev);
	assert_int_equal(unlink(path), 0);
	/* A node that is not what the driver says is never bound. */
	assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(195, 2)), 0);
	run_script(&r, NULL, flags, "echo ran");
	assert_exit(&r, 125);
	assert_err_contains(&r, "/nvidia3 is device 195:2, but the driver says 195:3: refused");
	assert_string_equal(r.out, "");
	run_result_free(&r);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(195, 3)), 0);
}

/* DeviceAllow=: extra nodes, with the access granted and no more. */

static void test_device_allow(void **state)
{
	static const char *const with[] = { "--device", "/dev/char/195:0 rw", "--pass-fd", "3",
					    "--pass-fd", "4", "--pass-fd", "5", NULL };
	/* User=root: /dev/fuse is 0600 root, and the device cgroup (EPERM)
	 * only speaks after the mode bits let the worker's uid through. */
	static const char *const without[] = { "--user", "root", "--pass-fd", "3", "--pass-fd", "4",
					       "--pass-fd", "5", NULL };
	struct fds f;
	struct run_opts o = { .pre_exec = open_path_fds, .arg = &f };
	struct run_result r;

	(void)state;
	need_root();
	snprintf(f.paths[0], sizeof(f.paths[0]), "%s/nvidia0", fake.dev);   /* 195:0 */
	snprintf(f.paths[1], sizeof(f.paths[1]), "%s/nvidia1", fake.dev);   /* 195:1 */
	snprintf(f.paths[2], sizeof(f.paths[2]), "/dev/null");
	run_script(&r, &o, with, "q a open /proc/self/fd/3 rw\nq b open /proc/self/fd/4 rw\n"
				 "q c open /proc/self/fd/5 rw\n");
	assert_exit(&r, 0);
	/* Allowed by number: let through, and no driver answers. */
	assert_line(&r, "a.open=ENXIO");
	assert_line(&r, "b.open=EPERM");
	assert_line(&r, "c.open=ok");
	run_result_free(&r);
	run_script(&r, &o, without, "q a open /proc/self/fd/3 rw\n");
	assert_exit(&r, 0);
	assert_line(&r, "a.open=EPERM");
	run_result_free(&r);
}

/* A /dev path DeviceAllow= names is shown in the sandbox's /dev. */
static void test_device_allow_path_shown(void **state)
{
	static const char *const candidates[] = { "/dev/kmsg", "/dev/fuse", "/dev/mem", "/dev/console" };
	static const char *const none[] = { NULL };
	const char *node = NULL;
	struct run_result r;
	struct stat st;
	char line[128], allow[64], script[128];

	(void)state;
	need_root();
	for (size_t i = 0; !node && i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (stat(candidates[i], &st) == 0 && S_ISCHR(st.st_mode))
			node = candidates[i];
	assert_non_null(node);
	snprintf(allow, sizeof(allow), "%s r", node);
	snprintf(script, sizeof(script), "q n stat %s\n", node);
	const char *const with[] = { "--device", allow, NULL };
	run_script(&r, NULL, with, script);
	assert_exit(&r, 0);
	snprintf(line, sizeof(line), "n.stat=ok type=chr mode=%04o rdev=%u:%u",
		 (unsigned)(st.st_mode & 07777), major(st.st_rdev), minor(st.st_rdev));
	assert_line(&r, line);
	run_result_free(&r);
	run_script(&r, NULL, none, script);
	assert_exit(&r, 0);
	assert_line(&r, "n.stat=ENOENT");
	run_result_free(&r);
}

/* A root launcher may put the sandbox in a user namespace: the device
 * cgroup is the launcher's to set up, so the grant holds the same.  An
 * unprivileged launcher has no device cgroup to give, so no device grants. */
static void test_user_namespace(void **state)
{
	/* User=root: PrivateUsers=yes as root maps uid 0 to the host's, so
	 * the policy must say so (docs/security.md, "Identity"). */
	static const char *const flags[] = { "--set", "PrivateUsers=yes", "--user", "root", "--gpu", "2", "--pass-fd", "3",
					     "--pass-fd", "4", "--pass-fd", "5", NULL };
	struct fds f;
	struct run_opts o = { .pre_exec = open_path_fds, .arg = &f };
	struct run_result r;

	(void)state;
	if (!running_as_root()) {
		run_sbox(&r, NULL, "--gpu", "0", "--", "/bin/true", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "sboxrun: GPUs=0: granting a GPU needs a device cgroup, which only root can set up");
		run_result_free(&r);
		run_sbox(&r, NULL, "--device", "/dev/fuse rw", "--", "/bin/true", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "sboxrun: DeviceAllow=/dev/fuse: allowing a device needs a device cgroup");
		run_result_free(&r);
		return;
	}
	snprintf(f.paths[0], sizeof(f.paths[0]), "%s/nvidia3", fake.dev);
	snprintf(f.paths[1], sizeof(f.paths[1]), "%s/nvidia2", fake.dev);
	snprintf(f.paths[2], sizeof(f.paths[2]), "%s/nvidia0", fake.dev);
	run_script(&r, &o, flags, passfd_script);
	assert_exit(&r, 0);
	assert_line(&r, "own.open=ENXIO");
	assert_line(&r, "ctl.open=ENXIO");
	assert_line(&r, "hidden.open=ENOENT");
	assert_line(&r, "ownfd.open=ENXIO");
	assert_line(&r, "otherfd.open=EPERM");
	assert_line(&r, "gpu0fd.open=EPERM");
	run_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_gpus),
		cmocka_unit_test(test_gpu2_view),
		cmocka_unit_test(test_proc_driver_nvidia_masked),
		cmocka_unit_test(test_other_gpu_refused_by_kernel),
		cmocka_unit_test(test_bound_in_node_refused),
		cmocka_unit_test(test_no_gpu_refuses_all),
		cmocka_unit_test(test_select_by_uuid_and_bus),
		cmocka_unit_test(test_two_gpus),
		cmocka_unit_test(test_select_errors),
		cmocka_unit_test(test_locality_off),
		cmocka_unit_test(test_locality_node_without_memory),
		cmocka_unit_test(test_site_config_guarded),
		cmocka_unit_test(test_broken_node_refused),
		cmocka_unit_test(test_device_allow),
		cmocka_unit_test(test_device_allow_path_shown),
		cmocka_unit_test(test_user_namespace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
