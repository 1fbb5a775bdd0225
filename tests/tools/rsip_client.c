/*
 * rsip-test-client: a small RSIP client (lib/rsip's client helper) and a
 * legacy IPsec peer stand-in for the netns tests of autotunnel-gwd's RSIP
 * server. It reads one command a line on stdin and prints one result a
 * line on stdout, so a shell test can drive it through a FIFO.
 *
 *   rsip-test-client --server ADDR [--bind ADDR] [--nb ADDR]    an RSIP client (X1, X2);
 *                               --nb: the public address to send from before any assign
 *     register                  -> "registered methods=2,3 tunnels=1"
 *     assign [spi=any|N] [nspi=N] [ports=N] [lease=S] [remote=IP]
 *                               -> "assigned bind=ID nb=IP spi=S[,S] ports=P[,P] lease=S tunnel=IP"
 *                                  or "error CODE NAME"
 *     extend BIND [LEASE] | free BIND | deregister | query IP
 *     send-esp DST SPI N [BYTES]       N ESP packets from Nb, tunnelled IP-in-IP to the server
 *     send-udp SPORT DST DPORT SPI_I [N]  N UDP packets (an IKE header with initiator SPI SPI_I)
 *     counts                    -> the tunnelled packets received, "rx esp spi=S n=K" and
 *                                  "rx udp port=P spi_i=S n=K", then "rx end"
 *     close                     closes the TCP connection (the server frees the bindings)
 *
 *   rsip-test-client --peer [--bind ADDR]             the peer Y (knows no RSIP)
 *     send-esp DST SPI N [BYTES]   raw ESP packets
 *     send-udp SPORT DST DPORT SPI_I [N]   from a UDP socket bound to SPORT
 *     counts                    -> "rx esp src=IP spi=S n=K", "rx udp src=IP:P spi_i=S n=K", "rx end"
 *
 *   quit (or end of input) ends it. Every wait is bounded (3 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "rsip/client.h"
#include "rsip/msg.h"
#include "wire/wire.h"

#define MAX_COUNTS 64
#define MAX_UDP 4
#define WAIT_MS 3000

struct count {
	uint8_t proto;
	uint32_t src;
	uint16_t port;
	uint64_t key;	/* SPI, or the IKE initiator SPI */
	unsigned n;
};

static struct {
	bool peer;
	uint32_t server, bind;
	int tcp, raw, esp;
	int udp[MAX_UDP];
	uint16_t udp_port[MAX_UDP];
	size_t n_udp;
	struct rsip_client c;
	uint32_t nb;
	struct count counts[MAX_COUNTS];
	size_t n_counts;
	unsigned rx_bad;
	uint8_t in[8192];
	size_t in_len;
} g = { .tcp = -1, .raw = -1, .esp = -1 };

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *ip_str(uint32_t a)
{
	static char buf[4][16];
	static int i;
	struct in_addr in = { htonl(a) };

	i = (i + 1) % 4;
	inet_ntop(AF_INET, &in, buf[i], sizeof(buf[i]));
	return buf[i];
}

static int parse_ip(const char *s, uint32_t *a)
{
	struct in_addr in;

	if (!s || inet_pton(AF_INET, s, &in) != 1)
		return -1;
	*a = ntohl(in.s_addr);
	return 0;
}

static int parse_num(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* ---- counting what arrives ---- */

static void count(uint8_t proto, uint32_t src, uint16_t port, uint64_t key)
{
	for (size_t i = 0; i < g.n_counts; i++) {
		struct count *c = &g.counts[i];

		if (c->proto == proto && c->src == src && c->port == port && c->key == key) {
			c->n++;
			return;
		}
	}
	if (g.n_counts < MAX_COUNTS)
		g.counts[g.n_counts++] = (struct count){ proto, src, port, key, 1 };
}

/* an IPv4 packet (no outer header): count it by its protocol's demultiplexing key */
static void count_ip(const uint8_t *p, size_t len, bool from_tunnel)
{
	struct wire r = wire_reader(p, len);
	uint8_t vhl = wire_read_u8(&r), proto;
	uint32_t src, dst;
	uint16_t sport = 0, dport = 0;
	uint64_t key = 0;

	wire_skip(&r, 8);
	proto = wire_read_u8(&r);
	wire_skip(&r, 2);
	src = wire_read_u32(&r);
	dst = wire_read_u32(&r);
	wire_skip(&r, (size_t)((vhl & 0x0f) * 4) - 20);
	if (proto == 50) {
		key = wire_read_u32(&r);
	} else if (proto == 51) {
		wire_skip(&r, 4);
		key = wire_read_u32(&r);
	} else if (proto == 17) {
		sport = wire_read_u16(&r);
		dport = wire_read_u16(&r);
		wire_skip(&r, 4);
		key = wire_avail(&r) >= 8 ? wire_read_u64(&r) : 0;
	}
	/* through the tunnel, the inner packet must be for Nb */
	if (wire_err(&r) || (vhl >> 4) != 4 || (from_tunnel && dst != g.nb)) {
		g.rx_bad++;
		return;
	}
	if (from_tunnel)
		count(proto, 0, dport, key);
	else
		count(proto, src, sport, key);
}

static void drain_raw(int fd, bool tunnel)
{
	uint8_t buf[70000];

	for (int i = 0; i < 1000; i++) {
		struct wire r;
		uint8_t vhl, proto;
		uint32_t src;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			return;
		if (!tunnel) {
			count_ip(buf, (size_t)n, false);
			continue;
		}
		/* RSIP tunnel type 1: IP in IP from the server's LAN address */
		r = wire_reader(buf, (size_t)n);
		vhl = wire_read_u8(&r);
		wire_skip(&r, 8);
		proto = wire_read_u8(&r);
		wire_skip(&r, 2);
		src = wire_read_u32(&r);
		if (wire_err(&r) || proto != 4 || src != g.server || (size_t)((vhl & 0x0f) * 4) > (size_t)n) {
			g.rx_bad++;
			continue;
		}
		count_ip(buf + (vhl & 0x0f) * 4, (size_t)n - (size_t)((vhl & 0x0f) * 4), true);
	}
}

static void drain_udp(size_t i)
{
	uint8_t buf[2048];

	for (int k = 0; k < 1000; k++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(g.udp[i], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct wire r = wire_reader(buf, n > 0 ? (size_t)n : 0);

		if (n < 0)
			return;
		count(17, ntohl(from.sin_addr.s_addr), ntohs(from.sin_port), n >= 8 ? wire_read_u64(&r) : 0);
	}
}

static void print_counts(void)
{
	for (size_t i = 0; i < g.n_counts; i++) {
		const struct count *c = &g.counts[i];

		if (c->proto == 17 && g.peer)
			out("rx udp src=%s:%u spi_i=0x%llx n=%u", ip_str(c->src), c->port,
			    (unsigned long long)c->key, c->n);
		else if (c->proto == 17)
			out("rx udp port=%u spi_i=0x%llx n=%u", c->port, (unsigned long long)c->key, c->n);
		else if (g.peer)
			out("rx %s src=%s spi=0x%08llx n=%u", c->proto == 50 ? "esp" : "ah", ip_str(c->src),
			    (unsigned long long)c->key, c->n);
		else
			out("rx %s spi=0x%08llx n=%u", c->proto == 50 ? "esp" : c->proto == 51 ? "ah" : "other",
			    (unsigned long long)c->key, c->n);
	}
	if (g.rx_bad)
		out("rx bad n=%u", g.rx_bad);
	out("rx end");
}

/* ---- waiting: packets keep being counted while an answer is awaited ---- */

#define PUMP_TCP 1
#define PUMP_STDIN 2

/*
 * Poll everything for up to @p ms, counting the packets that came; says
 * whether the TCP socket (PUMP_TCP) or, if @p in, stdin (PUMP_STDIN) is readable.
 */
static int pump(int ms, bool in)
{
	struct pollfd p[4 + MAX_UDP];
	nfds_t n = 0;
	int rc, ready = 0;

	p[n++] = (struct pollfd){ .fd = g.tcp, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = g.raw, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = g.esp, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = in ? 0 : -1, .events = POLLIN };
	for (size_t i = 0; i < g.n_udp; i++)
		p[n++] = (struct pollfd){ .fd = g.udp[i], .events = POLLIN };
	rc = poll(p, n, ms);
	if (rc <= 0)
		return 0;
	if (p[1].revents & POLLIN)
		drain_raw(g.raw, true);
	if (p[2].revents & POLLIN)
		drain_raw(g.esp, false);
	for (size_t i = 0; i < g.n_udp; i++)
		if (p[4 + i].revents & POLLIN)
			drain_udp(i);
	if (g.tcp >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
		ready |= PUMP_TCP;
	if (in && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
		ready |= PUMP_STDIN;
	return ready;
}

/* Read one whole RSIP message into g.in; its length, 0 if the server closed, -1 on timeout. */
static int read_msg(void)
{
	uint64_t end = clock_now_ms() + WAIT_MS;

	for (;;) {
		int fl = rsip_msg_frame_len(g.in, g.in_len);
		uint64_t now = clock_now_ms();
		ssize_t n;

		if (fl > 0 && (size_t)fl <= g.in_len)
			return fl;
		if (fl < 0 || now >= end)
			return -1;
		if (!(pump((int)(end - now), false) & PUMP_TCP))
			continue;
		n = recv(g.tcp, g.in + g.in_len, sizeof(g.in) - g.in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0)
			g.in_len += (size_t)n;
	}
}

static void consume(size_t n)
{
	memmove(g.in, g.in + n, g.in_len - n);
	g.in_len -= n;
}

static void print_binding(const struct rsip_client_binding *b)
{
	char spis[128] = "", ports[256] = "none";
	size_t o = 0;

	for (unsigned i = 0; i < b->n_spis; i++)
		o += (size_t)snprintf(spis + o, sizeof(spis) - o, "%s0x%08x", i ? "," : "", b->spis[i]);
	o = 0;
	for (unsigned i = 0; i < b->n_ports; i++)
		o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%u", i ? "," : "", b->ports[i]);
	out("assigned bind=0x%08x nb=%s spi=%s ports=%s lease=%u tunnel=%s", b->bind_id, ip_str(b->local_addr),
	    spis, ports, b->lease, ip_str(b->tunnel_endpoint));
}

/* Send the request in @p buf and print what the answer means. */
static void transact(const uint8_t *buf, size_t len)
{
	struct rsip_client_event ev;
	int n, rc;

	if (g.tcp < 0 || send(g.tcp, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		out("error not connected");
		g.c.pending = 0;
		return;
	}
	n = read_msg();
	if (n <= 0) {
		out(n == 0 ? "error connection closed" : "error no answer");
		g.c.pending = 0;
		return;
	}
	rc = rsip_client_on_message(&g.c, g.in, (size_t)n, clock_now_ms(), &ev);
	consume((size_t)n);
	if (rc) {
		out("error bad answer (%s)", strerror(-rc));
		return;
	}
	switch (ev.kind) {
	case RSIP_EV_REGISTERED: {
		char m[64] = "", t[64] = "";
		size_t o = 0;

		for (unsigned i = 0; i < ev.msg->n_method; i++)
			o += (size_t)snprintf(m + o, sizeof(m) - o, "%s%u", i ? "," : "", ev.msg->method[i]);
		o = 0;
		for (unsigned i = 0; i < ev.msg->n_tunnel; i++)
			o += (size_t)snprintf(t + o, sizeof(t) - o, "%s%u", i ? "," : "", ev.msg->tunnel[i]);
		out("registered methods=%s tunnels=%s", m, t);
		break;
	}
	case RSIP_EV_ASSIGNED:
		g.nb = ev.bind->local_addr;
		print_binding(ev.bind);
		break;
	case RSIP_EV_EXTENDED:
		out("extended bind=0x%08x lease=%u", ev.bind->bind_id, ev.bind->lease);
		break;
	case RSIP_EV_FREED:
		out("freed bind=0x%08x", ev.bind_id);
		break;
	case RSIP_EV_DEREGISTERED:
		out("deregistered");
		break;
	case RSIP_EV_ERROR:
		out("error %u %s", ev.error, rsip_error_name(ev.error) ? rsip_error_name(ev.error) : "?");
		break;
	case RSIP_EV_QUERY:
		out("query answered");
		break;
	default:
		out("error unexpected answer");
	}
}

/* ---- building packets ---- */

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	struct wire r = wire_reader(p, len);

	while (wire_avail(&r) >= 2)
		sum += wire_read_u16(&r);
	if (wire_avail(&r))
		sum += (uint32_t)wire_read_u8(&r) << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* an IPv4 packet from @p src to @p dst, @p proto, with @p l4 (@p l4len bytes) after the header */
static size_t ip_packet(uint8_t *p, size_t cap, uint32_t src, uint32_t dst, uint8_t proto,
			const uint8_t *l4, size_t l4len)
{
	struct wire w = wire_writer(p, cap);

	wire_write_u8(&w, 0x45);
	wire_write_u8(&w, 0);
	wire_write_u16(&w, (uint16_t)(20 + l4len));
	wire_write_u16(&w, (uint16_t)rand());
	wire_write_u16(&w, 0);
	wire_write_u8(&w, 64);
	wire_write_u8(&w, proto);
	wire_write_u16(&w, 0);
	wire_write_u32(&w, src);
	wire_write_u32(&w, dst);
	wire_write_bytes(&w, l4, l4len);
	if (wire_err(&w))
		return 0;
	wire_patch_u16(&w, 10, csum(0, p, 20));
	return 20 + l4len;
}

static size_t esp_payload(uint8_t *p, size_t cap, uint32_t spi, uint32_t seq, size_t bytes)
{
	struct wire w = wire_writer(p, cap);

	wire_write_u32(&w, spi);
	wire_write_u32(&w, seq);
	for (size_t i = 0; i < bytes; i++)
		wire_write_u8(&w, (uint8_t)i);
	return wire_err(&w) ? 0 : wire_offset(&w);
}

static size_t ike_payload(uint8_t *p, size_t cap, uint64_t spi_i)
{
	struct wire w = wire_writer(p, cap);

	/* RFC 7296 §3.1: SPIi, SPIr, next payload, version 2.0, IKE_SA_INIT, flags (I), MID, length */
	wire_write_u64(&w, spi_i);
	wire_write_u64(&w, 0);
	wire_write_u8(&w, 0);
	wire_write_u8(&w, 0x20);
	wire_write_u8(&w, 34);
	wire_write_u8(&w, 0x08);
	wire_write_u32(&w, 0);
	wire_write_u32(&w, 28);
	return wire_err(&w) ? 0 : wire_offset(&w);
}

static size_t udp_segment(uint8_t *p, size_t cap, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			  const uint8_t *payload, size_t plen)
{
	struct wire w = wire_writer(p, cap);
	uint8_t pseudo[12];
	struct wire ps = wire_writer(pseudo, sizeof(pseudo));
	uint32_t sum = 0;
	struct wire r;
	uint16_t ck;

	wire_write_u16(&w, sport);
	wire_write_u16(&w, dport);
	wire_write_u16(&w, (uint16_t)(8 + plen));
	wire_write_u16(&w, 0);
	wire_write_bytes(&w, payload, plen);
	if (wire_err(&w))
		return 0;
	wire_write_u32(&ps, src);
	wire_write_u32(&ps, dst);
	wire_write_u16(&ps, 17);
	wire_write_u16(&ps, (uint16_t)(8 + plen));
	r = wire_reader(pseudo, sizeof(pseudo));
	while (wire_avail(&r))
		sum += wire_read_u16(&r);
	ck = csum(sum, p, 8 + plen);
	wire_patch_u16(&w, 6, ck ? ck : 0xffff);
	return 8 + plen;
}

/* client: tunnel the inner packet to the server (the kernel adds the outer header, protocol 4) */
static int tunnel(const uint8_t *inner, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(g.server) };

	return sendto(g.raw, inner, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len ? 0 : -1;
}

static int udp_sock(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(g.bind) };
	int fd;

	for (size_t i = 0; i < g.n_udp; i++)
		if (g.udp_port[i] == port)
			return g.udp[i];
	if (g.n_udp == MAX_UDP)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	g.udp[g.n_udp] = fd;
	g.udp_port[g.n_udp++] = port;
	return fd;
}

static void cmd_send_esp(char **a, int n)
{
	uint64_t spi, cnt, bytes = 32;
	uint32_t dst;
	uint8_t l4[1600], pkt[1700];

	if (n < 4 || parse_ip(a[1], &dst) || parse_num(a[2], &spi) || parse_num(a[3], &cnt) ||
	    (n > 4 && parse_num(a[4], &bytes)) || bytes > 1472 || cnt > 10000) {
		out("error usage: send-esp DST SPI N [BYTES]");
		return;
	}
	for (uint64_t i = 0; i < cnt; i++) {
		size_t l = esp_payload(l4, sizeof(l4), (uint32_t)spi, (uint32_t)i + 1, bytes);
		int rc;

		if (g.peer) {
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(dst) };

			rc = sendto(g.esp, l4, l, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)l ? 0 : -1;
		} else {
			size_t pl = ip_packet(pkt, sizeof(pkt), g.nb, dst, 50, l4, l);

			rc = tunnel(pkt, pl);
		}
		if (rc) {
			out("error send: %s", strerror(errno));
			return;
		}
	}
	out("sent esp n=%llu", (unsigned long long)cnt);
}

static void cmd_send_udp(char **a, int n)
{
	uint64_t sport, dport, spi_i, cnt = 1;
	uint32_t dst;
	uint8_t ike[64], seg[128], pkt[256];

	if (n < 5 || parse_num(a[1], &sport) || parse_ip(a[2], &dst) || parse_num(a[3], &dport) ||
	    parse_num(a[4], &spi_i) || (n > 5 && parse_num(a[5], &cnt)) || sport > 65535 || dport > 65535 ||
	    cnt > 10000) {
		out("error usage: send-udp SPORT DST DPORT SPI_I [N]");
		return;
	}
	for (uint64_t i = 0; i < cnt; i++) {
		size_t il = ike_payload(ike, sizeof(ike), spi_i);
		int rc;

		if (g.peer) {
			int fd = udp_sock((uint16_t)sport);
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)dport),
						  .sin_addr.s_addr = htonl(dst) };

			rc = fd < 0 ? -1 : sendto(fd, ike, il, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)il ? 0 : -1;
		} else {
			size_t sl = udp_segment(seg, sizeof(seg), g.nb, (uint16_t)sport, dst, (uint16_t)dport, ike, il);
			size_t pl = ip_packet(pkt, sizeof(pkt), g.nb, dst, 17, seg, sl);

			rc = tunnel(pkt, pl);
		}
		if (rc) {
			out("error send: %s", strerror(errno));
			return;
		}
	}
	out("sent udp n=%llu", (unsigned long long)cnt);
}

static void cmd_assign(char **a, int n)
{
	struct rsip_ipsec_request r = { .n_spis = 1 };
	uint8_t buf[1024];
	size_t len;

	for (int i = 1; i < n; i++) {
		char *v = strchr(a[i], '=');
		uint64_t x = 0;

		if (!v) {
			out("error bad argument '%s'", a[i]);
			return;
		}
		*v++ = '\0';
		if (strcmp(a[i], "remote") == 0) {
			if (parse_ip(v, &r.remote))
				goto bad;
			continue;
		}
		if (strcmp(a[i], "spi") == 0 && strcmp(v, "any") == 0)
			continue;
		if (parse_num(v, &x))
			goto bad;
		if (strcmp(a[i], "spi") == 0 && x && x <= UINT32_MAX)
			r.spi = (uint32_t)x;
		else if (strcmp(a[i], "nspi") == 0 && x >= 1 && x <= 64)
			r.n_spis = (uint16_t)x;
		else if (strcmp(a[i], "ports") == 0 && x <= 32)
			r.n_ports = (uint8_t)x;
		else if (strcmp(a[i], "lease") == 0 && x <= UINT32_MAX)
			r.lease = (uint32_t)x;
		else
			goto bad;
	}
	if (rsip_client_assign_rsipsec(&g.c, &r, buf, sizeof(buf), &len)) {
		out("error cannot build the request (registered?)");
		return;
	}
	transact(buf, len);
	return;
bad:
	out("error bad argument '%s'", a[1]);
}

static void command(char *line)
{
	char *a[8];
	int n = 0;
	uint8_t buf[1024];
	size_t len = 0;
	uint64_t x, y;
	int rc = -1;

	for (char *t = strtok(line, " \t\r\n"); t && n < 8; t = strtok(NULL, " \t\r\n"))
		a[n++] = t;
	if (n == 0)
		return;
	if (strcmp(a[0], "counts") == 0) {
		pump(50, false);
		print_counts();
	} else if (strcmp(a[0], "send-esp") == 0) {
		cmd_send_esp(a, n);
	} else if (strcmp(a[0], "send-udp") == 0) {
		cmd_send_udp(a, n);
	} else if (g.peer) {
		out("error unknown command '%s'", a[0]);
	} else if (strcmp(a[0], "register") == 0) {
		rc = rsip_client_register(&g.c, buf, sizeof(buf), &len);
	} else if (strcmp(a[0], "assign") == 0) {
		cmd_assign(a, n);
		return;
	} else if (strcmp(a[0], "extend") == 0 && n >= 2 && parse_num(a[1], &x) == 0) {
		y = 0;
		if (n < 3 || parse_num(a[2], &y) == 0)
			rc = rsip_client_extend(&g.c, (uint32_t)x, (uint32_t)y, buf, sizeof(buf), &len);
	} else if (strcmp(a[0], "free") == 0 && n == 2 && parse_num(a[1], &x) == 0) {
		rc = rsip_client_free(&g.c, (uint32_t)x, buf, sizeof(buf), &len);
	} else if (strcmp(a[0], "deregister") == 0) {
		rc = rsip_client_deregister(&g.c, buf, sizeof(buf), &len);
	} else if (strcmp(a[0], "query") == 0 && n == 2) {
		uint32_t q;

		if (parse_ip(a[1], &q) == 0)
			rc = rsip_client_query(&g.c, q, buf, sizeof(buf), &len);
	} else if (strcmp(a[0], "close") == 0) {
		if (g.tcp >= 0)
			close(g.tcp);
		g.tcp = -1;
		out("closed");
		return;
	} else {
		out("error unknown command '%s'", a[0]);
		return;
	}
	if (g.peer)
		return;
	if (rc) {
		out("error cannot build the request");
		return;
	}
	transact(buf, len);
}

static int setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(g.bind) };

	if (g.peer) {
		/* Y: plain ESP from and to a raw socket (no kernel ESP here, no ICMP either) */
		g.esp = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
		if (g.esp < 0 || udp_sock(500) < 0) {
			perror("peer sockets");
			return -1;
		}
		(void)setsockopt(g.esp, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 }, sizeof(int));
		return 0;
	}
	g.raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_IPIP);
	g.tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g.raw < 0 || g.tcp < 0) {
		perror("socket");
		return -1;
	}
	(void)setsockopt(g.raw, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 }, sizeof(int));
	if (g.bind && (bind(g.raw, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		       bind(g.tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0)) {
		perror("bind");
		return -1;
	}
	sa.sin_addr.s_addr = htonl(g.server);
	sa.sin_port = htons(RSIP_PORT);
	if (connect(g.tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return -1;
	}
	rsip_client_init(&g.c, (uint32_t)getpid());
	return 0;
}

/* Something came on the TCP connection unasked: the server closed it, or spoke (DE-REGISTER). */
static void unsolicited(void)
{
	struct rsip_client_event ev;
	ssize_t n = recv(g.tcp, g.in + g.in_len, sizeof(g.in) - g.in_len, MSG_DONTWAIT);
	int fl;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		out("server closed the connection");
		close(g.tcp);
		g.tcp = -1;
		return;
	}
	if (n > 0)
		g.in_len += (size_t)n;
	while ((fl = rsip_msg_frame_len(g.in, g.in_len)) > 0 && (size_t)fl <= g.in_len) {
		if (rsip_client_on_message(&g.c, g.in, (size_t)fl, clock_now_ms(), &ev) == 0 &&
		    ev.kind == RSIP_EV_DEREGISTERED)
			out("deregistered by the server");
		else
			out("unsolicited message type %u", g.in[1]);
		consume((size_t)fl);
	}
}

int main(int argc, char **argv)
{
	char line[512];
	size_t len = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--peer") == 0)
			g.peer = true;
		else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc && parse_ip(argv[i + 1], &g.server) == 0)
			i++;
		else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc && parse_ip(argv[i + 1], &g.bind) == 0)
			i++;
		else if (strcmp(argv[i], "--nb") == 0 && i + 1 < argc && parse_ip(argv[i + 1], &g.nb) == 0)
			i++;
		else {
			fprintf(stderr, "usage: rsip-test-client (--server ADDR [--nb ADDR] | --peer) [--bind ADDR] < commands\n");
			return 2;
		}
	}
	if (!g.peer && !g.server) {
		fprintf(stderr, "rsip-test-client: --server ADDR or --peer\n");
		return 2;
	}
	if (setup())
		return 1;
	out("ready");
	/* commands, a line each; between them, keep counting packets */
	for (;;) {
		int ready = pump(1000, true);
		char *nl;
		ssize_t n;

		if (ready & PUMP_TCP)
			unsolicited();
		if (!(ready & PUMP_STDIN))
			continue;
		n = read(0, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (strcmp(line, "quit") == 0)
				return 0;
			command(line);
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len + 1);
		}
		if (len == sizeof(line) - 1)
			len = 0;	/* an endless line: drop it */
	}
	return 0;
}
