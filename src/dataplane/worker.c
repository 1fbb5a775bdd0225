/*
 * src/dataplane/worker.c: the fast path, one thread per core.
 *
 * Outbound: read the TUN queue (a TSO super-packet per read), find the
 * peer by inner destination, cut the packet into segments written straight
 * into the send buffer behind room for the ESP header, seal each in place,
 * and send runs of equal-size datagrams to one peer as one UDP GSO message;
 * all messages of a batch leave in one sendmmsg.
 * Inbound: recvmmsg with UDP GRO, split each buffer at the GRO size, find
 * the SA by SPI, open in place (the SA's replay lock taken once per run of
 * packets for that SA), check the inner source against the peer, and merge
 * TCP segments into super-packets for the TUN device.
 * No allocation and no lock per packet.
 * Native ESP (a raw ESP socket, or IP-in-IP through an RSIP gateway) is a
 * slow path: one system call per packet; worker 0 alone receives it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataplane/dp_int.h"
#include "dataplane/native.h"
#include "stun/frame.h"
#include "wire/wire.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define ST(w, f) ((w)->local.f)

static uint32_t hash_addr(const uint8_t *a, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

struct dp_sa *dp_table_sa(const struct dp_table *t, uint32_t spi)
{
	for (uint32_t i = 0; i < DP_SPI_SLOTS; i++) {
		struct dp_sa *sa = t->by_spi[(spi * 2654435761u + i) & (DP_SPI_SLOTS - 1)];

		if (!sa)
			return NULL;
		if (sa->spi_in == spi)
			return sa;
	}
	return NULL;
}

/* The peer an inner packet is for (by destination), or -1. */
int dp_table_peer_by_dst(const struct dp_table *t, const uint8_t *pkt, size_t len)
{
	struct wire r = wire_reader(pkt, len);
	uint8_t v = wire_peek_u8(&r) >> 4, family, addr[16];
	size_t alen;
	uint32_t h;

	if (v == 6) {
		wire_skip(&r, 24);
		wire_read_bytes(&r, addr, 16);
		family = 6, alen = 16;
	} else if (v == 4) {
		wire_skip(&r, 16);
		wire_read_bytes(&r, addr, 4);
		family = 4, alen = 4;
	} else {
		return -1;
	}
	if (wire_err(&r))
		return -1;
	h = hash_addr(addr, alen);
	for (uint32_t i = 0; i < DP_ADDR_SLOTS; i++) {
		const __typeof__(t->by_addr[0]) *e = &t->by_addr[(h + i) & (DP_ADDR_SLOTS - 1)];

		if (!e->used)
			return -1;
		if (e->family == family && !memcmp(e->addr, addr, alen))
			return e->peer;
	}
	return -1;
}

uint16_t dp_table_relay_channel(const struct dp_table *t, const union dp_addr *to)
{
	/* a handful of channels: a scan beats a hash, and costs nothing when none is bound */
	for (int i = 0; i < t->relay.n; i++)
		if (dp_addr_eq(&t->relay.ch[i].peer, to))
			return t->relay.ch[i].channel;
	return 0;
}

void dp_post_event(struct dp *dp, const struct dp_event *ev)
{
	uint64_t one = 1;
	bool posted = false;

	pthread_mutex_lock(&dp->evq_lock);
	if (dp->evq_n < DP_EVQ) {
		unsigned slot = (dp->evq_head + dp->evq_n) % DP_EVQ;

		memcpy(&dp->evq[slot], ev, offsetof(struct dp_event, data) + ev->len);
		dp->evq_n++;
		posted = true;
	}
	pthread_mutex_unlock(&dp->evq_lock);
	if (posted && write(dp->event_fd, &one, sizeof(one)) < 0)
		return;	/* the counter is saturated: the control thread is awake anyway */
}

/* ---- sending ---- */

/*
 * Reserve room for a sealed datagram of @p slen bytes to @p to (from
 * @p from, family 0: any), extending the current GSO run when it can (same
 * peer and path, same size, or a smaller last one). NULL when the batch is
 * full: flush and retry.
 */
static uint8_t *tx_reserve(struct dp_tx *tx, const union dp_addr *to, const union dp_addr *from, uint16_t sock,
			   size_t slen, bool gso)
{
	struct dp_txmsg *m = tx->n ? &tx->msg[tx->n - 1] : NULL;

	if (tx->used + slen > DP_TX_BUF)
		return NULL;
	if (gso && m && !m->closed && slen <= m->seg && m->count < DP_GSO_MAX_SEGS &&
	    m->len + slen <= DP_GSO_MAX_BYTES && m->off + m->len == tx->used &&
	    dp_addr_eq(&m->to, to) && dp_addr_eq_host(&m->from, from) && m->sock == sock) {
		tx->resv_new = false;
		tx->resv_msg = tx->n - 1;
	} else {
		if (tx->n == DP_TX_MSGS)
			return NULL;
		tx->resv_new = true;
		tx->resv_msg = tx->n;
	}
	tx->resv_len = slen;
	return tx->buf + tx->used;
}

static void tx_commit(struct dp_tx *tx, const union dp_addr *to, const union dp_addr *from, uint16_t sock,
		      size_t len)
{
	struct dp_txmsg *m = &tx->msg[tx->resv_msg];

	if (tx->resv_new) {
		memset(m, 0, sizeof(*m));
		m->to = *to;
		m->from = *from;
		m->sock = sock;
		m->off = tx->used;
		m->seg = len;
		tx->n++;
	} else if (len < m->seg) {
		m->closed = true;	/* GSO: only the last datagram may be shorter */
	}
	m->len += len;
	m->count++;
	tx->used += len;
}

/* The UDP socket for @p family: IPv4 or IPv6 (-1 if there is none), or prediction socket @p sock. */
static int udp_fd_for(const struct dp_worker *w, sa_family_t family, uint16_t sock)
{
	if (sock)
		return dp_psock_fd(w->dp, sock);
	return family == AF_INET6 ? w->udp6_fd : w->udp_fd;
}

/*
 * The control messages of one datagram (or GSO run): the segment size, and
 * the source address when the path has one (IP_PKTINFO's ipi_spec_dst,
 * IPV6_PKTINFO's ipi6_addr: the kernel then routes from that address).
 */
union dp_txcm {
	char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

static void tx_cmsg(struct msghdr *h, union dp_txcm *cm, const struct dp_txmsg *m)
{
	struct cmsghdr *c;
	size_t used = 0;

	if (m->count <= 1 && !m->from.sa.sa_family)
		return;
	memset(cm, 0, sizeof(*cm));
	h->msg_control = cm->buf;
	h->msg_controllen = sizeof(cm->buf);
	c = CMSG_FIRSTHDR(h);
	if (m->count > 1) {
		uint16_t seg = (uint16_t)m->seg;

		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		used += CMSG_SPACE(sizeof(uint16_t));
		c = CMSG_NXTHDR(h, c);
	}
	if (m->from.sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = m->from.sin.sin_addr };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	} else if (m->from.sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = m->from.sin6.sin6_addr };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	}
	h->msg_controllen = used;
}

/* Send one GSO run datagram by datagram (the device refused UDP GSO). */
static void tx_one_by_one(struct dp_worker *w, int fd, const struct dp_txmsg *m)
{
	struct dp_tx *tx = &w->tx;

	for (size_t off = 0; off < m->len; off += m->seg) {
		size_t len = m->len - off < m->seg ? m->len - off : m->seg;
		struct dp_txmsg one = *m;
		struct iovec iov = { tx->buf + m->off + off, len };
		struct msghdr h = { .msg_name = &one.to, .msg_namelen = dp_addr_len(&one.to),
				    .msg_iov = &iov, .msg_iovlen = 1 };
		union dp_txcm cm;

		one.count = 1;
		tx_cmsg(&h, &cm, &one);
		if (sendmsg(fd, &h, 0) < 0)
			ST(w, tx_errors)++;
		else
			ST(w, udp_tx_sends)++;
	}
	ST(w, esp_tx_packets) += m->count;
	ST(w, esp_tx_bytes) += m->len;
}

/*
 * Send the batch: one sendmmsg per run of messages of one socket (IPv4 and
 * IPv6 leave on their own sockets, docs/dataplane.md "Outer IPv6"; a peer
 * bound to a prediction socket on that one, "Prediction sockets").
 */
static void tx_flush(struct dp_worker *w)
{
	struct dp_tx *tx = &w->tx;
	struct mmsghdr mm[DP_TX_MSGS];
	struct iovec iov[DP_TX_MSGS];
	union dp_txcm cm[DP_TX_MSGS];
	int done = 0;

	if (!tx->n)
		return;
	memset(mm, 0, sizeof(mm[0]) * (size_t)tx->n);
	for (int i = 0; i < tx->n; i++) {
		struct dp_txmsg *m = &tx->msg[i];
		struct msghdr *h = &mm[i].msg_hdr;

		iov[i].iov_base = tx->buf + m->off;
		iov[i].iov_len = m->len;
		h->msg_name = &m->to;
		h->msg_namelen = dp_addr_len(&m->to);
		h->msg_iov = &iov[i];
		h->msg_iovlen = 1;
		tx_cmsg(h, &cm[i], m);
	}
	while (done < tx->n) {
		sa_family_t fam = tx->msg[done].to.sa.sa_family;
		uint16_t sock = tx->msg[done].sock;
		int fd = udp_fd_for(w, fam, sock), run = 1, n;

		while (done + run < tx->n && tx->msg[done + run].to.sa.sa_family == fam && tx->msg[done + run].sock == sock)
			run++;
		if (fd < 0) {
			/* dp_peer_set_remote refuses IPv6 without the socket; a prediction socket being closed */
			ST(w, tx_errors) += (uint64_t)run;
			done += run;
			continue;
		}
		n = sendmmsg(fd, mm + done, (unsigned)run, 0);
		if (n < 0) {
			struct dp_txmsg *m = &tx->msg[done];

			if (errno == EINTR)
				continue;
			if (errno == EIO && m->count > 1) {
				/*
				 * UDP GSO needs checksum offload on the outgoing device;
				 * without it the kernel says EIO: send one by one from now on.
				 */
				if (atomic_exchange(&w->dp->gso_ok, false))
					log_warnx("UDP GSO refused by the outgoing device; sending datagrams one by one");
				tx_one_by_one(w, fd, m);
				done++;
				continue;
			}
			/* one bad message (unreachable, no route) must not stall the rest */
			ST(w, tx_errors)++;
			log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "sendmmsg: %s", strerror(errno));
			done++;
			continue;
		}
		for (int i = done; i < done + n; i++) {
			ST(w, udp_tx_sends)++;
			ST(w, esp_tx_packets) += tx->msg[i].count;
			ST(w, esp_tx_bytes) += tx->msg[i].len;
		}
		done += n;
	}
	tx->n = 0;
	tx->used = 0;
}

/* Hold a packet for a peer with no SA and tell the control thread (once). */
static void hold_for_sa(struct dp_worker *w, int peer, const uint8_t *raw, size_t rawlen)
{
	struct dp *dp = w->dp;
	struct dp_peer *p = dp->peers[peer];
	int max = dp->conf.pending_max;
	bool queued = false;

	pthread_mutex_lock(&p->pend_lock);
	if (p->npend < max) {
		if (!p->pend[p->npend])
			p->pend[p->npend] = malloc(DP_TUN_BUF);	/* slow path: first use only */
		if (p->pend[p->npend]) {
			memcpy(p->pend[p->npend], raw, rawlen);
			p->pendlen[p->npend++] = rawlen;
			queued = true;
		}
	}
	pthread_mutex_unlock(&p->pend_lock);
	if (queued)
		ST(w, tx_no_sa_queued)++;
	else
		ST(w, tx_no_sa_dropped)++;
	if (!atomic_exchange(&p->need_reported, true)) {
		struct dp_event ev = { .type = DP_EV_NEED_SA, .peer = peer };

		dp_post_event(dp, &ev);
	}
}

/*
 * Native ESP: seal each segment behind room for an inner IPv4 header and
 * send it on its own, on the raw ESP socket (the kernel adds the header)
 * or, through RSIP, as an inner packet from Nb on the IP-in-IP socket to
 * the gateway (RFC 3104 §5; the kernel adds the outer header).
 */
static void tx_native(struct dp_worker *w, struct dp_table *t, int peer, struct dp_sa *sa, struct dp_tso *tso,
		      uint8_t nh)
{
	struct dp *dp = w->dp;
	const struct dp_path *path = &t->peer[peer].path;
	bool rsip = path->kind == DP_PATH_RSIP;
	size_t hdr = rsip ? DP_IP_HDR : 0;
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd = rsip ? dp->ipip_fd : dp->esp_fd;

	to.sin_addr = rsip ? path->tunnel : t->peer[peer].remote.sin.sin_addr;
	for (unsigned i = 0; i < tso->nseg; i++) {
		size_t seglen = dp_tso_seg_len(tso, i), slen = esp_layout_sealed_len(sa->lay, seglen), outlen, n;
		uint8_t *esp = w->nbuf + hdr;
		int err;

		if (hdr + slen > DP_NATIVE_BUF) {
			ST(w, tx_errors)++;
			return;
		}
		dp_tso_seg_write(tso, i, esp + sa->lay.hdr);
		if ((err = esp_out_seal(&sa->out, sa->enc[w->idx], nh, esp, slen, seglen, &outlen))) {
			if (err == -EKEYEXPIRED)
				ST(w, tx_seq_exhausted)++;
			else
				ST(w, tx_errors)++;
			return;
		}
		n = outlen;
		if (rsip) {
			int total = dp_native_ip_hdr(w->nbuf, DP_NATIVE_BUF, DP_IPPROTO_ESP, ntohl(path->src.s_addr),
						     ntohl(t->peer[peer].remote.sin.sin_addr.s_addr), w->ip_id++, outlen);

			if (total < 0) {
				ST(w, tx_errors)++;
				return;
			}
			n = (size_t)total;
		}
		if (sendto(fd, w->nbuf, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			ST(w, tx_errors)++;
			log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "native ESP send: %s", strerror(errno));
			continue;
		}
		ST(w, native_tx_packets)++;
		ST(w, esp_tx_packets)++;
		ST(w, esp_tx_bytes) += outlen;
	}
}

/*
 * Through the relay's TCP or TLS connection: each segment sealed behind a
 * ChannelData header and padded to 4 bytes (RFC 8656 §12.5), one write
 * each under the stream's lock (relay_stream.c).
 */
static void tx_stream(struct dp_worker *w, struct dp_sa *sa, struct dp_tso *tso, uint8_t nh, uint16_t chan)
{
	for (unsigned i = 0; i < tso->nseg; i++) {
		size_t seglen = dp_tso_seg_len(tso, i), slen = esp_layout_sealed_len(sa->lay, seglen), outlen, total;
		uint8_t *esp = w->nbuf + STUN_CHANDATA_HDR_LEN;
		struct wire wr;
		int err;

		if (STUN_CHANDATA_HDR_LEN + slen + 3 > DP_NATIVE_BUF) {
			ST(w, tx_errors)++;
			return;
		}
		dp_tso_seg_write(tso, i, esp + sa->lay.hdr);
		if ((err = esp_out_seal(&sa->out, sa->enc[w->idx], nh, esp, slen, seglen, &outlen))) {
			if (err == -EKEYEXPIRED)
				ST(w, tx_seq_exhausted)++;
			else
				ST(w, tx_errors)++;
			return;
		}
		wr = wire_writer(w->nbuf, STUN_CHANDATA_HDR_LEN);
		wire_write_u16(&wr, chan);
		wire_write_u16(&wr, (uint16_t)outlen);
		total = STUN_CHANDATA_HDR_LEN + outlen;
		while (total & 3)
			w->nbuf[total++] = 0;
		if (dp_rstream_write(w->dp, w->nbuf, total)) {
			ST(w, tx_errors)++;
			return;
		}
		ST(w, relay_tx_packets)++;
		ST(w, esp_tx_packets)++;
		ST(w, esp_tx_bytes) += outlen;
	}
}

/*
 * Encrypt and queue one packet read from TUN (@p raw: vnet header first
 * when offloads are on). Used by the workers and, for held packets, by the
 * control thread with its own context slot.
 */
static void tx_packet(struct dp_worker *w, struct dp_table *t, const uint8_t *raw, size_t rawlen)
{
	struct dp *dp = w->dp;
	bool off = !dp->conf.no_offload;
	const uint8_t *pkt = raw;
	size_t len = rawlen;
	struct dp_vnet v = { 0 };
	struct dp_tso tso;
	struct dp_sa *sa;
	bool gso = atomic_load_explicit(&dp->gso_ok, memory_order_relaxed);
	/* to the relay: from whatever source address the kernel picks for it */
	static const union dp_addr any_local;
	const union dp_addr *to, *from;
	uint16_t chan;
	size_t hdr;
	int peer;

	if (off) {
		if (dp_vnet_parse(raw, rawlen, &v))
			return;
		pkt = raw + DP_VNET_HDR_LEN;
		len = rawlen - DP_VNET_HDR_LEN;
	}
	ST(w, tun_rx_packets)++;
	ST(w, tun_rx_bytes) += len;
	if ((peer = dp_table_peer_by_dst(t, pkt, len)) < 0) {
		ST(w, tx_no_peer)++;
		return;
	}
	if (!(sa = t->peer[peer].out) || !t->peer[peer].remote.sa.sa_family) {
		if (w->idx < dp->nworkers)
			hold_for_sa(w, peer, raw, rawlen);
		return;
	}
	if (dp_tso_init(&tso, &v, pkt, len)) {
		ST(w, tx_errors)++;
		return;
	}
	if (t->peer[peer].path.kind != DP_PATH_UDP) {
		/* native ESP and RSIP are IPv4 (dp_peer_set_path and dp_peer_set_remote keep it so) */
		if (t->peer[peer].remote.sa.sa_family != AF_INET) {
			ST(w, tx_errors)++;
			return;
		}
		tx_native(w, t, peer, sa, &tso, (pkt[0] >> 4) == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4);
		goto rekey;
	}
	/*
	 * Through the relay (RFC 8656 §12.4): each datagram goes to the TURN
	 * server behind a 4-byte ChannelData header, unpadded (§12.5 lets UDP
	 * leave the padding out); runs of equal size still leave as one GSO send.
	 */
	chan = t->relay.n ? dp_table_relay_channel(t, &t->peer[peer].remote) : 0;
	if (chan && t->relay.stream) {
		tx_stream(w, sa, &tso, (pkt[0] >> 4) == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4, chan);
		goto rekey;
	}
	to = chan ? &t->relay.server : &t->peer[peer].remote;
	from = chan ? &any_local : &t->peer[peer].local;
	hdr = chan ? STUN_CHANDATA_HDR_LEN : 0;
	for (unsigned i = 0; i < tso.nseg; i++) {
		size_t seglen = dp_tso_seg_len(&tso, i), slen = esp_layout_sealed_len(sa->lay, seglen), outlen;
		uint16_t sock = chan ? 0 : t->peer[peer].sock;
		uint8_t nh = (pkt[0] >> 4) == 6 ? ESP_NH_IPV6 : ESP_NH_IPV4;
		uint8_t *slot = tx_reserve(&w->tx, to, from, sock, hdr + slen, gso);
		int err;

		if (!slot) {
			tx_flush(w);
			if (!(slot = tx_reserve(&w->tx, to, from, sock, hdr + slen, gso)))
				return;
		}
		dp_tso_seg_write(&tso, i, slot + hdr + sa->lay.hdr);
		err = esp_out_seal(&sa->out, sa->enc[w->idx], nh, slot + hdr, slen, seglen, &outlen);
		if (err) {
			if (err == -EKEYEXPIRED)
				ST(w, tx_seq_exhausted)++;
			else
				ST(w, tx_errors)++;
			break;
		}
		if (chan) {
			struct wire wr = wire_writer(slot, STUN_CHANDATA_HDR_LEN);

			wire_write_u16(&wr, chan);
			wire_write_u16(&wr, (uint16_t)outlen);
			ST(w, relay_tx_packets)++;
		}
		tx_commit(&w->tx, to, from, sock, hdr + outlen);
	}
rekey:
	if (atomic_load_explicit(&sa->out.rekey_soon, memory_order_relaxed) &&
	    !atomic_exchange(&sa->rekey_reported, true)) {
		struct dp_event ev = { .type = DP_EV_REKEY, .peer = peer, .spi = sa->spi_in };

		dp_post_event(dp, &ev);
	}
}

void dp_worker_flush_pending(struct dp_worker *w, struct dp_table *t, int peer)
{
	struct dp_peer *p = w->dp->peers[peer];

	pthread_mutex_lock(&p->pend_lock);
	for (int i = 0; i < p->npend; i++)
		tx_packet(w, t, p->pend[i], p->pendlen[i]);
	p->npend = 0;
	atomic_store(&p->need_reported, false);
	pthread_mutex_unlock(&p->pend_lock);
	tx_flush(w);
}

static void tun_batch(struct dp_worker *w, struct dp_table *t)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(w->tun_fd, w->tunbuf, DP_TUN_BUF);

		if (n <= 0)
			break;
		tx_packet(w, t, w->tunbuf, (size_t)n);
		/* send each super-packet as soon as it is sealed: latency is TCP's throughput */
		if (w->tx.used >= DP_GSO_MAX_BYTES)
			tx_flush(w);
	}
	tx_flush(w);
}

/* ---- receiving ---- */

static void tun_write(struct dp_worker *w, const uint8_t *p, size_t n)
{
	if (write(w->tun_fd, p, n) < 0) {
		ST(w, tx_errors)++;
		log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "write to TUN: %s", strerror(errno));
		return;
	}
	ST(w, tun_tx_writes)++;
}

static void gro_flush(struct dp_worker *w)
{
	unsigned nseg = w->gro.nseg;
	size_t n = dp_gro_finish(&w->gro);

	if (n) {
		tun_write(w, w->grobuf, n);
		ST(w, tun_tx_packets) += nseg;
	}
}

static void deliver(struct dp_worker *w, uint8_t *pkt, size_t len)
{
	if (w->dp->conf.no_offload) {
		tun_write(w, pkt, len);
		ST(w, tun_tx_packets)++;
		return;
	}
	if (!w->dp->gro_ok) {
		/* the ESP header in front leaves room for an empty vnet header */
		memset(pkt - DP_VNET_HDR_LEN, 0, DP_VNET_HDR_LEN);
		tun_write(w, pkt - DP_VNET_HDR_LEN, len + DP_VNET_HDR_LEN);
		ST(w, tun_tx_packets)++;
		return;
	}
	if (!dp_gro_add(&w->gro, pkt, len)) {
		gro_flush(w);
		if (!dp_gro_add(&w->gro, pkt, len))
			return;
	}
}

/* RFC 4301 §5.2: the inner source must be what the SA's selector allows (the peer's address). */
static bool inner_ok(const struct dp_peer *p, const uint8_t *pkt, size_t *len, uint8_t nh)
{
	struct wire r = wire_reader(pkt, *len);
	uint8_t vhl = wire_read_u8(&r), src[16];
	size_t total;

	if (nh == ESP_NH_IPV6) {
		if ((vhl >> 4) != 6 || !p->has_ula)
			return false;
		wire_skip(&r, 3);
		total = (size_t)wire_read_u16(&r) + 40;
		wire_skip(&r, 2);
		wire_read_bytes(&r, src, 16);
		if (wire_err(&r) || total > *len || memcmp(src, &p->ula, 16))
			return false;
	} else {
		if ((vhl >> 4) != 4 || (vhl & 15) < 5 || !p->has_v4)
			return false;
		wire_skip(&r, 1);
		total = wire_read_u16(&r);
		wire_skip(&r, 8);
		wire_read_bytes(&r, src, 4);
		if (wire_err(&r) || total > *len || total < 20 || memcmp(src, &p->v4, 4))
			return false;
	}
	*len = total;	/* drop anything after the IP packet */
	return true;
}

/* ESP from @p from (native: the port means nothing, only the address is compared for roaming). */
static void esp_datagram(struct dp_worker *w, struct dp_table *t, uint8_t *d, size_t n,
			 const union dp_addr *from, struct dp_sa **locked, bool native)
{
	struct dp *dp = w->dp;
	struct esp_opened res;
	struct dp_sa *sa;
	uint32_t spi;
	int err;

	if (esp_peek_spi(d, n, &spi) || !(sa = dp_table_sa(t, spi))) {
		ST(w, rx_no_sa)++;
		log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "ESP with unknown SPI 0x%08x", spi);
		return;
	}
	if (*locked != sa) {
		if (*locked)
			pthread_mutex_unlock(&(*locked)->in_lock);
		pthread_mutex_lock(&sa->in_lock);
		*locked = sa;
	}
	err = esp_in_open(&sa->in, sa->dec[w->idx], d, n, &res);
	switch (err) {
	case 0:
		break;
	case -EALREADY:
	case -ESTALE:
		ST(w, rx_replay)++;
		return;
	case -EKEYREJECTED: {
		char a[DP_ADDR_STRLEN];

		ST(w, rx_auth_failed)++;
		log_ratelimited(&w->rl_auth, LOG_LEVEL_WARN,
				"peer %s: ESP authentication failed (SPI 0x%08x from %s): wrong key, or a forged packet",
				dp->peers[sa->peer]->name, spi, dp_addr_str(from, a, sizeof(a)));
		return;
	}
	case -ENODATA:
		return;
	default:
		ST(w, rx_bad)++;
		return;
	}
	if (!inner_ok(dp->peers[sa->peer], d + res.off, &res.len, res.nh)) {
		ST(w, rx_policy)++;
		log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "peer %s: inner source not allowed by the SA",
				dp->peers[sa->peer]->name);
		return;
	}
	ST(w, esp_rx_packets)++;
	ST(w, esp_rx_bytes) += res.len;
	/* docs/design.md §7: authenticated packets from a new source move the peer (roaming) */
	if (native ? !dp_addr_eq_host(&t->peer[sa->peer].remote, from) : !dp_addr_eq(&t->peer[sa->peer].remote, from)) {
		struct dp_peer *p = dp->peers[sa->peer];

		if (!atomic_exchange(&p->roam_reported, true)) {
			struct dp_event ev = { .type = DP_EV_ROAMED, .peer = sa->peer, .spi = spi, .from = *from };

			if (native)
				ev.from.sin.sin_port = t->peer[sa->peer].remote.sin.sin_port;
			dp_post_event(dp, &ev);
		}
	}
	deliver(w, d + res.off, res.len);
}

/* A STUN message on our port (or prediction socket @p sock): up to the control thread, as IKE is. */
static void stun_datagram(struct dp_worker *w, const uint8_t *d, size_t n, const union dp_addr *from, uint16_t sock)
{
	struct dp_event ev;

	ST(w, rx_stun)++;
	if (n > DP_IKE_MAX)
		return;
	ev.type = DP_EV_STUN;
	ev.peer = -1;
	ev.spi = 0;
	ev.from = *from;
	ev.local_port = w->dp->conf.port;
	ev.sock = sock;
	ev.local_addr.s_addr = 0;
	ev.len = n;
	memcpy(ev.data, d, n);
	dp_post_event(w->dp, &ev);
}

static void udp_payload(struct dp_worker *w, struct dp_table *t, uint8_t *d, size_t n,
			const union dp_addr *from, struct dp_sa **locked, uint16_t sock);

/*
 * ChannelData from our TURN server (RFC 8656 §12.4): the datagram inside
 * is what the peer bound to that channel sent to our relayed address, so
 * it is handled as if it came from that peer's address.
 */
static void relay_datagram(struct dp_worker *w, struct dp_table *t, uint8_t *d, size_t n, struct dp_sa **locked)
{
	struct stun_chandata cd;
	union dp_addr from;
	int i;

	if (stun_chandata_parse(d, n, false, &cd)) {
		ST(w, rx_bad)++;
		return;
	}
	for (i = 0; i < t->relay.n; i++)
		if (t->relay.ch[i].channel == cd.channel)
			break;
	if (i == t->relay.n) {
		ST(w, relay_rx_unknown)++;
		log_ratelimited(&w->rl_misc, LOG_LEVEL_DEBUG, "ChannelData on unbound channel 0x%04x", cd.channel);
		return;
	}
	ST(w, relay_rx_packets)++;
	from = t->relay.ch[i].peer;
	udp_payload(w, t, d + STUN_CHANDATA_HDR_LEN, cd.len, &from, locked, 0);
}

void dp_worker_relay_frame(struct dp_worker *w, struct dp_table *t, uint8_t *frame, size_t len, struct dp_sa **locked)
{
	struct stun_chandata cd;
	union dp_addr from;
	int i;

	if (!t->relay.stream)
		return;
	if ((frame[0] & 0xc0) == 0) {
		/* a STUN message: the agent's TURN client takes it, as if it came over UDP */
		stun_datagram(w, frame, len, &t->relay.server, 0);
		return;
	}
	if (stun_chandata_parse(frame, len, true, &cd)) {
		ST(w, rx_bad)++;
		return;
	}
	for (i = 0; i < t->relay.n; i++)
		if (t->relay.ch[i].channel == cd.channel)
			break;
	if (i == t->relay.n) {
		ST(w, relay_rx_unknown)++;
		return;
	}
	ST(w, relay_rx_packets)++;
	from = t->relay.ch[i].peer;
	udp_payload(w, t, frame + STUN_CHANDATA_HDR_LEN, cd.len, &from, locked, 0);
}

static void udp_datagram(struct dp_worker *w, struct dp_table *t, uint8_t *d, size_t n,
			 const union dp_addr *from, struct dp_sa **locked, uint16_t sock)
{
	ST(w, udp_rx_datagrams)++;
	/* RFC 7983 §7: 64..79 is ChannelData, which only our TURN server may send us */
	if (n && (d[0] & 0xf0) == 0x40 && t->relay.server.sa.sa_family && dp_addr_eq(from, &t->relay.server)) {
		relay_datagram(w, t, d, n, locked);
		return;
	}
	udp_payload(w, t, d, n, from, locked, sock);
}

/* An ESP-in-UDP datagram (RFC 3948), sent by @p from directly or through the relay. */
static void udp_payload(struct dp_worker *w, struct dp_table *t, uint8_t *d, size_t n,
			const union dp_addr *from, struct dp_sa **locked, uint16_t sock)
{
	size_t off;

	switch (esp_udp_classify(d, n, &off)) {
	case ESP_UDP_ESP:
		/*
		 * RFC 7983 §7: STUN shares the port, told apart by its top bits
		 * and magic cookie; our inbound SPIs start at 0x50000000
		 * (IKE_CHILD_SPI_MIN), so no ESP of ours looks like it, and the
		 * first byte alone sends it on without a call.
		 */
		if ((d[0] & 0xc0) == 0 && stun_demux_classify(d, n) == STUN_DEMUX_STUN) {
			stun_datagram(w, d, n, from, sock);
			break;
		}
		esp_datagram(w, t, d, n, from, locked, false);
		break;
	case ESP_UDP_IKE:
		ST(w, rx_ike)++;
		if (n - off <= DP_IKE_MAX) {
			struct dp_event ev;

			ev.type = DP_EV_IKE;
			ev.peer = -1;
			ev.spi = 0;
			ev.from = *from;
			ev.local_port = w->dp->conf.port;
			ev.sock = sock;
			ev.local_addr.s_addr = 0;
			ev.len = n - off;
			memcpy(ev.data, d + off, n - off);
			dp_post_event(w->dp, &ev);
		}
		break;
	case ESP_UDP_KEEPALIVE:
		ST(w, rx_keepalive)++;
		break;
	default:
		ST(w, rx_bad)++;
		break;
	}
}

/* Is @p in from a gateway we hold an RSIP path through, to the address it lent us? */
static bool rsip_known(const struct dp_table *t, const struct dp_native_in *in)
{
	for (int p = 0; p < t->npeers; p++) {
		const struct dp_path *path = &t->peer[p].path;

		if (path->kind == DP_PATH_RSIP && ntohl(path->tunnel.s_addr) == in->outer_src &&
		    ntohl(path->src.s_addr) == in->dst)
			return true;
	}
	return false;
}

/* IKE that the RSIP gateway tunnelled to us (RFC 3104 §4): up to the control thread, with Nb as the local address. */
static void rsip_ike(struct dp_worker *w, const struct dp_native_in *in, const uint8_t *buf)
{
	const uint8_t *d = buf + in->off;
	size_t n = in->len;
	struct dp_event ev;

	if (in->sport == 4500 || in->dport == 4500) {
		struct wire r = wire_reader(d, n);

		/* RFC 3948 §2.2: on 4500 only what follows the non-ESP marker is IKE */
		if (wire_read_u32(&r) != 0 || wire_err(&r)) {
			ST(w, native_rx_bad)++;
			return;
		}
		d += 4;
		n -= 4;
	}
	if (n > DP_IKE_MAX) {
		ST(w, native_rx_bad)++;
		return;
	}
	ST(w, rx_ike)++;
	ev.type = DP_EV_IKE;
	ev.peer = -1;
	ev.spi = 0;
	memset(&ev.from, 0, sizeof(ev.from));
	ev.from.sin.sin_family = AF_INET;
	ev.from.sin.sin_addr.s_addr = htonl(in->src);
	ev.from.sin.sin_port = htons(in->sport);
	ev.local_port = in->dport;
	ev.sock = 0;
	ev.local_addr.s_addr = htonl(in->dst);
	ev.len = n;
	memcpy(ev.data, d, n);
	dp_post_event(w->dp, &ev);
}

/* Worker 0: what the raw ESP socket (@p ipip false) or the IP-in-IP socket received. */
static void native_batch(struct dp_worker *w, struct dp_table *t, int fd, bool ipip)
{
	struct dp_sa *locked = NULL;

	for (int i = 0; i < 64; i++) {
		ssize_t got = recv(fd, w->rxbuf, DP_RX_BUF, MSG_DONTWAIT);
		struct dp_native_in in;
		union dp_addr from = { .sin = { .sin_family = AF_INET } };
		int err;

		if (got <= 0)
			break;
		err = ipip ? dp_native_parse_ipip(w->rxbuf, (size_t)got, &in)
			   : dp_native_parse_esp(w->rxbuf, (size_t)got, &in);
		if (err) {
			ST(w, native_rx_bad)++;
			continue;
		}
		if (ipip && !rsip_known(t, &in)) {
			/* not from a gateway we use, or not to the address it lent us */
			ST(w, native_rx_foreign)++;
			continue;
		}
		ST(w, native_rx_packets)++;
		if (in.proto == DP_IPPROTO_UDP) {
			rsip_ike(w, &in, w->rxbuf);
			continue;
		}
		from.sin.sin_addr.s_addr = htonl(in.src);
		esp_datagram(w, t, w->rxbuf + in.off, in.len, &from, &locked, true);
	}
	if (locked)
		pthread_mutex_unlock(&locked->in_lock);
	gro_flush(w);
}

/* What one UDP socket (@p fd: IPv4 or IPv6; prediction socket @p sock, or 0 for our port) received. */
static void udp_batch(struct dp_worker *w, struct dp_table *t, int fd, sa_family_t family, uint16_t sock)
{
	struct mmsghdr mm[DP_RX_BATCH];
	struct iovec iov[DP_RX_BATCH];
	union dp_addr from[DP_RX_BATCH];
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cm[DP_RX_BATCH];
	struct dp_sa *locked = NULL;

	for (int round = 0; round < 4; round++) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < DP_RX_BATCH; i++) {
			iov[i].iov_base = w->rxbuf + (size_t)i * DP_RX_BUF;
			iov[i].iov_len = DP_RX_BUF;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = cm[i].buf;
			mm[i].msg_hdr.msg_controllen = sizeof(cm[i].buf);
		}
		n = recvmmsg(fd, mm, DP_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			uint8_t *b = iov[i].iov_base;
			size_t len = mm[i].msg_len, seg = len;
			struct cmsghdr *c;

			if (from[i].sa.sa_family != family)
				continue;
			for (c = CMSG_FIRSTHDR(&mm[i].msg_hdr); c; c = CMSG_NXTHDR(&mm[i].msg_hdr, c)) {
				if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
					int g;

					memcpy(&g, CMSG_DATA(c), sizeof(g));
					if (g > 0)
						seg = (size_t)g;
				}
			}
			for (size_t off = 0; off < len; off += seg)
				udp_datagram(w, t, b + off, len - off < seg ? len - off : seg, &from[i], &locked, sock);
		}
		if (n < DP_RX_BATCH)
			break;
	}
	if (locked)
		pthread_mutex_unlock(&locked->in_lock);
	gro_flush(w);
}

/* Worker 0: the prediction sockets that have something (docs/dataplane.md "Prediction sockets"). */
static void psock_batch(struct dp_worker *w, struct dp_table *t)
{
	struct epoll_event ev[32];
	int n = epoll_wait(w->dp->psock_ep, ev, 32, 0);

	for (int i = 0; i < n; i++) {
		uint16_t id = (uint16_t)ev[i].data.u32;
		/* -1 once dp_psock_close began: it waits for this batch to end before closing */
		int fd = dp_psock_fd(w->dp, id);

		if (fd >= 0)
			udp_batch(w, t, fd, AF_INET, id);
	}
}

static void publish_counters(struct dp_worker *w)
{
	const uint64_t *src = (const uint64_t *)(const void *)&w->local;

	for (size_t i = 0; i < sizeof(w->local) / sizeof(uint64_t); i++)
		if (src[i])
			atomic_fetch_add_explicit(&w->ctr->v[i], src[i], memory_order_relaxed);
	memset(&w->local, 0, sizeof(w->local));
}

void *dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp *dp = w->dp;
	/* worker 0 also reads the raw sockets of native ESP and RSIP, and the prediction sockets (-1: poll ignores them) */
	/* ... and the relay's TCP/TLS connection, with an eventfd that says it changed */
	struct pollfd pfd[9] = {
		{ .fd = w->tun_fd, .events = POLLIN },
		{ .fd = w->udp_fd, .events = POLLIN },
		{ .fd = dp->stop_fd, .events = POLLIN },
		{ .fd = w->idx == 0 ? dp->esp_fd : -1, .events = POLLIN },
		{ .fd = w->idx == 0 ? dp->ipip_fd : -1, .events = POLLIN },
		{ .fd = w->udp6_fd, .events = POLLIN },
		{ .fd = w->idx == 0 ? dp->psock_ep : -1, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
		{ .fd = w->idx == 0 ? dp->rs.wake_fd : -1, .events = POLLIN },
	};

	for (;;) {
		struct dp_table *t;

		pfd[7].fd = w->idx == 0 ? atomic_load(&dp->rs.poll_fd) : -1;
		if (poll(pfd, 9, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents)
			break;
		/* enter the batch: from here until the epoch is even again, t stays alive */
		atomic_fetch_add_explicit(&w->epoch, 1, memory_order_seq_cst);
		t = atomic_load_explicit(&dp->table, memory_order_seq_cst);
		if (pfd[1].revents & POLLIN)
			udp_batch(w, t, pfd[1].fd, AF_INET, 0);
		if (pfd[5].revents & POLLIN)
			udp_batch(w, t, pfd[5].fd, AF_INET6, 0);
		if (pfd[6].revents & POLLIN)
			psock_batch(w, t);
		if (pfd[3].revents & POLLIN)
			native_batch(w, t, pfd[3].fd, false);
		if (pfd[4].revents & POLLIN)
			native_batch(w, t, pfd[4].fd, true);
		if ((pfd[7].revents & (POLLIN | POLLHUP | POLLERR)) || (pfd[8].revents & POLLIN)) {
			struct dp_sa *locked = NULL;

			dp_rstream_read(w, t, &locked);
			if (locked)
				pthread_mutex_unlock(&locked->in_lock);
			gro_flush(w);
		}
		if (pfd[0].revents & POLLIN)
			tun_batch(w, t);
		atomic_fetch_add_explicit(&w->epoch, 1, memory_order_release);
		publish_counters(w);
	}
	return NULL;
}

int dp_worker_init(struct dp_worker *w, struct dp *dp, int idx)
{
	w->dp = dp;
	w->idx = idx;
	w->tun_fd = w->udp_fd = w->udp6_fd = -1;
	w->ctr = &dp->ctr;
	w->rl_auth = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 5);
	w->rl_misc = (struct log_ratelimit)LOG_RATELIMIT_INIT(5, 10);
	atomic_init(&w->epoch, 0);
	w->tx.buf = malloc(DP_TX_BUF);
	w->tunbuf = malloc(DP_TUN_BUF);
	w->rxbuf = malloc((size_t)DP_RX_BATCH * DP_RX_BUF);
	w->grobuf = malloc(DP_VNET_HDR_LEN + DP_GRO_MAX);
	w->nbuf = malloc(DP_NATIVE_BUF);
	w->ip_id = (uint16_t)(getpid() * 31 + idx * 4099);
	w->gro.buf = w->grobuf;
	if (!w->tx.buf || !w->tunbuf || !w->rxbuf || !w->grobuf || !w->nbuf)
		return -ENOMEM;
	return 0;
}

void dp_worker_fini(struct dp_worker *w)
{
	free(w->tx.buf);
	free(w->tunbuf);
	free(w->rxbuf);
	free(w->grobuf);
	free(w->nbuf);
	w->tx.buf = w->tunbuf = w->rxbuf = w->grobuf = w->nbuf = NULL;
}
