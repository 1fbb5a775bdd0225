/*
 * lib/agent records: the record set of docs/design.md §4 for the host of
 * docs/design.md §1 (laptop, MAC 00:22:69:8e:34:2a, behind NAT 203.0.113.10:4500),
 * compared line by line with the table, plus every input check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/identity.h"
#include "agent/records.h"

static const uint8_t mac[6] = { 0x00, 0x22, 0x69, 0x8e, 0x34, 0x2a };
static const uint8_t ula[16] = { 0xfd, 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1,
				 0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a };
static const char *const features[] = { "ike=2", "esp=aes256gcm16,chacha20poly1305" };
static const struct agent_service ssh = { "ssh", "tcp", 22, NULL, 0 };
static const char *const smb_txt[] = { "path=/srv", "u=alice" };
static struct agent_service services[2];

static struct agent_publish laptop(void)
{
	struct agent_publish p = {
		.domain = "alice.members.example.net",
		.host = "laptop",
		.ext_addr = { 203, 0, 113, 10 },
		.ext_port = 4500,
		.model = "ThinkPad X1",
		.os = "Debian 12",
		.features = features,
		.nfeatures = 2,
	};

	agent_eui64_from_mac(p.eui64, mac);
	memcpy(p.ula, ula, 16);
	services[0] = ssh;
	services[1] = (struct agent_service){ "smb", "tcp", 445, smb_txt, 2 };
	return p;
}

static void expect_set(const struct agent_publish *p, const char *const *want, size_t nwant)
{
	struct agent_rr rr[AGENT_RECORDS_MAX];
	size_t n = 99;
	char line[1024];

	assert_int_equal(agent_records_build(p, rr, AGENT_RECORDS_MAX, &n), 0);
	for (size_t i = 0; i < n && i < nwant; i++) {
		assert_true(agent_rr_format(&rr[i], line, sizeof(line)) > 0);
		assert_string_equal(line, want[i]);
	}
	assert_int_equal(n, nwant);
}

static void design_table(void **state)
{
	struct agent_publish p = laptop();
	static const char *const want[] = {
		"laptop.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"_autotunnel._udp.laptop.alice.members.example.net. 60 IN SRV 0 0 4500 AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net.",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN A 203.0.113.10",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN TXT \"v=1\" \"model=ThinkPad X1\" \"os=Debian 12\" \"ike=2\" \"esp=aes256gcm16,chacha20poly1305\"",
		"_autotunnel._udp.alice.members.example.net. 60 IN PTR laptop.alice.members.example.net.",
		"_ssh._tcp.alice.members.example.net. 60 IN PTR laptop._ssh._tcp.alice.members.example.net.",
		"laptop._ssh._tcp.alice.members.example.net. 60 IN SRV 0 0 22 laptop.alice.members.example.net.",
		"laptop._ssh._tcp.alice.members.example.net. 60 IN TXT \"\"",
		"_smb._tcp.alice.members.example.net. 60 IN PTR laptop._smb._tcp.alice.members.example.net.",
		"laptop._smb._tcp.alice.members.example.net. 60 IN SRV 0 0 445 laptop.alice.members.example.net.",
		"laptop._smb._tcp.alice.members.example.net. 60 IN TXT \"path=/srv\" \"u=alice\"",
	};

	p.services = services;
	p.nservices = 2;
	expect_set(&p, want, 12);
}

static void shared_flags_and_ttl(void **state)
{
	struct agent_publish p = laptop();
	struct agent_rr rr[AGENT_RECORDS_MAX];
	size_t n;

	p.services = services;
	p.nservices = 1;
	p.ttl = 120;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	assert_int_equal(n, 9);
	/* only the account-wide PTR sets are shared with other hosts */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rr[i].shared, rr[i].type == AGENT_RR_PTR);
		assert_int_equal(rr[i].ttl, 120);
	}
	assert_int_equal(rr[1].srv.priority, 0);
	assert_int_equal(rr[1].srv.weight, 0);
	/* a relayed location says so in its SRV priority (docs/relay.md); nothing else changes */
	p.ext_relayed = true;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(rr[1].type, AGENT_RR_SRV);
	assert_int_equal(rr[1].srv.priority, AGENT_SRV_PRIO_RELAYED);
	assert_int_equal(rr[1].srv.port, 4500);
}

static void no_location_no_srv(void **state)
{
	struct agent_publish p = laptop();
	static const char *const want[] = {
		"laptop.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN TXT \"v=1\"",
		"_autotunnel._udp.alice.members.example.net. 60 IN PTR laptop.alice.members.example.net.",
	};

	p.ext_port = 0;
	p.model = p.os = NULL;
	p.nfeatures = 0;
	expect_set(&p, want, 4);
}

/* docs/sso.md: the local KDC's realm and where it listens, only while it runs */
static void kdc_records(void **state)
{
	struct agent_publish p = laptop();
	static const char *const want[] = {
		"laptop.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN AAAA fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a",
		"AutoTunnel-00-22-69-FF-FE-8E-34-2A.alice.members.example.net. 60 IN TXT \"v=1\"",
		"_autotunnel._udp.alice.members.example.net. 60 IN PTR laptop.alice.members.example.net.",
		"_kerberos.laptop.alice.members.example.net. 60 IN TXT \"LAPTOP.ALICE.MEMBERS.EXAMPLE.NET\"",
		"_kerberos._udp.laptop.alice.members.example.net. 60 IN SRV 0 0 88 laptop.alice.members.example.net.",
		"_kerberos._tcp.laptop.alice.members.example.net. 60 IN SRV 0 0 88 laptop.alice.members.example.net.",
	};
	struct agent_rr rr[AGENT_RECORDS_MAX];
	size_t n;

	p.ext_port = 0;
	p.model = p.os = NULL;
	p.nfeatures = 0;
	p.krb_realm = "LAPTOP.ALICE.MEMBERS.EXAMPLE.NET";
	expect_set(&p, want, 7);
	/* none of them shared: each host replaces its own */
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	for (size_t i = 4; i < n; i++)
		assert_false(rr[i].shared);
	/* one short of room */
	assert_int_equal(agent_records_build(&p, rr, 6, &n), -ENOSPC);
}

static void service_type_enumeration(void **state)
{
	struct agent_publish p = laptop();
	struct agent_rr rr[AGENT_RECORDS_MAX];
	char line[512];
	size_t n;

	p.services = services;
	p.nservices = 2;
	p.service_types = true;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	assert_int_equal(n, 14);
	assert_true(agent_rr_format(&rr[12], line, sizeof(line)) > 0);
	assert_string_equal(line, "_services._dns-sd._udp.alice.members.example.net. 60 IN PTR _ssh._tcp.alice.members.example.net.");
	assert_true(agent_rr_format(&rr[13], line, sizeof(line)) > 0);
	assert_string_equal(line, "_services._dns-sd._udp.alice.members.example.net. 60 IN PTR _smb._tcp.alice.members.example.net.");
	assert_true(rr[13].shared);
}

static void capacity_boundary(void **state)
{
	struct agent_publish p = laptop();
	struct agent_rr rr[AGENT_RECORDS_MAX];
	size_t n = 7;

	p.services = services;
	p.nservices = 2;
	assert_int_equal(agent_records_build(&p, rr, 11, &n), -ENOSPC);
	assert_int_equal(n, 0);
	assert_int_equal(agent_records_build(&p, rr, 12, &n), 0);
	assert_int_equal(n, 12);
}

static void domain_is_canonicalised(void **state)
{
	struct agent_publish p = laptop();
	struct agent_rr rr[AGENT_RECORDS_MAX];
	size_t n;

	p.domain = "Alice.Members.Example.NET.";
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	assert_string_equal(rr[0].name, "laptop.alice.members.example.net");
}

static void bad_inputs(void **state)
{
	struct agent_publish p;
	struct agent_rr rr[AGENT_RECORDS_MAX];
	struct agent_service s;
	char big[300];
	size_t n;
	static const char *const bad_txt[] = { NULL };

#define BAD(field, value, err) do {						\
		p = laptop();							\
		p.field = value;						\
		assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), err); \
	} while (0)
	BAD(domain, NULL, -EINVAL);
	BAD(domain, "alice..example.net", -EINVAL);
	BAD(domain, "alice_x.example.net", -EINVAL);
	BAD(host, "Laptop", -EINVAL);
	BAD(host, "-laptop", -EINVAL);
	BAD(host, "", -EINVAL);
	BAD(ula[0], 0xfc, -EINVAL);
	BAD(features, bad_txt, -EINVAL);
	BAD(nservices, AGENT_SERVICES_MAX + 1, -EINVAL);

	/* a TXT string of 255 bytes fits; 256 does not */
	memset(big, 'x', sizeof(big));
	big[255 - 6] = '\0';		/* "model=" + 249 = 255 */
	BAD(model, big, 0);
	big[255 - 6] = 'x';
	big[256 - 6] = '\0';
	BAD(model, big, -EINVAL);

	/*
	 * The longest name is "AutoTunnel-E.D", 35 + |D| characters: a D of
	 * 217 characters fits in 253, one of 219 does not.
	 */
	for (int i = 0; i < 219; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[217] = '\0';
	BAD(domain, big, 0);
	assert_int_equal(strlen(rr[2].name), 252);
	big[217] = '.';
	big[219] = '\0';
	BAD(domain, big, -ENOSPC);

	/* RFC 6335 service names */
	const char *const names[] = { "", "-ssh", "ssh-", "s--h", "1234", "SSH", "sixteen-chars-xx", "s_h" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p = laptop();
		s = ssh;
		s.name = names[i];
		p.services = &s;
		p.nservices = 1;
		assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
	}
	p = laptop();
	s = ssh;
	s.name = "fifteen-chars-x";
	p.services = &s;
	p.nservices = 1;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	s.proto = "sctp";
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
	s = ssh;
	s.port = 0;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
	/* the same type twice on one host */
	services[0] = ssh;
	services[1] = ssh;
	p.services = services;
	p.nservices = 2;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
#undef BAD
}

static void format_escapes_and_bounds(void **state)
{
	struct agent_rr rr = { .name = "x.example.net", .type = AGENT_RR_TXT, .ttl = 5 };
	char line[64];
	const char *want = "x.example.net. 5 IN TXT \"a\\\"b\\\\c\\010\" \"\"";

	rr.txt.n = 2;
	memcpy(rr.txt.s[0], "a\"b\\c\n", 7);
	rr.txt.len[0] = 6;
	rr.txt.len[1] = 0;
	assert_int_equal(agent_rr_format(&rr, line, sizeof(line)), (int)strlen(want));
	assert_string_equal(line, want);
	/* exactly strlen + 1 bytes are needed */
	assert_int_equal(agent_rr_format(&rr, line, strlen(want) + 1), (int)strlen(want));
	assert_int_equal(agent_rr_format(&rr, line, strlen(want)), -ENOSPC);
	assert_string_equal(line, "");
	rr.type = 99;
	assert_int_equal(agent_rr_format(&rr, line, sizeof(line)), -EINVAL);
	assert_null(agent_rr_type_name(99));
}

#define ID "0123456789abcdef0123456789abcdef"

/* H.D TXT "autotunnel-id=ID" right after H.D AAAA; a bad id is refused. */
static void host_id_txt(void **state)
{
	struct agent_publish p = laptop();
	struct agent_rr rr[AGENT_RECORDS_MAX];
	char line[1024];
	size_t n;

	(void)state;
	p.host_id = ID;
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), 0);
	assert_int_equal(n, 7);
	assert_true(agent_rr_format(&rr[1], line, sizeof(line)) > 0);
	assert_string_equal(line, "laptop.alice.members.example.net. 60 IN TXT \"autotunnel-id=" ID "\"");
	assert_false(rr[1].shared);
	p.host_id = "0123456789ABCDEF0123456789ABCDEF";
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
	p.host_id = ID "0";
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX, &n), -EINVAL);
	assert_int_equal(agent_host_id_check(ID), 0);
	assert_int_equal(agent_host_id_check(""), -EINVAL);
	assert_int_equal(agent_host_id_check(NULL), -EINVAL);
	assert_int_equal(agent_host_id_check("0123456789abcdef0123456789abcdeg"), -EINVAL);
}

/* The largest set: every service, their types, the id and the KDC fill AGENT_RECORDS_MAX exactly. */
static void records_max(void **state)
{
	static char names[AGENT_SERVICES_MAX][8];
	struct agent_service svc[AGENT_SERVICES_MAX];
	struct agent_publish p = laptop();
	static struct agent_rr rr[AGENT_RECORDS_MAX + 1];
	size_t n;

	(void)state;
	for (int i = 0; i < AGENT_SERVICES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "svc%d", i);
		svc[i] = (struct agent_service){ names[i], "tcp", (uint16_t)(1000 + i), NULL, 0 };
	}
	p.services = svc;
	p.nservices = AGENT_SERVICES_MAX;
	p.service_types = true;
	p.host_id = ID;
	p.krb_realm = "LAPTOP.ALICE.MEMBERS.EXAMPLE.NET";
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX + 1, &n), 0);
	assert_int_equal(n, AGENT_RECORDS_MAX);
	assert_int_equal(agent_records_build(&p, rr, AGENT_RECORDS_MAX - 1, &n), -ENOSPC);
}

static void name_owner(void **state)
{
	struct agent_name_seen s;
	uint8_t other[16];

	(void)state;
	memcpy(other, ula, 16);
	other[7] ^= 1;
	/* no AAAA: free, whatever a TXT says */
	memset(&s, 0, sizeof(s));
	memcpy(s.id, ID, sizeof(ID));
	assert_int_equal(agent_name_owner(&s, ula, ID), AGENT_NAME_FREE);
	/* our ULA alone: ours, with or without an id */
	memset(&s, 0, sizeof(s));
	memcpy(s.aaaa[0], ula, 16);
	s.naaaa = 1;
	assert_int_equal(agent_name_owner(&s, ula, NULL), AGENT_NAME_OURS);
	assert_int_equal(agent_name_owner(&s, ula, ID), AGENT_NAME_OURS);
	/* another ULA: taken, unless it carries our id (our records of an earlier boot) */
	memcpy(s.aaaa[0], other, 16);
	assert_int_equal(agent_name_owner(&s, ula, ID), AGENT_NAME_TAKEN);
	memcpy(s.id, ID, sizeof(ID));
	assert_int_equal(agent_name_owner(&s, ula, ID), AGENT_NAME_OURS);
	assert_int_equal(agent_name_owner(&s, ula, NULL), AGENT_NAME_TAKEN);
	assert_int_equal(agent_name_owner(&s, ula, "ffffffffffffffffffffffffffffffff"), AGENT_NAME_TAKEN);
	/* ours and another's together: taken */
	memset(s.id, 0, sizeof(s.id));
	memcpy(s.aaaa[0], ula, 16);
	memcpy(s.aaaa[1], other, 16);
	s.naaaa = 2;
	assert_int_equal(agent_name_owner(&s, ula, ID), AGENT_NAME_TAKEN);
}

static void label_alt(void **state)
{
	char out[64], base[64];

	(void)state;
	assert_int_equal(agent_host_label_alt(out, "desktop", 2), 9);
	assert_string_equal(out, "desktop-2");
	assert_int_equal(agent_host_label_alt(out, "desktop", 99), 10);
	assert_string_equal(out, "desktop-99");
	assert_int_equal(agent_host_label_alt(out, "desktop", 1), -EINVAL);
	assert_int_equal(agent_host_label_alt(out, "Desktop", 2), -EINVAL);
	assert_int_equal(agent_host_label_alt(out, "", 2), -EINVAL);
	/* a 63-character base is shortened to fit, past a hyphen it would end with */
	memset(base, 'a', 63);
	base[63] = '\0';
	assert_int_equal(agent_host_label_alt(out, base, 12), 63);
	assert_string_equal(out + 60, "-12");
	base[59] = '-';
	assert_int_equal(agent_host_label_alt(out, base, 12), 62);
	assert_string_equal(out + 59, "-12");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(design_table),
		cmocka_unit_test(shared_flags_and_ttl),
		cmocka_unit_test(no_location_no_srv),
		cmocka_unit_test(kdc_records),
		cmocka_unit_test(service_type_enumeration),
		cmocka_unit_test(capacity_boundary),
		cmocka_unit_test(domain_is_canonicalised),
		cmocka_unit_test(bad_inputs),
		cmocka_unit_test(format_escapes_and_bounds),
		cmocka_unit_test(host_id_txt),
		cmocka_unit_test(records_max),
		cmocka_unit_test(name_owner),
		cmocka_unit_test(label_alt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
