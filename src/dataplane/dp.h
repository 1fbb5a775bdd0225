/*
 * src/dataplane: the ESP-in-UDP data plane over a TUN device.
 *
 * One TUN device (multi-queue, IFF_VNET_HDR with TSO/GRO offloads) holds
 * the host's ULA/128 and routes each peer's inner addresses to itself; one
 * UDP port (4500) carries ESP, IKE (after the non-ESP marker) and NAT
 * keepalives. A worker thread per core owns one TUN queue and one
 * SO_REUSEPORT socket and moves packets in batches: TUN super-packet ->
 * TCP segments -> ESP -> one UDP GSO send, and UDP GRO receive -> ESP open
 * -> merged TCP super-packet -> one TUN write.
 *
 * Native ESP (IP protocol 50, no UDP), for peers that want it, takes a
 * path of its own per peer (struct dp_path): directly through a raw ESP
 * socket, or through an RSIP gateway (RFC 3104) as IP-in-IP with the
 * gateway's public address as the inner source. Worker 0 reads those raw
 * sockets; any worker sends on them, one packet per call (see
 * docs/dataplane.md, "Native ESP and RSIP").
 *
 * Threads: every dp_* function below is called from the one control thread
 * (autotunneld's event loop). Workers read an immutable snapshot of the
 * peer and SA tables, replaced as a whole by the control thread (RCU-like:
 * the old snapshot is freed once every worker has left the batch that
 * might have seen it). Workers report to the control thread through a
 * bounded event queue and an eventfd.
 */
#ifndef AT_DATAPLANE_DP_H
#define AT_DATAPLANE_DP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "esp/aead.h"

#define DP_MAX_WORKERS 8
#define DP_MAX_PEERS 256
#define DP_NAME_MAX 63
#define DP_IKE_MAX 8192		/* longest IKE message passed up */

/**
 * An outer address of either family, as the whole dp API takes it:
 * sin for IPv4, sin6 for IPv6 (never an IPv4-mapped IPv6 address);
 * sa.sa_family 0 means "unknown". Ports in network order, as in a sockaddr.
 */
union dp_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/** The length of @p a as a sockaddr (0 for an unknown family). */
static inline socklen_t dp_addr_len(const union dp_addr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->sin) : a->sa.sa_family == AF_INET6 ? sizeof(a->sin6) : 0;
}

/** The same family, address and port (an IPv6 scope too): the same outer endpoint. */
static inline bool dp_addr_eq(const union dp_addr *a, const union dp_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr && a->sin.sin_port == b->sin.sin_port;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) && a->sin6.sin6_port == b->sin6.sin6_port &&
		       a->sin6.sin6_scope_id == b->sin6.sin6_scope_id;
	return true;
}

/** The same address, ports aside (native ESP has none). */
static inline bool dp_addr_eq_host(const union dp_addr *a, const union dp_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16);
	return true;
}

/** The port (host order) of an address of either family; 0 if unknown. */
static inline uint16_t dp_addr_port(const union dp_addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->sin6.sin6_port : a->sa.sa_family == AF_INET ? a->sin.sin_port : 0);
}

/**
 * "a.b.c.d:port" or "[v6]:port" into @p buf (at least DP_ADDR_STRLEN
 * bytes), "?" for an unknown family; returns @p buf, for log lines.
 */
#define DP_ADDR_STRLEN (INET6_ADDRSTRLEN + 8)
const char *dp_addr_str(const union dp_addr *a, char *buf, size_t len);

struct dp_conf {
	const char *ifname;	/**< TUN device name; NULL = "autotun0" */
	int mtu;		/**< inner MTU; 0 = 1400 */
	struct in6_addr ula;	/**< our ULA, put on the device as /128 */
	bool has_v4;
	struct in_addr v4;	/**< an inner IPv4 /32 as well (interop) */
	uint16_t port;		/**< UDP port for ESP and IKE; 0 = 4500 */
	int workers;		/**< 0 = one per core, at most DP_MAX_WORKERS */
	bool no_offload;	/**< no vnet header, TSO, GSO or GRO (for comparison) */
	int pending_max;	/**< packets held per peer while it has no SA; 0 = 16 */
	bool native_esp;	/**< open a raw IP protocol 50 socket, for peers on DP_PATH_ESP */
	bool rsip;		/**< open a raw IP-in-IP socket, for peers on DP_PATH_RSIP */
};

/** How ESP reaches a peer (and comes back). */
enum dp_path_kind {
	DP_PATH_UDP = 0,	/**< ESP in UDP (RFC 3948) on our port: the default */
	DP_PATH_ESP,		/**< native ESP from our own address (needs dp_conf.native_esp) */
	DP_PATH_RSIP,		/**< native ESP from a lent address, via an RSIP gateway (needs dp_conf.rsip) */
};

struct dp_path {
	enum dp_path_kind kind;
	struct in_addr src;	/**< DP_PATH_RSIP: Nb, the address the gateway lent us */
	struct in_addr tunnel;	/**< DP_PATH_RSIP: Na, the gateway's end of the IP-in-IP tunnel */
};

struct dp_peer_conf {
	const char *name;
	bool has_ula;
	struct in6_addr ula;	/**< the peer's ULA/128 (remote traffic selector) */
	bool has_v4;
	struct in_addr v4;	/**< the peer's IPv4 /32 */
	union dp_addr remote;	/**< outer address of either family; family 0 if unknown */
};

/** One child SA, both directions. Keys are secrets: the caller wipes its copy. */
struct dp_sa_conf {
	uint32_t spi_in, spi_out;	/**< host order */
	enum esp_cipher cipher;
	bool esn;
	/**
	 * esp_keymat_len(cipher) bytes each: key || salt (the AEADs), or AES
	 * key || HMAC key (AES-CBC with HMAC-SHA2-256-128); for what the peer
	 * sends, and for what we send.
	 */
	uint8_t key_in[ESP_KEYMAT_MAX];
	uint8_t key_out[ESP_KEYMAT_MAX];
};

enum dp_event_type {
	DP_EV_NEED_SA = 1,	/**< packets wait for peer `peer`: start IKE (tunnel on demand) */
	DP_EV_IKE,		/**< an IKE message (marker removed) arrived */
	DP_EV_REKEY,		/**< SA `spi` (inbound SPI) nears the end of its sequence space */
	DP_EV_ROAMED,		/**< peer `peer` sent authentic ESP from a new address `from` */
	DP_EV_AUTH_FAILED,	/**< ESP for SA `spi` failed its ICV (wrong key?) from `from` */
	DP_EV_STUN,		/**< a STUN message (RFC 8489) arrived on our port (or prediction socket `sock`) from `from` */
	DP_EV_RELAY_LOST,	/**< the relay's TCP/TLS connection (dp_relay_set_stream) closed or failed */
};

struct dp_event {
	enum dp_event_type type;
	int peer;
	uint32_t spi;
	union dp_addr from;	/**< either family */
	uint16_t local_port;
	uint16_t sock;		/**< DP_EV_STUN, DP_EV_IKE: 0 our port, else the prediction socket it came in on */
	struct in_addr local_addr;	/**< DP_EV_IKE via RSIP: the address it was sent to (Nb); else 0 */
	size_t len;
	uint8_t data[DP_IKE_MAX];
};

struct dp_stats {
	uint64_t tun_rx_packets, tun_rx_bytes, tun_tx_writes, tun_tx_packets;
	uint64_t esp_tx_packets, esp_tx_bytes, udp_tx_sends;
	uint64_t esp_rx_packets, esp_rx_bytes, udp_rx_datagrams;
	uint64_t rx_replay, rx_auth_failed, rx_bad, rx_no_sa, rx_policy, rx_ike, rx_keepalive, rx_stun;
	uint64_t tx_no_peer, tx_no_sa_queued, tx_no_sa_dropped, tx_seq_exhausted, tx_errors;
	uint64_t native_tx_packets, native_rx_packets, native_rx_bad, native_rx_foreign;
	uint64_t relay_tx_packets, relay_rx_packets, relay_rx_unknown;	/* TURN ChannelData (dp_relay_*) */
};

struct dp;
struct ssl_st;

/**
 * Create the TUN device (with its address and MTU) and the UDP sockets.
 * Nothing runs until dp_start. Returns 0 or -errno with a message in @p err.
 */
int dp_new(struct dp **out, const struct dp_conf *conf, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/** Start the workers. */
int dp_start(struct dp *dp) __attribute__((warn_unused_result));
/** Stop the workers, close everything (the device goes away), wipe keys. */
void dp_free(struct dp *dp);

/** Add a peer and route its inner addresses to the device; its index, or -errno. */
int dp_peer_add(struct dp *dp, const struct dp_peer_conf *pc) __attribute__((warn_unused_result));
/**
 * Give slot @p peer a new inner address (the host restarted with a new
 * ULA): its SAs and held packets are dropped, its route moves to @p ula.
 * 0 or -errno (-EINVAL for a peer without an IPv6 address).
 */
int dp_peer_set_ula(struct dp *dp, int peer, const struct in6_addr *ula) __attribute__((warn_unused_result));
const char *dp_peer_name(const struct dp *dp, int peer);
/** Find a peer by name; -ENOENT. */
int dp_peer_find(const struct dp *dp, const char *name);
/**
 * Move peer @p peer to a new outer address, of either family (IPv6 needs
 * the IPv6 socket: -EAFNOSUPPORT without it). The source address chosen
 * with dp_peer_set_local is forgotten when the family changes.
 */
int dp_peer_set_remote(struct dp *dp, int peer, const union dp_addr *remote);
/**
 * Send UDP to @p peer from this local address (IP_PKTINFO/IPV6_PKTINFO: the
 * path's source, as IKE and MOBIKE chose it, on a host with several), or,
 * with family 0 (or NULL), from whatever the routing table picks. The port
 * means nothing (ours is dp_conf.port). -EINVAL if its family is not the
 * remote address's, -ENOENT.
 */
int dp_peer_set_local(struct dp *dp, int peer, const union dp_addr *local);
/** The source address set with dp_peer_set_local (family 0 if none). */
void dp_peer_local(const struct dp *dp, int peer, union dp_addr *out);
/**
 * Let packets for @p peer report DP_EV_NEED_SA again (after an attempt to
 * bring the tunnel up failed). Until then the data plane reports once.
 */
void dp_peer_need_reset(struct dp *dp, int peer);
/**
 * If @p peer has an SA, send the packets it holds (a packet may have been
 * held by a worker that still saw the table before the SA): returns true.
 * False if it has none (then the caller should bring a tunnel up).
 */
bool dp_peer_flush_held(struct dp *dp, int peer);
/** The peer's outer address (family 0 if unknown). */
void dp_peer_remote(const struct dp *dp, int peer, union dp_addr *out);
/**
 * Activity on @p peer's SAs, for idle teardown and keepalives: the sums of
 * the outbound sequence numbers handed out and of the highest inbound ones
 * accepted. They only grow while the SAs live; any change means traffic.
 * 0 or -ENOENT.
 */
int dp_peer_activity(const struct dp *dp, int peer, uint64_t *sent, uint64_t *received);
/**
 * Send ESP to @p peer this way from now on (the outer address stays the
 * one of dp_peer_set_remote; its port means nothing to native ESP).
 * -EOPNOTSUPP if the socket the path needs was not opened (dp_conf),
 * -EINVAL, -ENOENT.
 */
int dp_peer_set_path(struct dp *dp, int peer, const struct dp_path *path);
void dp_peer_path(const struct dp *dp, int peer, struct dp_path *out);

/**
 * Install a child SA for @p peer: inbound under spi_in, and as the peer's
 * outbound SA (replacing the previous one, whose inbound half stays until
 * dp_sa_remove, so a rekey loses nothing). Packets queued while the peer
 * had no SA are sent now. 0, -EEXIST (spi_in taken), -ENOSPC, -EINVAL.
 */
int dp_sa_install(struct dp *dp, int peer, const struct dp_sa_conf *sc)
	__attribute__((warn_unused_result));
/** Remove the SA with inbound SPI @p spi_in; -ENOENT. */
int dp_sa_remove(struct dp *dp, uint32_t spi_in);

/** The eventfd to watch for readability; then drain with dp_event_next. */
int dp_event_fd(const struct dp *dp);
/** Take the next event into @p ev (caller's storage); false when none. */
bool dp_event_next(struct dp *dp, struct dp_event *ev);

/** Send an IKE message (the non-ESP marker is added) to @p to from our port. */
int dp_send_ike(struct dp *dp, const union dp_addr *to, const uint8_t *msg, size_t len);
/**
 * Send an IKE message through the RSIP tunnel @p path: UDP from
 * path->src:@p sport to @p to, as an inner packet to the gateway (the
 * non-ESP marker is added when either port is 4500). 0 or -errno.
 */
int dp_send_ike_rsip(struct dp *dp, const struct dp_path *path, uint16_t sport, const struct sockaddr_in *to,
		     const uint8_t *msg, size_t len);
/**
 * Send a STUN message (no marker: RFC 7983 §7 tells it apart) to @p to
 * from our port, so that what it learns is what ESP and IKE get: through
 * the relay when a channel is bound to @p to (a connectivity check on a
 * relayed pair, docs/paths.md), like everything else sent there. 0 or -errno.
 */
int dp_send_stun(struct dp *dp, const union dp_addr *to, const uint8_t *msg, size_t len);
/** Send a NAT keepalive (RFC 3948 §2.3) to @p to. */
int dp_send_keepalive(struct dp *dp, const union dp_addr *to);

/*
 * Prediction sockets (docs/paths.md §4, docs/dataplane.md "Prediction
 * sockets"): extra IPv4 UDP sockets on ephemeral ports, each a mapping of
 * its own on an endpoint-dependent NAT, for one port-prediction round.
 * What arrives on them is handled as on our port (STUN and IKE go up with
 * the socket's id in dp_event.sock, ESP is opened as usual). One of them
 * may then carry a peer's tunnel: bound to the peer's outer address, it
 * sends the ESP, the IKE (dp_send_ike) and the NAT keepalives
 * (dp_send_keepalive) that go to that address.
 */
/** Most prediction sockets open at once: four rounds of 256. */
#define DP_PSOCK_MAX 1024

/**
 * Open up to @p n prediction sockets; their ids (1..DP_PSOCK_MAX) go to
 * @p ids. Stops early at DP_PSOCK_MAX open, at a quarter of the open-file
 * limit, or when the kernel refuses: returns how many were opened (0 or
 * more), or -errno when none could be.
 */
int dp_psock_open(struct dp *dp, unsigned n, uint16_t *ids) __attribute__((warn_unused_result));
/** Close prediction socket @p id (its binding goes with it). Unknown ids are ignored. */
void dp_psock_close(struct dp *dp, uint16_t id);
/** The local port of prediction socket @p id (host order), 0 if it is not open. */
uint16_t dp_psock_port(const struct dp *dp, uint16_t id);
/** How many prediction sockets are open. */
unsigned dp_psock_count(const struct dp *dp);
/** Send a STUN message from prediction socket @p id to @p to (IPv4). 0, -ENOENT, -EAFNOSUPPORT or -errno. */
int dp_psock_send_stun(struct dp *dp, uint16_t id, const union dp_addr *to, const uint8_t *msg, size_t len);
/**
 * Let prediction socket @p id carry what goes to @p remote (IPv4): the ESP
 * of the peer whose outer address it is, IKE and keepalives to it. One
 * socket per remote and one remote per socket: an earlier binding of
 * either is replaced. @p remote NULL (or family 0) unbinds @p id.
 * 0, -ENOENT (not open), -EAFNOSUPPORT, -ENOSPC.
 */
int dp_psock_bind(struct dp *dp, uint16_t id, const union dp_addr *remote);

/*
 * The TURN relay (RFC 8656, docs/dataplane.md "The relayed path"). A
 * relayed path is chosen by outer address: once a channel is bound to a
 * peer's transport address, everything the data plane sends there (ESP,
 * IKE after its marker, NAT keepalives) goes as ChannelData (RFC 8656
 * §12.4: channel, length, data) to the TURN server over UDP from our port,
 * and ChannelData of that channel from the server is handled as if the
 * peer had sent the datagram from that address. So a peer whose outer
 * address is a relayed one (or any address, with `relay = always`) is
 * reached through the allocation without anything above knowing, and
 * roaming still compares addresses as they look through the relay.
 * Channel numbers (0x4000..0x4FFF) cannot be taken for our inbound SPIs
 * (>= 0x50000000) or the non-ESP marker, so the tunnel socket carries them.
 */
#define DP_RELAY_CHANNELS 16

/**
 * The TURN server that allocated for us over UDP from our port; NULL (or
 * family 0) forgets it and every channel. Channels of a previous server
 * are dropped when it changes. 0 or -ENOMEM.
 */
int dp_relay_set_server(struct dp *dp, const union dp_addr *server);
/**
 * The TURN server that allocated for us over TCP or TLS on connection
 * @p fd (connected; and @p ssl, its TLS session after the handshake, or
 * NULL for plain TCP): the data plane takes both and owns them from now
 * on (closed by the next dp_relay_set_* or dp_free). Channels are dropped;
 * ChannelData to peers goes into the stream, padded (RFC 8656 §12.5), and
 * STUN messages from it are reported as DP_EV_STUN from @p server; its
 * end is reported as DP_EV_RELAY_LOST. 0 or -ENOMEM.
 */
int dp_relay_set_stream(struct dp *dp, const union dp_addr *server, int fd, struct ssl_st *ssl);
/** Send a STUN message (a TURN request) on the relay's stream. 0, -ENOTCONN, -EPIPE, -ETIMEDOUT. */
int dp_relay_stream_send(struct dp *dp, const uint8_t *msg, size_t len);

/**
 * Send what goes to @p peer through channel @p channel of the server set
 * above (replacing the peer's previous channel); @p channel 0 removes it.
 * 0, -EINVAL (channel out of range, no server), -ENOSPC (more than
 * DP_RELAY_CHANNELS), -ENOENT (removing one that is not there).
 */
int dp_relay_channel_set(struct dp *dp, const union dp_addr *peer, uint16_t channel);
/** Whether @p peer's address is reached through the relay now (its channel in @p channel if so). */
bool dp_relay_channel_get(const struct dp *dp, const union dp_addr *peer, uint16_t *channel);

void dp_stats_get(const struct dp *dp, struct dp_stats *out);
/** Whether the IPv6 UDP socket is open (the host has IPv6). */
bool dp_has_ipv6(const struct dp *dp);
/**
 * The outer IP and UDP headers a datagram to a peer of @p family carries
 * (20 + 8 or 40 + 8 bytes): with ESP's overhead and the inner MTU, the size
 * of what leaves on the wire (docs/dataplane.md, "Outer IPv6").
 */
static inline int dp_outer_hdr_len(int family)
{
	return family == AF_INET6 ? 40 + 8 : 20 + 8;
}

/** The TUN device's name and index. */
const char *dp_ifname(const struct dp *dp);
int dp_workers(const struct dp *dp);

#endif
