/*
 * src/autotunneld/dpglue.c: the data plane inside the daemon: create it
 * from [tunnel], and act on what the workers report (packets waiting for an
 * SA, IKE messages, roaming peers, SAs near the end of their sequence space).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "autotunneld/dpglue.h"

#include "autotunneld/agent.h"
#include "autotunneld/daemon.h"
#include "autotunneld/dynpeer.h"
#include "autotunneld/ikeglue.h"
#include "autotunneld/peer.h"
#include "common/clock.h"
#include "common/log.h"

static void on_event(struct atd *d, const struct dp_event *ev)
{
	struct atd_rpeer *rp = ev->peer >= 0 ? atd_peer_by_dp(d, ev->peer) : NULL;
	char a[DP_ADDR_STRLEN];

	/* on a prediction socket (docs/paths.md §4): only hole punching's checks and the answers to its probes */
	if (ev->type == DP_EV_STUN && ev->sock) {
		if (ev->from.sa.sa_family == AF_INET)
			atd_agent_psock_input(d, ev->data, ev->len, &ev->from.sin, ev->sock);
		return;
	}

	switch (ev->type) {
	case DP_EV_NEED_SA:
		if (!rp)
			break;
		rp->need_sa_ms = clock_now_ms();
		if (dp_peer_flush_held(d->dp, ev->peer))
			break;	/* the SA arrived meanwhile */
		if (rp->dyn) {
			atd_dynpeer_need_sa(rp);	/* account mode decides (back-off, no location) */
			break;
		}
		if (rp->conf->manual)
			log_warnx("peer %s: packets wait for an SA, but the manual SA is gone", rp->conf->name);
		else
			ike_glue_need_sa(d->ike, rp);
		break;
	case DP_EV_IKE:
		if (d->ike && ev->local_addr.s_addr) {
			/* through the RSIP tunnel, to Nb: lib/ike must see Nb as our address (NAT detection) */
			struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(ev->local_port),
						     .sin_addr = ev->local_addr };

			ike_glue_input_at(d->ike, ev->data, ev->len, &ev->from.sin, &local);
		} else if (d->ike) {
			ike_glue_input(d->ike, ev->data, ev->len, &ev->from, ev->local_port);
		} else {
			log_debug("IKE message from %s, but no peer uses IKE; dropped", dp_addr_str(&ev->from, a, sizeof(a)));
		}
		break;
	case DP_EV_ROAMED:
		if (!rp)
			break;
		/* docs/design.md §7: authenticated ESP from a new address moves the peer, as WireGuard roams */
		log_info("peer %s moved to %s", rp->conf->name, dp_addr_str(&ev->from, a, sizeof(a)));
		if (dp_peer_set_remote(d->dp, ev->peer, &ev->from))
			log_warnx("peer %s: could not move", rp->conf->name);
		break;
	case DP_EV_REKEY:
		if (rp && !rp->conf->manual)
			ike_glue_rekey(d->ike, ev->spi);
		else
			log_warnx("peer %s: SA 0x%08x nears the end of its sequence numbers; a manual SA must be rekeyed by hand",
				  rp ? rp->conf->name : "?", ev->spi);
		break;
	case DP_EV_AUTH_FAILED:
		break;
	case DP_EV_STUN:
		/* both families: hole punching checks IPv6 pairs too (docs/paths.md §10) */
		atd_agent_stun_input(d, ev->data, ev->len, &ev->from);
		break;
	case DP_EV_RELAY_LOST:
		atd_agent_relay_lost(d);
		break;
	}
}

static void dp_ready(evutil_socket_t fd, short what, void *arg)
{
	static struct dp_event ev;	/* 8 KiB: not on the stack */
	struct atd *d = arg;

	(void)fd, (void)what;
	for (int i = 0; i < 256 && dp_event_next(d->dp, &ev); i++)
		on_event(d, &ev);
}

int atd_dp_start(struct atd *d, char *err, size_t errlen)
{
	struct dp_conf dc = {
		.ifname = d->conf.ifname, .mtu = d->conf.mtu, .port = (uint16_t)d->conf.port,
		.workers = d->conf.workers, .no_offload = d->conf.no_offload,
		.native_esp = d->conf.native_esp, .rsip = d->conf.rsip_gateway != NULL,
	};
	struct atd_ts ts;
	int ret;

	if (atd_ts_parse(d->conf.ula, &ts))
		return -EINVAL;
	memcpy(&dc.ula, ts.addr, 16);
	if (d->conf.ipv4 && !atd_ts_parse(d->conf.ipv4, &ts)) {
		dc.has_v4 = true;
		memcpy(&dc.v4, ts.addr, 4);
	}
	if ((ret = dp_new(&d->dp, &dc, err, errlen)))
		return ret;
	d->dp_ev = event_new(d->base, dp_event_fd(d->dp), EV_READ | EV_PERSIST, dp_ready, d);
	if (!d->dp_ev || event_add(d->dp_ev, NULL)) {
		snprintf(err, errlen, "event loop");
		return -ENOMEM;
	}
	return 0;
}

void atd_dp_log_stats(struct atd *d)
{
	struct dp_stats s;

	if (!d->dp)
		return;
	dp_stats_get(d->dp, &s);
	log_info("stats: esp_rx=%llu esp_tx=%llu replayed=%llu auth_failed=%llu bad=%llu no_sa=%llu "
		 "policy=%llu tun_rx=%llu tun_tx=%llu tun_writes=%llu udp_sends=%llu udp_rx=%llu held=%llu "
		 "keepalives_in=%llu stun_in=%llu relay_tx=%llu relay_rx=%llu relay_unknown=%llu",
		 (unsigned long long)s.esp_rx_packets, (unsigned long long)s.esp_tx_packets,
		 (unsigned long long)s.rx_replay, (unsigned long long)s.rx_auth_failed,
		 (unsigned long long)s.rx_bad, (unsigned long long)s.rx_no_sa,
		 (unsigned long long)s.rx_policy, (unsigned long long)s.tun_rx_packets,
		 (unsigned long long)s.tun_tx_packets, (unsigned long long)s.tun_tx_writes,
		 (unsigned long long)s.udp_tx_sends, (unsigned long long)s.udp_rx_datagrams,
		 (unsigned long long)s.tx_no_sa_queued, (unsigned long long)s.rx_keepalive,
		 (unsigned long long)s.rx_stun, (unsigned long long)s.relay_tx_packets,
		 (unsigned long long)s.relay_rx_packets, (unsigned long long)s.relay_rx_unknown);
}

void atd_dp_stop(struct atd *d)
{
	if (d->dp_ev)
		event_free(d->dp_ev);
	d->dp_ev = NULL;
	dp_free(d->dp);
	d->dp = NULL;
}
