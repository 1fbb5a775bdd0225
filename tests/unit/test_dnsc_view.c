/*
 * lib/dnsc/view: peers from DNS answers (RFC 6281 Figure 3): snapshots and
 * LLQ events turned into "peer appeared / moved / gone", foreign or
 * malformed records ignored, the questions to watch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dns/msg.h"
#include "dnsc/view.h"
#include "agent/records.h"

#define D "alice.members.example.net"
#define T_DESK "AutoTunnel-00-22-69-FF-FE-8E-34-2A." D
#define T_DESK2 "AutoTunnel-02-00-00-FF-FE-00-00-01." D

struct msgb {
	uint8_t buf[4096];
	size_t len;
	struct dns_builder b;
	struct dns_msg m;
	bool event;
};

static void name(struct dns_name *n, const char *s)
{
	assert_int_equal(dns_name_from_text(n, s), 0);
}

static void begin(struct msgb *x, const char *q, uint16_t qtype, bool event)
{
	struct dns_name n;

	name(&n, q);
	x->event = event;
	assert_int_equal(dns_builder_init(&x->b, x->buf, sizeof(x->buf), sizeof(x->buf), 1,
					  DNS_FLAG_QR | DNS_FLAG_AA), 0);
	assert_int_equal(dns_builder_question(&x->b, &n, qtype, DNS_CLASS_IN), 0);
	assert_int_equal(dns_builder_section(&x->b, DNS_SEC_ANSWER), 0);
}

static uint32_t ttl(const struct msgb *x, bool removal)
{
	return x->event && removal ? 0xffffffffu : 60;
}

static void ptr(struct msgb *x, const char *owner, const char *target, bool removal)
{
	struct dns_name o, t;

	name(&o, owner);
	name(&t, target);
	assert_int_equal(dns_builder_add_name(&x->b, &o, DNS_TYPE_PTR, ttl(x, removal), &t), 0);
}

static void aaaa(struct msgb *x, const char *owner, uint8_t last, bool removal)
{
	struct dns_name o;
	uint8_t a[16] = { 0xfd, 0x91, 0x11, [15] = last };

	name(&o, owner);
	assert_int_equal(dns_builder_add_aaaa(&x->b, &o, ttl(x, removal), a), 0);
}

static void a4(struct msgb *x, const char *owner, uint8_t last, bool removal)
{
	struct dns_name o;
	uint8_t a[4] = { 198, 51, 100, last };

	name(&o, owner);
	assert_int_equal(dns_builder_add_a(&x->b, &o, ttl(x, removal), a), 0);
}

static void srv_prio(struct msgb *x, const char *owner, uint16_t prio, uint16_t port, const char *target,
		     bool removal)
{
	struct dns_name o;
	struct dns_srv s = { .priority = prio, .port = port };

	name(&o, owner);
	name(&s.target, target);
	assert_int_equal(dns_builder_add_srv(&x->b, &o, ttl(x, removal), &s), 0);
}

static void srv(struct msgb *x, const char *owner, uint16_t port, const char *target, bool removal)
{
	struct dns_name o;
	struct dns_srv s = { .port = port };

	name(&o, owner);
	name(&s.target, target);
	assert_int_equal(dns_builder_add_srv(&x->b, &o, ttl(x, removal), &s), 0);
}

static void txt(struct msgb *x, const char *owner)
{
	static const uint8_t *const strs[] = { (const uint8_t *)"v=1", (const uint8_t *)"model=NUC\x01",
					       (const uint8_t *)"os=Linux" };
	static const uint8_t lens[] = { 3, 10, 8 };
	struct dns_name o;

	name(&o, owner);
	assert_int_equal(dns_builder_add_txt(&x->b, &o, 60, strs, lens, 3), 0);
}

static void apply(struct dnsc_view *v, struct msgb *x)
{
	assert_int_equal(dns_builder_finish(&x->b, &x->len), 0);
	assert_int_equal(dns_msg_parse(&x->m, x->buf, x->len), 0);
	assert_int_equal(dnsc_view_apply(v, &x->m, x->event ? DNSC_APPLY_EVENT : DNSC_APPLY_SNAPSHOT), 0);
}

static int setup(void **state)
{
	struct dnsc_view *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(dnsc_view_init(v, D, "laptop"), 0);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* The host list with laptop (us), desktop and nas; desktop's records. */
static void populate(struct dnsc_view *v)
{
	static struct msgb x;

	begin(&x, "_autotunnel._udp." D, DNS_TYPE_PTR, false);
	ptr(&x, "_autotunnel._udp." D, "laptop." D, false);
	ptr(&x, "_autotunnel._udp." D, "Desktop." D, false);
	ptr(&x, "_autotunnel._udp." D, "nas." D, false);
	apply(v, &x);
	begin(&x, "desktop." D, DNS_TYPE_AAAA, false);
	aaaa(&x, "desktop." D, 7, false);
	apply(v, &x);
	/* the SRV answer carries the target's address in the additional section (RFC 2782) */
	begin(&x, "_autotunnel._udp.desktop." D, DNS_TYPE_SRV, false);
	srv(&x, "_autotunnel._udp.desktop." D, 61001, T_DESK, false);
	assert_int_equal(dns_builder_section(&x.b, DNS_SEC_ADDITIONAL), 0);
	a4(&x, T_DESK, 7, false);
	apply(v, &x);
}

static void test_snapshot(void **state)
{
	struct dnsc_view *v = *state;
	struct dnsc_peer p;

	populate(v);
	assert_int_equal(dnsc_view_count(v), 3);
	/* desktop is complete; nas has no AAAA yet; laptop is us */
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_string_equal(p.label, "desktop");
	assert_string_equal(p.fqdn, "desktop." D);
	assert_int_equal(p.ula[0], 0xfd);
	assert_int_equal(p.ula[15], 7);
	assert_true(p.has_outer);
	assert_int_equal(p.outer4[0], 198);
	assert_int_equal(p.outer4[3], 7);
	assert_int_equal(p.port, 61001);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* the same snapshot again changes nothing */
	populate(v);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
}

static void test_events_move_and_gone(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	struct dnsc_peer p;

	populate(v);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	/* Figure 3: the A of the target changes (the NAT's new address) */
	begin(&x, T_DESK, DNS_TYPE_A, true);
	a4(&x, T_DESK, 7, true);
	a4(&x, T_DESK, 9, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_int_equal(p.outer4[3], 9);
	assert_int_equal(p.port, 61001);
	/* a new port */
	begin(&x, "_autotunnel._udp.desktop." D, DNS_TYPE_SRV, true);
	srv(&x, "_autotunnel._udp.desktop." D, 61001, T_DESK, true);
	srv(&x, "_autotunnel._udp.desktop." D, 4500, T_DESK, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_int_equal(p.port, 4500);
	assert_int_equal(p.outer4[3], 9);
	assert_false(p.relayed);
	/* the same location, now a relayed one (SRV priority 10, docs/relay.md): news, and back */
	begin(&x, "_autotunnel._udp.desktop." D, DNS_TYPE_SRV, true);
	srv(&x, "_autotunnel._udp.desktop." D, 4500, T_DESK, true);
	srv_prio(&x, "_autotunnel._udp.desktop." D, AGENT_SRV_PRIO_RELAYED, 4500, T_DESK, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_true(p.relayed);
	assert_int_equal(p.port, 4500);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	begin(&x, "_autotunnel._udp.desktop." D, DNS_TYPE_SRV, true);
	srv_prio(&x, "_autotunnel._udp.desktop." D, AGENT_SRV_PRIO_RELAYED, 4500, T_DESK, true);
	srv(&x, "_autotunnel._udp.desktop." D, 4500, T_DESK, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_false(p.relayed);
	/* removing a record we do not hold changes nothing */
	begin(&x, T_DESK, DNS_TYPE_A, true);
	a4(&x, T_DESK, 1, true);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* another endpoint: its address is not known until its A comes */
	begin(&x, "_autotunnel._udp.desktop." D, DNS_TYPE_SRV, true);
	srv(&x, "_autotunnel._udp.desktop." D, 4500, T_DESK2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_false(p.has_outer);
	begin(&x, T_DESK2, DNS_TYPE_A, false);
	a4(&x, T_DESK2, 20, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_true(p.has_outer);
	assert_int_equal(p.outer4[3], 20);
	/* the host's lease ended: its PTR is removed, it is gone (and forgotten) */
	begin(&x, "_autotunnel._udp." D, DNS_TYPE_PTR, true);
	ptr(&x, "_autotunnel._udp." D, "desktop." D, true);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_GONE);
	assert_string_equal(p.fqdn, "desktop." D);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	assert_int_equal(dnsc_view_count(v), 2);
	/* nas was never complete: its removal is silent */
	begin(&x, "_autotunnel._udp." D, DNS_TYPE_PTR, false);
	ptr(&x, "_autotunnel._udp." D, "laptop." D, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	assert_int_equal(dnsc_view_count(v), 1);
}

static void test_ignored(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	struct dnsc_peer p;
	unsigned before;

	populate(v);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	before = v->applied;
	begin(&x, "_autotunnel._udp." D, DNS_TYPE_PTR, true);
	/* another account's host, a name two labels down, an endpoint name, a non-host label */
	ptr(&x, "_autotunnel._udp." D, "mallory.bob.members.example.net", false);
	ptr(&x, "_autotunnel._udp." D, "a.b." D, false);
	ptr(&x, "_autotunnel._udp." D, T_DESK, false);
	ptr(&x, "_autotunnel._udp." D, "_x." D, false);
	/* a PTR of another owner */
	ptr(&x, "_other._udp." D, "evil." D, false);
	/* records of hosts not listed */
	aaaa(&x, "evil." D, 1, false);
	srv(&x, "_autotunnel._udp.evil." D, 1, "evil." D, false);
	/* an endpoint outside the account */
	srv(&x, "_autotunnel._udp.desktop." D, 9, "AutoTunnel-1.bob.members.example.net", false);
	apply(v, &x);
	assert_int_equal(v->applied, before);
	assert_int_equal(dnsc_view_count(v), 3);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* an error answer is not a snapshot: nothing is cleared */
	begin(&x, "_autotunnel._udp." D, DNS_TYPE_PTR, false);
	dns_builder_set_rcode(&x.b, DNS_RCODE_SERVFAIL);
	apply(v, &x);
	assert_int_equal(dnsc_view_count(v), 3);
}

static void test_questions_and_txt(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	struct dnsc_question q[16];
	char t[DNS_NAME_TEXT_MAX];
	size_t n;

	n = dnsc_view_questions(v, q, 16);
	assert_int_equal(n, 1);
	assert_true(dns_name_to_text(&q[0].name, t, sizeof(t)) > 0);
	assert_string_equal(t, "_autotunnel._udp." D ".");
	assert_int_equal(q[0].type, DNS_TYPE_PTR);
	populate(v);
	/* PTR; desktop AAAA, SRV, A of its endpoint; nas AAAA, SRV; never our own */
	n = dnsc_view_questions(v, q, 16);
	assert_int_equal(n, 6);
	assert_int_equal(dnsc_view_questions(v, q, 2), 6);
	n = dnsc_view_questions(v, q, 16);
	{
		int a = 0, aaaa_n = 0, s = 0;

		for (size_t i = 0; i < n; i++) {
			assert_true(dns_name_to_text(&q[i].name, t, sizeof(t)) > 0);
			assert_null(strstr(t, "laptop"));
			a += q[i].type == DNS_TYPE_A;
			aaaa_n += q[i].type == DNS_TYPE_AAAA;
			s += q[i].type == DNS_TYPE_SRV;
			if (q[i].type == DNS_TYPE_A)
				assert_string_equal(t, "autotunnel-00-22-69-ff-fe-8e-34-2a." D ".");
		}
		assert_int_equal(a, 1);
		assert_int_equal(aaaa_n, 2);
		assert_int_equal(s, 2);
	}
	assert_int_equal(dnsc_view_extra_questions(v, q, 16), 1);
	assert_int_equal(q[0].type, DNS_TYPE_TXT);
	/* asked once */
	assert_int_equal(dnsc_view_extra_questions(v, q, 16), 0);
	begin(&x, T_DESK, DNS_TYPE_TXT, false);
	txt(&x, T_DESK);
	apply(v, &x);
	for (unsigned i = 0; i < DNSC_VIEW_HOSTS; i++) {
		if (v->h[i].used && strcmp(v->h[i].label, "desktop") == 0) {
			assert_string_equal(v->h[i].model, "NUC?");
			assert_string_equal(v->h[i].os, "Linux");
		}
	}
}

static void test_init(void **state)
{
	struct dnsc_view *v = *state;

	assert_int_equal(dnsc_view_init(v, "net", NULL), -EINVAL);
	assert_int_equal(dnsc_view_init(v, D, "Bad_Label"), -EINVAL);
	assert_int_equal(dnsc_view_init(v, "a..b", NULL), -EINVAL);
	assert_int_equal(dnsc_view_init(v, D, NULL), 0);
}

/* watch_self: our own AAAA is watched (only it), and what it holds is told, never reported as a peer. */
static void test_watch_self(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	struct dnsc_question q[16];
	struct dnsc_peer p;
	char t[DNS_NAME_TEXT_MAX];
	uint8_t u[16];
	size_t n;
	int self_aaaa = 0;

	v->watch_self = true;
	assert_int_equal(dnsc_view_self_ula(v, u), 0);
	populate(v);
	n = dnsc_view_questions(v, q, 16);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++) {
		assert_true(dns_name_to_text(&q[i].name, t, sizeof(t)) > 0);
		if (strstr(t, "laptop")) {
			assert_string_equal(t, "laptop." D ".");
			assert_int_equal(q[i].type, DNS_TYPE_AAAA);
			self_aaaa++;
		}
	}
	assert_int_equal(self_aaaa, 1);
	assert_int_equal(dnsc_view_self_ula(v, u), 0);
	/* another computer puts its address on laptop: the view tells, as ours, not as a peer */
	begin(&x, "laptop." D, DNS_TYPE_AAAA, true);
	aaaa(&x, "laptop." D, 9, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_self_ula(v, u), 1);
	assert_int_equal(u[15], 9);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_string_equal(p.label, "desktop");
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* removed: none */
	begin(&x, "laptop." D, DNS_TYPE_AAAA, true);
	aaaa(&x, "laptop." D, 9, true);
	apply(v, &x);
	assert_int_equal(dnsc_view_self_ula(v, u), 0);
}


/* TXT strings given as C strings, for _cand and _punch records */
static void txts(struct msgb *x, const char *owner, const char *const *s, size_t n, bool removal)
{
	const uint8_t *strs[8];
	uint8_t lens[8];
	struct dns_name o;

	for (size_t i = 0; i < n; i++) {
		strs[i] = (const uint8_t *)s[i];
		lens[i] = (uint8_t)strlen(s[i]);
	}
	name(&o, owner);
	assert_int_equal(dns_builder_add_txt(&x->b, &o, ttl(x, removal), strs, lens, n), 0);
}

static void test_paths(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	static const char *const c7[] = { "at-cand=1 gen=7", "lan 192.168.2.2 4500 prio=2130706431 plen=24",
					  "srflx 203.0.113.20 40123 prio=1526726655 map=ei filt=apd" };
	static const char *const c6[] = { "at-cand=1 gen=6", "lan 192.168.9.9 4500 prio=2130706431 plen=24" };
	static const char *const bad[] = { "at-cand=1 gen=8", "lan 192.168.2.2 04500 prio=2130706431 plen=24" };
	static const char *const req[] = { "at-punch=1 from=desktop nonce=000102030405060708090a0b0c0d0eff t=1796000000",
					   "srflx 203.0.113.20 40123 prio=1526726655 map=ei filt=apd" };
	struct dnsc_question q[16];
	struct agent_punch pr;
	struct dnsc_peer p;
	size_t n;
	bool has_cand = false, has_punch = false;

	populate(v);
	while (dnsc_view_next_change(v, &p) != DNSC_CHANGE_NONE)
		;
	/* off by default: nothing asked, a _cand record ignored */
	n = dnsc_view_questions(v, q, 16);
	assert_int_equal(n, 6);
	begin(&x, "_cand.desktop." D, DNS_TYPE_TXT, false);
	txts(&x, "_cand.desktop." D, c7, 3, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	v->watch_paths = true;
	/* the peers' candidates and our punch requests are watched too */
	n = dnsc_view_questions(v, q, 16);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < n; i++) {
		char t[300];

		assert_true(dns_name_to_text(&q[i].name, t, sizeof(t)) > 0);
		if (q[i].type == DNS_TYPE_TXT && !strcmp(t, "_cand.desktop." D "."))
			has_cand = true;
		if (q[i].type == DNS_TYPE_TXT && !strcmp(t, "_punch.laptop." D "."))
			has_punch = true;
	}
	assert_true(has_cand && has_punch);
	/* desktop's candidates: reported as a change */
	begin(&x, "_cand.desktop." D, DNS_TYPE_TXT, false);
	txts(&x, "_cand.desktop." D, c7, 3, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_string_equal(p.label, "desktop");
	assert_true(p.has_cand);
	assert_int_equal(p.cand.gen, 7);
	assert_int_equal(p.cand.n, 2);
	assert_int_equal(p.cand.c[1].kind, AGENT_CAND_SRFLX);
	assert_int_equal(p.cand.c[1].port, 40123);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* an older generation (an event from before) and a malformed record change nothing */
	begin(&x, "_cand.desktop." D, DNS_TYPE_TXT, true);
	txts(&x, "_cand.desktop." D, c6, 2, false);
	txts(&x, "_cand.desktop." D, bad, 2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* removed: reported, without candidates */
	begin(&x, "_cand.desktop." D, DNS_TYPE_TXT, true);
	txts(&x, "_cand.desktop." D, c7, 3, true);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_UPDATE);
	assert_false(p.has_cand);
	/* a punch request for us: given out once, even when the snapshot repeats it */
	assert_int_equal(dnsc_view_next_punch(v, &pr), 0);
	begin(&x, "_punch.laptop." D, DNS_TYPE_TXT, false);
	txts(&x, "_punch.laptop." D, req, 2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_punch(v, &pr), 1);
	assert_string_equal(pr.from, "desktop");
	assert_int_equal(pr.nonce[15], 0xff);
	assert_int_equal(pr.n, 1);
	assert_int_equal(dnsc_view_next_punch(v, &pr), 0);
	begin(&x, "_punch.laptop." D, DNS_TYPE_TXT, false);
	txts(&x, "_punch.laptop." D, req, 2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_punch(v, &pr), 0);
	/* removed, then written again: a new request */
	begin(&x, "_punch.laptop." D, DNS_TYPE_TXT, true);
	txts(&x, "_punch.laptop." D, req, 2, true);
	txts(&x, "_punch.laptop." D, req, 2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_punch(v, &pr), 1);
	/* a request under another host's name is not ours */
	begin(&x, "_punch.desktop." D, DNS_TYPE_TXT, false);
	txts(&x, "_punch.desktop." D, req, 2, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_punch(v, &pr), 0);
}

static void test_notes(void **state)
{
	struct dnsc_view *v = *state;
	static struct msgb x;
	static const char *const one[] = { "at-revoked=1 seq=1" };
	static const char *const two[] = { "at-revoked=1 seq=2" };
	static const char *const req[] = { "at-renew=1 host=desktop" };
	struct dns_name names[DNSC_VIEW_NOTE_MAX + 1], got, want;
	struct dnsc_question q[32];
	struct dnsc_peer p;
	size_t n, base;
	char t[300];

	populate(v);
	while (dnsc_view_next_change(v, &p) != DNSC_CHANGE_NONE)
		;
	base = dnsc_view_questions(v, q, 32);
	name(&names[0], "_revoked." D);
	name(&names[1], "_approve.00ff." D);
	assert_int_equal(dnsc_view_notes_set(v, names, 2), 0);
	n = dnsc_view_questions(v, q, 32);
	assert_int_equal(n, base + 2);
	assert_true(dns_name_to_text(&q[1].name, t, sizeof(t)) > 0);
	assert_string_equal(t, "_revoked." D ".");
	assert_int_equal(q[1].type, DNS_TYPE_TXT);
	/* the edge of the bound, and a name outside D: refused, the set kept */
	for (size_t i = 0; i <= DNSC_VIEW_NOTE_MAX; i++)
		name(&names[i], "_revoked." D);
	assert_int_equal(dnsc_view_notes_set(v, names, DNSC_VIEW_NOTE_MAX + 1), -ENOSPC);
	name(&names[1], "_revoked.other.example");
	assert_int_equal(dnsc_view_notes_set(v, names, 2), -EINVAL);
	assert_int_equal(dnsc_view_questions(v, q, 32), base + 2);
	name(&names[1], "_revoked." D);
	assert_int_equal(dnsc_view_notes_set(v, names, DNSC_VIEW_NOTE_MAX), 0);
	name(&names[1], "_approve.00ff." D);
	assert_int_equal(dnsc_view_notes_set(v, names, 2), 0);
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	/* the first snapshot is a change, even an empty one; the same set again is none */
	begin(&x, "_revoked." D, DNS_TYPE_TXT, false);
	txts(&x, "_revoked." D, one, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 1);
	name(&want, "_revoked." D);
	assert_true(dns_name_equal(&got, &want));
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	begin(&x, "_revoked." D, DNS_TYPE_TXT, false);
	txts(&x, "_revoked." D, one, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	/* another set: a change; not a peer's */
	begin(&x, "_revoked." D, DNS_TYPE_TXT, false);
	txts(&x, "_revoked." D, two, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 1);
	assert_int_equal(dnsc_view_next_change(v, &p), DNSC_CHANGE_NONE);
	/* an event is a change, as is a Push removal; a name kept in a new set keeps its state */
	begin(&x, "_approve.00ff." D, DNS_TYPE_TXT, true);
	txts(&x, "_approve.00ff." D, one, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_notes_set(v, names, 2), 0);
	assert_int_equal(dnsc_view_next_note(v, &got), 1);
	name(&want, "_approve.00ff." D);
	assert_true(dns_name_equal(&got, &want));
	dnsc_view_remove_rrset(v, &want, DNS_TYPE_TXT);
	assert_int_equal(dnsc_view_next_note(v, &got), 1);
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	/* dropped from the set: no longer watched, its records ignored */
	assert_int_equal(dnsc_view_notes_set(v, names, 1), 0);
	begin(&x, "_approve.00ff." D, DNS_TYPE_TXT, true);
	txts(&x, "_approve.00ff." D, one, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	assert_int_equal(dnsc_view_questions(v, q, 32), base + 1);
	/* a signer: every listed peer's _renew.H.D, not this host's own */
	v->watch_renew = true;
	n = dnsc_view_questions(v, q, 32);
	assert_int_equal(n, base + 3);	/* desktop's and nas's */
	begin(&x, "_renew.laptop." D, DNS_TYPE_TXT, true);
	txts(&x, "_renew.laptop." D, req, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
	begin(&x, "_renew.desktop." D, DNS_TYPE_TXT, true);
	txts(&x, "_renew.desktop." D, req, 1, false);
	apply(v, &x);
	assert_int_equal(dnsc_view_next_note(v, &got), 1);
	name(&want, "_renew.desktop." D);
	assert_true(dns_name_equal(&got, &want));
	assert_int_equal(dnsc_view_next_note(v, &got), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_move_and_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_questions_and_txt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
