#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/log.h"
#include "autotunnel-dnsd/control.h"

#define LINE_MAX_LEN 256

struct control {
	const struct control_ops *ops;
	void *arg;
	struct evconnlistener *lst;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void close_when_done(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void run_command(struct control *c, struct bufferevent *bev, const char *cmd)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp) {
		bufferevent_free(bev);
		return;
	}
	if (strcmp(cmd, "stats") == 0)
		c->ops->stats(c->arg, fp);
	else if (strcmp(cmd, "reload") == 0 && c->ops->reload(c->arg, err, sizeof(err)) == 0)
		fprintf(fp, "ok\n");
	else if (strcmp(cmd, "reload") == 0)
		fprintf(fp, "error: %s\n", err);
	else if (strncmp(cmd, "freeze ", 7) == 0 && c->ops->freeze &&
		 c->ops->freeze(c->arg, cmd + 7, err, sizeof(err)) == 0)
		fprintf(fp, "ok\n");
	else if (strncmp(cmd, "freeze ", 7) == 0)
		fprintf(fp, "error: %s\n", c->ops->freeze ? err : "not supported");
	else
		fprintf(fp, "error: unknown command '%.64s' (stats, reload, freeze NAME)\n", cmd);
	fclose(fp);
	evbuffer_add(bufferevent_get_output(bev), text, len);
	free(text);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, close_when_done, NULL, c);
	close_when_done(bev, c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF);

	if (line) {
		run_command(arg, bev, line);
		free(line);
	} else if (evbuffer_get_length(in) > LINE_MAX_LEN) {
		bufferevent_free(bev);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[LINE_MAX_LEN + 1];
	size_t n;

	if ((what & BEV_EVENT_EOF) && (n = evbuffer_get_length(in)) > 0 && n <= LINE_MAX_LEN) {
		/* a command without its newline */
		evbuffer_remove(in, line, n);
		line[n] = '\0';
		run_command(arg, bev, line);
		return;
	}
	bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
							 BEV_OPT_CLOSE_ON_FREE);
	struct timeval tv = { .tv_sec = 10 };

	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, arg);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct control *control_new(const struct control_ops *ops, void *arg, struct event_base *base,
			    const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	int fd, probe;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	/* a socket left by a dead server is removed; a live server is an error */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		snprintf(err, errlen, "%s: another server is running on this database", path);
		return NULL;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ops = ops;
	c->arg = arg;
	strcpy(c->path, path);
	c->lst = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!c->lst) {
		close(fd);
		free(c);
		snprintf(err, errlen, "control socket %s: cannot listen", path);
		return NULL;
	}
	return c;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->lst);
	unlink(c->path);
	free(c);
}
