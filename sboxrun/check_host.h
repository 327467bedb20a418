/* SPDX-License-Identifier: MIT */
/* sboxrun --check=host: what --check can't know from the text alone,
 * resolved against this host as a direct launch here would resolve it. */
#ifndef SBOX_LAUNCHER_CHECK_HOST_H
#define SBOX_LAUNCHER_CHECK_HOST_H

#include "common/err.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "sandbox/gpu.h"

/* Bind sources (exist, reachable by the caller), mount points (exist
 * on the host's root, or lie in a tmpfs of the sandbox), User=/Group= (in the
 * host's databases, or mapped in a user namespace), GPUs (gpus: --gpus N
 * as sboxrun_direct_gpus() chose it; NULL: GPUs= resolved here; every node
 * checked), DeviceAllow= (allowed to this launcher) and the cgroup limits
 * (a cgroup with them is made and removed again).  0, or -1 with err
 * saying what would fail the launch. */
int sboxrun_check_host(const struct sbox_policy *p, const struct sbox_site *site,
		       const struct sbox_gpu_selection *gpus, struct sbox_err *err);

/* The same for a launch through sboxd: only what holds whoever launches
 * (bind sources the caller opens, mount points on this host's root).
 * Users, devices, GPUs, the network and cgroup limits are sboxd's to
 * resolve, against its site bounds, at launch: the caller's view of them
 * (its privileges, this file's site configuration) says nothing there. */
int sboxrun_check_host_through_daemon(const struct sbox_policy *p, struct sbox_err *err);

#endif
