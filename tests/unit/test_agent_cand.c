/*
 * lib/agent cand: the candidate and punch-request records of docs/paths.md,
 * built and parsed back; every bound on both sides of its edge.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/cand.h"

static struct agent_cand v4(enum agent_cand_kind kind, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct agent_cand x = { .kind = (uint8_t)kind, .addr = { a, b, c, d }, .port = port,
				.prio = agent_cand_priority(kind, 0) };

	if (kind == AGENT_CAND_LAN)
		x.plen = 24;
	if (kind == AGENT_CAND_SRFLX)
		x.map = AGENT_NAT_EI, x.filt = AGENT_NAT_APD;
	return x;
}

static struct agent_cand v6(enum agent_cand_kind kind, uint8_t last, uint16_t port)
{
	struct agent_cand x = { .kind = (uint8_t)kind, .v6 = true,
				.addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = last }, .port = port,
				.prio = agent_cand_priority(kind, 0) };

	if (kind == AGENT_CAND_IPV6)
		x.plen = 64;
	return x;
}

/* RDATA from C strings: each becomes one <len><bytes> string. */
static size_t txt(uint8_t *out, size_t cap, const char *const *s, size_t n)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(s[i]);

		assert_true(l <= 255 && pos + 1 + l <= cap);
		out[pos++] = (uint8_t)l;
		memcpy(out + pos, s[i], l);
		pos += l;
	}
	return pos;
}

static int parse_strings(const char *const *s, size_t n, struct agent_cand_set *set)
{
	uint8_t rd[AGENT_CAND_RDATA_MAX + 300];

	return agent_cand_set_parse(rd, txt(rd, sizeof(rd), s, n), set);
}

static void priorities_in_issue_order(void **state)
{
	(void)state;
	/* LAN > IPv6 > public > mapped > peer-reflexive > server-reflexive > relay */
	assert_true(agent_cand_priority(AGENT_CAND_LAN, 0) > agent_cand_priority(AGENT_CAND_IPV6, 65535));
	assert_true(agent_cand_priority(AGENT_CAND_IPV6, 0) > agent_cand_priority(AGENT_CAND_PUBLIC, 65535));
	assert_true(agent_cand_priority(AGENT_CAND_PUBLIC, 0) > agent_cand_priority(AGENT_CAND_MAPPED, 65535));
	assert_true(agent_cand_priority(AGENT_CAND_MAPPED, 0) > agent_cand_priority(AGENT_CAND_PRFLX, 65535));
	assert_true(agent_cand_priority(AGENT_CAND_PRFLX, 0) > agent_cand_priority(AGENT_CAND_SRFLX, 65535));
	assert_true(agent_cand_priority(AGENT_CAND_SRFLX, 0) > agent_cand_priority(AGENT_CAND_RELAY, 65535));
	/* RFC 8445 §5.1.2.1 for a host candidate, type preference 126, component 1 */
	assert_int_equal(agent_cand_priority(AGENT_CAND_LAN, 65535), 2130706431u);
	assert_int_equal(agent_cand_priority(AGENT_CAND_RELAY, 0), 255);
	assert_int_equal(agent_cand_priority(0, 0), 0);
	assert_int_equal(agent_cand_priority(AGENT_CAND_PRFLX + 1, 0), 0);
}

static void generation_serial_order(void **state)
{
	(void)state;
	assert_true(agent_cand_gen_newer(2, 1));
	assert_false(agent_cand_gen_newer(1, 2));
	assert_false(agent_cand_gen_newer(7, 7));
	/* wrap-around (RFC 1982 §3.2) */
	assert_true(agent_cand_gen_newer(0, 0xffffffffu));
	assert_true(agent_cand_gen_newer(0x7fffffffu, 0));
	assert_false(agent_cand_gen_newer(0x80000000u, 0));
}

static void set_round_trip_exact_text(void **state)
{
	struct agent_cand_set s = { .gen = 7, .n = 6 }, back;
	uint8_t rd[AGENT_CAND_RDATA_MAX], rd2[AGENT_CAND_RDATA_MAX];
	size_t len, len2;
	static const char *const want[] = {
		"at-cand=1 gen=7",
		"lan 192.168.1.2 4500 prio=2113929471 plen=24",
		"ipv6 2001:db8:1::2 4500 prio=2013266175 plen=64",
		"mapped 203.0.113.10 61001 prio=1761607935",
		"public 198.51.100.7 4500 prio=1845494015",
		"srflx 203.0.113.10 40123 prio=1509949695 map=ei filt=apd",
		"relay 198.51.100.53 49152 prio=255",
	};
	uint8_t expect[AGENT_CAND_RDATA_MAX];

	(void)state;
	s.c[0] = v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500);
	s.c[1] = v6(AGENT_CAND_IPV6, 2, 4500);
	s.c[2] = v4(AGENT_CAND_MAPPED, 203, 0, 113, 10, 61001);
	s.c[3] = v4(AGENT_CAND_PUBLIC, 198, 51, 100, 7, 4500);
	s.c[4] = v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40123);
	s.c[5] = v4(AGENT_CAND_RELAY, 198, 51, 100, 53, 49152);
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &len), 0);
	assert_int_equal(len, txt(expect, sizeof(expect), want, 7));
	assert_memory_equal(rd, expect, len);

	assert_int_equal(agent_cand_set_parse(rd, len, &back), 0);
	assert_int_equal(back.gen, 7);
	assert_int_equal(back.n, 6);
	assert_int_equal(back.unknown, 0);
	assert_memory_equal(back.c, s.c, 6 * sizeof(s.c[0]));
	assert_int_equal(agent_cand_set_build(&back, rd2, sizeof(rd2), &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(rd2, rd, len);

	/* an empty set (a host that knows no address yet) is just the header */
	s.n = 0;
	s.gen = 4294967295u;
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &len), 0);
	assert_int_equal(len, 1 + strlen("at-cand=1 gen=4294967295"));
	assert_int_equal(agent_cand_set_parse(rd, len, &back), 0);
	assert_int_equal(back.gen, 4294967295u);
	assert_int_equal(back.n, 0);
}

static void set_build_bounds(void **state)
{
	struct agent_cand_set s = { .gen = 1 };
	uint8_t rd[AGENT_CAND_RDATA_MAX];
	size_t len, full;

	(void)state;
	for (int i = 0; i < AGENT_CAND_MAX; i++)
		s.c[i] = v4(AGENT_CAND_MAPPED, 203, 0, 113, 10, (uint16_t)(1000 + i));
	s.n = AGENT_CAND_MAX;
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &full), 0);
	/* the buffer: exactly enough, one byte short */
	assert_int_equal(agent_cand_set_build(&s, rd, full, &len), 0);
	assert_int_equal(len, full);
	assert_int_equal(agent_cand_set_build(&s, rd, full - 1, &len), -ENOSPC);
	assert_int_equal(len, 0);
	/* too many candidates */
	s.n = AGENT_CAND_MAX + 1;
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &len), -EINVAL);
	/* the same transport address twice */
	s.n = 2;
	s.c[1] = s.c[0];
	s.c[1].kind = AGENT_CAND_PUBLIC;
	s.c[1].prio = agent_cand_priority(AGENT_CAND_PUBLIC, 0);
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &len), -EINVAL);
	/* a peer-reflexive candidate is never published */
	s.n = 1;
	s.c[0].kind = AGENT_CAND_PRFLX;
	assert_int_equal(agent_cand_set_build(&s, rd, sizeof(rd), &len), -EINVAL);
}

static void cand_check_every_field(void **state)
{
	struct agent_cand c;

	(void)state;
	c = v4(AGENT_CAND_LAN, 192, 168, 1, 2, 4500);
	assert_int_equal(agent_cand_check(&c), 0);
	c.plen = 32;
	assert_int_equal(agent_cand_check(&c), 0);
	c.plen = 33;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.plen = 0;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.plen = 1;
	assert_int_equal(agent_cand_check(&c), 0);
	c.v6 = true;	/* LAN is IPv4 */
	assert_int_equal(agent_cand_check(&c), -EINVAL);

	c = v4(AGENT_CAND_MAPPED, 203, 0, 113, 10, 1);
	assert_int_equal(agent_cand_check(&c), 0);
	c.port = 65535;
	assert_int_equal(agent_cand_check(&c), 0);
	c.port = 0;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.port = 1;
	c.prio = 0x7fffffff;
	assert_int_equal(agent_cand_check(&c), 0);
	c.prio = 0x80000000u;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.prio = 0;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.prio = 1;
	c.plen = 24;	/* only LAN and IPV6 carry a prefix */
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.plen = 0;
	c.map = AGENT_NAT_EI;	/* only SRFLX carries behaviours */
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.map = 0;
	c.addr[4] = 1;	/* junk after an IPv4 address */
	assert_int_equal(agent_cand_check(&c), -EINVAL);

	/* unusable IPv4 addresses */
	c = v4(AGENT_CAND_PUBLIC, 0, 1, 2, 3, 4500);
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 127;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 224;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 223;
	assert_int_equal(agent_cand_check(&c), 0);

	c = v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 4500);
	c.map = AGENT_NAT_APD;
	c.filt = AGENT_NAT_UNKNOWN;
	assert_int_equal(agent_cand_check(&c), 0);
	c.filt = AGENT_NAT_APD + 1;
	assert_int_equal(agent_cand_check(&c), -EINVAL);

	/* IPV6: global unicast only, prefix 1..128 */
	c = v6(AGENT_CAND_IPV6, 9, 4500);
	assert_int_equal(agent_cand_check(&c), 0);
	c.plen = 128;
	assert_int_equal(agent_cand_check(&c), 0);
	c.plen = 129;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.plen = 64;
	c.addr[0] = 0xfd;	/* a ULA: those live inside the tunnel */
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 0x3f;	/* last of 2000::/3 */
	assert_int_equal(agent_cand_check(&c), 0);
	c.addr[0] = 0x40;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 0x20;
	c.v6 = false;
	assert_int_equal(agent_cand_check(&c), -EINVAL);

	/* RELAY: either family, but no link-local, loopback or IPv4-mapped */
	c = v6(AGENT_CAND_RELAY, 1, 3478);
	assert_int_equal(agent_cand_check(&c), 0);
	memset(c.addr, 0, 16);
	c.addr[15] = 1;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.addr[0] = 0xfe, c.addr[1] = 0x80;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	memset(c.addr, 0, 16);
	c.addr[10] = c.addr[11] = 0xff, c.addr[12] = 198;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.kind = 0;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
	c.kind = AGENT_CAND_PRFLX + 1;
	assert_int_equal(agent_cand_check(&c), -EINVAL);
}

static void parse_refuses_noncanonical(void **state)
{
	static const char *const bad[] = {
		"lan 192.168.1.2 4500 prio=2113929471",			/* no plen */
		"lan 192.168.1.2 4500 prio=2113929471 plen=024",		/* leading zero */
		"lan 192.168.1.2  4500 prio=2113929471 plen=24",		/* two spaces */
		"lan 192.168.1.2 4500 prio=2113929471 plen=24 ",		/* trailing space */
		"lan 192.168.01.2 4500 prio=2113929471 plen=24",		/* not canonical */
		"lan 192.168.1.2 04500 prio=2113929471 plen=24",
		"lan 192.168.1.2 65536 prio=2113929471 plen=24",		/* port too big */
		"lan 192.168.1.2 0 prio=2113929471 plen=24",			/* port 0 */
		"lan 192.168.1.2 4500 prio=2147483648 plen=24",		/* priority > 2^31-1 */
		"lan 192.168.1.2 4500 plen=24 prio=2113929471",		/* order */
		"lan 192.168.1.2 4500 prio=2113929471 plen=33",
		"lan 192.168.1.2 4500 prio=2113929471 plen=24 x=1",		/* unknown key */
		"lan 192.168.1.2 4500 prio=2113929471 plen=24 plen=24",
		"LAN 192.168.1.2 4500 prio=2113929471 plen=24",		/* upper case kind */
		"ipv6 2001:DB8::2 4500 prio=1 plen=64",			/* upper-case hex */
		"ipv6 2001:db8:0::2 4500 prio=1 plen=64",			/* not RFC 5952 */
		"ipv6 fd00::2 4500 prio=1 plen=64",				/* not global */
		"srflx 203.0.113.10 40123 prio=1 map=ei",			/* no filt */
		"srflx 203.0.113.10 40123 prio=1 filt=apd map=ei",		/* order */
		"srflx 203.0.113.10 40123 prio=1 map=eim filt=apd",		/* not a behaviour word */
		"mapped 203.0.113.10 61001 prio=1 map=ei filt=ei",		/* map only on srflx */
		"mapped 2001:db8::1 61001 prio=1",				/* mapped is IPv4 */
		"prflx 203.0.113.10 61001 prio=1",				/* never published */
		"relay",							/* a kind alone */
		"relay ",
		"relay 198.51.100.53 49152",					/* no priority */
		"relay 198.51.100.53 49152 prio=",
		"relay 198.51.100.53 49152 prio=255\x01",			/* not printable */
		"Quic 198.51.100.53 443",					/* not an unknown-kind word */
		"",								/* empty string */
	};
	struct agent_cand_set s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *two[] = { "at-cand=1 gen=1", bad[i] };

		if (parse_strings(two, 2, &s) != -EBADMSG)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_int_equal(s.n, 0);
	}
}

static void parse_skips_unknown_kinds(void **state)
{
	const char *strs[] = {
		"at-cand=1 gen=3",
		"quic 198.51.100.53 443 alpn=at",
		"lan 192.168.1.2 4500 prio=2113929471 plen=24",
		"x2 anything at all ~",
	};
	struct agent_cand_set s;

	(void)state;
	assert_int_equal(parse_strings(strs, 4, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.unknown, 2);
	assert_int_equal(s.c[0].kind, AGENT_CAND_LAN);
	assert_int_equal(s.c[0].port, 4500);
	assert_int_equal(s.c[0].plen, 24);
}

static void parse_headers_and_lengths(void **state)
{
	const char *strs[AGENT_CAND_MAX + 2];
	char lines[AGENT_CAND_MAX + 1][80];
	struct agent_cand_set s;
	uint8_t rd[AGENT_CAND_RDATA_MAX + 300];
	size_t len;

	(void)state;
	/* headers */
	strs[0] = "at-cand=2 gen=1";
	assert_int_equal(parse_strings(strs, 1, &s), -EPROTONOSUPPORT);
	strs[0] = "at-cand=1 gen=01";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "at-cand=1 gen=4294967296";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "at-cand=1";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "at-cand=1 gen=1 x=2";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "at-cand=01 gen=1";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "v=1";
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	strs[0] = "lan 192.168.1.2 4500 prio=2113929471 plen=24";	/* no header */
	assert_int_equal(parse_strings(strs, 1, &s), -EBADMSG);
	assert_int_equal(agent_cand_set_parse(rd, 0, &s), -EBADMSG);	/* no string at all */

	/* AGENT_CAND_MAX candidates parse, one more does not */
	strs[0] = "at-cand=1 gen=1";
	for (int i = 0; i <= AGENT_CAND_MAX; i++) {
		snprintf(lines[i], sizeof(lines[i]), "mapped 203.0.113.10 %d prio=1", 1000 + i);
		strs[i + 1] = lines[i];
	}
	assert_int_equal(parse_strings(strs, AGENT_CAND_MAX + 1, &s), 0);
	assert_int_equal(s.n, AGENT_CAND_MAX);
	assert_int_equal(parse_strings(strs, AGENT_CAND_MAX + 2, &s), -EBADMSG);
	/* unknown kinds count against the bound too */
	strs[AGENT_CAND_MAX + 1] = "quic 198.51.100.53 443";
	assert_int_equal(parse_strings(strs, AGENT_CAND_MAX + 2, &s), -EBADMSG);
	/* the same transport address twice */
	strs[2] = strs[1];
	assert_int_equal(parse_strings(strs, 3, &s), -EBADMSG);

	/* bad lengths: a string running past the end, by one byte and by many */
	strs[1] = "mapped 203.0.113.10 61001 prio=1";
	len = txt(rd, sizeof(rd), strs, 2);
	assert_int_equal(agent_cand_set_parse(rd, len, &s), 0);
	assert_int_equal(agent_cand_set_parse(rd, len - 1, &s), -EBADMSG);
	rd[16] = 200;	/* the second string's length byte: 1 + 15 header bytes before it */
	assert_int_equal(agent_cand_set_parse(rd, len, &s), -EBADMSG);
	/* a length byte with nothing after it */
	len = txt(rd, sizeof(rd), strs, 1);
	rd[len] = 5;
	assert_int_equal(agent_cand_set_parse(rd, len + 1, &s), -EBADMSG);
	rd[len] = 0;	/* an empty string as a candidate */
	assert_int_equal(agent_cand_set_parse(rd, len + 1, &s), -EBADMSG);
	rd[0] = 0;	/* an empty header */
	assert_int_equal(agent_cand_set_parse(rd, len, &s), -EBADMSG);
}

static void punch_round_trip(void **state)
{
	struct agent_punch p = { .from = "laptop", .t = 1796000000, .n = 2 }, back;
	uint8_t rd[AGENT_CAND_RDATA_MAX], rd2[AGENT_CAND_RDATA_MAX];
	size_t len, len2;
	const char *want0 = "at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=1796000000";

	(void)state;
	for (int i = 0; i < AGENT_PUNCH_NONCE_LEN; i++)
		p.nonce[i] = (uint8_t)i;
	p.nonce[15] = 0xff;
	p.c[0] = v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40123);
	p.c[1] = v6(AGENT_CAND_IPV6, 2, 4500);
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), 0);
	assert_int_equal(rd[0], strlen(want0));
	assert_memory_equal(rd + 1, want0, strlen(want0));
	assert_int_equal(agent_punch_parse(rd, len, &back), 0);
	assert_string_equal(back.from, "laptop");
	assert_memory_equal(back.nonce, p.nonce, sizeof(p.nonce));
	assert_true(back.t == 1796000000);
	assert_int_equal(back.n, 2);
	assert_memory_equal(back.c, p.c, 2 * sizeof(p.c[0]));
	assert_int_equal(agent_punch_build(&back, rd2, sizeof(rd2), &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(rd2, rd, len);

	/* the requester must be a host label */
	strcpy(p.from, "Laptop");
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), -EINVAL);
	strcpy(p.from, "");
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), -EINVAL);
	memset(p.from, 'a', sizeof(p.from));	/* not terminated */
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), -EINVAL);
	memset(p.from, 'a', AGENT_LABEL_MAX);	/* 63: the longest label */
	p.from[AGENT_LABEL_MAX] = '\0';
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), 0);
	assert_int_equal(agent_punch_parse(rd, len, &back), 0);
	assert_int_equal(strlen(back.from), AGENT_LABEL_MAX);
	p.n = AGENT_CAND_MAX + 1;
	assert_int_equal(agent_punch_build(&p, rd, sizeof(rd), &len), -EINVAL);
}

static int parse_punch_strings(const char *const *s, size_t n, struct agent_punch *p)
{
	uint8_t rd[AGENT_CAND_RDATA_MAX];

	return agent_punch_parse(rd, txt(rd, sizeof(rd), s, n), p);
}

static void punch_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff",		/* no t */
		"at-punch=1 nonce=000102030405060708090a0b0c0d0eff from=laptop t=1",		/* order */
		"at-punch=1 from=laptop nonce=000102030405060708090A0B0C0D0EFF t=1",		/* upper case */
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0e t=1",		/* 15 bytes */
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff00 t=1",	/* 17 bytes */
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0efg t=1",
		"at-punch=1 from=lap.top nonce=000102030405060708090a0b0c0d0eff t=1",		/* a name */
		"at-punch=1 from= nonce=000102030405060708090a0b0c0d0eff t=1",
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=01",
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=18446744073709551616",
		"at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=1 x=y",
		"at-cand=1 gen=1",
	};
	const char *strs[2] = { NULL, "srflx 203.0.113.10 40123 prio=1 map=ei filt=apd" };
	struct agent_punch p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strs[0] = bad[i];
		if (parse_punch_strings(strs, 2, &p) != -EBADMSG)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_int_equal(p.from[0], '\0');
	}
	strs[0] = "at-punch=9 from=laptop nonce=000102030405060708090a0b0c0d0eff t=1";
	assert_int_equal(parse_punch_strings(strs, 2, &p), -EPROTONOSUPPORT);
	strs[0] = "at-punch=1 from=laptop nonce=000102030405060708090a0b0c0d0eff t=18446744073709551615";
	assert_int_equal(parse_punch_strings(strs, 2, &p), 0);
	assert_true(p.t == UINT64_MAX);
	assert_int_equal(p.n, 1);
	/* a bad candidate spoils the request */
	strs[1] = "srflx 203.0.113.10 40123 prio=1";
	assert_int_equal(parse_punch_strings(strs, 2, &p), -EBADMSG);
}

static void punch_freshness(void **state)
{
	struct agent_punch p = { .t = 1000 };

	(void)state;
	assert_true(agent_punch_fresh(&p, 1000, 60));
	assert_true(agent_punch_fresh(&p, 1060, 60));
	assert_false(agent_punch_fresh(&p, 1061, 60));
	assert_true(agent_punch_fresh(&p, 940, 60));	/* the writer's clock runs ahead */
	assert_false(agent_punch_fresh(&p, 939, 60));
	p.t = UINT64_MAX;
	assert_false(agent_punch_fresh(&p, 0, 60));
}

static void records_for_the_publisher(void **state)
{
	struct agent_cand_set s = { .gen = 2, .n = 1 };
	struct agent_punch p = { .from = "laptop", .t = 5, .n = 1 };
	struct agent_rr rr;
	char name[AGENT_NAME_MAX + 1], txt_out[512];

	(void)state;
	s.c[0] = v4(AGENT_CAND_SRFLX, 203, 0, 113, 10, 40123);
	p.c[0] = s.c[0];
	assert_int_equal(agent_cand_set_rr(&s, "Alice.Members.Example.NET.", "laptop", 0, &rr), 0);
	assert_string_equal(rr.name, "_cand.laptop.alice.members.example.net");
	assert_int_equal(rr.type, AGENT_RR_TXT);
	assert_int_equal(rr.ttl, AGENT_RR_TTL_DEFAULT);
	assert_false(rr.shared);
	assert_int_equal(rr.txt.n, 2);
	assert_int_equal(agent_rr_format(&rr, txt_out, sizeof(txt_out)) > 0, 1);
	assert_string_equal(txt_out, "_cand.laptop.alice.members.example.net. 60 IN TXT \"at-cand=1 gen=2\" "
			    "\"srflx 203.0.113.10 40123 prio=1509949695 map=ei filt=apd\"");

	assert_int_equal(agent_punch_rr(&p, "alice.members.example.net", "desktop", 0, &rr), 0);
	assert_string_equal(rr.name, "_punch.desktop.alice.members.example.net");
	assert_true(rr.shared);
	assert_int_equal(rr.ttl, AGENT_PUNCH_TTL);
	assert_int_equal(rr.txt.n, 2);
	assert_int_equal(rr.txt.len[0], strlen("at-punch=1 from=laptop nonce=00000000000000000000000000000000 t=5"));

	assert_int_equal(agent_cand_name(name, "alice.members.example.net", "Bad_Label"), -EINVAL);
	assert_int_equal(agent_punch_name(name, "alice..example.net", "desktop"), -EINVAL);
	assert_int_equal(agent_punch_name(name, "alice.members.example.net", "desktop"), 0);
	assert_string_equal(name, "_punch.desktop.alice.members.example.net");
}

static void format_for_logs(void **state)
{
	struct agent_cand c = v4(AGENT_CAND_PRFLX, 203, 0, 113, 20, 1234);
	char buf[AGENT_CAND_TEXT_MAX];

	(void)state;
	assert_int_equal(agent_cand_format(&c, buf, sizeof(buf)), (int)strlen("prflx 203.0.113.20 1234 prio=1677721855"));
	assert_string_equal(buf, "prflx 203.0.113.20 1234 prio=1677721855");
	assert_int_equal(agent_cand_format(&c, buf, 10), -ENOSPC);
	assert_string_equal(buf, "");
	c.port = 0;
	assert_int_equal(agent_cand_format(&c, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(priorities_in_issue_order),
		cmocka_unit_test(generation_serial_order),
		cmocka_unit_test(set_round_trip_exact_text),
		cmocka_unit_test(set_build_bounds),
		cmocka_unit_test(cand_check_every_field),
		cmocka_unit_test(parse_refuses_noncanonical),
		cmocka_unit_test(parse_skips_unknown_kinds),
		cmocka_unit_test(parse_headers_and_lengths),
		cmocka_unit_test(punch_round_trip),
		cmocka_unit_test(punch_parse_refuses),
		cmocka_unit_test(punch_freshness),
		cmocka_unit_test(records_for_the_publisher),
		cmocka_unit_test(format_for_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
