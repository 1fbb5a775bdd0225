/*
 * lib/ike: the types of its API (ike.h): addresses, selectors, peer and
 * instance settings, events, counters. Kept apart from the functions so that
 * the codec and the state machine inside lib/ike can use them without
 * depending on the API that sits on top of them.
 */
#ifndef AT_IKE_TYPES_H
#define AT_IKE_TYPES_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct ike;

/**
 * The random source (ike_new): fill @p buf with @p len bytes from a
 * cryptographically secure generator; return 0 or a negative errno.
 * @p arg is the pointer given to ike_new(), borrowed.
 */
typedef int ike_random_fn(void *arg, void *buf, size_t len);

/** An outer (UDP) address: family AF_INET or AF_INET6, address in network order, port in host order. */
struct ike_addr {
	uint16_t family;	/**< AF_INET, AF_INET6, or 0 for "unknown" */
	uint16_t port;		/**< host order */
	uint8_t ip[16];		/**< the first 4 bytes for AF_INET */
};

/** Convert a sockaddr_in/sockaddr_in6 (borrowed); -EAFNOSUPPORT for other families. */
static inline int ike_addr_from_sockaddr(struct ike_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		a->family = AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		a->family = AF_INET6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->ip, &s6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/** Convert to a sockaddr (@p ss borrowed); returns its length, 0 for family 0. */
static inline socklen_t ike_addr_to_sockaddr(const struct ike_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->ip, 4);
		return sizeof(*s4);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	return 0;
}

/**
 * A traffic selector: an address range of one family, with an IP protocol
 * (0 = any) and a port range (0..65535 = any).
 */
struct ike_ts {
	uint16_t family;	/**< AF_INET or AF_INET6 */
	uint8_t proto;
	uint16_t port_lo, port_hi;
	uint8_t start[16], end[16];
};

/** ESP transforms for child SAs (a bit mask in struct ike_peer_conf). */
enum ike_esp_alg {
	IKE_ESP_AES256GCM16 = 1,	/**< RFC 4106, 32-byte key + 4-byte salt */
	IKE_ESP_CHACHA20POLY1305 = 2,	/**< RFC 7634, 32-byte key + 4-byte salt */
	IKE_ESP_AES128GCM16 = 4,	/**< RFC 4106, 16-byte key + 4-byte salt */
	/** RFC 3602 AES-128-CBC with RFC 4868 HMAC-SHA2-256-128: 16-byte key, 32-byte integrity key */
	IKE_ESP_AES128CBC_SHA256 = 8,
	/** RFC 3602 AES-256-CBC with RFC 4868 HMAC-SHA2-256-128: 32-byte key, 32-byte integrity key */
	IKE_ESP_AES256CBC_SHA256 = 16,
};

/** PRFs for the IKE SA (a bit mask in struct ike_peer_conf). */
enum ike_prf_alg {
	IKE_PRF_HMAC_SHA256 = 1,
	IKE_PRF_HMAC_SHA384 = 2,
	IKE_PRF_HMAC_SHA512 = 4,
};

/** Encryption of IKE messages (a bit mask in struct ike_peer_conf). */
enum ike_encr_alg {
	IKE_ENCR_AES256GCM16 = 1,	/**< RFC 5282 */
	/** AES-256-CBC with HMAC-SHA2 (256-128, 384-192 or 512-256, as the PRF mask allows) */
	IKE_ENCR_AES256CBC_SHA256 = 2,
	IKE_ENCR_AES128GCM16 = 4,	/**< RFC 5282 with a 128-bit key (RFC 8247 §2.1) */
	/** AES-128-CBC with HMAC-SHA2, as IKE_ENCR_AES256CBC_SHA256 (RFC 8247 §2.1 MUST) */
	IKE_ENCR_AES128CBC_SHA256 = 8,
};

/** Diffie-Hellman groups (IANA numbers). */
enum ike_dh_group {
	IKE_DH_MODP2048 = 14,
	IKE_DH_MODP3072 = 15,		/**< RFC 3526 §4 */
	IKE_DH_ECP256 = 19,
	IKE_DH_ECP384 = 20,		/**< RFC 5903 §3.2 */
	IKE_DH_CURVE25519 = 31,
};

#define IKE_MAX_ID 255		/**< longest identity (FQDN) accepted */
#define IKE_MAX_PSK 128		/**< longest pre-shared key */

/**
 * The smallest inbound ESP SPI this library picks itself (SPIs a gateway
 * lends, RFC 3104 §5, are used as given): the first byte on the wire is
 * then 0x50 or more, which no STUN message or TURN ChannelData starts with
 * (RFC 7983 §7), so ESP on the shared UDP 4500 socket is never taken for
 * either (lib/stun/frame.h, stun_demux_classify()).
 */
#define IKE_CHILD_SPI_MIN	0x50000000u
#define IKE_MAX_NAME 63		/**< longest peer name */
#define IKE_MAX_DH_GROUPS 6	/**< DH groups a peer may list (struct ike_peer_conf) */
#define IKE_MAX_SPIS_IN 8	/**< inbound SPIs a peer may be given (struct ike_peer_conf) */
/** Additional addresses (RFC 4555 §3.4) kept for ourselves and for each peer. */
#define IKE_MAX_ADDRS 8

/**
 * One peer: who it is, how to authenticate it, what may flow through the
 * tunnel. Copied by ike_peer_add (strings and key included); the caller may
 * wipe its copy afterwards.
 */
struct ike_peer_conf {
	const char *name;		/**< the daemon's name for this peer (unique) */
	const char *local_id;		/**< our ID_FQDN */
	/**
	 * The peer's ID_FQDN. "*.example.net" accepts (as responder) any
	 * identity ending in ".example.net"; such a peer cannot be connected
	 * to (ike_connect), only accepted.
	 */
	const char *remote_id;
	const uint8_t *psk;		/**< the pre-shared key (borrowed, copied); NULL with certificates */
	size_t psk_len;			/**< 1..IKE_MAX_PSK */
	/**
	 * Certificate authentication (RFC 7427 digital signatures, AUTH method
	 * 14) instead of the PSK: all three, DER, borrowed and copied. cert is
	 * ours (its subjectAltName dNSName should be local_id), key its private
	 * key (PKCS#8 or traditional DER; Ed25519, RFC 8420, or ECDSA P-256 with
	 * SHA-256), ca the one trust anchor the peer's certificate must chain
	 * to; the peer's ID_FQDN must be a dNSName of its certificate.
	 */
	const uint8_t *cert, *key, *ca;
	size_t cert_len, key_len, ca_len;
	/**
	 * With certificates, the daemon's own policy on the peer's certificate
	 * (NULL: none), asked after the chain, the identity and the AUTH
	 * signature have been checked: @p der is the peer's end-entity
	 * certificate (borrowed for the call), @p id the ID_FQDN it proved.
	 * Anything but 0 fails the authentication (AUTHENTICATION_FAILED), so
	 * an account can refuse a revoked host or one whose address is not the
	 * certificate's. Called from inside ike_input(): it must not call into
	 * the library. @p cert_policy_arg is passed back as it is.
	 */
	int (*cert_policy)(void *arg, const uint8_t *der, size_t len, const char *id);
	void *cert_policy_arg;
	struct ike_addr remote;		/**< where to reach the peer; family 0 if unknown */
	struct ike_addr local;		/**< our address towards it (NAT detection); family 0 if unknown */
	/**
	 * Traffic selectors. As initiator we propose exactly these; as
	 * responder we accept what lies within them, narrowing the peer's
	 * proposal (RFC 7296 §2.9) to the intersection.
	 */
	struct ike_ts local_ts, remote_ts;
	/**
	 * DH groups in order of preference, 0-terminated; all zero = {31, 19,
	 * 14, 20, 15} (RFC 8247 §2.4: 19 and 14 MUST, 31, 20 and 15 are what
	 * common peers propose).
	 */
	uint16_t dh_groups[IKE_MAX_DH_GROUPS];
	/**
	 * enum ike_esp_alg mask; 0 = AES-256-GCM and ChaCha20-Poly1305, AES-GCM
	 * first. The other transforms (AES-128-GCM, AES-CBC with HMAC-SHA2-256)
	 * are used only when named here: a daemon that sets them must install
	 * their keys (ike_child_info) in its data plane.
	 */
	unsigned esp_algs;
	unsigned prf_algs;		/**< enum ike_prf_alg mask; 0 = all three */
	/**
	 * enum ike_encr_alg mask; 0 = all four: AES-256-GCM and AES-128-GCM
	 * proposed first, AES-CBC with HMAC-SHA2 in a second proposal.
	 */
	unsigned encr_algs;
	bool no_esn;			/**< propose/accept only 32-bit sequence numbers */
	bool no_pfs;			/**< no KE payload in child rekeys */
	bool no_mobike;			/**< do not announce MOBIKE_SUPPORTED */
	uint32_t ike_lifetime_s;	/**< rekey the IKE SA after this; 0 = 14400 */
	uint32_t child_lifetime_s;	/**< rekey child SAs after this; 0 = 3600 */
	uint32_t dpd_s;			/**< liveness check after this much silence; 0 = 30, UINT32_MAX = never */
	/**
	 * Inbound ESP SPIs for this peer's child SAs, e.g. those an RSIP
	 * gateway lent us (RFC 3104 §5: it forwards only ESP with these SPIs).
	 * Each child SA we create takes the next one not in use, in turn; if
	 * every one is in use, a random SPI. n_spis_in 0: random SPIs (>= 256
	 * each, else -EINVAL).
	 */
	uint32_t spis_in[IKE_MAX_SPIS_IN];
	unsigned n_spis_in;
};

/** Settings of the whole instance; zero fields take the defaults. */
struct ike_conf {
	uint32_t cookie_threshold;	/**< half-open SAs before COOKIEs are demanded; 0 = 32, UINT32_MAX = never */
	uint32_t half_open_max;		/**< half-open SAs kept at most; 0 = 1024 */
	uint32_t half_open_ms;		/**< a half-open SA is dropped after this; 0 = 30000 */
	uint32_t retransmit_ms;		/**< first retransmission timeout; 0 = 500 */
	uint32_t retransmit_tries;	/**< retransmissions before giving up; 0 = 6 (about 63 s in all) */
	uint32_t max_sas;		/**< IKE SAs at most; 0 = 4096 */
	/**
	 * The wall-clock time (seconds since 1970) certificates are checked
	 * at; NULL = OpenSSL's own reading of the system clock.
	 */
	int64_t (*wall_clock)(void);
};

enum ike_event_type {
	IKE_EV_SEND = 1,	/**< send ev.send.data to ev.send.remote from ev.send.local */
	IKE_EV_SA_UP,		/**< a tunnel's IKE SA is authenticated and established */
	/**
	 * A tunnel's IKE SA is gone; its child SAs were reported down first.
	 * Also reported for a failed attempt the daemon never saw come up
	 * (e.g. a peer that failed authentication: reason IKE_DOWN_AUTH_FAILED).
	 */
	IKE_EV_SA_DOWN,
	IKE_EV_CHILD_UP,	/**< install a child SA in the data plane */
	IKE_EV_CHILD_DOWN,	/**< remove a child SA from the data plane */
	IKE_EV_MOVED,		/**< the tunnel's outer addresses changed (MOBIKE or NAT): move its child SAs */
};

/** Why a tunnel went down (IKE_EV_SA_DOWN). */
enum ike_down_reason {
	IKE_DOWN_CLOSED = 1,	/**< we closed it (ike_close, ike_peer_remove) */
	IKE_DOWN_PEER_DELETED,	/**< the peer sent a Delete for the IKE SA */
	IKE_DOWN_TIMEOUT,	/**< no answer after every retransmission (dead peer) */
	IKE_DOWN_AUTH_FAILED,	/**< authentication failed, ours of the peer or the peer's of us */
	IKE_DOWN_NO_PROPOSAL,	/**< no acceptable proposal (IKE or first child SA) */
	IKE_DOWN_PROTOCOL,	/**< the peer broke the protocol or reported an error */
	IKE_DOWN_REPLACED,	/**< a duplicate SA with the same peer replaced this one */
};

/** A child SA as the data plane needs it. Keys are secrets: wipe copies. */
struct ike_child_info {
	uint32_t spi_in, spi_out;	/**< host order; spi_in names the child SA */
	enum ike_esp_alg alg;
	bool esn;			/**< 64-bit extended sequence numbers */
	/**
	 * Encryption keys: 32 bytes for the 256-bit transforms, the first 16
	 * for AES-128. The salt is used by the AEAD transforms only.
	 */
	uint8_t key_in[32], salt_in[4];	/**< decrypt what the peer sends us */
	uint8_t key_out[32], salt_out[4];	/**< encrypt what we send */
	/** AES-CBC: the HMAC-SHA2-256-128 keys (RFC 4868 §2.1.1: 32 bytes); zero otherwise */
	uint8_t integ_key_in[32], integ_key_out[32];
	struct ike_ts ts_local, ts_remote;	/**< the negotiated (narrowed) selectors */
	uint32_t replaces;		/**< rekey: spi_in of the child SA this one replaces, else 0 */
	/**
	 * We answered the peer's rekey: the peer installs this SA only when our
	 * answer reaches it, so keep sending on the SA it replaces until ESP
	 * arrives on this one or the old one goes down (RFC 7296 §2.8).
	 */
	bool send_deferred;
};

/** A tunnel's state, for events and ike_sa_get(). */
struct ike_sa_info {
	uint32_t sa_id;
	char peer[IKE_MAX_NAME + 1];	/**< peer conf name */
	char remote_id[IKE_MAX_ID + 1];	/**< the peer's authenticated identity (empty before IKE_AUTH) */
	struct ike_addr local, remote;	/**< current outer addresses */
	bool initiator;			/**< we initiated this IKE SA (or the SA it was rekeyed from) */
	bool established;
	bool nat_local, nat_remote;	/**< a NAT in front of us / in front of the peer */
	bool mobike;			/**< both ends support MOBIKE */
	bool cert;			/**< authenticated with certificates (RFC 7427), not the PSK */
	uint16_t dh_group;
	unsigned prf, encr;		/**< enum ike_prf_alg, enum ike_encr_alg */
	uint64_t established_ms;	/**< when the current IKE SA was established (now of that call) */
	uint64_t last_heard_ms;		/**< last authenticated message from the peer */
	uint64_t ike_spi_i, ike_spi_r;	/**< current IKE SPIs (host order) */
	/**
	 * The peer's other addresses (MOBIKE, RFC 4555 §3.4: its
	 * ADDITIONAL_IP4_ADDRESS and ADDITIONAL_IP6_ADDRESS notifies, the
	 * newest list it sent), port 0: where the tunnel may move when its
	 * path dies, e.g. from IPv4 to IPv6.
	 */
	struct ike_addr peer_addrs[IKE_MAX_ADDRS];
	unsigned n_peer_addrs;
};

/** One thing the daemon must do or know (ike_poll). */
struct ike_event {
	enum ike_event_type type;
	uint32_t sa_id;
	char peer[IKE_MAX_NAME + 1];
	union {
		struct {
			struct ike_addr local, remote;
			/** the IKE message without non-ESP marker; valid until the next ike_* call */
			const uint8_t *data;
			size_t len;
		} send;
		struct ike_sa_info up;		/**< IKE_EV_SA_UP and IKE_EV_MOVED */
		struct {
			enum ike_down_reason reason;
			uint16_t notify;	/**< the IKE notify error involved, or 0 */
			/** the identity the peer claimed (for logs), possibly unauthenticated */
			char remote_id[IKE_MAX_ID + 1];
		} down;
		struct {
			struct ike_child_info child;
			struct ike_addr local, remote;	/**< outer addresses of the tunnel */
			bool nat;			/**< a NAT was detected on the path */
		} child_up;
		struct {
			uint32_t spi_in, spi_out;
		} child_down;
	};
};

/** Counters, for `autotunnel status` and tests. */
struct ike_stats {
	uint64_t rx, rx_dropped, rx_bad, rx_auth_failed, tx, retransmits;
	uint64_t cookies_sent, sa_up, sa_down, child_up, child_down;
	uint64_t ike_rekeys, child_rekeys, collisions, mobike_updates;
	uint32_t half_open, sas;
};

#endif /* AT_IKE_TYPES_H */
