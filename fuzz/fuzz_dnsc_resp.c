/*
 * Fuzz the opening of answers (lib/dnsc msg.c, update.c, sd.c): the input is
 * a message from the server. It is opened as the answer to a fixed signed
 * query, to a fixed signed UPDATE, and unsigned; its records are walked and
 * read as DNS-SD answers. Nothing may crash or read out of bounds, and an
 * answer accepted as authentic must really carry the query's id.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/records.h"
#include "dnsc/msg.h"
#include "dnsc/sd.h"
#include "dnsc/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WALL 1700000000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t secret[32] = "autotunnel fuzz key 32 bytes!!!";
	static uint8_t req[DNSC_MSG_MAX];
	static struct dnsc_resp r;
	static struct dns_name inst[16];
	static struct dnsc_service svc;
	struct dns_tsig_key key;
	struct dns_tsig t;
	struct dns_name d, zone, q;
	struct dnsc_update_result ur;
	struct agent_rr rr = { .name = "laptop.alice.members.example.net", .type = AGENT_RR_AAAA,
			       .ttl = 60, .aaaa = { 0xfd } };
	struct dnsc_rr x;
	unsigned pos = 0;
	size_t len;
	int rc, n;

	if (dnsc_account_key(&key, "alice.members.example.net", secret) ||
	    dns_name_from_text(&d, "alice.members.example.net") || dnsc_zone_of(&d, &zone) ||
	    dns_name_from_text(&q, "_ssh._tcp.alice.members.example.net"))
		return 0;

	/* as the answer to a signed query */
	dns_tsig_init(&t, &key);
	if (dnsc_query_build(req, sizeof(req), &len, 0x0101, &q, DNS_TYPE_PTR, NULL, &t, WALL) == 0) {
		char why[200];

		rc = dnsc_resp_open(&r, data, size, 0x0101, &q, DNS_TYPE_PTR, &t, WALL);
		assert(rc == 0 || rc == -EBADMSG || rc == -EACCES || rc == -EIO);
		if (rc == 0)
			assert(r.msg.hdr.id == 0x0101 && r.is_signed);
		(void)dnsc_resp_explain(&r, rc, why, sizeof(why));
	}
	dns_tsig_fini(&t);

	/* as the answer to a signed UPDATE */
	dns_tsig_init(&t, &key);
	if (dnsc_update_build(req, sizeof(req), &len, 0x0202, &zone, &rr, 1, NULL, 0, 5400, &t, WALL) == 0) {
		rc = dnsc_update_answer(&ur, data, size, 0x0202, &zone, 5400, &t, WALL);
		assert(rc == 0 || rc == -EBADMSG || rc == -EACCES || rc == -EIO);
	}
	dns_tsig_fini(&t);

	/* unsigned, as DNS-SD answers */
	if (dnsc_resp_open(&r, data, size, size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0,
			   NULL, 0, NULL, WALL) != 0)
		return 0;
	while ((rc = dnsc_rr_next(&r.msg, &pos, &x)) == 1)
		assert(x.type != DNS_TYPE_OPT && x.type != DNS_TYPE_TSIG);
	n = dnsc_sd_ptrs(&r.msg, &d, inst, 16);
	assert(n >= -EBADMSG);
	for (int i = 0; i < n && i < 16; i++) {
		rc = dnsc_sd_instance(&svc, &inst[i], &d, &r.msg, &r.msg);
		assert(rc == 0 || rc == -EINVAL || rc == -EBADMSG);
	}
	if (r.msg.count[DNS_SEC_QUESTION] == 1 && dns_msg_name(&r.msg, r.msg.qd[0].name, &q) == 0) {
		rc = dnsc_sd_instance(&svc, &q, &d, &r.msg, &r.msg);
		assert(rc == 0 || rc == -EINVAL || rc == -EBADMSG);
	}
	return 0;
}
