#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "autotunnel-gwd/ct.h"
#include "autotunnel-gwd/netlink.h"

#define CT_MAX 1024	/* entries removed per call, at most */

struct tuple {
	uint32_t src, dst;	/* network order, as the kernel gives them */
	uint16_t sport, dport;	/* network order */
	uint8_t proto;
	bool has_ip, has_ports;
};

struct dump {
	uint8_t proto;
	uint32_t dst;		/* network order */
	uint16_t dport;		/* network order */
	struct tuple *found;
	size_t n;
};

static int ip_attr(const struct nlattr *a, void *data)
{
	struct tuple *t = data;

	if (mnl_attr_type_valid(a, CTA_IP_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_IP_V4_SRC:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			t->src = mnl_attr_get_u32(a);
		break;
	case CTA_IP_V4_DST:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			t->dst = mnl_attr_get_u32(a);
			t->has_ip = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int proto_attr(const struct nlattr *a, void *data)
{
	struct tuple *t = data;

	if (mnl_attr_type_valid(a, CTA_PROTO_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_PROTO_NUM:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			t->proto = mnl_attr_get_u8(a);
		break;
	case CTA_PROTO_SRC_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			t->sport = mnl_attr_get_u16(a);
		break;
	case CTA_PROTO_DST_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) {
			t->dport = mnl_attr_get_u16(a);
			t->has_ports = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int tuple_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_type_valid(a, CTA_TUPLE_MAX) < 0 || mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_IP:
		mnl_attr_parse_nested(a, ip_attr, data);
		break;
	case CTA_TUPLE_PROTO:
		mnl_attr_parse_nested(a, proto_attr, data);
		break;
	}
	return MNL_CB_OK;
}

static int ct_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(a, tuple_attr, data);
	return MNL_CB_OK;
}

static int on_entry(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct tuple t = { 0 };

	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr, &t);
	if (!t.has_ip || !t.has_ports || t.proto != d->proto || t.dst != d->dst || t.dport != d->dport)
		return MNL_CB_OK;
	if (d->n < CT_MAX)
		d->found[d->n++] = t;
	return MNL_CB_OK;
}

static struct nlmsghdr *put_header(void *buf, uint8_t msg, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static int delete_one(struct mnl_socket *nl, const struct tuple *t, uint32_t seq)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = put_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq);
	struct nlattr *orig, *ip, *pr;

	orig = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst);
	mnl_attr_nest_end(nlh, ip);
	pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, orig);
	return gwd_netlink_talk(nl, nlh, NULL, NULL);
}

int gwd_ct_flush(uint8_t proto, uint32_t ext_addr, uint16_t ext_port)
{
	struct dump d = { .proto = proto, .dst = htonl(ext_addr), .dport = htons(ext_port) };
	uint8_t buf[256];
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int rc, gone = 0;

	d.found = calloc(CT_MAX, sizeof(*d.found));
	if (!d.found)
		return -ENOMEM;
	nl = gwd_netlink_open(NETLINK_NETFILTER);
	if (!nl) {
		rc = -errno;
		free(d.found);
		return rc;
	}
	rc = gwd_netlink_talk(nl, put_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq), on_entry, &d);
	if (rc)
		goto out;
	for (size_t i = 0; i < d.n; i++) {
		/* an entry may have gone by itself meanwhile (ENOENT): fine */
		if (delete_one(nl, &d.found[i], ++seq) == 0)
			gone++;
	}
	rc = gone;
out:
	mnl_socket_close(nl);
	free(d.found);
	return rc;
}
