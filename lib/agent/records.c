/* The published record set of docs/design.md §4 as data. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/identity.h"
#include "agent/records.h"
#include "agent/text.h"

const char *agent_rr_type_name(uint16_t type)
{
	switch (type) {
	case AGENT_RR_A: return "A";
	case AGENT_RR_PTR: return "PTR";
	case AGENT_RR_TXT: return "TXT";
	case AGENT_RR_AAAA: return "AAAA";
	case AGENT_RR_SRV: return "SRV";
	}
	return NULL;
}

/* snprintf a name into @p dst; -ENOSPC if longer than a name may be. */
__attribute__((format(printf, 2, 3)))
static int mkname(char dst[static AGENT_NAME_MAX + 1], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, AGENT_NAME_MAX + 1, fmt, ap);
	va_end(ap);
	return n < 0 || n > AGENT_NAME_MAX ? -ENOSPC : 0;
}

/* RFC 6335 §5.1: 1-15 characters of [a-z0-9-], at least one letter, no hyphen at either end or twice in a row. */
static int service_name_check(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return -EINVAL;
		if (s[i] == '-' && s[i + 1] == '-')
			return -EINVAL;
	}
	return letter ? 0 : -EINVAL;
}

struct builder {
	struct agent_rr *out;
	size_t cap, n;
	uint32_t ttl;
	int err;
};

static struct agent_rr *add(struct builder *b, uint16_t type, bool shared)
{
	struct agent_rr *rr;

	if (b->err)
		return NULL;
	if (b->n == b->cap) {
		b->err = -ENOSPC;
		return NULL;
	}
	rr = &b->out[b->n++];
	memset(rr, 0, sizeof(*rr));
	rr->type = type;
	rr->ttl = b->ttl;
	rr->shared = shared;
	return rr;
}

static int txt_add(struct agent_rr *rr, const char *s, const char *prefix)
{
	size_t pl = prefix ? strlen(prefix) : 0, sl = strlen(s);

	if (rr->txt.n == AGENT_TXT_MAX)
		return -ENOSPC;
	if (pl + sl > AGENT_TXT_STRING_MAX)
		return -EINVAL;
	if (pl)
		memcpy(rr->txt.s[rr->txt.n], prefix, pl);
	memcpy(rr->txt.s[rr->txt.n] + pl, s, sl + 1);
	rr->txt.len[rr->txt.n++] = (uint8_t)(pl + sl);
	return 0;
}

int agent_records_build(const struct agent_publish *in, struct agent_rr *out, size_t cap, size_t *n)
{
	struct builder b = { .out = out, .cap = cap, .ttl = in->ttl ? in->ttl : AGENT_RR_TTL_DEFAULT };
	char d[AGENT_NAME_MAX + 1], hd[AGENT_NAME_MAX + 1], tun[AGENT_TUNNEL_LABEL_LEN + 1];
	char target[AGENT_NAME_MAX + 1];
	struct agent_rr *rr;
	int err;

	*n = 0;
	if (!in->domain || !in->host || agent_name_canon(d, sizeof(d), in->domain) < 0 ||
	    agent_label_check(in->host, strlen(in->host)) || in->ula[0] != 0xfd ||
	    in->nservices > AGENT_SERVICES_MAX || (in->nservices && !in->services))
		return -EINVAL;
	if (agent_tunnel_label(tun, sizeof(tun), in->eui64) < 0)
		return -EINVAL;
	if (mkname(hd, "%s.%s", in->host, d) || mkname(target, "%s.%s", tun, d))
		return -ENOSPC;

	/* H.D AAAA: the friendly name of the inner address */
	if ((rr = add(&b, AGENT_RR_AAAA, false))) {
		memcpy(rr->name, hd, sizeof(hd));
		memcpy(rr->aaaa, in->ula, 16);
	}
	/*
	 * H.D TXT "autotunnel-id=...": whose name this is. The ULA changes with
	 * every boot (RFC 6281 §6.3), so it cannot tell a rebooted host's own
	 * stale records from another computer's; the host id, kept in the
	 * state directory, can (agent_name_owner()).
	 */
	if (in->host_id && (rr = add(&b, AGENT_RR_TXT, false))) {
		if (agent_host_id_check(in->host_id))
			return -EINVAL;
		memcpy(rr->name, hd, sizeof(hd));
		if ((err = txt_add(rr, in->host_id, AGENT_HOST_ID_PREFIX)))
			return err;
	}
	/* RFC 6281 §3: where the tunnel endpoint is, as SRV + A of AutoTunnel-E.D */
	if (in->ext_port && (rr = add(&b, AGENT_RR_SRV, false))) {
		if (mkname(rr->name, "_autotunnel._udp.%s", hd))
			return -ENOSPC;
		rr->srv.priority = in->ext_relayed ? AGENT_SRV_PRIO_RELAYED : 0;
		rr->srv.port = in->ext_port;
		memcpy(rr->srv.target, target, sizeof(target));
	}
	if (in->ext_port && (rr = add(&b, AGENT_RR_A, false))) {
		memcpy(rr->name, target, sizeof(target));
		memcpy(rr->a, in->ext_addr, 4);
	}
	if ((rr = add(&b, AGENT_RR_AAAA, false))) {
		memcpy(rr->name, target, sizeof(target));
		memcpy(rr->aaaa, in->ula, 16);
	}
	if ((rr = add(&b, AGENT_RR_TXT, false))) {
		memcpy(rr->name, target, sizeof(target));
		err = txt_add(rr, "v=1", NULL);
		if (!err && in->model)
			err = txt_add(rr, in->model, "model=");
		if (!err && in->os)
			err = txt_add(rr, in->os, "os=");
		for (size_t i = 0; !err && i < in->nfeatures; i++)
			err = in->features[i] ? txt_add(rr, in->features[i], NULL) : -EINVAL;
		if (err)
			return err;
	}
	/* one PTR per host so that a host can list and watch its account */
	if ((rr = add(&b, AGENT_RR_PTR, true))) {
		if (mkname(rr->name, "_autotunnel._udp.%s", d))
			return -ENOSPC;
		memcpy(rr->ptr, hd, sizeof(hd));
	}
	/*
	 * The local KDC (docs/sso.md): _kerberos.H.D TXT names its realm, the
	 * convention of Apple's LKDC and Heimdal (MIT's dns_lookup_realm
	 * reads it too); the SRV records of RFC 4120 §7.2.3.2 for that realm
	 * (H.D in upper case, the same DNS name) point at port 88 of H.D,
	 * whose AAAA is the ULA: the KDC is reached only through the tunnel.
	 */
	if (in->krb_realm) {
		static const char *const proto[2] = { "udp", "tcp" };

		if ((rr = add(&b, AGENT_RR_TXT, false))) {
			if (mkname(rr->name, "_kerberos.%s", hd))
				return -ENOSPC;
			if ((err = txt_add(rr, in->krb_realm, NULL)))
				return err;
		}
		for (size_t i = 0; i < 2; i++)
			if ((rr = add(&b, AGENT_RR_SRV, false))) {
				if (mkname(rr->name, "_kerberos._%s.%s", proto[i], hd))
					return -ENOSPC;
				rr->srv.port = in->krb_port ? in->krb_port : 88;
				memcpy(rr->srv.target, hd, sizeof(hd));
			}
	}

	/* RFC 6763 §§4.1, 6, 7: PTR (browse) -> SRV + TXT of the instance "H" */
	for (size_t i = 0; i < in->nservices; i++) {
		const struct agent_service *s = &in->services[i];
		char type[AGENT_NAME_MAX + 1], inst[AGENT_NAME_MAX + 1];

		if (service_name_check(s->name) || !s->proto ||
		    (strcmp(s->proto, "tcp") && strcmp(s->proto, "udp")) || s->port == 0 ||
		    (s->ntxt && !s->txt))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(in->services[j].name, s->name) && !strcmp(in->services[j].proto, s->proto))
				return -EINVAL;	/* one instance per type and host */
		if (mkname(type, "_%s._%s.%s", s->name, s->proto, d) || mkname(inst, "%s.%s", in->host, type))
			return -ENOSPC;
		if ((rr = add(&b, AGENT_RR_PTR, true))) {
			memcpy(rr->name, type, sizeof(type));
			memcpy(rr->ptr, inst, sizeof(inst));
		}
		if ((rr = add(&b, AGENT_RR_SRV, false))) {
			memcpy(rr->name, inst, sizeof(inst));
			rr->srv.port = s->port;
			memcpy(rr->srv.target, hd, sizeof(hd));
		}
		if ((rr = add(&b, AGENT_RR_TXT, false))) {
			memcpy(rr->name, inst, sizeof(inst));
			err = s->ntxt ? 0 : txt_add(rr, "", NULL);
			for (size_t j = 0; !err && j < s->ntxt; j++)
				err = s->txt[j] ? txt_add(rr, s->txt[j], NULL) : -EINVAL;
			if (err)
				return err;
		}
	}
	for (size_t i = 0; in->service_types && i < in->nservices; i++) {
		if ((rr = add(&b, AGENT_RR_PTR, true))) {
			if (mkname(rr->name, "_services._dns-sd._udp.%s", d) ||
			    mkname(rr->ptr, "_%s._%s.%s", in->services[i].name, in->services[i].proto, d))
				return -ENOSPC;
		}
	}
	if (b.err)
		return b.err;
	*n = b.n;
	return 0;
}

int agent_rr_format(const struct agent_rr *rr, char *buf, size_t len)
{
	struct agent_text_out o = { .buf = buf, .len = len };
	const char *tn = agent_rr_type_name(rr->type);
	char addr[INET6_ADDRSTRLEN];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (!tn)
		return -EINVAL;
	agent_text_put(&o, "%s. %u IN %s ", rr->name, (unsigned)rr->ttl, tn);
	switch (rr->type) {
	case AGENT_RR_A:
		agent_text_put(&o, "%s", inet_ntop(AF_INET, rr->a, addr, sizeof(addr)));
		break;
	case AGENT_RR_AAAA:
		agent_text_put(&o, "%s", inet_ntop(AF_INET6, rr->aaaa, addr, sizeof(addr)));
		break;
	case AGENT_RR_SRV:
		agent_text_put(&o, "%u %u %u %s.", rr->srv.priority, rr->srv.weight, rr->srv.port, rr->srv.target);
		break;
	case AGENT_RR_PTR:
		agent_text_put(&o, "%s.", rr->ptr);
		break;
	case AGENT_RR_TXT:
		for (unsigned i = 0; i < rr->txt.n; i++) {
			agent_text_put(&o, i ? " \"" : "\"");
			for (unsigned j = 0; j < rr->txt.len[i]; j++) {
				unsigned char c = (unsigned char)rr->txt.s[i][j];

				if (c == '"' || c == '\\')
					agent_text_put(&o, "\\%c", c);
				else if (c < 0x20 || c > 0x7e)
					agent_text_put(&o, "\\%03u", c);
				else
					agent_text_put(&o, "%c", c);
			}
			agent_text_put(&o, "\"");
		}
		break;
	}
	return agent_text_done(&o);
}

/* ---- who holds a name ---- */

int agent_host_id_check(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n != AGENT_HOST_ID_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return -EINVAL;
	return 0;
}

enum agent_name_owner agent_name_owner(const struct agent_name_seen *seen, const uint8_t our_ula[static 16],
				       const char *our_id)
{
	bool only_ours = seen->naaaa > 0;

	/* the server removes records whose lease ended: what is there is live */
	if (seen->naaaa == 0)
		return AGENT_NAME_FREE;
	for (size_t i = 0; i < seen->naaaa && i < AGENT_NAME_SEEN_MAX; i++)
		if (memcmp(seen->aaaa[i], our_ula, 16))
			only_ours = false;
	if (only_ours)
		return AGENT_NAME_OURS;
	/* another address: ours from an earlier boot if it carries our id */
	if (our_id && seen->id[0] && strcmp(seen->id, our_id) == 0)
		return AGENT_NAME_OURS;
	return AGENT_NAME_TAKEN;
}

int agent_host_label_alt(char out[static 64], const char *base, unsigned k)
{
	char suffix[16];
	size_t bl = base ? strlen(base) : 0, sl;

	if (k < 2 || agent_label_check(base, bl))
		return -EINVAL;
	sl = (size_t)snprintf(suffix, sizeof(suffix), "-%u", k);
	if (bl + sl > AGENT_LABEL_MAX)
		bl = AGENT_LABEL_MAX - sl;
	/* a label must not end with a hyphen (RFC 952): shorten past one */
	while (bl > 0 && base[bl - 1] == '-')
		bl--;
	if (bl == 0)
		return -EINVAL;
	snprintf(out, 64, "%.*s%s", (int)bl, base, suffix);
	return agent_label_check(out, strlen(out)) ? -EINVAL : (int)strlen(out);
}
