/*
 * autotunnel-gwd settings: one schema for the INI file (-c FILE) and the
 * command line (--key VALUE), so that every setting can be given both ways.
 */
#ifndef AT_GWD_SETTINGS_H
#define AT_GWD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"

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

void gwd_settings_free(struct gwd_settings *s);

#endif
