/* lib/dns/name.c: domain names in wire and text form, compression. */
#include <errno.h>
#include <string.h>

#include "dns/internal.h"
#include "dns/name.h"


/* Case-insensitive comparison of n bytes; length bytes (<= 63) never fold. */
static bool ieq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dns_lc(a[i]) != dns_lc(b[i]))
			return false;
	return true;
}

/*
 * RFC 1035 §4.1.4 with the rule of docs/conventions.md: a pointer must point
 * before the start of the run of labels it ends (the name's first byte, or
 * the target of the previous pointer), and the labels it leads to must lie
 * entirely before that start too. So every jump lowers the bound: no
 * loops, and after the first jump only bytes already passed are read,
 * which is why a sub-cursor over rdata (whose end is the rdata's end)
 * reads compressed names correctly.
 *
 * Each run of labels is borrowed from the cursor as one checked span
 * (wire_read_ref) and scanned by index within it.
 */
int dns_name_read(struct wire *w, struct dns_name *out, bool allow_ptr, size_t *len)
{
	size_t n = 0, seg = wire_offset(w), i = 0, plen = wire_avail(w), used = 0;
	unsigned labels = 0;
	bool jumped = false;
	struct wire r = *w;
	const uint8_t *p;

	if (wire_err(w))
		return wire_err(w);
	p = wire_read_ref(&r, plen);
	if (!p)
		goto bad;
	for (size_t run = 0;;) {	/* run: where the current run of labels began in p */
		uint8_t c;

		if (i >= plen)
			goto bad;
		c = p[i];
		if (c == 0) {
			n++;
			i++;
			if (out)
				memcpy(out->wire + n - (i - run), p + run, i - run);
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (i + 1 >= plen || !allow_ptr)
				goto bad;
			if (out)
				memcpy(out->wire + n - (i - run), p + run, i - run);
			target = (size_t)(c & 0x3f) << 8 | p[i + 1];
			if (target < DNS_HEADER_LEN || target >= seg)
				goto bad;
			if (!jumped)
				used = i + 2;
			jumped = true;
			/* from here on, read only [target, seg) of the message */
			r = wire_reader(w->start, seg);
			wire_seek(&r, target);
			plen = seg - target;
			p = wire_read_ref(&r, plen);
			if (!p)
				goto bad;
			seg = target;
			i = run = 0;
			continue;
		}
		if (c > DNS_LABEL_MAX)
			goto bad;	/* 0x40 and 0x80: reserved label types (RFC 6891 §5) */
		if (n + 1 + c + 1 > DNS_NAME_MAX || i + 1 + c > plen)
			goto bad;	/* the label and the root label must fit in 255 */
		n += 1 + (size_t)c;
		i += 1 + (size_t)c;
		labels++;
	}
	wire_skip(w, jumped ? used : i);
	if (out) {
		out->len = (uint8_t)n;
		out->labels = (uint8_t)labels;
	}
	if (len)
		*len = n;
	return 0;
bad:
	wire_fail(w, -EBADMSG);
	return -EBADMSG;
}

int dns_name_parse(struct wire *w, struct dns_name *out)
{
	return dns_name_read(w, out, true, NULL);
}

int dns_name_from_wire(struct dns_name *out, const uint8_t *buf, size_t len)
{
	struct wire r = wire_reader(buf, len);

	if (dns_name_read(&r, out, false, NULL) || wire_avail(&r))
		return -EBADMSG;
	return 0;
}

void dns_name_set_root(struct dns_name *n)
{
	n->len = 1;
	n->labels = 0;
	n->wire[0] = 0;
}

static int dec_digit(char c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

int dns_name_from_text(struct dns_name *out, const char *text)
{
	size_t n = 0, lab = 0;	/* lab: offset of the current label's length byte */
	unsigned labels = 0;
	const char *p = text;

	if (!text || !*text)
		return -EINVAL;
	if (strcmp(text, ".") == 0) {
		dns_name_set_root(out);
		return 0;
	}
	out->wire[0] = 0;
	n = 1;
	while (*p) {
		unsigned v;

		if (*p == '.') {
			if (n - lab - 1 == 0)
				return -EINVAL;	/* empty label */
			out->wire[lab] = (uint8_t)(n - lab - 1);
			labels++;
			p++;
			if (!*p)
				goto done;
			if (n + 1 >= DNS_NAME_MAX)
				return -EMSGSIZE;
			lab = n++;
			continue;
		}
		if (*p == '\\') {
			int d0 = dec_digit(p[1]);

			if (!p[1])
				return -EINVAL;
			if (d0 >= 0) {
				int d1 = dec_digit(p[2]), d2 = d1 >= 0 ? dec_digit(p[3]) : -1;

				if (d1 < 0 || d2 < 0)
					return -EINVAL;
				v = (unsigned)(d0 * 100 + d1 * 10 + d2);
				if (v > 255)
					return -EINVAL;
				p += 4;
			} else {
				v = (unsigned char)p[1];
				p += 2;
			}
		} else {
			v = (unsigned char)*p++;
		}
		if (n - lab - 1 >= DNS_LABEL_MAX)
			return -EMSGSIZE;
		/* keep one byte for the root label */
		if (n + 1 >= DNS_NAME_MAX)
			return -EMSGSIZE;
		out->wire[n++] = (uint8_t)v;
	}
	/* no trailing dot: close the last label */
	if (n - lab - 1 == 0)
		return -EINVAL;
	out->wire[lab] = (uint8_t)(n - lab - 1);
	labels++;
done:
	out->wire[n++] = 0;
	out->len = (uint8_t)n;
	out->labels = (uint8_t)labels;
	return 0;
}

int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap)
{
	size_t o = 0, i = 0;

	if (cap == 0)
		return -ENOSPC;
	if (n->len <= 1) {
		if (cap < 2)
			return -ENOSPC;
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	while (i < n->len && n->wire[i]) {
		size_t l = n->wire[i++];

		for (size_t k = 0; k < l; k++, i++) {
			uint8_t c = n->wire[i];
			char tmp[5];
			size_t tl;

			if (c <= 0x20 || c >= 0x7f) {
				tmp[0] = '\\';
				tmp[1] = (char)('0' + c / 100);
				tmp[2] = (char)('0' + c / 10 % 10);
				tmp[3] = (char)('0' + c % 10);
				tl = 4;
			} else if (strchr(".\\\"();@$", c)) {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				tl = 2;
			} else {
				tmp[0] = (char)c;
				tl = 1;
			}
			if (o + tl + 1 > cap)
				return -ENOSPC;
			memcpy(buf + o, tmp, tl);
			o += tl;
		}
		if (o + 2 > cap)
			return -ENOSPC;
		buf[o++] = '.';
	}
	buf[o] = 0;
	return (int)o;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	return a->len == b->len && a->labels == b->labels && ieq(a->wire, b->wire, a->len);
}

/* Offsets of the labels of @p n, root label excluded. */
static unsigned label_offsets(const struct dns_name *n, uint8_t off[DNS_LABELS_MAX])
{
	unsigned k = 0;

	for (size_t i = 0; i < n->len && n->wire[i] && k < DNS_LABELS_MAX; i += 1 + (size_t)n->wire[i])
		off[k++] = (uint8_t)i;
	return k;
}

int dns_name_compare(const struct dns_name *a, const struct dns_name *b)
{
	uint8_t oa[DNS_LABELS_MAX], ob[DNS_LABELS_MAX];
	unsigned na = label_offsets(a, oa), nb = label_offsets(b, ob);

	while (na && nb) {
		const uint8_t *la = a->wire + oa[--na], *lb = b->wire + ob[--nb];
		size_t m = la[0] < lb[0] ? la[0] : lb[0];

		for (size_t i = 1; i <= m; i++) {
			int d = (int)dns_lc(la[i]) - (int)dns_lc(lb[i]);

			if (d)
				return d;
		}
		if (la[0] != lb[0])
			return (int)la[0] - (int)lb[0];
	}
	return (int)na - (int)nb;
}

void dns_name_canonicalize(struct dns_name *n)
{
	for (size_t i = 0; i < n->len; i++)
		n->wire[i] = dns_lc(n->wire[i]);
}

/* Offset in @p n of the suffix that drops the first @p skip labels. */
static size_t skip_labels(const struct dns_name *n, unsigned skip)
{
	size_t i = 0;

	while (skip-- && i < n->len && n->wire[i])
		i += 1 + (size_t)n->wire[i];
	return i;
}

bool dns_name_is_below(const struct dns_name *n, const struct dns_name *zone)
{
	size_t i;

	if (n->labels < zone->labels)
		return false;
	i = skip_labels(n, n->labels - zone->labels);
	return n->len - i == zone->len && ieq(n->wire + i, zone->wire, zone->len);
}

int dns_name_concat(struct dns_name *out, const struct dns_name *prefix,
		    const struct dns_name *suffix)
{
	struct dns_name t;
	size_t pl = (size_t)prefix->len - 1;

	if (pl + suffix->len > DNS_NAME_MAX)
		return -EMSGSIZE;
	memcpy(t.wire, prefix->wire, pl);
	memcpy(t.wire + pl, suffix->wire, suffix->len);
	t.len = (uint8_t)(pl + suffix->len);
	t.labels = (uint8_t)(prefix->labels + suffix->labels);
	*out = t;
	return 0;
}

int dns_name_prepend_label(struct dns_name *n, const void *label, size_t len)
{
	if (len == 0 || len > DNS_LABEL_MAX)
		return -EINVAL;
	if (n->len + 1 + len > DNS_NAME_MAX)
		return -EMSGSIZE;
	memmove(n->wire + 1 + len, n->wire, n->len);
	n->wire[0] = (uint8_t)len;
	memcpy(n->wire + 1, label, len);
	n->len = (uint8_t)(n->len + 1 + len);
	n->labels++;
	return 0;
}

int dns_name_strip(struct dns_name *n, unsigned count)
{
	size_t i;

	if (count > n->labels)
		return -EINVAL;
	i = skip_labels(n, count);
	memmove(n->wire, n->wire + i, n->len - i);
	n->len = (uint8_t)(n->len - i);
	n->labels = (uint8_t)(n->labels - count);
	return 0;
}

size_t dns_name_first_label(const struct dns_name *n, const uint8_t **label)
{
	*label = n->wire + 1;
	return n->len > 1 ? n->wire[0] : 0;
}

/* ---- compression -------------------------------------------------------- */

void dns_compress_rollback(struct dns_compress *c, size_t msg_len)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < c->n; i++) {
		if (c->off[i] < msg_len) {
			c->off[k] = c->off[i];
			c->labels[k] = c->labels[i];
			k++;
		}
	}
	c->n = k;
}

void dns_compress_add(struct dns_compress *c, const struct dns_name *n, size_t off)
{
	size_t i = 0;
	unsigned left = n->labels;

	while (i < n->len && n->wire[i] && c->n < DNS_COMPRESS_MAX) {
		if (off + i >= 0x4000)
			break;
		c->off[c->n] = (uint16_t)(off + i);
		c->labels[c->n] = (uint8_t)left;
		c->n++;
		left--;
		i += 1 + (size_t)n->wire[i];
	}
}

/*
 * Does the message name at @p off (written by us, possibly ending in a
 * pointer) equal the uncompressed labels at @p s? The part of the message
 * already written is borrowed as one span and read by index.
 */
static bool msg_suffix_equal(const struct wire *w, size_t off, const uint8_t *s, size_t slen)
{
	struct wire r = wire_reader(w->start, wire_offset(w));
	size_t mlen = wire_offset(w), i = 0;
	const uint8_t *m = wire_read_ref(&r, mlen);
	unsigned hops = 0;

	if (!m)
		return false;
	while (i < slen && off < mlen) {
		uint8_t c = m[off];

		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= mlen || ++hops > DNS_LABELS_MAX)
				return false;
			off = (size_t)(c & 0x3f) << 8 | m[off + 1];
			continue;
		}
		if (c != s[i] || off + 1 + c > mlen)
			return false;
		if (c == 0)
			return i + 1 == slen;
		if (memcmp(m + off + 1, s + i + 1, c) != 0 && !ieq(m + off + 1, s + i + 1, c))
			return false;
		i += 1 + (size_t)c;
		off += 1 + (size_t)c;
	}
	return false;
}

int dns_name_write(struct wire *w, const struct dns_name *n, struct dns_compress *c)
{
	size_t i = 0, start = wire_offset(w), match = 0;
	unsigned left = n->labels;
	bool found = false;

	if (c && n->labels) {
		/* longest suffix first: the first hit is the best one */
		for (size_t p = 0; n->wire[p]; p += 1 + (size_t)n->wire[p], left--) {
			for (uint16_t e = 0; e < c->n; e++) {
				if (c->labels[e] == left && c->off[e] < start &&
				    msg_suffix_equal(w, c->off[e], n->wire + p, n->len - p)) {
					found = true;
					i = p;
					match = c->off[e];
					goto write;
				}
			}
		}
	}
write:
	if (!found)
		i = (size_t)n->len - 1;	/* everything up to the root label */
	/* labels [0, i) are written as they are, then a pointer or the root */
	wire_write_bytes(w, n->wire, i);
	if (found)
		wire_write_u16(w, (uint16_t)(0xc000 | match));
	else
		wire_write_u8(w, 0);
	if (wire_err(w))
		return wire_err(w);
	if (c && i) {
		/* record the labels just written; their suffixes continue as in n */
		left = n->labels;
		for (size_t p = 0; p < i && c->n < DNS_COMPRESS_MAX; p += 1 + (size_t)n->wire[p], left--) {
			if (start + p >= 0x4000)
				break;
			c->off[c->n] = (uint16_t)(start + p);
			c->labels[c->n] = (uint8_t)left;
			c->n++;
		}
	}
	return 0;
}
