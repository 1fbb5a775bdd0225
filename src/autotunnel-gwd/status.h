/* The text of "autotunnel-gwd status": the live mappings, one a line. */
#ifndef AT_GWD_STATUS_H
#define AT_GWD_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "autotunnel-gwd/table.h"

/* Dotted quad of @p a (host order) into @p buf; 16 bytes always suffice. */
void gwd_addr_str(uint32_t a, char *buf, size_t len);

struct gwd_status_info {
	const char *wan;	/* borrowed */
	uint32_t ext_addr;	/* host order; 0 = none */
	uint32_t epoch_s;
};

/*
 * Write the status of @p t at @p now_ms to @p fp: a header line, then
 * "internal -> external port, protocol, remaining lifetime, creator" per
 * mapping, sorted by internal address and port. 0 or -ENOMEM.
 */
int gwd_status_format(FILE *fp, const struct gwd_status_info *info, const struct gwd_table *t,
		      uint64_t now_ms);

#endif
