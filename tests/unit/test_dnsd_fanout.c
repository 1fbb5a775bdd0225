/*
 * The LLQ event path of autotunnel-dnsd: the fan-out (datagrams packed
 * into sendmmsg jobs per local address, one shared queue, several threads
 * sending until it is empty, a refused datagram skipped without losing the
 * rest) and the TSIG signing of events with the account's cached key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns/msg.h"
#include "dns/tsig.h"
#include "autotunnel-dnsd/accounts.h"
#include "autotunnel-dnsd/evsign.h"
#include "autotunnel-dnsd/fanout.h"
#include "autotunnel-dnsd/stats.h"

static struct sockaddr_in addr4(uint32_t host, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(host);
	return a;
}

/* Datagram i: its number, then filler of a length that depends on i. */
static size_t datagram(unsigned i, uint8_t *buf, size_t size)
{
	memset(buf, (int)(i & 0xff), size);
	buf[0] = (uint8_t)(i >> 8);
	buf[1] = (uint8_t)i;
	return size;
}

static unsigned kicks;

static void count_kick(void *arg)
{
	(void)arg;
	kicks++;
}

/* Jobs hold one local address each, at most SEND_JOB_MAX datagrams and
 * SEND_JOB_DATA bytes, every datagram once, in order, with its address. */
static void splitter(void **state)
{
	struct fanout *f = fanout_new();
	uint8_t buf[1400];
	unsigned next[2] = { 0, 0 }, jobs = 0;
	struct send_job *job;

	(void)state;
	assert_non_null(f);
	for (unsigned i = 0; i < 600; i++) {
		/* sizes from 20 to 1300 bytes; locals 0 and 1 interleaved */
		size_t len = datagram(i, buf, 20 + (i * 37) % 1281);
		struct sockaddr_in to = addr4(0xc0000200u + (i % 250), (uint16_t)(1000 + i));

		assert_int_equal(fanout_add(f, i % 2, buf, len, (struct sockaddr *)&to, sizeof(to)), 0);
	}
	fanout_flush(f);
	while ((job = fanout_take(f)) != NULL) {
		size_t used = 0;

		jobs++;
		assert_true(job->local < 2);
		assert_true(job->n > 0 && job->n <= SEND_JOB_MAX);
		assert_true(job->used <= SEND_JOB_DATA);
		for (unsigned k = 0; k < job->n; k++) {
			const uint8_t *d = job->msg[k].msg_hdr.msg_iov->iov_base;
			size_t len = job->msg[k].msg_hdr.msg_iov->iov_len;
			unsigned i = (unsigned)d[0] << 8 | d[1];
			const struct sockaddr_in *to = job->msg[k].msg_hdr.msg_name;

			/* in the order added, each local its own */
			assert_int_equal(i, next[job->local] * 2 + job->local);
			next[job->local]++;
			assert_int_equal(len, 20 + (i * 37) % 1281);
			assert_int_equal(d[len - 1], i & 0xff);
			assert_int_equal(job->msg[k].msg_hdr.msg_namelen, sizeof(*to));
			assert_int_equal(to->sin_family, AF_INET);
			assert_int_equal(ntohs(to->sin_port), 1000 + i);
			assert_int_equal(ntohl(to->sin_addr.s_addr), 0xc0000200u + (i % 250));
			used += len;
		}
		assert_int_equal(used, job->used);
		/* a job ends because it is full or because it is the last */
		fanout_release(f, job);
	}
	assert_int_equal(next[0], 300);
	assert_int_equal(next[1], 300);
	/* 300 datagrams averaging ~660 bytes: the 64 KiB limit cuts before 128 */
	assert_true(jobs >= 6);
	assert_int_equal(fanout_queued(f), 0);
	fanout_free(f);
}

static void limits_and_kicks(void **state)
{
	struct fanout *f = fanout_new();
	struct sockaddr_in to = addr4(0x7f000001, 53);
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} unix_addr = { .family = AF_UNIX };
	static uint8_t big[SEND_JOB_DATA + 1];
	uint8_t buf[100];
	struct send_job *job;

	(void)state;
	assert_non_null(f);
	kicks = 0;
	fanout_set_kick(f, count_kick, NULL);
	assert_int_equal(fanout_add(f, FANOUT_LOCALS, buf, 10, (struct sockaddr *)&to, sizeof(to)), -EINVAL);
	assert_int_equal(fanout_add(f, 0, buf, 10, (struct sockaddr *)&unix_addr, sizeof(unix_addr)), -EINVAL);
	assert_int_equal(fanout_add(f, 0, big, sizeof(big), (struct sockaddr *)&to, sizeof(to)), -EMSGSIZE);
	assert_int_equal(fanout_add(f, 0, big, SEND_JOB_DATA, (struct sockaddr *)&to, sizeof(to)), 0);
	/* the next one does not fit: the full job is queued, the queue was empty: a kick */
	assert_int_equal(fanout_add(f, 0, buf, 1, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(fanout_queued(f), 1);
	assert_int_equal(kicks, 1);
	for (unsigned i = 1; i < 3 * SEND_JOB_MAX; i++)
		assert_int_equal(fanout_add(f, 0, buf, datagram(i, buf, 100), (struct sockaddr *)&to,
					    sizeof(to)), 0);
	/* two more full jobs, on a queue that already had work: nobody woken again */
	assert_int_equal(fanout_queued(f), 3);
	assert_int_equal(kicks, 1);
	fanout_flush(f);
	assert_int_equal(fanout_queued(f), 4);
	assert_int_equal(kicks, 1);
	job = fanout_take(f);
	assert_int_equal(job->n, 1);
	assert_int_equal(job->used, SEND_JOB_DATA);
	fanout_release(f, job);
	for (int i = 0; i < 3; i++) {
		job = fanout_take(f);
		assert_non_null(job);
		assert_int_equal(job->n, SEND_JOB_MAX);
		fanout_release(f, job);
	}
	assert_null(fanout_take(f));
	/* the queue emptied: the next job wakes the senders again */
	assert_int_equal(fanout_add(f, 0, buf, 10, (struct sockaddr *)&to, sizeof(to)), 0);
	fanout_flush(f);
	assert_int_equal(kicks, 2);
	/* nothing added: a flush queues nothing and wakes nobody */
	job = fanout_take(f);
	fanout_release(f, job);
	fanout_flush(f);
	assert_int_equal(fanout_queued(f), 0);
	assert_int_equal(kicks, 2);
	fanout_free(f);
}

struct runner {
	struct fanout *f;
	int fd;
	struct stats st;
	size_t sent;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->sent = fanout_run(r->f, &r->fd, 1, &r->st);
	return NULL;
}

#define RECEIVERS 6
#define DATAGRAMS 600

/* Three threads send one queue over loopback: every datagram arrives once;
 * one to port 0 (the kernel refuses it) and a job for a local address
 * without a socket are counted as unsent, and nothing else is lost. */
static void send_on_every_thread(void **state)
{
	struct fanout *f = fanout_new();
	int rx[RECEIVERS], tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	uint16_t port[RECEIVERS];
	unsigned seen[DATAGRAMS] = { 0 };
	struct runner r[3];
	pthread_t th[2];
	uint8_t buf[256];
	size_t sent, received = 0;
	struct sockaddr_in to;

	(void)state;
	assert_non_null(f);
	assert_true(tx >= 0);
	for (int i = 0; i < RECEIVERS; i++) {
		struct sockaddr_in a = addr4(0x7f000001, 0);
		socklen_t al = sizeof(a);
		int sz = 1 << 20;

		rx[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_true(rx[i] >= 0);
		(void)setsockopt(rx[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
		assert_int_equal(bind(rx[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(rx[i], (struct sockaddr *)&a, &al), 0);
		port[i] = ntohs(a.sin_port);
	}
	for (unsigned i = 0; i < DATAGRAMS; i++) {
		to = addr4(0x7f000001, port[i % RECEIVERS]);
		assert_int_equal(fanout_add(f, 0, buf, datagram(i, buf, 100 + i % 100), (struct sockaddr *)&to,
					    sizeof(to)), 0);
		if (i == 300) {
			/* refused by the kernel (EINVAL), in the middle of a job */
			to = addr4(0x7f000001, 0);
			assert_int_equal(fanout_add(f, 0, buf, 50, (struct sockaddr *)&to, sizeof(to)), 0);
		}
	}
	to = addr4(0x7f000001, port[0]);
	assert_int_equal(fanout_add(f, 1, buf, datagram(9999, buf, 20), (struct sockaddr *)&to, sizeof(to)), 0);
	fanout_flush(f);
	assert_true(fanout_queued(f) >= DATAGRAMS / SEND_JOB_MAX + 1);

	for (int i = 0; i < 3; i++)
		r[i] = (struct runner){ .f = f, .fd = tx };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, run_thread, &r[i]), 0);
	run_thread(&r[2]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	sent = r[0].sent + r[1].sent + r[2].sent;
	assert_int_equal(sent, DATAGRAMS);
	assert_int_equal(r[0].st.c[STAT_llq_events_unsent] + r[1].st.c[STAT_llq_events_unsent] +
			 r[2].st.c[STAT_llq_events_unsent], 2);
	assert_int_equal(fanout_queued(f), 0);

	for (int rounds = 0; rounds < 200 && received < DATAGRAMS; rounds++) {
		struct pollfd p[RECEIVERS];

		for (int i = 0; i < RECEIVERS; i++)
			p[i] = (struct pollfd){ .fd = rx[i], .events = POLLIN };
		if (poll(p, RECEIVERS, 50) <= 0)
			continue;
		for (int i = 0; i < RECEIVERS; i++) {
			ssize_t n;

			while ((n = recv(rx[i], buf, sizeof(buf), 0)) > 0) {
				unsigned k = (unsigned)buf[0] << 8 | buf[1];

				assert_true(k < DATAGRAMS);
				assert_int_equal(k % RECEIVERS, i);
				assert_int_equal(n, 100 + k % 100);
				seen[k]++;
				received++;
			}
		}
	}
	assert_int_equal(received, DATAGRAMS);
	for (unsigned i = 0; i < DATAGRAMS; i++)
		assert_int_equal(seen[i], 1);
	for (int i = 0; i < RECEIVERS; i++)
		close(rx[i]);
	close(tx);
	fanout_free(f);
}

static struct dns_tsig_key the_key;

static int lookup(void *arg, const struct dns_name *name, struct dns_tsig_key *out)
{
	(void)arg;
	if (!dns_name_equal(name, &the_key.name))
		return -ENOENT;
	*out = the_key;
	return 0;
}

/* Events signed one after another from the account's cached keyed HMAC
 * verify as requests signed with its key (RFC 8945 §4.3.3); a changed
 * byte does not. */
static void events_signed(void **state)
{
	static const enum dns_tsig_alg algs[] = { DNS_TSIG_HMAC_SHA256, DNS_TSIG_HMAC_MD5,
						  DNS_TSIG_HMAC_SHA512 };
	static const uint8_t secret[32] = "0123456789abcdef0123456789abcde";

	(void)state;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		struct account acc;
		struct dns_name kn, q;

		memset(&acc, 0, sizeof(acc));
		assert_int_equal(dns_name_from_text(&kn, "alice.members.example.net"), 0);
		assert_int_equal(dns_name_from_text(&q, "h1.alice.members.example.net"), 0);
		assert_int_equal(dns_tsig_key_set(&acc.key, &kn, algs[a], secret, sizeof(secret)), 0);
		the_key = acc.key;
		for (uint16_t id = 1; id <= 3; id++) {
			uint8_t buf[1024];
			struct dns_builder b;
			struct dns_msg m;
			struct dns_tsig t = { 0 };
			size_t len;

			assert_int_equal(dns_builder_init(&b, buf, sizeof(buf), sizeof(buf), id,
							  DNS_FLAG_QR | DNS_FLAG_AA), 0);
			assert_int_equal(dns_builder_question(&b, &q, DNS_TYPE_A, DNS_CLASS_IN), 0);
			dns_builder_reserve(&b, evsign_space(&acc));
			assert_int_equal(dns_builder_finish(&b, &len), 0);
			assert_int_equal(evsign(&acc, buf, len, sizeof(buf), &len, 1700000000 + id), 0);
			assert_int_equal(dns_msg_parse(&m, buf, len), 0);
			assert_int_equal(dns_tsig_verify_request(&t, &m, lookup, NULL, 1700000000 + id), 0);
			dns_tsig_fini(&t);
			if (id == 3) {
				buf[12 + 1] ^= 0x20;	/* a letter of the question's name */
				assert_int_equal(dns_msg_parse(&m, buf, len), 0);
				assert_int_equal(dns_tsig_verify_request(&t, &m, lookup, NULL, 1700000003),
						 -EACCES);
				dns_tsig_fini(&t);
			}
		}
		evsign_forget(&acc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splitter),
		cmocka_unit_test(limits_and_kicks),
		cmocka_unit_test(send_on_every_thread),
		cmocka_unit_test(events_signed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
