/*
 * DNS over TCP (RFC 7766) and over TLS (RFC 7858) on the engine thread:
 * two-byte length framing, pipelined requests, idle timeouts (lifted while
 * a connection carries an LLQ), a limit on open connections, and the way
 * back for answers and LLQ events by connection id.
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

struct streams *streams_new(struct dnsd *d, struct engine *e, struct event_base *base,
			    struct ssl_ctx_st *tls);
void streams_free(struct streams *s);

/** Accept connections on listening socket @p fd (taken), plain or TLS. */
int streams_listen(struct streams *s, int fd, bool tls, char *err, size_t errlen);

/** Send one message down connection @p conn. @return 0 or -ENOENT when it is gone. */
int streams_send(struct streams *s, uint64_t conn, const uint8_t *msg, size_t len);

/** The engine finished a message it took from @p conn (answered or not). */
void streams_done(struct streams *s, uint64_t conn);

/** Connection @p conn carries an LLQ: no idle timeout any more. */
void streams_llq_live(struct streams *s, uint64_t conn);

size_t streams_count(const struct streams *s);

#endif
