/*
 * src/autotunneld/ping6: ICMPv6 echo (RFC 4443 §4.1) from our ULA, so the
 * requests go through the tunnels: `autotunnel ping`, and the nudges that
 * carry our new address to a peer after we moved. One raw socket; only
 * replies to our own requests (our identifier and magic) are reported.
 *
 * Threads: the daemon's event-loop thread only.
 */
#ifndef AT_AUTOTUNNELD_PING6_H
#define AT_AUTOTUNNELD_PING6_H

#include <stdint.h>

#include <event2/event.h>

struct ping6;

/**
 * An echo reply to our request @p seq from @p from (borrowed), @p rtt_us
 * microseconds after it left (UINT32_MAX at most): a LAN answers in less
 * than a millisecond.
 */
typedef void (*ping6_reply_fn)(void *arg, const uint8_t from[16], uint16_t seq, uint32_t rtt_us);

/**
 * Open the socket bound to @p ula; replies go to @p fn with @p arg. 0 with
 * *@p out NULL when the socket cannot be had (logged: pings will not work),
 * or -errno (no random identifier, out of memory).
 */
int ping6_open(struct ping6 **out, struct event_base *base, const uint8_t ula[16], ping6_reply_fn fn,
	       void *arg);
/** Close. NULL is fine. */
void ping6_close(struct ping6 *p);
/** Send one echo request with sequence number @p seq to @p to. 0 or -errno (-EBADF: @p p is NULL). */
int ping6_send(struct ping6 *p, const uint8_t to[16], uint16_t seq);

#endif
