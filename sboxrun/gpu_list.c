/* SPDX-License-Identifier: MIT */
/*
 * sboxrun --list-gpus [--json] in direct mode: the inventory this host's
 * site configuration gives, as a table or as one JSON object.  Here and not
 * in sandbox/, which never prints; through sboxd, --list-gpus is --leases
 * (sboxd's own inventory, formatted by sboxrun/via_daemon.c).
 */
#include "sboxrun/gpu_list.h"

static const char *vendor_name(enum sbox_gpu_vendor v)
{
	switch (v) {
	case SBOX_GPU_NVIDIA:
		return "nvidia";
	case SBOX_GPU_AMD:
		return "amd";
	case SBOX_GPU_OTHER:
	default:
		return "other";
	}
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* A JSON array of the nodes' paths below /dev. */
static void json_nodes(FILE *out, const struct sbox_dev_node *nodes, size_t n)
{
	fputc('[', out);
	for (size_t k = 0; k < n; k++) {
		char path[80];

		snprintf(path, sizeof(path), "/dev/%s", nodes[k].name);
		if (k)
			fputc(',', out);
		json_string(out, path);
	}
	fputc(']', out);
}

static void print_json(const struct sbox_gpu_inventory *inv, FILE *out)
{
	fputs("{\"source\":", out);
	json_string(out, inv->source);
	fputs(",\"dev_root\":", out);
	json_string(out, inv->dev_root);
	fputs(",\"gpus\":[", out);
	for (size_t i = 0; i < inv->n; i++) {
		const struct sbox_gpu *g = &inv->gpus[i];

		fprintf(out, "%s{\"index\":%u,\"vendor\":\"%s\",\"uuid\":", i ? "," : "", g->index,
			vendor_name(g->vendor));
		json_string(out, g->uuid);
		fputs(",\"bus_id\":", out);
		json_string(out, g->bus);
		fputs(",\"model\":", out);
		json_string(out, g->model);
		fprintf(out, ",\"numa_node\":%d,\"local_cpus\":", g->numa_node);
		json_string(out, g->cpus);
		fputs(",\"nodes\":", out);
		json_nodes(out, g->nodes, g->n_nodes);
		fputc('}', out);
	}
	fputs("],\"shared_nodes\":", out);
	json_nodes(out, inv->shared, inv->n_shared);
	fprintf(out, ",\"mig_caps\":%s}\n", inv->nvidia_caps ? "true" : "false");
}

void sboxrun_gpu_list_print(const struct sbox_gpu_inventory *inv, bool json, FILE *out)
{
	if (json) {
		print_json(inv, out);
		return;
	}
	if (inv->n == 0) {
		fprintf(out, "no GPUs (inventory: %s)\n", inv->source);
		return;
	}
	fprintf(out, "%-5s %-7s %-40s %-12s %-4s %-10s %s\n", "INDEX", "VENDOR", "UUID", "BUS ID",
		"NUMA", "CPUS", "NODES");
	for (size_t i = 0; i < inv->n; i++) {
		const struct sbox_gpu *g = &inv->gpus[i];
		char numa[16];

		snprintf(numa, sizeof(numa), "%d", g->numa_node);
		fprintf(out, "%-5u %-7s %-40s %-12s %-4s %-10s", g->index, vendor_name(g->vendor),
			g->uuid[0] ? g->uuid : "-", g->bus, g->numa_node < 0 ? "-" : numa,
			g->cpus[0] ? g->cpus : "-");
		for (size_t k = 0; k < g->n_nodes; k++)
			fprintf(out, "%s/dev/%s", k ? "," : " ", g->nodes[k].name);
		fputc('\n', out);
	}
	fputs("shared nodes:", out);
	for (size_t k = 0; k < inv->n_shared; k++)
		fprintf(out, " /dev/%s", inv->shared[k].name);
	fputc('\n', out);
	if (inv->nvidia_caps)
		fputs("MIG: /dev/nvidia-caps is present; MIG instances are not granted by sbox\n", out);
}
