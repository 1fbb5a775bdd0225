/*
 * `autotunnel login ACCOUNT --server HOST[:PORT] (--pin SHA256 | --ca FILE)`:
 * sign this host in to an account (docs/design.md §§1, 6).
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
#include <errno.h>
#include <getopt.h>
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
#include "util/encode.h"

#define DEFAULT_ZONE "members.example.net"
#define PASSWORD_MAX 1024
#define LOGIN_TIMEOUT_MS 30000

void cmd_login_usage(void)
{
	printf("usage: autotunnel login ACCOUNT --server HOST[:PORT] (--pin SHA256 | --ca FILE)\n"
	       "                        [--zone ZONE] [--recovery-key KEY] [--json] [--socket PATH]\n"
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

int cmd_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 'S' },
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
	const char *server = NULL, *pin = NULL, *ca = NULL, *zone = DEFAULT_ZONE, *sock = NULL, *recovery = NULL;
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
	if (optind != argc - 1 || !server) {
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
	agent_ctl_write_str(&w, AGENT_CTL_F_SERVER, server);
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
