/*
 * autotunneld: the host agent. `autotunneld -c FILE` brings up the tunnels
 * of its [peer NAME] sections (manually keyed SAs or IKEv2) over the
 * user-space ESP data plane; with [agent] account mode, the engine
 * (agent.c) adds the account's hosts as peers.
 *
 * main.c makes the parts in order and wires the callbacks between those
 * that must not know each other: IKE's RSIP sends and account-mode peer
 * events (struct ike_glue_ops), and the RSIP client's binding changes.
 * Everything may depend on main.c's choices; nothing calls into it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "autotunneld/agent.h"
#include "autotunneld/control.h"
#include "autotunneld/daemon.h"
#include "autotunneld/dpglue.h"
#include "autotunneld/dynpeer.h"
#include "autotunneld/ikeglue.h"
#include "autotunneld/peer.h"
#include "autotunneld/privsep.h"
#include "autotunneld/rsip_client.h"
#include "common/log.h"
#include "common/version.h"

/* IKE from Nb leaves through the RSIP tunnel (rsip_client.c). */
static int ike_send_rsip(void *arg, const struct sockaddr_in *local, const struct sockaddr_in *remote,
			 const uint8_t *msg, size_t len)
{
	return atd_rsip_send_ike(arg, local, remote, msg, len);
}

/* Account mode's peers hear of their tunnels (dynpeer.c). */
static void ike_dyn_event(void *arg, struct atd_rpeer *rp, const struct ike_event *ev)
{
	(void)arg;
	atd_dynpeer_ike_event(rp, ev);
}

static const struct ike_glue_ops ike_ops = { ike_send_rsip, ike_dyn_event };

/* The RSIP binding came, changed or went: account mode publishes and moves its peers. */
static void rsip_changed(void *arg)
{
	atd_agent_rsip_changed(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct atd *d = arg;

	(void)what;
	if (sig == SIGUSR1) {
		atd_dp_log_stats(d);
		return;
	}
	if (sig == SIGHUP) {
		/* tunnels to IKE peers are closed and set up anew */
		ike_glue_reconnect(d->ike);
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	if (atd_agent_shutdown(d))
		return;	/* account mode breaks the loop once its records are withdrawn */
	event_base_loopbreak(d->base);
}

static void usage(void)
{
	fprintf(stderr, "usage: autotunneld [-c FILE] [--key VALUE ...] [--version]\n"
		"Without -c, reads " ATD_CONF_DEFAULT " if it exists. With [peer NAME]\n"
		"sections, brings up those tunnels; without (and without [tunnel] ula), runs in\n"
		"account mode: `autotunnel login` signs the host in. Settings:\n");
	conf_usage(&atd_schema, stderr);
}

int main(int argc, char **argv)
{
	static struct atd d;
	struct event *sigs[4] = { 0 };
	static const int signums[4] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	enum log_level lvl = LOG_LEVEL_INFO;
	char err[512];
	int next, ret, rc = 1;

	if (version_arg_handle(argc, argv, "autotunneld"))
		return 0;
	log_init("autotunneld", LOG_LEVEL_INFO, false);
	atd_conf_init(&d.conf);
	ret = conf_parse_args(&atd_schema, &d.conf, argc, argv, &next, err, sizeof(err));
	if (ret == -EAGAIN) {
		usage();
		return 0;
	}
	if (ret) {
		fprintf(stderr, "autotunneld: %s\n", err);
		return 2;
	}
	if (next < argc) {
		fprintf(stderr, "autotunneld: unexpected argument '%s'\n", argv[next]);
		usage();
		return 2;
	}
	if (atd_conf_check(&d.conf, err, sizeof(err))) {
		fprintf(stderr, "autotunneld: %s\n", err);
		atd_conf_free(&d.conf);
		return 2;
	}
	if (d.conf.log_level && log_level_parse(d.conf.log_level, &lvl)) {
		fprintf(stderr, "autotunneld: log-level: err, warn, info or debug expected\n");
		return 2;
	}
	log_setlevel(lvl);
	signal(SIGPIPE, SIG_IGN);

	if (!(d.base = event_base_new()))
		fatalx("event loop");
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], on_signal, &d);
		if (!sigs[i] || event_add(sigs[i], NULL))
			fatalx("signals");
	}
	if (d.conf.agent_mode && atd_agent_init(&d))
		goto out;	/* the identity gives the data plane its ULA */
	if ((ret = atd_dp_start(&d, err, sizeof(err)))) {
		log_warnx("data plane: %s", err);
		goto out;
	}
	if (atd_peers_start(&d))
		goto out;
	if ((ret = ike_glue_start(&d, &ike_ops, &d, &d.ike))) {
		log_warnx("IKE: %s", strerror(-ret));
		goto out;
	}
	if ((ret = atd_rsip_start(&d, rsip_changed, &d))) {
		log_warnx("RSIP: %s", strerror(-ret));
		goto out;
	}
	if (d.conf.agent_mode && (atd_agent_start(&d) || atd_control_start(&d)))
		goto out;
	if (atd_privsep_drop(&d))	/* every socket open, one thread still */
		goto out;
	if ((ret = dp_start(d.dp))) {
		log_warnx("starting the data plane: %s", strerror(-ret));
		goto out;
	}
	log_info("up: %s, %d worker%s, %d peer%s", dp_ifname(d.dp), dp_workers(d.dp),
		 dp_workers(d.dp) == 1 ? "" : "s", d.npeers, d.npeers == 1 ? "" : "s");
	event_base_dispatch(d.base);
	rc = 0;
out:
	atd_rsip_stop(&d);
	atd_dp_log_stats(&d);
	atd_control_stop(&d);
	atd_agent_stop(&d);
	ike_glue_stop(d.ike);
	atd_peers_stop(&d);
	atd_dp_stop(&d);
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	event_base_free(d.base);
	atd_conf_free(&d.conf);
	return rc;
}
