/* The hosts cache file (see hosts.h): writer, strict parser and lookups. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/hosts.h"
#include "agent/text.h"
#include "wire/wire.h"

/* Longest line: label, space, FQDN, space, ULA. */
#define LINE_MAX_ (AGENT_LABEL_MAX + 1 + AGENT_NAME_MAX + 1 + INET6_ADDRSTRLEN)

static bool entry_ok(const struct agent_host_entry *e)
{
	size_t ll = strnlen(e->label, sizeof(e->label));

	return ll < sizeof(e->label) && strnlen(e->fqdn, sizeof(e->fqdn)) < sizeof(e->fqdn) &&
	       agent_label_check(e->label, ll) == 0 && agent_name_check(e->fqdn) == 0 &&
	       !strncmp(e->fqdn, e->label, ll) && e->fqdn[ll] == '.' && e->ula[0] == 0xfd;
}

int agent_hosts_format(const struct agent_host_entry *e, size_t n, uint8_t *buf, size_t len)
{
	struct wire w = wire_writer(buf, len);

	wire_write_bytes(&w, AGENT_HOSTS_HEADER "\n", sizeof(AGENT_HOSTS_HEADER));
	for (size_t i = 0; i < n; i++) {
		char line[LINE_MAX_ + 2], ula[INET6_ADDRSTRLEN];
		int k;

		if (!entry_ok(&e[i]) || !inet_ntop(AF_INET6, e[i].ula, ula, sizeof(ula)))
			return -EINVAL;
		k = snprintf(line, sizeof(line), "%s %s %s\n", e[i].label, e[i].fqdn, ula);
		if (k < 0 || (size_t)k >= sizeof(line))
			return -EINVAL;
		wire_write_bytes(&w, line, (size_t)k);
	}
	if (wire_err(&w))
		return wire_err(&w);
	return wire_offset(&w) > AGENT_HOSTS_FILE_MAX ? -ENOSPC : (int)wire_offset(&w);
}

/* Split "label fqdn ula" into @p e; 0 or -EBADMSG. */
static int parse_line(char *line, struct agent_host_entry *e)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	if (!sp2 || strchr(sp2 + 1, ' '))
		return -EBADMSG;
	*sp1 = *sp2 = '\0';
	if ((size_t)(sp1 - line) >= sizeof(e->label) || (size_t)(sp2 - sp1 - 1) >= sizeof(e->fqdn))
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	memcpy(e->label, line, (size_t)(sp1 - line));
	memcpy(e->fqdn, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (agent_text_ip6(e->ula, sp2 + 1) || !entry_ok(e))
		return -EBADMSG;
	return 0;
}

int agent_hosts_parse(const uint8_t *buf, size_t len, agent_hosts_fn fn, void *arg, size_t *badline)
{
	struct wire w = wire_reader(buf, len);
	char line[LINE_MAX_ + 1];
	size_t lineno = 1;
	int stopped = 0;

	if (badline)
		*badline = 0;
	if (len > AGENT_HOSTS_FILE_MAX || agent_text_line(&w, line, sizeof(line)) < 0 ||
	    strcmp(line, AGENT_HOSTS_HEADER) != 0)
		goto bad;
	while (wire_avail(&w)) {
		struct agent_host_entry e;

		lineno++;
		if (agent_text_line(&w, line, sizeof(line)) < 0 || parse_line(line, &e))
			goto bad;
		if (fn && !stopped)
			stopped = fn(arg, &e);
	}
	return stopped;
bad:
	if (badline)
		*badline = lineno;
	return -EBADMSG;
}

struct find {
	const char *name;
	const uint8_t *ula;
	struct agent_host_entry *out;
};

static int match(void *arg, const struct agent_host_entry *e)
{
	struct find *f = arg;

	if (f->name ? !(agent_name_equal(f->name, e->label) || agent_name_equal(f->name, e->fqdn))
		    : memcmp(f->ula, e->ula, 16) != 0)
		return 0;
	*f->out = *e;
	return 1;
}

static int lookup(const uint8_t *buf, size_t len, struct find *f)
{
	int r = agent_hosts_parse(buf, len, match, f, NULL);

	if (r < 0)
		return r;
	return r == 1 ? 0 : -ENOENT;
}

int agent_hosts_lookup_name(const uint8_t *buf, size_t len, const char *name, struct agent_host_entry *out)
{
	struct find f = { .name = name, .out = out };

	return lookup(buf, len, &f);
}

int agent_hosts_lookup_addr(const uint8_t *buf, size_t len, const uint8_t ula[static 16],
			    struct agent_host_entry *out)
{
	struct find f = { .ula = ula, .out = out };

	return lookup(buf, len, &f);
}
