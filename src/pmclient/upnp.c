/* UPnP IGD through libminiupnpc on a worker thread (see upnp.h). */
#include "pmclient/upnp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "common/log.h"

#define QUEUE_MAX	32
#define UPNP_DESC	"autotunnel"

/* UPnP error codes we act on (UPnP IGD WANIPConnection) */
#define UPNP_ERR_ACTION_FAILED		501
#define UPNP_ERR_CONFLICT		718
#define UPNP_ERR_ONLY_PERMANENT		725

struct upnp {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pipe[2];
	bool quit;
	bool running;
	/* under lock */
	struct upnp_job jobs[QUEUE_MAX];
	unsigned int n_jobs;
	struct upnp_result results[QUEUE_MAX];
	unsigned int n_results;
	unsigned int busy;
	bool reset;
	struct in_addr local;
	unsigned int wait_ms;
	/* the worker's own */
	bool have_igd;
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lanaddr[64];
};

static void drop_igd(struct upnp *u)
{
	if (u->have_igd)
		FreeUPNPUrls(&u->urls);
	u->have_igd = false;
}

static const char *const search_types[] = {
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
	"upnp:rootdevice",
	NULL,
};

/* Find the IGD on our network. 0, or -1 when none answers. */
static int find_igd(struct upnp *u, struct in_addr local, unsigned int wait_ms)
{
	char ifaddr[INET_ADDRSTRLEN];
	struct UPNPDev *devs;
	int err = 0, r;

	if (u->have_igd)
		return 0;
	inet_ntop(AF_INET, &local, ifaddr, sizeof(ifaddr));
	/* upnpDiscover() waits the whole delay for each of four search
	 * targets; two targets, half the wait each, keep the whole search
	 * within wait_ms (every IGD answers one of them) */
	devs = upnpDiscoverDevices(search_types, (int)(wait_ms / 2 ? wait_ms / 2 : 1),
				   local.s_addr ? ifaddr : NULL, NULL, 0, 0, 2, &err, 0);
	if (!devs) {
		log_debug("upnp: no answer to SSDP discovery (%d)", err);
		return -1;
	}
	memset(&u->urls, 0, sizeof(u->urls));
	memset(&u->data, 0, sizeof(u->data));
	r = UPNP_GetValidIGD(devs, &u->urls, &u->data, u->lanaddr, sizeof(u->lanaddr));
	freeUPNPDevlist(devs);
	if (r == 1 || r == 2) {
		u->have_igd = true;
		log_debug("upnp: IGD at %s (%s), our address %s", u->urls.controlURL,
			  r == 1 ? "connected" : "not connected", u->lanaddr);
		return 0;
	}
	if (r != 0)
		FreeUPNPUrls(&u->urls);
	log_debug("upnp: devices answered but none is an Internet Gateway Device");
	return -1;
}

int upnp_port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	/* decimal digits only: no sign, no space, no hex; 1..65535 */
	if (!s || !*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int add_mapping(struct upnp *u, const struct upnp_job *job, struct upnp_result *res)
{
	const char *proto = job->ipproto == 6 ? "TCP" : "UDP";
	char ext[8], in[8], lease[16], reserved[8] = "", addr[40] = "";
	int r;

	snprintf(in, sizeof(in), "%u", job->internal_port);
	snprintf(ext, sizeof(ext), "%u", job->external_port ? job->external_port : job->internal_port);
	snprintf(lease, sizeof(lease), "%u", job->lifetime);
	res->lifetime = job->lifetime;
	r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, ext, in, u->lanaddr,
				UPNP_DESC, proto, NULL, lease);
	if (r == UPNP_ERR_ONLY_PERMANENT) {
		res->lifetime = 0;
		r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, ext, in,
					u->lanaddr, UPNP_DESC, proto, NULL, "0");
	}
	if (r == UPNP_ERR_CONFLICT) {
		/* the port is taken: IGDv2 may offer another */
		r = UPNP_AddAnyPortMapping(u->urls.controlURL, u->data.first.servicetype, ext, in,
					   u->lanaddr, UPNP_DESC, proto, NULL, lease, reserved);
		if (r == 0)
			snprintf(ext, sizeof(ext), "%s", reserved);
	}
	if (r != 0) {
		log_debug("upnp: AddPortMapping %s %s -> %s:%s: %d %s", proto, ext, u->lanaddr, in, r,
			  strupnperror(r) ? strupnperror(r) : "");
		return r;
	}
	/* the IGD's NewReservedPort is its word, not ours: checked like any input */
	if (upnp_port_parse(ext, &res->ext_port)) {
		log_debug("upnp: AddAnyPortMapping: reserved port '%s' is not a port", ext);
		return UPNP_ERR_ACTION_FAILED;
	}
	r = UPNP_GetExternalIPAddress(u->urls.controlURL, u->data.first.servicetype, addr);
	if (r != 0 || inet_pton(AF_INET, addr, &res->ext_addr) != 1) {
		log_debug("upnp: GetExternalIPAddress: %d '%s'", r, addr);
		return r ? r : UPNP_ERR_ACTION_FAILED;
	}
	return 0;
}

static void run_job(struct upnp *u, const struct upnp_job *job, struct in_addr local,
		    unsigned int wait_ms, struct upnp_result *res)
{
	memset(res, 0, sizeof(*res));
	res->kind = job->kind;
	res->map = job->map;
	if (job->kind == UPNP_JOB_UNMAP) {
		char ext[8];

		if (!u->have_igd)
			return;
		snprintf(ext, sizeof(ext), "%u", job->external_port);
		res->result = UPNP_DeletePortMapping(u->urls.controlURL, u->data.first.servicetype,
						     ext, job->ipproto == 6 ? "TCP" : "UDP", NULL);
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (find_igd(u, local, wait_ms) < 0) {
			res->result = -1;
			return;
		}
		res->result = add_mapping(u, job, res);
		/* an HTTP failure (negative codes): the IGD may have gone or
		 * moved; discover it once more */
		if (res->result >= 0)
			return;
		drop_igd(u);
	}
	if (res->result < 0)
		res->result = -1;
}

static void *worker(void *arg)
{
	struct upnp *u = arg;

	pthread_mutex_lock(&u->lock);
	for (;;) {
		struct upnp_job job;
		struct upnp_result res;
		struct in_addr local;
		unsigned int wait_ms;
		char c = 1;

		while (!u->quit && u->n_jobs == 0)
			pthread_cond_wait(&u->cond, &u->lock);
		if (u->quit)
			break;
		job = u->jobs[0];
		memmove(&u->jobs[0], &u->jobs[1], --u->n_jobs * sizeof(u->jobs[0]));
		if (u->reset) {
			drop_igd(u);
			u->reset = false;
		}
		local = u->local;
		wait_ms = u->wait_ms;
		pthread_mutex_unlock(&u->lock);

		run_job(u, &job, local, wait_ms, &res);

		pthread_mutex_lock(&u->lock);
		if (u->n_results < QUEUE_MAX)
			u->results[u->n_results++] = res;
		u->busy--;
		if (write(u->pipe[1], &c, 1) < 0 && errno != EAGAIN)
			log_warn("upnp: wake-up pipe");
	}
	pthread_mutex_unlock(&u->lock);
	drop_igd(u);
	return NULL;
}

struct upnp *upnp_new(struct in_addr local, unsigned int wait_ms, int *fd)
{
	struct upnp *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->local = local;
	u->wait_ms = wait_ms;
	if (pipe2(u->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(u);
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	*fd = u->pipe[0];
	return u;
}

int upnp_submit(struct upnp *u, const struct upnp_job *job)
{
	int err = 0;

	/*
	 * The worker starts with the first job: a gateway that answers PCP or
	 * NAT-PMP never costs a thread, and a daemon's start-up stays single-
	 * threaded until it has dropped its privileges (privdrop.h).
	 */
	if (!u->running) {
		err = pthread_create(&u->thread, NULL, worker, u);
		if (err) {
			log_warnx("upnp: cannot start the worker: %s", strerror(err));
			return -err;
		}
		u->running = true;
	}
	pthread_mutex_lock(&u->lock);
	if (u->n_jobs == QUEUE_MAX) {
		err = -ENOMEM;
	} else {
		u->jobs[u->n_jobs++] = *job;
		u->busy++;
		pthread_cond_signal(&u->cond);
	}
	pthread_mutex_unlock(&u->lock);
	return err;
}

bool upnp_take(struct upnp *u, struct upnp_result *res)
{
	bool got = false;
	char buf[64];

	while (read(u->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&u->lock);
	if (u->n_results) {
		*res = u->results[0];
		memmove(&u->results[0], &u->results[1], --u->n_results * sizeof(u->results[0]));
		got = true;
	}
	pthread_mutex_unlock(&u->lock);
	return got;
}

unsigned int upnp_busy(struct upnp *u)
{
	unsigned int n;

	pthread_mutex_lock(&u->lock);
	n = u->busy + u->n_results;
	pthread_mutex_unlock(&u->lock);
	return n;
}

void upnp_reset(struct upnp *u, struct in_addr local)
{
	pthread_mutex_lock(&u->lock);
	u->local = local;
	u->reset = true;
	pthread_mutex_unlock(&u->lock);
}

void upnp_free(struct upnp *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->quit = true;
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
	if (u->running)
		pthread_join(u->thread, NULL);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	close(u->pipe[0]);
	close(u->pipe[1]);
	free(u);
}
