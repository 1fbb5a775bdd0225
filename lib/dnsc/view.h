/*
 * lib/dnsc/view.h: what the agent knows of its account's hosts, built from
 * DNS answers (RFC 6281 §5.3, Figure 3; docs/design.md §4):
 *
 *     _autotunnel._udp.D        PTR  H.D             the host list
 *     H.D                       AAAA ULA             the peer's inner address
 *     _autotunnel._udp.H.D      SRV  0 0 port T      where its tunnel endpoint is
 *     T (AutoTunnel-E.D)        A    outer IPv4      ... and its address
 *     T                         TXT  v=1 model= os=  device information
 *
 * Answers come in two forms. A snapshot (the answer to a query, or the
 * answers of an LLQ setup) holds the whole RRset of its question: what was
 * known of that RRset is replaced. An event (RFC 8764 §6.1) holds changes:
 * an RR with TTL 0xFFFFFFFF is removed, any other is added.
 *
 * The view then tells what changed for the agent, one peer at a time
 * (dnsc_view_next_change()): a peer that appeared or moved (new ULA, outer
 * address or port), or one that is gone (its PTR removed, e.g. when its
 * lease expired). This host's own name is listed but never reported.
 *
 * Every name and rdata is checked before it is used; records that do not
 * belong to the account domain D, or do not have the expected form, are
 * ignored. No I/O.
 */
#ifndef AT_DNSC_VIEW_H
#define AT_DNSC_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cand.h"
#include "agent/name.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dnsc/llq.h"

/** Hosts one account may have in the view. */
#define DNSC_VIEW_HOSTS 160
/** TTL that marks a removed RR in an LLQ event (RFC 8764 §6.1). */
#define DNSC_TTL_REMOVED 0xffffffffu

/**
 * A watched TXT RRset whose contents the view does not read (the account
 * authority's signed records, docs/authority.md §7): it only tells that it
 * changed, and its owner reads the RRset itself.
 */
struct dnsc_note {
	bool used;
	bool changed;			/**< changed since dnsc_view_next_note() gave it out */
	bool known;			/**< digest holds the RRset as a snapshot last showed it */
	uint64_t digest;		/**< XOR of a hash of each RDATA: the same set, the same digest */
	uint64_t acc;			/**< the digest of the snapshot being applied */
	struct dns_name name;
};

struct dnsc_host {
	bool used;
	bool self;			/**< this host */
	bool listed;			/**< its PTR is in _autotunnel._udp.D */
	struct dns_name fqdn;		/**< H.D */
	char name[AGENT_NAME_MAX + 1];	/**< H.D in text, lower case, no trailing dot */
	char label[AGENT_LABEL_MAX + 1];	/**< H */
	bool has_ula;
	uint8_t ula[16];
	bool has_srv;
	uint16_t port;
	bool relayed;			/**< the SRV's priority says a relayed location (AGENT_SRV_PRIO_RELAYED) */
	struct dns_name target;		/**< SRV target: AutoTunnel-E.D */
	bool has_a;
	uint8_t a[4];
	char model[64], os[64];		/**< from the target's TXT, "" when unknown */
	bool has_cand;			/**< its _cand.H.D TXT (docs/paths.md §1.1) */
	struct agent_cand_set cand;
	bool txt_asked;			/**< dnsc_view_extra_questions() gave its TXT question */
	struct dnsc_note renew;		/**< its _renew.H.D (watch_renew) */
	/* what was last reported through dnsc_view_next_change() */
	bool reported;
	uint8_t rep_ula[16];
	bool rep_outer;
	uint8_t rep_a[4];
	uint16_t rep_port;
	bool rep_relayed;
	bool rep_cand;
	uint32_t rep_gen;
};

/** Punch requests remembered from this host's _punch.H.D (docs/paths.md §1.3). */
#define DNSC_VIEW_PUNCH_MAX 8

/** TXT names watched as notes (dnsc_view_notes_set()). */
#define DNSC_VIEW_NOTE_MAX 8

struct dnsc_punch_req {
	bool used;
	bool reported;			/**< given out by dnsc_view_next_punch() */
	struct agent_punch p;
};

struct dnsc_view {
	struct dns_name domain;		/**< D */
	struct dns_name hosts_name;	/**< _autotunnel._udp.D */
	struct dns_name self;		/**< this host's H.D (root when none) */
	uint32_t applied;		/**< records applied so far (for tests and status) */
	/**
	 * Also watch this host's own AAAA (set after dnsc_view_init()): the
	 * host sees another computer put its address on H.D.
	 */
	bool watch_self;
	/**
	 * Also watch each peer's candidates (_cand.H.D TXT) and this host's
	 * punch requests (_punch.H.D TXT, needs a self label), issue 11.
	 */
	bool watch_paths;
	struct dns_name punch_name;	/**< _punch.H.D (root when none) */
	struct dnsc_punch_req punch[DNSC_VIEW_PUNCH_MAX];
	/**
	 * Also watch each listed peer's _renew.H.D TXT as a note (a signer of
	 * the account authority answers renewal requests, docs/authority.md §5.3).
	 */
	bool watch_renew;
	struct dnsc_note note[DNSC_VIEW_NOTE_MAX];	/**< set with dnsc_view_notes_set() */
	struct dnsc_host h[DNSC_VIEW_HOSTS];
};

/**
 * Start an empty view of domain @p domain (text, e.g.
 * "alice.members.example.net") for the host @p self_label (H; NULL for none).
 * @return 0 or -EINVAL.
 */
__attribute__((warn_unused_result))
int dnsc_view_init(struct dnsc_view *v, const char *domain, const char *self_label);

enum dnsc_apply {
	DNSC_APPLY_SNAPSHOT,	/**< the answer section is the whole RRset of the question */
	DNSC_APPLY_EVENT,	/**< the answer section holds changes (LLQ event) */
};

/**
 * Apply a parsed response (its question, answer section, and for SRV
 * answers the target addresses of the additional section).
 * @return 0 (records that do not concern the view are ignored), or
 *         -EBADMSG when the message cannot be read.
 */
__attribute__((warn_unused_result))
int dnsc_view_apply(struct dnsc_view *v, const struct dns_msg *m, enum dnsc_apply mode);

/**
 * Apply one record given on its own (a DNS Push change notification,
 * RFC 8765 §6.3.1): @p owner, @p type, @p rclass and @p rdata (borrowed,
 * uncompressed) as an addition, or as the removal of that one RR when
 * @p removal. Records that do not concern the view are ignored.
 */
void dnsc_view_apply_rr(struct dnsc_view *v, const struct dns_name *owner, uint16_t type, uint16_t rclass,
			const uint8_t *rdata, uint16_t rdlen, bool removal);

/**
 * Forget what is known of the RRset (@p owner, @p type), or of every type
 * at @p owner when @p type is DNS_TYPE_ANY (a collective removal, RFC 8765
 * §6.3.1).
 */
void dnsc_view_remove_rrset(struct dnsc_view *v, const struct dns_name *owner, uint16_t type);

/** A peer as the agent is told about it. */
struct dnsc_peer {
	char label[AGENT_LABEL_MAX + 1];	/**< H */
	char fqdn[AGENT_NAME_MAX + 1];		/**< H.D */
	uint8_t ula[16];
	bool has_outer;		/**< the SRV and the target's A are known */
	uint8_t outer4[4];
	uint16_t port;
	bool relayed;		/**< the location is a relayed address (docs/relay.md) */
	bool has_cand;		/**< its candidates are known (watch_paths) */
	struct agent_cand_set cand;
};

enum dnsc_change {
	DNSC_CHANGE_NONE = 0,
	DNSC_CHANGE_UPDATE,	/**< a peer appeared, or its ULA, outer address or port changed */
	DNSC_CHANGE_GONE,	/**< a peer reported before is no longer listed */
};

/**
 * The next change to report, marked as reported: call until it returns
 * DNSC_CHANGE_NONE. A host that is no longer listed is forgotten once its
 * removal has been reported. A listed peer is reported once its ULA is
 * known; its outer address and port come with it when SRV and A are known.
 */
enum dnsc_change dnsc_view_next_change(struct dnsc_view *v, struct dnsc_peer *p);

/**
 * The questions to keep watched (Figure 3 of RFC 6281): the host list, and
 * for every listed peer its AAAA, its SRV and, once the SRV names a target,
 * the target's A; with watch_self, this host's own AAAA too; with
 * watch_paths, every listed peer's _cand.H.D TXT and this host's
 * _punch.H.D TXT; the notes (dnsc_view_notes_set()); with watch_renew,
 * every listed peer's _renew.H.D TXT. Writes at most @p cap and returns
 * how many there are.
 */
size_t dnsc_view_questions(const struct dnsc_view *v, struct dnsc_question *out, size_t cap);

/**
 * The address the server holds at this host's H.D, as the view knows it
 * (with watch_self): 1 with @p ula set (the last one added), 0 when none.
 */
int dnsc_view_self_ula(const struct dnsc_view *v, uint8_t ula[static 16]);

/**
 * The questions to ask once about a host that is new to the view and that
 * LLQs do not cover (its target's TXT: model and OS), same convention;
 * each is given once (those written are marked as asked).
 */
size_t dnsc_view_extra_questions(struct dnsc_view *v, struct dnsc_question *out, size_t cap);

/**
 * The next punch request for this host not given out yet (watch_paths),
 * marked as given: 1 with @p out set, 0 when none. A request stays
 * remembered (by its nonce) until its RR is removed, so it is given once.
 */
int dnsc_view_next_punch(struct dnsc_view *v, struct agent_punch *out);

/**
 * Watch exactly the TXT RRsets @p names (borrowed for the call; below D)
 * as notes: what is known of a name kept in the set stays, a new one is
 * unknown until its first snapshot. @return 0, or -ENOSPC for more than
 * DNSC_VIEW_NOTE_MAX (none is then changed), -EINVAL for a name not below D.
 */
__attribute__((warn_unused_result))
int dnsc_view_notes_set(struct dnsc_view *v, const struct dns_name *names, size_t n);

/**
 * The next note (a name set with dnsc_view_notes_set(), or a peer's
 * _renew.H.D with watch_renew) whose RRset changed: an event or a removal
 * touched it, or a snapshot shows another set of RDATAs than the last one
 * (the first snapshot counts as a change). 1 with @p out set, the note then
 * unmarked; 0 when none.
 */
int dnsc_view_next_note(struct dnsc_view *v, struct dns_name *out);

/** Listed hosts, this one included. */
unsigned dnsc_view_count(const struct dnsc_view *v);

#endif /* AT_DNSC_VIEW_H */
