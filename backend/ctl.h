/* pvbackd's control socket (protocol in common/ctl_proto.h): operators and
 * tests read the daemon's and every device's state here instead of from log
 * lines. It is served on the control thread's loop, the thread that also
 * creates and tears down devices, so a request always sees a consistent
 * device table and nothing it reads is freed under it. A client never
 * blocks the daemon: sockets are non-blocking, requests bounded, and silent
 * or slow clients are dropped. Only `set` changes anything, through the
 * device classes' set hooks. */
#ifndef PVBACK_CTL_H
#define PVBACK_CTL_H

#include <stddef.h>
#include <stdint.h>

struct devmgr;
struct ctl_server;

/* What `show` reports about the daemon itself. */
struct ctl_info {
        const char *hypervisor; /* provider name: "xen", "sim" */
        unsigned workers;
};

/* Takes the socket at path: creates its directory (mode 0755) when missing,
 * refuses when a live pvbackd holds the path (-EADDRINUSE), replaces a
 * stale socket left by a dead one, binds (mode 0600) and listens. Meant to
 * run before daemonizing, so a refusal reaches the terminal. 0, or -errno
 * with a sentence in err. */
int ctl_server_open(const char *path, struct ctl_server **out, char *err, size_t errlen);
/* Serves requests on mgr's loop from now on. 0 or -errno. */
int ctl_server_start(struct ctl_server *srv, struct devmgr *mgr, const struct ctl_info *info);
/* Drops every client, removes the socket; NULL is fine. */
void ctl_server_close(struct ctl_server *srv);

/* ctl_cmd.c: one request line (no newline) to its answer, a malloc'd JSON
 * text ending in '\n'; NULL only when out of memory. Control thread. */
struct ctl_cmd_ctx {
        struct devmgr *mgr;
        const struct ctl_info *info;
        uint64_t started_ns; /* CLOCK_MONOTONIC at start, for the uptime */
};
char *ctl_cmd_run(const struct ctl_cmd_ctx *ctx, const char *line);
/* An error answer: {"error": {"code": code, "message": ...}} and '\n'. */
char *ctl_cmd_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
