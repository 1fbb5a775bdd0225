/*
 * src/autotunneld/dpglue: the data plane inside the daemon: made from
 * [tunnel], and what its workers report (packets waiting for an SA, IKE
 * messages, roaming peers, SAs near the end of their sequence space)
 * handed to ikeglue.c, or to dynpeer.c for account mode's peers.
 */
#ifndef AT_AUTOTUNNELD_DPGLUE_H
#define AT_AUTOTUNNELD_DPGLUE_H

#include <stddef.h>

struct atd;

int atd_dp_start(struct atd *d, char *err, size_t errlen);
void atd_dp_stop(struct atd *d);
void atd_dp_log_stats(struct atd *d);

#endif
