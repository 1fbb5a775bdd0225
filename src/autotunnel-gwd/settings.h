/*
 * autotunnel-gwd settings: one schema for the INI file (-c FILE) and the
 * command line (--key VALUE), so that every setting can be given both ways.
 */
#ifndef AT_GWD_SETTINGS_H
#define AT_GWD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/capability.h>

#include "common/conf.h"
#include "common/privdrop.h"

#define GWD_LAN_MAX 8
#define GWD_DEFAULT_STATE_DIR "/run/autotunnel-gwd"

struct gwd_settings {
	/* [interfaces] */
	char *wan;		/* WAN interface: external address, DNAT */
	char *lan;		/* LAN interface(s), comma-separated */
	/* [mappings] */
	int port_min, port_max;	/* external ports handed out */
	int lifetime_min, lifetime_max;	/* bounds on granted lifetimes (s) */
	int max_mappings, max_per_client;
	/* [daemon] */
	char *state_dir;	/* holds the control socket */
	char *control;		/* control socket path (default STATE_DIR/control) */
	char *log_level;
	bool syslog;
	char *user;		/* run as this user after start-up (default nobody) */
	bool rsip;		/* the RSIP server on TCP 4555 (on by default) */
	/* [rsip]: policy of the RSIP server (rsip_conf.h) */
	char *rsip_ipsec_allow;
	char *rsip_spis;
	int rsip_port_min, rsip_port_max;
	int rsip_lease_min, rsip_lease_max;
	int rsip_max_clients;
	int rsip_conns_per_client;
	int rsip_idle_timeout;

	/* derived by gwd_settings_check() */
	char *lans[GWD_LAN_MAX];	/* split copy of lan, owned */
	size_t n_lans;
};

extern const struct conf_schema gwd_settings_schema;

/** Fill @p s with the defaults. */
void gwd_settings_defaults(struct gwd_settings *s);

/*
 * Check what the schema cannot (ranges that must be ordered, interface
 * names, a control path) and derive lans[]. @p need_ifaces: running the
 * daemon needs --wan and --lan; "status" does not. 0 or -EINVAL with a
 * message in @p err.
 */
int gwd_settings_check(struct gwd_settings *s, bool need_ifaces, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Two settings that bound a range: "--LO N is above --HI M" in @p err and
 * -EINVAL when @p lo > @p hi, else 0. @p lo_key and @p hi_key are the
 * option names without the dashes (borrowed).
 */
int gwd_settings_check_order(int lo, int hi, const char *lo_key, const char *hi_key, char *err,
			     size_t errlen) __attribute__((warn_unused_result));

/** The control socket path to use (borrowed from @p s). */
const char *gwd_settings_control_path(const struct gwd_settings *s);

/* The capabilities the daemon keeps after start-up: 0x3400 in /proc/PID/status. */
#define GWD_CAPS (PRIVDROP_CAP(CAP_NET_ADMIN) | PRIVDROP_CAP(CAP_NET_RAW) | \
		  PRIVDROP_CAP(CAP_NET_BIND_SERVICE))

/* What the daemon keeps after start-up, with the strings it points to. */
struct gwd_privs {
	struct privdrop drop;
	char dir[256];		/* the control socket's directory */
	char name[108];		/* the control socket's name */
};

/*
 * What the daemon keeps once its control socket and nftables table exist
 * (privdrop.h): the user of --user (default nobody: the gateway keeps no
 * file after start-up, all its authority is in GWD_CAPS; root keeps uid
 * 0), the control socket handed to that user (to remove it at exit), and
 * with Landlock the socket's directory read-write, /proc/self and /etc
 * (libnftables and the C library read there) read-only. GWD_CAPS:
 * CAP_NET_ADMIN for nftables, conntrack and neighbour netlink; CAP_NET_RAW
 * for SO_BINDTODEVICE, the packet socket of the LAN and RSIP's raw
 * sockets, opened as addresses come and go; CAP_NET_BIND_SERVICE for
 * RSIP's UDP 500. @return 0 or -ENAMETOOLONG.
 */
int gwd_settings_privs(const struct gwd_settings *s, struct gwd_privs *out)
	__attribute__((warn_unused_result));

void gwd_settings_free(struct gwd_settings *s);

#endif
