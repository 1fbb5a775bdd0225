/*
 * llqbench: LLQ event latency of autotunnel-dnsd at many watchers.
 *
 *   llqbench SERVER PORT KEY NAME WATCHERS ROUNDS
 *
 * Sets up WATCHERS LLQs (UDP four-way handshake, TSIG-signed with KEY =
 * "alg:keyname:base64") on NAME type A from a pool of sockets, prints
 * "established N", waits for a line on stdin (so the caller can measure the
 * server's memory), then ROUNDS times sends a signed UPDATE adding an A
 * record at NAME and measures, for every watcher, the time from the
 * UPDATE's answer to its event, both as the kernel stamped their arrival
 * (SO_TIMESTAMPNS, so that this client's own work is not counted).
 *
 * The watchers of a real server are other machines; here they share the
 * server's cores, so the client keeps out of the server's way while the
 * events come: it leaves them in its sockets' buffers (stamped by the
 * kernel on arrival) until LLQBENCH_FIRST_LOOK_MS (100) after the answer,
 * then reads its sockets in turn with recvmmsg (no epoll, so that the
 * server's sends do not pay for epoll callbacks and wake-ups) and parses
 * the events once all are in. Events are acknowledged once all have
 * come. Prints "latency_ms p50 P p99 Q max M events E
 * missing X bad B client_cpu_ms C server_cpu_ms S" (B: events whose LLQ id
 * is not one of ours; C: this client's CPU time while receiving, per round;
 * S: the server's, all threads, from the UPDATE to the last event, per
 * round, when LLQBENCH_SERVER_PID names it, else -1). LLQBENCH_VERBOSE=1
 * prints a line per round on stderr.
 *
 * With LLQBENCH_RESTART=1 it then prints "restart", waits for a second line
 * on stdin (the caller stops the server, starts it again and writes the line
 * once it answers) and sets every LLQ up again, as its watchers would after
 * losing the server: at most LLQBENCH_WINDOW (2,000) handshakes in flight,
 * a request unanswered for 1 s sent again (2 s, 4 s, at most 8 s), an LLQ
 * error SERV-FULL waited out for its lease (RFC 8764 §5.2.2: the retry
 * delay; at most LLQBENCH_SERVFULL_CAP_S, 5 s, so that the run ends) and an
 * error rcode for 1 s. It gives up after LLQBENCH_RESTART_MAX_S (120 s) and
 * prints "recovered N of W seconds S servfull F retransmits R errors E"
 * (S: from the line to the last LLQ set up).
 *
 * Packets are parsed with lib/dns (over lib/wire), like all our code.
 */
#define _GNU_SOURCE	/* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define PER_SOCKET 100

static struct sockaddr_in server;
static struct dns_tsig_key key;
static struct dns_name qname, zone;

/* A received datagram, kept raw until the round's events are all in. */
#define SLOT_DATA 1024
#define POLL_NS 500000	/* 0.5 ms between polls while nothing is ready */

struct slot {
	int fd;
	uint32_t len;	/* 0: truncated, ignored */
	double when;	/* the kernel's arrival stamp, ms */
	uint8_t data[SLOT_DATA];
};

/* Read what waits on @p fd into @p slots (at most @p room), with recvmmsg. */
static size_t recv_batch(int fd, struct slot *slots, size_t room)
{
	enum { B = 64 };
	struct mmsghdr mm[B];
	struct iovec iov[B];
	char ctl[B][CMSG_SPACE(sizeof(struct timespec))];
	size_t total = 0;

	while (room > 0) {
		unsigned want = room < B ? (unsigned)room : B;
		int n;

		for (unsigned i = 0; i < want; i++) {
			iov[i] = (struct iovec){ slots[i].data, SLOT_DATA };
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		n = recvmmsg(fd, mm, want, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct slot *sl = &slots[i];

			sl->fd = fd;
			sl->len = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : mm[i].msg_len;
			sl->when = bench_stamp_of(&mm[i].msg_hdr, bench_now_ms());
		}
		slots += n;
		room -= (size_t)n;
		total += (size_t)n;
		if (n < (int)want)
			break;
	}
	return total;
}

struct pending_ack {
	int fd;
	uint16_t msg_id;
	struct dns_llq llq;
};

static size_t llq_query(uint8_t *buf, size_t cap, uint16_t id, uint16_t op, uint64_t llq_id)
{
	struct dns_llq llq = { .version = 1, .opcode = op, .id = llq_id, .lease = 7200 };

	return bench_query_sign(buf, cap, &key, id, &qname, DNS_TYPE_A, &llq);
}

/* Read the LLQ option of a message. */
static int llq_of(const uint8_t *buf, size_t len, struct dns_msg *m, struct dns_llq *llq)
{
	return dns_msg_parse(m, buf, len) || bench_llq_of(m, llq) ? -1 : 0;
}

static uint8_t rbuf[65536];
static struct dns_msg msg;

/* One request and its answer (same id) on a blocking socket. */
static int exchange(int fd, const uint8_t *q, size_t qlen, uint16_t id, struct dns_llq *llq)
{
	for (int tries = 0; tries < 5; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (send(fd, q, qlen, 0) < 0)
			return -1;
		while (poll(&p, 1, 1000) == 1) {
			ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);

			if (n > 0 && llq_of(rbuf, (size_t)n, &msg, llq) == 0 && msg.hdr.id == id)
				return llq->error == DNS_LLQ_NOERROR ? 0 : -1;
		}
	}
	return -1;
}

static int update(int fd, unsigned round, uint16_t id, double *answered)
{
	/* a new address each time: re-adding an existing record is only a refresh, with no event */
	uint32_t salt = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	uint8_t a[4] = { 10, (uint8_t)salt, (uint8_t)(salt >> 8), (uint8_t)round };

	return bench_update(fd, &key, &zone, &qname, a, id, answered) == DNS_RCODE_NOERROR ? 0 : -1;
}

/* One watcher's way back after a restart (see the top of the file). */
struct back {
	uint8_t phase;		/* 0 to send a setup, 1 setup sent, 2 response sent, 3 live, 4 waiting */
	uint8_t attempt;	/* in the message id, so that late answers are told apart */
	uint8_t tries;		/* sends of the current request, for the back-off */
	double due;		/* resend (phases 1 and 2) or send again (4) at this time, ms */
	uint64_t id;		/* the challenge's LLQ id */
};

/* The message id of watcher slot @p slot (< 128) in @p phase (1 or 2). */
static uint16_t back_msg_id(unsigned slot, unsigned phase, unsigned attempt)
{
	return (uint16_t)((attempt & 0x7f) << 8 | (phase - 1) << 7 | slot);
}

static int reestablish(int *fds, int nsock, int watchers, struct slot *slots, size_t slot_max)
{
	int window = getenv("LLQBENCH_WINDOW") ? atoi(getenv("LLQBENCH_WINDOW")) : 2000;
	double cap_s = getenv("LLQBENCH_SERVFULL_CAP_S") ? atof(getenv("LLQBENCH_SERVFULL_CAP_S")) : 5;
	double max_s = getenv("LLQBENCH_RESTART_MAX_S") ? atof(getenv("LLQBENCH_RESTART_MAX_S")) : 120;
	struct back *bk = calloc((size_t)watchers, sizeof(*bk));
	size_t servfull = 0, retransmits = 0, errors = 0;
	int live = 0, inflight = 0, next = 0;
	double t0 = bench_now_ms(), last = t0;
	uint8_t q[1024];

	if (!bk)
		return -1;
	while (live < watchers && bench_now_ms() - t0 < max_s * 1e3) {
		double now = bench_now_ms();
		size_t got = 0;
		bool sent_any = false;

		/* resend what timed out and what waited out a SERV-FULL, then start new ones */
		for (int w = 0; w < watchers; w++) {
			struct back *b = &bk[w];
			size_t len;

			if ((b->phase == 1 || b->phase == 2 || b->phase == 4) && b->due <= now) {
				if (b->phase == 4) {
					b->phase = 0;
					inflight--;
				} else {
					retransmits++;
				}
			}
			if (b->phase == 0 && w >= next)
				continue;
			if (b->phase == 0 || ((b->phase == 1 || b->phase == 2) && b->due <= now)) {
				if (b->phase == 0) {
					b->phase = 1;
					b->attempt++;
					b->tries = 0;
					inflight++;
				}
				len = llq_query(q, sizeof(q), back_msg_id((unsigned)(w % PER_SOCKET), b->phase, b->attempt),
						DNS_LLQ_SETUP, b->phase == 2 ? b->id : 0);
				if (len)
					(void)send(fds[w / PER_SOCKET], q, len, MSG_DONTWAIT);
				b->due = now + 1000.0 * (1 << (b->tries < 3 ? b->tries : 3));
				b->tries++;
				sent_any = true;
			}
		}
		while (next < watchers && inflight < window) {
			struct back *b = &bk[next++];
			size_t len;

			b->phase = 1;
			b->attempt++;
			b->tries = 1;
			b->due = now + 1000.0;
			inflight++;
			len = llq_query(q, sizeof(q), back_msg_id((unsigned)((next - 1) % PER_SOCKET), 1, b->attempt),
					DNS_LLQ_SETUP, 0);
			if (len)
				(void)send(fds[(next - 1) / PER_SOCKET], q, len, MSG_DONTWAIT);
			sent_any = true;
		}
		for (int s = 0; s < nsock; s++) {
			size_t k = recv_batch(fds[s], slots, slot_max);

			got += k;
			for (size_t i = 0; i < k; i++) {
				struct slot *sl = &slots[i];
				struct dns_llq llq;
				int w;
				unsigned slot, phase;
				struct back *b;

				if (sl->len < 12 || dns_msg_parse(&msg, sl->data, sl->len))
					continue;
				slot = msg.hdr.id & 0x7f;
				phase = ((msg.hdr.id >> 7) & 1) + 1;
				w = s * PER_SOCKET + (int)slot;
				if (slot >= PER_SOCKET || w >= watchers)
					continue;
				b = &bk[w];
				if (b->phase != phase || (msg.hdr.id >> 8) != (b->attempt & 0x7f))
					continue;	/* late: an answer to an earlier send */
				if (dns_msg_rcode(&msg) != DNS_RCODE_NOERROR || llq_of(sl->data, sl->len, &msg, &llq)) {
					errors++;
					b->phase = 4;
					b->due = bench_now_ms() + 1000;
					continue;
				}
				if (llq.error == DNS_LLQ_SERVFULL) {
					servfull++;
					b->phase = 4;
					b->due = bench_now_ms() + 1e3 * (llq.lease < cap_s ? llq.lease : cap_s);
					continue;
				}
				if (llq.error != DNS_LLQ_NOERROR) {
					errors++;
					b->phase = 4;
					b->due = bench_now_ms() + 1000;
					continue;
				}
				if (phase == 1) {
					size_t len;

					b->phase = 2;
					b->id = llq.id;
					b->tries = 1;
					b->due = bench_now_ms() + 1000;
					len = llq_query(q, sizeof(q), back_msg_id(slot, 2, b->attempt), DNS_LLQ_SETUP, llq.id);
					if (len)
						(void)send(sl->fd, q, len, MSG_DONTWAIT);
				} else {
					b->phase = 3;
					live++;
					inflight--;
					last = bench_now_ms();
				}
			}
		}
		if (got == 0 && !sent_any) {
			struct timespec nap = { 0, POLL_NS };

			nanosleep(&nap, NULL);
		}
	}
	printf("recovered %d of %d seconds %.2f servfull %zu retransmits %zu errors %zu\n", live, watchers,
	       (last - t0) / 1e3, servfull, retransmits, errors);
	fflush(stdout);
	free(bk);
	return live == watchers ? 0 : -1;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char *argv[])
{
	char line[16];
	uint8_t q[1024];
	int nsock, watchers, rounds, ufd, one = 1;
	int *fds;
	struct pending_ack *acks;
	uint64_t *ids;
	size_t bad = 0;
	double *lat, client_cpu = 0, server_cpu = 0;
	long server_pid = getenv("LLQBENCH_SERVER_PID") ? atol(getenv("LLQBENCH_SERVER_PID")) : 0;
	bool verbose = getenv("LLQBENCH_VERBOSE") != NULL;
	double first_look_ms = getenv("LLQBENCH_FIRST_LOOK_MS") ? atof(getenv("LLQBENCH_FIRST_LOOK_MS")) : 100;
	size_t nlat = 0, missing = 0, slot_max;
	struct slot *slots;
	struct rlimit rl;

	if (argc != 7) {
		fprintf(stderr, "usage: llqbench SERVER PORT KEY NAME WATCHERS ROUNDS\n");
		return 2;
	}
	server.sin_family = AF_INET;
	inet_pton(AF_INET, argv[1], &server.sin_addr);
	server.sin_port = htons((uint16_t)atoi(argv[2]));
	if (bench_key_parse(argv[3], &key) || dns_name_from_text(&qname, argv[4]) ||
	    dns_name_from_text(&zone, BENCH_ZONE)) {
		fprintf(stderr, "llqbench: bad key or name\n");
		return 2;
	}
	watchers = atoi(argv[5]);
	rounds = atoi(argv[6]);
	nsock = (watchers + PER_SOCKET - 1) / PER_SOCKET;
	rl.rlim_cur = rl.rlim_max = (rlim_t)nsock + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc((size_t)nsock, sizeof(*fds));
	lat = calloc((size_t)watchers * (size_t)rounds + 1, sizeof(*lat));
	acks = calloc((size_t)watchers + 1, sizeof(*acks));
	ids = calloc((size_t)watchers + 1, sizeof(*ids));
	slot_max = (size_t)watchers + 1024;
	slots = calloc(slot_max, sizeof(*slots));
	if (!fds || !lat || !acks || !ids || !slots) {
		fprintf(stderr, "llqbench: out of memory\n");
		return 1;
	}
	for (int s = 0; s < nsock; s++) {
		int sz = 1 << 20;

		fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
		/* room for every event of the round (FORCE: beyond rmem_max, as root) */
		if (setsockopt(fds[s], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
			setsockopt(fds[s], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fds[s], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
		if (fds[s] < 0 || connect(fds[s], (struct sockaddr *)&server, sizeof(server)) < 0) {
			perror("socket");
			return 1;
		}
	}
	/* the four-way handshake for each watcher (RFC 8764 §5.2) */
	for (int w = 0; w < watchers; w++) {
		int fd = fds[w / PER_SOCKET];
		uint16_t id = (uint16_t)(w * 2 + 1);
		struct dns_llq llq;
		size_t len = llq_query(q, sizeof(q), id, DNS_LLQ_SETUP, 0);

		if (!len || exchange(fd, q, len, id, &llq)) {
			fprintf(stderr, "llqbench: setup %d failed\n", w);
			return 1;
		}
		id++;
		len = llq_query(q, sizeof(q), id, DNS_LLQ_SETUP, llq.id);
		if (!len || exchange(fd, q, len, id, &llq)) {
			fprintf(stderr, "llqbench: challenge response %d failed\n", w);
			return 1;
		}
		ids[w] = llq.id;
	}
	qsort(ids, (size_t)watchers, sizeof(*ids), cmp_id);
	printf("established %d\n", watchers);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(ufd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	connect(ufd, (struct sockaddr *)&server, sizeof(server));
	for (int r = 0; r < rounds; r++) {
		int got = 0;
		size_t stored = 0, parsed = 0;
		double t0, deadline;
		struct rusage ru0, ru1;

		double s0 = server_pid ? bench_proc_cpu_ms(server_pid) : -1;

		if (update(ufd, (unsigned)r, (uint16_t)(0x8000 + r), &t0)) {
			fprintf(stderr, "llqbench: update %d failed\n", r);
			return 1;
		}
		getrusage(RUSAGE_SELF, &ru0);
		deadline = bench_now_ms() + 5000;
		if (first_look_ms > bench_now_ms() - t0) {
			/* let the events arrive (stamped by the kernel) untouched */
			double wait = first_look_ms - (bench_now_ms() - t0);
			long long ns = (long long)(wait * 1e6);
			struct timespec nap = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

			nanosleep(&nap, NULL);
		}
		while (got < watchers && bench_now_ms() < deadline) {
			/*
			 * Then read every socket in turn (no epoll: a socket in an
			 * epoll set makes each datagram the server sends run the
			 * epoll callback, and a client asleep in epoll_wait be woken,
			 * on the server's time). Datagrams are only stored here,
			 * with the kernel's arrival stamp, and parsed once all are in.
			 */
			size_t k = 0;

			for (int i = 0; i < nsock; i++)
				k += recv_batch(fds[i], slots + stored + k, slot_max - stored - k);
			stored += k;
			if (k == 0) {
				struct timespec nap = { 0, POLL_NS };

				nanosleep(&nap, NULL);
			}
			if (stored - parsed < (size_t)(watchers - got) && stored < slot_max && k > 0)
				continue;
			for (; parsed < stored; parsed++) {
				struct slot *sl = &slots[parsed];
				struct dns_llq llq;

				if (sl->len == 0 || llq_of(sl->data, sl->len, &msg, &llq) ||
				    llq.opcode != DNS_LLQ_EVENT || got >= watchers)
					continue;
				if (!bsearch(&llq.id, ids, (size_t)watchers, sizeof(*ids), cmp_id)) {
					bad++;	/* an event for an LLQ we never had */
					continue;
				}
				lat[nlat++] = sl->when - t0;
				acks[got] = (struct pending_ack){ sl->fd, msg.hdr.id, llq };
				got++;
			}
			if (stored == slot_max)
				stored = parsed = 0;	/* all parsed: reuse the slots */
		}
		getrusage(RUSAGE_SELF, &ru1);
		client_cpu += bench_rusage_ms(&ru1) - bench_rusage_ms(&ru0);
		if (s0 >= 0)
			server_cpu += bench_proc_cpu_ms(server_pid) - s0;
		if (verbose) {
			double last = 0;

			for (size_t i = nlat - (size_t)got; i < nlat; i++)
				last = lat[i] > last ? lat[i] : last;
			fprintf(stderr, "round %d: %d events, last after %.2f ms, client CPU %.1f ms, server CPU %.1f ms\n",
				r, got, last, bench_rusage_ms(&ru1) - bench_rusage_ms(&ru0),
				s0 >= 0 ? bench_proc_cpu_ms(server_pid) - s0 : -1.0);
		}
		/* RFC 8764 §6.2: acknowledge each with the event's id (after
		 * the measurement, so acks do not compete with the events) */
		for (int i = 0; i < got; i++) {
			uint8_t ack[512];
			struct dns_builder b;
			size_t alen;

			dns_builder_init(&b, ack, sizeof(ack), sizeof(ack), acks[i].msg_id, DNS_FLAG_QR);
			dns_builder_edns(&b, 1232, 0);
			dns_builder_add_llq(&b, &acks[i].llq);
			if (dns_builder_finish(&b, &alen) == 0)
				send(acks[i].fd, ack, alen, 0);
		}
		missing += (size_t)(watchers - got);
		usleep(300000);
	}
	qsort(lat, nlat, sizeof(*lat), bench_cmp_double);
	printf("latency_ms p50 %.2f p99 %.2f max %.2f events %zu missing %zu bad %zu client_cpu_ms %.1f "
	       "server_cpu_ms %.1f\n",
	       nlat ? lat[nlat / 2] : 0.0, nlat ? lat[(nlat * 99) / 100] : 0.0,
	       nlat ? lat[nlat - 1] : 0.0, nlat, missing, bad, client_cpu / (rounds > 0 ? rounds : 1),
	       server_pid ? server_cpu / (rounds > 0 ? rounds : 1) : -1.0);
	fflush(stdout);
	if (getenv("LLQBENCH_RESTART")) {
		printf("restart\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		if (reestablish(fds, nsock, watchers, slots, slot_max))
			return 1;
	}
	return 0;
}
