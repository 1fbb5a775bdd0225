/*
 * DNS over TCP (RFC 7766) and over TLS (RFC 7858) on the engine thread:
 * two-byte length framing, pipelined requests, and the way back for
 * answers and LLQ events by connection id (a transport of the engine,
 * transport.h). A connection on the Internet holds only what its limits
 * allow: connections in all, per client address and per account; output
 * waiting for the client (past tcp-output-max its requests are read no
 * more); the time a TLS handshake, a partial message and an idle
 * connection may take (idle is unbounded only with a signed LLQ on it).
 */
#ifndef DNSD_STREAMS_H
#define DNSD_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct dnsd;
struct engine;
struct event_base;
struct ssl_ctx_st;
struct streams;

/**
 * Serve streams for engine @p e, and register with it as the transport of
 * stream answers and events (engine_set_stream_transport()).
 */
struct streams *streams_new(struct dnsd *d, struct engine *e, struct event_base *base,
			    struct ssl_ctx_st *tls);
void streams_free(struct streams *s);

/** Accept connections on listening socket @p fd (taken), plain or TLS. */
int streams_listen(struct streams *s, int fd, bool tls, char *err, size_t errlen);

size_t streams_count(const struct streams *s);

/** Print the counters of connections refused or closed by a limit ("name value" lines). */
void streams_print_stats(const struct streams *s, FILE *fp);

#endif
