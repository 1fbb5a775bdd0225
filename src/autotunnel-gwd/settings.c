#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autotunnel-gwd/rsip_conf.h"
#include "autotunnel-gwd/settings.h"

#define ITEM(sec, key, type, field, min, max, help) \
	{ sec, key, type, offsetof(struct gwd_settings, field), min, max, help }

static const struct conf_item items[] = {
	ITEM("interfaces", "wan", CONF_STRING, wan, 0, 0,
	     "WAN interface: its address is the external address"),
	ITEM("interfaces", "lan", CONF_STRING, lan, 0, 0,
	     "LAN interface(s) served, comma-separated"),
	ITEM("mappings", "port-min", CONF_INT, port_min, 1, 65535,
	     "lowest external port handed out (default 1024)"),
	ITEM("mappings", "port-max", CONF_INT, port_max, 1, 65535,
	     "highest external port handed out (default 65535)"),
	ITEM("mappings", "lifetime-min", CONF_INT, lifetime_min, 1, 86400 * 7,
	     "shortest lifetime granted, seconds (default 120)"),
	ITEM("mappings", "lifetime-max", CONF_INT, lifetime_max, 1, 86400 * 7,
	     "longest lifetime granted, seconds (default 86400)"),
	ITEM("mappings", "max-mappings", CONF_INT, max_mappings, 1, 65536,
	     "most mappings in all (default 1024)"),
	ITEM("mappings", "max-mappings-per-client", CONF_INT, max_per_client, 1, 65536,
	     "most mappings per LAN client, its other addresses on the same link-layer address included (default 8)"),
	ITEM("mappings", "max-per-client", CONF_INT, max_per_client, 1, 65536,
	     "old name of max-mappings-per-client"),
	ITEM("daemon", "state-dir", CONF_STRING, state_dir, 0, 0,
	     "directory of the control socket (default " GWD_DEFAULT_STATE_DIR ")"),
	ITEM("daemon", "control", CONF_STRING, control, 0, 0,
	     "control socket path (default STATE-DIR/control)"),
	ITEM("daemon", "log-level", CONF_STRING, log_level, 0, 0,
	     "err, warn, info or debug (default info)"),
	ITEM("daemon", "syslog", CONF_BOOL, syslog, 0, 0, "log to syslog instead of stderr"),
	ITEM("daemon", "user", CONF_STRING, user, 0, 0,
	     "run as this user once started, with CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE only (default nobody; root keeps uid 0)"),
	ITEM("daemon", "rsip", CONF_BOOL, rsip, 0, 0,
	     "RSIP server (RFC 3103/3104) on TCP 4555 of the LAN (default on; --no-rsip)"),
	ITEM("rsip", "rsip-ipsec-allow", CONF_STRING, rsip_ipsec_allow, 0, 0,
	     "LAN clients that may use RSIPSEC: all, none, or addresses/prefixes, comma-separated"),
	ITEM("rsip", "rsip-spis", CONF_STRING, rsip_spis, 0, 0,
	     "SPI pool, FIRST-LAST (default 0x00100000-0x001fffff)"),
	ITEM("rsip", "rsip-port-min", CONF_INT, rsip_port_min, 1, 65535,
	     "lowest port lent on the external address: IKE and RSAP-IP ports (default 40000)"),
	ITEM("rsip", "rsip-port-max", CONF_INT, rsip_port_max, 1, 65535,
	     "highest port lent on the external address (default 40999)"),
	ITEM("rsip", "rsip-lease-min", CONF_INT, rsip_lease_min, 1, 86400 * 7,
	     "shortest RSIP binding lease, seconds (default 60)"),
	ITEM("rsip", "rsip-lease-max", CONF_INT, rsip_lease_max, 1, 86400 * 7,
	     "longest RSIP binding lease, seconds (default 3600)"),
	ITEM("rsip", "rsip-max-clients", CONF_INT, rsip_max_clients, 1, 4096,
	     "RSIP clients registered at once (default 64)"),
	ITEM("rsip", "rsip-max-conns-per-client", CONF_INT, rsip_conns_per_client, 1, 128,
	     "RSIP TCP connections from one LAN address at once (default 4)"),
	ITEM("rsip", "rsip-idle-timeout", CONF_INT, rsip_idle_timeout, 1, 86400,
	     "seconds an RSIP connection that has not registered may stay silent (default 120)"),
};

const struct conf_schema gwd_settings_schema = {
	items, sizeof(items) / sizeof(items[0]), NULL, NULL,
};

void gwd_settings_defaults(struct gwd_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->port_min = 1024;
	s->port_max = 65535;
	s->lifetime_min = 120;
	s->lifetime_max = 86400;
	s->max_mappings = 1024;
	s->max_per_client = 8;
	s->rsip = true;
	s->rsip_port_min = GWD_RSIP_PORT_MIN;
	s->rsip_port_max = GWD_RSIP_PORT_MAX;
	s->rsip_lease_min = GWD_RSIP_LEASE_MIN;
	s->rsip_lease_max = GWD_RSIP_LEASE_MAX;
	s->rsip_max_clients = GWD_RSIP_MAX_CLIENTS;
	s->rsip_conns_per_client = GWD_RSIP_CONNS_PER_CLIENT;
	s->rsip_idle_timeout = GWD_RSIP_IDLE_S;
}

static int check_ifname(const char *what, const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (len == 0 || len >= IFNAMSIZ || strpbrk(name, " \t/:\"\\'")) {
		snprintf(err, errlen, "--%s: '%s' is not an interface name", what, name);
		return -EINVAL;
	}
	return 0;
}

static void free_lans(struct gwd_settings *s)
{
	for (size_t i = 0; i < s->n_lans; i++)
		free(s->lans[i]);
	s->n_lans = 0;
}

static int split_lans(struct gwd_settings *s, char *err, size_t errlen)
{
	const char *p = s->lan;

	free_lans(s);
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[IFNAMSIZ + 1];
		int rc;

		if (len == 0 || len > IFNAMSIZ) {
			snprintf(err, errlen, "--lan: '%s' is not a list of interface names", s->lan);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		rc = check_ifname("lan", name, err, errlen);
		if (rc)
			return rc;
		if (s->n_lans == GWD_LAN_MAX) {
			snprintf(err, errlen, "--lan: at most %d interfaces", GWD_LAN_MAX);
			return -EINVAL;
		}
		if (s->wan && strcmp(name, s->wan) == 0) {
			snprintf(err, errlen, "--lan: %s is also the WAN interface", name);
			return -EINVAL;
		}
		for (size_t i = 0; i < s->n_lans; i++) {
			if (strcmp(s->lans[i], name) == 0) {
				snprintf(err, errlen, "--lan: %s is listed twice", name);
				return -EINVAL;
			}
		}
		s->lans[s->n_lans] = strdup(name);
		if (!s->lans[s->n_lans])
			return -ENOMEM;
		s->n_lans++;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int gwd_settings_check_order(int lo, int hi, const char *lo_key, const char *hi_key, char *err,
			     size_t errlen)
{
	if (lo <= hi)
		return 0;
	snprintf(err, errlen, "--%s %d is above --%s %d", lo_key, lo, hi_key, hi);
	return -EINVAL;
}

int gwd_settings_check(struct gwd_settings *s, bool need_ifaces, char *err, size_t errlen)
{
	int rc;

	if (need_ifaces && (!s->wan || !s->lan)) {
		snprintf(err, errlen, "%s", !s->wan ? "--wan IFACE is required (the interface to the internet)"
				       : "--lan IFACE is required (the interface to the home network)");
		return -EINVAL;
	}
	if (s->wan && (rc = check_ifname("wan", s->wan, err, errlen)))
		return rc;
	if (s->lan && (rc = split_lans(s, err, errlen)))
		return rc;
	if ((rc = gwd_settings_check_order(s->port_min, s->port_max, "port-min", "port-max", err,
					   errlen)) ||
	    (rc = gwd_settings_check_order(s->lifetime_min, s->lifetime_max, "lifetime-min",
					   "lifetime-max", err, errlen)) ||
	    (rc = gwd_settings_check_order(s->max_per_client, s->max_mappings, "max-mappings-per-client",
					   "max-mappings", err, errlen)))
		return rc;
	if (s->log_level && strcmp(s->log_level, "err") && strcmp(s->log_level, "warn") &&
	    strcmp(s->log_level, "info") && strcmp(s->log_level, "debug")) {
		snprintf(err, errlen, "--log-level: '%s' is not err, warn, info or debug", s->log_level);
		return -EINVAL;
	}
	if ((rc = gwd_rsip_settings_check(s, err, errlen)))
		return rc;
	if (!s->state_dir && !(s->state_dir = strdup(GWD_DEFAULT_STATE_DIR)))
		return -ENOMEM;
	if (!s->control) {
		size_t len = strlen(s->state_dir) + sizeof("/control");

		s->control = malloc(len);
		if (!s->control)
			return -ENOMEM;
		snprintf(s->control, len, "%s/control", s->state_dir);
	}
	if (strlen(s->control) >= 108) {	/* sizeof(sun_path) */
		snprintf(err, errlen, "--control: '%s' is too long for a UNIX socket path", s->control);
		return -EINVAL;
	}
	return 0;
}

const char *gwd_settings_control_path(const struct gwd_settings *s)
{
	return s->control;
}

int gwd_settings_privs(const struct gwd_settings *s, struct gwd_privs *out)
{
	const char *slash = strrchr(s->control, '/');
	struct privdrop *p = &out->drop;
	int n;

	memset(out, 0, sizeof(*out));
	if (!slash)
		n = snprintf(out->dir, sizeof(out->dir), ".");
	else if (slash == s->control)
		n = snprintf(out->dir, sizeof(out->dir), "/");
	else
		n = snprintf(out->dir, sizeof(out->dir), "%.*s", (int)(slash - s->control), s->control);
	if (n < 0 || (size_t)n >= sizeof(out->dir) ||
	    snprintf(out->name, sizeof(out->name), "%s", slash ? slash + 1 : s->control) >=
		    (int)sizeof(out->name))
		return -ENAMETOOLONG;
	p->user = s->user ? s->user : "nobody";
	p->caps = GWD_CAPS;
	p->landlock = true;
	p->rw[p->n_rw++] = out->dir;
	p->ro[p->n_ro++] = "/proc/self";
	p->ro[p->n_ro++] = "/etc";
	p->own_dir = out->dir;
	p->own_prefix = out->name;
	return 0;
}

void gwd_settings_free(struct gwd_settings *s)
{
	free_lans(s);
	conf_free(&gwd_settings_schema, s);
}
