/*
 * Fuzz the account view (lib/dnsc view.c): the input is a sequence of
 * messages (2-byte length each) applied as snapshots and LLQ events, with
 * the changes drained after each. Nothing may crash, every reported peer
 * must be a host of the account (H.D, not this host), and a host reported
 * gone must have been reported before. The account authority's notes
 * (`_revoked.D`, and every peer's `_renew.H.D`) are watched too: a note
 * given out must be one of them.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsc/view.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define D "alice.members.example.net"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsc_view v;
	static struct dns_msg m;
	static struct dnsc_question q[DNSC_LLQ_MAX];
	static char seen[64][AGENT_NAME_MAX + 1];
	struct wire w = wire_reader(data, size);
	unsigned nseen = 0, steps = 0;

	struct dns_name note, rv;

	if (dnsc_view_init(&v, D, "laptop") || dns_name_from_text(&rv, "_revoked." D) ||
	    dnsc_view_notes_set(&v, &rv, 1))
		return 0;
	v.watch_renew = true;
	while (wire_avail(&w) > 3 && steps++ < 64) {
		uint8_t mode = wire_read_u8(&w);
		uint16_t len = wire_read_u16(&w);
		const uint8_t *msg = wire_read_ref(&w, len);
		struct dnsc_peer p;
		enum dnsc_change c;

		if (!msg)
			break;
		if (dns_msg_parse(&m, msg, len))
			continue;
		if (dnsc_view_apply(&v, &m, (mode & 1) ? DNSC_APPLY_EVENT : DNSC_APPLY_SNAPSHOT))
			continue;
		while ((c = dnsc_view_next_change(&v, &p)) != DNSC_CHANGE_NONE) {
			size_t fl = strlen(p.fqdn), ll = strlen(p.label);

			assert(fl > ll + 1 && strcmp(p.fqdn + ll + 1, D) == 0 && p.fqdn[ll] == '.');
			assert(strncmp(p.fqdn, p.label, ll) == 0 && strcmp(p.label, "laptop") != 0);
			if (c == DNSC_CHANGE_UPDATE) {
				assert(p.has_outer || p.port == 0);
				if (nseen < 64)
					strcpy(seen[nseen++], p.fqdn);
			} else {
				bool was = nseen == 64;

				for (unsigned i = 0; i < nseen && !was; i++)
					was = strcmp(seen[i], p.fqdn) == 0;
				assert(was);
			}
		}
		while (dnsc_view_next_note(&v, &note) == 1) {
			const uint8_t *l;
			size_t n = dns_name_first_label(&note, &l);

			assert(dns_name_equal(&note, &rv) ||
			       (n == 6 && memcmp(l, "_renew", 6) == 0 && dns_name_is_below(&note, &v.domain)));
		}
		(void)dnsc_view_questions(&v, q, DNSC_LLQ_MAX);
		(void)dnsc_view_extra_questions(&v, q, DNSC_LLQ_MAX);
	}
	assert(dnsc_view_count(&v) <= DNSC_VIEW_HOSTS);
	return 0;
}
