/*
 * lib/ike internals: the instance, peers, tunnels (struct ike_sa), the IKE
 * SAs inside a tunnel (struct ike_xsa: one current, others being deleted
 * after a rekey) and child SAs.
 *
 * A tunnel keeps its sa_id, peer, addresses and child SAs across IKE SA
 * rekeys; only its struct ike_xsa changes. Messages are matched to an
 * ike_xsa by SPI.
 *
 * Types only: the functions over them are declared by the file that defines
 * them (sa.h, event.h, exchange.h, policy.h, rng.h), so that including this
 * header makes no file depend on another.
 */
#ifndef AT_IKE_INT_H
#define AT_IKE_INT_H

#include "ike/cert.h"
#include "ike/crypto.h"
#include "ike/msg.h"
#include "ike/rng.h"
#include "ike/types.h"

#define NONCE_LEN 32
#define IKE_MAX_CHILD 6
#define IKE_MAX_XSA 4
#define REPLACED_GRACE_MS 30000		/* a child/IKE SA the peer should delete is dropped after this */
#define KE_RETRIES 2
#define COOKIE_RETRIES 3

struct ike_peer {
	struct ike_peer *next;
	char name[IKE_MAX_NAME + 1];
	char local_id[IKE_MAX_ID + 1], remote_id[IKE_MAX_ID + 1];
	bool wildcard;			/* remote_id is "*.suffix" */
	uint8_t psk[IKE_MAX_PSK];
	size_t psk_len;
	struct ike_cred *cred;		/* certificate authentication (RFC 7427), or NULL: PSK */
	int (*cert_policy)(void *arg, const uint8_t *der, size_t len, const char *id);	/* ike_peer_conf */
	void *cert_policy_arg;
	struct ike_addr remote, local;
	struct ike_ts local_ts, remote_ts;
	uint16_t dh[IKE_MAX_DH_GROUPS];
	unsigned ndh;
	unsigned esp_algs, prf_algs, encr_algs;
	bool esn, pfs, mobike;
	uint32_t ike_life_s, child_life_s, dpd_s;
	uint32_t spis_in[IKE_MAX_SPIS_IN];	/* inbound SPIs to use (RSIP), in turn */
	unsigned n_spis_in, next_spi_in;
};

enum req_kind {
	RQ_NONE = 0,
	RQ_INIT,
	RQ_AUTH,
	RQ_CHILD_REKEY,
	RQ_IKE_REKEY,
	RQ_DELETE_CHILD,
	RQ_DELETE_IKE,
	RQ_DPD,
	RQ_MOBIKE,
	RQ_ADDRS,
};

/* The one request in flight on an IKE SA (window size 1, RFC 7296 §2.3). */
struct ike_req {
	enum req_kind kind;
	uint32_t mid;
	uint8_t *msg;
	size_t len;
	unsigned tries;
	uint64_t deadline;
	bool fire_and_forget;		/* not retransmitted, the SA goes on without an answer */
	/* CREATE_CHILD_SA in flight */
	struct ike_dh dh;
	uint16_t group;
	unsigned ke_retries;
	uint8_t nonce[NONCE_LEN];
	uint32_t child_old;		/* spi_in of the child SA rekeyed or deleted */
	uint32_t child_new;		/* our new inbound SPI */
	uint64_t new_spi;		/* IKE rekey: our new IKE SPI */
};

/* One IKE SA: SPIs, keys, message IDs. */
struct ike_xsa {
	bool used;
	bool initiator;			/* we initiated this IKE SA (the I flag is ours) */
	bool dying;			/* replaced: deleted by us (req) or by the peer (expire) */
	bool peer_created;		/* made by a rekey the peer initiated */
	uint64_t spi_i, spi_r;
	uint16_t prf, encr, integ, dh_group;
	unsigned keylen;
	struct ike_keys k;
	uint32_t mid_out, mid_in;	/* our next request; the peer's next request */
	struct ike_req req;
	uint8_t *resp;			/* our last response, resent on a retransmitted request */
	size_t resp_len;
	uint32_t resp_mid;
	uint64_t expire;		/* dying: freed at this time */
	uint8_t nmin[256];		/* rekey: the lowest nonce of the exchange that made it (§2.8.2) */
	size_t nmin_len;
};

enum child_state { CH_UP = 1, CH_REPLACED, CH_DELETING };

struct ike_child {
	bool used;
	enum child_state state;
	uint32_t spi_in, spi_out;
	uint16_t encr;			/* ESP transform ID */
	enum ike_esp_alg alg;
	bool esn;
	uint8_t key_in[64], key_out[64];	/* keymat of one direction (policy.c's esp_xfs) */
	struct ike_ts ts_l, ts_r;
	uint64_t rekey_at;
	uint64_t expire;		/* CH_REPLACED by the peer's rekey: deleted by us at this time */
	bool want_rekey, want_delete;
	uint32_t rekeyed_from;		/* spi_in of the child this one replaced */
	bool peer_created;
	uint8_t nmin[256];		/* the lowest nonce of the exchange that made it (§2.8.1) */
	size_t nmin_len;
};

enum sa_state {
	ST_INIT_SENT = 1,	/* initiator: IKE_SA_INIT sent */
	ST_AUTH_SENT,		/* initiator: IKE_AUTH sent */
	ST_HALF_OPEN,		/* responder: IKE_SA_INIT answered, waiting for IKE_AUTH */
	ST_ESTABLISHED,
	ST_CLOSING,		/* our Delete of the IKE SA is in flight */
	ST_DEAD,		/* reported down; freed at the end of the call */
};

/* pending tasks (struct ike_sa.pending) */
#define P_CLOSE 0x01
#define P_MOBIKE 0x02
#define P_IKE_REKEY 0x04
#define P_DPD 0x08
#define P_ADDRS 0x10	/* tell the peer our new list of additional addresses (RFC 4555 §3.6) */

/* A tunnel with one peer. */
struct ike_sa {
	struct ike_sa *next;
	uint32_t id;
	enum sa_state state;
	struct ike_peer *peer;		/* NULL for a responder before IKE_AUTH */
	char remote_id[IKE_MAX_ID + 1];
	bool initiator;			/* original initiator (MOBIKE decisions, RFC 4555 §3.1) */
	struct ike_addr local, remote;
	bool nat_local, nat_remote, mobike, peer_mobike;
	struct ike_addr peer_addrs[IKE_MAX_ADDRS];	/* RFC 4555 §3.4: the peer's additional addresses */
	unsigned n_peer_addrs;
	unsigned peer_hashes;		/* RFC 7427 §4: 1u << the hashes the peer's SIGNATURE_HASH_ALGORITHMS named */
	unsigned pending;
	struct ike_xsa x[IKE_MAX_XSA];
	int cur;			/* index of the current IKE SA in x[] */
	struct ike_child child[IKE_MAX_CHILD];
	/* IKE_SA_INIT and IKE_AUTH state */
	struct ike_dh dh;
	uint8_t ni[256], nr[256];
	size_t ni_len, nr_len;
	uint8_t *init_req, *init_resp;	/* the IKE_SA_INIT messages AUTH signs */
	size_t init_req_len, init_resp_len;
	uint8_t cookie[64];
	size_t cookie_len;
	unsigned cookie_tries, ke_tries;
	uint32_t first_spi_in;		/* the first child's inbound SPI, chosen before IKE_AUTH */
	/* times */
	uint64_t created_ms, established_ms, last_heard_ms;
	uint64_t half_open_expire, rekey_at, dpd_at;
	enum ike_down_reason down_reason;	/* why we close it (P_CLOSE) */
	uint16_t down_notify;
	bool reported;			/* SA_DOWN already told to the daemon */
};

struct ike_evq {
	struct ike_event ev;
	uint8_t *data;			/* IKE_EV_SEND: owned copy of the message */
	struct ike_evq *next;
};

struct ike {
	struct ike_conf conf;
	struct ike_rng rng;		/* the daemon's random source (ike_new) */
	struct ike_peer *peers;
	struct ike_sa *sas;
	uint32_t next_id;
	struct ike_evq *evq_head, *evq_tail;
	uint8_t *polled;		/* data of the event last returned by ike_poll */
	uint8_t cookie_secret[32], cookie_prev[32];
	uint8_t cookie_ver;
	uint64_t cookie_rotate_at;
	struct ike_addr addrs[IKE_MAX_ADDRS];	/* ours, announced as additional addresses (ike_set_addrs) */
	unsigned n_addrs;
	struct ike_stats st;
};

#endif /* AT_IKE_INT_H */
