/* lib/dnsc/view.c: the account's hosts as DNS answers describe them (see view.h). */
#include <errno.h>
#include <string.h>

#include "dnsc/msg.h"
#include "dnsc/view.h"

#include "agent/records.h"

static int label_name(struct dns_name *n, const char *l1, const char *l2, const struct dns_name *base)
{
	*n = *base;
	if (dns_name_prepend_label(n, l2, strlen(l2)) || dns_name_prepend_label(n, l1, strlen(l1)))
		return -EINVAL;
	return 0;
}

int dnsc_view_init(struct dnsc_view *v, const char *domain, const char *self_label)
{
	memset(v, 0, sizeof(*v));
	if (!domain || agent_name_check(domain) || dns_name_from_text(&v->domain, domain) ||
	    dns_name_label_count(&v->domain) < 2)
		return -EINVAL;
	dns_name_canonicalize(&v->domain);
	if (label_name(&v->hosts_name, "_autotunnel", "_udp", &v->domain))
		return -EINVAL;
	dns_name_set_root(&v->self);
	dns_name_set_root(&v->punch_name);
	if (self_label) {
		if (agent_label_check(self_label, strlen(self_label)))
			return -EINVAL;
		v->self = v->domain;
		if (dns_name_prepend_label(&v->self, self_label, strlen(self_label)))
			return -EINVAL;
		v->punch_name = v->self;
		if (dns_name_prepend_label(&v->punch_name, "_punch", 6))
			return -EINVAL;
	}
	return 0;
}

/* Is @p n exactly one label below D, that label a valid host label? Sets the label text. */
static bool host_name(const struct dnsc_view *v, const struct dns_name *n, char label[static AGENT_LABEL_MAX + 1])
{
	const uint8_t *l;
	size_t len;

	if (dns_name_label_count(n) != dns_name_label_count(&v->domain) + 1 ||
	    !dns_name_is_below(n, &v->domain))
		return false;
	len = dns_name_first_label(n, &l);
	if (len == 0 || len > AGENT_LABEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		label[i] = (char)((l[i] >= 'A' && l[i] <= 'Z') ? l[i] - 'A' + 'a' : l[i]);
	label[len] = '\0';
	/* a name of the tunnel endpoint is not a host (records.c refuses such labels) */
	if (agent_label_check(label, len) || strncmp(label, "autotunnel-", 11) == 0)
		return false;
	return true;
}

static struct dnsc_host *find_host(struct dnsc_view *v, const struct dns_name *fqdn)
{
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++)
		if (v->h[i].used && dns_name_equal(&v->h[i].fqdn, fqdn))
			return &v->h[i];
	return NULL;
}

static struct dnsc_host *add_host(struct dnsc_view *v, const struct dns_name *fqdn, const char *label)
{
	struct dnsc_host *h = find_host(v, fqdn);
	char text[DNS_NAME_TEXT_MAX];
	int n;

	if (h)
		return h;
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		if (v->h[i].used)
			continue;
		h = &v->h[i];
		memset(h, 0, sizeof(*h));
		h->used = true;
		h->fqdn = *fqdn;
		dns_name_canonicalize(&h->fqdn);
		n = dns_name_to_text(&h->fqdn, text, sizeof(text));
		if (n < 2 || (size_t)n - 1 > AGENT_NAME_MAX) {
			h->used = false;
			return NULL;
		}
		memcpy(h->name, text, (size_t)n - 1);	/* without the trailing dot */
		h->name[n - 1] = '\0';
		strcpy(h->label, label);
		h->self = dns_name_equal(fqdn, &v->self);
		dns_name_set_root(&h->target);
		return h;
	}
	return NULL;	/* full: the host is not watched (and not reported) */
}

/* _autotunnel._udp.H.D -> the host H.D */
static struct dnsc_host *srv_host(struct dnsc_view *v, const struct dns_name *owner)
{
	struct dns_name n = *owner, t;
	char label[AGENT_LABEL_MAX + 1];

	if (dns_name_label_count(&n) != dns_name_label_count(&v->domain) + 3)
		return NULL;
	if (dns_name_strip(&n, 2) || !host_name(v, &n, label))
		return NULL;
	if (label_name(&t, "_autotunnel", "_udp", &n) || !dns_name_equal(&t, owner))
		return NULL;
	return find_host(v, &n);
}

/* _cand.H.D -> the host H.D */
static struct dnsc_host *cand_host(struct dnsc_view *v, const struct dns_name *owner)
{
	struct dns_name n = *owner, t;
	char label[AGENT_LABEL_MAX + 1];

	if (dns_name_label_count(&n) != dns_name_label_count(&v->domain) + 2)
		return NULL;
	if (dns_name_strip(&n, 1) || !host_name(v, &n, label))
		return NULL;
	t = n;
	if (dns_name_prepend_label(&t, "_cand", 5) || !dns_name_equal(&t, owner))
		return NULL;
	return find_host(v, &n);
}

/* A _cand.H.D TXT RR (docs/paths.md §1.2): kept unless older than the set held (RFC 1982 order). */
static void cand_apply(struct dnsc_host *h, const struct dnsc_rr *rr, bool removal)
{
	struct agent_cand_set s;
	struct wire w = rr->rdata;
	size_t len = wire_avail(&w);
	const uint8_t *rd = wire_read_ref(&w, len);

	if (!rd || agent_cand_set_parse(rd, len, &s))
		return;	/* not a record of ours, or of a later version: the peer is reached as before */
	if (removal) {
		if (h->has_cand && h->cand.gen == s.gen)
			h->has_cand = false;
		return;
	}
	if (h->has_cand && agent_cand_gen_newer(h->cand.gen, s.gen))
		return;
	h->cand = s;
	h->has_cand = true;
}

/* A _punch.H.D TXT RR for this host: remembered by its nonce, given out once. */
static void punch_apply(struct dnsc_view *v, const struct dnsc_rr *rr, bool removal)
{
	struct agent_punch p;
	struct wire w = rr->rdata;
	size_t len = wire_avail(&w);
	const uint8_t *rd = wire_read_ref(&w, len);
	struct dnsc_punch_req *slot = NULL;

	if (!rd || agent_punch_parse(rd, len, &p))
		return;
	for (unsigned i = 0; i < DNSC_VIEW_PUNCH_MAX; i++) {
		struct dnsc_punch_req *q = &v->punch[i];

		if (q->used && !memcmp(q->p.nonce, p.nonce, AGENT_PUNCH_NONCE_LEN)) {
			if (removal)
				memset(q, 0, sizeof(*q));
			return;
		}
		if (!q->used && !slot)
			slot = q;
	}
	if (removal)
		return;
	if (!slot) {
		/* full: the oldest request gives way (requests are short-lived) */
		slot = &v->punch[0];
		for (unsigned i = 1; i < DNSC_VIEW_PUNCH_MAX; i++)
			if (v->punch[i].p.t < slot->p.t)
				slot = &v->punch[i];
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->p = p;
}

static void txt_info(struct dnsc_host *h, struct wire *rd)
{
	const uint8_t *s;
	uint8_t len;

	h->model[0] = h->os[0] = '\0';
	while (dns_rdata_txt_next(rd, &s, &len) == 1) {
		char *dst = NULL;
		size_t skip = 0;

		if (len > 6 && memcmp(s, "model=", 6) == 0) {
			dst = h->model;
			skip = 6;
		} else if (len > 3 && memcmp(s, "os=", 3) == 0) {
			dst = h->os;
			skip = 3;
		}
		if (!dst)
			continue;
		size_t n = 0;

		/* printable ASCII only: this text reaches a terminal */
		for (size_t i = skip; i < len && n < 63; i++)
			dst[n++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
		dst[n] = '\0';
	}
}

/* _renew.H.D -> the listed peer H.D (watch_renew) */
static struct dnsc_host *renew_host(struct dnsc_view *v, const struct dns_name *owner)
{
	struct dns_name n = *owner, t;
	char label[AGENT_LABEL_MAX + 1];
	struct dnsc_host *h;

	if (dns_name_label_count(&n) != dns_name_label_count(&v->domain) + 2)
		return NULL;
	if (dns_name_strip(&n, 1) || !host_name(v, &n, label))
		return NULL;
	t = n;
	if (dns_name_prepend_label(&t, "_renew", 6) || !dns_name_equal(&t, owner))
		return NULL;
	h = find_host(v, &n);
	return h && h->listed && !h->self ? h : NULL;
}

/* The note watched at @p owner, or NULL. */
static struct dnsc_note *note_of(struct dnsc_view *v, const struct dns_name *owner)
{
	struct dnsc_host *h;

	for (unsigned i = 0; i < DNSC_VIEW_NOTE_MAX; i++)
		if (v->note[i].used && dns_name_equal(&v->note[i].name, owner))
			return &v->note[i];
	if (v->watch_renew && (h = renew_host(v, owner))) {
		if (!h->renew.used) {
			h->renew.used = true;
			h->renew.name = *owner;
			dns_name_canonicalize(&h->renew.name);
		}
		return &h->renew;
	}
	return NULL;
}

/* FNV-1a (64 bits) of one RDATA: a set's digest is the XOR of its members', whatever their order. */
static uint64_t rdata_hash(const struct wire *rd)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (const uint8_t *p = rd->pos; p < rd->end; p++)
		x = (x ^ *p) * 0x100000001b3ull;
	return x;
}

/* Inside a snapshot an RR adds to the digest; an event (or a Push change) is a change in itself. */
static void note_rr(struct dnsc_note *nt, const struct dnsc_rr *rr, bool snapshot)
{
	if (snapshot) {
		nt->acc ^= rdata_hash(&rr->rdata);
		return;
	}
	nt->changed = true;
	nt->known = false;	/* the next snapshot is compared with nothing */
}

/* Apply one RR: an addition (snapshot, or event with a real TTL), or a removal. */
static void apply_rr(struct dnsc_view *v, struct dnsc_rr *rr, bool removal, bool snapshot)
{
	char label[AGENT_LABEL_MAX + 1];
	struct dnsc_host *h;
	struct dns_name n;
	struct dns_srv srv;
	uint8_t addr[16];

	if (rr->rclass != DNS_CLASS_IN)
		return;
	switch (rr->type) {
	case DNS_TYPE_PTR:
		if (!dns_name_equal(&rr->owner, &v->hosts_name) || dns_rdata_name_read(&rr->rdata, &n) ||
		    !host_name(v, &n, label))
			return;
		if (removal) {
			if ((h = find_host(v, &n)))
				h->listed = false;
		} else if ((h = add_host(v, &n, label))) {
			h->listed = true;
		}
		break;
	case DNS_TYPE_AAAA:
		if (!host_name(v, &rr->owner, label) || !(h = find_host(v, &rr->owner)) ||
		    dns_rdata_aaaa_read(&rr->rdata, addr))
			return;
		if (!removal) {
			memcpy(h->ula, addr, 16);
			h->has_ula = true;
		} else if (h->has_ula && memcmp(h->ula, addr, 16) == 0) {
			h->has_ula = false;
		}
		break;
	case DNS_TYPE_SRV:
		if (!(h = srv_host(v, &rr->owner)) || dns_rdata_srv_read(&rr->rdata, &srv))
			return;
		/* the tunnel endpoint must be in the account (docs/design.md §4) */
		if (!dns_name_is_below(&srv.target, &v->domain) || dns_name_equal(&srv.target, &v->domain))
			return;
		if (!removal) {
			if (!dns_name_equal(&srv.target, &h->target)) {
				h->has_a = false;	/* another endpoint: its address is not known yet */
				h->txt_asked = false;
			}
			h->target = srv.target;
			dns_name_canonicalize(&h->target);
			h->port = srv.port;
			h->has_srv = srv.port != 0;
			h->relayed = srv.priority == AGENT_SRV_PRIO_RELAYED;
		} else if (h->has_srv && h->port == srv.port && dns_name_equal(&h->target, &srv.target)) {
			h->has_srv = false;
		}
		break;
	case DNS_TYPE_A:
		if (dns_rdata_a_read(&rr->rdata, addr))
			return;
		for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
			h = &v->h[i];
			if (!h->used || !dns_name_equal(&h->target, &rr->owner))
				continue;
			if (!removal) {
				memcpy(h->a, addr, 4);
				h->has_a = true;
			} else if (h->has_a && memcmp(h->a, addr, 4) == 0) {
				h->has_a = false;
			}
		}
		break;
	case DNS_TYPE_TXT: {
		struct dnsc_note *nt = note_of(v, &rr->owner);

		if (nt) {
			note_rr(nt, rr, snapshot);
			break;
		}
		if (v->watch_paths && (h = cand_host(v, &rr->owner))) {
			cand_apply(h, rr, removal);
			break;
		}
		if (v->watch_paths && !dns_name_is_root(&v->punch_name) && dns_name_equal(&rr->owner, &v->punch_name)) {
			punch_apply(v, rr, removal);
			break;
		}
		for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
			h = &v->h[i];
			if (!h->used || !dns_name_equal(&h->target, &rr->owner))
				continue;
			if (removal) {
				h->model[0] = h->os[0] = '\0';
			} else {
				struct wire w = rr->rdata;

				txt_info(h, &w);
			}
		}
		break;
	}
	default:
		return;
	}
	v->applied++;
}

/* A snapshot replaces what was known of the question's RRset. */
static void clear_rrset(struct dnsc_view *v, const struct dns_name *q, uint16_t type, bool snapshot)
{
	struct dnsc_note *nt;
	struct dnsc_host *h;

	switch (type) {
	case DNS_TYPE_PTR:
		if (!dns_name_equal(q, &v->hosts_name))
			return;
		for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++)
			v->h[i].listed = false;
		break;
	case DNS_TYPE_AAAA:
		if ((h = find_host(v, q)))
			h->has_ula = false;
		break;
	case DNS_TYPE_SRV:
		if ((h = srv_host(v, q)))
			h->has_srv = false;
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_TXT:
		if (type == DNS_TYPE_TXT && (nt = note_of(v, q))) {
			nt->acc = 0;	/* a snapshot begins (dnsc_view_apply() ends it), or a removal */
			nt->changed |= !snapshot;
			nt->known &= snapshot;
			return;
		}
		if (type == DNS_TYPE_TXT && v->watch_paths && (h = cand_host(v, q))) {
			h->has_cand = false;
			return;
		}
		/* a snapshot of _punch.H.D: the requests are remembered by nonce, given out once anyway */
		for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
			h = &v->h[i];
			if (!h->used || !dns_name_equal(&h->target, q))
				continue;
			if (type == DNS_TYPE_A)
				h->has_a = false;
			else
				h->model[0] = h->os[0] = '\0';
		}
		break;
	}
}

void dnsc_view_apply_rr(struct dnsc_view *v, const struct dns_name *owner, uint16_t type, uint16_t rclass,
			const uint8_t *rdata, uint16_t rdlen, bool removal)
{
	struct dnsc_rr rr = {
		.sec = DNS_SEC_ANSWER, .owner = *owner, .type = type, .rclass = rclass,
		/* no message around it: a compression pointer can only reach back into the RDATA */
		.rdata = wire_reader(rdata, rdlen),
	};

	apply_rr(v, &rr, removal, false);
}

void dnsc_view_remove_rrset(struct dnsc_view *v, const struct dns_name *owner, uint16_t type)
{
	static const uint16_t all[] = { DNS_TYPE_PTR, DNS_TYPE_AAAA, DNS_TYPE_SRV, DNS_TYPE_A, DNS_TYPE_TXT };

	if (type != DNS_TYPE_ANY) {
		clear_rrset(v, owner, type, false);
		return;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		clear_rrset(v, owner, all[i], false);
}

int dnsc_view_apply(struct dnsc_view *v, const struct dns_msg *m, enum dnsc_apply mode)
{
	struct dns_name q;
	struct dnsc_rr rr;
	unsigned pos = 0;
	uint16_t qtype;
	int rc;

	if (m->count[DNS_SEC_QUESTION] != 1 || dns_msg_name(m, m->qd[0].name, &q))
		return -EBADMSG;
	qtype = m->qd[0].type;
	/* a snapshot is whole only when the server answered NOERROR or NXDOMAIN */
	if (mode == DNSC_APPLY_SNAPSHOT) {
		unsigned rcode = dns_msg_rcode(m);

		if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
			return 0;
		clear_rrset(v, &q, qtype, true);
	}
	while ((rc = dnsc_rr_next(m, &pos, &rr)) == 1) {
		bool removal = mode == DNSC_APPLY_EVENT && rr.ttl == DNSC_TTL_REMOVED;

		if (rr.sec == DNS_SEC_AUTHORITY)
			continue;
		/* from the additional section only the addresses of an SRV answer's target */
		if (rr.sec == DNS_SEC_ADDITIONAL && (qtype != DNS_TYPE_SRV || rr.type != DNS_TYPE_A))
			continue;
		apply_rr(v, &rr, removal, mode == DNSC_APPLY_SNAPSHOT);
	}
	/* a whole RRset of a note: changed when its digest is another than the last snapshot's */
	if (rc >= 0 && mode == DNSC_APPLY_SNAPSHOT && qtype == DNS_TYPE_TXT) {
		struct dnsc_note *nt = note_of(v, &q);

		if (nt) {
			nt->changed |= !nt->known || nt->digest != nt->acc;
			nt->digest = nt->acc;
			nt->known = true;
		}
	}
	return rc < 0 ? -EBADMSG : 0;
}

static void fill_peer(const struct dnsc_host *h, struct dnsc_peer *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->label, h->label);
	strcpy(p->fqdn, h->name);
	memcpy(p->ula, h->ula, 16);
	p->has_outer = h->has_srv && h->has_a;
	if (p->has_outer) {
		memcpy(p->outer4, h->a, 4);
		p->port = h->port;
		p->relayed = h->relayed;
	}
	p->has_cand = h->has_cand;
	if (h->has_cand)
		p->cand = h->cand;
}

enum dnsc_change dnsc_view_next_change(struct dnsc_view *v, struct dnsc_peer *p)
{
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		struct dnsc_host *h = &v->h[i];
		bool outer;

		if (!h->used)
			continue;
		if (!h->listed) {
			bool was = h->reported && !h->self;

			if (was)
				fill_peer(h, p);
			memset(h, 0, sizeof(*h));
			if (was)
				return DNSC_CHANGE_GONE;
			continue;
		}
		if (h->self || !h->has_ula)
			continue;
		outer = h->has_srv && h->has_a;
		if (h->reported && memcmp(h->rep_ula, h->ula, 16) == 0 && h->rep_outer == outer &&
		    (!outer || (memcmp(h->rep_a, h->a, 4) == 0 && h->rep_port == h->port &&
				h->rep_relayed == h->relayed)) &&
		    h->rep_cand == h->has_cand && (!h->has_cand || h->rep_gen == h->cand.gen))
			continue;
		h->rep_cand = h->has_cand;
		h->rep_gen = h->cand.gen;
		h->reported = true;
		memcpy(h->rep_ula, h->ula, 16);
		h->rep_outer = outer;
		memcpy(h->rep_a, h->a, 4);
		h->rep_port = h->port;
		h->rep_relayed = h->relayed;
		fill_peer(h, p);
		return DNSC_CHANGE_UPDATE;
	}
	return DNSC_CHANGE_NONE;
}

static void put_q(struct dnsc_question *out, size_t cap, size_t *n, const struct dns_name *name, uint16_t type)
{
	if (*n < cap) {
		out[*n].name = *name;
		out[*n].type = type;
	}
	(*n)++;
}

size_t dnsc_view_questions(const struct dnsc_view *v, struct dnsc_question *out, size_t cap)
{
	size_t n = 0;

	put_q(out, cap, &n, &v->hosts_name, DNS_TYPE_PTR);
	if (v->watch_paths && !dns_name_is_root(&v->punch_name))
		put_q(out, cap, &n, &v->punch_name, DNS_TYPE_TXT);
	for (unsigned i = 0; i < DNSC_VIEW_NOTE_MAX; i++)
		if (v->note[i].used)
			put_q(out, cap, &n, &v->note[i].name, DNS_TYPE_TXT);
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		const struct dnsc_host *h = &v->h[i];
		struct dns_name srv;

		if (!h->used || !h->listed || (h->self && !v->watch_self))
			continue;
		put_q(out, cap, &n, &h->fqdn, DNS_TYPE_AAAA);
		if (h->self)
			continue;	/* our own name: only whose address it holds */
		if (v->watch_paths) {
			struct dns_name c = h->fqdn;

			if (dns_name_prepend_label(&c, "_cand", 5) == 0)
				put_q(out, cap, &n, &c, DNS_TYPE_TXT);
		}
		if (v->watch_renew) {
			struct dns_name r = h->fqdn;

			if (dns_name_prepend_label(&r, "_renew", 6) == 0)
				put_q(out, cap, &n, &r, DNS_TYPE_TXT);
		}
		if (label_name(&srv, "_autotunnel", "_udp", &h->fqdn) == 0)
			put_q(out, cap, &n, &srv, DNS_TYPE_SRV);
		if (!dns_name_is_root(&h->target) && h->has_srv)
			put_q(out, cap, &n, &h->target, DNS_TYPE_A);
	}
	return n;
}

size_t dnsc_view_extra_questions(struct dnsc_view *v, struct dnsc_question *out, size_t cap)
{
	size_t n = 0;

	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		struct dnsc_host *h = &v->h[i];

		if (!h->used || !h->listed || !h->has_srv || dns_name_is_root(&h->target) || h->txt_asked)
			continue;
		if (n < cap)
			h->txt_asked = true;
		put_q(out, cap, &n, &h->target, DNS_TYPE_TXT);
	}
	return n;
}

unsigned dnsc_view_count(const struct dnsc_view *v)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++)
		n += v->h[i].used && v->h[i].listed;
	return n;
}

int dnsc_view_self_ula(const struct dnsc_view *v, uint8_t ula[static 16])
{
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		const struct dnsc_host *h = &v->h[i];

		if (h->used && h->self && h->listed && h->has_ula) {
			memcpy(ula, h->ula, 16);
			return 1;
		}
	}
	return 0;
}

int dnsc_view_next_punch(struct dnsc_view *v, struct agent_punch *out)
{
	for (unsigned i = 0; i < DNSC_VIEW_PUNCH_MAX; i++) {
		struct dnsc_punch_req *q = &v->punch[i];

		if (q->used && !q->reported) {
			q->reported = true;
			*out = q->p;
			return 1;
		}
	}
	return 0;
}

int dnsc_view_notes_set(struct dnsc_view *v, const struct dns_name *names, size_t n)
{
	struct dnsc_note next[DNSC_VIEW_NOTE_MAX];

	if (n > DNSC_VIEW_NOTE_MAX)
		return -ENOSPC;
	memset(next, 0, sizeof(next));
	for (size_t i = 0; i < n; i++) {
		if (!dns_name_is_below(&names[i], &v->domain))
			return -EINVAL;
		next[i].used = true;
		next[i].name = names[i];
		dns_name_canonicalize(&next[i].name);
		for (unsigned j = 0; j < DNSC_VIEW_NOTE_MAX; j++)
			if (v->note[j].used && dns_name_equal(&v->note[j].name, &next[i].name))
				next[i] = v->note[j];
	}
	memcpy(v->note, next, sizeof(next));
	return 0;
}

int dnsc_view_next_note(struct dnsc_view *v, struct dns_name *out)
{
	for (unsigned i = 0; i < DNSC_VIEW_NOTE_MAX; i++) {
		if (v->note[i].used && v->note[i].changed) {
			v->note[i].changed = false;
			*out = v->note[i].name;
			return 1;
		}
	}
	for (unsigned i = 0; v->watch_renew && i < DNSC_VIEW_HOSTS; i++) {
		struct dnsc_host *h = &v->h[i];

		if (h->used && h->listed && !h->self && h->renew.used && h->renew.changed) {
			h->renew.changed = false;
			*out = h->renew.name;
			return 1;
		}
	}
	return 0;
}
