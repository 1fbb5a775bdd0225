/*
 * src/autotunneld/ikeglue.c: lib/ike <-> sockets, timers and the data
 * plane. Sending through the RSIP tunnel and account mode's peer events go
 * out through struct ike_glue_ops (main.c wires them to rsip_client.c and
 * dynpeer.c), so this file calls neither.
 */
#include "autotunneld/ikeglue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "autotunneld/daemon.h"
#include "autotunneld/fsutil.h"
#include "autotunneld/peer.h"
#include "autotunneld/types.h"
#include "common/clock.h"
#include "common/log.h"
#include "esp/esp.h"
#include "ike/ike.h"
#include "netmon/netmon.h"
#include "util/random.h"

struct ike_glue {
	struct atd *d;
	const struct ike_glue_ops *ops;
	void *arg;
	struct ike *ike;
	int fd500, fd500_6;		/* UDP 500 on IPv4 and on IPv6 (IPV6_V6ONLY), or -1 */
	struct event *ev500, *ev500_6, *timer;
	struct netmon *nm;	/* static peers only: account mode's agent.c watches the network */
	/*
	 * Static peers' keys, read at start (index: d->peers): a peer behind
	 * RSIP is added only once the gateway lends an address, after the
	 * agent has become a user that may not read a root-only psk-file.
	 */
	uint8_t psk[ATD_MAX_PEERS][IKE_MAX_PSK];
	size_t psk_len[ATD_MAX_PEERS];
	int psk_err[ATD_MAX_PEERS];	/* read_psk()'s result */
	bool psk_read[ATD_MAX_PEERS];
};

static void pump(struct ike_glue *g);

/* An IPv4 socket address as lib/ike names it (no cast to the larger sockaddr types). */
static void addr_from_sin(struct ike_addr *a, const struct sockaddr_in *sin)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->port = ntohs(sin->sin_port);
	memcpy(a->ip, &sin->sin_addr, 4);
}

/* A socket address of either family as lib/ike names it (family 0 if neither). */
static void addr_from_dp(struct ike_addr *a, const union dp_addr *s)
{
	memset(a, 0, sizeof(*a));
	if (s->sa.sa_family == AF_INET) {
		addr_from_sin(a, &s->sin);
	} else if (s->sa.sa_family == AF_INET6) {
		a->family = AF_INET6;
		a->port = ntohs(s->sin6.sin6_port);
		memcpy(a->ip, &s->sin6.sin6_addr, 16);
	}
}

/* And back, for the data plane (family 0 if neither). */
static void addr_to_dp(const struct ike_addr *a, union dp_addr *s)
{
	memset(s, 0, sizeof(*s));
	if (a->family == AF_INET) {
		s->sin.sin_family = AF_INET;
		s->sin.sin_port = htons(a->port);
		memcpy(&s->sin.sin_addr, a->ip, 4);
	} else if (a->family == AF_INET6) {
		s->sin6.sin6_family = AF_INET6;
		s->sin6.sin6_port = htons(a->port);
		memcpy(&s->sin6.sin6_addr, a->ip, 16);
	}
}

static const char *addr_str(const struct ike_addr *a, char *buf, size_t len)
{
	union dp_addr s;

	addr_to_dp(a, &s);
	return dp_addr_str(&s, buf, len);
}

/*
 * Our address towards @p remote (for NAT detection): what the routing table
 * would pick, in the remote's family. The last answer is kept for a second
 * so a handshake does not pay a socket per message.
 */
static union dp_addr last_remote, last_local;
static uint64_t last_ms;

static void local_towards(const union dp_addr *remote, uint16_t port, struct ike_addr *out)
{
	union dp_addr sin = { 0 };
	socklen_t sl = sizeof(sin);
	uint64_t now = clock_now_ms();
	int fd;

	memset(out, 0, sizeof(*out));
	if (!dp_addr_len(remote))
		return;
	if (last_ms && now - last_ms < 1000 && dp_addr_eq_host(&last_remote, remote)) {
		sin = last_local;
	} else {
		if ((fd = socket(remote->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return;
		if (connect(fd, &remote->sa, dp_addr_len(remote)) < 0 || getsockname(fd, &sin.sa, &sl) < 0 ||
		    sin.sa.sa_family != remote->sa.sa_family) {
			close(fd);
			return;
		}
		close(fd);
		last_remote = *remote;
		last_local = sin;
		last_ms = now;
	}
	if (sin.sa.sa_family == AF_INET6)
		sin.sin6.sin6_port = htons(port);
	else
		sin.sin.sin_port = htons(port);
	addr_from_dp(out, &sin);
}

static int read_psk(const char *path, uint8_t *psk, size_t *len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return -errno;
	n = fread(psk, 1, IKE_MAX_PSK, fp);
	fclose(fp);
	while (n && (psk[n - 1] == '\n' || psk[n - 1] == '\r'))
		n--;
	*len = n;
	return n ? 0 : -EINVAL;
}

/*
 * Certificate credentials (RFC 7427) from files, PEM or DER, as lib/ike
 * takes them: DER. Read when the peer is configured, like the PSK; the
 * key's DER is wiped and freed as soon as ike_peer_add has copied it.
 */
struct cred {
	uint8_t *cert, *key, *ca;
	int cert_len, key_len, ca_len;
};

static void cred_free(struct cred *c)
{
	OPENSSL_free(c->cert);
	OPENSSL_free(c->ca);
	if (c->key)
		OPENSSL_clear_free(c->key, (size_t)c->key_len);
	memset(c, 0, sizeof(*c));
}

/*
 * The whole of a small file (a certificate or key: 64 KiB is plenty) in one
 * static buffer, read through a BIO over it that copies nothing; the caller
 * frees the BIO and wipes the buffer (file_done), since it may hold a key.
 */
static uint8_t file_buf[65536];

static BIO *file_bio(const char *path, size_t *len, int *err)
{
	BIO *b;

	*err = fsutil_read_small(path, file_buf, sizeof(file_buf), len);
	if (!*err)
		*err = *len == sizeof(file_buf) ? -EFBIG : *len == 0 ? -ENODATA : 0;
	b = *err ? NULL : BIO_new_mem_buf(file_buf, (int)*len);
	if (!b && !*err)
		*err = -ENOMEM;
	return b;
}

static void file_done(BIO *b, size_t len)
{
	BIO_free(b);
	OPENSSL_cleanse(file_buf, len);
}

static bool is_pem(size_t len)
{
	return memmem(file_buf, len, "-----BEGIN ", 11) != NULL;
}

static X509 *load_x509(const char *path, int *err)
{
	size_t len;
	BIO *b = file_bio(path, &len, err);
	X509 *x;

	if (!b)
		return NULL;
	x = is_pem(len) ? PEM_read_bio_X509(b, NULL, NULL, NULL) : d2i_X509_bio(b, NULL);
	file_done(b, len);
	if (!x)
		*err = -EINVAL;
	return x;
}

static EVP_PKEY *load_key(const char *path, int *err)
{
	size_t len;
	BIO *b = file_bio(path, &len, err);
	EVP_PKEY *k;

	if (!b)
		return NULL;
	/* PKCS#8 or traditional, PEM (unencrypted) or DER */
	k = is_pem(len) ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : d2i_PrivateKey_bio(b, NULL);
	file_done(b, len);
	if (!k)
		*err = -EINVAL;
	return k;
}

/* "cert FILE: not a certificate" etc., in @p why */
static int cred_load(const struct atd_peer *p, const char *local_id, struct cred *c, char *why, size_t len)
{
	X509 *cert = NULL, *ca = NULL;
	EVP_PKEY *key = NULL;
	char grp[32];
	int err = 0;

	memset(c, 0, sizeof(*c));
	if (!(cert = load_x509(p->cert_file, &err))) {
		snprintf(why, len, "cert %s: %s", p->cert_file, err == -EINVAL ? "not a certificate" : strerror(-err));
		goto out;
	}
	if (!(ca = load_x509(p->ca_file, &err))) {
		snprintf(why, len, "ca %s: %s", p->ca_file, err == -EINVAL ? "not a certificate" : strerror(-err));
		goto out;
	}
	if (!(key = load_key(p->key_file, &err))) {
		snprintf(why, len, "key %s: %s", p->key_file,
			 err == -EINVAL ? "not an unencrypted private key" : strerror(-err));
		goto out;
	}
	err = -EINVAL;
	/* RFC 8420 Ed25519 or RFC 7427 ECDSA P-256 with SHA-256: what lib/ike signs with */
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 &&
	    !(EVP_PKEY_get_id(key) == EVP_PKEY_EC && EVP_PKEY_get_group_name(key, grp, sizeof(grp), NULL) &&
	      !strcmp(grp, SN_X9_62_prime256v1))) {
		snprintf(why, len, "key %s: neither Ed25519 nor ECDSA P-256", p->key_file);
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		snprintf(why, len, "key %s does not belong to cert %s", p->key_file, p->cert_file);
		goto out;
	}
	/* lib/ike's peers check our ID_FQDN against our certificate's dNSNames */
	if (X509_check_host(cert, local_id, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
		log_warnx("peer %s: cert %s does not name %s (local-id) as a subjectAltName dNSName: "
			  "peers will refuse it", p->name, p->cert_file, local_id);
	err = -ENOMEM;
	c->cert_len = i2d_X509(cert, &c->cert);
	c->ca_len = i2d_X509(ca, &c->ca);
	c->key_len = i2d_PrivateKey(key, &c->key);
	if (c->cert_len <= 0 || c->ca_len <= 0 || c->key_len <= 0) {
		snprintf(why, len, "converting to DER: %s", strerror(ENOMEM));
		cred_free(c);
		goto out;
	}
	err = 0;
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(ca);
	return err;
}

static void ts_from(const struct atd_peer *p, bool local, struct ike_ts *ts)
{
	const struct atd_ts *list = local ? p->local_ts : p->remote_ts;
	int n = local ? p->n_local_ts : p->n_remote_ts, pick = 0;

	/* one child SA per tunnel: the IPv6 selector when there is one (our ULAs), else IPv4 */
	for (int i = 0; i < n; i++)
		if (list[i].family == AF_INET6) {
			pick = i;
			break;
		}
	memset(ts, 0, sizeof(*ts));
	ts->family = (uint16_t)list[pick].family;
	ts->port_hi = 65535;
	memcpy(ts->start, list[pick].addr, 16);
	memcpy(ts->end, list[pick].addr, 16);
}

static void send_out(struct ike_glue *g, const struct ike_event *ev)
{
	union dp_addr to;
	int fd;

	addr_to_dp(&ev->send.remote, &to);
	if (!to.sa.sa_family)
		return;
	if (ev->send.local.family == AF_INET && to.sa.sa_family == AF_INET && g->ops && g->ops->send_rsip) {
		struct sockaddr_in ls = { .sin_family = AF_INET, .sin_port = htons(ev->send.local.port) };
		int ret;

		/* from Nb: through the RSIP tunnel (RFC 3104 §4) */
		memcpy(&ls.sin_addr, ev->send.local.ip, 4);
		ret = g->ops->send_rsip(g->arg, &ls, &to.sin, ev->send.data, ev->send.len);
		if (ret != -ENOENT) {
			if (ret)
				log_debug("IKE send through the RSIP tunnel: %s", strerror(-ret));
			return;
		}
	}
	fd = to.sa.sa_family == AF_INET6 ? g->fd500_6 : g->fd500;
	if (ev->send.local.port == 500 || (ev->send.remote.port == 500 && fd >= 0)) {
		if (fd >= 0 && sendto(fd, ev->send.data, ev->send.len, 0, &to.sa, dp_addr_len(&to)) < 0)
			log_debug("IKE send on port 500: %s", strerror(errno));
		return;
	}
	if (dp_send_ike(g->d->dp, &to, ev->send.data, ev->send.len) < 0)
		log_debug("IKE send on port %u: %s", g->d->conf.port ? g->d->conf.port : 4500, strerror(errno));
}

/*
 * ESP leaves from the address IKE uses (@p local) when the routing table
 * would pick another one (a host with several addresses, a path MOBIKE
 * chose); otherwise the kernel picks, so that a tunnel without MOBIKE
 * still follows our address when it changes (docs/design.md §7).
 */
static void set_source(struct ike_glue *g, struct atd_rpeer *rp, const struct ike_addr *local,
		       const union dp_addr *remote)
{
	struct ike_addr routed;
	union dp_addr src = { 0 };

	local_towards(remote, local->port, &routed);
	if (local->family == remote->sa.sa_family && routed.family &&
	    memcmp(routed.ip, local->ip, local->family == AF_INET ? 4 : 16))
		addr_to_dp(local, &src);
	(void)dp_peer_set_local(g->d->dp, rp->dp_id, &src);
}

/* Point the data plane at the tunnel's outer addresses (either family). */
static void set_path(struct ike_glue *g, struct atd_rpeer *rp, const struct ike_addr *local,
		     const struct ike_addr *remote)
{
	union dp_addr to;
	int ret;

	addr_to_dp(remote, &to);
	if (!to.sa.sa_family)
		return;
	/*
	 * ESP goes where IKE goes: a peer that started IKE on port 500 floats
	 * to 4500 (RFC 7296 §2.23), and ESP-in-UDP lives there even if the IKE
	 * SA still names 500.
	 */
	if (remote->port == 500) {
		if (to.sa.sa_family == AF_INET6)
			to.sin6.sin6_port = htons(4500);
		else
			to.sin.sin_port = htons(4500);
	}
	if ((ret = dp_peer_set_remote(g->d->dp, rp->dp_id, &to))) {
		char a[DP_ADDR_STRLEN];

		log_warnx("peer %s: cannot send ESP to %s: %s", rp->conf->name, dp_addr_str(&to, a, sizeof(a)),
			  strerror(-ret));
		return;
	}
	/* through RSIP our address is Nb, the gateway's: never a source for our own sockets */
	if (rp->rsip == ATD_RSIP_ON)
		(void)dp_peer_set_local(g->d->dp, rp->dp_id, NULL);
	else
		set_source(g, rp, local, &to);
}

static struct atd_rpeer *rpeer(struct ike_glue *g, const char *name)
{
	for (int i = 0; i < g->d->npeers; i++)
		if (!strcmp(g->d->peers[i].conf->name, name))
			return &g->d->peers[i];
	return NULL;
}

/*
 * The data plane's cipher and key material for a negotiated child SA, in
 * RFC 7296 §2.17 order: the encryption key, then the AEAD salt (RFC 4106
 * §8.1, RFC 7634 §2) or the HMAC-SHA2-256-128 key (RFC 4868 §2.1.1). Only
 * esp_keymat_len(cipher) bytes of each direction are used.
 */
static int child_keymat(const struct ike_child_info *c, struct dp_sa_conf *sc)
{
	size_t klen;

	switch (c->alg) {
	case IKE_ESP_AES256GCM16: sc->cipher = ESP_CIPHER_AES256_GCM16; break;
	case IKE_ESP_CHACHA20POLY1305: sc->cipher = ESP_CIPHER_CHACHA20_POLY1305; break;
	case IKE_ESP_AES128GCM16: sc->cipher = ESP_CIPHER_AES128_GCM16; break;
	case IKE_ESP_AES128CBC_SHA256: sc->cipher = ESP_CIPHER_AES128_CBC_SHA256; break;
	case IKE_ESP_AES256CBC_SHA256: sc->cipher = ESP_CIPHER_AES256_CBC_SHA256; break;
	default: return -EPROTONOSUPPORT;
	}
	klen = sc->cipher & ESP_CIPHER_128 ? 16 : 32;
	if (esp_keymat_len(sc->cipher) != klen + (esp_cipher_is_cbc(sc->cipher) ? 32 : ESP_SALT_LEN))
		return -EPROTONOSUPPORT;	/* lib/esp and this table disagree: a bug */
	memcpy(sc->key_in, c->key_in, klen);
	memcpy(sc->key_out, c->key_out, klen);
	if (esp_cipher_is_cbc(sc->cipher)) {
		memcpy(sc->key_in + klen, c->integ_key_in, 32);
		memcpy(sc->key_out + klen, c->integ_key_out, 32);
	} else {
		memcpy(sc->key_in + klen, c->salt_in, 4);
		memcpy(sc->key_out + klen, c->salt_out, 4);
	}
	return 0;
}

static void child_up(struct ike_glue *g, const struct ike_event *ev)
{
	const struct ike_child_info *c = &ev->child_up.child;
	struct atd_rpeer *rp = rpeer(g, ev->peer);
	struct dp_sa_conf sc = { .spi_in = c->spi_in, .spi_out = c->spi_out, .esn = c->esn };
	enum esp_cipher cipher;
	char a[DP_ADDR_STRLEN];
	int ret;

	if (!rp)
		return;
	if ((ret = child_keymat(c, &sc))) {
		log_warnx("peer %s: child SA 0x%08x: transform %u has no data-plane cipher", rp->conf->name,
			  c->spi_in, (unsigned)c->alg);
		return;
	}
	/* ESP goes where IKE goes; authenticated ESP from elsewhere moves the peer anyway */
	set_path(g, rp, &ev->child_up.local, &ev->child_up.remote);
	/*
	 * Native ESP (IP protocol 50) when we may and IKE found no NAT on the
	 * way (a NAT cannot tell ESP flows apart: RFC 3948 §1); through RSIP
	 * the path is the gateway's tunnel, set when the binding came.
	 */
	if (rp->rsip != ATD_RSIP_ON) {
		struct dp_path path = { .kind = DP_PATH_UDP };

		/* native ESP is IPv4 (its raw socket is) */
		if (g->d->conf.native_esp && !ev->child_up.nat && ev->child_up.remote.family == AF_INET)
			path.kind = DP_PATH_ESP;
		if ((ret = dp_peer_set_path(g->d->dp, rp->dp_id, &path)))
			log_warnx("peer %s: setting the ESP path: %s", rp->conf->name, strerror(-ret));
	}
	cipher = sc.cipher;
	ret = dp_sa_install(g->d->dp, rp->dp_id, &sc);
	OPENSSL_cleanse(&sc, sizeof(sc));
	if (ret) {
		log_warnx("peer %s: installing child SA 0x%08x: %s", rp->conf->name, c->spi_in, strerror(-ret));
		return;
	}
	/*
	 * docs/dataplane.md "Outer IPv6": a full inner packet, sealed, in UDP
	 * and the outer header (40 bytes for IPv6): more than a 1500-byte path
	 * takes is fragmented by us (IPv6) or on the way (IPv4). Said once per
	 * SA, so that the fix (a smaller mtu) is where the reason is.
	 */
	if (ev->child_up.remote.family) {
		int mtu = g->d->conf.mtu ? g->d->conf.mtu : 1400;
		size_t outer = esp_layout_sealed_len(esp_layout_of(cipher), (size_t)mtu) +
			       (size_t)dp_outer_hdr_len(ev->child_up.remote.family);

		if (outer > 1500)
			log_info("peer %s: full-size packets leave as %zu-byte IPv%c datagrams, fragmented on a "
				 "1500-byte path (mtu = %zu avoids it)", rp->conf->name, outer,
				 ev->child_up.remote.family == AF_INET6 ? '6' : '4', (size_t)mtu - (outer - 1500));
	}
	log_info("peer %s: child SA up, %s, spi in 0x%08x out 0x%08x%s, via %s%s%s", rp->conf->name,
		 ike_esp_alg_name(c->alg), c->spi_in, c->spi_out, c->esn ? ", ESN" : "",
		 addr_str(&ev->child_up.remote, a, sizeof(a)),
		 rp->rsip == ATD_RSIP_ON ? ", native ESP through the RSIP gateway"
		 : g->d->conf.native_esp && !ev->child_up.nat && ev->child_up.remote.family == AF_INET
		 ? ", native ESP" : "",
		 c->replaces ? " (rekeyed)" : "");
}

static void handle(struct ike_glue *g, const struct ike_event *ev)
{
	struct atd_rpeer *rp = ev->peer[0] ? rpeer(g, ev->peer) : NULL;
	char a[DP_ADDR_STRLEN], b[DP_ADDR_STRLEN];

	switch (ev->type) {
	case IKE_EV_SEND:
		send_out(g, ev);
		break;
	case IKE_EV_SA_UP:
		log_info("peer %s: IKE SA up with %s at %s (group %u%s), authenticated by %s", ev->peer,
			 ev->up.remote_id, addr_str(&ev->up.remote, a, sizeof(a)), ev->up.dh_group,
			 ev->up.nat_local || ev->up.nat_remote ? ", NAT detected" : "",
			 ev->up.cert ? "certificate (RFC 7427)" : "pre-shared key");
		/* docs/design.md §7: keepalives every 20 s while we are behind a NAT (RFC 3948 §4);
		 * account mode's peers have theirs from lib/agent timers (dynpeer.c) */
		if (rp && !rp->dyn && ev->up.nat_local && rp->conf->keepalive_s == 0 && !rp->keepalive)
			(void)atd_peer_keepalive(rp, 20);
		break;
	case IKE_EV_SA_DOWN:
		if (ev->down.reason == IKE_DOWN_AUTH_FAILED) {
			const char *n = ev->down.notify ? ike_notify_name(ev->down.notify) : NULL;

			log_warnx("peer %s: IKE authentication failed%s%s%s: %s", ev->peer, n ? " (" : "", n ? n : "",
				  n ? ")" : "", rp && (rp->dyn ? rp->cert : rp->conf->cert_file != NULL)
				  ? "certificate refused (not from our ca, expired, not naming the identity) or wrong identity"
				  : "wrong pre-shared key or identity");
		} else {
			log_info("peer %s: IKE SA down: %s", ev->peer, ike_down_reason_name(ev->down.reason));
		}
		if (rp)
			atd_peer_retry_later(rp);
		break;
	case IKE_EV_CHILD_UP:
		child_up(g, ev);
		break;
	case IKE_EV_CHILD_DOWN:
		if (dp_sa_remove(g->d->dp, ev->child_down.spi_in) == 0)
			log_info("peer %s: child SA 0x%08x down", ev->peer, ev->child_down.spi_in);
		break;
	case IKE_EV_MOVED:
		log_info("peer %s moved: local %s remote %s", ev->peer, addr_str(&ev->up.local, a, sizeof(a)),
			 addr_str(&ev->up.remote, b, sizeof(b)));
		/* RFC 4555 §3.5: the SA's new addresses, of either family, carry ESP from now on */
		if (rp) {
			struct dp_path path;

			/* native ESP is IPv4: a tunnel that moves to IPv6 goes back to UDP (RSIP cannot) */
			dp_peer_path(g->d->dp, rp->dp_id, &path);
			if (path.kind == DP_PATH_ESP && ev->up.remote.family != AF_INET) {
				path.kind = DP_PATH_UDP;
				(void)dp_peer_set_path(g->d->dp, rp->dp_id, &path);
			}
			if (path.kind != DP_PATH_RSIP || ev->up.remote.family == AF_INET)
				set_path(g, rp, &ev->up.local, &ev->up.remote);
		}
		/* moved behind a NAT: keepalives, as after SA_UP */
		if (rp && !rp->dyn && ev->up.nat_local && rp->conf->keepalive_s == 0 && !rp->keepalive)
			(void)atd_peer_keepalive(rp, 20);
		break;
	}
	if (rp && rp->dyn && g->ops && g->ops->dyn_event)
		g->ops->dyn_event(g->arg, rp, ev);	/* account mode: its peers' timers and reports */
}

/*
 * Drain lib/ike's events. Messages are sent after the other events of the
 * batch: a responder must install its child SA before its IKE_AUTH answer
 * leaves, or the initiator's first (held) ESP packet overtakes the install.
 */
static void pump(struct ike_glue *g)
{
	static struct ike_event ev;
	static struct { struct ike_event ev; uint8_t data[DP_IKE_MAX]; } later[8];
	int nlater = 0;
	uint64_t next, now;

	for (int i = 0; i < 10000 && ike_poll(g->ike, &ev); i++) {
		if (ev.type == IKE_EV_SEND && nlater < 8 && ev.send.len <= DP_IKE_MAX) {
			later[nlater].ev = ev;
			memcpy(later[nlater].data, ev.send.data, ev.send.len);
			later[nlater].ev.send.data = later[nlater].data;
			nlater++;
			continue;
		}
		handle(g, &ev);
	}
	for (int i = 0; i < nlater; i++)
		handle(g, &later[i].ev);
	next = ike_next_deadline(g->ike);
	if (next != UINT64_MAX) {
		struct timeval tv;

		now = clock_now_ms();
		next = next > now ? next - now : 0;
		tv.tv_sec = (time_t)(next / 1000);
		tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
		evtimer_add(g->timer, &tv);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ike_glue *g = arg;

	(void)fd, (void)what;
	ike_tick(g->ike, clock_now_ms());
	pump(g);
}

static void input(struct ike_glue *g, const uint8_t *msg, size_t len, const struct ike_addr *remote,
		  const struct ike_addr *local)
{
	int ret;

	ret = ike_input(g->ike, msg, len, local, remote, clock_now_ms());
	if (ret && ret != -EAGAIN)
		log_debug("IKE message of %zu bytes dropped: %s", len, strerror(-ret));
	pump(g);
}

void ike_glue_input_at(struct ike_glue *g, const uint8_t *msg, size_t len, const struct sockaddr_in *from,
		       const struct sockaddr_in *local)
{
	struct ike_addr l, r;

	if (!g)
		return;
	addr_from_sin(&l, local);
	addr_from_sin(&r, from);
	input(g, msg, len, &r, &l);
}

void ike_glue_input(struct ike_glue *g, const uint8_t *msg, size_t len, const union dp_addr *from,
		    uint16_t local_port)
{
	struct ike_addr local, remote;

	if (!g)
		return;
	local_towards(from, local_port, &local);
	addr_from_dp(&remote, from);
	if (!remote.family)
		return;
	input(g, msg, len, &remote, &local);
}

/* UDP 500, IPv4 or IPv6 (each socket has its own event). */
static void on_500(evutil_socket_t fd, short what, void *arg)
{
	struct ike_glue *g = arg;
	static uint8_t buf[65536];

	(void)what;
	for (int i = 0; i < 64; i++) {
		union dp_addr from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, &from.sa, &fl);

		if (n < 0)
			break;
		if (from.sa.sa_family == AF_INET || from.sa.sa_family == AF_INET6)
			ike_glue_input(g, buf, (size_t)n, &from, 500);
	}
}

void ike_glue_need_sa(struct ike_glue *g, struct atd_rpeer *rp)
{
	int ret;

	if (!g)
		return;
	if (rp->rsip == ATD_RSIP_WAIT) {
		/* ike_glue_peer_up connects once the gateway has lent us an address (or refused) */
		log_info("peer %s: packets waiting; the tunnel starts when the RSIP gateway has answered",
			 rp->conf->name);
		return;
	}
	ret = ike_connect(g->ike, rp->conf->name, clock_now_ms());
	if (ret > 0)
		log_info("peer %s: packets waiting, starting IKE (tunnel on demand)", rp->conf->name);
	else if (ret != -EALREADY)
		log_warnx("peer %s: cannot start IKE: %s", rp->conf->name, strerror(-ret));
	pump(g);
}

void ike_glue_reconnect(struct ike_glue *g)
{
	uint64_t now = clock_now_ms();

	if (!g)
		return;
	for (int i = 0; i < g->d->npeers; i++) {
		struct atd_peer *p = g->d->peers[i].conf;
		uint32_t id;

		if (p->manual)
			continue;
		if ((id = ike_sa_find(g->ike, p->name)))
			(void)ike_close(g->ike, id, now);
		if (p->has_remote && ike_connect(g->ike, p->name, now) > 0)
			log_info("peer %s: starting IKE anew", p->name);
	}
	pump(g);
}

void ike_glue_rekey(struct ike_glue *g, uint32_t spi_in)
{
	if (!g)
		return;
	if (ike_child_rekey(g->ike, spi_in, clock_now_ms()) == 0)
		log_info("child SA 0x%08x: rekeying (sequence numbers running out)", spi_in);
	pump(g);
}

struct ike *ike_glue_ike(struct ike_glue *g)
{
	return g ? g->ike : NULL;
}

void ike_glue_kick(struct ike_glue *g)
{
	if (g)
		pump(g);
}

void ike_glue_local_towards(const union dp_addr *remote, uint16_t port, struct ike_addr *out)
{
	local_towards(remote, port, out);
}

void ike_glue_local_changed(void)
{
	last_ms = 0;	/* the routing table changed: the cached answer may be wrong */
}

/* Is @p a an address worth telling peers about (RFC 4555 §3.4)? Global unicast, of either family. */
static bool addr_announceable(const union dp_addr *a)
{
	if (a->sa.sa_family == AF_INET) {
		uint32_t v = ntohl(a->sin.sin_addr.s_addr);

		return v && (v >> 24) != 127 && (v >> 16) != 0xa9fe && !IN_MULTICAST(v);
	}
	return a->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&a->sin6.sin6_addr) &&
	       !IN6_IS_ADDR_LOOPBACK(&a->sin6.sin6_addr) && !IN6_IS_ADDR_LINKLOCAL(&a->sin6.sin6_addr) &&
	       !IN6_IS_ADDR_MULTICAST(&a->sin6.sin6_addr) && !IN6_IS_ADDR_V4MAPPED(&a->sin6.sin6_addr);
}

/*
 * Tell lib/ike our addresses, which it announces to MOBIKE peers as
 * additional addresses (RFC 4555 §3.4): where a peer may move a tunnel
 * when its path dies, e.g. to IPv6 when IPv4 went. The host's interfaces
 * in order, the tunnel device and loopback left out. Static peers only:
 * account mode publishes its candidates in DNS.
 */
static void announce_addrs(struct ike_glue *g)
{
	struct ike_addr list[IKE_MAX_ADDRS];
	struct ifaddrs *ifa;
	unsigned n = 0;
	int ret;

	if (g->d->conf.agent_mode || getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i && n < IKE_MAX_ADDRS; i = i->ifa_next) {
		union dp_addr a = { 0 };
		bool dup = false;

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
		    (g->d->dp && !strcmp(i->ifa_name, dp_ifname(g->d->dp))))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			memcpy(&a.sin, i->ifa_addr, sizeof(a.sin));
		else if (i->ifa_addr->sa_family == AF_INET6)
			memcpy(&a.sin6, i->ifa_addr, sizeof(a.sin6));
		if (!addr_announceable(&a))
			continue;
		addr_from_dp(&list[n], &a);
		for (unsigned k = 0; k < n && !dup; k++)
			dup = list[k].family == list[n].family && !memcmp(list[k].ip, list[n].ip, 16);
		if (!dup)
			n++;
	}
	freeifaddrs(ifa);
	if ((ret = ike_set_addrs(g->ike, list, n, clock_now_ms())))
		log_warnx("announcing our addresses to MOBIKE peers: %s", strerror(-ret));
}

/*
 * The tunnel's path is gone (no route to the peer's address in its
 * family): move it to another of the peer's addresses we have a route to
 * (RFC 4555 §3.5), typically its IPv6 address when our IPv4 went. Only
 * the initiator decides (§3.1). True if a move was started.
 */
static bool move_elsewhere(struct ike_glue *g, struct atd_rpeer *rp, uint32_t id, const struct ike_sa_info *info,
			   uint64_t now)
{
	char a[DP_ADDR_STRLEN], b[DP_ADDR_STRLEN], c[DP_ADDR_STRLEN];

	if (!info->established || !info->mobike || !info->initiator)
		return false;
	for (unsigned k = 0; k < info->n_peer_addrs; k++) {
		struct ike_addr to = info->peer_addrs[k], from;
		union dp_addr t;

		to.port = info->remote.port;	/* §3.4 sends addresses only: the peer's IKE port stays */
		addr_to_dp(&to, &t);
		local_towards(&t, info->local.port, &from);
		if (!from.family || ike_sa_move(g->ike, id, &from, &to, now))
			continue;
		log_info("peer %s: no route to %s now; moving the tunnel to its address %s, from %s (MOBIKE)",
			 rp->conf->name, addr_str(&info->remote, a, sizeof(a)), addr_str(&to, b, sizeof(b)),
			 addr_str(&from, c, sizeof(c)));
		return true;
	}
	return false;
}

/*
 * The tunnel runs in another family than the peer's configured endpoint
 * (move_elsewhere took it there): back to the endpoint once we have a
 * route to it again. True if a move was started.
 */
static bool move_home(struct ike_glue *g, struct atd_rpeer *rp, uint32_t id, const struct ike_sa_info *info,
		      uint64_t now)
{
	struct ike_addr to, from;
	char a[DP_ADDR_STRLEN], b[DP_ADDR_STRLEN];

	if (!info->established || !info->mobike || !info->initiator || !rp->conf->has_remote ||
	    rp->conf->remote.sa.sa_family == info->remote.family)
		return false;
	addr_from_dp(&to, &rp->conf->remote);
	local_towards(&rp->conf->remote, info->local.port, &from);
	if (!from.family || ike_sa_move(g->ike, id, &from, &to, now))
		return false;
	log_info("peer %s: its endpoint %s is reachable again; moving the tunnel back there from %s (MOBIKE)",
		 rp->conf->name, addr_str(&to, a, sizeof(a)), addr_str(&info->remote, b, sizeof(b)));
	return true;
}

void ike_glue_net_changed(struct ike_glue *g)
{
	uint64_t now = clock_now_ms();
	char a[DP_ADDR_STRLEN], b[DP_ADDR_STRLEN];

	ike_glue_local_changed();
	if (!g)
		return;
	/*
	 * Each static peer's tunnel moves to the address the routing table now
	 * picks towards its peer (RFC 4555 §3.5: UPDATE_SA_ADDRESSES, or a
	 * liveness check without MOBIKE); account mode's peers move in
	 * dynpeer.c, tunnels through the RSIP gateway with a new binding.
	 */
	for (int i = 0; i < g->d->npeers; i++) {
		struct atd_rpeer *rp = &g->d->peers[i];
		struct ike_sa_info info;
		struct ike_addr now_local;
		union dp_addr remote;
		uint32_t id;

		if (rp->conf->manual || rp->dyn || rp->rsip == ATD_RSIP_ON || rp->rsip == ATD_RSIP_WAIT)
			continue;
		if (!(id = ike_sa_find(g->ike, rp->conf->name)) || ike_sa_get(g->ike, id, &info) ||
		    !info.local.family || info.remote.family != info.local.family)
			continue;
		if (move_home(g, rp, id, &info, now))
			continue;
		addr_to_dp(&info.remote, &remote);
		local_towards(&remote, info.local.port, &now_local);
		if (now_local.family != info.local.family) {
			if (move_elsewhere(g, rp, id, &info, now))
				continue;
			log_info("peer %s: no route to %s now; the tunnel stays on %s", rp->conf->name,
				 addr_str(&info.remote, a, sizeof(a)), addr_str(&info.local, b, sizeof(b)));
			continue;
		}
		if (!memcmp(now_local.ip, info.local.ip, info.local.family == AF_INET ? 4 : 16))
			continue;
		log_info("peer %s: our address changed from %s to %s: %s", rp->conf->name,
			 addr_str(&info.local, a, sizeof(a)), addr_str(&now_local, b, sizeof(b)),
			 !info.established ? "the handshake goes on from there"
			 : info.mobike ? "moving the tunnel (MOBIKE)" : "liveness check from there (no MOBIKE)");
		(void)ike_local_moved(g->ike, &info.local, &now_local, now);
	}
	/*
	 * Our new address list last: a tunnel that moved above sends it once
	 * its UPDATE_SA_ADDRESSES is answered, on the new path (or with it,
	 * lib/ike); a request of its own first would have gone out on the old
	 * path, and the move would have waited for its retransmission.
	 */
	announce_addrs(g);
	pump(g);
}

static void on_net(void *arg, const struct netmon_state *now, const struct netmon_state *before)
{
	struct ike_glue *g = arg;
	char a[INET_ADDRSTRLEN] = "none", b[INET_ADDRSTRLEN] = "none";

	if (now->online)
		inet_ntop(AF_INET, now->addr, a, sizeof(a));
	if (before->online)
		inet_ntop(AF_INET, before->addr, b, sizeof(b));
	log_info("network changed: now %s%s%s (was %s)", a, now->online ? " on " : "",
		 now->online ? now->ifname : "", b);
	ike_glue_net_changed(g);
}

/*
 * Configure lib/ike for peer @p rp: the ordinary way (our routed address,
 * our port), or through RSIP (@p r): from Nb and the lent port, with the
 * lent SPIs as inbound SPIs (RFC 3104 §5) and MOBIKE off (Nb is the
 * gateway's; a move means a new binding). Identities are always explicit
 * ID_FQDNs (§4: the peer must not know us by Nb, which others share).
 */
static int peer_add(struct ike_glue *g, struct atd_rpeer *rp, const struct ike_glue_rsip *r, uint64_t now)
{
	struct atd *d = g->d;
	struct atd_peer *p = rp->conf;
	struct ike_peer_conf pc = { .name = p->name, .esp_algs = p->esp_algs };
	uint8_t psk[IKE_MAX_PSK];
	size_t psklen = 0;
	struct cred cr = { 0 };
	char why[512];
	int i, ret;

	pc.local_id = p->local_id ? p->local_id : d->conf.local_id;
	pc.remote_id = p->remote_id;
	if (p->cert_file) {
		/* RFC 7427 signatures instead of the PSK (config.c allows one or the other) */
		if ((ret = cred_load(p, pc.local_id, &cr, why, sizeof(why)))) {
			log_warnx("peer %s: %s", p->name, why);
			return ret;
		}
		pc.cert = cr.cert;
		pc.cert_len = (size_t)cr.cert_len;
		pc.key = cr.key;
		pc.key_len = (size_t)cr.key_len;
		pc.ca = cr.ca;
		pc.ca_len = (size_t)cr.ca_len;
	} else {
		/* read at start-up, before the agent gave up root (privsep.c) */
		for (i = 0; i < d->npeers && i < ATD_MAX_PEERS && &d->peers[i] != rp; i++)
			;
		if (i < d->npeers && i < ATD_MAX_PEERS && g->psk_read[i]) {
			ret = g->psk_err[i];
			psklen = g->psk_len[i];
			memcpy(psk, g->psk[i], psklen);
		} else {
			ret = read_psk(p->psk_file, psk, &psklen);
		}
		if (ret) {
			log_warnx("peer %s: psk-file %s: %s", p->name, p->psk_file,
				  ret == -EINVAL ? "empty" : strerror(-ret));
			return ret;
		}
		pc.psk = psk;
		pc.psk_len = psklen;
	}
	pc.child_lifetime_s = (uint32_t)p->rekey_s;
	pc.ike_lifetime_s = (uint32_t)p->ike_rekey_s;
	pc.dpd_s = (uint32_t)p->dpd_s;
	if (p->has_remote) {
		addr_from_dp(&pc.remote, &p->remote);
		local_towards(&p->remote, (uint16_t)(d->conf.port ? d->conf.port : 4500), &pc.local);
	}
	if (r) {
		addr_from_sin(&pc.local, &r->local);
		pc.no_mobike = true;
		pc.n_spis_in = r->n_spis < IKE_MAX_SPIS_IN ? r->n_spis : IKE_MAX_SPIS_IN;
		memcpy(pc.spis_in, r->spis, pc.n_spis_in * sizeof(uint32_t));
	}
	ts_from(p, true, &pc.local_ts);
	ts_from(p, false, &pc.remote_ts);
	ret = ike_peer_add(g->ike, &pc, now);
	OPENSSL_cleanse(psk, sizeof(psk));
	cred_free(&cr);		/* lib/ike has its own copy; the key's DER is wiped */
	if (ret)
		log_warnx("peer %s: IKE configuration refused: %s", p->name, strerror(-ret));
	return ret;
}

int ike_glue_peer_up(struct ike_glue *g, struct atd_rpeer *rp, const struct ike_glue_rsip *r)
{
	uint64_t now = clock_now_ms();
	int ret;

	if (!g)
		return -ENOENT;
	if ((ret = peer_add(g, rp, r, now)))
		return ret;
	rp->rsip = r ? ATD_RSIP_ON : ATD_RSIP_OFF;
	if (rp->conf->connect || rp->need_sa_ms) {
		if (ike_connect(g->ike, rp->conf->name, now) > 0)
			log_info("peer %s: starting IKE%s", rp->conf->name, r ? " from the RSIP address" : "");
		dp_peer_need_reset(g->d->dp, rp->dp_id);
	}
	pump(g);
	return 0;
}

void ike_glue_peer_down(struct ike_glue *g, struct atd_rpeer *rp)
{
	if (!g)
		return;
	if (ike_peer_remove(g->ike, rp->conf->name, clock_now_ms()) == 0)
		pump(g);
}

/* lib/ike's random source (nonces, SPIs, cookie secrets): OpenSSL's CSPRNG. */
static int random_source(void *arg, void *buf, size_t len)
{
	(void)arg;
	return rand_bytes(buf, len);
}

/* The time certificates are checked at (RFC 5280 §4.1.2.5 validity): the system's wall clock. */
static int64_t wall_clock(void)
{
	return (int64_t)time(NULL);
}

/* RFC 3104 covers sessions we start: a peer we can reach, keyed by IKE, goes through the gateway. */
static bool rsip_wanted(const struct atd *d, const struct atd_peer *p)
{
	return d->conf.rsip_gateway && !p->manual && p->has_remote && p->remote.sa.sa_family == AF_INET;
}

/*
 * UDP 500 of @p family ([::]:500 with IPV6_V6ONLY beside 0.0.0.0:500, as
 * the data plane does on 4500), its event in @p ev; -1 if it cannot be had
 * (no IPv6 on this host is not worth a warning).
 */
static int open_500(struct ike_glue *g, int family, struct event **ev)
{
	union dp_addr a = { 0 };
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	*ev = NULL;
	if (fd < 0) {
		if (family == AF_INET)
			log_warn("UDP port 500 (IKE from peers that start there)");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons(500);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons(500);
	}
	if (bind(fd, &a.sa, dp_addr_len(&a)) < 0) {
		log_warn("UDP port 500 on %s (IKE from peers that start there)", family == AF_INET6 ? "IPv6" : "IPv4");
		close(fd);
		return -1;
	}
	*ev = event_new(g->d->base, fd, EV_READ | EV_PERSIST, on_500, g);
	if (*ev)
		event_add(*ev, NULL);
	return fd;
}

int ike_glue_start(struct atd *d, const struct ike_glue_ops *ops, void *arg, struct ike_glue **out)
{
	struct ike_glue *g;
	bool any = false;
	uint64_t now = clock_now_ms();

	*out = NULL;
	for (int i = 0; i < d->npeers; i++)
		any |= !d->peers[i].conf->manual;
	if (!any && !d->conf.agent_mode)
		return 0;	/* account mode adds peers as it learns them */
	struct ike_conf ic = {
		.retransmit_ms = (uint32_t)d->conf.ike_retransmit_ms,
		.retransmit_tries = (uint32_t)d->conf.ike_retransmit_tries,
		.wall_clock = wall_clock,
	};

	if (!(g = calloc(1, sizeof(*g))) || !(g->ike = ike_new(&ic, random_source, NULL))) {
		free(g);
		return -ENOMEM;
	}
	g->d = d;
	g->ops = ops;
	g->arg = arg;
	g->timer = evtimer_new(d->base, on_timer, g);
	/* port 500 for interop with peers that start there; ours start on 4500 */
	g->fd500 = open_500(g, AF_INET, &g->ev500);
	g->fd500_6 = open_500(g, AF_INET6, &g->ev500_6);
	for (int i = 0; i < d->npeers && i < ATD_MAX_PEERS; i++)
		if (!d->peers[i].conf->manual && d->peers[i].conf->psk_file) {
			g->psk_err[i] = read_psk(d->peers[i].conf->psk_file, g->psk[i], &g->psk_len[i]);
			g->psk_read[i] = true;
		}
	for (int i = 0; i < d->npeers; i++) {
		struct atd_rpeer *rp = &d->peers[i];
		int ret;

		if (rp->conf->manual)
			continue;
		if (rsip_wanted(d, rp->conf)) {
			rp->rsip = ATD_RSIP_WAIT;	/* rsip_client.c brings it in */
			if (rp->conf->cert_file) {
				/* its credentials are read then: a mistake in them shows now */
				struct cred cr;
				char why[512];

				ret = cred_load(rp->conf, rp->conf->local_id ? rp->conf->local_id : d->conf.local_id,
						&cr, why, sizeof(why));
				cred_free(&cr);
				if (ret) {
					log_warnx("peer %s: %s", rp->conf->name, why);
					ike_glue_stop(g);
					return ret;
				}
			}
			continue;
		}
		if ((ret = peer_add(g, rp, NULL, now))) {
			ike_glue_stop(g);
			return ret;
		}
	}
	/* static peers only: our address may change under the tunnels (account mode: agent.c) */
	if (!d->conf.agent_mode) {
		int ret;

		if (!(g->nm = netmon_new(d->base, IKE_GLUE_NETMON_DEBOUNCE_MS, on_net, g)) ||
		    (ret = netmon_start(g->nm))) {
			log_warnx("network monitor: %s; tunnels will not follow address changes",
				  g->nm ? strerror(-ret) : "out of memory");
			netmon_free(g->nm);
			g->nm = NULL;
		}
	}
	*out = g;
	announce_addrs(g);
	for (int i = 0; i < d->npeers; i++) {
		struct atd_rpeer *rp = &d->peers[i];

		if (!rp->conf->manual && !rp->rsip && rp->conf->connect && rp->conf->has_remote &&
		    ike_connect(g->ike, rp->conf->name, now) > 0)
			log_info("peer %s: starting IKE", rp->conf->name);
	}
	pump(g);
	return 0;
}

void ike_glue_stop(struct ike_glue *g)
{
	if (!g)
		return;
	netmon_free(g->nm);
	if (g->ev500)
		event_free(g->ev500);
	if (g->ev500_6)
		event_free(g->ev500_6);
	if (g->timer)
		event_free(g->timer);
	if (g->fd500 >= 0)
		close(g->fd500);
	if (g->fd500_6 >= 0)
		close(g->fd500_6);
	ike_free(g->ike);
	OPENSSL_cleanse(g->psk, sizeof(g->psk));
	free(g);
}
