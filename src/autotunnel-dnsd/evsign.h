/*
 * TSIG signing of LLQ events (RFC 8945 §4.3.3, as a request is signed: an
 * event is unsolicited, so its MAC covers no earlier MAC).
 *
 * A server with thousands of watchers signs thousands of events for one
 * change; lib/dns builds a new HMAC context for every message, which costs
 * more than the rest of an event. Here each account keeps one keyed
 * context, and every event re-initialises it without a key, which starts
 * the HMAC again from the keyed state (about 0.3 µs an event, half of
 * what a copy of the context costs). Engine thread only.
 */
#ifndef DNSD_EVSIGN_H
#define DNSD_EVSIGN_H

#include <stddef.h>
#include <stdint.h>

struct account;

/**
 * Append a TSIG record signed with @p acc's key to the finished message
 * @p buf of @p len bytes (room up to @p cap). @return 0 with *@p outlen,
 * -ENOSPC, -EINVAL or -EIO.
 */
int evsign(struct account *acc, uint8_t *buf, size_t len, size_t cap, size_t *outlen, uint64_t now)
	__attribute__((warn_unused_result));

/** Bytes the TSIG record of @p acc takes. */
size_t evsign_space(const struct account *acc);

/** Free the cached context of an account (accounts_free() frees it through acc->mac_free). */
void evsign_forget(struct account *acc);

#endif
