/*
 * turn_probe: lib/stun's TURN client (turn_client.h) driven over a real
 * socket, for tests/interop/t_turn_coturn.sh. Allocates on a TURN server
 * over UDP, TCP or TLS (--tls CA-FILE NAME: the server's certificate
 * checked against CA-FILE and NAME), installs a permission (and a channel) to one peer,
 * sends numbered datagrams to it through the relay and waits for each to
 * come back (the peer is an echo server), then deallocates. Prints one
 * line per event:
 *
 *   allocated relayed A:P mapped A:P lifetime N
 *   permission A:P | channel 0x4000 A:P
 *   sent N via channel|indication
 *   data A:P channel 0x4000|indication 'TEXT'
 *   closed CODE | failed CODE
 *
 * Exit status: 0 when every datagram came back and the allocation was
 * deleted, 2 when the allocation failed (e.g. 401: credentials refused),
 * 1 for anything else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stun/frame.h"
#include "stun/turn_client.h"

static struct turn_out out;

static void rnd(void *arg, void *buf, size_t len)
{
	(void)arg;
	if (getrandom(buf, len, 0) != (ssize_t)len) {
		perror("getrandom");
		exit(1);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

static const char *fmt(const struct sockaddr_storage *ss)
{
	static char buf[2][80];
	static int k;
	char a[INET6_ADDRSTRLEN] = "?";
	char *b = buf[k++ & 1];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(b, sizeof(buf[0]), "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(b, sizeof(buf[0]), "%s:%u", a, ntohs(s->sin_port));
	}
	return b;
}

static int fd = -1;
static SSL *ssl;

/* recv() on the connection, through TLS when there is one */
static ssize_t rd(void *buf, size_t len)
{
	int n;

	if (!ssl)
		return recv(fd, buf, len, 0);
	n = SSL_read(ssl, buf, (int)(len > 65536 ? 65536 : len));
	return n > 0 ? n : -1;
}

static void send_all(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = ssl ? SSL_write(ssl, p, (int)len) : send(fd, p, len, MSG_NOSIGNAL);

		if (ssl && n <= 0) {
			ERR_print_errors_fp(stderr);
			exit(1);
		}

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("send");
			exit(1);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void flush(void)
{
	for (unsigned i = 0; i < out.n_msgs; i++)
		send_all(out.msgs[i].buf, out.msgs[i].len);
}

static void usage(void)
{
	fprintf(stderr, "usage: turn_probe --server A:P [--tcp | --tls CA-FILE NAME] --user U --password P\n"
			"                  --peer A:P [--no-channel] [--count N] [--timeout S] [--lifetime S]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "tcp", no_argument, NULL, 't' },
		{ "tls", required_argument, NULL, 'L' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "peer", required_argument, NULL, 'e' },
		{ "no-channel", no_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage server, peer;
	struct turn_client_config cfg;
	struct turn_client *c;
	const char *user = NULL, *pass = NULL, *ca = NULL, *tls_name = NULL;
	bool have_server = false, have_peer = false, stream = false, channel = true;
	int count = 3, timeout_s = 20, lifetime = TURN_DEFAULT_LIFETIME, opt;
	int sent = 0, got = 0, peer_idx = -1, status = 1;
	bool closing = false, done = false, ready = false;
	static uint8_t rx[70000];
	size_t rxlen = 0;
	uint64_t give_up;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': have_server = parse_addr(optarg, &server) == 0; break;
		case 't': stream = true; break;
		case 'L':
			/* --tls CA-FILE NAME */
			if (optind >= argc)
				usage();
			ca = optarg;
			tls_name = argv[optind++];
			stream = true;
			break;
		case 'u': user = optarg; break;
		case 'p': pass = optarg; break;
		case 'e': have_peer = parse_addr(optarg, &peer) == 0; break;
		case 'n': channel = false; break;
		case 'c': count = atoi(optarg); break;
		case 'T': timeout_s = atoi(optarg); break;
		case 'l': lifetime = atoi(optarg); break;
		default: usage();
		}
	}
	if (!have_server || !have_peer || !user || !pass || count < 0 || timeout_s <= 0 || lifetime < 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = socket(server.ss_family, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server,
			      server.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							   : sizeof(struct sockaddr_in)) < 0) {
		perror("connect");
		return 1;
	}
	if (ca) {
		/* RFC 8656 §3.1: TURN over TLS, the server's name checked */
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

		if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		ssl = SSL_new(ctx);
		SSL_CTX_free(ctx);
		if (!ssl || SSL_set1_host(ssl, tls_name) != 1 || SSL_set_fd(ssl, fd) != 1 ||
		    SSL_connect(ssl) != 1) {
			printf("tls handshake failed\n");
			ERR_print_errors_fp(stderr);
			SSL_free(ssl);
			close(fd);
			return 1;
		}
		printf("tls %s\n", SSL_get_version(ssl));
	}
	turn_client_config_default(&cfg, stream);
	cfg.lifetime = (uint32_t)lifetime;
	c = turn_client_new(&cfg, user, pass, rnd, NULL);
	if (!c) {
		fprintf(stderr, "turn_client_new failed\n");
		return 1;
	}
	give_up = now_ms() + (uint64_t)timeout_s * 1000;
	turn_client_start(c, now_ms(), &out);
	flush();
	peer_idx = turn_client_peer_add(c, (struct sockaddr *)&peer, channel, now_ms(), &out);
	flush();
	if (peer_idx < 0) {
		fprintf(stderr, "peer_add: %s\n", strerror(-peer_idx));
		return 1;
	}

	while (!done) {
		uint64_t t = now_ms(), deadline = out.deadline;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait_ms, n;

		/* events of the last call */
		for (unsigned i = 0; i < out.n_events; i++) {
			const struct turn_event *e = &out.events[i];

			switch (e->kind) {
			case TURN_EV_ALLOCATED:
				printf("allocated relayed %s mapped %s lifetime %u\n", fmt(&e->addr),
				       e->mapped.ss_family ? fmt(&e->mapped) : "-", e->lifetime);
				break;
			case TURN_EV_PERMISSION:
				printf("permission %s\n", fmt(&e->addr));
				if (!channel)
					ready = true;
				break;
			case TURN_EV_CHANNEL:
				printf("channel 0x%04x %s\n", e->channel, fmt(&e->addr));
				ready = true;
				break;
			case TURN_EV_DATA:
				printf("data %s %s '%.*s'\n", fmt(&e->addr),
				       e->channel ? "channel" : "indication", (int)e->len,
				       (const char *)e->data);
				if (e->peer == peer_idx)
					got++;
				break;
			case TURN_EV_FAILED:
				printf("failed %u\n", e->code);
				status = 2;
				done = true;
				break;
			case TURN_EV_CLOSED:
				printf("closed %u\n", e->code);
				if (got == count && e->code == 0)
					status = 0;
				done = true;
				break;
			case TURN_EV_PEER_FAILED:
				printf("peer-failed %u %s\n", e->code, fmt(&e->addr));
				break;
			case TURN_EV_REFRESHED:
			case TURN_EV_REALLOCATING:
				printf("%s %u\n", turn_event_str(e->kind), e->code);
				break;
			}
		}
		out.n_events = 0;
		if (done)
			break;
		/* one datagram out per one back: the echo answers each */
		if (ready && !closing && sent == got && sent < count) {
			char msg[64];
			uint8_t frame[256];
			int len = snprintf(msg, sizeof(msg), "ping %d", ++sent);
			int fl = turn_client_send(c, peer_idx, msg, (size_t)len, frame, sizeof(frame));

			if (fl < 0) {
				fprintf(stderr, "turn_client_send: %s\n", strerror(-fl));
				return 1;
			}
			printf("sent %d via %s\n", sent, frame[0] >> 6 == 1 ? "channel" : "indication");
			send_all(frame, (size_t)fl);
		}
		if (!closing && got == count && sent == count) {
			closing = true;
			turn_client_close(c, now_ms(), &out);
			flush();
			continue;
		}
		if (t >= give_up) {
			printf("timeout: sent %d got %d state %s\n", sent, got,
			       turn_state_str(turn_client_state(c)));
			return 1;
		}
		if (deadline <= t) {
			turn_client_on_timeout(c, t, &out);
			flush();
			continue;
		}
		wait_ms = (int)((deadline < give_up ? deadline : give_up) - t);
		/* TLS may hold decrypted bytes the socket no longer shows */
		n = ssl && SSL_pending(ssl) > 0 ? 1 : poll(&pfd, 1, wait_ms);
		if (n < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		if (n <= 0) {
			turn_client_on_timeout(c, now_ms(), &out);
			flush();
			continue;
		}
		if (!stream) {
			ssize_t r = recv(fd, rx, sizeof(rx), 0);

			if (r < 0) {
				perror("recv");	/* e.g. ICMP port unreachable */
				return 1;
			}
			turn_client_on_input(c, rx, (size_t)r, now_ms(), &out);
			flush();
			continue;
		} else {
			ssize_t r = rd(rx + rxlen, sizeof(rx) - rxlen);
			size_t need;
			struct turn_out acc;
			unsigned nev = 0;

			if (r <= 0) {
				printf("connection closed by the server\n");
				return 1;
			}
			rxlen += (size_t)r;
			/* every complete frame (RFC 8489 §6.2.2, RFC 8656 §12.5);
			 * the events of all of them go round the loop together */
			memset(&acc, 0, sizeof(acc));
			acc.deadline = TURN_NEVER;
			for (;;) {
				if (stun_stream_frame_len(rx, rxlen, &need)) {
					printf("stream out of step\n");
					return 1;
				}
				if (rxlen < need)
					break;
				turn_client_on_input(c, rx, need, now_ms(), &out);
				flush();
				for (unsigned i = 0; i < out.n_events && nev < TURN_MAX_EVENTS; i++) {
					acc.events[nev] = out.events[i];
					/* data points into rx, which moves: print now */
					if (out.events[i].kind == TURN_EV_DATA) {
						printf("data %s %s '%.*s'\n", fmt(&out.events[i].addr),
						       out.events[i].channel ? "channel" : "indication",
						       (int)out.events[i].len, (const char *)out.events[i].data);
						if (out.events[i].peer == peer_idx)
							got++;
						continue;
					}
					nev++;
				}
				memmove(rx, rx + need, rxlen - need);
				rxlen -= need;
			}
			out.n_msgs = 0;
			out.n_events = nev;
			memcpy(out.events, acc.events, nev * sizeof(acc.events[0]));
			out.deadline = turn_client_deadline(c);
		}
	}
	turn_client_free(c);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	return status;
}
