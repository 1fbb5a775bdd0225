/*
 * lib/agent hosts cache: the file the NSS module reads. Round trip, lookups
 * by short name, FQDN and address, and every rule of the strict format.
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

#include "agent/hosts.h"

static const char file[] =
	"# autotunnel hosts v1\n"
	"desktop desktop.alice.members.example.net fd91:3b2c:5d10:aa01:21c:42ff:fe00:1\n"
	"nas nas.alice.members.example.net fd07::1\n";

static struct agent_host_entry entries[2] = {
	{ "desktop", "desktop.alice.members.example.net",
	  { 0xfd, 0x91, 0x3b, 0x2c, 0x5d, 0x10, 0xaa, 0x01, 0x02, 0x1c, 0x42, 0xff, 0xfe, 0x00, 0x00, 0x01 } },
	{ "nas", "nas.alice.members.example.net", { 0xfd, 0x07, [15] = 1 } },
};

static void roundtrip(void **state)
{
	uint8_t buf[512];
	size_t n = sizeof(file) - 1;

	assert_int_equal(agent_hosts_format(entries, 2, buf, sizeof(buf)), (int)n);
	assert_memory_equal(buf, file, n);
	assert_int_equal(agent_hosts_format(entries, 2, buf, n), (int)n);
	assert_int_equal(agent_hosts_format(entries, 2, buf, n - 1), -ENOSPC);
	assert_int_equal(agent_hosts_parse(buf, n, NULL, NULL, NULL), 0);
	/* no hosts: the header alone */
	assert_int_equal(agent_hosts_format(entries, 0, buf, sizeof(buf)), 22);
	assert_int_equal(agent_hosts_parse(buf, 22, NULL, NULL, NULL), 0);
}

static void writer_refuses_bad_entries(void **state)
{
	struct agent_host_entry e = entries[0];
	uint8_t buf[512];

	strcpy(e.fqdn, "desktopx.alice.members.example.net");
	assert_int_equal(agent_hosts_format(&e, 1, buf, sizeof(buf)), -EINVAL);
	strcpy(e.fqdn, "desktop");
	assert_int_equal(agent_hosts_format(&e, 1, buf, sizeof(buf)), -EINVAL);
	e = entries[0];
	strcpy(e.label, "Desktop");
	assert_int_equal(agent_hosts_format(&e, 1, buf, sizeof(buf)), -EINVAL);
	e = entries[0];
	e.ula[0] = 0xfe;
	assert_int_equal(agent_hosts_format(&e, 1, buf, sizeof(buf)), -EINVAL);
}

static void lookups(void **state)
{
	const uint8_t *b = (const uint8_t *)file;
	size_t n = sizeof(file) - 1;
	struct agent_host_entry e;

	assert_int_equal(agent_hosts_lookup_name(b, n, "desktop", &e), 0);
	assert_memory_equal(&e, &entries[0], sizeof(e));
	assert_int_equal(agent_hosts_lookup_name(b, n, "nas.alice.members.example.net", &e), 0);
	assert_string_equal(e.label, "nas");
	assert_int_equal(agent_hosts_lookup_name(b, n, "NAS.Alice.Members.Example.Net.", &e), 0);
	assert_int_equal(agent_hosts_lookup_name(b, n, "Desktop.", &e), 0);
	assert_string_equal(e.label, "desktop");
	assert_int_equal(agent_hosts_lookup_name(b, n, "laptop", &e), -ENOENT);
	assert_int_equal(agent_hosts_lookup_name(b, n, "desktop.alice", &e), -ENOENT);
	assert_int_equal(agent_hosts_lookup_name(b, n, "deskto", &e), -ENOENT);
	assert_int_equal(agent_hosts_lookup_name(b, n, "", &e), -ENOENT);
	assert_int_equal(agent_hosts_lookup_addr(b, n, entries[1].ula, &e), 0);
	assert_string_equal(e.fqdn, "nas.alice.members.example.net");
	assert_int_equal(agent_hosts_lookup_addr(b, n, (const uint8_t[16]){ 0xfd }, &e), -ENOENT);
}

static int count_cb(void *arg, const struct agent_host_entry *e)
{
	return ++*(int *)arg == 1 ? 0 : 7;
}

static void callback_and_bad_tail(void **state)
{
	char t[512];
	int calls = 0;
	size_t line;

	assert_int_equal(agent_hosts_parse((const uint8_t *)file, sizeof(file) - 1, count_cb, &calls, NULL), 7);
	assert_int_equal(calls, 2);
	/* a bad line after the match still fails the whole file */
	snprintf(t, sizeof(t), "%sbroken line\n", file);
	assert_int_equal(agent_hosts_parse((const uint8_t *)t, strlen(t), NULL, NULL, &line), -EBADMSG);
	assert_int_equal(line, 4);
	{
		struct agent_host_entry e;

		assert_int_equal(agent_hosts_lookup_name((const uint8_t *)t, strlen(t), "desktop", &e), -EBADMSG);
	}
}

static void expect_bad(const char *t, size_t want_line)
{
	size_t line = 99;

	assert_int_equal(agent_hosts_parse((const uint8_t *)t, strlen(t), NULL, NULL, &line), -EBADMSG);
	assert_int_equal(line, want_line);
}

static void strict(void **state)
{
	const char *h = "# autotunnel hosts v1\n";
	char t[1024];

	/* every truncation fails, except at the end of a line (the header alone is an empty file) */
	for (size_t i = 0; i < sizeof(file) - 1; i++)
		assert_int_equal(agent_hosts_parse((const uint8_t *)file, i, NULL, NULL, NULL),
				 i && file[i - 1] == '\n' ? 0 : -EBADMSG);
	expect_bad("", 1);
	expect_bad("# autotunnel hosts v2\n", 1);
	expect_bad("# autotunnel hosts v1\r\n", 1);
#define LINE(s) do { snprintf(t, sizeof(t), "%s%s", h, s); expect_bad(t, 2); } while (0)
	LINE("desktop desktop.alice.example.net fd07::1");		/* no final newline */
	LINE("desktop  desktop.alice.example.net fd07::1\n");		/* two spaces */
	LINE("desktop desktop.alice.example.net fd07::1 \n");		/* trailing space */
	LINE(" desktop desktop.alice.example.net fd07::1\n");
	LINE("desktop\tdesktop.alice.example.net fd07::1\n");
	LINE("desktop desktop.alice.example.net\n");
	LINE("desktop nas.alice.example.net fd07::1\n");		/* FQDN is not label + '.' */
	LINE("desktop desktopx.alice.example.net fd07::1\n");
	LINE("desktop desktop fd07::1\n");
	LINE("Desktop Desktop.alice.example.net fd07::1\n");		/* lower case only */
	LINE("desktop desktop.alice.example.net. fd07::1\n");
	LINE("desktop desktop.alice..example.net fd07::1\n");
	LINE("desktop desktop.alice.example.net fd07:0::1\n");		/* not canonical */
	LINE("desktop desktop.alice.example.net FD07::1\n");
	LINE("desktop desktop.alice.example.net fc07::1\n");		/* not fd00::/8 */
	LINE("desktop desktop.alice.example.net 192.0.2.1\n");
	LINE("desk_top desk_top.alice.example.net fd07::1\n");
	LINE("#comment\n");
	LINE("\n");
#undef LINE
	/* 63-character labels are the longest */
	{
		char label[65];

		memset(label, 'a', 64);
		label[63] = '\0';
		snprintf(t, sizeof(t), "%s%s %s.example.net fd07::1\n", h, label, label);
		assert_int_equal(agent_hosts_parse((const uint8_t *)t, strlen(t), NULL, NULL, NULL), 0);
		label[63] = 'a';
		label[64] = '\0';
		snprintf(t, sizeof(t), "%s%s %s.example.net fd07::1\n", h, label, label);
		expect_bad(t, 2);
	}
}

/* A valid file of exactly @p size bytes (size - 22 must be a sum of 72s and 74s). */
static size_t fill(char *t, size_t size)
{
	size_t pos = 0, body = size - 22, n74 = 0;

	while ((body - n74 * 74) % 72)
		n74++;
	pos += (size_t)sprintf(t, "# autotunnel hosts v1\n");
	for (size_t i = 0; pos < size; i++) {
		const char *label = i < n74 ? "hostabc" : "hostab";

		/* 2L + 60 bytes: L + 1 + (L + 18) + 1 + 39 + 1 */
		pos += (size_t)sprintf(t + pos, "%s %s.alice.example.net fd11:2222:3333:4444:5555:6666:7777:8888\n",
				       label, label);
	}
	return pos;
}

static void size_limit(void **state)
{
	char *t = malloc(AGENT_HOSTS_FILE_MAX + 200);

	assert_non_null(t);
	assert_int_equal(fill(t, AGENT_HOSTS_FILE_MAX), AGENT_HOSTS_FILE_MAX);
	assert_int_equal(agent_hosts_parse((const uint8_t *)t, AGENT_HOSTS_FILE_MAX, NULL, NULL, NULL), 0);
	/* the same file with one label a character longer: 2 bytes over */
	assert_int_equal(fill(t, AGENT_HOSTS_FILE_MAX + 2), AGENT_HOSTS_FILE_MAX + 2);
	assert_int_equal(agent_hosts_parse((const uint8_t *)t, AGENT_HOSTS_FILE_MAX + 2, NULL, NULL, NULL), -EBADMSG);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(writer_refuses_bad_entries),
		cmocka_unit_test(lookups),
		cmocka_unit_test(callback_and_bad_tail),
		cmocka_unit_test(strict),
		cmocka_unit_test(size_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
