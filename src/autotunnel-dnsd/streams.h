/*
 * DNS over TCP (RFC 7766) and over TLS (RFC 7858) on the engine thread:
 * two-byte length framing, pipelined requests, idle timeouts (lifted while
 * a connection carries an LLQ), a limit on open connections, and the way
 * back for answers and LLQ events by connection id (a transport of the
 * engine, transport.h).
 */
#ifndef DNSD_STREAMS_H
#define DNSD_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
