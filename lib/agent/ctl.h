/*
 * The control protocol between `autotunnel` (the CLI) and `autotunneld`,
 * spoken over a root-only UNIX stream socket (AGENT_CTL_SOCKET). One request
 * frame, one response frame. docs/agent.md describes it for people.
 *
 *     frame  = length:u32 body                  length = bytes of body, 4..65536
 *     body   = version:u8 (1) code:u8 nrec:u16 record{nrec}
 *     record = type:u8 nfield:u8 field{nfield}
 *     field  = id:u8 len:u16 value[len]
 *
 * All integers big-endian. Each record type allows a fixed set of fields,
 * each at most once, each of one kind: text (0..255 bytes of printable
 * ASCII), a u32 (4 bytes), a bool (1 byte, 0 or 1), an IPv4 (4) or IPv6
 * (16) address, or a secret (1..255 bytes, no NUL; the password of
 * `login`, never rendered). Each code allows a fixed set of record types.
 * Anything else is malformed: the parser is strict and what it accepts
 * encodes back to the same bytes.
 */
#ifndef AT_AGENT_CTL_H
#define AT_AGENT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define AGENT_CTL_SOCKET "/run/autotunnel/control"
#define AGENT_CTL_VERSION 1
#define AGENT_CTL_HDR 4			/* the length prefix */
#define AGENT_CTL_BODY_MIN 4
#define AGENT_CTL_BODY_MAX 65536
#define AGENT_CTL_FRAME_MAX (AGENT_CTL_HDR + AGENT_CTL_BODY_MAX)
#define AGENT_CTL_REC_MAX 1024		/* records in one message */
#define AGENT_CTL_STR_MAX 255
/*
 * The version of the JSON that --json prints, its first member ("schema":1):
 * raised when a member changes meaning or goes away; new members may come
 * without it (docs/autotunnel.1).
 */
#define AGENT_CTL_JSON_SCHEMA 1

/** Request codes; a successful reply carries AGENT_CTL_REPLY | request. */
enum agent_ctl_code {
	AGENT_CTL_STATUS = 1,
	AGENT_CTL_HOSTS = 2,
	AGENT_CTL_SERVICES = 3,
	AGENT_CTL_NETCHECK = 4,
	AGENT_CTL_PING = 5,
	AGENT_CTL_LOGIN = 6,
	AGENT_CTL_LOGOUT = 7,
	AGENT_CTL_APPROVE = 8,		/* a signer admits the computer showing a join code (docs/authority.md §5.1) */
	AGENT_CTL_REVOKE = 9,		/* a signer revokes a host (docs/authority.md §5.4) */
	AGENT_CTL_ISSUE = 10,		/* a signer issues a certificate and key for a guest or the local KDC */
	AGENT_CTL_RENEW = 11,		/* renew this host's certificate now (docs/authority.md §5.3) */
	AGENT_CTL_REPLY = 0x80,
	AGENT_CTL_ERROR = 0xff,		/* reply to any request: one ERROR record */
};

enum agent_ctl_rtype {
	AGENT_CTL_R_ARGS = 1,	/* request arguments */
	AGENT_CTL_R_ERROR,	/* message, errno */
	AGENT_CTL_R_ACCOUNT,	/* name, domain, server, signed_in, hosts, server_state, server_lost_since */
	AGENT_CTL_R_SELF,	/* this host: label, fqdn, ula, nat, external, port, mapping, lease_s, detail */
	AGENT_CTL_R_PEER,	/* label, fqdn, ula, state, outer, port, rtt_ms, handshake_age_s, keep, path */
	AGENT_CTL_R_HOST,	/* label, fqdn, ula, outer, port, model, os, self */
	AGENT_CTL_R_SERVICE,	/* instance, type, host, port, txt */
	AGENT_CTL_R_NET,	/* iface, mac, address, gateway, nat, mapping, external, port, lifetime_s, server, server_tls, server_error, detail,
				 * stun_server, stun, reflexive, reflexive_port, nat_mapping, nat_filtering */
	AGENT_CTL_R_PING,	/* host, ula, outer, port, rtt_ms, rtt_us, sent, received, state */
	AGENT_CTL_R_MAX_
};

enum agent_ctl_fid {
	AGENT_CTL_F_LABEL = 1,		/* text: host label H */
	AGENT_CTL_F_FQDN,		/* text: H.D */
	AGENT_CTL_F_ULA,		/* ip6 */
	AGENT_CTL_F_STATE,		/* text: "up", "idle", "connecting", "unreachable" */
	AGENT_CTL_F_OUTER,		/* ip4: the peer's published outer address */
	AGENT_CTL_F_PORT,		/* u32 (<= 65535) */
	AGENT_CTL_F_RTT_MS,		/* u32 */
	AGENT_CTL_F_HANDSHAKE_AGE_S,	/* u32: seconds since the last handshake */
	AGENT_CTL_F_KEEP,		/* bool: tunnel kept up */
	AGENT_CTL_F_NAME,		/* text: account name */
	AGENT_CTL_F_DOMAIN,		/* text: account domain D */
	AGENT_CTL_F_SERVER,		/* text: rendezvous server host[:port] */
	AGENT_CTL_F_SIGNED_IN,		/* bool */
	AGENT_CTL_F_HOSTS,		/* u32: hosts in the account */
	AGENT_CTL_F_NAT,		/* text: "none" (public), "nat", "double", "unknown" */
	AGENT_CTL_F_EXTERNAL,		/* ip4: our external address */
	AGENT_CTL_F_MAPPING,		/* text: "pcp", "nat-pmp", "upnp", "none" */
	AGENT_CTL_F_MODEL,		/* text */
	AGENT_CTL_F_OS,			/* text */
	AGENT_CTL_F_SELF,		/* bool: this host */
	AGENT_CTL_F_INSTANCE,		/* text: DNS-SD instance name */
	AGENT_CTL_F_TYPE,		/* text: "_ssh._tcp" */
	AGENT_CTL_F_HOST,		/* text: a host name (ping target, SRV target) */
	AGENT_CTL_F_TXT,		/* text: TXT strings, space-separated */
	AGENT_CTL_F_IFACE,		/* text: primary interface */
	AGENT_CTL_F_ADDRESS,		/* ip4: primary address */
	AGENT_CTL_F_GATEWAY,		/* ip4: default gateway */
	AGENT_CTL_F_LIFETIME_S,		/* u32: mapping lifetime */
	AGENT_CTL_F_SERVER_TLS,		/* bool: rendezvous server reachable over TLS */
	AGENT_CTL_F_MESSAGE,		/* text: an error for a person */
	AGENT_CTL_F_ERRNO,		/* u32: the errno behind it */
	AGENT_CTL_F_CA,			/* text: CA file for the server's certificate */
	AGENT_CTL_F_PIN,		/* text: SHA-256 pin of the server's certificate */
	AGENT_CTL_F_PASSWORD,		/* secret */
	AGENT_CTL_F_SENT,		/* u32 */
	AGENT_CTL_F_RECEIVED,		/* u32 */
	AGENT_CTL_F_SERVER_ERROR,	/* text: why the server is not reachable */
	AGENT_CTL_F_MAC,		/* text: aa:bb:cc:dd:ee:ff */
	AGENT_CTL_F_ACCOUNT,		/* text: account to sign in to */
	AGENT_CTL_F_LEASE_S,		/* u32: seconds left on our published records */
	AGENT_CTL_F_DETAIL,		/* text: an explanation for a person */
	AGENT_CTL_F_SERVER_STATE,	/* text: "connected" (LLQs up), "push" (DNS Push up), "polling" (server lost), "connecting" */
	AGENT_CTL_F_SERVER_LOST_SINCE,	/* u32: Unix seconds when the connection to the server was lost (polling) */
	AGENT_CTL_F_RTT_US,		/* u32: round trip in microseconds (rtt_ms stays for older CLIs) */
	/* netcheck: STUN from the tunnel socket (issue 11); all optional */
	AGENT_CTL_F_STUN_SERVER,	/* text: the account's STUN server HOST:PORT (_stun._udp.D SRV) */
	AGENT_CTL_F_STUN,		/* text: "answered", "no-answer", "checking", "no-server", "lookup-failed" */
	AGENT_CTL_F_REFLEXIVE,		/* ip4: our reflexive address (XOR-MAPPED-ADDRESS) */
	AGENT_CTL_F_REFLEXIVE_PORT,	/* u32 (<= 65535): its port */
	AGENT_CTL_F_NAT_MAPPING,	/* text: RFC 5780 mapping: "endpoint-independent", "address-dependent",
					 * "address-and-port-dependent", "none" (no NAT), "unknown" */
	AGENT_CTL_F_NAT_FILTERING,	/* text: RFC 5780 filtering, the same words but "none" */
	/* status: the path a peer's tunnel uses (issue 11); optional */
	AGENT_CTL_F_PATH,		/* text: "lan", "ipv6", "mapped", "public", "punched", "relay" */
	/* the account authority (issue 14, docs/authority.md); all optional */
	AGENT_CTL_F_AUTHORITY,		/* text: this host's part: "signer", "member", "joining" */
	AGENT_CTL_F_JOIN_CODE,		/* text: the join code this host shows, or the one typed for approve */
	AGENT_CTL_F_RECOVERY_KEY,	/* text: the recovery key, in the one login reply that creates the authority */
	AGENT_CTL_F_RECOVERY,		/* secret: the recovery key typed at login */
	AGENT_CTL_F_AUTH,		/* text: how a peer's tunnel authenticated: "cert", "psk" */
	AGENT_CTL_F_OUT,		/* text: the directory the agent wrote an issued certificate and key to */
	AGENT_CTL_F_PKINIT,		/* text: "client", "kdc" */
	AGENT_CTL_F_PRINCIPAL,		/* text: a Kerberos principal or realm */
	AGENT_CTL_F_KEY,		/* text: the key an issued certificate gets: "ed25519", "p256" */
	AGENT_CTL_F_RELAY,		/* text: the TURN relay: "allocated", "allocating", "lookup", "no-server", "failed" */
	AGENT_CTL_F_RELAY_SERVER,	/* text: the relay HOST:PORT (_turn._udp.D SRV) */
	AGENT_CTL_F_RELAY_TRANSPORT,	/* text: "udp", "tcp", "tls" */
	AGENT_CTL_F_RELAYED,		/* ip4: our relayed address (XOR-RELAYED-ADDRESS) */
	AGENT_CTL_F_RELAYED_PORT,	/* u32 (<= 65535): its port */
	AGENT_CTL_F_RELAY_RTT_US,	/* u32: round trip to the relay in microseconds */
	AGENT_CTL_F_VIA_RELAY,		/* bool: the peer is reached through our relay */
	/* outer IPv6 in account mode (issue 11); all optional */
	AGENT_CTL_F_OUTER6,		/* ip6: the peer's outer address when it is IPv6 (then no outer) */
	AGENT_CTL_F_ADDRESS6,		/* ip6: netcheck: a global IPv6 address of this host */
	AGENT_CTL_F_STUN6,		/* text: netcheck: the STUN server over IPv6: "answered", "no-answer",
					 * "checking", "no-address" (it has no AAAA) */
	/* status: hole punching's outcome for a peer that is not up (issue 11); optional */
	AGENT_CTL_F_NO_DIRECT,		/* bool: the last round found no direct path to the peer */
	AGENT_CTL_F_MAX_
};

/* A set of field ids: more than 64 of them, so 128 bits (GCC and Clang on 64-bit targets). */
typedef unsigned __int128 agent_ctl_mask;
#define AGENT_CTL_BIT(id) ((agent_ctl_mask)1 << (id))
_Static_assert(AGENT_CTL_F_MAX_ <= 128, "agent_ctl_mask holds 128 field ids");

/** One field of a parsed message; its value lives in the message's data. */
struct agent_ctl_field {
	uint8_t id;
	uint16_t len;
	uint32_t off;		/* into agent_ctl_msg.data; text is NUL-terminated there */
};

struct agent_ctl_rec {
	uint8_t type;
	uint8_t nfield;
	uint32_t first;		/* index of its first field in agent_ctl_msg.fld */
};

/**
 * A parsed message. It owns copies of every value (nothing points into
 * the frame it was parsed from). About 200 KiB: allocate it with
 * agent_ctl_msg_new().
 */
struct agent_ctl_msg {
	uint8_t code;
	uint16_t nrec;
	uint32_t nfld;
	uint32_t used;
	struct agent_ctl_rec rec[AGENT_CTL_REC_MAX];
	struct agent_ctl_field fld[AGENT_CTL_BODY_MAX / 3];
	uint8_t data[AGENT_CTL_BODY_MAX];
};

/** A zeroed message, or NULL when out of memory. */
struct agent_ctl_msg *agent_ctl_msg_new(void);
/** Wipe (secrets included, with OPENSSL_cleanse) and free; NULL is fine. */
void agent_ctl_msg_free(struct agent_ctl_msg *m);

/**
 * Validate the 4-byte length prefix @p hdr and store the size of the whole
 * frame (prefix included) in @p total, so that a reader knows how much to
 * read. 0 or -EBADMSG.
 */
int agent_ctl_frame_size(const uint8_t hdr[static AGENT_CTL_HDR], size_t *total)
	__attribute__((warn_unused_result));

/**
 * Parse one whole frame of exactly @p len bytes (borrowed) into @p m: the
 * grammar above, the field rules of each record type and the record rules
 * of each code. 0 or -EBADMSG; on failure @p m is wiped.
 */
int agent_ctl_parse(struct agent_ctl_msg *m, const uint8_t *frame, size_t len)
	__attribute__((warn_unused_result));

/** Builds one frame into a caller's buffer; every rule of the parser is checked here too. */
struct agent_ctl_writer {
	struct wire w;
	size_t nrec_off, nfield_off;
	uint16_t nrec;
	uint8_t nfield;
	uint8_t code, rtype;
	agent_ctl_mask seen;	/* fields of the current record */
	uint16_t count[AGENT_CTL_R_MAX_];	/* records of each type so far */
	int err;		/* sticky: -ENOSPC, -EINVAL for a rule broken */
};

void agent_ctl_write_begin(struct agent_ctl_writer *cw, uint8_t *buf, size_t len, uint8_t code);
/** Start a record of @p type; the fields that follow belong to it. */
void agent_ctl_write_rec(struct agent_ctl_writer *cw, uint8_t type);
/** Text field; NULL writes nothing. */
void agent_ctl_write_str(struct agent_ctl_writer *cw, uint8_t id, const char *s);
void agent_ctl_write_uint(struct agent_ctl_writer *cw, uint8_t id, uint32_t v);
void agent_ctl_write_bool(struct agent_ctl_writer *cw, uint8_t id, bool v);
void agent_ctl_write_ip4(struct agent_ctl_writer *cw, uint8_t id, const uint8_t a[static 4]);
void agent_ctl_write_ip6(struct agent_ctl_writer *cw, uint8_t id, const uint8_t a[static 16]);
void agent_ctl_write_secret(struct agent_ctl_writer *cw, uint8_t id, const void *p, size_t n);
/** Finish: the frame length, or the first error. */
int agent_ctl_write_end(struct agent_ctl_writer *cw) __attribute__((warn_unused_result));

/** Encode a parsed message again (canonical: the bytes it was parsed from). Length or -errno. */
int agent_ctl_encode(const struct agent_ctl_msg *m, uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/** Shorthand: a whole ERROR reply with @p message and @p err (a positive errno). */
int agent_ctl_write_error(uint8_t *buf, size_t len, const char *message, int err)
	__attribute__((warn_unused_result));

/* ---- reading a parsed message ---- */

/** The @p idx-th record of @p type, or NULL. */
const struct agent_ctl_rec *agent_ctl_find(const struct agent_ctl_msg *m, uint8_t type, size_t idx);
size_t agent_ctl_count(const struct agent_ctl_msg *m, uint8_t type);
/** Text of field @p id, or NULL when absent. */
const char *agent_ctl_str(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id);
bool agent_ctl_uint(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, uint32_t *v);
bool agent_ctl_bool(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, bool *v);
/** Address bytes (4 or 16, per the field's kind), or NULL. */
const uint8_t *agent_ctl_addr(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id);
const uint8_t *agent_ctl_secret(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, size_t *n);

/** "status", "hosts"...; NULL for an unknown request code. */
const char *agent_ctl_code_name(uint8_t code);
/** The request code for a CLI word ("status"), or 0. */
uint8_t agent_ctl_code_parse(const char *word);

/**
 * Render a reply for a person, as `autotunnel status|hosts|services|
 * netcheck|ping` print it (see docs/agent.md), into @p out (NUL-terminated).
 * Returns the length or -ENOSPC.
 */
int agent_ctl_render_text(const struct agent_ctl_msg *m, char *out, size_t len)
	__attribute__((warn_unused_result));
/**
 * Seconds east of UTC of local time at @p unix_s (struct tm's tm_gmtoff):
 * lib has no time zone, so the caller (the CLI) says what local time is.
 */
typedef long (*agent_ctl_utc_offset_fn)(int64_t unix_s);
/**
 * As agent_ctl_render_text(), with times of day (HH:MM:SS) shifted by
 * @p utc_offset; @p utc_offset NULL shows them in UTC, followed by " UTC".
 */
int agent_ctl_render_text_tz(const struct agent_ctl_msg *m, agent_ctl_utc_offset_fn utc_offset, char *out,
			     size_t len) __attribute__((warn_unused_result));
/** Render a reply as one JSON object and a newline, for `--json`. Length or -ENOSPC. Secrets are never rendered. */
int agent_ctl_render_json(const struct agent_ctl_msg *m, char *out, size_t len)
	__attribute__((warn_unused_result));

#endif
