/*
 * bench/dns/client.h: the client parts that llqbench, tlswatch and
 * pushbench share: the TSIG key from the command line, the signed query
 * and UPDATE they send, the kernel's arrival stamps, CPU time, and the
 * TLS connections of the watchers (set up without blocking, from many
 * 127/8 source addresses).
 *
 * Compiled into each of them by bench/dns/run.sh. Not part of the
 * product: a benchmark client may print, sleep and exit.
 */
#ifndef AT_BENCH_DNS_CLIENT_H
#define AT_BENCH_DNS_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "dns/edns.h"
#include "dns/msg.h"
#include "dns/tsig.h"

/* Connections from one source address: the server's default per-address limit. */
#define BENCH_PER_ADDRESS 32
/* The zone that bench/dns/run.sh serves. */
#define BENCH_ZONE "members.example.net"

/* Wall-clock time in ms (comparable with the kernel's SO_TIMESTAMPNS stamps). */
double bench_now_ms(void);

/* The SCM_TIMESTAMPNS stamp of received @p mh in ms, or @p dflt when it has none. */
double bench_stamp_of(struct msghdr *mh, double dflt);

/* User plus system CPU time of @p ru, ms. */
double bench_rusage_ms(const struct rusage *ru);

/*
 * CPU time (ms) of every thread of process @p pid so far, from
 * /proc/PID/task/TID/schedstat (nanoseconds on the CPU); -1 when unknown.
 */
double bench_proc_cpu_ms(long pid);

/* qsort() order of doubles, smallest first. */
int bench_cmp_double(const void *a, const void *b);

/*
 * Set @p key from @p text, "alg:keyname:base64" (as `autotunnel-dnsd
 * account show --tsig` prints it); @p text is cut up in place. 0 or -1.
 */
int bench_key_parse(char *text, struct dns_tsig_key *key);

/*
 * A query for @p name type @p type with id @p id and EDNS, carrying the
 * LLQ option @p llq unless NULL, signed with @p key, into @p buf (@p cap
 * bytes). @return its length, 0 when it did not fit.
 */
size_t bench_query_sign(uint8_t *buf, size_t cap, const struct dns_tsig_key *key, uint16_t id,
			const struct dns_name *name, uint16_t type, const struct dns_llq *llq);

/* Frame the message of @p len bytes built at @p buf + 2 for a stream (RFC 7766 §8); @return len + 2. */
size_t bench_frame(uint8_t *buf, size_t len);

/* The LLQ option of parsed message @p m into @p llq. 0 or -1. */
int bench_llq_of(const struct dns_msg *m, struct dns_llq *llq);

/*
 * Send on connected UDP socket @p fd the signed (@p key) UPDATE of @p zone
 * with id @p id that replaces the addresses of @p name with @p addr
 * (RFC 2136 §2.5.2, §2.5.1), with an Update Lease, and wait up to 5 s
 * for its answer. @p answered gets the kernel's stamp of the answer (the
 * socket has SO_TIMESTAMPNS on). @return the answer's rcode, -1 when none came.
 */
int bench_update(int fd, const struct dns_tsig_key *key, const struct dns_name *zone,
		 const struct dns_name *name, const uint8_t addr[static 4], uint16_t id, double *answered);

/* A TLS client context that neither checks the server (this measures the server) nor keeps sessions. */
SSL_CTX *bench_tls_ctx_new(void);

/*
 * The source address of connection @p i: @p net (127.X.0.0, host order)
 * with BENCH_PER_ADDRESS connections an address, 127.X.0.1 onwards.
 */
uint32_t bench_source_of(uint32_t net, int i);

/*
 * Start a non-blocking TCP connection from @p src (host order) to
 * @p server, added to epoll set @p ep for EPOLLOUT with data @p ptr,
 * SO_TIMESTAMPNS on when @p stamps. @return the socket, -1 on failure.
 */
int bench_tcp_start(int ep, void *ptr, uint32_t src, const struct sockaddr_in *server, bool stamps);

/*
 * Go on with the TLS handshake of @p ssl on socket @p fd, waiting in
 * epoll set @p ep (data @p ptr) for what it wants. @return 1 done,
 * 0 waiting, -1 failed.
 */
int bench_tls_handshake(int ep, int fd, void *ptr, SSL *ssl);

/* Wait in @p ep for @p events on @p fd, with data @p ptr. 0 or -1. */
int bench_epoll_mod(int ep, int fd, void *ptr, uint32_t events);

/* Is the connection of socket @p fd, started by bench_tcp_start(), up? 0 yes, -1 failed. */
int bench_tcp_connected(int fd);

/* Drop TLS connection @p ssl (with its BIO; may be NULL) on socket @p fd from @p ep and close it. */
void bench_tls_close(int ep, int fd, SSL *ssl);

#endif
