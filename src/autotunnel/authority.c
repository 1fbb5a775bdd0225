/*
 * The account authority's commands (docs/authority.md, issue 14), each one
 * request to autotunneld, which holds the keys:
 *   autotunnel approve CODE        admit the computer that shows CODE (§5.1)
 *   autotunnel revoke HOST         revoke a host of the account (§5.4)
 *   autotunnel authority issue NAME --out DIR [--pkinit client PRINCIPAL | kdc REALM]
 *                                  a certificate and key for a guest or the local KDC (§3)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "autotunnel/cmd.h"
#include "autotunnel/ctlclient.h"

#define AUTHORITY_TIMEOUT_MS 20000

void cmd_approve_usage(void)
{
	printf("usage: autotunnel approve CODE [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: admit the computer that shows the join\n"
	       "code CODE (autotunnel login or status on that computer shows it, XXXX-XXXX;\n"
	       "case, dashes and I/L/O for 1/1/0 do not matter). The computer gets a\n"
	       "certificate and joins the account's tunnels within seconds.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

void cmd_revoke_usage(void)
{
	printf("usage: autotunnel revoke HOST [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: revoke HOST (a lost or stolen computer).\n"
	       "Every member closes its tunnels with HOST within seconds and refuses it from\n"
	       "then on; its key is revoked with it. To admit the computer again, sign it\n"
	       "out, sign it in and approve its new join code.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

void cmd_authority_usage(void)
{
	printf("usage: autotunnel authority issue NAME [--out DIR] [--key ed25519|p256]\n"
	       "                            [--pkinit client PRINCIPAL | --pkinit kdc REALM] [--json] [--socket PATH]\n"
	       "\n"
	       "On a signer of the account authority: issue a certificate for NAME.ACCOUNT with\n"
	       "a new key, for a guest that is not an autotunnel host (strongSwan) or\n"
	       "for the local KDC. DIR gets NAME.pem, NAME.key (mode 0600) and anchor.pem, the\n"
	       "authority's certificate to trust; without --out they stay where the agent\n"
	       "wrote them (STATE-DIR/issued).\n"
	       "\n"
	       "  --key ed25519|p256          the new key: Ed25519 (RFC 8410, the default) or ECDSA P-256\n"
	       "  --pkinit client PRINCIPAL   a PKINIT client certificate for name[/instance]@REALM\n"
	       "  --pkinit kdc REALM          a PKINIT KDC certificate for krbtgt/REALM@REALM\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

void cmd_renew_usage(void)
{
	printf("usage: autotunnel renew [--json] [--socket PATH]\n"
	       "\n"
	       "Renew this host's certificate from the account authority now rather than at two\n"
	       "thirds of its life (the agent does that by itself): a signer issues its own; a\n"
	       "member asks the signers, and the new certificate arrives within seconds while\n"
	       "one is online.\n"
	       "\n"
	       "  --json          one JSON object\n"
	       "  --socket PATH   the agent's control socket (default $%s or %s)\n",
	       CTL_SOCKET_ENV, AGENT_CTL_SOCKET);
}

int cmd_renew(int argc, char **argv)
{
	return ctl_simple(argc, argv, AGENT_CTL_RENEW, cmd_renew_usage, NULL);
}

/* One request with the fields given (NULL: left out) and its reply printed (@p keep: the reply, not printed). */
static int call_keep(uint8_t code, const char *sock, bool json, const uint8_t fid[], const char *const val[], size_t n,
		     struct agent_ctl_msg **keep)
{
	static uint8_t req[2048];
	struct agent_ctl_writer w;
	struct agent_ctl_msg *reply;
	int len, rc;

	agent_ctl_write_begin(&w, req, sizeof(req), code);
	agent_ctl_write_rec(&w, AGENT_CTL_R_ARGS);
	for (size_t i = 0; i < n; i++)
		if (val[i])
			agent_ctl_write_str(&w, fid[i], val[i]);
	if ((len = agent_ctl_write_end(&w)) < 0) {
		fprintf(stderr, "autotunnel: the arguments are not valid (printable text of at most 255 characters)\n");
		return CMD_USAGE;
	}
	if (!(reply = agent_ctl_msg_new()))
		return CMD_FAIL;
	if (ctl_call(ctl_socket_path(sock), req, (size_t)len, reply, AUTHORITY_TIMEOUT_MS)) {
		agent_ctl_msg_free(reply);
		return CMD_FAIL;
	}
	if (keep && reply->code != AGENT_CTL_ERROR) {
		*keep = reply;
		return CMD_OK;
	}
	rc = ctl_print(reply, json);
	agent_ctl_msg_free(reply);
	return rc;
}

/* A JSON string of @p a, then "/" @p b @p c when @p b is given (paths are any bytes but NUL). */
static void json_put(const char *a, const char *b, const char *c)
{
	char buf[PATH_MAX + 300];

	snprintf(buf, sizeof(buf), "%s%s%s%s", a, b ? "/" : "", b ? b : "", b ? c : "");
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int call(uint8_t code, const char *sock, bool json, const uint8_t fid[], const char *const val[], size_t n)
{
	return call_keep(code, sock, json, fid, val, n, NULL);
}

/* Copy @p from into @p to (mode @p mode, through a temporary file), then remove @p from when @p move. */
static int copy_file(const char *from, const char *to, mode_t mode, bool move)
{
	char buf[16384], tmp[PATH_MAX + 8];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n <= 0 || n == (ssize_t)sizeof(buf))
		return n < 0 ? -errno : -EFBIG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	unlink(tmp);
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -errno;
	}
	if (write(out, buf, (size_t)n) != n || fsync(out) < 0)
		rc = -errno;
	close(out);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!rc && rename(tmp, to) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else if (move)
		unlink(from);
	return rc;
}

/* approve CODE, revoke HOST: one argument and the common options. */
static int one_arg(int argc, char **argv, uint8_t code, uint8_t fid, void (*usage)(void))
{
	const char *sock;
	bool json;
	int rc;

	if (!ctl_opts_parse(argc, argv, 1, usage, &sock, &json, &rc))
		return rc;
	{
		const uint8_t f[] = { fid };
		const char *const v[] = { argv[optind] };

		return call(code, sock, json, f, v, 1);
	}
}

int cmd_approve(int argc, char **argv)
{
	return one_arg(argc, argv, AGENT_CTL_APPROVE, AGENT_CTL_F_JOIN_CODE, cmd_approve_usage);
}

int cmd_revoke(int argc, char **argv)
{
	return one_arg(argc, argv, AGENT_CTL_REVOKE, AGENT_CTL_F_HOST, cmd_revoke_usage);
}

int cmd_authority(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pkinit", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *out = NULL, *pkinit = NULL, *principal = NULL, *name = NULL, *key = NULL;
	bool json = false;
	int c;

	optind = 1;
	/* GNU getopt moves the operands last: issue NAME [PRINCIPAL] */
	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pkinit = optarg; break;
		case 'k': key = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h':
			cmd_authority_usage();
			return CMD_OK;
		default:
			cmd_authority_usage();
			return CMD_USAGE;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || strcmp(argv[optind], "issue") != 0) {
		cmd_authority_usage();
		return CMD_USAGE;
	}
	name = argv[optind + 1];
	principal = argc - optind == 3 ? argv[optind + 2] : NULL;
	if ((pkinit && strcmp(pkinit, "client") && strcmp(pkinit, "kdc")) || !pkinit != !principal ||
	    (key && strcmp(key, "ed25519") && strcmp(key, "p256"))) {
		cmd_authority_usage();
		return CMD_USAGE;
	}
	{
		const uint8_t f[] = { AGENT_CTL_F_HOST, AGENT_CTL_F_PKINIT, AGENT_CTL_F_PRINCIPAL, AGENT_CTL_F_KEY };
		const char *const v[] = { name, pkinit, principal, key };
		struct agent_ctl_msg *reply = NULL;
		const struct agent_ctl_rec *r;
		const char *from;
		char src[PATH_MAX], dst[PATH_MAX];
		static const char *const suffix[] = { ".pem", ".key", NULL };
		int rc;

		/*
		 * The agent may write only below its state directory (it runs
		 * unprivileged, docs/install.md): it leaves the files there and
		 * we, root, move them where they were asked for.
		 */
		if ((rc = call_keep(AGENT_CTL_ISSUE, sock, json, f, v, 4, out ? &reply : NULL)) || !reply)
			return rc;
		r = agent_ctl_find(reply, AGENT_CTL_R_ACCOUNT, 0);
		from = agent_ctl_str(reply, r, AGENT_CTL_F_OUT);
		if (!from) {
			agent_ctl_msg_free(reply);
			fprintf(stderr, "autotunnel: authority: the agent did not say where the files are\n");
			return CMD_FAIL;
		}
		if (mkdir(out, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "autotunnel: authority: cannot make %s: %s\n", out, strerror(errno));
			agent_ctl_msg_free(reply);
			return CMD_FAIL;
		}
		for (size_t i = 0; i < 3 && !rc; i++) {
			snprintf(src, sizeof(src), "%s/%s%s", from, suffix[i] ? name : "anchor", suffix[i] ? suffix[i] : ".pem");
			snprintf(dst, sizeof(dst), "%s/%s%s", out, suffix[i] ? name : "anchor", suffix[i] ? suffix[i] : ".pem");
			/* the key leaves the agent's directory; the certificates stay (the local KDC reads its own there) */
			rc = copy_file(src, dst, i == 1 ? 0600 : 0644, i == 1);
			if (rc)
				fprintf(stderr, "autotunnel: authority: %s -> %s: %s\n", src, dst, strerror(-rc));
		}
		agent_ctl_msg_free(reply);
		if (rc)
			return CMD_FAIL;
		if (json) {
			printf("{\"schema\":%d,\"issued\":{\"name\":", AGENT_CTL_JSON_SCHEMA);
			json_put(name, NULL, "");
			printf(",\"cert\":");
			json_put(out, name, ".pem");
			printf(",\"key\":");
			json_put(out, name, ".key");
			printf(",\"anchor\":");
			json_put(out, "anchor", ".pem");
			printf("}}\n");
		} else
			printf("issued %s: %s/%s.pem, %s/%s.key and the anchor %s/anchor.pem\n", name, out, name, out, name,
			       out);
		return CMD_OK;
	}
}
