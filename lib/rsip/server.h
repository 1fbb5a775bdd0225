/*
 * lib/rsip/server.h: the RSIP server of RFC 3103 with the end-to-end IPsec
 * support of RFC 3104, as pure logic: (state, request, now) -> (response,
 * state change). No I/O, no clock, no randomness of its own: the gateway
 * daemon passes the time (milliseconds on a monotonic clock) and a random
 * seed, carries the messages over TCP 4555, and asks the demultiplexing
 * functions below where each packet arriving at a public address goes.
 *
 * What the server lends:
 *  - RSAP-IP: a shared public address Nb plus ports from a pool;
 *  - RSIPSEC (RFC 3104): a shared Nb plus SPIs from a pool, unique per Nb,
 *    and optionally ports (the ephemeral IKE port of §6.1, or the port
 *    range of Appendix A), or none (the "don't need" form);
 *  - RSA-IP: a whole public address, when the configuration has spare ones;
 *  - LISTEN: like RSAP-IP, for incoming connections.
 * Every binding has a lease; EXTEND renews it, FREE or expiry releases its
 * ports, SPIs and IKE demultiplexing entries.
 *
 * Threading: a struct rsip_server is owned by one thread; nothing inside
 * blocks or allocates after rsip_server_init().
 */
#ifndef AT_RSIP_SERVER_H
#define AT_RSIP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsip/msg.h"
#include "rsip/table.h"

#define RSIP_MAX_ADDRS 16	/**< public addresses in the configuration */
#define RSIP_MAX_PREFIXES 16	/**< entries of each prefix list */
#define RSIP_BIND_MAX_PORTS 32	/**< ports one binding may hold */
#define RSIP_BIND_MAX_SPIS 8	/**< SPIs one binding may hold */
#define RSIP_BIND_MAX_IKE 8	/**< IKE initiator SPIs one binding may claim on port 500 */
#define RSIP_IKE_PORT 500

/** An IPv4 prefix, host byte order. */
struct rsip_prefix {
	uint32_t addr;
	uint8_t len;		/**< 0..32 */
};

struct rsip_server_config {
	/** Public addresses (host order). The first n_shared are shared by
	 *  RSAP-IP, LISTEN and RSIPSEC bindings; the rest are lent whole (RSA-IP). */
	uint32_t addrs[RSIP_MAX_ADDRS];
	unsigned n_addrs;
	unsigned n_shared;	/**< >= 1 */
	/** Na, the server's address on the clients' side, announced as the
	 *  tunnel endpoint in ASSIGN responses; 0 to leave it out. */
	uint32_t tunnel_endpoint;
	uint16_t port_lo, port_hi;	/**< ports lent on shared addresses, inclusive */
	uint32_t spi_lo, spi_hi;	/**< SPIs lent (>= 256), inclusive */
	uint32_t lease_min, lease_default, lease_max;	/**< binding leases, seconds */
	uint32_t reg_lease;		/**< seconds an idle registration without bindings lives */
	unsigned max_clients;
	unsigned max_bindings;		/**< in all */
	unsigned max_bindings_per_client;
	unsigned max_ports_per_request;	/**< <= RSIP_BIND_MAX_PORTS */
	unsigned max_spis_per_request;	/**< <= RSIP_BIND_MAX_SPIS */
	bool ipsec;			/**< offer RSIPSEC at all */
	/** Clients (by private address) allowed to use IPsec; none listed: all. */
	struct rsip_prefix ipsec_allow[RSIP_MAX_PREFIXES];
	unsigned n_ipsec_allow;
	/** Clients allowed to register; none listed: all. */
	struct rsip_prefix register_allow[RSIP_MAX_PREFIXES];
	unsigned n_register_allow;
	/** Networks of the clients' realm, for QUERY answers. */
	struct rsip_prefix local_nets[RSIP_MAX_PREFIXES];
	unsigned n_local_nets;
	bool listen;			/**< accept LISTEN_REQUEST */
	bool counter_required;		/**< RFC 3103: over UDP every request carries a Message Counter */
	uint64_t seed;			/**< random: first IDs, SPI choice, hash keys */
};

/** Fill @p c with the defaults: one shared address @p nb, ports 40000-40999, SPIs 0x10000-0x1ffff... */
void rsip_server_config_default(struct rsip_server_config *c, uint32_t nb);

/** Where a client speaks from on the private side (host order). */
struct rsip_peer {
	uint32_t addr;		/**< also the client's tunnel endpoint */
	uint16_t port;
};

enum rsip_bind_kind { RSIP_BIND_RSA_IP = 1, RSIP_BIND_RSAP_IP, RSIP_BIND_RSIPSEC, RSIP_BIND_LISTEN };

struct rsip_ike_claim {
	uint64_t spi_i;		/**< IKE initiator SPI (ISAKMP initiator cookie) */
	uint32_t peer;		/**< Y, the peer it was sent to */
	uint64_t since;
	bool answered;		/**< Y has answered to it */
};

struct rsip_binding {
	bool used;
	uint8_t kind;			/**< enum rsip_bind_kind */
	uint8_t addr_idx;		/**< index in config addrs */
	uint32_t bind_id;
	uint32_t client;		/**< slot of the owner in the clients array */
	uint64_t expires;		/**< ms */
	uint32_t remote;		/**< the remote address asked for, 0 = any */
	uint8_t n_ports;
	uint16_t ports[RSIP_BIND_MAX_PORTS];
	uint8_t n_spis;
	uint32_t spis[RSIP_BIND_MAX_SPIS];
	uint8_t n_ike;
	struct rsip_ike_claim ike[RSIP_BIND_MAX_IKE];
};

struct rsip_client_rec {
	bool used;
	uint32_t client_id;
	struct rsip_peer peer;
	uint64_t last_seen;		/**< ms */
	unsigned n_binds;
};

/** Counters: every refusal and every dropped packet is counted. */
struct rsip_server_stats {
	uint64_t requests;
	uint64_t errors;		/**< ERROR_RESPONSEs sent */
	uint16_t last_error;
	uint64_t registrations, deregistrations;
	uint64_t bindings_granted, bindings_freed, bindings_expired, clients_expired;
	uint64_t esp_hits, esp_misses;
	uint64_t ike_hits, ike_misses;
	uint64_t ike_claims, ike_collisions, ike_claims_evicted;
	uint64_t port_hits, port_misses;
	uint64_t outbound_refused;
};

struct rsip_server {
	struct rsip_server_config cfg;
	struct rsip_client_rec *clients;	/* owned, cfg.max_clients */
	struct rsip_binding *binds;		/* owned, cfg.max_bindings */
	unsigned n_clients, n_binds;
	int addr_owner[RSIP_MAX_ADDRS];		/* binding slot of an RSA-IP lender, or -1 */
	unsigned addr_spis[RSIP_MAX_ADDRS];	/* SPIs in use per address */
	struct rsip_table spi_tab;		/* (addr, SPI) -> binding slot */
	struct rsip_table port_tab;		/* (addr, port) -> binding slot */
	struct rsip_table ike_tab;		/* (addr, IKE SPIi) -> binding slot */
	uint32_t next_client_id, next_bind_id;
	uint64_t spi_ctr;
	uint64_t generation;			/* bumped on every change of bindings */
	struct rsip_server_stats stats;
	struct rsip_msg req, resp;		/* scratch for rsip_server_handle() */
};

/**
 * Set up @p s with a copy of @p cfg (borrowed). Returns 0, -EINVAL for an
 * inconsistent configuration, or -ENOMEM.
 */
int rsip_server_init(struct rsip_server *s, const struct rsip_server_config *cfg)
	__attribute__((warn_unused_result));
void rsip_server_fini(struct rsip_server *s);

/**
 * Handle one request message @p req (borrowed, @p len bytes) from @p from at
 * time @p now (ms) and write the answer into @p resp (@p cap bytes),
 * setting *@p resp_len. Every request gets an answer: the response of its
 * kind or an ERROR_RESPONSE carrying the RFC's error value; an
 * ERROR_RESPONSE received is not answered (*resp_len = 0). Returns 0, or
 * -ENOSPC if @p cap is too small (at most RSIP_MSG_MAX is ever needed; 2048
 * bytes always suffice for the responses this server builds).
 */
int rsip_server_handle(struct rsip_server *s, const struct rsip_peer *from,
		       const uint8_t *req, size_t len, uint64_t now,
		       uint8_t *resp, size_t cap, size_t *resp_len)
	__attribute__((warn_unused_result));

/**
 * Release bindings whose lease has run out and idle registrations, at
 * @p now. Returns the next time (ms) something will expire, or UINT64_MAX.
 */
uint64_t rsip_server_expire(struct rsip_server *s, uint64_t now);

/** The client behind @p from went away (its TCP connection closed): de-register it. */
void rsip_server_drop_peer(struct rsip_server *s, const struct rsip_peer *from);

/* ---- the data path: where does a packet to a public address go? ---- */

/** The answer of a demultiplexing lookup. */
struct rsip_dest {
	uint32_t client_id;
	uint32_t bind_id;
	uint32_t tunnel_addr;	/**< the client's private address: tunnel the packet to it */
};

/**
 * RFC 3104 §5: an AH (51) or ESP (50) packet to @p dst with @p spi. 0 and
 * *@p out filled, or -ENOENT (counted: the packet MUST be discarded).
 */
int rsip_demux_esp(struct rsip_server *s, uint32_t dst, uint8_t proto, uint32_t spi,
		   uint64_t now, struct rsip_dest *out) __attribute__((warn_unused_result));

/**
 * RFC 3104 §4 and §6.1: an IKE packet from @p peer to @p dst:@p dst_port
 * with initiator SPI (cookie) @p ike_spi_i. To a port other than 500 it
 * goes to the client holding that port (the ephemeral IKE port); to port
 * 500 it goes to the client that claimed @p ike_spi_i towards @p peer with
 * rsip_outbound_ike(). 0, or -ENOENT (counted; drop).
 */
int rsip_demux_ike(struct rsip_server *s, uint32_t dst, uint16_t dst_port, uint64_t ike_spi_i,
		   uint32_t peer, uint64_t now, struct rsip_dest *out) __attribute__((warn_unused_result));

/** A TCP or UDP packet to @p dst:@p dst_port (RSAP-IP, LISTEN and RSIPSEC ports). 0 or -ENOENT. */
int rsip_demux_port(struct rsip_server *s, uint32_t dst, uint16_t dst_port, uint64_t now,
		    struct rsip_dest *out) __attribute__((warn_unused_result));

/** Any packet to @p dst when @p dst is lent whole (RSA-IP). 0 or -ENOENT. */
int rsip_demux_addr(struct rsip_server *s, uint32_t dst, uint64_t now, struct rsip_dest *out)
	__attribute__((warn_unused_result));

/**
 * An IKE packet tunnelled from the client at @p tunnel_src, to be sent from
 * @p src:@p src_port to @p dst with initiator SPI @p ike_spi_i. From port
 * 500 the first packet with a new initiator SPI claims it for this client
 * on @p src (RFC 3104 §6.1, trial and error). Returns 0 (send it), -EEXIST
 * (the SPI is another client's, or this client's towards another peer: drop
 * it, the client will retry with another), -EPERM (the client holds no
 * RSIPSEC binding on @p src, or not that port), -ENOSPC (claims full).
 */
int rsip_outbound_ike(struct rsip_server *s, uint32_t tunnel_src, uint32_t src, uint16_t src_port,
		      uint32_t dst, uint64_t ike_spi_i, uint64_t now) __attribute__((warn_unused_result));

/** Any other packet tunnelled from @p tunnel_src to be sent from @p src: 0 if the client holds a binding on @p src, else -EPERM. */
int rsip_outbound_check(struct rsip_server *s, uint32_t tunnel_src, uint32_t src, uint64_t now)
	__attribute__((warn_unused_result));

/** The live binding with @p bind_id, or NULL (borrowed; valid until the next call that changes @p s). */
const struct rsip_binding *rsip_server_binding(const struct rsip_server *s, uint32_t bind_id);

/** The live registration with @p client_id, or NULL (borrowed, likewise). */
const struct rsip_client_rec *rsip_server_client(const struct rsip_server *s, uint32_t client_id);

#endif /* AT_RSIP_SERVER_H */
