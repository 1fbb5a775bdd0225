/*
 * The control protocol (see ctl.h): one schema, used both by the writer and
 * by the strict parser, so that whatever one side writes the other accepts
 * and nothing else gets through.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "agent/ctl.h"
#include "agent/text.h"

enum kind { K_STR = 1, K_U32, K_BOOL, K_IP4, K_IP6, K_SECRET };

struct field_def {
	const char *name;
	enum kind kind;
	const char *const *values;	/* allowed texts, or NULL */
};

static const char *const state_values[] = { "up", "idle", "connecting", "unreachable", NULL };
static const char *const nat_values[] = { "none", "nat", "double", "unknown", NULL };
static const char *const server_state_values[] = { "connected", "push", "polling", "connecting", NULL };
static const char *const mapping_values[] = { "pcp", "nat-pmp", "upnp", "rsip", "none", NULL };
static const char *const stun_values[] = { "answered", "no-answer", "checking", "no-server", "lookup-failed", NULL };
static const char *const stun6_values[] = { "answered", "no-answer", "checking", "no-address", NULL };
static const char *const path_values[] = { "lan", "ipv6", "mapped", "public", "punched", "relay", NULL };
static const char *const relay_values[] = { "allocated", "allocating", "lookup", "no-server", "failed", NULL };
static const char *const transport_values[] = { "udp", "tcp", "tls", NULL };
static const char *const behavior_values[] = { "endpoint-independent", "address-dependent",
					       "address-and-port-dependent", "none", "unknown", NULL };

static const char *const authority_values[] = { "signer", "member", "joining", NULL };
static const char *const auth_values[] = { "cert", "psk", NULL };
static const char *const pkinit_values[] = { "client", "kdc", NULL };
static const char *const key_values[] = { "ed25519", "p256", NULL };

static const struct field_def fields[AGENT_CTL_F_MAX_] = {
	[AGENT_CTL_F_LABEL] = { "label", K_STR, NULL },
	[AGENT_CTL_F_FQDN] = { "fqdn", K_STR, NULL },
	[AGENT_CTL_F_ULA] = { "ula", K_IP6, NULL },
	[AGENT_CTL_F_STATE] = { "state", K_STR, state_values },
	[AGENT_CTL_F_OUTER] = { "outer", K_IP4, NULL },
	[AGENT_CTL_F_PORT] = { "port", K_U32, NULL },
	[AGENT_CTL_F_RTT_MS] = { "rtt_ms", K_U32, NULL },
	[AGENT_CTL_F_HANDSHAKE_AGE_S] = { "handshake_age_s", K_U32, NULL },
	[AGENT_CTL_F_KEEP] = { "keep", K_BOOL, NULL },
	[AGENT_CTL_F_NAME] = { "name", K_STR, NULL },
	[AGENT_CTL_F_DOMAIN] = { "domain", K_STR, NULL },
	[AGENT_CTL_F_SERVER] = { "server", K_STR, NULL },
	[AGENT_CTL_F_SIGNED_IN] = { "signed_in", K_BOOL, NULL },
	[AGENT_CTL_F_HOSTS] = { "hosts", K_U32, NULL },
	[AGENT_CTL_F_NAT] = { "nat", K_STR, nat_values },
	[AGENT_CTL_F_EXTERNAL] = { "external", K_IP4, NULL },
	[AGENT_CTL_F_MAPPING] = { "mapping", K_STR, mapping_values },
	[AGENT_CTL_F_MODEL] = { "model", K_STR, NULL },
	[AGENT_CTL_F_OS] = { "os", K_STR, NULL },
	[AGENT_CTL_F_SELF] = { "self", K_BOOL, NULL },
	[AGENT_CTL_F_INSTANCE] = { "instance", K_STR, NULL },
	[AGENT_CTL_F_TYPE] = { "type", K_STR, NULL },
	[AGENT_CTL_F_HOST] = { "host", K_STR, NULL },
	[AGENT_CTL_F_TXT] = { "txt", K_STR, NULL },
	[AGENT_CTL_F_IFACE] = { "iface", K_STR, NULL },
	[AGENT_CTL_F_ADDRESS] = { "address", K_IP4, NULL },
	[AGENT_CTL_F_GATEWAY] = { "gateway", K_IP4, NULL },
	[AGENT_CTL_F_LIFETIME_S] = { "lifetime_s", K_U32, NULL },
	[AGENT_CTL_F_SERVER_TLS] = { "server_tls", K_BOOL, NULL },
	[AGENT_CTL_F_MESSAGE] = { "message", K_STR, NULL },
	[AGENT_CTL_F_ERRNO] = { "errno", K_U32, NULL },
	[AGENT_CTL_F_CA] = { "ca", K_STR, NULL },
	[AGENT_CTL_F_PIN] = { "pin", K_STR, NULL },
	[AGENT_CTL_F_PASSWORD] = { "password", K_SECRET, NULL },
	[AGENT_CTL_F_SENT] = { "sent", K_U32, NULL },
	[AGENT_CTL_F_RECEIVED] = { "received", K_U32, NULL },
	[AGENT_CTL_F_SERVER_ERROR] = { "server_error", K_STR, NULL },
	[AGENT_CTL_F_MAC] = { "mac", K_STR, NULL },
	[AGENT_CTL_F_ACCOUNT] = { "account", K_STR, NULL },
	[AGENT_CTL_F_LEASE_S] = { "lease_s", K_U32, NULL },
	[AGENT_CTL_F_DETAIL] = { "detail", K_STR, NULL },
	[AGENT_CTL_F_SERVER_STATE] = { "server_state", K_STR, server_state_values },
	[AGENT_CTL_F_SERVER_LOST_SINCE] = { "server_lost_since", K_U32, NULL },
	[AGENT_CTL_F_RTT_US] = { "rtt_us", K_U32, NULL },
	[AGENT_CTL_F_STUN_SERVER] = { "stun_server", K_STR, NULL },
	[AGENT_CTL_F_STUN] = { "stun", K_STR, stun_values },
	[AGENT_CTL_F_REFLEXIVE] = { "reflexive", K_IP4, NULL },
	[AGENT_CTL_F_REFLEXIVE_PORT] = { "reflexive_port", K_U32, NULL },
	[AGENT_CTL_F_NAT_MAPPING] = { "nat_mapping", K_STR, behavior_values },
	[AGENT_CTL_F_NAT_FILTERING] = { "nat_filtering", K_STR, behavior_values },
	[AGENT_CTL_F_PATH] = { "path", K_STR, path_values },
	[AGENT_CTL_F_AUTHORITY] = { "authority", K_STR, authority_values },
	[AGENT_CTL_F_JOIN_CODE] = { "join_code", K_STR, NULL },
	[AGENT_CTL_F_RECOVERY_KEY] = { "recovery_key", K_STR, NULL },
	[AGENT_CTL_F_RECOVERY] = { "recovery", K_SECRET, NULL },
	[AGENT_CTL_F_AUTH] = { "auth", K_STR, auth_values },
	[AGENT_CTL_F_OUT] = { "out", K_STR, NULL },
	[AGENT_CTL_F_PKINIT] = { "pkinit", K_STR, pkinit_values },
	[AGENT_CTL_F_PRINCIPAL] = { "principal", K_STR, NULL },
	[AGENT_CTL_F_KEY] = { "key", K_STR, key_values },
	[AGENT_CTL_F_RELAY] = { "relay", K_STR, relay_values },
	[AGENT_CTL_F_RELAY_SERVER] = { "relay_server", K_STR, NULL },
	[AGENT_CTL_F_RELAY_TRANSPORT] = { "relay_transport", K_STR, transport_values },
	[AGENT_CTL_F_RELAYED] = { "relayed", K_IP4, NULL },
	[AGENT_CTL_F_RELAYED_PORT] = { "relayed_port", K_U32, NULL },
	[AGENT_CTL_F_RELAY_RTT_US] = { "relay_rtt_us", K_U32, NULL },
	[AGENT_CTL_F_VIA_RELAY] = { "via_relay", K_BOOL, NULL },
	[AGENT_CTL_F_OUTER6] = { "outer6", K_IP6, NULL },
	[AGENT_CTL_F_ADDRESS6] = { "address6", K_IP6, NULL },
	[AGENT_CTL_F_STUN6] = { "stun6", K_STR, stun6_values },
	[AGENT_CTL_F_NO_DIRECT] = { "no_direct", K_BOOL, NULL },
};

#define F(x) (AGENT_CTL_BIT(AGENT_CTL_F_##x))
#define F_RELAY (F(RELAY) | F(RELAY_SERVER) | F(RELAY_TRANSPORT) | F(RELAYED) | F(RELAYED_PORT) | F(RELAY_RTT_US))

struct rtype_def {
	const char *name;	/* JSON key: an object, or an array for repeated records */
	agent_ctl_mask allowed;
};

static const struct rtype_def rtypes[AGENT_CTL_R_MAX_] = {
	[AGENT_CTL_R_ARGS] = { "args", F(HOST) | F(ACCOUNT) | F(SERVER) | F(CA) | F(PIN) | F(PASSWORD) |
				       F(RECOVERY) | F(JOIN_CODE) | F(OUT) | F(PKINIT) | F(PRINCIPAL) | F(KEY) },
	[AGENT_CTL_R_ERROR] = { "error", F(MESSAGE) | F(ERRNO) },
	[AGENT_CTL_R_ACCOUNT] = { "account", F(NAME) | F(DOMAIN) | F(SERVER) | F(SIGNED_IN) | F(HOSTS) |
					       F(DETAIL) | F(SERVER_STATE) | F(SERVER_LOST_SINCE) | F(AUTHORITY) |
					       F(JOIN_CODE) | F(RECOVERY_KEY) | F(OUT) },
	[AGENT_CTL_R_SELF] = { "self", F(LABEL) | F(FQDN) | F(ULA) | F(NAT) | F(EXTERNAL) | F(PORT) |
					 F(MAPPING) | F(LEASE_S) | F(DETAIL) | F_RELAY },
	[AGENT_CTL_R_PEER] = { "peers", F(LABEL) | F(FQDN) | F(ULA) | F(STATE) | F(OUTER) | F(PORT) |
					  F(RTT_MS) | F(HANDSHAKE_AGE_S) | F(KEEP) | F(PATH) | F(AUTH) | F(VIA_RELAY) | F(OUTER6) |
					  F(NO_DIRECT) },
	[AGENT_CTL_R_HOST] = { "hosts", F(LABEL) | F(FQDN) | F(ULA) | F(OUTER) | F(PORT) | F(MODEL) |
					  F(OS) | F(SELF) },
	[AGENT_CTL_R_SERVICE] = { "services", F(INSTANCE) | F(TYPE) | F(HOST) | F(PORT) | F(TXT) },
	[AGENT_CTL_R_NET] = { "net", F(IFACE) | F(MAC) | F(ADDRESS) | F(GATEWAY) | F(NAT) | F(MAPPING) |
				      F(EXTERNAL) | F(PORT) | F(LIFETIME_S) | F(SERVER) | F(SERVER_TLS) |
				      F(SERVER_ERROR) | F(DETAIL) | F(STUN_SERVER) | F(STUN) | F(REFLEXIVE) |
				      F(REFLEXIVE_PORT) | F(NAT_MAPPING) | F(NAT_FILTERING) | F(ADDRESS6) |
				      F(STUN6) | F_RELAY },
	[AGENT_CTL_R_PING] = { "ping", F(HOST) | F(ULA) | F(OUTER) | F(PORT) | F(RTT_MS) | F(SENT) | F(RECEIVED) |
				       F(STATE) | F(RTT_US) | F(OUTER6) | F(NO_DIRECT) },
};

/* Which records a code carries: at least min, at most max of each type; required fields. */
struct rec_rule {
	uint8_t type, min;
	uint16_t max;
	agent_ctl_mask required;
};

struct code_def {
	uint8_t code;
	const char *name;
	struct rec_rule rules[4];	/* terminated by type 0 */
};

static const struct code_def codes[] = {
	{ AGENT_CTL_STATUS, "status", { { 0 } } },
	{ AGENT_CTL_HOSTS, "hosts", { { 0 } } },
	{ AGENT_CTL_SERVICES, "services", { { 0 } } },
	{ AGENT_CTL_NETCHECK, "netcheck", { { 0 } } },
	{ AGENT_CTL_PING, "ping", { { AGENT_CTL_R_ARGS, 1, 1, F(HOST) } } },
	{ AGENT_CTL_LOGIN, "login", { { AGENT_CTL_R_ARGS, 1, 1, F(ACCOUNT) | F(SERVER) | F(PASSWORD) } } },
	{ AGENT_CTL_LOGOUT, "logout", { { 0 } } },
	{ AGENT_CTL_APPROVE, "approve", { { AGENT_CTL_R_ARGS, 1, 1, F(JOIN_CODE) } } },
	{ AGENT_CTL_REVOKE, "revoke", { { AGENT_CTL_R_ARGS, 1, 1, F(HOST) } } },
	{ AGENT_CTL_ISSUE, "issue", { { AGENT_CTL_R_ARGS, 1, 1, F(HOST) } } },
	{ AGENT_CTL_RENEW, "renew", { { 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_STATUS, "status",
	  { { AGENT_CTL_R_ACCOUNT, 0, 1, 0 }, { AGENT_CTL_R_SELF, 0, 1, 0 },
	    { AGENT_CTL_R_PEER, 0, AGENT_CTL_REC_MAX, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_HOSTS, "hosts", { { AGENT_CTL_R_HOST, 0, AGENT_CTL_REC_MAX, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_SERVICES, "services", { { AGENT_CTL_R_SERVICE, 0, AGENT_CTL_REC_MAX, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_NETCHECK, "netcheck", { { AGENT_CTL_R_NET, 1, 1, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_PING, "ping", { { AGENT_CTL_R_PING, 1, 1, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_LOGIN, "login", { { AGENT_CTL_R_ACCOUNT, 1, 1, 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_LOGOUT, "logout", { { 0 } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_APPROVE, "approve", { { AGENT_CTL_R_ACCOUNT, 1, 1, F(DETAIL) } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_REVOKE, "revoke", { { AGENT_CTL_R_ACCOUNT, 1, 1, F(DETAIL) } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_ISSUE, "issue", { { AGENT_CTL_R_ACCOUNT, 1, 1, F(DETAIL) } } },
	{ AGENT_CTL_REPLY | AGENT_CTL_RENEW, "renew", { { AGENT_CTL_R_ACCOUNT, 1, 1, F(DETAIL) } } },
	{ AGENT_CTL_ERROR, "error", { { AGENT_CTL_R_ERROR, 1, 1, F(MESSAGE) } } },
};

static const struct code_def *code_def(uint8_t code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return &codes[i];
	return NULL;
}

static const struct rec_rule *rec_rule(const struct code_def *c, uint8_t type)
{
	for (const struct rec_rule *r = c->rules; r < c->rules + 4 && r->type; r++)
		if (r->type == type)
			return r;
	return NULL;
}

const char *agent_ctl_code_name(uint8_t code)
{
	const struct code_def *c = code_def(code);

	return c ? c->name : NULL;
}

uint8_t agent_ctl_code_parse(const char *word)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code < AGENT_CTL_REPLY && !strcmp(codes[i].name, word))
			return codes[i].code;
	return 0;
}

/* Check a value of @p kind; text must be printable ASCII (its own rules too). */
static bool value_ok(uint8_t id, const uint8_t *v, size_t n)
{
	const struct field_def *f = &fields[id];

	switch (f->kind) {
	case K_STR:
		if (n > AGENT_CTL_STR_MAX)
			return false;
		for (size_t i = 0; i < n; i++)
			if (v[i] < 0x20 || v[i] > 0x7e)
				return false;
		if (f->values) {
			for (const char *const *s = f->values; *s; s++)
				if (strlen(*s) == n && !memcmp(*s, v, n))
					return true;
			return false;
		}
		return true;
	case K_U32:
		if (n != 4)
			return false;
		if (id == AGENT_CTL_F_PORT || id == AGENT_CTL_F_REFLEXIVE_PORT || id == AGENT_CTL_F_RELAYED_PORT)
			return v[0] == 0 && v[1] == 0;	/* a port fits in 16 bits */
		return true;
	case K_BOOL:
		return n == 1 && v[0] <= 1;
	case K_IP4:
		return n == 4;
	case K_IP6:
		return n == 16;
	case K_SECRET:
		return n >= 1 && n <= AGENT_CTL_STR_MAX && !memchr(v, 0, n);
	}
	return false;
}

/* ---- writer ---- */

static void cw_fail(struct agent_ctl_writer *cw, int err)
{
	if (!cw->err)
		cw->err = err;
}

/* Close the current record: its field count, its required fields. */
static void finish_rec(struct agent_ctl_writer *cw)
{
	const struct code_def *c = code_def(cw->code);
	const struct rec_rule *r;

	if (!cw->rtype || cw->err)
		return;
	r = c ? rec_rule(c, cw->rtype) : NULL;
	if (!r || (cw->seen & r->required) != r->required) {
		cw_fail(cw, -EINVAL);
		return;
	}
	/* the record header, type and field count, now that the count is known */
	wire_patch_u16(&cw->w, cw->nfield_off - 1, (uint16_t)(cw->rtype << 8 | cw->nfield));
	cw->rtype = 0;
}

void agent_ctl_write_begin(struct agent_ctl_writer *cw, uint8_t *buf, size_t len, uint8_t code)
{
	memset(cw, 0, sizeof(*cw));
	cw->w = wire_writer(buf, len);
	cw->code = code;
	if (!code_def(code))
		cw_fail(cw, -EINVAL);
	(void)wire_reserve(&cw->w, AGENT_CTL_HDR);
	wire_write_u8(&cw->w, AGENT_CTL_VERSION);
	wire_write_u8(&cw->w, code);
	cw->nrec_off = wire_reserve(&cw->w, 2);
}

void agent_ctl_write_rec(struct agent_ctl_writer *cw, uint8_t type)
{
	const struct code_def *c = code_def(cw->code);
	const struct rec_rule *r;

	finish_rec(cw);
	if (cw->err)
		return;
	r = (c && type && type < AGENT_CTL_R_MAX_) ? rec_rule(c, type) : NULL;
	if (!r || cw->count[type] >= r->max || cw->nrec >= AGENT_CTL_REC_MAX) {
		cw_fail(cw, -EINVAL);
		return;
	}
	cw->count[type]++;
	cw->nrec++;
	cw->rtype = type;
	cw->seen = 0;
	cw->nfield = 0;
	wire_write_u8(&cw->w, type);
	cw->nfield_off = wire_reserve(&cw->w, 1);
	if (wire_err(&cw->w))
		cw_fail(cw, wire_err(&cw->w));
}

static void put_field(struct agent_ctl_writer *cw, uint8_t id, enum kind kind, const void *v, size_t n)
{
	if (cw->err)
		return;
	if (!cw->rtype || id == 0 || id >= AGENT_CTL_F_MAX_ || fields[id].kind != kind ||
	    !(rtypes[cw->rtype].allowed & AGENT_CTL_BIT(id)) || (cw->seen & AGENT_CTL_BIT(id)) ||
	    !value_ok(id, v, n)) {
		cw_fail(cw, -EINVAL);
		return;
	}
	cw->seen |= AGENT_CTL_BIT(id);
	cw->nfield++;
	wire_write_u8(&cw->w, id);
	wire_write_u16(&cw->w, (uint16_t)n);
	wire_write_bytes(&cw->w, v, n);
	if (wire_err(&cw->w))
		cw_fail(cw, wire_err(&cw->w));
}

void agent_ctl_write_str(struct agent_ctl_writer *cw, uint8_t id, const char *s)
{
	if (s)
		put_field(cw, id, K_STR, s, strnlen(s, AGENT_CTL_STR_MAX + 1));
}

void agent_ctl_write_uint(struct agent_ctl_writer *cw, uint8_t id, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put_field(cw, id, K_U32, b, 4);
}

void agent_ctl_write_bool(struct agent_ctl_writer *cw, uint8_t id, bool v)
{
	uint8_t b = v ? 1 : 0;

	put_field(cw, id, K_BOOL, &b, 1);
}

void agent_ctl_write_ip4(struct agent_ctl_writer *cw, uint8_t id, const uint8_t a[static 4])
{
	put_field(cw, id, K_IP4, a, 4);
}

void agent_ctl_write_ip6(struct agent_ctl_writer *cw, uint8_t id, const uint8_t a[static 16])
{
	put_field(cw, id, K_IP6, a, 16);
}

void agent_ctl_write_secret(struct agent_ctl_writer *cw, uint8_t id, const void *p, size_t n)
{
	put_field(cw, id, K_SECRET, p, n);
}

int agent_ctl_write_end(struct agent_ctl_writer *cw)
{
	const struct code_def *c = code_def(cw->code);
	size_t len;

	finish_rec(cw);
	if (cw->err)
		return cw->err;
	for (const struct rec_rule *r = c->rules; r < c->rules + 4 && r->type; r++)
		if (cw->count[r->type] < r->min)
			return cw->err = -EINVAL;
	if (wire_err(&cw->w))
		return cw->err = wire_err(&cw->w);
	len = wire_offset(&cw->w);
	if (len - AGENT_CTL_HDR > AGENT_CTL_BODY_MAX)
		return cw->err = -ENOSPC;
	wire_patch_u32(&cw->w, 0, (uint32_t)(len - AGENT_CTL_HDR));
	wire_patch_u16(&cw->w, cw->nrec_off, cw->nrec);
	return wire_err(&cw->w) ? wire_err(&cw->w) : (int)len;
}

int agent_ctl_write_error(uint8_t *buf, size_t len, const char *message, int err)
{
	struct agent_ctl_writer cw;
	char msg[AGENT_CTL_STR_MAX + 1];
	size_t n = 0;

	/* a message for a person may hold anything: keep what the protocol carries */
	for (const char *p = message; *p && n < AGENT_CTL_STR_MAX; p++)
		msg[n++] = (*p >= 0x20 && *p <= 0x7e) ? *p : '?';
	msg[n] = '\0';
	agent_ctl_write_begin(&cw, buf, len, AGENT_CTL_ERROR);
	agent_ctl_write_rec(&cw, AGENT_CTL_R_ERROR);
	agent_ctl_write_str(&cw, AGENT_CTL_F_MESSAGE, msg);
	if (err > 0)
		agent_ctl_write_uint(&cw, AGENT_CTL_F_ERRNO, (uint32_t)err);
	return agent_ctl_write_end(&cw);
}

/* ---- parser ---- */

struct agent_ctl_msg *agent_ctl_msg_new(void)
{
	return calloc(1, sizeof(struct agent_ctl_msg));
}

void agent_ctl_msg_free(struct agent_ctl_msg *m)
{
	if (!m)
		return;
	OPENSSL_cleanse(m->data, sizeof(m->data));
	free(m);
}

int agent_ctl_frame_size(const uint8_t hdr[static AGENT_CTL_HDR], size_t *total)
{
	struct wire w = wire_reader(hdr, AGENT_CTL_HDR);
	uint32_t len = wire_read_u32(&w);

	*total = 0;
	if (len < AGENT_CTL_BODY_MIN || len > AGENT_CTL_BODY_MAX)
		return -EBADMSG;
	*total = AGENT_CTL_HDR + (size_t)len;
	return 0;
}

static void wipe(struct agent_ctl_msg *m)
{
	OPENSSL_cleanse(m->data, m->used);
	m->code = 0;
	m->nrec = 0;
	m->nfld = 0;
	m->used = 0;
}

static int parse_body(struct agent_ctl_msg *m, struct wire *w)
{
	const struct code_def *c;
	uint16_t count[AGENT_CTL_R_MAX_] = { 0 };
	uint16_t nrec;

	if (wire_read_u8(w) != AGENT_CTL_VERSION)
		return -EBADMSG;
	m->code = wire_read_u8(w);
	nrec = wire_read_u16(w);
	if (wire_err(w) || !(c = code_def(m->code)) || nrec > AGENT_CTL_REC_MAX)
		return -EBADMSG;
	for (uint16_t i = 0; i < nrec; i++) {
		struct agent_ctl_rec *r = &m->rec[m->nrec];
		uint8_t type = wire_read_u8(w), nfield = wire_read_u8(w);
		const struct rec_rule *rule;
		agent_ctl_mask seen = 0;

		if (wire_err(w) || type == 0 || type >= AGENT_CTL_R_MAX_ || !(rule = rec_rule(c, type)) ||
		    count[type] >= rule->max)
			return -EBADMSG;
		count[type]++;
		r->type = type;
		r->nfield = nfield;
		r->first = m->nfld;
		for (uint8_t j = 0; j < nfield; j++) {
			uint8_t id = wire_read_u8(w);
			uint16_t n = wire_read_u16(w);
			const uint8_t *v = wire_read_ref(w, n);
			struct agent_ctl_field *f;

			if (!v || id == 0 || id >= AGENT_CTL_F_MAX_ ||
			    !(rtypes[type].allowed & AGENT_CTL_BIT(id)) || (seen & AGENT_CTL_BIT(id)) ||
			    !value_ok(id, v, n))
				return -EBADMSG;
			seen |= AGENT_CTL_BIT(id);
			/* each field takes at least 3 bytes and needs at most len + 1: both always fit */
			if (m->nfld >= sizeof(m->fld) / sizeof(m->fld[0]) || m->used + n + 1 > sizeof(m->data))
				return -EBADMSG;
			f = &m->fld[m->nfld++];
			f->id = id;
			f->len = n;
			f->off = m->used;
			memcpy(m->data + m->used, v, n);
			m->data[m->used + n] = 0;
			m->used += n + 1u;
		}
		if ((seen & rule->required) != rule->required)
			return -EBADMSG;
		m->nrec++;
	}
	for (const struct rec_rule *r = c->rules; r < c->rules + 4 && r->type; r++)
		if (count[r->type] < r->min)
			return -EBADMSG;
	return wire_avail(w) == 0 && !wire_err(w) ? 0 : -EBADMSG;
}

int agent_ctl_parse(struct agent_ctl_msg *m, const uint8_t *frame, size_t len)
{
	struct wire w = wire_reader(frame, len);
	size_t total;
	int err;

	wipe(m);
	if (len < AGENT_CTL_HDR || agent_ctl_frame_size(frame, &total) || total != len)
		return -EBADMSG;
	wire_skip(&w, AGENT_CTL_HDR);
	err = parse_body(m, &w);
	if (err)
		wipe(m);
	return err;
}

int agent_ctl_encode(const struct agent_ctl_msg *m, uint8_t *buf, size_t len)
{
	struct agent_ctl_writer cw;

	agent_ctl_write_begin(&cw, buf, len, m->code);
	for (uint16_t i = 0; i < m->nrec; i++) {
		const struct agent_ctl_rec *r = &m->rec[i];

		agent_ctl_write_rec(&cw, r->type);
		for (uint8_t j = 0; j < r->nfield; j++) {
			const struct agent_ctl_field *f = &m->fld[r->first + j];

			put_field(&cw, f->id, fields[f->id].kind, m->data + f->off, f->len);
		}
	}
	return agent_ctl_write_end(&cw);
}

/* ---- accessors ---- */

const struct agent_ctl_rec *agent_ctl_find(const struct agent_ctl_msg *m, uint8_t type, size_t idx)
{
	for (uint16_t i = 0; i < m->nrec; i++)
		if (m->rec[i].type == type && idx-- == 0)
			return &m->rec[i];
	return NULL;
}

size_t agent_ctl_count(const struct agent_ctl_msg *m, uint8_t type)
{
	size_t n = 0;

	for (uint16_t i = 0; i < m->nrec; i++)
		n += m->rec[i].type == type;
	return n;
}

static const struct agent_ctl_field *field(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id)
{
	if (!r)
		return NULL;
	for (uint8_t j = 0; j < r->nfield; j++)
		if (m->fld[r->first + j].id == id)
			return &m->fld[r->first + j];
	return NULL;
}

const char *agent_ctl_str(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id)
{
	const struct agent_ctl_field *f = field(m, r, id);

	return f && fields[id].kind == K_STR ? (const char *)m->data + f->off : NULL;
}

bool agent_ctl_uint(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, uint32_t *v)
{
	const struct agent_ctl_field *f = field(m, r, id);
	const uint8_t *p;

	if (!f || fields[id].kind != K_U32)
		return false;
	p = m->data + f->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return true;
}

bool agent_ctl_bool(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, bool *v)
{
	const struct agent_ctl_field *f = field(m, r, id);

	if (!f || fields[id].kind != K_BOOL)
		return false;
	*v = m->data[f->off] != 0;
	return true;
}

const uint8_t *agent_ctl_addr(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id)
{
	const struct agent_ctl_field *f = field(m, r, id);

	return f && (fields[id].kind == K_IP4 || fields[id].kind == K_IP6) ? m->data + f->off : NULL;
}

const uint8_t *agent_ctl_secret(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, size_t *n)
{
	const struct agent_ctl_field *f = field(m, r, id);

	if (!f || fields[id].kind != K_SECRET)
		return NULL;
	*n = f->len;
	return m->data + f->off;
}

/* ---- rendering ---- */

static const char *ip4(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, char *b)
{
	const uint8_t *a = agent_ctl_addr(m, r, id);

	return a ? inet_ntop(AF_INET, a, b, INET_ADDRSTRLEN) : NULL;
}

static const char *ip6(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t id, char *b)
{
	const uint8_t *a = agent_ctl_addr(m, r, id);

	return a ? inet_ntop(AF_INET6, a, b, INET6_ADDRSTRLEN) : NULL;
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static const char *mapping_name(const char *s)
{
	if (!s)
		return "?";
	if (!strcmp(s, "pcp"))
		return "PCP";
	if (!strcmp(s, "nat-pmp"))
		return "NAT-PMP";
	if (!strcmp(s, "upnp"))
		return "UPnP";
	if (!strcmp(s, "rsip"))
		return "RSIP";
	return s;
}

/* "203.0.113.10:4500", or "-" */
static const char *endpoint(const struct agent_ctl_msg *m, const struct agent_ctl_rec *r, uint8_t addr_id,
			    char *b, size_t blen)
{
	char a[INET6_ADDRSTRLEN];
	uint32_t port;
	bool v6 = false;

	/* a peer's outer address is IPv4 (outer) or IPv6 (outer6), written "[addr]:port" */
	if (!ip4(m, r, addr_id, a)) {
		if (addr_id != AGENT_CTL_F_OUTER || !ip6(m, r, AGENT_CTL_F_OUTER6, a))
			return "-";
		v6 = true;
	}
	if (agent_ctl_uint(m, r, AGENT_CTL_F_PORT, &port))
		snprintf(b, blen, v6 ? "[%s]:%u" : "%s:%u", a, (unsigned)port);
	else
		snprintf(b, blen, "%s", a);
	return b;
}

/* "14:03:27": the time of day of @p unix_s, local when @p utc_offset says how, else "14:03:27 UTC" */
static void put_time_of_day(struct agent_text_out *o, uint32_t unix_s, agent_ctl_utc_offset_fn utc_offset)
{
	int64_t t = (int64_t)unix_s + (utc_offset ? utc_offset(unix_s) : 0);
	int64_t s = ((t % 86400) + 86400) % 86400;

	agent_text_put(o, "%02d:%02d:%02d%s", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60),
		       utc_offset ? "" : " UTC");
}

/* docs/authority.md §1: what this host is in the account authority, and the join code while it waits */
static void text_authority(struct agent_text_out *o, const struct agent_ctl_msg *m, const struct agent_ctl_rec *acc)
{
	const char *role = agent_ctl_str(m, acc, AGENT_CTL_F_AUTHORITY);
	const char *code = agent_ctl_str(m, acc, AGENT_CTL_F_JOIN_CODE);

	if (role && !strcmp(role, "signer"))
		agent_text_put(o, "authority signer (approves, renews and revokes; tunnels use certificates)\n");
	else if (role && !strcmp(role, "member"))
		agent_text_put(o, "authority member (tunnels use certificates)\n");
	else if (role && code)
		agent_text_put(o, "authority joining: run `autotunnel approve %s` on a signer of the account\n", code);
	else if (role)
		agent_text_put(o, "authority joining\n");
}

/*
 * The relay line of status and netcheck (@p label "relay    " or "relay      "), nothing from an
 * agent without one: "via HOST:PORT (udp), relayed ADDR:PORT, rtt N ms".
 */
static void text_relay(struct agent_text_out *o, const struct agent_ctl_msg *m, const struct agent_ctl_rec *r,
		       const char *label)
{
	const char *st = agent_ctl_str(m, r, AGENT_CTL_F_RELAY);
	const char *server = or_dash(agent_ctl_str(m, r, AGENT_CTL_F_RELAY_SERVER));
	const char *tr = or_dash(agent_ctl_str(m, r, AGENT_CTL_F_RELAY_TRANSPORT));
	char a[INET_ADDRSTRLEN];
	uint32_t u = 0;

	if (!st)
		return;
	agent_text_put(o, "%s", label);
	if (!strcmp(st, "allocated")) {
		agent_text_put(o, "via %s (%s)", server, tr);
		if (ip4(m, r, AGENT_CTL_F_RELAYED, a)) {
			(void)agent_ctl_uint(m, r, AGENT_CTL_F_RELAYED_PORT, &u);
			agent_text_put(o, ", relayed address %s:%u", a, (unsigned)u);
		}
		if (agent_ctl_uint(m, r, AGENT_CTL_F_RELAY_RTT_US, &u))
			agent_text_put(o, ", rtt %u.%u ms", (unsigned)(u / 1000), (unsigned)(u % 1000 / 100));
	} else if (!strcmp(st, "no-server")) {
		agent_text_put(o, "none: the account's server names no relay (TURN)");
	} else if (!strcmp(st, "failed")) {
		agent_text_put(o, "%s (%s): failed, trying again (see the agent's log)", server, tr);
	} else {
		agent_text_put(o, "asking %s (%s) for a relayed address", server, tr);
	}
	agent_text_put(o, "\n");
}

/*
 * Why a peer with no published location is unreachable after hole punching
 * ran (@p self: status's own record, with our relay; NULL: not known): no
 * pair of candidates answered, and the relay, which would have been a pair
 * of the same round (docs/paths.md §9.8), could not help either.
 */
static void text_no_direct(struct agent_text_out *o, const struct agent_ctl_msg *m, const struct agent_ctl_rec *self)
{
	const char *rs = self ? agent_ctl_str(m, self, AGENT_CTL_F_RELAY) : NULL;

	agent_text_put(o, "no direct path worked");
	if (!self)
		return;
	if (!rs)
		agent_text_put(o, "; relay: none (relay = never)");
	else if (!strcmp(rs, "allocated"))
		agent_text_put(o, "; relay: ours did not reach the peer either");
	else if (!strcmp(rs, "no-server"))
		agent_text_put(o, "; relay: none, the account's server names no relay (TURN)");
	else if (!strcmp(rs, "failed"))
		agent_text_put(o, "; relay: ours failed");
	else
		agent_text_put(o, "; relay: ours is not ready yet");
}

static void text_status(struct agent_text_out *o, const struct agent_ctl_msg *m, agent_ctl_utc_offset_fn utc_offset)
{
	const struct agent_ctl_rec *acc = agent_ctl_find(m, AGENT_CTL_R_ACCOUNT, 0);
	const struct agent_ctl_rec *self = agent_ctl_find(m, AGENT_CTL_R_SELF, 0);
	char a6[INET6_ADDRSTRLEN], ep[64];
	bool b = false;
	uint32_t u;

	if (acc && agent_ctl_bool(m, acc, AGENT_CTL_F_SIGNED_IN, &b) && b) {
		agent_text_put(o, "account  %s   (signed in", or_dash(agent_ctl_str(m, acc, AGENT_CTL_F_DOMAIN)));
		if (agent_ctl_uint(m, acc, AGENT_CTL_F_HOSTS, &u))
			agent_text_put(o, ", %u host%s", (unsigned)u, u == 1 ? "" : "s");
		agent_text_put(o, ")\n");
		if (agent_ctl_str(m, acc, AGENT_CTL_F_DETAIL))
			agent_text_put(o, "name     %s\n", agent_ctl_str(m, acc, AGENT_CTL_F_DETAIL));
		text_authority(o, m, acc);
	} else if (acc && agent_ctl_str(m, acc, AGENT_CTL_F_DOMAIN)) {
		agent_text_put(o, "account  %s   (signed out)\n", agent_ctl_str(m, acc, AGENT_CTL_F_DOMAIN));
	} else {
		agent_text_put(o, "account  none (sign in with: autotunnel login ACCOUNT --server HOST)\n");
	}
	if (b && agent_ctl_str(m, acc, AGENT_CTL_F_SERVER_STATE)) {
		const char *ss = agent_ctl_str(m, acc, AGENT_CTL_F_SERVER_STATE);

		agent_text_put(o, "server   %s   ", or_dash(agent_ctl_str(m, acc, AGENT_CTL_F_SERVER)));
		if (!strcmp(ss, "connected")) {
			agent_text_put(o, "connected, LLQ up\n");
		} else if (!strcmp(ss, "push")) {
			agent_text_put(o, "connected, DNS Push\n");
		} else if (!strcmp(ss, "polling") && agent_ctl_uint(m, acc, AGENT_CTL_F_SERVER_LOST_SINCE, &u)) {
			agent_text_put(o, "server lost since ");
			put_time_of_day(o, u, utc_offset);
			agent_text_put(o, ", polling\n");
		} else if (!strcmp(ss, "polling")) {
			/* an older agent, or LLQs refused on a connection that stayed up */
			agent_text_put(o, "server lost, polling until it answers\n");
		} else {
			agent_text_put(o, "connecting\n");
		}
	}
	if (self) {
		const char *nat = agent_ctl_str(m, self, AGENT_CTL_F_NAT);
		const char *map = agent_ctl_str(m, self, AGENT_CTL_F_MAPPING);

		const char *e = endpoint(m, self, AGENT_CTL_F_EXTERNAL, ep, sizeof(ep));

		agent_text_put(o, "this     %-8s %s   ", or_dash(agent_ctl_str(m, self, AGENT_CTL_F_LABEL)),
		    or_dash(ip6(m, self, AGENT_CTL_F_ULA, a6)));
		if (nat && !strcmp(nat, "none"))
			agent_text_put(o, "public address %s", e);
		else if (nat && !strcmp(nat, "nat") && map && strcmp(map, "none"))
			agent_text_put(o, "behind NAT %s via %s", e, mapping_name(map));
		else if (nat && !strcmp(nat, "nat"))
			agent_text_put(o, "behind NAT, no port mapping: reachable by hole punching");
		else if (nat && !strcmp(nat, "double"))
			agent_text_put(o, "behind two NATs (double NAT): reachable by hole punching");
		else
			agent_text_put(o, "network not known yet");
		agent_text_put(o, "\n");
		text_relay(o, m, self, "relay    ");
	}
	for (size_t i = 0; i < agent_ctl_count(m, AGENT_CTL_R_PEER); i++) {
		const struct agent_ctl_rec *p = agent_ctl_find(m, AGENT_CTL_R_PEER, i);
		const char *st = agent_ctl_str(m, p, AGENT_CTL_F_STATE);
		const char *e = endpoint(m, p, AGENT_CTL_F_OUTER, ep, sizeof(ep));
		bool keep = false;

		agent_text_put(o, "peer     %-8s %s   ", or_dash(agent_ctl_str(m, p, AGENT_CTL_F_LABEL)),
		    or_dash(ip6(m, p, AGENT_CTL_F_ULA, a6)));
		(void)agent_ctl_bool(m, p, AGENT_CTL_F_KEEP, &keep);
		if (st && !strcmp(st, "up")) {
			const char *path = agent_ctl_str(m, p, AGENT_CTL_F_PATH);
			bool via = false;

			/*
			 * How the path was found (issue 11): lan, ipv6, mapped,
			 * public, punched; a peer reached through our relay is
			 * "relayed" (issue 12).
			 */
			(void)agent_ctl_bool(m, p, AGENT_CTL_F_VIA_RELAY, &via);
			if (via || (path && !strcmp(path, "relay")))
				path = "relayed";
			agent_text_put(o, "%s %s", path ? path : "direct", e);
			if (agent_ctl_uint(m, p, AGENT_CTL_F_RTT_MS, &u))
				agent_text_put(o, "   rtt %u ms", (unsigned)u);
			if (agent_ctl_uint(m, p, AGENT_CTL_F_HANDSHAKE_AGE_S, &u))
				agent_text_put(o, "   last handshake %u s ago", (unsigned)u);
			/* the PSK was the only way before the account authority: only the new way is named */
			if (agent_ctl_str(m, p, AGENT_CTL_F_AUTH) && !strcmp(agent_ctl_str(m, p, AGENT_CTL_F_AUTH), "cert"))
				agent_text_put(o, "   certificate");
		} else if (st && !strcmp(st, "connecting") && !strcmp(e, "-")) {
			agent_text_put(o, "connecting (looking for a direct path: hole punching)");
		} else if (st && !strcmp(st, "connecting")) {
			agent_text_put(o, "connecting to %s", e);
		} else if (st && !strcmp(st, "unreachable")) {
			bool nd = false;

			(void)agent_ctl_bool(m, p, AGENT_CTL_F_NO_DIRECT, &nd);
			if (nd) {
				agent_text_put(o, "unreachable (");
				text_no_direct(o, m, self);
				agent_text_put(o, ")");
			} else if (strcmp(e, "-")) {
				agent_text_put(o, "unreachable at %s (no answer)", e);
			} else {
				agent_text_put(o, "unreachable (no location published)");
			}
		} else {
			agent_text_put(o, keep ? "idle (kept up: connecting soon)" : "idle (tunnel on demand)");
		}
		agent_text_put(o, "\n");
	}
}

/* One line per host, each column as wide as its widest entry. */
static void text_hosts(struct agent_text_out *o, const struct agent_ctl_msg *m)
{
	size_t n = agent_ctl_count(m, AGENT_CTL_R_HOST);
	char a6[INET6_ADDRSTRLEN], ep[64];
	int wl = 0, wf = 0, wu = 0, we = 0;

	if (n == 0)
		agent_text_put(o, "no hosts\n");
	for (size_t i = 0; i < n; i++) {
		const struct agent_ctl_rec *h = agent_ctl_find(m, AGENT_CTL_R_HOST, i);
		int l = (int)strlen(or_dash(agent_ctl_str(m, h, AGENT_CTL_F_LABEL)));
		int f = (int)strlen(or_dash(agent_ctl_str(m, h, AGENT_CTL_F_FQDN)));
		int u = (int)strlen(or_dash(ip6(m, h, AGENT_CTL_F_ULA, a6)));
		int e = (int)strlen(endpoint(m, h, AGENT_CTL_F_OUTER, ep, sizeof(ep)));

		wl = l > wl ? l : wl;
		wf = f > wf ? f : wf;
		wu = u > wu ? u : wu;
		we = e > we ? e : we;
	}
	for (size_t i = 0; i < n; i++) {
		const struct agent_ctl_rec *h = agent_ctl_find(m, AGENT_CTL_R_HOST, i);
		bool self = false;

		(void)agent_ctl_bool(m, h, AGENT_CTL_F_SELF, &self);
		agent_text_put(o, "%-*s   %-*s   %-*s   ", wl, or_dash(agent_ctl_str(m, h, AGENT_CTL_F_LABEL)),
		    wf, or_dash(agent_ctl_str(m, h, AGENT_CTL_F_FQDN)), wu, or_dash(ip6(m, h, AGENT_CTL_F_ULA, a6)));
		/* no trailing blanks: the last column is padded only when "(this host)" follows */
		if (self)
			agent_text_put(o, "%-*s   (this host)\n", we, endpoint(m, h, AGENT_CTL_F_OUTER, ep, sizeof(ep)));
		else
			agent_text_put(o, "%s\n", endpoint(m, h, AGENT_CTL_F_OUTER, ep, sizeof(ep)));
	}
}

static void text_services(struct agent_text_out *o, const struct agent_ctl_msg *m)
{
	size_t n = agent_ctl_count(m, AGENT_CTL_R_SERVICE);

	if (n == 0)
		agent_text_put(o, "no services\n");
	for (size_t i = 0; i < n; i++) {
		const struct agent_ctl_rec *s = agent_ctl_find(m, AGENT_CTL_R_SERVICE, i);
		const char *txt = agent_ctl_str(m, s, AGENT_CTL_F_TXT);
		uint32_t port = 0;

		(void)agent_ctl_uint(m, s, AGENT_CTL_F_PORT, &port);
		agent_text_put(o, "%-10s %-8s %s:%u", or_dash(agent_ctl_str(m, s, AGENT_CTL_F_TYPE)),
		    or_dash(agent_ctl_str(m, s, AGENT_CTL_F_INSTANCE)),
		    or_dash(agent_ctl_str(m, s, AGENT_CTL_F_HOST)), (unsigned)port);
		if (txt && *txt)
			agent_text_put(o, "   %s", txt);
		agent_text_put(o, "\n");
	}
}

/* What the mapping and filtering behaviour (RFC 5780 §4) mean for reaching this host, in plain words. */
static const char *behavior_meaning(const char *map, const char *filt)
{
	bool open = filt && !strcmp(filt, "endpoint-independent");

	if (!map || !strcmp(map, "unknown"))
		return NULL;
	if (!strcmp(map, "none"))
		return open ? "no NAT and no filtering: peers can reach this host directly"
			    : "no NAT, but a firewall filters: peers reach this host when both sides send at once "
			      "(hole punching)";
	if (!strcmp(map, "endpoint-independent"))
		return open ? "endpoint-independent mapping and filtering: peers can reach this host at its "
			      "reflexive address"
			    : "endpoint-independent mapping: peers behind most NATs can reach this host by hole punching";
	return "endpoint-dependent mapping: direct connections need the other side to be reachable; "
	       "a relay will be needed otherwise";
}

/*
 * Which peers this network reaches directly, from its mapping and filtering
 * (docs/paths.md §7); NULL when they are not known.
 */
static const char *reach_words(const char *map, const char *filt)
{
	if (!map || !filt || !strcmp(map, "unknown"))
		return NULL;
	if (!strcmp(map, "none") && !strcmp(filt, "none"))
		return "every peer: public, mapped, and behind any NAT";
	if (!strcmp(map, "endpoint-independent") || !strcmp(map, "none")) {
		if (!strcmp(filt, "endpoint-independent") || !strcmp(filt, "none"))
			return "every peer: public, mapped, and behind any NAT (they reach our reflexive address)";
		if (!strcmp(filt, "address-dependent"))
			return "public and mapped peers, peers behind endpoint-independent NATs (hole punching) and "
			       "behind endpoint-dependent ones (their first packet teaches their address)";
		return "public and mapped peers, and peers behind endpoint-independent NATs (most home routers, "
		       "hole punching); not peers behind endpoint-dependent (\"symmetric\") NATs: they need a relay";
	}
	return "public and mapped peers, and peers whose NAT filters by address only or not at all; not peers "
	       "behind most home routers or symmetric NATs: they need a relay";
}

/* netcheck's STUN lines (absent from an agent without them: nothing printed). */
static void text_stun(struct agent_text_out *o, const struct agent_ctl_msg *m, const struct agent_ctl_rec *r)
{
	const char *stun = agent_ctl_str(m, r, AGENT_CTL_F_STUN);
	const char *server = or_dash(agent_ctl_str(m, r, AGENT_CTL_F_STUN_SERVER));
	const char *map = agent_ctl_str(m, r, AGENT_CTL_F_NAT_MAPPING);
	const char *filt = agent_ctl_str(m, r, AGENT_CTL_F_NAT_FILTERING);
	const char *meaning = behavior_meaning(map, filt);
	char a[INET_ADDRSTRLEN];
	uint32_t port = 0;

	if (!stun)
		return;
	if (!strcmp(stun, "no-server")) {
		agent_text_put(o, "stun       none: the account's server names no STUN server\n");
		return;
	}
	if (!strcmp(stun, "lookup-failed")) {
		agent_text_put(o, "stun       the STUN server could not be found (_stun._udp SRV): see the agent's log\n");
		return;
	}
	if (!strcmp(stun, "checking")) {
		agent_text_put(o, "stun       %s: still checking\n", server);
		return;
	}
	if (!strcmp(stun, "no-answer")) {
		agent_text_put(o, "stun       %s: did not answer over UDP (UDP blocked, or the server is down): "
			       "no reflexive address\n", server);
		return;
	}
	agent_text_put(o, "stun       %s: answered over UDP\n", server);
	if (ip4(m, r, AGENT_CTL_F_REFLEXIVE, a)) {
		(void)agent_ctl_uint(m, r, AGENT_CTL_F_REFLEXIVE_PORT, &port);
		agent_text_put(o, "reflexive  %s:%u\n", a, (unsigned)port);
	}
	agent_text_put(o, "behaviour  mapping %s, filtering %s\n", or_dash(map), or_dash(filt));
	if (meaning)
		agent_text_put(o, "           %s\n", meaning);
	if (reach_words(map, filt))
		agent_text_put(o, "direct     %s\n", reach_words(map, filt));
}

/* Issue 11: a global IPv6 address, and whether the STUN server answered over IPv6 (only with an address). */
static void text_ipv6(struct agent_text_out *o, const struct agent_ctl_msg *m, const struct agent_ctl_rec *r)
{
	const char *stun6 = agent_ctl_str(m, r, AGENT_CTL_F_STUN6);
	char a6[INET6_ADDRSTRLEN];

	if (!ip6(m, r, AGENT_CTL_F_ADDRESS6, a6))
		return;
	agent_text_put(o, "ipv6       %s: ", a6);
	if (stun6 && !strcmp(stun6, "answered"))
		agent_text_put(o, "the STUN server answered over IPv6\n");
	else if (stun6 && !strcmp(stun6, "no-answer"))
		agent_text_put(o, "the STUN server did not answer over IPv6 (IPv6 blocked, or no route)\n");
	else if (stun6 && !strcmp(stun6, "checking"))
		agent_text_put(o, "asking the STUN server over IPv6\n");
	else if (stun6 && !strcmp(stun6, "no-address"))
		agent_text_put(o, "global address (the STUN server has no IPv6 address to check it with)\n");
	else
		agent_text_put(o, "global address\n");
}

static void text_netcheck(struct agent_text_out *o, const struct agent_ctl_msg *m)
{
	const struct agent_ctl_rec *r = agent_ctl_find(m, AGENT_CTL_R_NET, 0);
	const char *nat = agent_ctl_str(m, r, AGENT_CTL_F_NAT);
	const char *map = agent_ctl_str(m, r, AGENT_CTL_F_MAPPING);
	const char *detail = agent_ctl_str(m, r, AGENT_CTL_F_DETAIL);
	const char *server = agent_ctl_str(m, r, AGENT_CTL_F_SERVER);
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], ep[64];
	uint32_t u;
	bool tls = false;

	if (ip4(m, r, AGENT_CTL_F_ADDRESS, a)) {
		agent_text_put(o, "primary    %s on %s", a, or_dash(agent_ctl_str(m, r, AGENT_CTL_F_IFACE)));
		if (agent_ctl_str(m, r, AGENT_CTL_F_MAC))
			agent_text_put(o, " (%s)", agent_ctl_str(m, r, AGENT_CTL_F_MAC));
		if (ip4(m, r, AGENT_CTL_F_GATEWAY, g))
			agent_text_put(o, ", gateway %s", g);
		agent_text_put(o, "\n");
	} else {
		agent_text_put(o, "primary    none (no default route: offline)\n");
	}
	text_ipv6(o, m, r);
	if (!nat || !strcmp(nat, "unknown"))
		agent_text_put(o, "nat        unknown\n");
	else if (!strcmp(nat, "none"))
		agent_text_put(o, "nat        no (public address)\n");
	else if (!strcmp(nat, "nat"))
		agent_text_put(o, "nat        yes\n");
	else
		agent_text_put(o, "nat        double NAT (a NAT behind a NAT): peers reach this host "
			       "by hole punching\n");
	const char *e = endpoint(m, r, AGENT_CTL_F_EXTERNAL, ep, sizeof(ep));

	if (map && strcmp(map, "none")) {
		agent_text_put(o, "mapping    %s: %s", mapping_name(map), e);
		if (agent_ctl_uint(m, r, AGENT_CTL_F_LIFETIME_S, &u))
			agent_text_put(o, " for %u s", (unsigned)u);
		agent_text_put(o, "\n");
	} else if (nat && !strcmp(nat, "none")) {
		agent_text_put(o, "mapping    not needed (public address %s)\n", e);
	} else if (map) {
		agent_text_put(o, "mapping    none: PCP, NAT-PMP and UPnP did not answer; "
			       "peers reach this host by hole punching\n");
	} else {
		agent_text_put(o, "mapping    not tried yet\n");
	}
	if (server) {
		if (agent_ctl_bool(m, r, AGENT_CTL_F_SERVER_TLS, &tls) && tls)
			agent_text_put(o, "server     %s: reachable over TLS\n", server);
		else
			agent_text_put(o, "server     %s: not reachable over TLS (%s)\n", server,
			    or_dash(agent_ctl_str(m, r, AGENT_CTL_F_SERVER_ERROR)));
	} else {
		agent_text_put(o, "server     none (not signed in)\n");
	}
	if (detail)
		agent_text_put(o, "note       %s\n", detail);
	text_stun(o, m, r);
	text_relay(o, m, r, "relay      ");
	{
		const char *stun = agent_ctl_str(m, r, AGENT_CTL_F_STUN);
		const char *rs = agent_ctl_str(m, r, AGENT_CTL_F_RELAY);
		const char *tr = agent_ctl_str(m, r, AGENT_CTL_F_RELAY_TRANSPORT);

		/* neither STUN nor TURN got through over UDP, or the relay answered only over TCP/TLS */
		if (stun && !strcmp(stun, "no-answer") && rs && !strcmp(rs, "allocated") && tr && strcmp(tr, "udp"))
			agent_text_put(o, "udp        blocked on this network: tunnels go through the relay over %s\n",
				       !strcmp(tr, "tls") ? "TLS" : "TCP");
		else if (stun && !strcmp(stun, "no-answer") && rs && !strcmp(rs, "failed"))
			agent_text_put(o, "udp        no answer over UDP from the STUN or the TURN server: "
				       "UDP may be blocked on this network\n");
	}
}

static void text_ping(struct agent_text_out *o, const struct agent_ctl_msg *m)
{
	const struct agent_ctl_rec *r = agent_ctl_find(m, AGENT_CTL_R_PING, 0);
	char a6[INET6_ADDRSTRLEN], ep[64];
	uint32_t sent = 0, recv = 0, rtt, us;

	(void)agent_ctl_uint(m, r, AGENT_CTL_F_SENT, &sent);
	(void)agent_ctl_uint(m, r, AGENT_CTL_F_RECEIVED, &recv);
	agent_text_put(o, "%s (%s) via %s: %u/%u replies", or_dash(agent_ctl_str(m, r, AGENT_CTL_F_HOST)),
	    or_dash(ip6(m, r, AGENT_CTL_F_ULA, a6)), endpoint(m, r, AGENT_CTL_F_OUTER, ep, sizeof(ep)),
	    (unsigned)recv, (unsigned)sent);
	if (agent_ctl_uint(m, r, AGENT_CTL_F_RTT_US, &us) && us < 9995) {
		/* a LAN or veth answers in well under a millisecond: "0 ms" would say nothing */
		us = (us + 5) / 10;
		agent_text_put(o, ", rtt %u.%02u ms", (unsigned)(us / 100), (unsigned)(us % 100));
	} else if (agent_ctl_uint(m, r, AGENT_CTL_F_RTT_US, &us)) {
		agent_text_put(o, ", rtt %u ms", (unsigned)(us / 1000 + (us % 1000 >= 500)));
	} else if (agent_ctl_uint(m, r, AGENT_CTL_F_RTT_MS, &rtt)) {
		agent_text_put(o, ", rtt %u ms", (unsigned)rtt);
	}
	/* no reply: where the tunnel stands says why (status's words) */
	if (agent_ctl_str(m, r, AGENT_CTL_F_STATE)) {
		const char *st = agent_ctl_str(m, r, AGENT_CTL_F_STATE);

		if (!strcmp(st, "up"))
			agent_text_put(o, "; the tunnel is up, the host did not answer");
		else if (!strcmp(st, "connecting"))
			agent_text_put(o, "; the tunnel is still being made");
		else if (!strcmp(st, "unreachable")) {
			bool nd = false;

			(void)agent_ctl_bool(m, r, AGENT_CTL_F_NO_DIRECT, &nd);
			agent_text_put(o, "; the tunnel could not be made: %s",
			    nd ? "no direct path worked" :
			    strcmp(endpoint(m, r, AGENT_CTL_F_OUTER, ep, sizeof(ep)), "-") ? "no answer from the peer"
											   : "no location published");
		}
		else
			agent_text_put(o, "; no tunnel");
	}
	agent_text_put(o, "\n");
}

int agent_ctl_render_text(const struct agent_ctl_msg *m, char *out, size_t len)
{
	return agent_ctl_render_text_tz(m, NULL, out, len);
}

int agent_ctl_render_text_tz(const struct agent_ctl_msg *m, agent_ctl_utc_offset_fn utc_offset, char *out,
			     size_t len)
{
	struct agent_text_out o = { .buf = out, .len = len };
	const struct agent_ctl_rec *r;

	if (len)
		out[0] = '\0';
	switch (m->code) {
	case AGENT_CTL_REPLY | AGENT_CTL_STATUS:
		text_status(&o, m, utc_offset);
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_HOSTS:
		text_hosts(&o, m);
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_SERVICES:
		text_services(&o, m);
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_NETCHECK:
		text_netcheck(&o, m);
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_PING:
		text_ping(&o, m);
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_LOGIN:
		r = agent_ctl_find(m, AGENT_CTL_R_ACCOUNT, 0);
		if (agent_ctl_str(m, r, AGENT_CTL_F_DETAIL))
			agent_text_put(&o, "%s\n", agent_ctl_str(m, r, AGENT_CTL_F_DETAIL));
		agent_text_put(&o, "signed in to %s\n", or_dash(agent_ctl_str(m, r, AGENT_CTL_F_DOMAIN)));
		/* docs/authority.md §2: shown this once, never stored in clear by the agent */
		if (agent_ctl_str(m, r, AGENT_CTL_F_RECOVERY_KEY))
			agent_text_put(&o, "this computer created the account authority; its recovery key, shown only now:\n"
				       "  %s\nwrite it down and keep it safe: it enrols a computer as a signer "
				       "(autotunnel login ... --recovery-key)\n", agent_ctl_str(m, r, AGENT_CTL_F_RECOVERY_KEY));
		else if (agent_ctl_str(m, r, AGENT_CTL_F_JOIN_CODE))
			agent_text_put(&o, "join code %s: run `autotunnel approve %s` on a signer of the account\n",
				       agent_ctl_str(m, r, AGENT_CTL_F_JOIN_CODE), agent_ctl_str(m, r, AGENT_CTL_F_JOIN_CODE));
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_APPROVE:
	case AGENT_CTL_REPLY | AGENT_CTL_REVOKE:
	case AGENT_CTL_REPLY | AGENT_CTL_ISSUE:
	case AGENT_CTL_REPLY | AGENT_CTL_RENEW:
		r = agent_ctl_find(m, AGENT_CTL_R_ACCOUNT, 0);
		agent_text_put(&o, "%s\n", or_dash(agent_ctl_str(m, r, AGENT_CTL_F_DETAIL)));
		break;
	case AGENT_CTL_REPLY | AGENT_CTL_LOGOUT:
		agent_text_put(&o, "signed out; this host's records are withdrawn\n");
		break;
	case AGENT_CTL_ERROR:
		r = agent_ctl_find(m, AGENT_CTL_R_ERROR, 0);
		agent_text_put(&o, "error: %s\n", or_dash(agent_ctl_str(m, r, AGENT_CTL_F_MESSAGE)));
		break;
	default:
		return -EINVAL;
	}
	return agent_text_done(&o);
}

static void json_str(struct agent_text_out *o, const char *s)
{
	agent_text_put(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			agent_text_put(o, "\\%c", *s);
		else
			agent_text_put(o, "%c", *s);	/* printable ASCII only: checked on the way in */
	}
	agent_text_put(o, "\"");
}

static void json_rec(struct agent_text_out *o, const struct agent_ctl_msg *m,
		     const struct agent_ctl_rec *r)
{
	bool first = true;

	agent_text_put(o, "{");
	/* in field-id order, whatever order they came in */
	for (uint8_t id = 1; id < AGENT_CTL_F_MAX_; id++) {
		const struct agent_ctl_field *f = field(m, r, id);
		const uint8_t *v;
		char a[INET6_ADDRSTRLEN];

		if (!f || fields[id].kind == K_SECRET)
			continue;
		v = m->data + f->off;
		agent_text_put(o, first ? "\"%s\":" : ",\"%s\":", fields[id].name);
		first = false;
		switch (fields[id].kind) {
		case K_STR:
			json_str(o, (const char *)v);
			break;
		case K_U32:
			agent_text_put(o, "%u", (unsigned)((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
							   (uint32_t)v[2] << 8 | v[3]));
			break;
		case K_BOOL:
			agent_text_put(o, v[0] ? "true" : "false");
			break;
		case K_IP4:
			agent_text_put(o, "\"%s\"", inet_ntop(AF_INET, v, a, sizeof(a)));
			break;
		case K_IP6:
			agent_text_put(o, "\"%s\"", inet_ntop(AF_INET6, v, a, sizeof(a)));
			break;
		case K_SECRET:
			break;
		}
	}
	agent_text_put(o, "}");
}

int agent_ctl_render_json(const struct agent_ctl_msg *m, char *out, size_t len)
{
	struct agent_text_out o = { .buf = out, .len = len };
	const struct code_def *c = code_def(m->code);
	bool first = true;

	if (len)
		out[0] = '\0';
	if (!c)
		return -EINVAL;
	agent_text_put(&o, "{\"schema\":%d", AGENT_CTL_JSON_SCHEMA);
	first = false;
	for (const struct rec_rule *rule = c->rules; rule < c->rules + 4 && rule->type; rule++) {
		bool list = rule->max > 1;
		size_t n = agent_ctl_count(m, rule->type);

		if (rule->type == AGENT_CTL_R_ARGS)
			continue;	/* requests are not rendered */
		if (!list && n == 0)
			continue;
		agent_text_put(&o, first ? "\"%s\":" : ",\"%s\":", rtypes[rule->type].name);
		first = false;
		if (list)
			agent_text_put(&o, "[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				agent_text_put(&o, ",");
			json_rec(&o, m, agent_ctl_find(m, rule->type, i));
		}
		if (list)
			agent_text_put(&o, "]");
	}
	agent_text_put(&o, "}\n");
	return agent_text_done(&o);
}
