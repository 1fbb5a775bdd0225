/*
 * `autotunnel login ACCOUNT --server HOST[:PORT] (--pin SHA256 | --ca FILE)`:
 * sign this host in to an account (docs/design.md §§1, 6). With
 * `--parent HOST[:PORT]` instead of --server, the account's server is found
 * through the delegation in the parent zone (docs/agent-dns.md
 * "Delegation"): here once, for the key parameters, and by the agent at
 * every connection.
 *
 * The account's key derivation parameters are fetched first (TXT _kdf.D,
 * unsigned, over DNS over TLS with the same pin or CA file: kdffetch.c).
 * The password is then read here (from standard input when it is not a
 * terminal, without echo when it is), checked against the weak-password
 * rule, and turned into the account's TSIG and IKE keys with scrypt
 * (lib/dns keys.h); only the keys go to the agent, which checks them
 * against the server (a wrong password is refused there with BADSIG) and
 * keeps them in its root-only state file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/name.h"
#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"
#include "autotunnel/kdffetch.h"
#include "dns/keys.h"
#include "dnsc/msg.h"
#include "dnsc/state.h"
#include "util/encode.h"
#include "util/random.h"

#define DEFAULT_ZONE "members.example.net"
#define PASSWORD_MAX 1024
#define LOGIN_TIMEOUT_MS 30000

void cmd_login_usage(void)
{
	printf("usage: autotunnel login ACCOUNT (--server HOST[:PORT] | --parent ADDRESS[:PORT])\n"
	       "                        (--pin SHA256 | --ca FILE) [--zone ZONE] [--recovery-key KEY]\n"
	       "                        [--json] [--socket PATH]\n"
	       "\n"
	       "Sign this host in to ACCOUNT at the rendezvous server HOST (DNS over TLS,\n"
	       "port 853 unless given). The password is read from standard input when it is\n"
	       "not a terminal, and asked for without echo when it is; it never leaves this\n"
	       "program: the keys derived from it do (the server only ever checks the TSIG\n"
	       "key, and never sees the IKE key that protects the tunnels).\n"
	       "\n"
	       "The server's certificate must be trusted one way:\n"
	       "  --pin SHA256    its SHA-256 fingerprint (hex, colons allowed) or its SPKI pin\n"
	       "                  (base64), as autotunnel-dnsd logs them at start-up\n"
	       "  --ca FILE       a CA file (PEM) that signed it; its name or address is checked\n"
	       "\n"
	       "  --parent ADDRESS[:PORT]  instead of --server: the server of the parent zone\n"
	       "                  (plain DNS, port 53); the account's server is found through its\n"
	       "                  delegation there, again after a move (use --ca: it trusts them all)\n"
	       "  ACCOUNT         a name (alice: alice.ZONE) or the account domain itself\n"
	       "  --zone ZONE     the service's zone (default %s)\n"
	       "  --recovery-key KEY  with the account authority on: enrol this computer as a\n"
	       "                  signer with the recovery key printed when the account's\n"
	       "                  authority was created (without it, a computer joining an\n"
	       "                  account with an authority shows a join code to approve)\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       DEFAULT_ZONE, CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

/* One line from @p fp into @p buf, without its newline. -1 at EOF with nothing read. */
static int read_line(FILE *fp, char *buf, size_t cap)
{
	size_t n;

	if (!fgets(buf, (int)cap, fp))
		return -1;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == cap - 1)
		return -2;	/* longer than we take */
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return (int)n;
}

static int read_password(const char *domain, char *pw, size_t cap)
{
	struct termios old, quiet;
	int n;

	if (!isatty(STDIN_FILENO))
		return read_line(stdin, pw, cap);
	fprintf(stderr, "Password for %s: ", domain);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -1;
	n = read_line(stdin, pw, cap);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return n;
}

/* One UDP question to @p to (port @p port), its answer in @p r (a static buffer): 0 or -errno. */
static int udp_ask(const struct sockaddr_storage *to, uint16_t port, const struct dns_name *q, uint16_t qtype,
		   struct dnsc_resp *r, uint8_t *ans, size_t cap)
{
	struct sockaddr_storage dst = *to;
	socklen_t dl = dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	uint8_t buf[512];
	uint16_t id = (uint16_t)rand_uniform(65536);
	size_t len;
	int fd, rc = -ETIMEDOUT;

	if (dst.ss_family == AF_INET)
		((struct sockaddr_in *)&dst)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&dst)->sin6_port = htons(port);
	if (dnsc_query_build(buf, sizeof(buf), &len, id, q, qtype, NULL, NULL, (uint64_t)time(NULL)))
		return -EINVAL;
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&dst, dl) < 0) {
		rc = -errno;
		goto out;
	}
	/* three tries, a second apart (RFC 1035 §4.2.1: retransmit over UDP) */
	for (int i = 0; i < 3 && rc == -ETIMEDOUT; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (send(fd, buf, len, 0) < 0) {
			rc = -errno;
			break;
		}
		while (poll(&p, 1, 1000) > 0) {
			ssize_t n = recv(fd, ans, cap, 0);

			if (n < 0) {
				rc = -errno;
				break;
			}
			if (dnsc_resp_open(r, ans, (size_t)n, id, q, qtype, NULL, (uint64_t)time(NULL)) == 0) {
				rc = 0;
				break;
			}
		}
	}
out:
	close(fd);
	return rc;
}

/*
 * The account's server through the delegation (docs/agent-dns.md
 * "Delegation"): the parent's NS record for D and its glue, then the
 * primary's _dns-update-tls._tcp.D SRV for the DNS-over-TLS port (853
 * without one). "ADDRESS:PORT" into @p out, or -errno with a sentence.
 */
static int deleg_resolve(const char *parent, const char *domain, char *out, size_t outlen, char *why,
			 size_t whylen)
{
	static struct dnsc_resp r;
	static uint8_t ans[4096];
	struct sockaddr_storage pa = { 0 }, prim = { 0 };
	char host[DNSC_SERVER_MAX + 1], addr[INET6_ADDRSTRLEN];
	struct dns_name d, target, q;
	struct dnsc_rr rr;
	unsigned pos = 0;
	uint16_t pport, tls = 853;
	bool have = false;
	int rc;

	if (dnsc_server_parse(parent, host, sizeof(host), &pport, 53) || dns_name_from_text(&d, domain)) {
		snprintf(why, whylen, "'%s' is not ADDRESS[:PORT]", parent);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&pa)->sin_addr) == 1)
		pa.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&pa)->sin6_addr) == 1)
		pa.ss_family = AF_INET6;
	else {
		snprintf(why, whylen, "the parent must be a numeric address, not '%s'", host);
		return -EINVAL;
	}
	rc = udp_ask(&pa, pport, &d, DNS_TYPE_NS, &r, ans, sizeof(ans));
	if (rc) {
		snprintf(why, whylen, "the parent %s: %s", parent, rc == -ETIMEDOUT ? "no answer" : strerror(-rc));
		return rc;
	}
	while (!have && dnsc_rr_next(&r.msg, &pos, &rr) == 1)
		have = (rr.sec == DNS_SEC_AUTHORITY || rr.sec == DNS_SEC_ANSWER) && rr.type == DNS_TYPE_NS &&
		       dns_name_equal(&rr.owner, &d) && dns_rdata_name_read(&rr.rdata, &target) == 0;
	if (!have) {
		snprintf(why, whylen, "the parent %s has no delegation for %s", parent, domain);
		return -EXDEV;
	}
	have = false;
	pos = 0;
	while (!have && dnsc_rr_next(&r.msg, &pos, &rr) == 1) {
		if (rr.sec != DNS_SEC_ADDITIONAL || !dns_name_equal(&rr.owner, &target))
			continue;
		if (rr.type == DNS_TYPE_A &&
		    dns_rdata_a_read(&rr.rdata, (uint8_t *)&((struct sockaddr_in *)&prim)->sin_addr) == 0) {
			prim.ss_family = AF_INET;
			have = true;
		} else if (rr.type == DNS_TYPE_AAAA &&
			   dns_rdata_aaaa_read(&rr.rdata, (uint8_t *)&((struct sockaddr_in6 *)&prim)->sin6_addr) == 0) {
			prim.ss_family = AF_INET6;
			have = true;
		}
	}
	if (!have) {
		snprintf(why, whylen, "the parent %s gives no address for the server of %s", parent, domain);
		return -EADDRNOTAVAIL;
	}
	/* the primary answers plain DNS on the parent's port; its SRV says the TLS port */
	q = d;
	if (dns_name_prepend_label(&q, "_tcp", 4) == 0 && dns_name_prepend_label(&q, "_dns-update-tls", 15) == 0 &&
	    udp_ask(&prim, pport, &q, DNS_TYPE_SRV, &r, ans, sizeof(ans)) == 0) {
		pos = 0;
		while (dnsc_rr_next(&r.msg, &pos, &rr) == 1) {
			struct dns_srv srv;

			if (rr.sec == DNS_SEC_ANSWER && rr.type == DNS_TYPE_SRV &&
			    dns_rdata_srv_read(&rr.rdata, &srv) == 0 && srv.port) {
				tls = srv.port;
				break;
			}
		}
	}
	if (prim.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&prim)->sin_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&prim)->sin6_addr, addr, sizeof(addr));
	snprintf(out, outlen, prim.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, tls);
	return 0;
}

int cmd_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "parent", required_argument, NULL, 'P' },
		{ "pin", required_argument, NULL, 'p' },
		{ "ca", required_argument, NULL, 'c' },
		{ "zone", required_argument, NULL, 'z' },
		{ "recovery-key", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t req[4096];
	const char *server = NULL, *pin = NULL, *ca = NULL, *zone = DEFAULT_ZONE, *sock = NULL, *parent = NULL;
	const char *recovery = NULL;
	char found[DNSC_SERVER_MAX + 1], via[DNSC_SERVER_MAX + 8];
	char domain[AGENT_NAME_MAX + 1], text[600], ca_abs[PATH_MAX];
	char pw[PASSWORD_MAX + 2], why[300];
	const char *weak;
	struct dns_kdf kdf;
	uint8_t tsig[DNS_KEY_LEN], ike[DNS_KEY_LEN], both[2 * DNS_KEY_LEN];
	char secret[4 * DNS_KEY_LEN + 1];
	struct agent_ctl_writer w;
	struct agent_ctl_msg *reply;
	bool json = false;
	/* on a terminal, say what the waits are for (each may take seconds) */
	bool tty = isatty(STDERR_FILENO);
	int c, len, n, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'S': server = optarg; break;
		case 'P': parent = optarg; break;
		case 'p': pin = optarg; break;
		case 'c': ca = optarg; break;
		case 'z': zone = optarg; break;
		case 'r': recovery = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h':
			cmd_login_usage();
			return CMD_OK;
		default:
			cmd_login_usage();
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1 || !server == !parent) {
		cmd_login_usage();
		return CMD_USAGE;
	}
	if (!pin == !ca) {
		fprintf(stderr, "autotunnel: login: trust the server with --pin SHA256 or --ca FILE (one of them)\n");
		return CMD_USAGE;
	}
	/* docs/design.md §4: account NAME owns NAME.ZONE */
	snprintf(text, sizeof(text), strchr(argv[optind], '.') ? "%s" : "%s.%s", argv[optind], zone);
	if (agent_name_canon(domain, sizeof(domain), text) < 0 || !strchr(domain, '.')) {
		fprintf(stderr, "autotunnel: login: '%s' is not an account name\n", text);
		return CMD_USAGE;
	}
	if (ca) {
		/* the agent reads it, from its own working directory */
		if (!realpath(ca, ca_abs) || access(ca_abs, R_OK) < 0) {
			fprintf(stderr, "autotunnel: login: cannot read the CA file %s: %s\n", ca, strerror(errno));
			return CMD_USAGE;
		}
		ca = ca_abs;
	}
	if (parent) {
		/* the key parameters from the primary the parent names; the agent asks again itself */
		if (tty)
			fprintf(stderr, "asking the parent %s where %s is...\n", parent, domain);
		rc = deleg_resolve(parent, domain, found, sizeof(found), why, sizeof(why));
		if (rc) {
			fprintf(stderr, "error: login failed: %s\n", why);
			return rc == -EINVAL ? CMD_USAGE : CMD_FAIL;
		}
		server = found;
	}
	/* docs/design.md §6: the parameters are public, and needed before any key exists */
	if (tty)
		fprintf(stderr, "waiting for the server at %s (the key parameters of %s)...\n", server, domain);
	rc = kdf_fetch(server, pin, ca, domain, &kdf, why, sizeof(why));
	if (rc == -EXDEV) {
		/* the account's name is right or wrong only within a zone: say which one was used */
		fprintf(stderr, "error: login failed: %s: is the zone right? (--zone %s%s)\n", why, zone,
			strchr(argv[optind], '.') ? ", or the full account domain" : "");
		return CMD_FAIL;
	}
	if (rc) {
		/* the agent's wording for the same failures (ctl_print) */
		fprintf(stderr, "error: login failed: %s\n", why);
		return rc == -EINVAL ? CMD_USAGE : CMD_FAIL;
	}
	n = read_password(domain, pw, sizeof(pw));
	if (n < 0) {
		fprintf(stderr, "autotunnel: login: %s\n", n == -2 ? "the password is too long" : "no password given");
		OPENSSL_cleanse(pw, sizeof(pw));
		return CMD_FAIL;
	}
	if (dns_password_check(pw, (size_t)n, domain, &weak)) {
		fprintf(stderr, "error: login failed: %s (ask the server's operator to change it)\n", weak);
		OPENSSL_cleanse(pw, sizeof(pw));
		return CMD_FAIL;
	}
	/* docs/design.md §6: two keys from the password, bound to D; the password goes no further */
	rc = dns_keys_derive(&kdf, domain, pw, (size_t)n, tsig, ike);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc) {
		fprintf(stderr, "autotunnel: login: cannot derive the keys: %s\n", strerror(-rc));
		return CMD_FAIL;
	}
	memcpy(both, tsig, DNS_KEY_LEN);
	memcpy(both + DNS_KEY_LEN, ike, DNS_KEY_LEN);
	OPENSSL_cleanse(tsig, sizeof(tsig));
	OPENSSL_cleanse(ike, sizeof(ike));
	rc = hex_encode(secret, sizeof(secret), both, sizeof(both));
	OPENSSL_cleanse(both, sizeof(both));
	if (rc < 0)
		return CMD_FAIL;

	agent_ctl_write_begin(&w, req, sizeof(req), AGENT_CTL_LOGIN);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ARGS);
	agent_ctl_write_str(&w, AGENT_CTL_F_ACCOUNT, domain);
	/* the agent's account.c takes "parent:" as the parent zone's server */
	snprintf(via, sizeof(via), "%s%s", parent ? "parent:" : "", parent ? parent : server);
	agent_ctl_write_str(&w, AGENT_CTL_F_SERVER, via);
	if (pin)
		agent_ctl_write_str(&w, AGENT_CTL_F_PIN, pin);
	if (ca)
		agent_ctl_write_str(&w, AGENT_CTL_F_CA, ca);
	agent_ctl_write_secret(&w, AGENT_CTL_F_PASSWORD, secret, strlen(secret));
	if (recovery)
		agent_ctl_write_secret(&w, AGENT_CTL_F_RECOVERY, recovery, strlen(recovery));
	len = agent_ctl_write_end(&w);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (len < 0) {
		OPENSSL_cleanse(req, sizeof(req));
		fprintf(stderr, "autotunnel: login: the server, pin or CA file name is not valid\n");
		return CMD_USAGE;
	}
	if (!(reply = agent_ctl_msg_new())) {
		OPENSSL_cleanse(req, sizeof(req));
		return CMD_FAIL;
	}
	if (tty)
		fprintf(stderr, "waiting for the server at %s to accept this host's keys (through the agent)...\n",
			server);
	rc = ctl_call(ctl_socket_path(sock), req, (size_t)len, reply, LOGIN_TIMEOUT_MS) ? CMD_FAIL
											 : ctl_print(reply, json);
	OPENSSL_cleanse(req, sizeof(req));
	agent_ctl_msg_free(reply);
	return rc;
}
