/*
 * lib/stun/natcheck.c: RFC 5780 §4 behaviour discovery; see natcheck.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "stun/msg.h"
#include "stun/natcheck.h"

enum { T_I, T_FILTER_II, T_FILTER_III, T_MAP_II, T_MAP_III };
enum { R_IDLE, R_TEST_I, R_FILTER, R_MAPPING, R_DONE };
enum { TX_PENDING = 1, TX_ANSWERED, TX_FAILED };

const char *stun_nat_behavior_str(enum stun_nat_behavior b)
{
	switch (b) {
	case STUN_NAT_NONE:
		return "none";
	case STUN_NAT_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	case STUN_NAT_ADDRESS_DEPENDENT:
		return "address-dependent";
	case STUN_NAT_ADDRESS_PORT_DEPENDENT:
		return "address-and-port-dependent";
	case STUN_NAT_UNKNOWN:
		break;
	}
	return "unknown";
}

void stun_natcheck_config_default(struct stun_natcheck_config *cfg)
{
	cfg->rto_ms = STUN_NATCHECK_DEFAULT_RTO_MS;
	cfg->rc = STUN_NATCHECK_DEFAULT_RC;
	cfg->rm = STUN_NATCHECK_DEFAULT_RM;
	cfg->budget_ms = STUN_NATCHECK_DEFAULT_BUDGET_MS;
	cfg->binding_only = false;
}

/* ---- addresses ---- */

static bool family_ok(const struct sockaddr *sa)
{
	return sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

static void addr_copy(struct sockaddr_storage *dst, const struct sockaddr *sa)
{
	memset(dst, 0, sizeof(*dst));
	if (sa->sa_family == AF_INET)
		memcpy(dst, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(dst, sa, sizeof(struct sockaddr_in6));
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
	return false;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return same_ip(a, b) && port_of(a) == port_of(b);
}

/* ---- requests ---- */

static void tx_begin(struct stun_natcheck *nc, struct stun_natcheck_tx *tx, uint8_t test,
		     const struct sockaddr_storage *to, const struct sockaddr_storage *expect,
		     uint8_t change, uint64_t now)
{
	memset(tx, 0, sizeof(*tx));
	tx->state = TX_PENDING;
	tx->test = test;
	tx->change = change;
	/* RFC 8489 §6: a fresh random transaction id per request, kept by its retransmissions */
	nc->rnd(nc->rnd_arg, tx->tid, sizeof(tx->tid));
	tx->rto = nc->cfg.rto_ms;
	tx->next = now;
	tx->to = *to;
	tx->expect = *expect;
}

static void tx_send(struct stun_natcheck *nc, struct stun_natcheck_tx *tx, uint64_t now,
		    struct stun_natcheck_out *out)
{
	struct stun_natcheck_send *s;
	struct stun_builder b;
	int n;

	/* RFC 8489 §6.2.1: RTO doubled at every send; after the last, wait Rm times the first RTO */
	tx->sends++;
	if (tx->sends < nc->cfg.rc) {
		tx->next = now + tx->rto;
		tx->rto *= 2;
	} else {
		tx->next = now + (uint64_t)nc->cfg.rm * nc->cfg.rto_ms;
	}
	if (out->n_sends >= STUN_NATCHECK_MAX_TX)
		return;	/* cannot happen: one request per slot per call */
	s = &out->sends[out->n_sends];
	stun_builder_start(&b, s->buf, sizeof(s->buf), STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tx->tid);
	if (tx->change)
		stun_builder_add_u32(&b, STUN_ATTR_CHANGE_REQUEST, tx->change);
	stun_builder_add_fingerprint(&b);
	n = stun_builder_finish(&b);
	if (n < 0)
		return;	/* cannot happen: 36 bytes into 64 */
	s->len = (size_t)n;
	s->to = tx->to;
	out->n_sends++;
}

/* ---- rounds ---- */

static void start_filter(struct stun_natcheck *nc, uint64_t now)
{
	struct stun_natcheck_result *r = &nc->result;
	struct sockaddr_storage port_only = nc->server;

	/* RFC 5780 §4.4: II answers from the alternate address and port, III from the alternate port */
	set_port(&port_only, port_of(&r->other));
	tx_begin(nc, &nc->tx[0], T_FILTER_II, &nc->server, &r->other, STUN_CHANGE_IP | STUN_CHANGE_PORT, now);
	tx_begin(nc, &nc->tx[1], T_FILTER_III, &nc->server, &port_only, STUN_CHANGE_PORT, now);
	nc->round = R_FILTER;
}

static void start_mapping(struct stun_natcheck *nc, uint64_t now)
{
	struct stun_natcheck_result *r = &nc->result;
	struct sockaddr_storage alt_ip = r->other;

	/* RFC 5780 §4.3: II to the alternate address and primary port, III to the alternate address and port */
	set_port(&alt_ip, port_of(&nc->server));
	tx_begin(nc, &nc->tx[0], T_MAP_II, &alt_ip, &alt_ip, 0, now);
	tx_begin(nc, &nc->tx[1], T_MAP_III, &r->other, &r->other, 0, now);
	nc->round = R_MAPPING;
}

static void finish(struct stun_natcheck *nc, struct stun_natcheck_out *out)
{
	nc->round = R_DONE;
	memset(nc->tx, 0, sizeof(nc->tx));
	out->done = true;
}

/* Move on when the round's requests allow a decision; true if a new round started. */
static bool advance(struct stun_natcheck *nc, uint64_t now, struct stun_natcheck_out *out)
{
	struct stun_natcheck_result *r = &nc->result;
	struct stun_natcheck_tx *a = &nc->tx[0], *b = &nc->tx[1];

	switch (nc->round) {
	case R_TEST_I:
		if (a->state == TX_FAILED) {
			finish(nc, out);
		} else if (a->state == TX_ANSWERED) {
			r->reachable = true;
			r->reflexive = a->mapped;
			if (nc->local.ss_family && same_addr(&r->reflexive, &nc->local))
				r->mapping = STUN_NAT_NONE;
			if (!r->rfc5780 || nc->cfg.binding_only) {
				finish(nc, out);
				return false;
			}
			start_filter(nc, now);
			return true;
		}
		return false;
	case R_FILTER:
		if (a->state == TX_ANSWERED)
			r->filtering = a->ignored_change ? STUN_NAT_UNKNOWN : STUN_NAT_ENDPOINT_INDEPENDENT;
		else if (b->state == TX_ANSWERED && b->ignored_change)
			r->filtering = STUN_NAT_UNKNOWN;
		else if (a->state == TX_FAILED && b->state == TX_ANSWERED)
			r->filtering = STUN_NAT_ADDRESS_DEPENDENT;
		else if (a->state == TX_FAILED && b->state == TX_FAILED)
			r->filtering = STUN_NAT_ADDRESS_PORT_DEPENDENT;
		else
			return false;
		if (r->mapping == STUN_NAT_NONE) {
			finish(nc, out);
			return false;
		}
		start_mapping(nc, now);
		return true;
	case R_MAPPING:
		if (a->state == TX_ANSWERED && same_addr(&a->mapped, &r->reflexive)) {
			r->mapping = STUN_NAT_ENDPOINT_INDEPENDENT;
		} else if (a->state == TX_PENDING || b->state == TX_PENDING) {
			return false;
		} else if (a->state == TX_ANSWERED && b->state == TX_ANSWERED) {
			r->mapping = same_addr(&b->mapped, &a->mapped) ? STUN_NAT_ADDRESS_DEPENDENT
								       : STUN_NAT_ADDRESS_PORT_DEPENDENT;
		} else if (b->state == TX_ANSWERED && same_addr(&b->mapped, &r->reflexive)) {
			/* II unanswered, but a new address and port kept the mapping: it depends on neither */
			r->mapping = STUN_NAT_ENDPOINT_INDEPENDENT;
		}
		finish(nc, out);
		return false;
	default:
		return false;
	}
}

static void run(struct stun_natcheck *nc, uint64_t now, struct stun_natcheck_out *out)
{
	for (;;) {
		if (nc->round == R_IDLE || nc->round == R_DONE)
			break;
		if (nc->cfg.budget_ms && now >= nc->started + nc->cfg.budget_ms) {
			nc->result.timed_out = true;
			finish(nc, out);
			break;
		}
		for (unsigned i = 0; i < STUN_NATCHECK_MAX_TX; i++) {
			struct stun_natcheck_tx *tx = &nc->tx[i];

			if (tx->state != TX_PENDING || now < tx->next)
				continue;
			if (tx->sends < nc->cfg.rc)
				tx_send(nc, tx, now, out);
			else
				tx->state = TX_FAILED;
		}
		if (!advance(nc, now, out))
			break;
	}
	out->deadline = STUN_NATCHECK_NEVER;
	if (nc->round == R_DONE || nc->round == R_IDLE)
		return;
	for (unsigned i = 0; i < STUN_NATCHECK_MAX_TX; i++)
		if (nc->tx[i].state == TX_PENDING && nc->tx[i].next < out->deadline)
			out->deadline = nc->tx[i].next;
	if (nc->cfg.budget_ms && nc->started + nc->cfg.budget_ms < out->deadline)
		out->deadline = nc->started + nc->cfg.budget_ms;
}

static void out_reset(struct stun_natcheck_out *out)
{
	out->n_sends = 0;
	out->deadline = STUN_NATCHECK_NEVER;
	out->done = false;
}

int stun_natcheck_start(struct stun_natcheck *nc, const struct stun_natcheck_config *cfg,
			const struct sockaddr *server, const struct sockaddr *local,
			stun_natcheck_random_fn *rnd, void *rnd_arg, uint64_t now,
			struct stun_natcheck_out *out)
{
	struct stun_natcheck_config def;

	out_reset(out);
	if (!cfg) {
		stun_natcheck_config_default(&def);
		cfg = &def;
	}
	if (!rnd || !family_ok(server) || cfg->rc == 0 || cfg->rto_ms == 0 ||
	    (local && local->sa_family && local->sa_family != server->sa_family))
		return -EINVAL;
	memset(nc, 0, sizeof(*nc));
	nc->cfg = *cfg;
	nc->rnd = rnd;
	nc->rnd_arg = rnd_arg;
	addr_copy(&nc->server, server);
	if (local && family_ok(local))
		addr_copy(&nc->local, local);
	nc->started = now;
	tx_begin(nc, &nc->tx[0], T_I, &nc->server, &nc->server, 0, now);
	nc->round = R_TEST_I;
	run(nc, now, out);
	return 0;
}

/* The answer's reflexive address: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an RFC 3489 server. */
static int get_mapped(const struct stun_msg *m, struct sockaddr_storage *ss)
{
	if (stun_msg_get_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, ss) == 0)
		return 0;
	return stun_msg_get_addr(m, STUN_ATTR_MAPPED_ADDRESS, 0, ss);
}

int stun_natcheck_on_input(struct stun_natcheck *nc, const void *buf, size_t len,
			   const struct sockaddr *from, uint64_t now, struct stun_natcheck_out *out)
{
	struct stun_natcheck_tx *tx = NULL;
	struct sockaddr_storage src;
	struct stun_msg m;
	int err;

	err = stun_msg_parse(buf, len, &m);
	if (err && err != -EOPNOTSUPP)
		return -EBADMSG;
	if (nc->round == R_IDLE || nc->round == R_DONE || m.method != STUN_METHOD_BINDING ||
	    (m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR))
		return -ENOENT;
	for (unsigned i = 0; i < STUN_NATCHECK_MAX_TX; i++)
		if (nc->tx[i].state == TX_PENDING && !memcmp(nc->tx[i].tid, m.tid, STUN_TID_LEN))
			tx = &nc->tx[i];
	if (!tx)
		return -ENOENT;
	if (!family_ok(from))
		return -EPERM;
	addr_copy(&src, from);
	if (tx->change && same_addr(&src, &tx->to)) {
		/* RFC 5780 §7.2: a server that answers from where it was asked did not change */
		tx->ignored_change = true;
		tx->state = TX_ANSWERED;
	} else if (!same_addr(&src, &tx->expect)) {
		return -EPERM;
	} else if (err == -EOPNOTSUPP || m.cls == STUN_CLASS_ERROR) {
		/* RFC 8489 §6.3.4, §6.3.1.1: the transaction failed; for a CHANGE-REQUEST, it was refused */
		if (tx->change) {
			tx->ignored_change = true;
			tx->state = TX_ANSWERED;
		} else {
			tx->state = TX_FAILED;
		}
	} else if (get_mapped(&m, &tx->mapped)) {
		tx->state = TX_FAILED;	/* a success without a mapped address is no answer */
	} else {
		tx->state = TX_ANSWERED;
		if (tx->test == T_I && stun_msg_get_addr(&m, STUN_ATTR_OTHER_ADDRESS, 0, &nc->result.other) == 0 &&
		    nc->result.other.ss_family == nc->server.ss_family &&
		    !same_ip(&nc->result.other, &nc->server) && port_of(&nc->result.other) != port_of(&nc->server))
			nc->result.rfc5780 = true;
		else if (tx->test == T_I)
			memset(&nc->result.other, 0, sizeof(nc->result.other));
	}
	out_reset(out);
	run(nc, now, out);
	return 0;
}

void stun_natcheck_on_timeout(struct stun_natcheck *nc, uint64_t now, struct stun_natcheck_out *out)
{
	out_reset(out);
	run(nc, now, out);
}

bool stun_natcheck_running(const struct stun_natcheck *nc)
{
	return nc->round != R_IDLE && nc->round != R_DONE;
}

const struct stun_natcheck_result *stun_natcheck_result(const struct stun_natcheck *nc)
{
	return &nc->result;
}
