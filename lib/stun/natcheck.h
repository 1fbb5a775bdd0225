/*
 * lib/stun: NAT behaviour discovery (RFC 5780 §4) as a pure state machine:
 * no sockets, no clock, no globals. The caller owns the socket (for the
 * agent, the UDP 4500 socket ESP and IKE use, so that what is learnt is
 * what the tunnel gets) and the monotonic clock; it feeds in the STUN
 * messages that arrive, with their source address and the time in
 * milliseconds, and carries out what comes back in a struct
 * stun_natcheck_out: Binding requests to send, and the next deadline at
 * which stun_natcheck_on_timeout() must be called. When out->done is set,
 * the result is final.
 *
 * The tests, in three rounds; the requests of a round go out together:
 *  1. Test I (§4.3): a Binding request to the server's primary address.
 *     Its XOR-MAPPED-ADDRESS is the reflexive address; its OTHER-ADDRESS
 *     (§7.4) the server's alternate address and port. No answer: the
 *     server is unreachable over UDP and the check ends. No OTHER-ADDRESS:
 *     the server cannot tell behaviour and the check ends with the
 *     reflexive address only. A reflexive address equal to the local one
 *     (when the caller knows it) means no NAT: mapping "none".
 *  2. Filtering (§4.4): test II, CHANGE-REQUEST "change IP and port", and
 *     test III, "change port", both to the primary address. An answer to
 *     II (from the alternate address and port) means endpoint-independent
 *     filtering; else an answer to III (from the primary address and the
 *     alternate port) address-dependent; else address-and-port-dependent.
 *     A server that answers from the address it was sent to has ignored
 *     CHANGE-REQUEST (as an error response to it says outright): filtering
 *     unknown. This round comes before anything is sent to the alternate
 *     address, which would open the NAT's filter to it. (A NAT that still
 *     holds a filter entry from a check less than its UDP timeout ago can
 *     look more open than it is.)
 *  3. Mapping (§4.3): test II, Binding to the alternate address and the
 *     primary port, and test III, to the alternate address and port. The
 *     same reflexive address as test I's means endpoint-independent
 *     mapping; else test III's equal to test II's address-dependent; else
 *     address-and-port-dependent. No answer to II: unknown.
 *
 * With cfg.binding_only the check ends after test I: a quick look at the
 * reflexive address and the server's reachability that sends nothing to
 * the alternate address. (Repeating the filtering tests soon after a check
 * would see the filter entries its mapping tests opened.)
 *
 * Retransmission (RFC 8489 §6.2.1) per request: RTO doubled at each send,
 * cfg.rc sends, then cfg.rm RTOs of waiting. The defaults are fewer than
 * RFC 8489's Rc 7 and Rm 16 (39.5 s): a netcheck's filtering round always
 * waits a request out behind most NATs, so sends at 0, 0.5 and 1.5 s and
 * failure at 3.5 s keep a whole check near 10 s at worst; STUN losses on
 * a path that answered test I are rare. cfg.budget_ms bounds the whole
 * check: when it passes, the check ends with what is known.
 *
 * Responses are matched by transaction id (fresh and random for every
 * request, from the caller's random function; retransmissions keep it).
 * Anything else (not STUN, not a Binding response, an unknown transaction,
 * a source the request could not have been answered from) is refused and
 * changes nothing.
 *
 * One struct stun_natcheck per check; one thread uses it.
 */
#ifndef AT_STUN_NATCHECK_H
#define AT_STUN_NATCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_NATCHECK_NEVER		UINT64_MAX
#define STUN_NATCHECK_MAX_TX		2	/* requests per round */
#define STUN_NATCHECK_MAX_PKT		64	/* Binding + CHANGE-REQUEST + FINGERPRINT: 36 */

#define STUN_NATCHECK_DEFAULT_RTO_MS	500	/* RFC 8489 §6.2.1 */
#define STUN_NATCHECK_DEFAULT_RC	3
#define STUN_NATCHECK_DEFAULT_RM	4
#define STUN_NATCHECK_DEFAULT_BUDGET_MS	15000

struct stun_natcheck_config {
	uint32_t rto_ms;	/* first retransmission timeout */
	unsigned rc;		/* sends per request (>= 1) */
	unsigned rm;		/* RTOs waited after the last send */
	uint32_t budget_ms;	/* the whole check; 0 = no bound */
	bool binding_only;	/* test I only: reachability and the reflexive address */
};

/** Mapping or filtering behaviour (RFC 5780 §4.3, §4.4). */
enum stun_nat_behavior {
	STUN_NAT_UNKNOWN = 0,		/* not found out (no answer, no RFC 5780 server) */
	STUN_NAT_NONE,			/* mapping: no NAT, the reflexive address is ours */
	STUN_NAT_ENDPOINT_INDEPENDENT,
	STUN_NAT_ADDRESS_DEPENDENT,
	STUN_NAT_ADDRESS_PORT_DEPENDENT,
};

/** RFC 5780's words for @p b ("endpoint-independent", ...; "unknown", "none"). */
const char *stun_nat_behavior_str(enum stun_nat_behavior b);

struct stun_natcheck_result {
	bool reachable;				/* test I was answered */
	bool rfc5780;				/* ... with an OTHER-ADDRESS */
	struct sockaddr_storage reflexive;	/* test I's XOR-MAPPED-ADDRESS; family 0 if none */
	struct sockaddr_storage other;		/* OTHER-ADDRESS; family 0 if none */
	enum stun_nat_behavior mapping;
	enum stun_nat_behavior filtering;
	bool timed_out;				/* the budget ended the check */
};

/**
 * Fills @p buf with @p len random bytes (transaction ids: RFC 8489 §6
 * wants them cryptographically random). @p arg is the caller's.
 */
typedef void stun_natcheck_random_fn(void *arg, void *buf, size_t len);

/** One request to send. */
struct stun_natcheck_send {
	struct sockaddr_storage to;
	size_t len;
	uint8_t buf[STUN_NATCHECK_MAX_PKT];
};

/** What one call asks of the caller. Reset by every call that takes one. */
struct stun_natcheck_out {
	unsigned n_sends;
	struct stun_natcheck_send sends[STUN_NATCHECK_MAX_TX];
	uint64_t deadline;	/* call stun_natcheck_on_timeout() then; NEVER when done */
	bool done;		/* the result is final (set once, by the call that finished) */
};

/* Private: one request under way. */
struct stun_natcheck_tx {
	uint8_t state;			/* private: 0 free, pending, answered, failed */
	uint8_t test;			/* which test (private enumeration) */
	uint8_t change;			/* CHANGE-REQUEST flags, 0 for none */
	uint8_t tid[12];
	unsigned sends;			/* made so far */
	uint64_t next;			/* next send, or failure after the last */
	uint32_t rto;			/* current */
	struct sockaddr_storage to;
	struct sockaddr_storage expect;	/* where the answer must come from */
	struct sockaddr_storage mapped;	/* the answer's XOR-MAPPED-ADDRESS */
	bool ignored_change;		/* answered from @to despite CHANGE-REQUEST, or refused it */
};

struct stun_natcheck {
	struct stun_natcheck_config cfg;
	stun_natcheck_random_fn *rnd;
	void *rnd_arg;
	struct sockaddr_storage server;
	struct sockaddr_storage local;		/* family 0 if the caller does not know it */
	uint8_t round;				/* private: 0 idle, 1..3, 4 done */
	uint64_t started;
	struct stun_natcheck_tx tx[STUN_NATCHECK_MAX_TX];
	struct stun_natcheck_result result;
};

/** Fill @p cfg with the defaults above. */
void stun_natcheck_config_default(struct stun_natcheck_config *cfg);

/**
 * Start a check against the STUN server @p server (borrowed; IPv4 or
 * IPv6). @p local (borrowed, may be NULL) is the socket's own address if
 * the caller knows it, to recognise a host with no NAT; @p cfg NULL means
 * the defaults. Test I's request is in @p out. A check may be started
 * again at any time: what the previous one had is forgotten.
 * Returns 0, or -EINVAL (no random function, an unsupported family, rc 0).
 */
int stun_natcheck_start(struct stun_natcheck *nc, const struct stun_natcheck_config *cfg,
			const struct sockaddr *server, const struct sockaddr *local,
			stun_natcheck_random_fn *rnd, void *rnd_arg, uint64_t now,
			struct stun_natcheck_out *out) __attribute__((warn_unused_result));

/**
 * A datagram of @p len bytes at @p buf (borrowed) from @p from (borrowed)
 * arrived at @p now. Returns 0 if it answered one of our requests (out
 * says what next), -ENOENT if it is no response to a request under way
 * (or the check is not running), -EBADMSG if it is no valid STUN message,
 * -EPERM if it came from a source the request could not be answered from.
 * Only 0 changes anything, @p out included (it is filled only then).
 */
int stun_natcheck_on_input(struct stun_natcheck *nc, const void *buf, size_t len,
			   const struct sockaddr *from, uint64_t now, struct stun_natcheck_out *out)
	__attribute__((warn_unused_result));

/** The deadline came: retransmit, give up on requests, move on. */
void stun_natcheck_on_timeout(struct stun_natcheck *nc, uint64_t now, struct stun_natcheck_out *out);

/** True while a check runs (started and not done). */
bool stun_natcheck_running(const struct stun_natcheck *nc);

/** The result so far (final once out->done was set). Borrowed from @p nc. */
const struct stun_natcheck_result *stun_natcheck_result(const struct stun_natcheck *nc);

#endif
