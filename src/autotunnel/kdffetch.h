/*
 * The account's key derivation parameters, fetched by `autotunnel login`
 * before it derives any key: one unsigned query for TXT _kdf.D over DNS over
 * TLS (RFC 7858) to the server the agent will use, trusted the same way (pin
 * or CA file), so the parameters cannot be swapped on the way.
 */
#ifndef AT_CLI_KDFFETCH_H
#define AT_CLI_KDFFETCH_H

#include <stddef.h>

#include "dns/keys.h"

/**
 * Ask @p server (HOST[:PORT], port 853 by default) for the parameters of the
 * account domain @p domain (canonical text, no trailing dot). Exactly one of
 * @p pin (dnsc_pin_parse() form) and @p ca (a PEM file) is not NULL.
 *
 * @return 0 with *@p out; -ENOENT when the server has no such account;
 * -EXDEV when the domain is in no zone the server serves (a wrong zone);
 * -EADDRNOTAVAIL when the server's name does not resolve; another
 * negative errno. Each with a sentence for a person in @p why.
 */
int kdf_fetch(const char *server, const char *pin, const char *ca, const char *domain,
	      struct dns_kdf *out, char *why, size_t whylen) __attribute__((warn_unused_result));

#endif
