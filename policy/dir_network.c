/* SPDX-License-Identifier: MIT */
/*
 * PrivateNetwork=: syntax and cross-directive checks.  What
 * the caller may use (veth and groups need root, host needs the site's
 * consent under sboxd) is decided where the sandbox is built, not here: a
 * policy is text, and the same policy is checked on any machine.
 */
#include "policy/dir_network.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/setters.h"
#include "policy/site.h"
#include "policy/values.h"

void sbox_net_policy_init(struct sbox_net_policy *n)
{
	memset(n, 0, sizeof(*n));
	n->mode = SBOX_NET_NONE;
}

void sbox_net_policy_free(struct sbox_net_policy *n)
{
	free(n->group);
	sbox_net_policy_init(n);
}

const char *sbox_net_mode_name(enum sbox_net_mode mode)
{
	switch (mode) {
	case SBOX_NET_NONE:
		return "none";
	case SBOX_NET_HOST:
		return "host";
	case SBOX_NET_VETH:
		return "veth";
	case SBOX_NET_GROUP:
		return "group";
	default:
		return "?";
	}
}

/* Group names become file names: no '/', no leading '.', nothing a shell
 * or a log line would trip on. */
static bool group_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > SBOX_NET_GROUP_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

int sbox_parse_net_mode(const char *s, enum sbox_net_mode *mode, char **group)
{
	bool b;

	*group = NULL;
	if (strcmp(s, "none") == 0) {
		*mode = SBOX_NET_NONE;
	} else if (strcmp(s, "host") == 0) {
		*mode = SBOX_NET_HOST;
	} else if (strcmp(s, "veth") == 0) {
		*mode = SBOX_NET_VETH;
	} else if (strncmp(s, "group:", 6) == 0) {
		if (!group_name_valid(s + 6))
			return -EINVAL;
		*group = strdup(s + 6);
		if (!*group)
			return -ENOMEM;
		*mode = SBOX_NET_GROUP;
	} else if (sbox_parse_bool(s, &b) == 0) {
		/* systemd's meaning: yes = a private netns with only lo. */
		*mode = b ? SBOX_NET_NONE : SBOX_NET_HOST;
	} else {
		return -EINVAL;
	}
	return 0;
}

int sbox_parse_ipv4_subnet(const char *s, uint32_t *net, unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	char addr[INET_ADDRSTRLEN];
	struct in_addr in;
	uint64_t len;
	uint32_t a, mask;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -EINVAL;
	if (sbox_parse_uint(slash + 1, 0, 32, &len) < 0)
		return -EINVAL;
	/* /30 blocks: a /31 or /32 holds none; below /8 is surely a typo. */
	if (len < 8 || len > 30)
		return -ERANGE;
	a = ntohl(in.s_addr);
	mask = ~(uint32_t)0 << (32 - len);
	if (a & ~mask)
		return -EINVAL;
	*net = a;
	*prefix = (unsigned)len;
	return 0;
}

int sbox_dir_set_private_network(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	enum sbox_net_mode mode;
	char *group;
	int r;

	if (v[0] == '\0') {
		free(p->net.group);
		p->net.group = NULL;
		p->net.mode = SBOX_NET_NONE;
		return 0;
	}
	r = sbox_parse_net_mode(v, &mode, &group);
	if (r == -ENOMEM)
		return sbox_fail(err, ENOMEM, "copying the group name");
	if (r < 0) {
		if (strncmp(v, "group:", 6) == 0)
			return sbox_fail(err, 0, "'%s' is not a valid group name (1 to %d letters, digits, '.', '_' or '-', not starting with '.' or '-')",
					 v + 6, SBOX_NET_GROUP_MAX);
		return sbox_fail(err, 0, "'%s' is not a network mode (none, host, veth, group:NAME, yes or no)", v);
	}
	free(p->net.group);
	p->net.group = group;
	p->net.mode = mode;
	return 0;
}

void sbox_dir_print_private_network(const struct sbox_policy *p, const struct sbox_directive *d,
				    FILE *out)
{
	if (p->net.mode == SBOX_NET_GROUP)
		fprintf(out, "%s=group:%s\n", d->name, p->net.group);
	else
		fprintf(out, "%s=%s\n", d->name, sbox_net_mode_name(p->net.mode));
}

int sbox_net_site_only_directive(const char *name, struct sbox_err *err)
{
	/* A job that chose its veth range chose what the host routes into
	 * its sandbox: the LAN, the default gateway's subnet, the cloud's
	 * metadata address.  Say where the setting went rather than
	 * "unknown directive". */
	if (strcmp(name, "VethSubnet") == 0)
		return sbox_fail(err, 0, "VethSubnet= is a setting of the site, not of a job: the address range of PrivateNetwork=veth is [Network] VethSubnet= in the site configuration (%s)",
				 SBOX_SITE_DEFAULT_PATH);
	/* Whether the host forwards a sandbox's traffic decides whether it
	 * reaches other sandboxes and the networks beyond the host. */
	if (strcmp(name, "VethForwarding") == 0)
		return sbox_fail(err, 0, "VethForwarding= is a setting of the site, not of a job: [Network] VethForwarding= in the site configuration (%s)",
				 SBOX_SITE_DEFAULT_PATH);
	return 0;
}

int sbox_net_policy_validate(const struct sbox_policy *p, struct sbox_err *err)
{
	/* A group's netns belongs to the host's user namespace; a sandbox
	 * in a user namespace of its own has no right to join it (setns
	 * needs CAP_SYS_ADMIN over the netns's owner). */
	if (p->net.mode == SBOX_NET_GROUP && p->private_users == 1)
		return sbox_fail(err, 0, "PrivateNetwork=group:%s cannot be combined with PrivateUsers=yes: a group's network namespace belongs to the host's user namespace",
				 p->net.group);
	return 0;
}
