/* lib/dnsc/sd.c: reading DNS-SD answers (RFC 6763) into plain data. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnsc/msg.h"
#include "dnsc/sd.h"

const char *const dnsc_sd_common_types[] = {
	"_ssh._tcp", "_sftp-ssh._tcp", "_smb._tcp", "_afpovertcp._tcp", "_rfb._tcp",
	"_http._tcp", "_https._tcp", "_ipp._tcp", "_nfs._tcp", "_rdp._tcp",
};
const size_t dnsc_sd_n_common_types = sizeof(dnsc_sd_common_types) / sizeof(dnsc_sd_common_types[0]);

int dnsc_sd_ptrs(const struct dns_msg *m, const struct dns_name *domain,
		 struct dns_name *out, size_t cap)
{
	struct dns_name q, target;
	struct dnsc_rr rr;
	unsigned pos = 0;
	int rc, n = 0;

	if (m->count[DNS_SEC_QUESTION] != 1 || dns_msg_name(m, m->qd[0].name, &q))
		return -EBADMSG;
	while ((rc = dnsc_rr_next(m, &pos, &rr)) == 1) {
		if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_PTR || rr.rclass != DNS_CLASS_IN ||
		    !dns_name_equal(&rr.owner, &q))
			continue;
		if (dns_rdata_name_read(&rr.rdata, &target))
			return -EBADMSG;
		/* only names of the account: a PTR elsewhere is not followed */
		if (!dns_name_is_below(&target, domain) || dns_name_equal(&target, domain))
			continue;
		if ((size_t)n < cap)
			out[n] = target;
		if (n < 1024)
			n++;
	}
	return rc < 0 ? -EBADMSG : n;
}

/* Printable form of a label: as dig writes it (\DDD, \. and \\), truncated to fit. */
static void label_text(char *dst, size_t cap, const uint8_t *l, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char tmp[5];
		int k;

		if (l[i] == '.' || l[i] == '\\')
			k = snprintf(tmp, sizeof(tmp), "\\%c", l[i]);
		else if (l[i] < 0x20 || l[i] >= 0x7f)
			k = snprintf(tmp, sizeof(tmp), "\\%03u", l[i]);
		else
			k = snprintf(tmp, sizeof(tmp), "%c", l[i]);
		if (o + (size_t)k + 1 > cap)
			break;
		memcpy(dst + o, tmp, (size_t)k);
		o += (size_t)k;
	}
	dst[o] = '\0';
}

static int name_text(const struct dns_name *n, char *dst, size_t cap)
{
	char text[DNS_NAME_TEXT_MAX];
	int k = dns_name_to_text(n, text, sizeof(text));

	if (k < 1 || (size_t)k > cap)
		return -EINVAL;
	if (k > 1)
		k--;		/* no trailing dot */
	memcpy(dst, text, (size_t)k);
	dst[k] = '\0';
	return 0;
}

int dnsc_sd_instance(struct dnsc_service *s, const struct dns_name *inst, const struct dns_name *domain,
		     const struct dns_msg *srvm, const struct dns_msg *txtm)
{
	struct dns_name type = *inst;
	const uint8_t *l;
	size_t len;
	struct dnsc_rr rr;
	unsigned pos;
	int rc;

	memset(s, 0, sizeof(*s));
	/* Instance . _service . _proto . D (RFC 6763 §4.1) */
	if (dns_name_label_count(inst) != dns_name_label_count(domain) + 3 ||
	    !dns_name_is_below(inst, domain))
		return -EINVAL;
	len = dns_name_first_label(inst, &l);
	label_text(s->instance, sizeof(s->instance), l, len);
	if (dns_name_strip(&type, 1))
		return -EINVAL;
	{
		struct dns_name t2 = type;
		char full[DNS_NAME_TEXT_MAX];
		const uint8_t *l1;
		size_t n1 = dns_name_first_label(&t2, &l1);

		if (n1 < 2 || l1[0] != '_' || name_text(&t2, full, sizeof(full)))
			return -EINVAL;
		/* "_ssh._tcp" without ".D" */
		if (dns_name_strip(&t2, 2) || !dns_name_equal(&t2, domain))
			return -EINVAL;
		char *cut = full;

		for (int dots = 0; *cut; cut++)
			if (*cut == '.' && ++dots == 2)
				break;
		*cut = '\0';
		if (strlen(full) >= sizeof(s->type))
			return -EINVAL;
		memcpy(s->type, full, strlen(full) + 1);
	}
	if (srvm) {
		pos = 0;
		while ((rc = dnsc_rr_next(srvm, &pos, &rr)) == 1) {
			struct dns_srv srv;

			if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_SRV || !dns_name_equal(&rr.owner, inst))
				continue;
			if (dns_rdata_srv_read(&rr.rdata, &srv))
				return -EBADMSG;
			if (name_text(&srv.target, s->host, sizeof(s->host)))
				continue;
			s->port = srv.port;
			s->has_srv = true;
			break;
		}
		if (rc < 0)
			return -EBADMSG;
	}
	if (txtm) {
		pos = 0;
		while ((rc = dnsc_rr_next(txtm, &pos, &rr)) == 1) {
			const uint8_t *str;
			uint8_t n;
			size_t o = 0;

			if (rr.sec != DNS_SEC_ANSWER || rr.type != DNS_TYPE_TXT || !dns_name_equal(&rr.owner, inst))
				continue;
			while ((rc = dns_rdata_txt_next(&rr.rdata, &str, &n)) == 1) {
				if (n == 0)
					continue;	/* RFC 6763 §6.1: an empty string means no data */
				if (o && o + 1 < sizeof(s->txt))
					s->txt[o++] = ' ';
				for (unsigned i = 0; i < n && o + 1 < sizeof(s->txt); i++)
					s->txt[o++] = str[i] >= 0x20 && str[i] < 0x7f ? (char)str[i] : '?';
			}
			s->txt[o] = '\0';
			if (rc < 0)
				return -EBADMSG;
			break;
		}
		if (rc < 0)
			return -EBADMSG;
	}
	return 0;
}
