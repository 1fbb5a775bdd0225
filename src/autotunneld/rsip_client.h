/*
 * src/autotunneld/rsip_client: the agent as an RSIP client (RFC 3103 with
 * the IPsec extension of RFC 3104), on lib/rsip's client helper.
 *
 * With `[rsip] gateway = ADDR|auto`, the agent registers with the gateway
 * over TCP 4555 and, if the gateway offers RSIPSEC, borrows its public
 * address Nb with a set of SPIs and one ephemeral IKE port
 * (ASSIGN_REQUEST_RSIPSEC). Then every IKE peer with a known address is
 * reached from Nb: IKEv2 from Nb and the lent port, the lent SPIs as our
 * inbound SPIs, native ESP through the gateway's IP-in-IP tunnel. The
 * binding is extended before it lapses and freed on exit, then the agent
 * de-registers. If the gateway is unreachable, refuses, or offers no
 * RSIPSEC, the peers use the ordinary path (ESP in UDP) and RSIP is tried
 * again later.
 *
 * Runs on autotunneld's event loop; one thread.
 */
#ifndef AT_AUTOTUNNELD_RSIP_CLIENT_H
#define AT_AUTOTUNNELD_RSIP_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct atd;
struct atd_peer;
struct dp_path;
struct ike_glue_rsip;

/**
 * Start the client if [rsip] is configured (after ike_glue_start). @p changed
 * (with @p arg) is called whenever the binding came, changed or went (account
 * mode publishes Nb and moves its peers). 0 or -errno.
 */
int atd_rsip_start(struct atd *d, void (*changed)(void *arg), void *arg);
/**
 * Leave: tunnels through RSIP are closed (Delete sent to the peers), the
 * binding is freed (FREE) and the client de-registers (DE-REGISTER), waiting
 * for the gateway's answers at most about 2 s (running the event loop).
 */
void atd_rsip_stop(struct atd *d);

/**
 * The public address and IKE port the gateway lent us, for publishing
 * (RFC 3104 Appendix G: a peer may start IKE to that port): 0, or -ENOENT
 * while we hold no binding.
 */
int atd_rsip_public(const struct atd *d, struct sockaddr_in *out);

/**
 * The binding as lib/ike and the data plane need it (account mode's peers,
 * dynpeer.c): Nb, the IKE port and the lent SPIs in @p gr, the IP-in-IP
 * path in @p path. 0, or -ENOENT while we hold no binding.
 */
int atd_rsip_binding(const struct atd *d, struct ike_glue_rsip *gr, struct dp_path *path);

/**
 * Send an IKE message from @p local to @p remote through the RSIP tunnel
 * if @p local is Nb: 0 or -errno; -ENOENT when @p local is not ours
 * through RSIP (send it the ordinary way).
 */
int atd_rsip_send_ike(struct atd *d, const struct sockaddr_in *local, const struct sockaddr_in *remote,
		      const uint8_t *msg, size_t len);

#endif
