/*
 * src/nss: the NSS entry points called directly (under ASan/UBSan), with a
 * hosts file named by $AUTOTUNNEL_HOSTS: answers, NOTFOUND, UNAVAIL, and
 * ERANGE at the exact buffer size. tests/netns/t_nss.sh checks the same
 * module through glibc with getent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

nss_gethostbyname4_r _nss_autotunnel_gethostbyname4_r;
nss_gethostbyname3_r _nss_autotunnel_gethostbyname3_r;
nss_gethostbyname2_r _nss_autotunnel_gethostbyname2_r;
nss_gethostbyname_r _nss_autotunnel_gethostbyname_r;
nss_gethostbyaddr2_r _nss_autotunnel_gethostbyaddr2_r;
nss_gethostbyaddr_r _nss_autotunnel_gethostbyaddr_r;

static char path[] = "nss-hosts-XXXXXX";

static void write_file(const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	write_file("# autotunnel hosts v1\n"
		   "desktop desktop.alice.members.example.net fd91:3b2c:5d10:aa01:21c:42ff:fe00:1\n"
		   "nas nas.alice.members.example.net fd07::1\n");
	setenv("AUTOTUNNEL_HOSTS", path, 1);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void byname4(void **state)
{
	char buf[1024], a[INET6_ADDRSTRLEN];
	struct gaih_addrtuple *pat = NULL, mine;
	int err = 0, herr = 0;
	int32_t ttl = 0;

	assert_int_equal(_nss_autotunnel_gethostbyname4_r("desktop", &pat, buf, sizeof(buf), &err, &herr, &ttl),
			 NSS_STATUS_SUCCESS);
	assert_non_null(pat);
	assert_null(pat->next);
	assert_int_equal(pat->family, AF_INET6);
	assert_string_equal(pat->name, "desktop.alice.members.example.net");
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, a, sizeof(a)), "fd91:3b2c:5d10:aa01:21c:42ff:fe00:1");
	assert_int_equal(ttl, 60);

	/* the FQDN, in any case, with a trailing dot; into a tuple the caller owns */
	memset(&mine, 0xaa, sizeof(mine));
	pat = &mine;
	assert_int_equal(_nss_autotunnel_gethostbyname4_r("NAS.alice.members.example.net.", &pat, buf, sizeof(buf),
							  &err, &herr, NULL), NSS_STATUS_SUCCESS);
	assert_ptr_equal(pat, &mine);
	assert_null(mine.next);
	assert_string_equal(inet_ntop(AF_INET6, mine.addr, a, sizeof(a)), "fd07::1");

	pat = NULL;
	assert_int_equal(_nss_autotunnel_gethostbyname4_r("laptop", &pat, buf, sizeof(buf), &err, &herr, NULL),
			 NSS_STATUS_NOTFOUND);
	assert_int_equal(herr, HOST_NOT_FOUND);
	assert_null(pat);
}

static void byname4_buffer_bounds(void **state)
{
	char buf[1024];
	struct gaih_addrtuple *pat = NULL;
	int err = 0, herr = 0;
	size_t need = 0;

	/* find the smallest buffer that works; one byte less must ask for more */
	for (size_t n = 0; n < sizeof(buf); n++) {
		pat = NULL;
		if (_nss_autotunnel_gethostbyname4_r("desktop", &pat, buf, n, &err, &herr, NULL) == NSS_STATUS_SUCCESS) {
			need = n;
			break;
		}
		assert_int_equal(err, ERANGE);
		assert_int_equal(herr, NETDB_INTERNAL);
	}
	/* the name (34 bytes with its NUL) and one tuple, perhaps with padding */
	assert_true(need >= 34 + sizeof(struct gaih_addrtuple));
	assert_true(need < 34 + sizeof(struct gaih_addrtuple) + 8);
}

static void byname3_and_families(void **state)
{
	char buf[1024], a[INET6_ADDRSTRLEN], *canon = NULL;
	struct hostent h;
	int err = 0, herr = 0;

	assert_int_equal(_nss_autotunnel_gethostbyname3_r("desktop", AF_INET6, &h, buf, sizeof(buf), &err, &herr,
							  NULL, &canon), NSS_STATUS_SUCCESS);
	assert_string_equal(h.h_name, "desktop.alice.members.example.net");
	assert_ptr_equal(canon, h.h_name);
	assert_string_equal(h.h_aliases[0], "desktop");
	assert_null(h.h_aliases[1]);
	assert_int_equal(h.h_addrtype, AF_INET6);
	assert_int_equal(h.h_length, 16);
	assert_string_equal(inet_ntop(AF_INET6, h.h_addr_list[0], a, sizeof(a)), "fd91:3b2c:5d10:aa01:21c:42ff:fe00:1");
	assert_null(h.h_addr_list[1]);

	/* no IPv4 for a peer: the name exists, the family does not */
	assert_int_equal(_nss_autotunnel_gethostbyname2_r("desktop", AF_INET, &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	assert_int_equal(herr, NO_DATA);
	assert_int_equal(_nss_autotunnel_gethostbyname_r("desktop", &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	assert_int_equal(_nss_autotunnel_gethostbyname2_r("tv", AF_INET6, &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	assert_int_equal(herr, HOST_NOT_FOUND);
	assert_int_equal(_nss_autotunnel_gethostbyname2_r("desktop", AF_INET6, &h, buf, 40, &err, &herr),
			 NSS_STATUS_TRYAGAIN);
	assert_int_equal(err, ERANGE);
}

static void byaddr(void **state)
{
	char buf[1024];
	struct hostent h;
	uint8_t a[16];
	int err = 0, herr = 0;
	int32_t ttl = 0;

	inet_pton(AF_INET6, "fd07::1", a);
	assert_int_equal(_nss_autotunnel_gethostbyaddr2_r(a, 16, AF_INET6, &h, buf, sizeof(buf), &err, &herr, &ttl),
			 NSS_STATUS_SUCCESS);
	assert_string_equal(h.h_name, "nas.alice.members.example.net");
	assert_int_equal(ttl, 60);
	a[15] = 2;
	assert_int_equal(_nss_autotunnel_gethostbyaddr_r(a, 16, AF_INET6, &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	/* only ULAs are ours */
	inet_pton(AF_INET6, "2001:db8::1", a);
	assert_int_equal(_nss_autotunnel_gethostbyaddr_r(a, 16, AF_INET6, &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
	assert_int_equal(_nss_autotunnel_gethostbyaddr_r(a, 4, AF_INET, &h, buf, sizeof(buf), &err, &herr),
			 NSS_STATUS_NOTFOUND);
}

static void unavailable(void **state)
{
	char buf[1024];
	struct gaih_addrtuple *pat = NULL;
	int err = 0, herr = 0;

	/* a corrupt file answers nothing, not a partial list */
	write_file("# autotunnel hosts v1\ndesktop desktop.alice.members.example.net fd07::1\nbroken\n");
	assert_int_equal(_nss_autotunnel_gethostbyname4_r("desktop", &pat, buf, sizeof(buf), &err, &herr, NULL),
			 NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EBADMSG);
	/* no file (agent not running): the next source in nsswitch.conf answers */
	setenv("AUTOTUNNEL_HOSTS", "/nonexistent/autotunnel/hosts", 1);
	assert_int_equal(_nss_autotunnel_gethostbyname4_r("desktop", &pat, buf, sizeof(buf), &err, &herr, NULL),
			 NSS_STATUS_UNAVAIL);
	assert_int_equal(err, ENOENT);
	/* a directory is not a hosts file */
	setenv("AUTOTUNNEL_HOSTS", ".", 1);
	assert_int_equal(_nss_autotunnel_gethostbyname4_r("desktop", &pat, buf, sizeof(buf), &err, &herr, NULL),
			 NSS_STATUS_UNAVAIL);
	assert_null(pat);
	setenv("AUTOTUNNEL_HOSTS", path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(byname4),
		cmocka_unit_test(byname4_buffer_bounds),
		cmocka_unit_test(byname3_and_families),
		cmocka_unit_test(byaddr),
		cmocka_unit_test(unavailable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
