/*
 * autotunneld's least privilege (issue 15): once started, the agent is an
 * unprivileged user with CAP_NET_ADMIN only, no_new_privs, and Landlock.
 */
#ifndef AT_AUTOTUNNELD_PRIVSEP_H
#define AT_AUTOTUNNELD_PRIVSEP_H

struct atd;

/**
 * Drop to what the agent needs after start-up (privsep.c says what and
 * why). Call after every socket is open and before the first thread
 * starts (dp_start). @return 0, or -errno (logged): the agent must stop.
 */
int atd_privsep_drop(struct atd *d) __attribute__((warn_unused_result));

#endif
