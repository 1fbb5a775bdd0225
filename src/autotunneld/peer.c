/*
 * src/autotunneld/peer.c: static peers from the [peer NAME] sections:
 * their routes in the data plane, manually keyed SAs (like `ip xfrm
 * state`), NAT keepalives.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "autotunneld/peer.h"

#include "autotunneld/daemon.h"
#include "common/log.h"

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_rpeer *rp = arg;
	union dp_addr to;

	(void)fd, (void)what;
	/* RFC 3948 §2.3; the data plane knows the peer's current address (it may have roamed) */
	dp_peer_remote(rp->d->dp, rp->dp_id, &to);
	if (to.sa.sa_family && dp_send_keepalive(rp->d->dp, &to) < 0)
		log_debug("peer %s: keepalive: %s", rp->conf->name, strerror(errno));
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atd_rpeer *rp = arg;

	(void)fd, (void)what;
	dp_peer_need_reset(rp->d->dp, rp->dp_id);
}

void atd_peer_retry_later(struct atd_rpeer *rp)
{
	/* a peer that does not answer is retried when packets ask, at most every 5 s, not in a loop */
	struct timeval tv = { 5, 0 };

	evtimer_add(rp->retry, &tv);
}

int atd_peer_keepalive(struct atd_rpeer *rp, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (!rp->keepalive && !(rp->keepalive = event_new(rp->d->base, -1, EV_PERSIST, keepalive_cb, rp)))
		return -ENOMEM;
	return event_add(rp->keepalive, &tv) ? -ENOMEM : 0;
}

struct atd_rpeer *atd_peer_by_dp(struct atd *d, int dp_id)
{
	for (int i = 0; i < d->npeers; i++)
		if (d->peers[i].dp_id == dp_id)
			return &d->peers[i];
	return NULL;
}

static int install_manual(struct atd *d, struct atd_rpeer *rp)
{
	struct atd_peer *p = rp->conf;
	struct dp_sa_conf sc = {
		.spi_in = p->spi_in, .spi_out = p->spi_out, .cipher = p->cipher, .esn = p->esn,
	};
	int ret;

	/* manual keys are the 256-bit AEADs' key || salt (ESP_KEYMAT_LEN, not the larger sc.key_*) */
	memcpy(sc.key_in, p->key_in, sizeof(p->key_in));
	memcpy(sc.key_out, p->key_out, sizeof(p->key_out));
	ret = dp_sa_install(d->dp, rp->dp_id, &sc);
	OPENSSL_cleanse(&sc, sizeof(sc));
	if (ret) {
		log_warnx("peer %s: installing the manual SA (spi-in 0x%08x): %s", p->name, p->spi_in,
			  strerror(-ret));
		return ret;
	}
	log_info("peer %s: manually keyed SA up, %s, spi in 0x%08x out 0x%08x%s", p->name,
		 esp_cipher_name(p->cipher), p->spi_in, p->spi_out, p->esn ? ", ESN" : "");
	return 0;
}

int atd_peers_start(struct atd *d)
{
	for (int i = 0; i < d->conf.npeers; i++) {
		struct atd_peer *p = &d->conf.peers[i];
		struct atd_rpeer *rp = &d->peers[d->npeers];
		struct dp_peer_conf pc = { .name = p->name };
		int ret;

		for (int j = 0; j < p->n_remote_ts; j++) {
			if (p->remote_ts[j].family == AF_INET6) {
				pc.has_ula = true;
				memcpy(&pc.ula, p->remote_ts[j].addr, 16);
			} else {
				pc.has_v4 = true;
				memcpy(&pc.v4, p->remote_ts[j].addr, 4);
			}
		}
		if (p->has_remote)
			pc.remote = p->remote;
		if (p->has_remote && p->remote.sa.sa_family == AF_INET6 && !dp_has_ipv6(d->dp))
			log_warnx("peer %s: its endpoint is IPv6, but this host has no IPv6 socket: unreachable",
				  p->name);
		if ((ret = dp_peer_add(d->dp, &pc)) < 0) {
			log_warnx("peer %s: adding to the data plane: %s", p->name, strerror(-ret));
			return ret;
		}
		rp->conf = p;
		rp->d = d;
		rp->dp_id = ret;
		d->npeers++;
		if (!(rp->retry = evtimer_new(d->base, retry_cb, rp)))
			return -ENOMEM;
		if (p->manual && (ret = install_manual(d, rp)))
			return ret;
		if (p->keepalive_s > 0 && atd_peer_keepalive(rp, p->keepalive_s))
			return -ENOMEM;
	}
	return 0;
}

void atd_peers_stop(struct atd *d)
{
	for (int i = 0; i < d->npeers; i++) {
		if (d->peers[i].keepalive)
			event_free(d->peers[i].keepalive);
		if (d->peers[i].retry)
			event_free(d->peers[i].retry);
	}
	d->npeers = 0;
}
