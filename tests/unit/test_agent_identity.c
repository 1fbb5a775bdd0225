/*
 * lib/agent identity: the ULA and EUI-64 label of RFC 6281 §§3, 6.3 with the
 * examples of RFC 6281 and docs/design.md §1, host labels, and the identity file.
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
#include "agent/name.h"

/* RFC 6281 §3: AutoTunnel-00-22-69-FF-FE-8E-34-2A; docs/design.md §1: fd3c:8a1e:9b02:44d1:0222:69ff:fe8e:342a */
static const uint8_t mac_rfc[6] = { 0x00, 0x22, 0x69, 0x8e, 0x34, 0x2a };
static const uint8_t rnd_design[7] = { 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1 };
static const uint8_t ula_design[16] = { 0xfd, 0x3c, 0x8a, 0x1e, 0x9b, 0x02, 0x44, 0xd1,
					0x02, 0x22, 0x69, 0xff, 0xfe, 0x8e, 0x34, 0x2a };

static void eui64_and_label(void **state)
{
	uint8_t eui[8], iid[8];
	char label[AGENT_TUNNEL_LABEL_LEN + 1];

	agent_eui64_from_mac(eui, mac_rfc);
	assert_int_equal(agent_eui64_label(label, sizeof(label), eui), AGENT_EUI64_LABEL_LEN);
	assert_string_equal(label, "00-22-69-FF-FE-8E-34-2A");
	/* exactly 24 bytes are needed; 23 is one short */
	assert_int_equal(agent_eui64_label(label, AGENT_EUI64_LABEL_LEN + 1, eui), AGENT_EUI64_LABEL_LEN);
	assert_int_equal(agent_eui64_label(label, AGENT_EUI64_LABEL_LEN, eui), -ENOSPC);

	assert_int_equal(agent_tunnel_label(label, sizeof(label), eui), AGENT_TUNNEL_LABEL_LEN);
	assert_string_equal(label, "AutoTunnel-00-22-69-FF-FE-8E-34-2A");
	assert_int_equal(agent_tunnel_label(label, sizeof(label) - 1, eui), -ENOSPC);

	/* the modified EUI-64 flips the U/L bit: 00 -> 02, and back for a local MAC */
	agent_iid_from_mac(iid, mac_rfc);
	assert_int_equal(iid[0], 0x02);
	assert_memory_equal(iid + 1, eui + 1, 7);
	{
		const uint8_t local[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
		const uint8_t want[8] = { 0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55 };

		agent_iid_from_mac(iid, local);
		assert_memory_equal(iid, want, 8);
	}
}

static void tunnel_label_parse(void **state)
{
	uint8_t eui[8], want[8];
	const char *ok = "AutoTunnel-00-22-69-FF-FE-8E-34-2A";

	agent_eui64_from_mac(want, mac_rfc);
	assert_int_equal(agent_tunnel_label_parse(eui, ok, strlen(ok)), 0);
	assert_memory_equal(eui, want, 8);
	/* DNS names compare case-insensitively */
	assert_int_equal(agent_tunnel_label_parse(eui, "autotunnel-00-22-69-ff-fe-8e-34-2a", 34), 0);
	assert_memory_equal(eui, want, 8);
	assert_int_equal(agent_tunnel_label_parse(eui, ok, strlen(ok) - 1), -EINVAL);
	assert_int_equal(agent_tunnel_label_parse(eui, "AutoTunnel-00-22-69-FF-FE-8E-34:2A", 34), -EINVAL);
	assert_int_equal(agent_tunnel_label_parse(eui, "AutoTunnel-00-22-69-FF-FE-8E-34-2G", 34), -EINVAL);
	assert_int_equal(agent_tunnel_label_parse(eui, "AutoTunnelX00-22-69-FF-FE-8E-34-2A", 34), -EINVAL);
}

static void ula_design_example(void **state)
{
	uint8_t ula[16];

	agent_ula_make(ula, rnd_design, mac_rfc);
	assert_memory_equal(ula, ula_design, 16);
}

static void mac_fallback_is_local_unicast(void **state)
{
	const uint8_t rnd[6] = { 0xff, 1, 2, 3, 4, 5 };
	uint8_t mac[6];

	agent_mac_fallback(mac, rnd);
	assert_int_equal(mac[0], 0xfe);	/* multicast bit cleared, local bit set */
	assert_memory_equal(mac + 1, rnd + 1, 5);
	agent_mac_fallback(mac, (const uint8_t[6]){ 0 });
	assert_int_equal(mac[0], 0x02);
}

static void host_labels(void **state)
{
	char h[64], err[160], long_name[80];

	assert_int_equal(agent_host_label(h, "Desktop", err, sizeof(err)), 7);
	assert_string_equal(h, "desktop");
	assert_int_equal(agent_host_label(h, "laptop.home.example", err, sizeof(err)), 6);
	assert_string_equal(h, "laptop");
	assert_int_equal(agent_host_label(h, "x1-carbon-2", err, sizeof(err)), 11);

	/* 63 characters is the limit, 64 is one too many */
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	assert_int_equal(agent_host_label(h, long_name, err, sizeof(err)), 63);
	long_name[63] = 'a';
	long_name[64] = '\0';
	assert_int_equal(agent_host_label(h, long_name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 63"));
	/* but a long domain after the first label is not part of H */
	memcpy(long_name + 10, ".", 1);
	assert_int_equal(agent_host_label(h, long_name, err, sizeof(err)), 10);

	assert_int_equal(agent_host_label(h, "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(agent_host_label(h, ".example", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_host_label(h, "my_pc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "the host name contains '_', which a DNS label cannot hold (use a-z, 0-9 and '-')");
	assert_int_equal(agent_host_label(h, "caf\xc3\xa9", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "byte 0xc3"));
	assert_int_equal(agent_host_label(h, "-pc", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "begins with a hyphen"));
	assert_int_equal(agent_host_label(h, "pc-.lan", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ends with a hyphen"));
	assert_int_equal(agent_host_label(h, "AutoTunnel-00", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reserved"));
	assert_int_equal(agent_host_label(h, "my pc", err, sizeof(err)), -EINVAL);
}

static void names(void **state)
{
	char out[256], big[300];

	assert_int_equal(agent_name_check("alice.members.example.net"), 0);
	assert_int_equal(agent_name_check("_autotunnel._udp.alice.members.example.net"), 0);
	assert_int_equal(agent_name_check("alice..example.net"), -EINVAL);
	assert_int_equal(agent_name_check("alice.example.net."), -EINVAL);
	assert_int_equal(agent_name_check("Alice.example.net"), -EINVAL);
	assert_int_equal(agent_name_check("_.example.net"), -EINVAL);
	assert_int_equal(agent_name_check("__x.example.net"), -EINVAL);
	assert_int_equal(agent_name_check(""), -EINVAL);
	assert_int_equal(agent_name_canon(out, sizeof(out), "Alice.Members.Example.NET."), 25);
	assert_string_equal(out, "alice.members.example.net");
	assert_int_equal(agent_name_canon(out, 25, "alice.members.example.net"), -ENOSPC);
	assert_int_equal(agent_name_canon(out, 26, "alice.members.example.net"), 25);
	/* 253 characters is the longest name, 254 is too long */
	for (int i = 0; i < 253; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[253] = '\0';
	assert_int_equal(agent_name_check(big), 0);
	big[253] = 'a';
	big[254] = '\0';
	assert_int_equal(agent_name_check(big), -EINVAL);
	assert_true(agent_name_equal("Desktop.Alice.example.net.", "desktop.alice.example.net"));
	assert_false(agent_name_equal("desktop.alice", "desktop.alicf"));
	assert_false(agent_name_equal("desktop", "desktop.alice"));
}

static struct agent_identity sample(void)
{
	struct agent_identity id = { 0 };

	memcpy(id.boot_id, "8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11", 37);
	memcpy(id.ula, ula_design, 16);
	memcpy(id.mac, mac_rfc, 6);
	strcpy(id.ifname, "eth0");
	return id;
}

static const char sample_text[] =
	"autotunnel-identity 1\n"
	"boot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
	"ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\n"
	"mac 00:22:69:8e:34:2a\n"
	"ifname eth0\n";

static void identity_file_roundtrip(void **state)
{
	struct agent_identity id = sample(), back;
	uint8_t buf[AGENT_IDENTITY_FILE_MAX];
	size_t n = sizeof(sample_text) - 1;

	assert_int_equal(agent_identity_format(&id, buf, sizeof(buf)), (int)n);
	assert_memory_equal(buf, sample_text, n);
	assert_int_equal(agent_identity_format(&id, buf, n - 1), -ENOSPC);
	assert_int_equal(agent_identity_format(&id, buf, n), (int)n);
	assert_int_equal(agent_identity_parse(&back, buf, n), 0);
	assert_memory_equal(&back, &id, sizeof(id));

	/* the ULA's low half must come from the MAC: a mismatch is not written */
	id.mac[5] ^= 1;
	assert_int_equal(agent_identity_format(&id, buf, sizeof(buf)), -EINVAL);
}

static void expect_bad(const char *text)
{
	struct agent_identity id;

	assert_int_equal(agent_identity_parse(&id, (const uint8_t *)text, strlen(text)), -EBADMSG);
	assert_int_equal(id.ula[0], 0);
}

static void identity_file_strict(void **state)
{
	char t[512];
	size_t n = sizeof(sample_text) - 1;
	struct agent_identity id;

	/* every byte short of the whole file fails, including a missing final '\n' */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(agent_identity_parse(&id, (const uint8_t *)sample_text, i), -EBADMSG);
	snprintf(t, sizeof(t), "%sextra 1\n", sample_text);
	expect_bad(t);
	/* version, key order, case and canonical forms */
	expect_bad("autotunnel-identity 2\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	expect_bad("autotunnel-identity 1\nula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\n"
		   "boot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	expect_bad("autotunnel-identity 1\nboot-id 8C2C3BC1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:0222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8E:34:2a\nifname eth0\n");
	/* a ULA outside fd00::/8, or whose identifier is not the MAC's */
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fc3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2b\nifname eth0\n");
	/* interface names the kernel would refuse */
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname 0123456789abcdef\n");
	expect_bad("autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname ../x\n");
	expect_bad("autotunnel-identity 1\r\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		   "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname eth0\n");
	/* 15 characters is the longest interface name */
	snprintf(t, sizeof(t), "autotunnel-identity 1\nboot-id 8c2c3bc1-4a8d-4ec4-9c0f-3e3f0e5b2f11\n"
		 "ula fd3c:8a1e:9b02:44d1:222:69ff:fe8e:342a\nmac 00:22:69:8e:34:2a\nifname 0123456789abcde\n");
	assert_int_equal(agent_identity_parse(&id, (const uint8_t *)t, strlen(t)), 0);
	assert_string_equal(id.ifname, "0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(eui64_and_label),
		cmocka_unit_test(tunnel_label_parse),
		cmocka_unit_test(ula_design_example),
		cmocka_unit_test(mac_fallback_is_local_unicast),
		cmocka_unit_test(host_labels),
		cmocka_unit_test(names),
		cmocka_unit_test(identity_file_roundtrip),
		cmocka_unit_test(identity_file_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
