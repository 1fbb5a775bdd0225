/*
 * What we propose and what we accept: SA proposals for the IKE SA and for
 * ESP child SAs (RFC 7296 §§2.7, 3.3), traffic selector narrowing (§2.9).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ike/policy.h"

/* our default order: the three we always had first, then RFC 8247's other common ones */
static const uint16_t default_groups[IKE_POLICY_NGROUPS] = {
	IKE_DH_CURVE25519, IKE_DH_ECP256, IKE_DH_MODP2048, IKE_DH_ECP384, IKE_DH_MODP3072,
};

#define ENCR_ALL (IKE_ENCR_AES256GCM16 | IKE_ENCR_AES128GCM16 | IKE_ENCR_AES256CBC_SHA256 | \
		  IKE_ENCR_AES128CBC_SHA256)
#define ENCR_GCM (IKE_ENCR_AES256GCM16 | IKE_ENCR_AES128GCM16)
#define ENCR_CBC (IKE_ENCR_AES256CBC_SHA256 | IKE_ENCR_AES128CBC_SHA256)

const uint16_t *ike_policy_default_groups(void)
{
	return default_groups;
}

bool ike_policy_group_allowed(const struct ike_peer *p, uint16_t g)
{
	if (!p) {
		for (unsigned i = 0; i < IKE_POLICY_NGROUPS; i++)
			if (default_groups[i] == g)
				return true;
		return false;
	}
	for (unsigned i = 0; i < p->ndh; i++)
		if (p->dh[i] == g)
			return true;
	return false;
}

void ike_policy_union(const struct ike *ike, struct ike_peer *u)
{
	memset(u, 0, sizeof(*u));
	for (const struct ike_peer *p = ike->peers; p; p = p->next) {
		for (unsigned i = 0; i < p->ndh; i++)
			if (!ike_policy_group_allowed(u, p->dh[i]) && u->ndh < IKE_POLICY_NGROUPS)
				u->dh[u->ndh++] = p->dh[i];
		u->prf_algs |= p->prf_algs;
		u->encr_algs |= p->encr_algs;
		u->esp_algs |= p->esp_algs;
	}
	if (!ike->peers) {
		for (unsigned i = 0; i < IKE_POLICY_NGROUPS; i++)
			u->dh[i] = default_groups[i];
		u->ndh = IKE_POLICY_NGROUPS;
		u->prf_algs = IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512;
		u->encr_algs = ENCR_ALL;
	}
}

static unsigned prf_mask(const struct ike_peer *p)
{
	return p ? p->prf_algs : (IKE_PRF_HMAC_SHA256 | IKE_PRF_HMAC_SHA384 | IKE_PRF_HMAC_SHA512);
}

static unsigned encr_mask(const struct ike_peer *p)
{
	return p ? p->encr_algs : ENCR_ALL;
}

static bool prf_ok(unsigned mask, uint16_t id)
{
	return (id == IKE_PRF_ID_HMAC_SHA2_256 && (mask & IKE_PRF_HMAC_SHA256)) ||
	       (id == IKE_PRF_ID_HMAC_SHA2_384 && (mask & IKE_PRF_HMAC_SHA384)) ||
	       (id == IKE_PRF_ID_HMAC_SHA2_512 && (mask & IKE_PRF_HMAC_SHA512));
}

static void add_xf(struct ike_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	if (p->nxf < IKE_MAX_XF) {
		p->xf[p->nxf++] = (struct ike_xf){ .type = type, .id = id, .keylen = keylen };
		p->types |= (uint8_t)(1u << type);
	}
}

static void add_groups(struct ike_prop *pr, const struct ike_peer *p, uint16_t first)
{
	add_xf(pr, IKE_XF_DH, first, 0);
	if (p) {
		for (unsigned i = 0; i < p->ndh; i++)
			if (p->dh[i] != first)
				add_xf(pr, IKE_XF_DH, p->dh[i], 0);
	} else {
		for (unsigned i = 0; i < IKE_POLICY_NGROUPS; i++)
			if (default_groups[i] != first)
				add_xf(pr, IKE_XF_DH, default_groups[i], 0);
	}
}

static void add_prfs(struct ike_prop *pr, unsigned mask, uint8_t type)
{
	static const uint16_t prf[] = { IKE_PRF_ID_HMAC_SHA2_256, IKE_PRF_ID_HMAC_SHA2_384, IKE_PRF_ID_HMAC_SHA2_512 };
	static const uint16_t integ[] = { IKE_INTEG_ID_HMAC_SHA2_256_128, IKE_INTEG_ID_HMAC_SHA2_384_192,
					  IKE_INTEG_ID_HMAC_SHA2_512_256 };

	for (unsigned i = 0; i < 3; i++)
		if (mask & (1u << i))
			add_xf(pr, type, type == IKE_XF_PRF ? prf[i] : integ[i], 0);
}

size_t ike_policy_ike_props(const struct ike_peer *p, uint16_t group_first, const uint8_t *spi, uint8_t spi_size,
		     struct ike_prop *out)
{
	unsigned em = encr_mask(p), pm = prf_mask(p);
	size_t n = 0;

	/*
	 * AEAD and non-AEAD ciphers go in separate proposals (RFC 5282 §8);
	 * the key lengths of one cipher are transforms of one proposal (RFC
	 * 7296 §3.3.5), the longer first.
	 */
	if (em & ENCR_GCM) {
		struct ike_prop *pr = &out[n++];

		memset(pr, 0, sizeof(*pr));
		if (em & IKE_ENCR_AES256GCM16)
			add_xf(pr, IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 256);
		if (em & IKE_ENCR_AES128GCM16)
			add_xf(pr, IKE_XF_ENCR, IKE_ENCR_ID_AES_GCM_16, 128);
		add_prfs(pr, pm, IKE_XF_PRF);
		add_groups(pr, p, group_first);
	}
	if (em & ENCR_CBC) {
		struct ike_prop *pr = &out[n++];

		memset(pr, 0, sizeof(*pr));
		if (em & IKE_ENCR_AES256CBC_SHA256)
			add_xf(pr, IKE_XF_ENCR, IKE_ENCR_ID_AES_CBC, 256);
		if (em & IKE_ENCR_AES128CBC_SHA256)
			add_xf(pr, IKE_XF_ENCR, IKE_ENCR_ID_AES_CBC, 128);
		add_prfs(pr, pm, IKE_XF_INTEG);
		add_prfs(pr, pm, IKE_XF_PRF);
		add_groups(pr, p, group_first);
	}
	for (size_t i = 0; i < n; i++) {
		out[i].num = (uint8_t)(i + 1);
		out[i].proto = IKE_PROTO_IKE;
		out[i].spi_size = spi_size;
		if (spi_size)
			memcpy(out[i].spi, spi, spi_size);
	}
	return n;
}

/* the first transform of @p type in @p p, or -1 */
uint16_t ike_prop_get(const struct ike_prop *p, uint8_t type, uint16_t *keylen)
{
	for (unsigned i = 0; i < p->nxf; i++)
		if (p->xf[i].type == type) {
			if (keylen)
				*keylen = p->xf[i].keylen;
			return p->xf[i].id;
		}
	return 0xffff;
}

static bool has_xf(const struct ike_prop *p, uint8_t type, uint16_t id)
{
	for (unsigned i = 0; i < p->nxf; i++)
		if (p->xf[i].type == type && p->xf[i].id == id)
			return true;
	return false;
}

/*
 * Choose encryption (and integrity) for the IKE SA from one proposal:
 * AES-GCM wants no integrity transform (or NONE), AES-CBC a supported one.
 */
unsigned ike_policy_encr_bit(uint16_t encr, uint16_t keylen)
{
	if (encr == IKE_ENCR_ID_AES_GCM_16)
		return keylen == 256 ? IKE_ENCR_AES256GCM16 : keylen == 128 ? IKE_ENCR_AES128GCM16 : 0;
	if (encr == IKE_ENCR_ID_AES_CBC)
		return keylen == 256 ? IKE_ENCR_AES256CBC_SHA256 : keylen == 128 ? IKE_ENCR_AES128CBC_SHA256 : 0;
	return 0;
}

static bool pick_ike_encr(const struct ike_prop *pr, unsigned em, unsigned pm, uint16_t *encr, uint16_t *keylen,
			  uint16_t *integ)
{
	for (unsigned i = 0; i < pr->nxf; i++) {
		const struct ike_xf *x = &pr->xf[i];

		if (x->type != IKE_XF_ENCR || !(em & ike_policy_encr_bit(x->id, x->keylen)))
			continue;
		*keylen = x->keylen;
		if (x->id == IKE_ENCR_ID_AES_GCM_16 &&
		    (!(pr->types & (1u << IKE_XF_INTEG)) || has_xf(pr, IKE_XF_INTEG, IKE_INTEG_ID_NONE))) {
			*encr = x->id;
			*integ = IKE_INTEG_ID_NONE;
			return true;
		}
		if (x->id == IKE_ENCR_ID_AES_CBC) {
			for (unsigned j = 0; j < pr->nxf; j++) {
				const struct ike_xf *y = &pr->xf[j];

				if (y->type == IKE_XF_INTEG && y->id != IKE_INTEG_ID_NONE &&
				    prf_ok(pm, (uint16_t)(y->id - IKE_INTEG_ID_HMAC_SHA2_256_128 + IKE_PRF_ID_HMAC_SHA2_256))) {
					*encr = x->id;
					*integ = y->id;
					return true;
				}
			}
		}
	}
	return false;
}

int ike_policy_ike_select(const struct ike_sapl *sa, const struct ike_peer *p, uint16_t ke_group,
		   bool rekey, struct ike_prop *chosen, uint16_t *want_group)
{
	unsigned em = encr_mask(p), pm = prf_mask(p);
	int first_other = -1;
	uint16_t other_group = 0;

	for (unsigned i = 0; i < sa->n; i++) {
		const struct ike_prop *pr = &sa->p[i];
		uint16_t encr, keylen, integ, prf = 0, dh = 0;
		const uint8_t need = (1u << IKE_XF_ENCR) | (1u << IKE_XF_PRF) | (1u << IKE_XF_DH);

		if (pr->proto != IKE_PROTO_IKE || pr->unknown || pr->spi_size != (rekey ? 8 : 0))
			continue;
		if ((pr->types & need) != need || (pr->types & (1u << IKE_XF_ESN)))
			continue;
		if (!pick_ike_encr(pr, em, pm, &encr, &keylen, &integ))
			continue;
		for (unsigned j = 0; j < pr->nxf && !prf; j++)
			if (pr->xf[j].type == IKE_XF_PRF && prf_ok(pm, pr->xf[j].id))
				prf = pr->xf[j].id;
		if (!prf)
			continue;
		if (has_xf(pr, IKE_XF_DH, ke_group) && ke_group && ike_policy_group_allowed(p, ke_group)) {
			dh = ke_group;
		} else {
			/* acceptable with another group: remember for INVALID_KE_PAYLOAD */
			for (unsigned j = 0; j < pr->nxf && first_other < 0; j++)
				if (pr->xf[j].type == IKE_XF_DH && pr->xf[j].id && ike_policy_group_allowed(p, pr->xf[j].id)) {
					first_other = (int)i;
					other_group = pr->xf[j].id;
				}
			continue;
		}
		memset(chosen, 0, sizeof(*chosen));
		chosen->num = pr->num;
		chosen->proto = IKE_PROTO_IKE;
		chosen->spi_size = pr->spi_size;
		memcpy(chosen->spi, pr->spi, pr->spi_size);
		add_xf(chosen, IKE_XF_ENCR, encr, keylen);
		add_xf(chosen, IKE_XF_PRF, prf, 0);
		if (integ)
			add_xf(chosen, IKE_XF_INTEG, integ, 0);
		add_xf(chosen, IKE_XF_DH, dh, 0);
		return 0;
	}
	if (first_other >= 0) {
		/* RFC 7296 §1.2: tell the initiator which group we want */
		*want_group = other_group;
		return -EAGAIN;
	}
	return -ENOENT;
}

/* ESP transforms (RFC 8221 §5: AES-GCM and AES-CBC with HMAC-SHA2-256-128 MUST) */
static const struct esp_xf {
	enum ike_esp_alg alg;
	uint16_t id, keylen, integ;
	size_t keymat;			/* per direction: encryption key [| salt] [| integrity key] */
} esp_xfs[] = {
	{ IKE_ESP_AES256GCM16, IKE_ENCR_ID_AES_GCM_16, 256, 0, 36 },
	{ IKE_ESP_CHACHA20POLY1305, IKE_ENCR_ID_CHACHA20_POLY1305, 0, 0, 36 },
	{ IKE_ESP_AES128GCM16, IKE_ENCR_ID_AES_GCM_16, 128, 0, 20 },
	/* RFC 7296 §2.17: the encryption key first, then the integrity key */
	{ IKE_ESP_AES128CBC_SHA256, IKE_ENCR_ID_AES_CBC, 128, IKE_INTEG_ID_HMAC_SHA2_256_128, 16 + 32 },
	{ IKE_ESP_AES256CBC_SHA256, IKE_ENCR_ID_AES_CBC, 256, IKE_INTEG_ID_HMAC_SHA2_256_128, 32 + 32 },
};

#define ESP_AEAD (IKE_ESP_AES256GCM16 | IKE_ESP_CHACHA20POLY1305 | IKE_ESP_AES128GCM16)
#define ESP_CBC (IKE_ESP_AES128CBC_SHA256 | IKE_ESP_AES256CBC_SHA256)

static const struct esp_xf *esp_find(uint16_t id, uint16_t keylen)
{
	for (size_t i = 0; i < sizeof(esp_xfs) / sizeof(esp_xfs[0]); i++)
		if (esp_xfs[i].id == id && esp_xfs[i].keylen == keylen)
			return &esp_xfs[i];
	return NULL;
}

int ike_policy_esp_alg(const struct ike_prop *chosen, enum ike_esp_alg *alg, size_t *keymat)
{
	uint16_t keylen = 0, id = ike_prop_get(chosen, IKE_XF_ENCR, &keylen);
	uint16_t integ = ike_prop_get(chosen, IKE_XF_INTEG, NULL);
	const struct esp_xf *e = esp_find(id, keylen);

	if (integ == 0xffff)
		integ = 0;
	if (!e || e->integ != integ)
		return -EINVAL;
	*alg = e->alg;
	*keymat = e->keymat;
	return 0;
}

static void esp_prop_init(struct ike_prop *pr, uint8_t num, uint32_t spi)
{
	memset(pr, 0, sizeof(*pr));
	pr->num = num;
	pr->proto = IKE_PROTO_ESP;
	pr->spi_size = 4;
	for (int i = 0; i < 4; i++)
		pr->spi[i] = (uint8_t)(spi >> (24 - 8 * i));
}

static void esp_prop_tail(struct ike_prop *pr, const struct ike_peer *p, uint16_t group)
{
	if (group)
		add_xf(pr, IKE_XF_DH, group, 0);
	if (p->esn)
		add_xf(pr, IKE_XF_ESN, 1, 0);
	add_xf(pr, IKE_XF_ESN, 0, 0);
}

size_t ike_policy_esp_props(const struct ike_peer *p, uint32_t spi, uint16_t group, struct ike_prop *out)
{
	size_t n = 0;

	/* AEAD in the first proposal, AES-CBC with its MAC in a second one (RFC 5282 §8) */
	if (p->esp_algs & ESP_AEAD) {
		esp_prop_init(&out[n], (uint8_t)(n + 1), spi);
		for (size_t i = 0; i < sizeof(esp_xfs) / sizeof(esp_xfs[0]); i++)
			if ((p->esp_algs & esp_xfs[i].alg) && !esp_xfs[i].integ)
				add_xf(&out[n], IKE_XF_ENCR, esp_xfs[i].id, esp_xfs[i].keylen);
		esp_prop_tail(&out[n], p, group);
		n++;
	}
	if (p->esp_algs & ESP_CBC) {
		esp_prop_init(&out[n], (uint8_t)(n + 1), spi);
		if (p->esp_algs & IKE_ESP_AES256CBC_SHA256)
			add_xf(&out[n], IKE_XF_ENCR, IKE_ENCR_ID_AES_CBC, 256);
		if (p->esp_algs & IKE_ESP_AES128CBC_SHA256)
			add_xf(&out[n], IKE_XF_ENCR, IKE_ENCR_ID_AES_CBC, 128);
		add_xf(&out[n], IKE_XF_INTEG, IKE_INTEG_ID_HMAC_SHA2_256_128, 0);
		esp_prop_tail(&out[n], p, group);
		n++;
	}
	return n;
}

/* The first ENCR transform of @p pr that @p p accepts, with the integrity it needs present. */
static const struct esp_xf *esp_pick(const struct ike_prop *pr, const struct ike_peer *p)
{
	bool aead_ok = !(pr->types & (1u << IKE_XF_INTEG)) || has_xf(pr, IKE_XF_INTEG, IKE_INTEG_ID_NONE);

	for (unsigned j = 0; j < pr->nxf; j++) {
		const struct esp_xf *e;

		if (pr->xf[j].type != IKE_XF_ENCR)
			continue;
		e = esp_find(pr->xf[j].id, pr->xf[j].keylen);
		if (!e || !(p->esp_algs & e->alg))
			continue;
		/* an AEAD cipher wants no integrity algorithm (or NONE); AES-CBC wants ours */
		if (e->integ ? has_xf(pr, IKE_XF_INTEG, e->integ) : aead_ok)
			return e;
	}
	return NULL;
}

int ike_policy_esp_select(const struct ike_sapl *sa, const struct ike_peer *p, bool in_auth, uint16_t ke_group,
		   bool have_ke, struct ike_prop *chosen, uint16_t *want_group)
{
	int first_other = -1;
	uint16_t other_group = 0;

	for (unsigned i = 0; i < sa->n; i++) {
		const struct ike_prop *pr = &sa->p[i];
		const struct esp_xf *e;
		uint16_t esn = 0xffff, dh = 0;
		bool dh_listed = pr->types & (1u << IKE_XF_DH);

		if (pr->proto != IKE_PROTO_ESP || pr->unknown || pr->spi_size != 4)
			continue;
		if (!(pr->types & (1u << IKE_XF_ENCR)))
			continue;
		e = esp_pick(pr, p);
		if (!e)
			continue;
		if (!(pr->types & (1u << IKE_XF_ESN))) {
			esn = 0;	/* lenient: a missing ESN transform means 32-bit numbers */
		} else {
			for (unsigned j = 0; j < pr->nxf && esn == 0xffff; j++)
				if (pr->xf[j].type == IKE_XF_ESN && (pr->xf[j].id == 0 || p->esn))
					esn = pr->xf[j].id;
			if (esn == 0xffff)
				continue;
		}
		/* RFC 7296 §1.2: DH transforms in IKE_AUTH's SA payload are ignored */
		if (!in_auth) {
			if (have_ke) {
				if (has_xf(pr, IKE_XF_DH, ke_group) && ike_policy_group_allowed(p, ke_group)) {
					dh = ke_group;
				} else {
					for (unsigned j = 0; j < pr->nxf && first_other < 0; j++)
						if (pr->xf[j].type == IKE_XF_DH && pr->xf[j].id &&
						    ike_policy_group_allowed(p, pr->xf[j].id)) {
							first_other = (int)i;
							other_group = pr->xf[j].id;
						}
					continue;
				}
			} else if (dh_listed && !has_xf(pr, IKE_XF_DH, 0)) {
				continue;	/* PFS demanded but no KE payload */
			}
		}
		memset(chosen, 0, sizeof(*chosen));
		chosen->num = pr->num;
		chosen->proto = IKE_PROTO_ESP;
		chosen->spi_size = 4;
		memcpy(chosen->spi, pr->spi, 4);
		add_xf(chosen, IKE_XF_ENCR, e->id, e->keylen);
		if (e->integ)
			add_xf(chosen, IKE_XF_INTEG, e->integ, 0);
		if (dh)
			add_xf(chosen, IKE_XF_DH, dh, 0);
		add_xf(chosen, IKE_XF_ESN, esn, 0);
		return 0;
	}
	if (first_other >= 0) {
		*want_group = other_group;
		return -EAGAIN;
	}
	return -ENOENT;
}

int ike_policy_check_reply(const struct ike_sapl *sa, const struct ike_prop *offered, size_t n,
		    struct ike_prop *chosen)
{
	const struct ike_prop *r, *o = NULL;
	unsigned types = 0;

	/* RFC 7296 §3.3: the answer is exactly one proposal with one transform of each type */
	if (sa->n != 1)
		return -EBADMSG;
	r = &sa->p[0];
	for (size_t i = 0; i < n; i++)
		if (offered[i].num == r->num)
			o = &offered[i];
	if (!o || r->unknown || r->proto != o->proto || r->spi_size != o->spi_size)
		return -EBADMSG;
	for (unsigned i = 0; i < r->nxf; i++) {
		const struct ike_xf *x = &r->xf[i];
		bool found = false;

		if (types & (1u << x->type))
			return -EBADMSG;
		types |= 1u << x->type;
		for (unsigned j = 0; j < o->nxf; j++)
			if (o->xf[j].type == x->type && o->xf[j].id == x->id && o->xf[j].keylen == x->keylen)
				found = true;
		if (!found)
			return -EBADMSG;
	}
	/* every transform type answered was kept (none unsupported), and every type offered answered */
	if (types != r->types)
		return -EBADMSG;
	if ((o->types & ~(1u << IKE_XF_INTEG) & ~(1u << IKE_XF_DH)) & ~types)
		return -EBADMSG;
	if ((o->types & (1u << IKE_XF_DH)) && !(types & (1u << IKE_XF_DH)) && !has_xf(o, IKE_XF_DH, 0))
		return -EBADMSG;
	/* a non-AEAD cipher chosen without its integrity algorithm (RFC 7296 §3.3.3) */
	if (ike_prop_get(r, IKE_XF_ENCR, NULL) == IKE_ENCR_ID_AES_CBC && !(types & (1u << IKE_XF_INTEG)))
		return -EBADMSG;
	if ((types & (1u << IKE_XF_INTEG)) && ike_prop_get(r, IKE_XF_ENCR, NULL) != IKE_ENCR_ID_AES_CBC &&
	    ike_prop_get(r, IKE_XF_INTEG, NULL) != IKE_INTEG_ID_NONE)
		return -EBADMSG;
	*chosen = *r;
	return 0;
}

static size_t alen(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

int ike_ts_narrow(const struct ike_tslist *theirs, const struct ike_ts *ours, struct ike_ts *out)
{
	for (unsigned i = 0; i < theirs->n; i++) {
		const struct ike_ts *t = &theirs->ts[i];
		struct ike_ts r = { .family = ours->family };
		size_t n = alen(ours->family);

		if (t->family != ours->family)
			continue;
		if (ours->proto && t->proto && ours->proto != t->proto)
			continue;
		r.proto = ours->proto ? ours->proto : t->proto;
		r.port_lo = t->port_lo > ours->port_lo ? t->port_lo : ours->port_lo;
		r.port_hi = t->port_hi < ours->port_hi ? t->port_hi : ours->port_hi;
		if (r.port_lo > r.port_hi)
			continue;
		memcpy(r.start, memcmp(t->start, ours->start, n) > 0 ? t->start : ours->start, n);
		memcpy(r.end, memcmp(t->end, ours->end, n) < 0 ? t->end : ours->end, n);
		if (memcmp(r.start, r.end, n) > 0)
			continue;
		*out = r;
		return 0;
	}
	return -ENOENT;
}

bool ike_ts_within(const struct ike_ts *in, const struct ike_ts *outer)
{
	size_t n = alen(outer->family);

	return in->family == outer->family &&
	       (outer->proto == 0 || outer->proto == in->proto) &&
	       in->port_lo >= outer->port_lo && in->port_hi <= outer->port_hi &&
	       in->port_lo <= in->port_hi &&
	       memcmp(in->start, outer->start, n) >= 0 && memcmp(in->end, outer->end, n) <= 0 &&
	       memcmp(in->start, in->end, n) <= 0;
}

bool ike_addr_eq(const struct ike_addr *a, const struct ike_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, alen(a->family)) == 0;
}

int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}
