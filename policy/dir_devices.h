/* SPDX-License-Identifier: MIT */
/*
 * Directives of the devices and GPUs area: GPUs=, DeviceAllow=, GPULocality=.
 * The values are checked for syntax here; which GPU a spec names and which
 * device numbers a DeviceAllow= specifier means is decided when a sandbox
 * is built (sandbox/gpu.c, sandbox/devices.c), against the machine.
 */
#ifndef SBOX_POLICY_DIR_DEVICES_H
#define SBOX_POLICY_DIR_DEVICES_H

#include <stdio.h>

#include "policy/directives.h"
#include "policy/policy.h"

void sbox_devices_policy_init(struct sbox_devices_policy *d);
void sbox_devices_policy_free(struct sbox_devices_policy *d);

int sbox_dir_set_gpus(struct sbox_policy *p, const char *v, struct sbox_err *err);
void sbox_dir_print_gpus(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out);
int sbox_dir_set_device_allow(struct sbox_policy *p, const char *v, struct sbox_err *err);
void sbox_dir_print_device_allow(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out);
int sbox_dir_set_gpu_locality(struct sbox_policy *p, const char *v, struct sbox_err *err);
void sbox_dir_print_gpu_locality(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out);

/* "rw" -> READ|WRITE; "" is "rwm", as systemd reads an omitted access.
 * Returns 0 or -EINVAL. */
int sbox_parse_device_access(const char *s, unsigned *out);
/* Inverse: "rwm", "r", ... into buf (at least 4 bytes). */
const char *sbox_format_device_access(unsigned access, char *buf);

/* Rows for the directive table in policy/directives.c. */
#define SBOX_DEVICES_DIRECTIVES                                                          \
	{ "GPUs", "gpu", 0, "SPEC", NULL,                                                \
	  "grant a GPU by index, UUID (or a unique prefix) or PCI bus id (default: none)", \
	  "GPU-8a3b", SBOX_DIR_LIST, sbox_dir_set_gpus, sbox_dir_print_gpus },            \
	{ "DeviceAllow", "device", 0, "'SPEC [rwm]'", NULL,                               \
	  "allow a device node (path, char-GROUP or block-GROUP) with access r, w, m",     \
	  "/dev/fuse rw", SBOX_DIR_LIST, sbox_dir_set_device_allow,                        \
	  sbox_dir_print_device_allow },                                                   \
	{ "GPULocality", NULL, 0, NULL, NULL,                                            \
	  "pin the worker to its GPUs' local CPUs and memory node: yes, no, or empty for the site's default", \
	  "yes", 0, sbox_dir_set_gpu_locality, sbox_dir_print_gpu_locality },

#endif
