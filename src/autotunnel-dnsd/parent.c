/* Delegation of account zones in the parent zone: see parent.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "autotunnel-dnsd/parent.h"
#include "autotunnel-dnsd/settings.h"
#include "autotunnel-dnsd/store.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/msg.h"
#include "util/encode.h"
#include "util/random.h"

#define KEY_LINE_MAX 512
#define PENDING_BATCH 256

const char *parent_op_name(enum parent_op op)
{
	return op == PARENT_ADD ? "add" : "del";
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address; port 53 by default. */
static int parse_addr(struct parent_cfg *c, const char *text)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	unsigned long p = 53;
	size_t n;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || (size_t)(end - text - 1) >= sizeof(host))
			return -EINVAL;
		n = (size_t)(end - text - 1);
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
	} else {
		const char *colon = strrchr(text, ':');

		if (colon && strchr(text, ':') == colon) {
			n = (size_t)(colon - text);
			port = colon + 1;
		} else {
			n = strlen(text);
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, n);
		host[n] = '\0';
	}
	if (port) {
		char *e;

		p = strtoul(port, &e, 10);
		if (!*port || *e || p == 0 || p > 65535)
			return -EINVAL;
	}
	memset(&c->addr, 0, sizeof(c->addr));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&c->addr)->sin_addr) == 1) {
		((struct sockaddr_in *)&c->addr)->sin_family = AF_INET;
		((struct sockaddr_in *)&c->addr)->sin_port = htons((uint16_t)p);
		c->addrlen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&c->addr)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&c->addr)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&c->addr)->sin6_port = htons((uint16_t)p);
		c->addrlen = sizeof(struct sockaddr_in6);
	} else {
		return -EINVAL;
	}
	snprintf(c->addr_text, sizeof(c->addr_text), "%s%s%s:%lu", strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", p);
	return 0;
}

/* The key file: one line [ALG:]NAME:BASE64 (nsupdate -y form), a file only its owner reads. */
static int read_key(struct parent_cfg *c, const char *path, char *err, size_t errlen)
{
	char line[KEY_LINE_MAX + 2], *alg = NULL, *name, *secret, *colon;
	uint8_t bin[DNS_TSIG_SECRET_MAX];
	enum dns_tsig_alg a = DNS_TSIG_HMAC_SHA256;
	struct dns_name kn;
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), len, rc = -EINVAL;

	if (fd < 0) {
		snprintf(err, errlen, "parent-key-file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		snprintf(err, errlen, "parent-key-file %s: not a regular file of mode 0600 or 0400", path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "parent-key-file %s: empty", path);
		return -EINVAL;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	/* [ALG:]NAME:SECRET; base64 has no ':' and neither has a key name here */
	secret = strrchr(line, ':');
	colon = strchr(line, ':');
	if (!secret)
		goto bad;
	*secret++ = '\0';
	name = line;
	if (colon != secret - 1) {
		alg = line;
		*colon = '\0';
		name = colon + 1;
		a = dns_tsig_alg_from_text(alg);
		if (!a)
			goto bad;
	}
	len = b64_decode(bin, sizeof(bin), secret);
	if (len <= 0 || dns_name_from_text(&kn, name) || dns_tsig_key_set(&c->key, &kn, a, bin, (size_t)len))
		goto bad;
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen, "parent-key-file %s: the first line must be [ALGORITHM:]KEYNAME:BASE64 "
		 "(as nsupdate -y takes it)", path);
out:
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(bin, sizeof(bin));
	return rc;
}

/* Our addresses, for the glue: server-address, else the listen addresses (not 0.0.0.0 or ::). */
static int read_glue(struct parent_cfg *c, const char *list)
{
	char buf[1024], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		uint8_t a[16];

		if (inet_pton(AF_INET, tok, a) == 1) {
			if (c->n_v4 < PARENT_GLUE_MAX && memcmp(a, "\0\0\0\0", 4) != 0)
				memcpy(c->v4[c->n_v4++], a, 4);
		} else if (inet_pton(AF_INET6, tok, a) == 1) {
			if (c->n_v6 < PARENT_GLUE_MAX && !IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)a))
				memcpy(c->v6[c->n_v6++], a, 16);
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

int parent_cfg_load(struct parent_cfg *c, const struct dnsd_settings *s, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (!s->parent)
		return -ENOENT;
	if (parse_addr(c, s->parent)) {
		snprintf(err, errlen, "parent '%s' is not ADDRESS[:PORT] (a numeric address)", s->parent);
		return -EINVAL;
	}
	if (!s->parent_key_file) {
		snprintf(err, errlen, "parent needs parent-key-file (the TSIG key the parent takes UPDATEs with)");
		return -EINVAL;
	}
	if (dns_name_from_text(&c->zone, s->zone) || dns_name_from_text(&c->ns, s->server_name)) {
		snprintf(err, errlen, "bad zone or server-name");
		return -EINVAL;
	}
	dns_name_canonicalize(&c->zone);
	dns_name_canonicalize(&c->ns);
	c->ttl = (uint32_t)s->ttl;
	c->glue = dns_name_is_below(&c->ns, &c->zone) && !dns_name_equal(&c->ns, &c->zone);
	if (read_glue(c, s->server_address ? s->server_address : s->listen)) {
		snprintf(err, errlen, "server-address: not a list of numeric addresses");
		return -EINVAL;
	}
	if (c->glue && c->n_v4 + c->n_v6 == 0) {
		snprintf(err, errlen, "server-name %s lies in the parent zone, so the parent needs its addresses "
			 "(glue): set server-address", s->server_name);
		return -EINVAL;
	}
	return read_key(c, s->parent_key_file, err, errlen);
}

void parent_cfg_wipe(struct parent_cfg *c)
{
	OPENSSL_cleanse(&c->key, sizeof(c->key));
}

/* An RFC 2136 §2.5.2 "delete an RRset": class ANY, TTL 0, no rdata. */
static int delete_rrset(struct dns_builder *b, const struct dns_name *owner, uint16_t type)
{
	int rc = dns_builder_rr_begin(b, owner, type, DNS_CLASS_ANY, 0);

	return rc ? rc : dns_builder_rr_end(b);
}

int parent_update_build(const struct parent_cfg *c, enum parent_op op, const char *label, uint16_t id,
			uint8_t *buf, size_t cap, size_t *len)
{
	struct dns_builder b;
	struct dns_name d = c->zone;
	size_t ll = strlen(label);
	int rc;

	if (ll == 0 || ll > 63 || strchr(label, '.') || dns_name_prepend_label(&d, label, ll))
		return -EINVAL;
	dns_name_canonicalize(&d);
	rc = dns_builder_init(&b, buf, cap, 65535, id, (uint16_t)(DNS_OPCODE_UPDATE << DNS_OPCODE_SHIFT));
	if (rc)
		return rc;
	/* RFC 2136 §2.3: the zone section names the parent zone, type SOA */
	if ((rc = dns_builder_question(&b, &c->zone, DNS_TYPE_SOA, DNS_CLASS_IN)) ||
	    (rc = dns_builder_section(&b, DNS_SEC_UPDATE)) || (rc = delete_rrset(&b, &d, DNS_TYPE_NS)))
		return rc == -EMSGSIZE ? -ENOSPC : rc;
	if (op == PARENT_ADD) {
		if ((rc = dns_builder_add_name(&b, &d, DNS_TYPE_NS, c->ttl, &c->ns)))
			return rc == -EMSGSIZE ? -ENOSPC : rc;
		if (c->glue) {
			/* the name is this server's alone: its address sets are ours to replace */
			if ((rc = delete_rrset(&b, &c->ns, DNS_TYPE_A)) || (rc = delete_rrset(&b, &c->ns, DNS_TYPE_AAAA)))
				return rc == -EMSGSIZE ? -ENOSPC : rc;
			for (int i = 0; i < c->n_v4; i++)
				if ((rc = dns_builder_add_a(&b, &c->ns, c->ttl, c->v4[i])))
					return rc == -EMSGSIZE ? -ENOSPC : rc;
			for (int i = 0; i < c->n_v6; i++)
				if ((rc = dns_builder_add_aaaa(&b, &c->ns, c->ttl, c->v6[i])))
					return rc == -EMSGSIZE ? -ENOSPC : rc;
		}
	}
	return dns_builder_finish(&b, len);
}

/* Wait for @p fd to be ready for @p events until @p deadline (monotonic ms). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = clock_now_ms();
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read exactly @p n bytes before @p deadline. */
static int read_all(int fd, uint8_t *buf, size_t n, uint64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;
		int rc = wait_fd(fd, POLLIN, deadline);

		if (rc)
			return rc;
		r = read(fd, buf + got, n - got);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

/* One DNS over TCP exchange (RFC 1035 §4.2.2, RFC 7766): @p msg out, the answer into @p ans. */
static int exchange(const struct parent_cfg *c, const uint8_t *msg, size_t len, uint8_t *ans, size_t cap,
		    size_t *anslen)
{
	uint64_t deadline = clock_now_ms() + PARENT_TIMEOUT_MS;
	uint8_t out[2 + 65535], hdr[2];
	int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc, e;
	socklen_t el = sizeof(e);
	size_t sent = 0, n;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0 && errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	if ((rc = wait_fd(fd, POLLOUT, deadline)))
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
		rc = e ? -e : -errno;
		goto out;
	}
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, msg, len);
	while (sent < len + 2) {
		ssize_t w;

		if ((rc = wait_fd(fd, POLLOUT, deadline)))
			goto out;
		w = send(fd, out + sent, len + 2 - sent, MSG_NOSIGNAL);
		if (w < 0 && errno != EINTR && errno != EAGAIN) {
			rc = -errno;
			goto out;
		}
		if (w > 0)
			sent += (size_t)w;
	}
	if ((rc = read_all(fd, hdr, 2, deadline)))
		goto out;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n > cap) {
		rc = -EMSGSIZE;
		goto out;
	}
	if ((rc = read_all(fd, ans, n, deadline)))
		goto out;
	*anslen = n;
out:
	close(fd);
	return rc;
}

int parent_send(const struct parent_cfg *c, enum parent_op op, const char *label, char *why, size_t whylen)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
					      "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	uint8_t buf[4096], ans[65535];
	struct dns_tsig t;
	struct dns_msg m;
	uint16_t id;
	size_t len, alen;
	bool is_signed = false;
	unsigned rcode;
	int rc;

	if (rand_bytes(&id, sizeof(id)))
		return -EIO;
	dns_tsig_init(&t, &c->key);
	rc = parent_update_build(c, op, label, id, buf, sizeof(buf) - dns_tsig_space(&t), &len);
	if (rc == 0)
		rc = dns_tsig_sign_request(&t, buf, len, sizeof(buf), &len, clock_wall_s());
	if (rc) {
		snprintf(why, whylen, "cannot build the UPDATE: %s", strerror(-rc));
		goto out;
	}
	rc = exchange(c, buf, len, ans, sizeof(ans), &alen);
	if (rc) {
		snprintf(why, whylen, "parent %s: %s", c->addr_text, strerror(-rc));
		goto out;
	}
	if (dns_msg_parse(&m, ans, alen) || m.hdr.id != id || !(m.hdr.flags & DNS_FLAG_QR) ||
	    dns_flags_opcode(m.hdr.flags) != DNS_OPCODE_UPDATE) {
		snprintf(why, whylen, "parent %s: the answer is not the answer to our UPDATE", c->addr_text);
		rc = -EBADMSG;
		goto out;
	}
	/* RFC 8945 §5.3: the answer to a signed request is signed, errors too */
	rc = dns_tsig_verify_response(&t, &m, clock_wall_s(), &is_signed);
	if (rc || !is_signed) {
		snprintf(why, whylen, "parent %s: the answer's TSIG does not verify (is parent-key-file the key "
			 "the parent has for us?)", c->addr_text);
		rc = -EACCES;
		goto out;
	}
	rcode = dns_msg_rcode(&m);
	if (rcode != DNS_RCODE_NOERROR) {
		snprintf(why, whylen, "parent %s answered %s", c->addr_text,
			 rcode < sizeof(rcodes) / sizeof(rcodes[0]) ? rcodes[rcode] : "an error");
		rc = -EREMOTEIO;
	}
out:
	dns_tsig_fini(&t);
	return rc;
}

int parent_sync(const struct parent_cfg *c, struct store *st, size_t *left)
{
	struct store_pending *p = calloc(PENDING_BATCH, sizeof(*p));
	size_t n = 0, remaining = 0;
	int sent = 0;

	if (!p)
		return -ENOMEM;
	if (store_pending_list(st, p, PENDING_BATCH, &n)) {
		free(p);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		enum parent_op op = strcmp(p[i].op, "add") == 0 ? PARENT_ADD : PARENT_DEL;
		char why[256];
		int rc = parent_send(c, op, p[i].account, why, sizeof(why));

		if (rc == 0) {
			if (store_pending_done(st, p[i].account, p[i].op))
				log_warnx("parent: %s", store_errmsg(st));
			log_info("parent: delegation of %s %s", p[i].account,
				 op == PARENT_ADD ? "registered" : "removed");
			sent++;
		} else {
			/* say it once, not at every retry */
			if (strcmp(why, p[i].error) != 0)
				log_warnx("parent: %s of %s's delegation not done (kept, tried again in %d s): %s",
					  p[i].op, p[i].account, PARENT_RETRY_S, why);
			if (store_pending_failed(st, p[i].account, p[i].op, why))
				log_warnx("parent: %s", store_errmsg(st));
			remaining++;
			if (rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ENETUNREACH) {
				/* the parent is down: the rest would wait as long each */
				remaining += n - i - 1;
				break;
			}
		}
	}
	free(p);
	if (left)
		*left = remaining;
	return sent;
}
