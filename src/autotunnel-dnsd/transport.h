/*
 * Where a message the engine handles came from, and the callbacks by
 * which a transport takes the answers back (slaacd's frontend/engine
 * split: the engine never calls a transport, the transports register
 * with it). Header only.
 */
#ifndef DNSD_TRANSPORT_H
#define DNSD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum q_transport { Q_UDP, Q_TCP, Q_TLS };

/** The origin of a message: a UDP socket and peer, or a stream connection. */
struct transport_src {
	enum q_transport t;
	uint64_t conn;			/* stream connection id; 0 for UDP */
	int fd;				/* UDP socket the message came in on */
	uint32_t local;			/* index of that socket's local address */
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

/** A transport's callbacks, called on the engine thread. */
struct transport_ops {
	/** Send @p msg (borrowed) to @p src: an answer, or an LLQ event (then only conn is set). */
	void (*reply)(void *arg, const struct transport_src *src, const uint8_t *msg, size_t len);
	/** The engine is done with a message of stream connection @p conn (may be NULL). */
	void (*done)(void *arg, uint64_t conn);
	/**
	 * Stream connection @p conn carries an LLQ or a DSO session now (may
	 * be NULL): the engine keeps its timers, and wants engine_conn_closed().
	 * False when the connection is gone already (a message of it was still
	 * queued): then no close will be reported.
	 */
	bool (*llq_live)(void *arg, uint64_t conn);
	/** Forcibly abort stream connection @p conn (RFC 8490 §5.3: a TCP RST; may be NULL). */
	void (*abort)(void *arg, uint64_t conn);
	/**
	 * A validly signed UPDATE or LLQ of account @p account (its id, never
	 * 0) arrived on stream connection @p conn, before its answer is sent
	 * (may be NULL). A stream counts it as that account's connection.
	 */
	void (*authenticated)(void *arg, uint64_t conn, uint32_t account);
};

#endif
