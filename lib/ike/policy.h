/*
 * What lib/ike proposes and accepts (policy.c): SA proposals for IKE and
 * ESP (RFC 7296 §§2.7, 3.3), traffic selector narrowing (§2.9), address and
 * nonce comparisons. Pure functions of their arguments.
 *
 * Internal to lib/ike. Pointers are borrowed.
 */
#ifndef AT_IKE_POLICY_H
#define AT_IKE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/internal.h"

/** Into @p u, a peer accepting what any configured peer accepts (responder before IKE_AUTH). */
void ike_policy_union(const struct ike *ike, struct ike_peer *u);
/** Our IKE proposals for @p p, with DH group @p group_first first; returns how many. */
size_t ike_policy_ike_props(const struct ike_peer *p, uint16_t group_first, const uint8_t *spi,
			    uint8_t spi_size, struct ike_prop *out);
/** Choose from the peer's IKE proposals; -EAGAIN with @p want_group when the KE group is wrong. */
int ike_policy_ike_select(const struct ike_sapl *sa, const struct ike_peer *p, uint16_t ke_group,
			  bool rekey, struct ike_prop *chosen, uint16_t *want_group)
	__attribute__((warn_unused_result));
/** Our ESP proposal for @p p (group 0: no KE); returns how many. */
size_t ike_policy_esp_props(const struct ike_peer *p, uint32_t spi, uint16_t group, struct ike_prop *out);
/** Choose from the peer's ESP proposals; -EAGAIN with @p want_group when the KE group is wrong. */
int ike_policy_esp_select(const struct ike_sapl *sa, const struct ike_peer *p, bool in_auth,
			  uint16_t ke_group, bool have_ke, struct ike_prop *chosen, uint16_t *want_group)
	__attribute__((warn_unused_result));
/** Check that the answer @p sa chose one of our @p offered proposals, exactly. */
int ike_policy_check_reply(const struct ike_sapl *sa, const struct ike_prop *offered, size_t n,
			   struct ike_prop *chosen) __attribute__((warn_unused_result));
#define IKE_POLICY_NGROUPS 5
/** The DH groups we implement, in our default order of preference. */
const uint16_t *ike_policy_default_groups(void);
/** The enum ike_encr_alg bit of IKE transform @p encr with @p keylen bits, 0 if none. */
unsigned ike_policy_encr_bit(uint16_t encr, uint16_t keylen);
/**
 * The ESP transform of the chosen proposal @p chosen and the length of its
 * key material per direction; -EINVAL if it is not one we implement.
 */
int ike_policy_esp_alg(const struct ike_prop *chosen, enum ike_esp_alg *alg, size_t *keymat)
	__attribute__((warn_unused_result));
/** Whether DH group @p g may be used with @p p (NULL: any group we implement). */
bool ike_policy_group_allowed(const struct ike_peer *p, uint16_t g);

/** The ID of the first transform of @p type in @p p (its key length in @p keylen), 0xffff if none. */
uint16_t ike_prop_get(const struct ike_prop *p, uint8_t type, uint16_t *keylen);
/** RFC 7296 §2.9: narrow the peer's selectors @p theirs to within @p ours. */
int ike_ts_narrow(const struct ike_tslist *theirs, const struct ike_ts *ours, struct ike_ts *out)
	__attribute__((warn_unused_result));
/** Whether @p inner lies within @p outer. */
bool ike_ts_within(const struct ike_ts *inner, const struct ike_ts *outer);
bool ike_addr_eq(const struct ike_addr *a, const struct ike_addr *b);
/** Compare nonces as octet strings (RFC 7296 §2.8.1): <0, 0, >0. */
int ike_nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

#endif /* AT_IKE_POLICY_H */
