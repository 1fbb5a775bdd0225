#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "autotunnel-gwd/nft.h"
#include "common/log.h"

struct gwd_nft {
	struct nft_ctx *ctx;
	char wan[64];
};

static int fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static const char *proto_name(uint8_t proto)
{
	return proto == GWD_PROTO_TCP ? "tcp" : "udp";
}

int gwd_nft_cmd_setup(char *buf, size_t len, const char *wan)
{
	/*
	 * "add table; delete table" first: one transaction that removes
	 * whatever a crashed earlier run left, then builds the table anew.
	 */
	return fmt(buf, len,
		   "add table ip " GWD_NFT_TABLE "\n"
		   "delete table ip " GWD_NFT_TABLE "\n"
		   "table ip " GWD_NFT_TABLE " {\n"
		   "\tmap dnat4 {\n"
		   "\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
		   "\t\tflags timeout\n"
		   "\t}\n"
		   "\tchain prerouting {\n"
		   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		   "\t\tiifname \"%s\" fib daddr type local dnat ip to meta l4proto . th dport map @dnat4\n"
		   "\t}\n"
		   "}\n", wan);
}

int gwd_nft_cmd_teardown(char *buf, size_t len)
{
	return fmt(buf, len, "delete table ip " GWD_NFT_TABLE "\n");
}

int gwd_nft_cmd_map(char *buf, size_t len, const struct gwd_mapping *m, int replace)
{
	uint32_t a = m->client;
	char del[96] = "";

	if (replace &&
	    fmt(del, sizeof(del), "delete element ip " GWD_NFT_TABLE " dnat4 { %s . %u }\n",
		proto_name(m->proto), m->ext_port) < 0)
		return -ENOSPC;
	return fmt(buf, len,
		   "%sadd element ip " GWD_NFT_TABLE " dnat4 { %s . %u timeout %lus : %u.%u.%u.%u . %u }\n",
		   del, proto_name(m->proto), m->ext_port,
		   (unsigned long)m->lifetime_s + GWD_NFT_GRACE_S,
		   a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, m->int_port);
}

int gwd_nft_cmd_unmap(char *buf, size_t len, uint8_t proto, uint16_t ext_port)
{
	return fmt(buf, len, "delete element ip " GWD_NFT_TABLE " dnat4 { %s . %u }\n",
		   proto_name(proto), ext_port);
}

/* Run @p cmd; on failure copy nft's first error line into @p err. */
static int run(struct gwd_nft *n, const char *cmd, char *err, size_t errlen)
{
	const char *e;
	size_t l;

	if (nft_run_cmd_from_buffer(n->ctx, cmd) == 0) {
		nft_ctx_get_error_buffer(n->ctx);	/* drain */
		return 0;
	}
	e = nft_ctx_get_error_buffer(n->ctx);
	if (!e || !*e)
		e = "nft command failed";
	l = strcspn(e, "\n");
	if (err && errlen)
		snprintf(err, errlen, "%.*s", (int)l, e);
	return -EIO;
}

int gwd_nft_open(struct gwd_nft **out, const char *wan, char *err, size_t errlen)
{
	struct gwd_nft *n = calloc(1, sizeof(*n));
	char cmd[1024];
	int rc;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx) {
		free(n);
		snprintf(err, errlen, "cannot create an nftables context");
		return -ENOMEM;
	}
	if (nft_ctx_buffer_output(n->ctx) || nft_ctx_buffer_error(n->ctx)) {
		nft_ctx_free(n->ctx);
		free(n);
		snprintf(err, errlen, "cannot buffer nftables output");
		return -ENOMEM;
	}
	snprintf(n->wan, sizeof(n->wan), "%s", wan);
	rc = gwd_nft_cmd_setup(cmd, sizeof(cmd), wan);
	if (rc < 0 || (rc = run(n, cmd, err, errlen)) < 0) {
		nft_ctx_free(n->ctx);
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int gwd_nft_map(struct gwd_nft *n, const struct gwd_mapping *m, int replace)
{
	char cmd[512], err[256];
	int rc;

	rc = gwd_nft_cmd_map(cmd, sizeof(cmd), m, replace);
	if (rc < 0)
		return rc;
	rc = run(n, cmd, err, sizeof(err));
	if (rc && replace) {
		/*
		 * The kernel may have timed the element out already (the
		 * daemon was stopped for longer than the grace period): the
		 * delete fails and with it the transaction; add it afresh.
		 */
		rc = gwd_nft_cmd_map(cmd, sizeof(cmd), m, 0);
		if (rc < 0)
			return rc;
		rc = run(n, cmd, err, sizeof(err));
	}
	if (rc)
		log_warnx("nftables: mapping %s %u: %s", proto_name(m->proto), m->ext_port, err);
	return rc;
}

int gwd_nft_unmap(struct gwd_nft *n, uint8_t proto, uint16_t ext_port)
{
	char cmd[256], err[256];
	int rc;

	rc = gwd_nft_cmd_unmap(cmd, sizeof(cmd), proto, ext_port);
	if (rc < 0)
		return rc;
	rc = run(n, cmd, err, sizeof(err));
	if (rc)
		log_warnx("nftables: removing %s %u: %s", proto_name(proto), ext_port, err);
	return rc;
}

int gwd_nft_check(struct gwd_nft *n)
{
	int rc = run(n, "list chain ip " GWD_NFT_TABLE " prerouting\n", NULL, 0);

	nft_ctx_get_output_buffer(n->ctx);	/* drain the listing */
	if (rc == 0)
		rc = run(n, "list map ip " GWD_NFT_TABLE " dnat4\n", NULL, 0);
	nft_ctx_get_output_buffer(n->ctx);
	return rc ? -ENOENT : 0;
}

int gwd_nft_recreate(struct gwd_nft *n)
{
	char cmd[1024], err[256];
	int rc = gwd_nft_cmd_setup(cmd, sizeof(cmd), n->wan);

	if (rc < 0)
		return rc;
	rc = run(n, cmd, err, sizeof(err));
	if (rc)
		log_warnx("nftables: recreating table %s: %s", GWD_NFT_TABLE, err);
	return rc;
}

void gwd_nft_close(struct gwd_nft *n)
{
	char cmd[128], err[256];

	if (!n)
		return;
	if (gwd_nft_cmd_teardown(cmd, sizeof(cmd)) > 0 && run(n, cmd, err, sizeof(err)))
		log_warnx("nftables: removing table %s: %s", GWD_NFT_TABLE, err);
	nft_ctx_free(n->ctx);
	free(n);
}
