/*
 * src/autotunneld/agent.c: account mode's engine. It owns this host's
 * state: its identity (RFC 6281 §6.3), the network it is on (§5.1:
 * netmon), its reachability (§4: UDP 4500 mapped on the gateway through
 * src/pmclient, or a public address, or an address lent by RSIP), what it
 * hands to the publisher, and the hosts cache for NSS.
 *
 * On a change of network, in the order of RFC 6281 §5.1: the primary
 * address is evaluated again, tunnels bound to the old address move
 * (dynpeer.c: MOBIKE), the mapping is asked for again, and once it is
 * known (or after a short wait) the new location is published.
 *
 * The engine and its leaves (OpenBSD slaacd's engine.c shape): each leaf
 * gets what it needs when it is made, reports through callbacks, and never
 * includes agent.h or calls into this file.
 *   dynpeer.c (the account's peers as tunnels): struct atd_dynpeers_ops
 *     hosts_changed, rsip_binding; the account's view comes with each call.
 *   account.c (login, state file, and the DNS side it owns: publish.c,
 *     watch.c, dnsquery.c, dnsconn.c, their lib/agent timers): struct
 *     atd_dns_ops signed_in, signed_out, local, peer_update, peer_gone.
 *   kdc.c (the local KDC, its keeper forked at start): struct atd_kdc_ops
 *     changed; told of sign-in, sign-out and the hosts.
 *   fsutil.c (identity file, hosts cache), src/netmon and src/pmclient
 *     (their own callbacks: on_net, on_note), ikeglue.c (plain calls).
 * rsip_client.c reports binding changes through the callback main.c gives
 * it (atd_agent_rsip_changed); control.c sits above the engine (started by
 * main.c) and reads it through atd_agent_self/account/peers.
 *
 * Timing is lib/agent timers' everywhere: the engine's own deadline (the
 * wait for a port mapping) comes from struct agent_engine_timers, told
 * mapping_asked/mapping_done; the DNS side's from struct agent_timers
 * (account.c); the peers' from struct agent_peer_timers (dynpeer.c, which
 * runs them on its 250 ms sample of the data plane's activity counters);
 * the reconnection back-off of dnsconn.c and rsip_client.c from struct
 * agent_reconnect. The others arm their libevent timer at the deadline
 * they are given. (Requests' own answer timeouts stay with the request.)
 */
#include "autotunneld/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/hosts.h"
#include "agent/identity.h"
#include "agent/name.h"
#include "agent/timers.h"
#include "autotunneld/account.h"
#include "autotunneld/daemon.h"
#include "autotunneld/dynpeer.h"
#include "autotunneld/enrol.h"
#include "autotunneld/fsutil.h"
#include "autotunneld/gather.h"
#include "autotunneld/ikeglue.h"
#include "autotunneld/kdc.h"
#include "autotunneld/punch.h"
#include "autotunneld/reflex.h"
#include "autotunneld/relay.h"
#include "autotunneld/rsip_client.h"
#include "common/clock.h"
#include "common/log.h"
#include "netmon/netmon.h"
#include "pmclient/pmclient.h"
#include "portmap/portmap.h"
#include "util/random.h"

#define NETMON_DEBOUNCE_MS IKE_GLUE_NETMON_DEBOUNCE_MS
#define MAP_TRIES 5		/* attempts on port 5351: given up after 7.75 s (RFC 6886 §3.1 timing) */

struct atd_agent {
	struct atd *d;
	struct agent_identity id;
	uint8_t eui64[8];
	char ula_str[48];
	char label[64];			/* this host's label H as configured (or from its host name) */
	char identity_path[4200], hosts_path[4200];

	struct netmon *nm;
	struct netmon_state net;	/* the primary network now */
	uint64_t net_changed_ms;	/* when it last changed */

	struct pmclient *pmc;
	enum atd_reach reach;
	enum portmap_proto map_proto;	/* of the mapping held */
	struct in_addr ext_addr;	/* the mapping's (or our public) address */
	uint16_t ext_port;
	uint32_t map_lifetime;
	uint64_t map_expires_ms;
	enum portmap_proto refused_by;
	unsigned refused_result;
	struct agent_engine_timers et;	/* the engine's deadlines (lib/agent timers): the mapping's wait */
	struct event *etimer;		/* armed at agent_engine_next() */
	bool map_pending;		/* asked, no answer yet */
	bool rsip;			/* an RSIP gateway lent us an address: reachable there */
	struct in_addr rsip_addr;	/* Nb */
	uint16_t rsip_port;		/* the lent IKE port */

	struct atd_local_info local;	/* last handed to the publisher */
	bool local_valid;

	struct atd_dynpeers *peers;
	struct atd_reflex *reflex;	/* reflexive address and NAT behaviour (STUN) */
	struct atd_kdc *kdc;		/* the local KDC (docs/sso.md) */
	struct atd_punch *punch;	/* direct paths by hole punching */
	bool reflex_fresh;		/* its result is of this network (a check ended since the last change) */
	uint32_t cand_gen;		/* the last generation of our candidates (docs/paths.md §1.2) */
	struct atd_relay *relay;	/* the TURN allocation (NULL with relay = never) */
	bool relay_on;			/* relay.c was started for this network and account */
	struct relay_loc {		/* peers' published locations, for relay_peers_sync() */
		bool used, has, relayed;
		bool bound;		/* relay_peers_sync() bound it */
		char fqdn[256], label[64];
		struct sockaddr_in loc;
	} rloc[ATD_MAX_PEERS];
	struct agent_timer_cfg tcfg;	/* peers' timer policy (lib/agent timers) */
	bool stopping;
};

static const char *ntoa4(const uint8_t a[4], char *buf)
{
	return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

/* Whether @p a (network order) is private, shared (RFC 6598), loopback or link-local. */
static bool addr_private(const uint8_t a[4])
{
	/* RFC 1918, RFC 6598 shared space, loopback, link-local, 0/8 */
	return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	       a[0] == 0;
}

static int verify_peer(void *arg, const uint8_t *der, size_t len, const char *host, const uint8_t *ula)
{
	return atd_enrol_verify_peer(atd_dns_enrol(arg), der, len, host, ula);
}

bool atd_agent_account(struct atd *d, struct atd_acct_view *v)
{
	const struct atd_account *acc = atd_account_get(d);

	memset(v, 0, sizeof(*v));
	if (!acc || !acc->signed_in)
		return false;
	v->signed_in = true;
	v->name = acc->name;
	v->domain = acc->domain;
	v->host = acc->host;
	v->server = acc->server;
	v->ike_key = acc->ike_key;
	{
		/* the account authority (enrol.c): certificates instead of the PSK */
		struct atd_enrol_creds c;

		atd_enrol_creds(atd_dns_enrol(d), &c);
		v->authority = c.authority;
		v->cert = c.cert;
		v->cert_len = c.cert_len;
		v->key = c.key;
		v->key_len = c.key_len;
		v->anchor = c.anchor;
		v->anchor_len = c.anchor_len;
		v->verify = verify_peer;
		v->verify_arg = d;
	}
	return true;
}

/* ---- identity (RFC 6281 §6.3): a ULA made once per boot, kept in the run directory ---- */

static int boot_id(char out[AGENT_BOOT_ID_LEN + 1])
{
	uint8_t buf[64];
	size_t n;
	int err = fsutil_read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf), &n);

	if (err)
		return err;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (n != AGENT_BOOT_ID_LEN)
		return -EINVAL;
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

/* The MAC whose identifier goes into the ULA: the primary interface's, else any, else a random one. */
static void pick_mac(struct agent_identity *id)
{
	struct netmon_snapshot *snap = calloc(1, sizeof(*snap));
	struct netmon_state st;
	uint8_t rnd[6];

	if (snap && netmon_read(snap, &st) == 0) {
		if (st.online && st.has_mac) {
			memcpy(id->mac, st.mac, 6);
			snprintf(id->ifname, sizeof(id->ifname), "%s", st.ifname);
			free(snap);
			return;
		}
		for (size_t i = 0; i < snap->nlinks; i++)
			if (snap->links[i].has_mac && !snap->links[i].loopback) {
				memcpy(id->mac, snap->links[i].mac, 6);
				snprintf(id->ifname, sizeof(id->ifname), "%s", snap->links[i].name);
				free(snap);
				return;
			}
	}
	free(snap);
	if (rand_bytes(rnd, sizeof(rnd)))
		fatalx("no random bytes");
	agent_mac_fallback(id->mac, rnd);
	snprintf(id->ifname, sizeof(id->ifname), "none");
}

static int identity_load_or_make(struct atd_agent *a)
{
	uint8_t buf[AGENT_IDENTITY_FILE_MAX];
	char boot[AGENT_BOOT_ID_LEN + 1], ula[INET6_ADDRSTRLEN];
	uint8_t rnd[7];
	size_t n;
	int ret;

	if ((ret = boot_id(boot))) {
		log_warnx("cannot read this boot's id (/proc/sys/kernel/random/boot_id): %s", strerror(-ret));
		return ret;
	}
	if (fsutil_read_small(a->identity_path, buf, sizeof(buf), &n) == 0) {
		struct agent_identity old;

		if (agent_identity_parse(&old, buf, n) == 0 && !strcmp(old.boot_id, boot)) {
			a->id = old;
			inet_ntop(AF_INET6, a->id.ula, ula, sizeof(ula));
			log_info("identity: this host is %s for this boot (kept in %s)", ula, a->identity_path);
			return 0;
		}
		if (agent_identity_parse(&old, buf, n) == 0)
			log_info("identity: %s is from an earlier boot; making a new address", a->identity_path);
		else
			log_warnx("identity: %s is damaged; making a new address", a->identity_path);
	}
	/* RFC 6281 §6.3 / RFC 4193: 0xfd, 7 random bytes, the modified EUI-64 of the primary MAC */
	memset(&a->id, 0, sizeof(a->id));
	snprintf(a->id.boot_id, sizeof(a->id.boot_id), "%s", boot);
	pick_mac(&a->id);
	if (rand_bytes(rnd, sizeof(rnd)))
		return -EIO;
	agent_ula_make(a->id.ula, rnd, a->id.mac);
	/*
	 * The account authority's certificate binds this host's ULA (docs/authority.md
	 * §3): a host that has one keeps its ULA at a new boot, while it is made
	 * from the same MAC, or its peers would refuse the certificate.
	 */
	if (a->d->conf.authority) {
		uint8_t kept[16], iid[8];

		agent_iid_from_mac(iid, a->id.mac);
		if (atd_enrol_saved_ula(a->d->conf.state_dir, kept) == 0 && memcmp(kept + 8, iid, 8) == 0) {
			memcpy(a->id.ula, kept, 16);
			log_info("identity: keeping the address of this host's certificate (the account authority)");
		}
	}
	ret = agent_identity_format(&a->id, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if ((ret = fsutil_write_atomic(a->identity_path, buf, (size_t)ret, 0644))) {
		log_warnx("identity: cannot write %s: %s", a->identity_path, strerror(-ret));
		return ret;
	}
	inet_ntop(AF_INET6, a->id.ula, ula, sizeof(ula));
	log_info("identity: this host is %s for this boot (new, from the MAC of %s)", ula, a->id.ifname);
	return 0;
}

/* ---- hosts cache for libnss_autotunnel.so.2 ---- */

/* Rewrite the hosts cache for NSS (atomically) from this host and the peers known now. */
static void hosts_write(struct atd *d)
{
	struct atd_agent *a = d->agent;
	static struct agent_host_entry e[DP_MAX_PEERS + 1];
	static uint8_t buf[(DP_MAX_PEERS + 1) * (AGENT_LABEL_MAX + AGENT_NAME_MAX + 48) + 64];
	struct atd_acct_view acc;
	size_t n = 0;
	int len, ret;

	if (!a)
		return;
	if (atd_agent_account(d, &acc) && acc.host && acc.domain) {
		char fq[AGENT_NAME_MAX + 2];

		snprintf(fq, sizeof(fq), "%s.%s", acc.host, acc.domain);
		if (agent_name_canon(e[0].fqdn, sizeof(e[0].fqdn), fq) > 0) {
			snprintf(e[0].label, sizeof(e[0].label), "%.*s", (int)strcspn(e[0].fqdn, "."), e[0].fqdn);
			memcpy(e[0].ula, a->id.ula, 16);
			n = 1;
		}
		n += atd_dynpeers_hosts(a->peers, e + 1, DP_MAX_PEERS);
	}
	if (a->kdc)
		atd_kdc_hosts(a->kdc, n ? &e[0] : NULL, n > 1 ? e + 1 : NULL, n > 1 ? n - 1 : 0);
	len = agent_hosts_format(e, n, buf, sizeof(buf));
	if (len < 0) {
		log_warnx("hosts cache: cannot format %zu hosts: %s", n, strerror(-len));
		return;
	}
	if ((ret = fsutil_write_atomic(a->hosts_path, buf, (size_t)len, 0644)))
		log_warnx("hosts cache: cannot write %s: %s", a->hosts_path, strerror(-ret));
}

/* ---- what we publish ---- */

/* "pcp", "nat-pmp"...: the mapping protocol as the control protocol names it. */
static const char *mapping_name(const struct atd_agent *a)
{
	if (a->reach != ATD_REACH_MAPPED && a->reach != ATD_REACH_DOUBLE_NAT)
		return "none";
	switch (a->map_proto) {
	case PORTMAP_PROTO_PCP:
		return "pcp";
	case PORTMAP_PROTO_NATPMP:
		return "nat-pmp";
	case PORTMAP_PROTO_UPNP:
		return "upnp";
	default:
		return "none";
	}
}

/* A sentence about this network's reachability, for logs, status and netcheck. */
static const char *reach_text(const struct atd_agent *a, char *buf, size_t len)
{
	char e[INET_ADDRSTRLEN];

	if (a->rsip && a->net.online) {
		snprintf(buf, len, "behind NAT: reachable at %s:%u, an address and IKE port the gateway "
			 "lends us by RSIP (RFC 3104)", inet_ntop(AF_INET, &a->rsip_addr, e, sizeof(e)),
			 a->rsip_port);
		return buf;
	}
	switch (a->reach) {
	case ATD_REACH_UNKNOWN:
		snprintf(buf, len, a->net.online ? "asking the gateway for a port mapping" : "offline");
		break;
	case ATD_REACH_PUBLIC:
		snprintf(buf, len, "public address %s: reachable at %s:%u, nothing to map",
			 ntoa4(a->net.addr, e), e, a->ext_port);
		break;
	case ATD_REACH_MAPPED:
		snprintf(buf, len, "behind NAT: reachable at %s:%u through a %s mapping",
			 inet_ntop(AF_INET, &a->ext_addr, e, sizeof(e)), a->ext_port,
			 portmap_proto_str(a->map_proto));
		break;
	case ATD_REACH_NO_MAPPING:
		snprintf(buf, len, a->d->conf.no_portmap ?
			 "no port mapping on this network (turned off by no-portmap); peers reach this host by "
			 "hole punching" :
			 "no port mapping on this network: PCP, NAT-PMP and UPnP did not answer; "
			 "peers reach this host by hole punching");
		break;
	case ATD_REACH_REFUSED:
		snprintf(buf, len, "no port mapping on this network: the gateway refused it (%s %s); "
			 "peers reach this host by hole punching", portmap_proto_str(a->refused_by),
			 portmap_result_str(a->refused_by, a->refused_result));
		break;
	case ATD_REACH_DOUBLE_NAT:
		snprintf(buf, len, "double NAT: the gateway maps us to %s, which is itself a private "
			 "address, so another NAT is upstream; peers reach this host by hole punching",
			 inet_ntop(AF_INET, &a->ext_addr, e, sizeof(e)));
		break;
	}
	return buf;
}


static void publish_now(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct atd_acct_view acc;

	if (!a->local_valid || !atd_agent_account(d, &acc))
		return;
	atd_dns_local(d, &a->local);
}

static uint8_t nat_behaviour(enum stun_nat_behavior b)
{
	switch (b) {
	case STUN_NAT_NONE:	/* no filter at all: as open as endpoint-independent */
	case STUN_NAT_ENDPOINT_INDEPENDENT:
		return AGENT_NAT_EI;
	case STUN_NAT_ADDRESS_DEPENDENT:
		return AGENT_NAT_AD;
	case STUN_NAT_ADDRESS_PORT_DEPENDENT:
		return AGENT_NAT_APD;
	default:
		return AGENT_NAT_UNKNOWN;
	}
}

/* Our candidates (docs/paths.md §1) for @p li, numbered with a new generation when they changed. */
static void cands_fill(struct atd *d, struct atd_local_info *li)
{
	struct atd_agent *a = d->agent;
	struct atd_gather_in in = { .port = (uint16_t)(d->conf.port ? d->conf.port : 4500), .interfaces = true };
	struct atd_reflex_view v;

	memset(&li->cands, 0, sizeof(li->cands));
	if (!a->net.online)
		return;
	in.has_external = li->has_external;
	in.public_net = li->public_net;
	memcpy(in.external4, li->external4, 4);
	in.ext_port = li->port;
	if (a->reflex)
		atd_reflex_get(a->reflex, &v);
	if (a->reflex && v.have_early && v.early.ss_family == AF_INET && !v.early_no_nat) {
		const struct sockaddr_in *r = (const struct sockaddr_in *)&v.early;

		/* a full check under way has the NAT's mapping already; its behaviour follows */
		in.has_srflx = true;
		memcpy(in.srflx4, &r->sin_addr, 4);
		in.srflx_port = ntohs(r->sin_port);
		in.map = in.filt = AGENT_NAT_UNKNOWN;
	} else if (a->reflex && a->reflex_fresh) {
		/* behind a NAT (STUN saw another address than ours): the NAT's mapping, with its behaviour */
		if (v.have_result && v.result.reachable && v.result.reflexive.ss_family == AF_INET &&
		    v.result.mapping != STUN_NAT_NONE) {
			const struct sockaddr_in *r = (const struct sockaddr_in *)&v.result.reflexive;

			in.has_srflx = true;
			memcpy(in.srflx4, &r->sin_addr, 4);
			in.srflx_port = ntohs(r->sin_port);
			in.map = nat_behaviour(v.result.mapping);
			in.filt = nat_behaviour(v.result.filtering);
		}
	}
	if (a->relay_on && d->conf.relay_mode != ATD_RELAY_NEVER) {
		struct sockaddr_in ra;

		/* issue 12: the lowest-priority candidate, used only when no direct pair works */
		if (atd_relay_candidate(a->relay, &ra) == 0) {
			in.has_relay = true;
			memcpy(in.relay4, &ra.sin_addr, 4);
			in.relay_port = ntohs(ra.sin_port);
		}
	}
	atd_gather(&in, &li->cands);
	if (a->local_valid && atd_gather_same(&li->cands, &a->local.cands)) {
		li->cands = a->local.cands;
		return;
	}
	/* RFC 1982 order: a peer ignores a set older than one it holds */
	li->cands.gen = ++a->cand_gen;
}

/* ---- the relay (relay.c, docs/relay.md) ---- */

/*
 * Whether this host wants a TURN allocation here: always with relay =
 * always; with auto, when peers cannot start a tunnel to us directly (no
 * mapping, refused, or a mapping behind another NAT). A host that can be
 * reached directly needs none: a peer's relay reaches it. With auto the
 * relayed address is only a candidate (docs/paths.md §1, kind relay):
 * path selection (punch.c) uses it when no direct pair works.
 */
static bool relay_wanted(const struct atd *d)
{
	const struct atd_agent *a = d->agent;

	if (!a->relay || !a->net.online)
		return false;
	if (d->conf.relay_mode == ATD_RELAY_ALWAYS)
		return true;
	return !a->rsip && (a->reach == ATD_REACH_NO_MAPPING || a->reach == ATD_REACH_REFUSED ||
			    a->reach == ATD_REACH_DOUBLE_NAT);
}

/*
 * With relay = always the relayed address is our location (SRV priority
 * 10, docs/relay.md): peers start tunnels to it, and what they send
 * reaches us as ChannelData through our allocation. With auto it is a
 * candidate only (cands_fill()).
 */
static void relay_location(struct atd *d, struct atd_local_info *li)
{
	struct atd_agent *a = d->agent;
	struct sockaddr_in ra;

	if (d->conf.relay_mode != ATD_RELAY_ALWAYS || !a->relay_on || atd_relay_candidate(a->relay, &ra))
		return;
	li->has_external = true;
	li->public_net = li->rsip = false;
	li->relayed = true;
	memcpy(li->external4, &ra.sin_addr, 4);
	li->port = ntohs(ra.sin_port);
}

static void relay_kick(struct atd *d, bool force);

/*
 * Which peers go through our allocation by their published location:
 * every peer with a location with relay = always; with auto, the peers
 * whose published location is a relayed address (a peer with relay =
 * always: its SRV says so, docs/relay.md), relay to relay, and every peer
 * with a location while our allocation is over TLS or TCP: UDP is blocked
 * here, so no direct pair can work from this host, and only one side
 * needs an allocation when the other is reachable (issue 12: the peer
 * sees our relayed address as where we are, and answers there). With
 * auto the other relayed paths are path selection's (punch.c binds them),
 * so only the bindings made here are undone here.
 */
static void relay_peers_sync(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct sockaddr_in ra;
	bool ours = a->relay_on && atd_relay_candidate(a->relay, &ra) == 0;
	bool stream = false;

	if (!a->relay)
		return;
	if (ours) {
		struct atd_relay_view rv;

		atd_relay_get(a->relay, &rv);
		stream = rv.transport && strcmp(rv.transport, "udp") != 0;
	}
	for (int i = 0; i < ATD_MAX_PEERS; i++) {
		struct relay_loc *l = &a->rloc[i];
		bool via;

		if (!l->used)
			continue;
		via = ours && l->has && (d->conf.relay_mode == ATD_RELAY_ALWAYS || l->relayed || stream);
		if (!via && !l->bound)
			continue;
		if (atd_relay_bind_peer(a->relay, l->label, via ? &l->loc : NULL))
			log_warnx("relay: cannot reach %s through the relay (too many peers)", l->label);
		l->bound = via;
	}
}

/* What a peer published (the watcher's word, not where its packets come from now). */
static void relay_loc_set(struct atd_agent *a, const struct atd_peer_info *pi, bool gone)
{
	struct relay_loc *l = NULL, *free_slot = NULL;

	for (int i = 0; i < ATD_MAX_PEERS; i++) {
		if (a->rloc[i].used && !strcmp(a->rloc[i].fqdn, pi->fqdn))
			l = &a->rloc[i];
		else if (!a->rloc[i].used && !free_slot)
			free_slot = &a->rloc[i];
	}
	if (!l && !(l = free_slot))
		return;
	l->used = true;
	snprintf(l->fqdn, sizeof(l->fqdn), "%s", pi->fqdn);
	snprintf(l->label, sizeof(l->label), "%s", pi->name);
	l->has = !gone && pi->has_outer;
	l->relayed = pi->relayed;
	memset(&l->loc, 0, sizeof(l->loc));
	l->loc.sin_family = AF_INET;
	memcpy(&l->loc.sin_addr, pi->outer4, 4);
	l->loc.sin_port = htons(pi->port);
}

/* Evaluate what we publish now; hand it to the publisher if it changed (or if @p force). */
static void local_update(struct atd *d, bool force)
{
	struct atd_agent *a = d->agent;
	struct atd_local_info li = { 0 };
	char e[INET_ADDRSTRLEN];
	bool cands_changed;

	memcpy(li.ula, a->id.ula, 16);
	memcpy(li.eui64, a->eui64, 8);
	if (atd_kdc_realm(a->kdc))
		snprintf(li.krb_realm, sizeof(li.krb_realm), "%s", atd_kdc_realm(a->kdc));
	if (a->rsip && a->net.online) {
		/* RFC 3104 App. G: a peer may start IKE to Nb and the lent port; the gateway tunnels it to us */
		li.has_external = true;
		li.rsip = true;
		memcpy(li.external4, &a->rsip_addr, 4);
		li.port = a->rsip_port;
	} else if (a->reach == ATD_REACH_PUBLIC) {
		li.has_external = true;
		li.public_net = true;
		memcpy(li.external4, a->net.addr, 4);
		li.port = a->ext_port;
	} else if (a->reach == ATD_REACH_MAPPED) {
		li.has_external = true;
		memcpy(li.external4, &a->ext_addr, 4);
		li.port = a->ext_port;
	}
	cands_fill(d, &li);
	relay_location(d, &li);
	if (a->local_valid && !force && !memcmp(&li, &a->local, sizeof(li))) {
		relay_kick(d, false);
		return;
	}
	if (li.has_external)
		log_debug("publishing our location %s:%u%s", ntoa4(li.external4, e), li.port,
			  li.rsip ? " (lent by RSIP)" : li.relayed ? " (relayed by TURN)" : "");
	else
		log_debug("publishing no location (peers cannot start tunnels to us here)");
	cands_changed = !a->local_valid || a->local.cands.n != li.cands.n || a->local.cands.gen != li.cands.gen;
	a->local = li;
	a->local_valid = true;
	if (a->punch)
		atd_punch_local(a->punch, &li.cands);
	/* after the rounds that ran run again: the tunnels a lost location leaves with no path (§9.4) */
	if (cands_changed) {
		bool pub = false;

		for (size_t i = 0; i < li.cands.n; i++)
			pub = pub || (li.cands.c[i].kind == AGENT_CAND_PUBLIC && !li.cands.c[i].v6 &&
				      !memcmp(li.cands.c[i].addr, li.external4, 4));
		atd_dynpeers_local_cands(a->peers, li.has_external, pub);
	}
	publish_now(d);
	relay_kick(d, false);
}

/* ---- RSIP (RFC 3104): an address lent by the gateway ---- */

void atd_agent_rsip_changed(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct ike_glue_rsip gr;
	struct dp_path path;
	char e[INET_ADDRSTRLEN];
	bool now;

	if (!a)
		return;
	now = atd_rsip_binding(d, &gr, &path) == 0;
	if (now == a->rsip && (!now || (a->rsip_addr.s_addr == gr.local.sin_addr.s_addr &&
					a->rsip_port == ntohs(gr.local.sin_port))))
		return;
	a->rsip = now;
	if (now) {
		a->rsip_addr = gr.local.sin_addr;
		a->rsip_port = ntohs(gr.local.sin_port);
		log_info("reachable at %s:%u through RSIP: publishing that instead of a port mapping",
			 inet_ntop(AF_INET, &a->rsip_addr, e, sizeof(e)), a->rsip_port);
	} else {
		log_info("RSIP address lost: publishing the port mapping again");
	}
	{
		struct atd_acct_view acc;

		atd_agent_account(d, &acc);
		atd_dynpeers_rsip_changed(a->peers, &acc);
	}
	local_update(d, false);
}

/* ---- port mapping (RFC 6281 §4) ---- */

/* Arm the engine's one timer at the deadline lib/agent timers gives. */
static void engine_rearm(struct atd_agent *a)
{
	uint64_t next = agent_engine_next(&a->et), now = clock_now_ms(), ms;
	struct timeval tv;

	if (!a->etimer)
		return;
	evtimer_del(a->etimer);
	if (next == AGENT_NEVER)
		return;
	ms = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(a->etimer, &tv);
}

static void engine_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd *d = arg;
	struct atd_agent *a = d->agent;
	enum agent_engine_action act;

	(void)fd, (void)what;
	while ((act = agent_engine_due(&a->et, clock_now_ms())) != AGENT_ENGINE_NONE) {
		switch (act) {
		case AGENT_ENGINE_MAPPING_LATE:
			/* the gateway is slow: publish what we have (no location), the mapping follows */
			log_info("no answer from the gateway yet; publishing without a location for now");
			local_update(d, false);
			break;
		default:
			break;
		}
	}
	engine_rearm(a);
}

/* The gateway was asked for a mapping (@p pending), or the question ended: the timers hear of it. */
static void map_pending_set(struct atd_agent *a, bool pending)
{
	a->map_pending = pending;
	if (pending)
		agent_engine_mapping_asked(&a->et, clock_now_ms());
	else
		agent_engine_mapping_done(&a->et);
	engine_rearm(a);
}

static void set_mapped(struct atd *d, const struct portmap_note *n)
{
	struct atd_agent *a = d->agent;
	uint8_t ext[4];
	char buf[320];

	map_pending_set(a, false);
	a->map_proto = n->proto;
	a->ext_addr = n->ext_addr;
	a->ext_port = n->ext_port;
	a->map_lifetime = n->lifetime;
	a->map_expires_ms = clock_now_ms() + (uint64_t)n->lifetime * 1000;
	memcpy(ext, &n->ext_addr, 4);
	/* RFC 6281 §4.4.1: an external address that is itself private means another NAT upstream */
	a->reach = addr_private(ext) ? ATD_REACH_DOUBLE_NAT : ATD_REACH_MAPPED;
	if (a->reach == ATD_REACH_DOUBLE_NAT)
		log_warnx("%s", reach_text(a, buf, sizeof(buf)));
}

static void on_note(void *arg, struct pmclient *pmc, const struct portmap_note *n)
{
	struct atd *d = arg;
	struct atd_agent *a = d->agent;
	char e[INET_ADDRSTRLEN], o[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], buf[320];
	struct in_addr gw = pmclient_gateway(pmc);

	if (!a->net.online)
		return;	/* about the network we left; the next one starts over */
	inet_ntop(AF_INET, &n->ext_addr, e, sizeof(e));
	inet_ntop(AF_INET, &gw, g, sizeof(g));
	switch (n->kind) {
	case PORTMAP_NOTE_MAPPED:
		set_mapped(d, n);
		if (a->reach == ATD_REACH_MAPPED)
			log_info("mapped UDP %d on the gateway %s by %s: reachable at %s:%u (for %u s)",
				 d->conf.port ? d->conf.port : 4500, g, portmap_proto_str(n->proto), e,
				 n->ext_port, n->lifetime);
		local_update(d, false);
		break;
	case PORTMAP_NOTE_CHANGED:
		set_mapped(d, n);
		inet_ntop(AF_INET, &n->old_addr, o, sizeof(o));
		log_info("the gateway's mapping changed: reachable at %s:%u now (was %s:%u)", e, n->ext_port,
			 o, n->old_port);
		local_update(d, false);
		break;
	case PORTMAP_NOTE_RENEWED:
		set_mapped(d, n);
		log_debug("mapping renewed: %s:%u for %u s", e, n->ext_port, n->lifetime);
		local_update(d, false);
		break;
	case PORTMAP_NOTE_RECREATED:
		set_mapped(d, n);
		log_info("mapping made again after the gateway's restart: reachable at %s:%u", e, n->ext_port);
		/* republish even if nothing changed: the records are what peers follow */
		local_update(d, true);
		break;
	case PORTMAP_NOTE_GATEWAY_RESET:
		log_info("the gateway %s restarted and forgot our mapping (its epoch went back): mapping again", g);
		/* a rebooted NAT forgot our flows too (the server connection with them): start over as
		 * after a change of network, and publish again once the mapping is back */
		atd_dns_network_changed(d);
		break;
	case PORTMAP_NOTE_FALLBACK:
		if (n->from != PORTMAP_PROTO_NONE)
			log_info("the gateway does not speak %s; trying %s", portmap_proto_str(n->from),
				 portmap_proto_str(n->proto));
		break;
	case PORTMAP_NOTE_REFUSED:
		log_info("%s refused the mapping: %s", portmap_proto_str(n->proto),
			 portmap_result_str(n->proto, n->result));
		break;
	case PORTMAP_NOTE_PUBLIC:
		/* our address is private (else no mapping is asked for): nothing answered */
		map_pending_set(a, false);
		a->reach = ATD_REACH_NO_MAPPING;
		log_warnx("%s", reach_text(a, buf, sizeof(buf)));
		local_update(d, false);
		break;
	case PORTMAP_NOTE_FAILED:
		map_pending_set(a, false);
		a->reach = ATD_REACH_REFUSED;
		a->refused_by = n->proto;
		a->refused_result = n->result;
		log_warnx("%s", reach_text(a, buf, sizeof(buf)));
		local_update(d, false);
		break;
	case PORTMAP_NOTE_LOST:
		a->reach = ATD_REACH_NO_MAPPING;
		log_warnx("our mapping on the gateway %s expired: it stopped answering; reachable only "
			  "outbound until it answers again", g);
		local_update(d, false);
		break;
	case PORTMAP_NOTE_DELETED:
		break;
	}
}

static void pmc_drop(struct atd_agent *a)
{
	pmclient_free(a->pmc);
	a->pmc = NULL;
	map_pending_set(a, false);
}

static void pmc_start(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct pmclient_config cfg;
	int ret;

	a->reach = ATD_REACH_UNKNOWN;
	/* publish at the latest when the timers say the mapping is late */
	map_pending_set(a, true);
	if (a->pmc) {
		if ((ret = pmclient_netchange(a->pmc)) == 0)
			return;
		pmc_drop(a);
		map_pending_set(a, true);
	}
	pmclient_config_default(&cfg);
	cfg.pm.tries = MAP_TRIES;
	/* no fixed gateway: after a change of network pmclient reads the new default route */
	if (!(a->pmc = pmclient_new(d->base, &cfg, on_note, d)) ||
	    (ret = pmclient_add(a->pmc, PCP_PROTO_UDP, (uint16_t)(d->conf.port ? d->conf.port : 4500),
				(uint16_t)(d->conf.port ? d->conf.port : 4500))) < 0 ||
	    (ret = pmclient_start(a->pmc)) < 0) {
		log_warnx("port mapping: cannot ask the gateway");
		pmc_drop(a);
		a->reach = ATD_REACH_NO_MAPPING;
		local_update(d, false);
	}
}

/* RFC 6281 §5.1: with the primary network known, decide how peers reach us. */
static void reach_evaluate(struct atd *d)
{
	struct atd_agent *a = d->agent;
	char buf[320];

	if (!a->net.online) {
		/* the port-mapping client is kept (freeing it may wait for a UPnP job): the next network reuses it */
		map_pending_set(a, false);
		a->reach = ATD_REACH_UNKNOWN;
		local_update(d, false);
		return;
	}
	if (!addr_private(a->net.addr)) {
		/* RFC 6281 §4.1: a public address needs no mapping */
		pmc_drop(a);
		a->reach = ATD_REACH_PUBLIC;
		a->ext_port = (uint16_t)(d->conf.port ? d->conf.port : 4500);
		log_info("%s", reach_text(a, buf, sizeof(buf)));
		local_update(d, false);
		return;
	}
	if (d->conf.no_portmap) {
		pmc_drop(a);
		a->reach = ATD_REACH_NO_MAPPING;
		log_info("%s", reach_text(a, buf, sizeof(buf)));
		local_update(d, false);
		return;
	}
	pmc_start(d);
}

/* ---- the network monitor ---- */

static void describe(const struct netmon_state *st, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	if (!st->online) {
		snprintf(buf, len, "offline");
		return;
	}
	ntoa4(st->addr, a);
	if (st->has_gateway)
		snprintf(buf, len, "%s on %s, gateway %s", a, st->ifname, ntoa4(st->gateway, g));
	else
		snprintf(buf, len, "%s on %s", a, st->ifname);
}

/* Signed in and online: learn the reflexive address (again); offline: forget it. */
static void reflex_kick(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct atd_acct_view acc;

	if (!a->reflex)
		return;
	if (!a->net.online)
		atd_reflex_stop(a->reflex, false);
	else if (atd_agent_account(d, &acc))
		atd_reflex_start(a->reflex, acc.domain, a->net.addr, (uint16_t)(d->conf.port ? d->conf.port : 4500));
}

/* The primary IPv4 address moved: the account's tunnels bound to it follow. */
static void peers_local_moved(struct atd_agent *a, const struct netmon_state *before, const struct netmon_state *now)
{
	union dp_addr o = { .sin = { .sin_family = AF_INET } }, n = { .sin = { .sin_family = AF_INET } };

	memcpy(&o.sin.sin_addr, before->addr, 4);
	memcpy(&n.sin.sin_addr, now->addr, 4);
	atd_dynpeers_local_moved(a->peers, before->online ? &o : NULL, &n);
}

static void on_net(void *arg, const struct netmon_state *now, const struct netmon_state *before)
{
	struct atd *d = arg;
	struct atd_agent *a = d->agent;
	char n[128], b[128];
	bool addr_changed = now->online != before->online ||
			    (now->online && memcmp(now->addr, before->addr, 4));

	if (!netmon_state_changed(now, before)) {
		/*
		 * Only the global IPv6 addresses (one appeared or went): the IPv4
		 * network, its mapping and reflexive address stay; the candidates
		 * are gathered again, and the rounds that ran run again with them
		 * (punch.c), which moves a tunnel off a dead IPv6 path or back to
		 * IPv6 (docs/paths.md §10).
		 */
		log_info("IPv6 addresses changed: now %u global (was %u)", now->n6, before->n6);
		a->net = *now;
		ike_glue_local_changed();	/* the cached source address towards a peer */
		atd_reflex_recheck6(a->reflex);	/* netcheck's word on IPv6 */
		if (!a->map_pending)
			local_update(d, false);
		return;
	}
	describe(now, n, sizeof(n));
	describe(before, b, sizeof(b));
	log_info("network changed: now %s (was %s)", n, b);
	a->net = *now;
	a->net_changed_ms = clock_now_ms();
	a->reflex_fresh = false;	/* the old network's reflexive address is no candidate here */
	ike_glue_net_changed(d->ike);	/* static peers' tunnels (and the cached route) */
	if (now->online)
		atd_dns_network_changed(d);	/* the connection to the server went with the old address */
	/* tunnels first: they move on their own, whatever the gateway says later */
	if (addr_changed && now->online)
		peers_local_moved(a, before, now);
	reach_evaluate(d);
	reflex_kick(d);
	relay_kick(d, now->online);
}

/*
 * Start or stop the relay as relay_wanted() says; @p force: start again
 * even if it runs (a new network: the old 5-tuple is gone; a new sign-in).
 */
static void relay_kick(struct atd *d, bool force)
{
	struct atd_agent *a = d->agent;
	struct atd_acct_view acc;
	bool want = relay_wanted(d) && atd_agent_account(d, &acc);

	if (!a->relay)
		return;
	if (want && (!a->relay_on || force)) {
		a->relay_on = true;
		log_info("relay: %s", d->conf.relay_mode == ATD_RELAY_ALWAYS ?
			 "relay = always: tunnels go through the account's relay" :
			 "peers cannot reach this host directly here: asking the account's relay for an address");
		atd_relay_start(a->relay, acc.domain);
	} else if (!want && a->relay_on) {
		a->relay_on = false;
		log_info("relay: not needed here any more: tunnels go directly");
		atd_relay_stop(a->relay, false);
		local_update(d, false);
	}
}

/* ---- what the leaves report ---- */

static void peers_hosts_changed(void *arg)
{
	hosts_write(arg);
}

static int peers_rsip_binding(void *arg, struct ike_glue_rsip *gr, struct dp_path *path)
{
	return atd_rsip_binding(arg, gr, path);
}

static int peers_punch(void *arg, const char *label)
{
	struct atd *d = arg;

	return atd_punch_want(d->agent->punch, label);
}

static const struct atd_dynpeers_ops peers_ops = { peers_hosts_changed, peers_rsip_binding, peers_punch };

/* Signed in (at start with a saved account, or after login): publish what we know now. */
static void dns_signed_in(void *arg)
{
	struct atd *d = arg;
	struct atd_acct_view acc;

	if (d->agent->kdc && atd_agent_account(d, &acc) && acc.name && acc.domain && acc.host)
		atd_kdc_start(d->agent->kdc, acc.name, acc.domain, acc.host, d->agent->id.ula);
	hosts_write(d);
	if (atd_agent_account(d, &acc))
		atd_punch_account(d->agent->punch, acc.domain, acc.host, d->agent->id.ula, acc.ike_key);
	if (!d->agent->map_pending)
		local_update(d, true);
	else if (d->agent->local_valid)
		atd_punch_local(d->agent->punch, &d->agent->local.cands);
	reflex_kick(d);
	relay_kick(d, false);
}

/* Signed out: forget every peer (tunnels closed, hosts cache emptied). */
static void dns_signed_out(void *arg)
{
	struct atd *d = arg;

	atd_dynpeers_clear(d->agent->peers);
	if (d->agent->kdc)
		atd_kdc_stop(d->agent->kdc);
	atd_punch_account(d->agent->punch, NULL, NULL, NULL, NULL);
	hosts_write(d);
	if (d->agent->reflex)
		atd_reflex_stop(d->agent->reflex, true);
	if (d->agent->relay) {
		atd_relay_stop(d->agent->relay, true);
		d->agent->relay_on = false;
	}
}

static const struct atd_local_info *dns_local(void *arg)
{
	struct atd *d = arg;

	return d->agent->local_valid ? &d->agent->local : NULL;
}

/* A peer appeared, or its records changed (moved): its tunnel follows at once. */
static void dns_peer_update(void *arg, const struct atd_peer_info *p)
{
	struct atd *d = arg;
	struct atd_acct_view acc;

	atd_agent_account(d, &acc);
	atd_dynpeers_update(d->agent->peers, &acc, p);
	atd_punch_peer(d->agent->punch, p->name, p->ula, p->has_cand ? &p->cands : NULL);
	atd_dynpeers_punch_moved(d->agent->peers, p->name);
	relay_loc_set(d->agent, p, false);
	relay_peers_sync(d);
}

static void dns_peer_gone(void *arg, const char *fqdn)
{
	struct atd *d = arg;
	struct atd_peer_info pi = { 0 };

	atd_dynpeers_gone(d->agent->peers, fqdn);
	snprintf(pi.fqdn, sizeof(pi.fqdn), "%s", fqdn);
	snprintf(pi.name, sizeof(pi.name), "%.*s", (int)strcspn(fqdn, "."), fqdn);
	atd_punch_peer_gone(d->agent->punch, pi.name);
	relay_loc_set(d->agent, &pi, true);
	relay_peers_sync(d);
}

static void dns_punch_request(void *arg, const struct agent_punch *req)
{
	struct atd *d = arg;

	atd_punch_request(d->agent->punch, req);
}

static int reflex_query(void *arg, const struct dns_name *q, uint16_t type, dnsquery_fn done, void *qarg)
{
	return atd_dns_query(arg, q, type, done, qarg);
}

static void reflex_query_cancel(void *arg, void *qarg)
{
	atd_dns_query_cancel(arg, qarg);
}

static int reflex_send(void *arg, const struct sockaddr *to, const uint8_t *msg, size_t len)
{
	struct atd *d = arg;
	union dp_addr a = { 0 };

	if (to->sa_family == AF_INET6)
		memcpy(&a.sin6, to, sizeof(a.sin6));
	else if (to->sa_family == AF_INET)
		memcpy(&a.sin, to, sizeof(a.sin));
	else
		return -EAFNOSUPPORT;
	return d->dp ? dp_send_stun(d->dp, &a, msg, len) : -ENOTCONN;
}

/* A STUN check ended: the reflexive candidate follows it (republished when it changed). */
static void reflex_done(void *arg)
{
	struct atd *d = arg;

	d->agent->reflex_fresh = true;
	local_update(d, false);
}

static const struct atd_reflex_ops reflex_ops = { reflex_query, reflex_query_cancel, reflex_send, reflex_done };

/* The checks of hole punching leave from the tunnel socket's side of @p to's family. */
static int punch_send(void *arg, const union dp_addr *to, const uint8_t *msg, size_t len)
{
	struct atd *d = arg;

	return d->dp ? dp_send_stun(d->dp, to, msg, len) : -ENOTCONN;
}

static int punch_request_write(void *arg, const struct agent_rr *rr, bool add)
{
	return atd_dns_punch(arg, rr, add);
}

static void punch_nominated(void *arg, const char *label, const struct atd_punch_path *path)
{
	struct atd *d = arg;

	atd_dynpeers_path(d->agent->peers, label, path->controlling, path->cls, &path->to, path->rtt_ms);
}

static void punch_failed(void *arg, const char *label)
{
	struct atd *d = arg;

	atd_dynpeers_path_failed(d->agent->peers, label);
}

/* A relayed pair to the peer's relayed address: through our allocation (relay to relay, docs/relay.md). */
static int punch_relay_bind(void *arg, const char *label, const struct sockaddr_in *addr)
{
	struct atd *d = arg;

	if (!d->agent->relay)
		return -EOPNOTSUPP;
	return atd_relay_bind_peer(d->agent->relay, label, addr);
}

static const struct atd_punch_ops punch_ops = {
	punch_send, punch_request_write, punch_nominated, punch_failed, punch_relay_bind,
};

/* ---- the prediction round's sockets, for punch.c (docs/dataplane.md "Prediction sockets") ---- */

static int psock_open(void *arg, unsigned n, uint16_t *ids)
{
	struct atd *d = arg;

	return d->dp ? dp_psock_open(d->dp, n, ids) : -ENOTCONN;
}

static void psock_close(void *arg, uint16_t id)
{
	struct atd *d = arg;

	/* the daemon on its way out frees the data plane (and its sockets) first */
	if (d->dp)
		dp_psock_close(d->dp, id);
}

static int psock_send(void *arg, uint16_t id, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	struct atd *d = arg;
	union dp_addr a = { .sin = *to };

	return d->dp ? dp_psock_send_stun(d->dp, id, &a, msg, len) : -ENOTCONN;
}

static int psock_bind(void *arg, uint16_t id, const struct sockaddr_in *remote)
{
	struct atd *d = arg;
	union dp_addr a = { 0 };

	if (remote)
		a.sin = *remote;
	return d->dp ? dp_psock_bind(d->dp, id, &a) : -ENOTCONN;
}

static uint16_t psock_port(void *arg, uint16_t id)
{
	struct atd *d = arg;

	return d->dp ? dp_psock_port(d->dp, id) : 0;
}

static const struct atd_punch_sock_ops punch_socks = { psock_open, psock_close, psock_send, psock_bind, psock_port };

/* The KDC came up or went down: announce it (or stop announcing it). */
static void kdc_changed(void *arg)
{
	struct atd *d = arg;

	if (d->agent->local_valid)
		local_update(d, false);
}

static const struct atd_kdc_ops kdc_ops = { kdc_changed };

/*
 * The account authority gave this host a certificate (or a new one): every
 * tunnel is set up again with it, and the local KDC starts or takes it.
 */
static void dns_creds_changed(void *arg)
{
	struct atd *d = arg;
	struct atd_acct_view acc;

	atd_agent_account(d, &acc);
	/* the same as a new RSIP binding: each peer again in lib/ike */
	atd_dynpeers_rsip_changed(d->agent->peers, &acc);
	/* the certificate is also the local KDC's and the PKINIT client's (docs/sso.md §2) */
	if (d->agent->kdc)
		atd_kdc_creds(d->agent->kdc);
}

static void dns_revoked_changed(void *arg)
{
	struct atd *d = arg;
	struct atd_acct_view acc;

	atd_agent_account(d, &acc);
	atd_dynpeers_recheck(d->agent->peers, &acc);
}

static size_t dns_hosts(void *arg, char (*labels)[64], size_t cap)
{
	struct atd *d = arg;
	struct agent_host_entry h[ATD_MAX_PEERS];
	size_t n = atd_dynpeers_hosts(d->agent->peers, h, ATD_MAX_PEERS);

	for (size_t i = 0; i < n && i < cap; i++)
		snprintf(labels[i], 64, "%s", h[i].label);
	return n < cap ? n : cap;
}

/* relay.c speaks IPv4 (the agent's candidates are IPv4 today); the data plane takes either family */
static union dp_addr dp_addr4(const struct sockaddr_in *s)
{
	union dp_addr a = { .sin = *s };

	a.sin.sin_family = AF_INET;
	return a;
}

static int relay_set_server(void *arg, const struct sockaddr_in *server)
{
	struct atd *d = arg;
	union dp_addr a;

	if (!d->dp)
		return -ENOTCONN;
	if (!server || server->sin_family != AF_INET)
		return dp_relay_set_server(d->dp, NULL);
	a = dp_addr4(server);
	return dp_relay_set_server(d->dp, &a);
}

static int relay_set_channel(void *arg, const struct sockaddr_in *peer, uint16_t channel)
{
	struct atd *d = arg;
	union dp_addr a = dp_addr4(peer);

	return d->dp ? dp_relay_channel_set(d->dp, &a, channel) : -ENOTCONN;
}

/* The relayed address came, changed or went: publish it (or not), and bind the peers again. */
static void relay_changed(void *arg)
{
	struct atd *d = arg;
	struct atd_agent *a = d->agent;
	struct sockaddr_in ra;
	char e[INET_ADDRSTRLEN];

	if (a->stopping)
		return;
	if (atd_relay_candidate(a->relay, &ra) == 0)
		log_info("relay: this host is reachable at %s:%u through the relay",
			 inet_ntop(AF_INET, &ra.sin_addr, e, sizeof(e)), ntohs(ra.sin_port));
	local_update(d, false);
	relay_peers_sync(d);
}

static int relay_set_stream(void *arg, const struct sockaddr_in *server, int fd, struct ssl_st *ssl)
{
	struct atd *d = arg;

	union dp_addr a = dp_addr4(server);

	return d->dp ? dp_relay_set_stream(d->dp, &a, fd, ssl) : -ENOTCONN;
}

static int relay_send_stream(void *arg, const uint8_t *msg, size_t len)
{
	struct atd *d = arg;

	return d->dp ? dp_relay_stream_send(d->dp, msg, len) : -ENOTCONN;
}

/* relay.c's requests over UDP, from the tunnel socket (IPv4: the relay's allocation is) */
static int relay_send(void *arg, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	return reflex_send(arg, (const struct sockaddr *)to, msg, len);
}

static const struct atd_relay_ops relay_ops = {
	.query = reflex_query, .query_cancel = reflex_query_cancel, .send = relay_send,
	.set_server = relay_set_server, .set_stream = relay_set_stream, .send_stream = relay_send_stream,
	.set_channel = relay_set_channel, .changed = relay_changed,
};

static const struct atd_dns_ops dns_ops = {
	dns_signed_in, dns_signed_out, dns_local, dns_peer_update, dns_peer_gone, dns_punch_request,
	dns_creds_changed, dns_revoked_changed, dns_hosts,
};

/* ---- life cycle ---- */

int atd_agent_init(struct atd *d)
{
	struct atd_agent *a;
	char host[256], err[160];
	int ret;

	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	d->agent = a;
	a->d = d;
	snprintf(a->identity_path, sizeof(a->identity_path), "%s/identity", d->conf.run_dir);
	snprintf(a->hosts_path, sizeof(a->hosts_path), "%s/hosts", d->conf.run_dir);
	if ((ret = fsutil_mkdir_p(d->conf.run_dir, 0755)) || (ret = fsutil_mkdir_p(d->conf.state_dir, 0700))) {
		log_warnx("cannot make %s or %s: %s", d->conf.run_dir, d->conf.state_dir, strerror(-ret));
		return ret;
	}
	if (d->conf.hostname)
		snprintf(host, sizeof(host), "%s", d->conf.hostname);
	else if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (agent_host_label(a->label, host, err, sizeof(err)) < 0) {
		log_warnx("this host's name '%s' cannot be used in the account: %s (set [agent] hostname)",
			  host, err);
		return -EINVAL;
	}
	if ((ret = identity_load_or_make(a)))
		return ret;
	agent_eui64_from_mac(a->eui64, a->id.mac);
	inet_ntop(AF_INET6, a->id.ula, a->ula_str, sizeof(a->ula_str));
	free(d->conf.ula);
	if (!(d->conf.ula = strdup(a->ula_str)))
		return -ENOMEM;
	agent_timer_cfg_default(&a->tcfg);
	a->tcfg.idle_ms = (uint32_t)d->conf.idle_timeout_s * 1000;
	a->tcfg.keepalive_ms = (uint32_t)d->conf.nat_keepalive_s * 1000;
	agent_engine_timers_init(&a->et, &a->tcfg);
	/* docs/paths.md §1.2: generations start from the wall clock, so they grow across restarts too */
	a->cand_gen = (uint32_t)clock_wall_s();
	return 0;
}

int atd_agent_start(struct atd *d)
{
	struct atd_agent *a = d->agent;
	int ret;

	if (!(a->etimer = evtimer_new(d->base, engine_timer_cb, d)))
		return -ENOMEM;
	{
		/* first: its keeper is forked while the process is still root and has one thread */
		struct atd_kdc_conf kc = { d->conf.state_dir, d->conf.run_dir, d->conf.kdc_user, d->conf.no_kdc };

		if ((ret = atd_kdc_new(d->base, &kc, &kdc_ops, d, &a->kdc)))
			return ret;
	}
	if ((ret = atd_dynpeers_start(d, a->id.ula, &a->tcfg, &peers_ops, d, &a->peers)))
		return ret;
	if (!(a->nm = netmon_new(d->base, NETMON_DEBOUNCE_MS, on_net, d)) || (ret = netmon_start(a->nm))) {
		log_warnx("network monitor: %s", a->nm ? strerror(-ret) : "out of memory");
		return a->nm ? ret : -ENOMEM;
	}
	a->net = *netmon_current(a->nm);
	a->net_changed_ms = clock_now_ms();
	{
		char n[128];

		describe(&a->net, n, sizeof(n));
		log_info("this host is %s (%s), on the network %s", a->label, a->ula_str, n);
	}
	hosts_write(d);
	reach_evaluate(d);
	if (!(a->reflex = atd_reflex_new(d->base, &reflex_ops, d)) || !(a->punch = atd_punch_new(d->base, &punch_ops, d)))
		return -ENOMEM;
	atd_punch_set_sockets(a->punch, &punch_socks, d);
	if (d->conf.relay_mode != ATD_RELAY_NEVER && !(a->relay = atd_relay_new(d->base, &relay_ops, d)))
		return -ENOMEM;
	/* a saved account signs in by itself; peers are told to us from here on */
	if ((ret = atd_dns_init(d, &dns_ops, d)))
		return ret;
	return 0;
}

static void withdrawn(void *arg)
{
	struct atd *d = arg;

	log_info("this host's records are withdrawn: stopping");
	event_base_loopbreak(d->base);
}

bool atd_agent_shutdown(struct atd *d)
{
	struct atd_agent *a = d->agent;
	struct atd_acct_view acc;

	if (!a || a->stopping || !atd_agent_account(d, &acc))
		return false;
	a->stopping = true;
	log_info("withdrawing this host's records before stopping");
	atd_dns_withdraw(d, withdrawn, d);
	return true;
}

void atd_agent_stop(struct atd *d)
{
	struct atd_agent *a = d->agent;

	if (!a)
		return;
	a->stopping = true;
	atd_dns_fini(d);
	atd_reflex_free(a->reflex);
	a->reflex = NULL;
	atd_kdc_free(a->kdc);
	a->kdc = NULL;
	atd_punch_free(a->punch);
	a->punch = NULL;
	atd_relay_free(a->relay);
	a->relay = NULL;
	netmon_free(a->nm);
	pmc_drop(a);
	if (a->etimer)
		event_free(a->etimer);
	a->etimer = NULL;
	atd_dynpeers_stop(a->peers);
	a->peers = NULL;
	unlink(a->hosts_path);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	d->agent = NULL;
}

/* ---- read by the control socket ---- */

bool atd_agent_self(struct atd *d, struct atd_self *out)
{
	const struct atd_agent *a = d->agent;

	if (!a)
		return false;
	memset(out, 0, sizeof(*out));
	snprintf(out->label, sizeof(out->label), "%s", a->label);
	memcpy(out->ula, a->id.ula, 16);
	out->net = a->net;
	out->reach = a->reach;
	out->rsip = a->rsip;
	out->rsip_addr = a->rsip_addr;
	out->rsip_port = a->rsip_port;
	out->ext_addr = a->ext_addr;
	out->ext_port = a->ext_port;
	out->mapping = mapping_name(a);
	out->map_expires_ms = a->map_expires_ms;
	out->local_valid = a->local_valid;
	out->local = a->local;
	reach_text(a, out->reach_text, sizeof(out->reach_text));
	return true;
}

struct atd_dynpeers *atd_agent_peers(struct atd *d)
{
	return d->agent ? d->agent->peers : NULL;
}

/* A STUN message on a prediction socket (dpglue.c): hole punching's alone. */
void atd_agent_psock_input(struct atd *d, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
			   uint16_t sock)
{
	if (d->agent && d->agent->punch)
		(void)atd_punch_input_sock(d->agent->punch, buf, len, from, sock);
}

bool atd_agent_reflex(struct atd *d, struct atd_reflex_view *v)
{
	if (!d->agent || !d->agent->reflex)
		return false;
	atd_reflex_get(d->agent->reflex, v);
	return true;
}

bool atd_agent_reflex_refresh(struct atd *d)
{
	return d->agent && d->agent->reflex && atd_reflex_refresh(d->agent->reflex);
}

/* ---- told by the data plane (dpglue.c) ---- */

bool atd_agent_relay(struct atd *d, struct atd_relay_view *v)
{
	if (!d->agent || !d->agent->relay)
		return false;
	atd_relay_get(d->agent->relay, v);
	return true;
}

void atd_agent_relay_lost(struct atd *d)
{
	if (d->agent && d->agent->relay)
		atd_relay_stream_lost(d->agent->relay);
}

void atd_agent_stun_input(struct atd *d, const uint8_t *buf, size_t len, const union dp_addr *from)
{
	if (d->agent && d->agent->relay && from->sa.sa_family == AF_INET &&
	    atd_relay_input(d->agent->relay, buf, len, &from->sin))
		return;	/* our TURN server's answer */
	/* the checks of hole punching (and the answers to ours), either family; else the reflexive-address check's */
	if (d->agent && d->agent->punch && atd_punch_input(d->agent->punch, buf, len, from))
		return;
	/* else the reflexive-address check's (IPv4), or the answer to its one request over IPv6 */
	if (d->agent && d->agent->reflex)
		atd_reflex_input(d->agent->reflex, buf, len, &from->sa);
}
