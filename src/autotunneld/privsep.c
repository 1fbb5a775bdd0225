/*
 * autotunneld's least privilege (issue 15). What the agent does as root
 * happens at start, in main.c's order, before atd_privsep_drop():
 *   - the TUN device (TUNSETIFF on /dev/net/tun), its link, MTU and
 *     addresses (dp_new);
 *   - every socket that needs a capability: the data plane's UDP sockets
 *     with SO_RCVBUFFORCE/SO_SNDBUFFORCE, the raw IPPROTO_ESP socket of
 *     native ESP and the raw IP-in-IP socket of RSIP (dp_new), the raw
 *     ICMPv6 socket of `autotunnel ping` (ping6.c), IKE's UDP port 500
 *     (ikeglue.c) and, should [tunnel] port be below 1024, the data plane's;
 *   - the static peers' psk-files (ikeglue.c keeps the keys), this boot's
 *     identity and the hosts cache in the run directory, the account in the
 *     state directory, the control socket (control.c, mode 0600).
 * After that the agent still:
 *   - adds a route over the TUN device for every peer it learns (dp.c,
 *     RTM_NEWROUTE): CAP_NET_ADMIN, the one capability kept;
 *   - rewrites the hosts cache (run directory; mode 0644, since NSS reads
 *     it from every process) and the account file (state directory, 0600):
 *     both directories become the user's;
 *   - reads netlink (netmon), /proc/net/route (pmclient, RSIP's auto
 *     gateway), and the CA file that `autotunnel login --ca` names, at any
 *     path and again at every reconnection: Landlock lets it read
 *     everywhere the user's rights allow, and write, make and remove only
 *     in its run and state directories (no execute anywhere);
 *   - sends and receives on sockets it holds, opens unprivileged UDP and
 *     TCP sockets (port mapping on 5350 and ephemeral ports, DNS, TLS,
 *     route look-ups), starts threads (data plane, UPnP): nothing more.
 * CAP_NET_RAW and CAP_NET_BIND_SERVICE are therefore not kept, with native
 * ESP and RSIP as without.
 */
#include "autotunneld/privsep.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <unistd.h>

#include "autotunneld/daemon.h"
#include "common/log.h"
#include "common/privdrop.h"

/* The package's system user, else nobody (with a word: nobody may be shared). */
static const char *default_user(void)
{
	uid_t uid;
	gid_t gid;

	if (privdrop_user_lookup("autotunnel", &uid, &gid) == 0)
		return "autotunnel";
	if (geteuid() == 0)
		log_warnx("no user autotunnel: running as nobody once started "
			  "(make a system user autotunnel, or set [tunnel] user)");
	return "nobody";
}

int atd_privsep_drop(struct atd *d)
{
	const struct atd_conf *c = &d->conf;
	struct privdrop p = {
		.user = c->user ? c->user : default_user(),
		.caps = PRIVDROP_CAP(CAP_NET_ADMIN),
		.landlock = true,
		/* the CA file of a login: any path (see above); /proc/net/route */
		.ro = { "/" },
		.n_ro = 1,
	};
	int ret;

	if (c->agent_mode) {
		p.rw[p.n_rw++] = c->run_dir;
		p.rw[p.n_rw++] = c->state_dir;
		/* files made as root, for the user to rewrite; the control
		 * socket stays root's (who may connect does not change) */
		p.own_dirs[p.n_own_dirs++] = c->run_dir;
		p.own_dirs[p.n_own_dirs++] = c->state_dir;
	}
	ret = privdrop_apply(&p);
	if (ret)
		log_warnx("cannot drop privileges (as user %s): %s", p.user, strerror(-ret));
	return ret;
}
