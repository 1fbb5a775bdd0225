/*
 * autotunnel-gwd handler.c and table.c: the NAT-PMP (RFC 6886) and PCP
 * (RFC 6887) server rules, with packets written out byte by byte in the
 * RFCs' layouts and a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "autotunnel-gwd/handler.h"
#include "autotunnel-gwd/table.h"

#define EXT 0xcb00710a		/* 203.0.113.10 */
#define HOST_A 0xc0a80102	/* 192.168.1.2 */
#define HOST_B 0xc0a80103	/* 192.168.1.3 */
#define T0 1000000

static struct gwd_ctx ctx;
static struct gwd_table t;
static struct gwd_reply rep;

static int setup(void **state)
{
	ctx = (struct gwd_ctx){ .ext_addr = EXT, .epoch_s = 42, .lifetime_min = 120, .lifetime_max = 86400 };
	memset(&rep, 0, sizeof(rep));
	return gwd_table_init(&t, 1024, 65535, 16, 4);
}

static int teardown(void **state)
{
	gwd_table_fini(&t);
	return 0;
}

/* Parse, handle, apply: what the daemon does minus the sockets and nftables. */
static void run(uint32_t client, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct gwd_request req;

	gwd_request_parse(pkt, len, &req);
	gwd_handle(&ctx, &t, client, &req, now, &rep);
	assert_int_equal(gwd_change_apply(&t, &rep.change, NULL, NULL), 0);
}

/* run() for a client as the daemon describes it: proven or not, with a link-layer address. */
static void run_client(const struct gwd_client *c, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct gwd_request req;

	gwd_request_parse(pkt, len, &req);
	gwd_handle_client(&ctx, &t, c, &req, now, &rep);
	assert_int_equal(gwd_change_apply(&t, &rep.change, NULL, NULL), 0);
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* RFC 6886 §3.3 map request: vers, op, reserved, internal, suggested external, lifetime */
static void pmp_map_req(uint8_t *b, uint8_t op, uint16_t in, uint16_t ext, uint32_t life)
{
	const uint8_t pkt[12] = { 0, op, 0, 0, (uint8_t)(in >> 8), (uint8_t)in, (uint8_t)(ext >> 8),
				  (uint8_t)ext, (uint8_t)(life >> 24), (uint8_t)(life >> 16),
				  (uint8_t)(life >> 8), (uint8_t)life };

	memcpy(b, pkt, 12);
}

/* Build a NAT-PMP map request into @p req, run it from @p client at T0; the result code. */
static uint16_t pmp_map(uint8_t *req, uint32_t client, uint8_t op, uint16_t in, uint16_t ext,
			uint32_t life)
{
	pmp_map_req(req, op, in, ext, life);
	run(client, req, 12, T0);
	return be16(rep.buf + 2);
}

/* ---- NAT-PMP ---- */

static void pmp_external_address(void **state)
{
	const uint8_t req[2] = { 0, 0 };
	/* RFC 6886 §3.2: vers 0, op 128, result 0, epoch, address a.b.c.d */
	const uint8_t want[12] = { 0, 128, 0, 0, 0, 0, 0, 42, 203, 0, 113, 10 };

	run(HOST_A, req, sizeof(req), T0);
	assert_int_equal(rep.len, 12);
	assert_memory_equal(rep.buf, want, 12);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);

	/* §3.5: no external address yet: network failure, address zero */
	ctx.ext_addr = 0;
	run(HOST_A, req, sizeof(req), T0);
	assert_int_equal(rep.len, 12);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NETWORK_FAILURE);
	assert_int_equal(be32(rep.buf + 8), 0);
}

static void pmp_map_and_renew(void **state)
{
	uint8_t req[12];

	pmp_map(req, HOST_A, 1, 4500, 4500, 7200);
	/* §3.3 response: vers, 128+1, result, epoch, internal, mapped external, lifetime */
	{
		const uint8_t want[16] = { 0, 129, 0, 0, 0, 0, 0, 42, 0x11, 0x94, 0x11, 0x94,
					   0, 0, 0x1c, 0x20 };

		assert_int_equal(rep.len, 16);
		assert_memory_equal(rep.buf, want, 16);
	}
	assert_int_equal(rep.change.kind, GWD_CHANGE_CREATE);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].client, HOST_A);
	assert_int_equal(t.m[0].proto, GWD_PROTO_UDP);
	assert_int_equal(t.m[0].int_port, 4500);
	assert_int_equal(t.m[0].ext_port, 4500);
	assert_int_equal(t.m[0].expires_ms, T0 + 7200 * 1000);
	assert_int_equal(t.m[0].origin, GWD_ORIGIN_NATPMP);

	/* §3.3: asked again (a lost answer, or a renewal suggesting another port):
	 * the same external port, a fresh lifetime */
	pmp_map_req(req, 1, 4500, 6000, 3600);
	run(HOST_A, req, 12, T0 + 5000);
	assert_int_equal(rep.change.kind, GWD_CHANGE_RENEW);
	assert_int_equal(be16(rep.buf + 10), 4500);
	assert_int_equal(be32(rep.buf + 12), 3600);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].expires_ms, T0 + 5000 + 3600 * 1000);

	/* TCP is a different mapping (§3.3: never both for one request) */
	pmp_map(req, HOST_A, 2, 4500, 4500, 3600);
	assert_int_equal(rep.buf[1], 130);
	assert_int_equal(be16(rep.buf + 10), 4500);
	assert_int_equal(t.n, 2);
}

static void pmp_port_taken_offers_another(void **state)
{
	uint8_t req[12];
	uint16_t got;

	pmp_map(req, HOST_A, 1, 4500, 4500, 3600);
	assert_int_equal(be16(rep.buf + 10), 4500);

	/* B wants UDP 4500 too: it gets another port from the range, not an error */
	run(HOST_B, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	got = be16(rep.buf + 10);
	assert_int_not_equal(got, 4500);
	assert_true(got >= 1024);
	assert_int_equal(t.n, 2);

	/* §3.3: the companion port stays A's: B cannot have TCP 4500 either */
	pmp_map(req, HOST_B, 2, 4500, 4500, 3600);
	assert_int_not_equal(be16(rep.buf + 10), 4500);
	/* ...but A can */
	run(HOST_A, req, 12, T0);
	assert_int_equal(be16(rep.buf + 10), 4500);

	/* suggested 0 or a port below the range: a port from the range */
	pmp_map(req, HOST_A, 1, 5000, 0, 3600);
	assert_true(be16(rep.buf + 10) >= 1024);
	pmp_map(req, HOST_B, 1, 80, 80, 3600);
	assert_true(be16(rep.buf + 10) >= 1024);
}

static void pmp_pick_is_stable(void **state)
{
	/* after a gateway restart the same request gets the same port back */
	uint16_t a = gwd_table_pick_port(&t, HOST_A, GWD_PROTO_UDP, 4500, 0);
	uint16_t b;

	gwd_table_fini(&t);
	assert_int_equal(gwd_table_init(&t, 1024, 65535, 16, 4), 0);
	b = gwd_table_pick_port(&t, HOST_A, GWD_PROTO_UDP, 4500, 0);
	assert_int_equal(a, b);
	assert_true(a >= 1024);
}

static void pmp_lifetime_clamped(void **state)
{
	uint8_t req[12];

	ctx.lifetime_min = 300;
	ctx.lifetime_max = 600;
	pmp_map(req, HOST_A, 1, 4500, 4500, 1);
	assert_int_equal(be32(rep.buf + 12), 300);
	pmp_map(req, HOST_A, 1, 4500, 4500, 0xffffffff);
	assert_int_equal(be32(rep.buf + 12), 600);
	assert_int_equal(t.m[0].expires_ms, T0 + 600 * 1000);
	pmp_map(req, HOST_A, 1, 4500, 4500, 450);
	assert_int_equal(be32(rep.buf + 12), 450);
}

static void pmp_delete(void **state)
{
	uint8_t req[12];
	const uint8_t want[16] = { 0, 129, 0, 0, 0, 0, 0, 42, 0x11, 0x94, 0, 0, 0, 0, 0, 0 };

	pmp_map(req, HOST_A, 1, 4500, 4500, 3600);
	run(HOST_B, req, 12, T0);
	assert_int_equal(t.n, 2);

	/* §3.4: lifetime 0 deletes; the answer has external port 0 and lifetime 0 */
	pmp_map(req, HOST_A, 1, 4500, 0, 0);
	assert_int_equal(rep.change.kind, GWD_CHANGE_DELETE);
	assert_memory_equal(rep.buf, want, 16);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].client, HOST_B);	/* only A's own mapping went */
	/* deleting again (the answer was lost) gives the same answer */
	run(HOST_A, req, 12, T0);
	assert_memory_equal(rep.buf, want, 16);
	assert_int_equal(t.n, 1);
}

static void pmp_delete_all(void **state)
{
	uint8_t req[12];

	for (uint16_t p = 1; p <= 3; p++) {
		pmp_map(req, HOST_A, 1, p * 1000, 0, 3600);
	}
	pmp_map(req, HOST_A, 2, 1000, 0, 3600);
	pmp_map(req, HOST_B, 1, 1000, 0, 3600);
	assert_int_equal(t.n, 5);

	/* §3.4: internal port 0, lifetime 0: all of A's UDP mappings, nothing else */
	pmp_map(req, HOST_A, 1, 0, 0, 0);
	assert_int_equal(rep.change.kind, GWD_CHANGE_DELETE_ALL);
	assert_int_equal(be16(rep.buf + 2), 0);
	assert_int_equal(be16(rep.buf + 8), 0);
	assert_int_equal(t.n, 2);
	assert_non_null(gwd_table_find(&t, HOST_A, GWD_PROTO_TCP, 1000));
	assert_non_null(gwd_table_find(&t, HOST_B, GWD_PROTO_UDP, 1000));

	/* internal port 0 with a lifetime: "all ports" is refused */
	assert_int_equal(pmp_map(req, HOST_A, 1, 0, 0, 60), NATPMP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
}

static void pmp_errors(void **state)
{
	uint8_t req[12];
	const uint8_t op3[2] = { 0, 3 };
	const uint8_t resp[12] = { 0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
	const uint8_t shortmap[8] = { 0, 1, 0, 0, 0x11, 0x94, 0x11, 0x94 };

	/* §3.5: an unknown opcode below 128 comes back with result 5 */
	run(HOST_A, op3, 2, T0);
	assert_true(rep.len >= 8);
	assert_int_equal(rep.buf[1], 131);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_UNSUPP_OPCODE);
	assert_int_equal(be32(rep.buf + 4), 42);
	/* a response sent to us, or a truncated request: silence */
	run(HOST_A, resp, sizeof(resp), T0);
	assert_int_equal(rep.len, 0);
	run(HOST_A, shortmap, sizeof(shortmap), T0);
	assert_int_equal(rep.len, 0);
	run(HOST_A, op3, 1, T0);
	assert_int_equal(rep.len, 0);
	run(HOST_A, op3, 0, T0);
	assert_int_equal(rep.len, 0);

	/* no external address: a map request fails with network failure, changes nothing */
	ctx.ext_addr = 0;
	assert_int_equal(pmp_map(req, HOST_A, 1, 4500, 4500, 3600), NATPMP_RESULT_NETWORK_FAILURE);
	assert_int_equal(be16(rep.buf + 8), 4500);	/* §3.5: the internal port is echoed */
	assert_int_equal(be16(rep.buf + 10), 0);
	assert_int_equal(t.n, 0);
}

static void pmp_quota(void **state)
{
	uint8_t req[12];

	/* 4 per client (setup) */
	for (uint16_t p = 1; p <= 4; p++) {
		assert_int_equal(pmp_map(req, HOST_A, 1, p, 0, 3600), 0);
	}
	assert_int_equal(pmp_map(req, HOST_A, 1, 5, 0, 3600), NATPMP_RESULT_NO_RESOURCES);
	assert_int_equal(t.n, 4);
	/* renewing one held already still works */
	assert_int_equal(pmp_map(req, HOST_A, 1, 4, 0, 3600), 0);
}

static void range_exhausted(void **state)
{
	uint8_t req[12];

	gwd_table_fini(&t);
	assert_int_equal(gwd_table_init(&t, 7000, 7001, 16, 16), 0);
	for (uint16_t p = 1; p <= 2; p++) {
		assert_int_equal(pmp_map(req, HOST_A, 1, p, 7000, 3600), 0);
	}
	assert_int_equal(pmp_map(req, HOST_A, 1, 3, 7000, 3600), NATPMP_RESULT_NO_RESOURCES);
	/* B cannot have the companion TCP ports of A's UDP ports */
	assert_int_equal(pmp_map(req, HOST_B, 2, 1, 7000, 3600), NATPMP_RESULT_NO_RESOURCES);
}

static void rsip_ports_reserved(void **state)
{
	uint8_t req[12];

	/* RSIP's pool 7001-7002 sits inside the mapping range 7000-7003 */
	gwd_table_fini(&t);
	assert_int_equal(gwd_table_init(&t, 7000, 7003, 16, 16), 0);
	gwd_table_reserve(&t, 7001, 7002);
	pmp_map_req(req, 1, 1, 7001, 3600);	/* asks for a reserved port */
	run(HOST_A, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), 0);
	assert_true(be16(rep.buf + 10) == 7000 || be16(rep.buf + 10) == 7003);
	assert_int_equal(pmp_map(req, HOST_A, 1, 2, 7002, 3600), 0);
	assert_true(be16(rep.buf + 10) == 7000 || be16(rep.buf + 10) == 7003);
	/* the two free ports are used up: a third mapping gets none of RSIP's */
	assert_int_equal(pmp_map(req, HOST_A, 1, 3, 7001, 3600), NATPMP_RESULT_NO_RESOURCES);
	/* deleting a mapping does not free a reserved port */
	pmp_map(req, HOST_A, 1, 1, 0, 0);
	assert_false(gwd_table_port_usable(&t, HOST_A, GWD_PROTO_UDP, 7001));
}

static void expiry(void **state)
{
	uint8_t req[12];

	ctx.lifetime_min = 1;
	pmp_map(req, HOST_A, 1, 1000, 0, 10);
	pmp_map(req, HOST_A, 1, 2000, 0, 20);
	assert_int_equal(gwd_table_next_expiry(&t), T0 + 10000);
	assert_int_equal(gwd_expire(&t, T0 + 9999, NULL, NULL), 0);
	assert_int_equal(gwd_expire(&t, T0 + 10000, NULL, NULL), 1);
	assert_null(gwd_table_find(&t, HOST_A, GWD_PROTO_UDP, 1000));
	assert_int_equal(gwd_table_next_expiry(&t), T0 + 20000);
	assert_int_equal(gwd_expire(&t, T0 + 30000, NULL, NULL), 1);
	assert_int_equal(t.n, 0);
	assert_int_equal(gwd_table_next_expiry(&t), UINT64_MAX);
}

/* ---- PCP ---- */

/* RFC 6887 §7.1 + §11.1: a MAP request, with room for options after byte 60 */
static size_t pcp_map_req(uint8_t *b, uint32_t life, uint32_t client, const uint8_t nonce[12],
			  uint8_t proto, uint16_t in, uint16_t ext)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 1;
	b[4] = (uint8_t)(life >> 24); b[5] = (uint8_t)(life >> 16);
	b[6] = (uint8_t)(life >> 8); b[7] = (uint8_t)life;
	b[18] = b[19] = 0xff;
	b[20] = (uint8_t)(client >> 24); b[21] = (uint8_t)(client >> 16);
	b[22] = (uint8_t)(client >> 8); b[23] = (uint8_t)client;
	memcpy(b + 24, nonce, 12);
	b[36] = proto;
	b[40] = (uint8_t)(in >> 8); b[41] = (uint8_t)in;
	b[42] = (uint8_t)(ext >> 8); b[43] = (uint8_t)ext;
	b[54] = b[55] = 0xff;	/* suggested external ::ffff:0.0.0.0 */
	return 60;
}

static const uint8_t nonce1[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t nonce2[12] = { 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void pcp_map(void **state)
{
	uint8_t req[64], want[60];
	size_t n = pcp_map_req(req, 7200, HOST_A, nonce1, 17, 4500, 4500);

	run(HOST_A, req, n, T0);
	/* §7.2 response header + §11.1 MAP response */
	memset(want, 0, sizeof(want));
	want[0] = 2;
	want[1] = 0x81;
	want[3] = 0;			/* SUCCESS */
	want[6] = 0x1c; want[7] = 0x20;	/* 7200 */
	want[11] = 42;			/* epoch */
	memcpy(want + 24, nonce1, 12);
	want[36] = 17;
	want[40] = 0x11; want[41] = 0x94;
	want[42] = 0x11; want[43] = 0x94;
	want[54] = want[55] = 0xff;
	want[56] = 203; want[57] = 0; want[58] = 113; want[59] = 10;
	assert_int_equal(rep.len, 60);
	assert_memory_equal(rep.buf, want, 60);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].origin, GWD_ORIGIN_PCP);
	assert_true(t.m[0].has_nonce);

	/* §11.3: the same request renews */
	run(HOST_A, req, n, T0 + 1000);
	assert_int_equal(rep.change.kind, GWD_CHANGE_RENEW);
	assert_int_equal(rep.buf[3], 0);
	assert_int_equal(t.m[0].expires_ms, T0 + 1000 + 7200 * 1000);

	/* another nonce for the same internal port: another owner, refused */
	pcp_map_req(req, 7200, HOST_A, nonce2, 17, 4500, 4500);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[1], 0x81);
	assert_int_equal(rep.buf[3], PCP_RESULT_NOT_AUTHORIZED);
	assert_memory_equal(rep.buf + 24, nonce2, 12);	/* §7.2: the request is copied */
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
	/* ...and cannot delete it either */
	pcp_map_req(req, 0, HOST_A, nonce2, 17, 4500, 0);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(t.n, 1);
	/* the owner can */
	pcp_map_req(req, 0, HOST_A, nonce1, 17, 4500, 0);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_SUCCESS);
	assert_int_equal(be32(rep.buf + 4), 0);
	assert_int_equal(t.n, 0);
}

static void pcp_only_for_itself(void **state)
{
	uint8_t req[84];
	size_t n = pcp_map_req(req, 3600, HOST_B, nonce1, 17, 4500, 4500);

	/* §8.3: the client address in the header is not the source */
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_ADDRESS_MISMATCH);
	assert_int_equal(t.n, 0);

	/* §13.1 THIRD_PARTY (code 1, 16 bytes): refused */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 4500, 4500);
	memset(req + n, 0, 20);
	req[n] = 1;
	req[n + 3] = 16;
	req[n + 4 + 10] = req[n + 4 + 11] = 0xff;
	req[n + 4 + 12] = 192; req[n + 4 + 13] = 168; req[n + 4 + 14] = 1; req[n + 4 + 15] = 3;
	run(HOST_A, req, n + 20, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(rep.len, n + 20);	/* options copied back */
	assert_int_equal(t.n, 0);
}

static void pcp_errors(void **state)
{
	uint8_t req[64];
	size_t n;

	/* protocol other than TCP/UDP */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 132, 4500, 4500);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_UNSUPP_PROTOCOL);
	assert_int_equal(be32(rep.buf + 4), GWD_PCP_ERR_LONG_S);
	/* all protocols */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 0, 0, 0);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_UNSUPP_PROTOCOL);
	/* version 3: UNSUPP_VERSION naming version 2, header only */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 4500, 4500);
	req[0] = 3;
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.len, 24);
	assert_int_equal(rep.buf[0], 2);
	assert_int_equal(rep.buf[3], PCP_RESULT_UNSUPP_VERSION);
	/* a length that is not a multiple of 4 */
	req[0] = 2;
	run(HOST_A, req, n - 2, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_MALFORMED_REQUEST);
	/* PEER (opcode 2) */
	req[1] = 2;
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_UNSUPP_OPCODE);
	/* a response (R bit): silence */
	req[1] = 0x81;
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.len, 0);
	assert_int_equal(t.n, 0);
	/* no external address: a short-lived NETWORK_FAILURE */
	ctx.ext_addr = 0;
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 4500, 4500);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_NETWORK_FAILURE);
	assert_int_equal(be32(rep.buf + 4), GWD_PCP_ERR_SHORT_S);
	assert_int_equal(be32(rep.buf + 8), 42);
}

static void pcp_prefer_failure(void **state)
{
	uint8_t req[64];
	size_t n;
	struct gwd_request r;

	n = pcp_map_req(req, 3600, HOST_A, nonce1, 6, 22, 2222);
	run(HOST_A, req, n, T0);
	assert_int_equal(be16(rep.buf + 42), 2222);

	/* B asks for 2222 with PREFER_FAILURE (code 2, empty): an error, not another port */
	n = pcp_map_req(req, 3600, HOST_B, nonce2, 6, 22, 2222);
	req[n] = 2;
	req[n + 1] = req[n + 2] = req[n + 3] = 0;
	run(HOST_B, req, n + 4, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_CANNOT_PROVIDE_EXTERNAL);
	assert_int_equal(be32(rep.buf + 4), GWD_PCP_ERR_SHORT_S);
	assert_int_equal(t.n, 1);
	/* a free port with PREFER_FAILURE: granted, the option echoed */
	n = pcp_map_req(req, 3600, HOST_B, nonce2, 6, 22, 2223);
	req[n] = 2;
	run(HOST_B, req, n + 4, T0);
	assert_int_equal(rep.buf[3], 0);
	assert_int_equal(be16(rep.buf + 42), 2223);
	assert_int_equal(rep.len, n + 4);
	gwd_request_parse(rep.buf, rep.len, &r);	/* a response is never a request */
	assert_int_equal(r.why, 0);
	assert_int_not_equal(r.rc, 0);
	/* without it, B gets another port */
	n = pcp_map_req(req, 3600, HOST_B, nonce2, 6, 23, 2222);
	run(HOST_B, req, n, T0);
	assert_int_equal(rep.buf[3], 0);
	assert_int_not_equal(be16(rep.buf + 42), 2222);
}

static void pcp_quota(void **state)
{
	uint8_t req[64];
	size_t n;

	for (uint16_t p = 1; p <= 4; p++) {
		n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, p, 0);
		run(HOST_A, req, n, T0);
		assert_int_equal(rep.buf[3], 0);
	}
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 5, 0);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_USER_EX_QUOTA);
}

static void pcp_announce(void **state)
{
	uint8_t req[24] = { 2, 0 };
	uint8_t want[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42 };

	req[18] = req[19] = 0xff;
	req[20] = 192; req[21] = 168; req[22] = 1; req[23] = 2;
	run(HOST_A, req, 24, T0);
	assert_int_equal(rep.len, 24);
	assert_memory_equal(rep.buf, want, 24);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
}

static void pmp_and_pcp_share_mappings(void **state)
{
	uint8_t req[64];
	size_t n;

	/* NAT-PMP made it; a PCP client on the same host adopts it with its nonce */
	pmp_map(req, HOST_A, 1, 4500, 4500, 3600);
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 4500, 0);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], 0);
	assert_int_equal(be16(rep.buf + 42), 4500);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].origin, GWD_ORIGIN_NATPMP);	/* who created it */
	/* NAT-PMP deletes it */
	pmp_map(req, HOST_A, 1, 4500, 0, 0);
	assert_int_equal(t.n, 0);
}

static void announcements(void **state)
{
	uint8_t b[64];
	const uint8_t pmp[12] = { 0, 128, 0, 0, 0, 0, 0, 42, 203, 0, 113, 10 };
	const uint8_t pcp[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42 };

	assert_int_equal(gwd_announce_natpmp(&ctx, b, sizeof(b)), 12);
	assert_memory_equal(b, pmp, 12);
	assert_int_equal(gwd_announce_pcp(&ctx, b, sizeof(b)), 24);
	assert_memory_equal(b, pcp, 24);
}

static void backend_failure(void **state)
{
	uint8_t req[64];
	struct gwd_request r;
	size_t n;

	pmp_map_req(req, 1, 4500, 4500, 3600);
	gwd_request_parse(req, 12, &r);
	gwd_handle(&ctx, &t, HOST_A, &r, T0, &rep);
	assert_int_equal(rep.change.kind, GWD_CHANGE_CREATE);
	gwd_handle_failed(&ctx, &r, &rep);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NETWORK_FAILURE);
	assert_int_equal(be16(rep.buf + 10), 0);

	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 4500, 4500);
	gwd_request_parse(req, n, &r);
	gwd_handle_failed(&ctx, &r, &rep);
	assert_int_equal(rep.buf[3], PCP_RESULT_NETWORK_FAILURE);
	assert_int_equal(t.n, 0);
}

static void subnet(void **state)
{
	const uint32_t lan = 0xc0a80101;	/* 192.168.1.1/24 */

	assert_true(gwd_client_on_subnet(lan, 24, HOST_A));
	assert_true(gwd_client_on_subnet(lan, 24, 0xc0a801fe));
	assert_false(gwd_client_on_subnet(lan, 24, lan));		/* the gateway itself */
	assert_false(gwd_client_on_subnet(lan, 24, 0xc0a80100));	/* network */
	assert_false(gwd_client_on_subnet(lan, 24, 0xc0a801ff));	/* broadcast */
	assert_false(gwd_client_on_subnet(lan, 24, 0xc0a80202));	/* another LAN */
	assert_false(gwd_client_on_subnet(lan, 24, 0xc6336407));	/* 198.51.100.7 */
	assert_false(gwd_client_on_subnet(lan, 24, 0));
	assert_true(gwd_client_on_subnet(0x0a000000, 31, 0x0a000001));	/* RFC 3021 /31 */
	assert_false(gwd_client_on_subnet(lan, 32, HOST_A));
	assert_false(gwd_client_on_subnet(lan, 0, HOST_A));
}


/* ---- what a request must prove (docs/gateway.md) ---- */

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0xe };

/* A source the daemon could not prove changes nothing: result 2 for NAT-PMP and PCP. */
static void unproven_source_refused(void **state)
{
	struct gwd_client spoofed = { .addr = HOST_A, .proven = false, .has_lladdr = true };
	struct gwd_client genuine = { .addr = HOST_A, .proven = true, .has_lladdr = true };
	const uint8_t addr_req[2] = { 0, 0 };
	uint8_t req[64];
	size_t n;

	memcpy(spoofed.lladdr, MAC_X, 6);
	memcpy(genuine.lladdr, MAC_A, 6);
	/* NAT-PMP map from a forged source: NOT_AUTHORIZED, nothing mapped */
	pmp_map_req(req, 1, 4500, 4500, 3600);
	run_client(&spoofed, req, 12, T0);
	assert_int_equal(rep.len, 16);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(be16(rep.buf + 10), 0);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
	assert_int_equal(t.n, 0);
	/* the genuine host maps it; its link-layer address goes with the mapping */
	run_client(&genuine, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	assert_int_equal(t.n, 1);
	assert_true(t.m[0].has_lladdr);
	assert_memory_equal(t.m[0].lladdr, MAC_A, 6);
	/* a forged delete, one port or all: refused, the mapping stays */
	pmp_map_req(req, 1, 4500, 0, 0);
	run_client(&spoofed, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NOT_AUTHORIZED);
	pmp_map_req(req, 1, 0, 0, 0);
	run_client(&spoofed, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(t.n, 1);
	/* PCP MAP and PCP delete from a forged source: NOT_AUTHORIZED, a long error */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 6, 22, 2222);
	run_client(&spoofed, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(be32(rep.buf + 4), GWD_PCP_ERR_LONG_S);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
	n = pcp_map_req(req, 0, HOST_A, nonce1, 17, 4500, 0);
	run_client(&spoofed, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_NOT_AUTHORIZED);
	assert_int_equal(t.n, 1);
	/* what changes nothing is still answered: the external address, ANNOUNCE */
	run_client(&spoofed, addr_req, sizeof(addr_req), T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	assert_int_equal(be32(rep.buf + 8), EXT);
	n = pcp_map_req(req, 0, HOST_A, nonce1, 17, 4500, 0);
	req[1] = PCP_OP_ANNOUNCE;
	run_client(&spoofed, req, 24, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_SUCCESS);
	/* a forged source cannot dodge ADDRESS_MISMATCH either: that check comes first */
	n = pcp_map_req(req, 3600, HOST_B, nonce1, 6, 22, 2222);
	run_client(&spoofed, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_ADDRESS_MISMATCH);
	/* the genuine host still deletes its own */
	n = pcp_map_req(req, 0, HOST_A, nonce1, 17, 4500, 0);
	run_client(&genuine, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_SUCCESS);
	assert_int_equal(t.n, 0);
}

/* The per-client cap (4 here) counts every address one link-layer address has proven. */
static void cap_per_machine(void **state)
{
	struct gwd_client a = { .addr = HOST_A, .proven = true, .has_lladdr = true };
	struct gwd_client b_same = { .addr = HOST_B, .proven = true, .has_lladdr = true };
	struct gwd_client b_other = { .addr = HOST_B, .proven = true, .has_lladdr = true };
	uint8_t req[64];
	size_t n;

	memcpy(a.lladdr, MAC_A, 6);
	memcpy(b_same.lladdr, MAC_A, 6);
	memcpy(b_other.lladdr, MAC_X, 6);
	for (uint16_t p = 1; p <= 3; p++) {
		pmp_map_req(req, 2, p, 0, 3600);
		run_client(&a, req, 12, T0);
		assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	}
	/* the same machine with its second address: the 4th is granted, the 5th not */
	pmp_map_req(req, 2, 100, 0, 3600);
	run_client(&b_same, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	pmp_map_req(req, 2, 101, 0, 3600);
	run_client(&b_same, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_NO_RESOURCES);
	assert_int_equal(rep.change.kind, GWD_CHANGE_NONE);
	n = pcp_map_req(req, 3600, HOST_B, nonce2, 17, 102, 0);
	run_client(&b_same, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_USER_EX_QUOTA);
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 103, 0);
	run_client(&a, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_USER_EX_QUOTA);
	assert_int_equal(t.n, 4);
	/* renewing what it holds is no new mapping: still granted */
	pmp_map_req(req, 2, 1, 0, 3600);
	run_client(&a, req, 12, T0 + 1000);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	assert_int_equal(rep.change.kind, GWD_CHANGE_RENEW);
	/* another machine at 192.168.1.3 (say after a DHCP lease moved) counts
	 * only what that address holds, 1, not MAC_A's 4 */
	assert_int_equal(gwd_table_count_owner(&t, HOST_B, MAC_X), 1);
	assert_int_equal(gwd_table_count_owner(&t, HOST_B, MAC_A), 4);
	pmp_map_req(req, 2, 200, 0, 3600);
	run_client(&b_other, req, 12, T0);
	assert_int_equal(be16(rep.buf + 2), NATPMP_RESULT_SUCCESS);
	assert_int_equal(gwd_table_count_owner(&t, HOST_B, MAC_X), 2);
	assert_int_equal(gwd_table_count_owner(&t, HOST_A, MAC_A), 4);
	assert_int_equal(gwd_table_count_owner(&t, HOST_A, NULL), 3);
}

/* Ports the router itself uses on the external address are never handed out. */
static void router_ports_never_mapped(void **state)
{
	uint8_t req[64];
	size_t n;

	gwd_table_busy_set(&t, GWD_PROTO_TCP, 22);
	gwd_table_busy_set(&t, GWD_PROTO_TCP, 8080);
	gwd_table_busy_set(&t, GWD_PROTO_UDP, 53);
	assert_true(gwd_table_busy(&t, GWD_PROTO_TCP, 8080));
	assert_false(gwd_table_busy(&t, GWD_PROTO_UDP, 8080));
	/* RFC 6886 §3.3: the suggested port is not free: another one */
	assert_int_equal(pmp_map(req, HOST_A, 2, 8080, 8080, 3600), NATPMP_RESULT_SUCCESS);
	assert_int_not_equal(be16(rep.buf + 10), 8080);
	assert_int_not_equal(be16(rep.buf + 10), 0);
	/* the other protocol on the same number is free */
	assert_int_equal(pmp_map(req, HOST_A, 1, 8080, 8080, 3600), NATPMP_RESULT_SUCCESS);
	assert_int_equal(be16(rep.buf + 10), 8080);
	/* RFC 6887 §11.3: PCP is offered another port; §13.2: with PREFER_FAILURE an error */
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 17, 53, 53);
	run(HOST_A, req, n, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_SUCCESS);
	assert_int_not_equal(be16(rep.buf + 42), 53);
	n = pcp_map_req(req, 3600, HOST_A, nonce1, 6, 2022, 22);
	req[n] = 2;
	req[n + 1] = req[n + 2] = req[n + 3] = 0;
	run(HOST_A, req, n + 4, T0);
	assert_int_equal(rep.buf[3], PCP_RESULT_CANNOT_PROVIDE_EXTERNAL);
	assert_int_equal(t.n, 3);
	/* a fresh snapshot: the router closed 8080, it can be had again (by A,
	 * who holds UDP 8080: §3.3 keeps the companion port for its owner) */
	gwd_table_busy_clear(&t);
	assert_int_equal(pmp_map(req, HOST_A, 2, 9090, 8080, 3600), NATPMP_RESULT_SUCCESS);
	assert_int_equal(be16(rep.buf + 10), 8080);
}

/* A range whose every port the router uses is exhausted: out of resources. */
static void router_ports_exhaust_range(void **state)
{
	uint8_t req[12];

	gwd_table_fini(&t);
	assert_int_equal(gwd_table_init(&t, 7000, 7001, 16, 16), 0);
	gwd_table_busy_set(&t, GWD_PROTO_UDP, 7000);
	assert_int_equal(pmp_map(req, HOST_A, 1, 7000, 7000, 3600), NATPMP_RESULT_SUCCESS);
	assert_int_equal(be16(rep.buf + 10), 7001);
	gwd_table_busy_set(&t, GWD_PROTO_UDP, 7001);
	assert_int_equal(pmp_map(req, HOST_B, 1, 7000, 7000, 3600), NATPMP_RESULT_NO_RESOURCES);
	assert_int_equal(gwd_table_pick_port(&t, HOST_B, GWD_PROTO_UDP, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pmp_external_address, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_map_and_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_port_taken_offers_another, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_pick_is_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_lifetime_clamped, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_delete_all, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(range_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_map, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_only_for_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_prefer_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(pcp_announce, setup, teardown),
		cmocka_unit_test_setup_teardown(pmp_and_pcp_share_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(announcements, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(subnet, setup, teardown),
		cmocka_unit_test_setup_teardown(rsip_ports_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(unproven_source_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_per_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(router_ports_never_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(router_ports_exhaust_range, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
