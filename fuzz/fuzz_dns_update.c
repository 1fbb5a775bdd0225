/*
 * Fuzz lib/dns UPDATE: every valid message is applied to a small in-memory
 * zone (members.example.net with SOA, two NS and a few account records),
 * with and without the account permission check; afterwards the zone
 * must still obey the invariants the RFC 2136 rules keep: one SOA and at
 * least one NS at the apex, and no CNAME beside other data (DNSSEC
 * records excepted, as RFC 4035 §2.5 allows).
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/memzone.h"
#include "dns/msg.h"
#include "dns/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int r)
{
	assert(r == 0);
}

static struct dns_name name(const char *t)
{
	struct dns_name n;

	must(dns_name_from_text(&n, t));
	return n;
}

static void load(struct dns_memzone *z)
{
	struct dns_name apex = name("members.example.net"), ns1 = name("ns1.members.example.net"),
			ns2 = name("ns2.members.example.net"), host = name("host.alice.members.example.net"),
			www = name("www.alice.members.example.net"), ptr = name("_autotunnel._udp.alice.members.example.net");
	uint8_t soa[600];
	struct wire w = wire_writer(soa, sizeof(soa));
	static const uint8_t a[4] = { 192, 0, 2, 7 }, ula[16] = { 0xfd, [15] = 1 };

	dns_memzone_init(z, &apex);
	wire_write_bytes(&w, ns1.wire, ns1.len);
	wire_write_bytes(&w, ns1.wire, ns1.len);
	wire_write_u32(&w, 1);
	wire_write_u32(&w, 3600);
	wire_write_u32(&w, 900);
	wire_write_u32(&w, 604800);
	wire_write_u32(&w, 60);
	must(dns_memzone_add(z, &apex, DNS_TYPE_SOA, 3600, soa, (uint16_t)wire_offset(&w)));
	must(dns_memzone_add(z, &apex, DNS_TYPE_NS, 3600, ns1.wire, ns1.len));
	must(dns_memzone_add(z, &apex, DNS_TYPE_NS, 3600, ns2.wire, ns2.len));
	must(dns_memzone_add(z, &host, DNS_TYPE_A, 300, a, 4));
	must(dns_memzone_add(z, &host, DNS_TYPE_AAAA, 300, ula, 16));
	must(dns_memzone_add(z, &www, DNS_TYPE_CNAME, 300, host.wire, host.len));
	must(dns_memzone_add(z, &ptr, DNS_TYPE_PTR, 300, host.wire, host.len));
}

/* RFC 2181 §10.1 and RFC 4035 §2.5: beside a CNAME, only the DNSSEC types
 * that sign or deny it (SIG 24, KEY 25, NXT 30, RRSIG 46, NSEC 47). */
static bool may_sit_beside_cname(uint16_t type)
{
	return type == 24 || type == 25 || type == 30 || type == 46 || type == 47;
}

static void check_invariants(const struct dns_memzone *z)
{
	assert(dns_memzone_count(z, &z->apex, DNS_TYPE_SOA, NULL, 0) == 1);
	assert(dns_memzone_count(z, &z->apex, DNS_TYPE_NS, NULL, 0) >= 1);
	for (unsigned i = 0; i < z->n; i++) {
		if (z->rr[i].type != DNS_TYPE_CNAME)
			continue;
		/* one CNAME, and no other data at its name */
		assert(dns_memzone_count(z, &z->rr[i].name, DNS_TYPE_CNAME, NULL, 0) == 1);
		for (unsigned j = 0; j < z->n; j++)
			assert(j == i || !dns_name_equal(&z->rr[j].name, &z->rr[i].name) ||
			       may_sit_beside_cname(z->rr[j].type));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_msg m;
	static struct dns_memzone z, before;
	struct dns_name alice = name("alice.members.example.net"), zname;
	struct dns_lease lease;
	uint16_t rcode, zclass;
	int r;

	if (dns_msg_parse(&m, data, size))
		return 0;
	r = dns_update_lease(&m, &lease);
	assert(r == 0 || r == -ENOENT || r == -EBADMSG);
	r = dns_update_zone(&m, &zname, &zclass);
	assert(r == 0 || r == -EBADMSG);

	for (int pass = 0; pass < 2; pass++) {
		load(&z);
		z.owner = pass ? &alice : NULL;
		memcpy(&before, &z, sizeof(z));
		r = dns_update_process(&m, &z.apex, DNS_CLASS_IN, dns_memzone_ops(), &z, &rcode);
		/* only the zone's own capacity can fail */
		assert(r == 0 || (r == -ENOSPC && rcode == DNS_RCODE_SERVFAIL));
		if (r)
			continue;
		/* a failed update changes nothing */
		if (rcode != DNS_RCODE_NOERROR)
			assert(memcmp(&before, &z, sizeof(z)) == 0);
		check_invariants(&z);
		if (pass) {
			/* the account's key touched nothing outside the account */
			unsigned outside = 0;

			for (unsigned i = 0; i < z.n; i++)
				if (!dns_name_is_below(&z.rr[i].name, &alice))
					outside++;
			assert(outside == 3);
			assert(dns_memzone_count(&z, &z.apex, DNS_TYPE_NS, NULL, 0) == 2);
		}
	}
	return 0;
}
