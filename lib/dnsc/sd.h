/*
 * lib/dnsc/sd.h: wide-area DNS-SD browsing (RFC 6763) for `autotunnel
 * services`: the answers that list service types, instances, and each
 * instance's SRV and TXT, read into plain data. No I/O.
 *
 *     _services._dns-sd._udp.D  PTR  _ssh._tcp.D          (types, RFC 6763 §9)
 *     _ssh._tcp.D               PTR  H._ssh._tcp.D        (instances, §4.1)
 *     H._ssh._tcp.D             SRV  0 0 22 H.D           (§5)
 *     H._ssh._tcp.D             TXT  "..."                (§6)
 */
#ifndef AT_DNSC_SD_H
#define AT_DNSC_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/name.h"
#include "dns/msg.h"
#include "dns/name.h"

/** Service types browsed even when the account does not enumerate them. */
extern const char *const dnsc_sd_common_types[];
extern const size_t dnsc_sd_n_common_types;

/**
 * The PTR targets of the answer section whose owner is the question name
 * and that lie below @p domain: service types or instance names. Writes at
 * most @p cap into @p out, returns how many there were, or -EBADMSG.
 */
__attribute__((warn_unused_result))
int dnsc_sd_ptrs(const struct dns_msg *m, const struct dns_name *domain,
		 struct dns_name *out, size_t cap);

/** One service instance. */
struct dnsc_service {
	char instance[AGENT_LABEL_MAX * 4 + 1];	/**< the instance label, printable (escaped like dig) */
	char type[AGENT_NAME_MAX + 1];		/**< "_ssh._tcp" */
	char host[AGENT_NAME_MAX + 1];		/**< SRV target, no trailing dot */
	uint16_t port;
	bool has_srv;
	char txt[256];				/**< TXT strings joined by spaces */
};

/**
 * Fill @p s from the answers to the SRV and TXT queries of instance
 * @p inst (a name "Instance._type._proto.D"); either message may be NULL.
 * @return 0, -EINVAL for an instance name of the wrong shape, -EBADMSG.
 */
__attribute__((warn_unused_result))
int dnsc_sd_instance(struct dnsc_service *s, const struct dns_name *inst, const struct dns_name *domain,
		     const struct dns_msg *srv, const struct dns_msg *txt);

#endif /* AT_DNSC_SD_H */
