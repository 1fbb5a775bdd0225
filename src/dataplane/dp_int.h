/* src/dataplane: state shared by the control thread (dp.c) and the workers (worker.c). */
#ifndef AT_DATAPLANE_DP_INT_H
#define AT_DATAPLANE_DP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "common/log.h"
#include "dataplane/dp.h"
#include "dataplane/offload.h"
#include "esp/esp.h"

#define DP_CTX (DP_MAX_WORKERS + 1)	/* cipher contexts per SA: one per worker, one for the control thread */
#define DP_SPI_SLOTS 1024		/* open addressing, a power of two, > 2 * SAs */
#define DP_ADDR_SLOTS 1024
#define DP_MAX_SAS 480
#define DP_TX_BUF (16 * 65536)
#define DP_TX_MSGS 64
#define DP_RX_BATCH 16
#define DP_RX_BUF 65536
#define DP_TUN_BUF (DP_VNET_HDR_LEN + 65536)
#define DP_GSO_MAX_SEGS 64		/* UDP_MAX_SEGMENTS */
#define DP_GSO_MAX_BYTES 65000
#define DP_EVQ 64
#define DP_NATIVE_BUF (64 + 65536)	/* an inner IPv4 header, the ESP header, a segment, the trailer */
#define DP_RSTREAM_BUF (2 * 65536 + 8)	/* reassembly: a frame is at most 4 + 65535 + 3 bytes */

/* One child SA. Immutable once published, except the counters, the replay window (under in_lock) and out.seq (atomic). */
struct dp_sa {
	uint32_t spi_in;
	int peer;
	struct esp_out out;
	struct esp_in in;
	pthread_mutex_t in_lock;	/* taken once per batch of packets for this SA */
	struct esp_aead *enc[DP_CTX], *dec[DP_CTX];
	struct esp_layout lay;		/* where the inner packet goes in a sealed one */
	atomic_bool rekey_reported;
};

/* A peer: long-lived; its mutable parts are in the snapshot or behind pend_lock. */
struct dp_peer {
	char name[DP_NAME_MAX + 1];
	bool has_ula, has_v4;
	struct in6_addr ula;
	struct in_addr v4;
	pthread_mutex_t pend_lock;	/* the slow path: packets waiting for an SA */
	int npend;
	uint8_t *pend[64];
	size_t pendlen[64];
	atomic_bool need_reported;
	atomic_bool roam_reported;
};

/* The snapshot the workers read. Replaced whole, never changed in place. */
struct dp_table {
	int npeers;
	struct {
		struct dp_sa *out;		/* current outbound SA or NULL */
		union dp_addr remote;		/* either family */
		union dp_addr local;		/* our source towards it, family 0: the routing table's */
		struct dp_path path;		/* UDP, native ESP, or native ESP through RSIP */
		uint16_t sock;			/* 0: our port; k: prediction socket k bound to remote (table_index) */
	} peer[DP_MAX_PEERS];
	int nbind;			/* prediction sockets bound to a remote address (dp_psock_bind) */
	struct { union dp_addr remote; uint16_t sock; } bind[DP_MAX_PEERS];
	int nsa;
	struct dp_sa *sa[DP_MAX_SAS];
	struct dp_sa *by_spi[DP_SPI_SLOTS];
	struct { uint8_t family, used; uint8_t addr[16]; int16_t peer; } by_addr[DP_ADDR_SLOTS];
	/* the TURN relay (dp_relay_*): server of family 0 when none */
	struct {
		union dp_addr server;
		bool stream;			/* over TCP or TLS: dp->rs (relay_stream.c) */
		int n;
		struct { union dp_addr peer; uint16_t channel; } ch[DP_RELAY_CHANNELS];
	} relay;
};

struct dp_txmsg {
	union dp_addr to;
	union dp_addr from;		/* family 0: the kernel picks the source */
	size_t off, len;
	size_t seg;
	unsigned count;
	bool closed;
	uint16_t sock;			/* 0: our port; k: prediction socket k */
};

/* A batch of sealed datagrams for one sendmmsg. */
struct dp_tx {
	uint8_t *buf;
	size_t used;
	int n;
	struct dp_txmsg msg[DP_TX_MSGS];
	size_t resv_len;		/* the reservation not yet committed */
	int resv_msg;
	bool resv_new;
};

struct dp_counters {
	_Atomic uint64_t v[sizeof(struct dp_stats) / sizeof(uint64_t)];
};
#define DP_STAT_IDX(field) (offsetof(struct dp_stats, field) / sizeof(uint64_t))

struct dp_worker {
	struct dp *dp;
	int idx;
	pthread_t thread;
	bool running;
	int tun_fd, udp_fd;
	int udp6_fd;			/* the IPv6 socket (IPV6_V6ONLY), or -1 without IPv6 */
	_Atomic uint64_t epoch;		/* odd while inside a batch */
	struct dp_tx tx;
	uint8_t *tunbuf;
	uint8_t *rxbuf;			/* DP_RX_BATCH * DP_RX_BUF */
	uint8_t *grobuf;
	uint8_t *nbuf;			/* native ESP: one packet sealed behind its inner IPv4 header */
	uint16_t ip_id;			/* identification of the inner IPv4 headers we write */
	struct dp_gro gro;
	struct dp_stats local;		/* summed into counters once per batch */
	struct dp_counters *ctr;
	struct log_ratelimit rl_auth, rl_misc;
};

/* A prediction socket: fd is -1 once closing begins (workers load it inside a batch). */
struct dp_psock {
	_Atomic int fd;
	uint16_t port;
};

/* TURN over TCP or TLS (relay_stream.c): one connection, owned by the data plane. */
struct dp_rstream {
	pthread_mutex_t lock;		/* one thread in the stream (and its SSL) at a time */
	int fd;				/* -1: none */
	struct ssl_st *ssl;		/* NULL: plain TCP */
	bool dead;			/* EOF, error or a frame cut short: reported once (DP_EV_RELAY_LOST) */
	unsigned gen;			/* bumped on each change of connection */
	_Atomic int poll_fd;		/* what worker 0 polls: fd, or -1 */
	int wake_fd;			/* eventfd: worker 0 takes a new fd into its poll set */
	uint8_t *rbuf;			/* worker 0's reassembly of frames */
	size_t rlen;
	unsigned rgen;
};

struct dp {
	struct dp_conf conf;
	char ifname[32];
	int ifindex;
	int nworkers;
	struct dp_worker w[DP_MAX_WORKERS];
	struct dp_counters ctr;		/* shared, relaxed atomics, added per batch */
	_Atomic(struct dp_table *) table;
	struct dp_peer *peers[DP_MAX_PEERS];
	int npeers;
	int stop_fd, event_fd;
	int esp_fd, ipip_fd;		/* raw sockets for native ESP and the RSIP tunnel, or -1 */
	atomic_bool gso_ok;	/* cleared by a worker if the device refuses UDP GSO */
	bool gro_ok;
	pthread_mutex_t evq_lock;
	struct dp_event *evq;
	unsigned evq_head, evq_n;
	struct dp_worker ctl;		/* the control thread's own tx state (flushing queued packets) */
	struct dp_psock *psock;		/* [DP_PSOCK_MAX + 1], index 0 unused */
	unsigned npsock;
	int psock_ep;			/* epoll of the open prediction sockets: worker 0 polls it */
	struct dp_rstream rs;		/* TURN over TCP/TLS */
};

/* worker.c */
void *dp_worker_main(void *arg);
void dp_worker_flush_pending(struct dp_worker *w, struct dp_table *t, int peer);
int dp_worker_init(struct dp_worker *w, struct dp *dp, int idx);
void dp_worker_fini(struct dp_worker *w);
int dp_table_peer_by_dst(const struct dp_table *t, const uint8_t *pkt, size_t len);
struct dp_sa *dp_table_sa(const struct dp_table *t, uint32_t spi);
void dp_post_event(struct dp *dp, const struct dp_event *ev);
int dp_psock_fd(struct dp *dp, uint16_t id);
/* worker.c: one frame of the relay's stream (ChannelData or STUN), as it came from the server */
void dp_worker_relay_frame(struct dp_worker *w, struct dp_table *t, uint8_t *frame, size_t len, struct dp_sa **locked);
/* relay_stream.c */
int dp_rstream_init(struct dp *dp);
void dp_rstream_fini(struct dp *dp);
void dp_rstream_set(struct dp *dp, int fd, struct ssl_st *ssl);
void dp_rstream_clear(struct dp *dp);
int dp_rstream_write(struct dp *dp, const uint8_t *buf, size_t len);
void dp_rstream_read(struct dp_worker *w, struct dp_table *t, struct dp_sa **locked);
/* The channel to @p to (address and port), or 0 when it is reached directly. */
uint16_t dp_table_relay_channel(const struct dp_table *t, const union dp_addr *to);

#endif
