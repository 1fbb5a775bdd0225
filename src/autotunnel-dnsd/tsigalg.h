/*
 * Names of the TSIG algorithms as accounts store them ("hmac-sha256"), and
 * their lib/dns values. (A small table of our own so that the account
 * commands do not depend on the TSIG code.)
 */
#ifndef DNSD_TSIGALG_H
#define DNSD_TSIGALG_H

#include "dns/tsig.h"

/** The algorithm for "hmac-sha256", "hmac-md5", ... (any case), or 0. */
enum dns_tsig_alg tsigalg_from_text(const char *text);
/** The short name of @p alg, or NULL. */
const char *tsigalg_name(enum dns_tsig_alg alg);

#endif
