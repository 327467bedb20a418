/* SPDX-License-Identifier: MIT */
/*
 * The plugin's reading of gres.conf (slurm/gres_conf.c): gres index i must
 * be the device file slurmd numbers i on this node, or the sandbox gets
 * another job's GPU.  Each case is a gres.conf written to a scratch file;
 * run by tests/slurm/run.sh (libslurm's hostlist, as slurmd's); prints
 * "ok"/"FAIL" lines.
 *
 *   gres_check DIR           a scratch directory
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "slurm/sbox_slurm.h"

static const char *dir;
static int fails;

/* want: the file of index idx on node "n1", or NULL for a refusal. */
static void check(const char *what, const char *text, unsigned idx, const char *want)
{
	char conf[4200], got[4096] = "";
	FILE *f;
	int r;

	snprintf(conf, sizeof conf, "%s/gres.conf", dir);
	f = fopen(conf, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("FAIL - %s: can't write %s\n", what, conf);
		fails++;
		return;
	}
	r = sbox_slurm_gres_file(conf, "n1", idx, got, sizeof got);
	if (want ? r == 0 && strcmp(got, want) == 0 : r < 0) {
		printf("ok   - %s\n", what);
		return;
	}
	printf("FAIL - %s (rc %d, got '%s', want '%s')\n", what, r, got, want ? want : "a refusal");
	fails++;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	dir = argv[1];
	check("gres.conf: another node's gpu records take no index of this node's",
	      "AutoDetect=off\nNodeName=n[2-9] Name=gpu File=/dev/nvidia[2-3]\n"
	      "NodeName=n1 Name=gpu File=/dev/nvidia0\nNodeName=n1 Name=gpu File=/dev/nvidia1\n", 0,
	      "/dev/nvidia0");
	check("gres.conf: a node list naming this node (n[1-4]) is its",
	      "NodeName=n0 Name=gpu File=/dev/x0\nNodeName=n[1-4] Name=gpu File=/dev/nvidia[0-3]\n", 2,
	      "/dev/nvidia2");
	check("gres.conf: Name=gpu inside NodeName=gpu... and another gres's record are not gpu records",
	      "NodeName=gpunode7 Name=mps Count=100 File=/dev/nvidia1\nNodeName=n1 Name=mps File=/dev/nvidia2\n"
	      "NodeName=n1 Name=gpu File=/dev/nvidia0\n", 0,
	      "/dev/nvidia0");
	check("gres.conf: File= lists and ranges with commas, as slurmd's hostlist expands them",
	      "Name=gpu File=/dev/a[0,2-3]\nName=gpu File=/dev/b0,/dev/b1\n", 4, "/dev/b1");
	check("gres.conf: lines starting Name= come before lines starting NodeName= (slurmd's order)",
	      "NodeName=n1 Name=gpu File=/dev/late0\nName=gpu File=/dev/early0\n", 0, "/dev/early0");
	check("gres.conf: keys in any case, comments cut",
	      "nodename=n1 name=gpu file=/dev/nvidia5 # File=/dev/not\n", 0, "/dev/nvidia5");
	check("gres.conf: Count= alone takes no index", "Name=gpu Count=2\nName=gpu File=/dev/nvidia7\n", 0,
	      "/dev/nvidia7");
	check("hostile: an index past this node's GPUs is refused",
	      "NodeName=n1 Name=gpu File=/dev/nvidia0\nNodeName=n2 Name=gpu File=/dev/nvidia1\n", 1, NULL);
	check("gres.conf: two GPU types on the node (slurmd orders them by slurm.conf) refused",
	      "NodeName=n1 Name=gpu Type=a File=/dev/nvidia0\nNodeName=n1 Name=gpu Type=b File=/dev/nvidia1\n",
	      0, NULL);
	check("gres.conf: Include refused (not followed)", "Include /etc/slurm/gres.d/n1.conf\n", 0, NULL);
	check("gres.conf: a quoted value refused (not read as slurmd reads it)",
	      "Name=gpu File=\"/dev/nvidia0\"\n", 0, NULL);
	return fails ? 1 : 0;
}
