/* SPDX-License-Identifier: MIT */
/* sboxrun as a client of sboxd: the same flags, output and exit codes as a
 * direct launch (sboxrun/sboxrun.c), through libsbox. */
#ifndef SBOX_LAUNCHER_SBOXRUN_CLIENT_H
#define SBOX_LAUNCHER_SBOXRUN_CLIENT_H

#include <stdbool.h>

#include "sboxrun/cli.h"
#include "sboxrun/status.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "sandbox/gpu.h"

#define SBOXRUN_NO_DAEMON (-1)

/* Run what the command line asks through sboxd.  Returns sboxrun's exit
 * code, or SBOXRUN_NO_DAEMON when no sboxd answers at the default socket
 * and none was named (--socket, $SBOX_SOCKET): launch directly then. */
int sboxrun_via_daemon(const struct sbox_cli *cli, const struct sbox_policy *p, char **envp,
		       struct sbox_end *end, bool *ran);
/* end: filled for --stats and --json-status when *ran (a job was asked
 * for and its end, or its failure to start, is known). */

/* Where a launch with this command line would go: *sock is sboxd's socket
 * when one answers there (as sboxrun_via_daemon picks it), NULL for a
 * direct launch; -1 with err when a named socket does not answer. */
int sboxrun_launch_socket(const struct sbox_cli *cli, const char **sock, struct sbox_err *err);

/* Flags that only sboxd can serve (--detach, --attach, --jobs, ...): the
 * first one given, or NULL. */
const char *sboxrun_daemon_only_flag(const struct sbox_cli *cli);

/* GPUs in direct mode, where sboxrun is the privileged side: the
 * inventory of the site configuration it read itself, loaded once, and
 * GPUs= resolved against it (or --gpus N: the first N, no leases to take)
 * into the selection the launch hands to the grant (sbox_launch.gpus).
 * *out: NULL when no GPU is asked for.  what: the prefix of the errors the
 * launch's own checks would give for --gpus N (--check=host's), or NULL.
 * Free with sboxrun_gpus_free() once the launch is made. */
struct sboxrun_gpus {
	struct sbox_gpu_choice choice;
};
int sboxrun_direct_gpus(const struct sbox_cli *cli, const struct sbox_policy *p,
			const struct sbox_site *site, struct sboxrun_gpus *g, const char *what,
			const struct sbox_gpu_selection **out, struct sbox_err *err);
void sboxrun_gpus_free(struct sboxrun_gpus *g);

/* The policy as text, less what equals the built-in defaults: what sboxd
 * receives, so that the site's [Defaults] apply to what the user left
 * alone (malloc'd; NULL on ENOMEM). */
char *sboxrun_policy_text(const struct sbox_policy *p);

#endif
