/*
 * UPnP IGD through libminiupnpc, on a worker thread: libminiupnpc blocks
 * (SSDP discovery waits, SOAP over HTTP), so jobs run one at a time on
 * their own thread and results come back to the event loop through a
 * pipe. Owned by one pmclient; every function but the worker is called
 * from the event loop's thread.
 */
#ifndef AT_PMCLIENT_UPNP_H
#define AT_PMCLIENT_UPNP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct upnp;

enum upnp_job_kind { UPNP_JOB_MAP, UPNP_JOB_UNMAP };

struct upnp_job {
	enum upnp_job_kind kind;
	unsigned int map;		/* the portmap index, echoed in the result */
	uint8_t ipproto;		/* 17 UDP, 6 TCP */
	uint16_t internal_port;
	uint16_t external_port;		/* wanted (MAP) or held (UNMAP) */
	uint32_t lifetime;		/* lease asked for, seconds */
};

struct upnp_result {
	enum upnp_job_kind kind;
	unsigned int map;
	int result;			/* 0, -1 no IGD, > 0 UPnP error code */
	struct in_addr ext_addr;
	uint16_t ext_port;
	uint32_t lifetime;		/* granted: what was asked, or 0 if only permanent leases */
};

/** A port number as UPnP writes it (decimal, 1..65535, nothing else): 0 or -EINVAL. */
int upnp_port_parse(const char *s, uint16_t *port) __attribute__((warn_unused_result));

/**
 * Make the client; its worker thread starts with the first job. @p local
 * is our address toward the gateway (SSDP goes out of that interface);
 * @p wait_ms the SSDP discovery wait. Returns NULL on failure (errno set).
 * *fd gets the descriptor to watch for results.
 */
struct upnp *upnp_new(struct in_addr local, unsigned int wait_ms, int *fd);
/** Queue a job (copied), starting the worker if it is not yet. 0, -ENOMEM or -errno. */
int upnp_submit(struct upnp *u, const struct upnp_job *job) __attribute__((warn_unused_result));
/** Take the next finished result; false when none is waiting. Drains the pipe. */
bool upnp_take(struct upnp *u, struct upnp_result *res);
/** Jobs queued or running. */
unsigned int upnp_busy(struct upnp *u);
/** Forget the IGD found so far (after a network change); @p local is the new address. */
void upnp_reset(struct upnp *u, struct in_addr local);
/** Stop the worker (after its current job) and free everything. */
void upnp_free(struct upnp *u);

#endif
