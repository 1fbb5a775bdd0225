/*
 * lib/agent kerberos: the realm rule, the local user check, and the exact
 * text of kdc.conf, the pkinit_cert_match value and the clients' krb5.conf
 * (docs/sso.md), with the bounds of each buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/kerberos.h"

static const uint8_t ula_b[16] = { 0xfd, 0x91, 0x3b, 0x2c, 0x5d, 0x10, 0xaa, 0x01,
				   0x02, 0x1c, 0x42, 0xff, 0xfe, 0x00, 0x00, 0x01 };

static void realm(void **state)
{
	char r[AGENT_KRB_REALM_MAX + 1];
	char longname[300];

	(void)state;
	assert_int_equal(agent_krb_realm(r, sizeof(r), "desktop.alice.members.example.net"), 0);
	assert_string_equal(r, "DESKTOP.ALICE.MEMBERS.EXAMPLE.NET");
	/* case and one trailing dot forgiven */
	assert_int_equal(agent_krb_realm(r, sizeof(r), "Desktop-2.Alice.Members.Example.Net."), 0);
	assert_string_equal(r, "DESKTOP-2.ALICE.MEMBERS.EXAMPLE.NET");
	/* the exact room: 33 characters and the NUL */
	assert_int_equal(agent_krb_realm(r, 34, "desktop.alice.members.example.net"), 0);
	assert_int_equal(agent_krb_realm(r, 33, "desktop.alice.members.example.net"), -ENOSPC);
	/* one label is not a host of an account; bad names */
	assert_int_equal(agent_krb_realm(r, sizeof(r), "desktop"), -EINVAL);
	assert_int_equal(agent_krb_realm(r, sizeof(r), "a..b"), -EINVAL);
	assert_int_equal(agent_krb_realm(r, sizeof(r), "a b.c"), -EINVAL);
	assert_int_equal(agent_krb_realm(r, sizeof(r), NULL), -EINVAL);
	memset(longname, 'a', sizeof(longname));
	longname[100] = '.';
	longname[299] = '\0';
	assert_int_equal(agent_krb_realm(r, sizeof(r), longname), -EINVAL);
}

static void user(void **state)
{
	(void)state;
	assert_int_equal(agent_krb_user_check("alice"), 0);
	assert_int_equal(agent_krb_user_check("_svc-1"), 0);
	assert_int_equal(agent_krb_user_check("abcdefghijklmnopqrstuvwxyz012345"), 0);	/* 32 */
	assert_int_equal(agent_krb_user_check("abcdefghijklmnopqrstuvwxyz0123456"), -EINVAL);	/* 33 */
	assert_int_equal(agent_krb_user_check(""), -EINVAL);
	assert_int_equal(agent_krb_user_check(NULL), -EINVAL);
	assert_int_equal(agent_krb_user_check("-x"), -EINVAL);
	assert_int_equal(agent_krb_user_check("Alice"), -EINVAL);
	assert_int_equal(agent_krb_user_check("a/b"), -EINVAL);
	assert_int_equal(agent_krb_user_check("a$"), -EINVAL);
}

static const char kdc_conf[] =
	"# written by autotunneld at every start of its KDC (docs/sso.md): do not edit\n"
	"[kdcdefaults]\n"
	"\tkdc_listen = [fd91:3b2c:5d10:aa01:21c:42ff:fe00:1]:88\n"
	"\tkdc_tcp_listen = [fd91:3b2c:5d10:aa01:21c:42ff:fe00:1]:88\n"
	"[realms]\n"
	"\tDESKTOP.ALICE.MEMBERS.EXAMPLE.NET = {\n"
	"\t\tdatabase_name = /var/lib/autotunnel/kdc/principal\n"
	"\t\tkey_stash_file = /var/lib/autotunnel/kdc/stash\n"
	"\t\tacl_file = /var/lib/autotunnel/kdc/kadm5.acl\n"
	"\t\tmax_life = 10h\n"
	"\t\tmax_renewable_life = 0\n"
	"\t\tpkinit_identity = FILE:/var/lib/autotunnel/kdc.pem,/var/lib/autotunnel/kdc.key\n"
	"\t\tpkinit_anchors = FILE:/var/lib/autotunnel/anchor.pem\n"
	"\t}\n"
	"[plugins]\n"
	"\tcertauth = {\n"
	"\t\tdisable = pkinit_san\n"
	"\t}\n"
	"[logging]\n"
	"\tkdc = FILE:/var/lib/autotunnel/kdc/kdc.log\n";

static void kdcconf(void **state)
{
	struct agent_krb_kdc k = {
		.realm = "DESKTOP.ALICE.MEMBERS.EXAMPLE.NET",
		.ula = ula_b,
		.dir = "/var/lib/autotunnel/kdc",
		.anchor = "/var/lib/autotunnel/anchor.pem",
		.cert = "/var/lib/autotunnel/kdc.pem",
		.key = "/var/lib/autotunnel/kdc.key",
	};
	char buf[2048];
	size_t n = sizeof(kdc_conf) - 1;
	uint8_t not_ula[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), (int)n);
	assert_string_equal(buf, kdc_conf);
	assert_int_equal(agent_krb_kdc_conf(buf, n + 1, &k), (int)n);
	assert_int_equal(agent_krb_kdc_conf(buf, n, &k), -ENOSPC);
	/* a realm not in agent_krb_realm()'s form, an address outside fc00::/7, unsafe paths */
	k.realm = "desktop.alice.members.example.net";
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
	k.realm = "DESKTOP.ALICE.MEMBERS.EXAMPLE.NET";
	k.ula = not_ula;
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
	k.ula = ula_b;
	k.dir = "var/lib";
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
	k.dir = "/var/lib/a b";
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
	k.dir = "/var/lib/a\n[realms]";
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
	k.dir = "/var/lib/autotunnel/kdc";
	k.cert = "/x,/y";	/* a comma would split FILE:cert,key */
	assert_int_equal(agent_krb_kdc_conf(buf, sizeof(buf), &k), -EINVAL);
}

static void certmatch(void **state)
{
	char buf[128];
	static const char want[] = "<SAN>^alice@ALICE\\.MEMBERS\\.EXAMPLE\\.NET$";
	size_t n = sizeof(want) - 1;

	(void)state;
	assert_int_equal(agent_krb_cert_match(buf, sizeof(buf), "alice", "alice.members.example.net"), (int)n);
	assert_string_equal(buf, want);
	assert_int_equal(agent_krb_cert_match(buf, n + 1, "alice", "alice.members.example.net"), (int)n);
	assert_int_equal(agent_krb_cert_match(buf, n, "alice", "alice.members.example.net"), -ENOSPC);
	/* an account name that would escape the expression */
	assert_int_equal(agent_krb_cert_match(buf, sizeof(buf), "a.*", "alice.members.example.net"), -EINVAL);
	assert_int_equal(agent_krb_cert_match(buf, sizeof(buf), "", "alice.members.example.net"), -EINVAL);
	assert_int_equal(agent_krb_cert_match(buf, sizeof(buf), "alice", "alice"), -EINVAL);
}

static const char client_conf[] =
	"# written by autotunneld (docs/sso.md): the realms of the account alice.members.example.net, one per host\n"
	"[libdefaults]\n"
	"\tdefault_realm = LAPTOP.ALICE.MEMBERS.EXAMPLE.NET\n"
	"\tdefault_keytab_name = FILE:/r/krb5/host.keytab\n"
	"\tdns_lookup_kdc = false\n"
	"\tdns_lookup_realm = false\n"
	"\tdns_canonicalize_hostname = fallback\n"
	"\trdns = false\n"
	"\tticket_lifetime = 10h\n"
	"[realms]\n"
	"\tLAPTOP.ALICE.MEMBERS.EXAMPLE.NET = {\n"
	"\t\tkdc = [fd00::1]:88\n"
	"\t\tpkinit_anchors = FILE:/s/anchor.pem\n"
	"\t\tpkinit_identities = FILE:/r/krb5/client.pem,/r/krb5/client.key\n"
	"\t\tpkinit_kdc_hostname = laptop.alice.members.example.net\n"
	"\t\tpkinit_eku_checking = kpServerAuth\n"
	"\t\tauth_to_local = RULE:[1:$1@$0](^alice@LAPTOP\\.ALICE\\.MEMBERS\\.EXAMPLE\\.NET$)s/.*/bob/\n"
	"\t}\n"
	"\tDESKTOP.ALICE.MEMBERS.EXAMPLE.NET = {\n"
	"\t\tkdc = [fd91:3b2c:5d10:aa01:21c:42ff:fe00:1]:88\n"
	"\t\tpkinit_anchors = FILE:/s/anchor.pem\n"
	"\t\tpkinit_identities = FILE:/r/krb5/client.pem,/r/krb5/client.key\n"
	"\t\tpkinit_kdc_hostname = desktop.alice.members.example.net\n"
	"\t\tpkinit_eku_checking = kpServerAuth\n"
	"\t}\n"
	"[domain_realm]\n"
	"\tlaptop.alice.members.example.net = LAPTOP.ALICE.MEMBERS.EXAMPLE.NET\n"
	"\tlaptop = LAPTOP.ALICE.MEMBERS.EXAMPLE.NET\n"
	"\tdesktop.alice.members.example.net = DESKTOP.ALICE.MEMBERS.EXAMPLE.NET\n"
	"\tdesktop = DESKTOP.ALICE.MEMBERS.EXAMPLE.NET\n";

static void clientconf(void **state)
{
	struct agent_host_entry self = { "laptop", "laptop.alice.members.example.net", { 0xfd, [15] = 1 } };
	struct agent_host_entry peers[1] = { { "desktop", "desktop.alice.members.example.net", { 0 } } };
	struct agent_krb_client c = {
		.account = "alice",
		.domain = "alice.members.example.net",
		.self = &self,
		.user = "bob",
		.keytab = "/r/krb5/host.keytab",
		.peers = peers,
		.npeers = 1,
		.anchor = "/s/anchor.pem",
		.cert = "/r/krb5/client.pem",
		.key = "/r/krb5/client.key",
	};
	char buf[4096];
	size_t n = sizeof(client_conf) - 1;

	(void)state;
	memcpy(peers[0].ula, ula_b, 16);
	assert_int_equal(agent_krb_client_conf(buf, sizeof(buf), &c), (int)n);
	assert_string_equal(buf, client_conf);
	assert_int_equal(agent_krb_client_conf(buf, n, &c), -ENOSPC);
	/* without a KDC of its own: no default realm, no mapping, peers only */
	c.self = NULL;
	assert_true(agent_krb_client_conf(buf, sizeof(buf), &c) > 0);
	assert_null(strstr(buf, "default_realm"));
	assert_null(strstr(buf, "auth_to_local"));
	assert_null(strstr(buf, "keytab"));
	assert_non_null(strstr(buf, "\tDESKTOP.ALICE.MEMBERS.EXAMPLE.NET = {\n"));
	/* no hosts at all: still a valid file */
	c.npeers = 0;
	assert_true(agent_krb_client_conf(buf, sizeof(buf), &c) > 0);
	assert_null(strstr(buf, "DESKTOP"));
	/* a bad user, a label that is not the FQDN's, a peer address outside fc00::/7 */
	c.self = &self;
	c.user = "root; x";
	assert_int_equal(agent_krb_client_conf(buf, sizeof(buf), &c), -EINVAL);
	c.user = "bob";
	c.npeers = 1;
	snprintf(peers[0].label, sizeof(peers[0].label), "nas");
	assert_int_equal(agent_krb_client_conf(buf, sizeof(buf), &c), -EINVAL);
	snprintf(peers[0].label, sizeof(peers[0].label), "desktop");
	peers[0].ula[0] = 0x20;
	assert_int_equal(agent_krb_client_conf(buf, sizeof(buf), &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(realm),
		cmocka_unit_test(user),
		cmocka_unit_test(kdcconf),
		cmocka_unit_test(certmatch),
		cmocka_unit_test(clientconf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
