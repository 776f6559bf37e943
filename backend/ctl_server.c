/* The control socket's plumbing: taking the path, accepting clients and
 * moving their one request and one answer without ever blocking the control
 * thread. What a request means is ctl_cmd.c's business.
 *
 * One pvbackd per socket path: a lock file beside the socket ("<path>.lock",
 * flock) says whether its owner is alive, which a connect() test cannot say
 * without a race between two daemons starting at once. Whoever holds the
 * lock owns the path, so a socket found there is a dead daemon's and is
 * replaced. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "devmgr.h"
#include "evloop.h"
#include "log.h"

/* Concurrent clients. When all are taken, the one that has waited longest
 * without sending its request makes room: a client that connects and says
 * nothing must not lock others out. */
#define CTL_MAX_CLIENTS 32
/* Connections taken per wake-up, so a flood cannot starve xenstore events. */
#define CTL_ACCEPT_BATCH 16
#define CTL_TICK_MS      1000

struct ctl_client {
        struct ctl_server *srv;
        int fd;
        bool answering; /* request taken, answer being written */
        size_t req_len;
        char req[CTL_REQ_MAX + 1];
        char *rsp;
        size_t rsp_len, rsp_off;
        uint64_t accepted_ms, deadline_ms;
        uint64_t seq; /* accept order: many clients share a millisecond */
        struct ctl_client *next;
};

struct ctl_server {
        char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
        int listen_fd, lock_fd, timer_fd;
        bool timer_armed;
        struct ev_loop *loop; /* set once serving */
        struct ctl_cmd_ctx ctx;
        struct ctl_info info;
        struct ctl_client *clients;
        unsigned nr_clients;
        uint64_t next_seq;
};

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- taking the path ------------------------------------------------------ */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return rc;
}

/* pvbackd chdirs to / when it daemonizes and removes the socket at exit: a
 * relative path would then name another file. */
static int absolute_path(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
        char cwd[PATH_MAX];
        int n;
        if (path[0] == '/') {
                n = snprintf(buf, len, "%s", path);
        } else {
                if (!getcwd(cwd, sizeof(cwd)))
                        return fail(err, errlen, -errno, "cannot resolve %s: %s", path,
                                    strerror(errno));
                n = snprintf(buf, len, "%s/%s", cwd, path);
        }
        if (n < 0 || (size_t)n >= len)
                return fail(err, errlen, -ENAMETOOLONG,
                            "control socket path %s is too long (a Unix socket takes %zu bytes)",
                            path, len - 1);
        return 0;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
        char dir[PATH_MAX];
        struct stat st;
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (stat(dir, &st) == 0)
                return S_ISDIR(st.st_mode)
                           ? 0
                           : fail(err, errlen, -ENOTDIR, "%s is not a directory", dir);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return fail(err, errlen, -errno, "cannot create directory %s: %s", dir,
                            strerror(errno));
        /* mkdir honours the umask; the mode is part of the interface. */
        if (chmod(dir, 0755) < 0)
                return fail(err, errlen, -errno, "cannot set the mode of %s: %s", dir,
                            strerror(errno));
        return 0;
}

/* The previous owner unlinks the lock file while still holding it; a lock
 * on a file no longer at the path protects nothing, so retry until the file
 * locked is the file the path names. */
static int take_lock(struct ctl_server *s, char *err, size_t errlen)
{
        for (int tries = 0; tries < 8; tries++) {
                struct stat held, named;
                int fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return fail(err, errlen, -errno, "cannot open %s: %s", s->lock_path,
                                    strerror(errno));
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        int e = errno;
                        close(fd);
                        if (e == EWOULDBLOCK)
                                return fail(err, errlen, -EADDRINUSE,
                                            "another pvbackd is serving %s (it holds %s); stop "
                                            "it first, or give this one --control-socket PATH",
                                            s->path, s->lock_path);
                        return fail(err, errlen, -e, "cannot lock %s: %s", s->lock_path,
                                    strerror(e));
                }
                if (fstat(fd, &held) == 0 && stat(s->lock_path, &named) == 0 &&
                    held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
                        s->lock_fd = fd;
                        return 0;
                }
                close(fd);
        }
        return fail(err, errlen, -EAGAIN, "%s keeps changing under us", s->lock_path);
}

static int bind_socket(struct ctl_server *s, char *err, size_t errlen)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;

        if (lstat(s->path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return fail(err, errlen, -EEXIST,
                                    "%s exists and is not a socket; remove it or give "
                                    "--control-socket another path",
                                    s->path);
                /* We hold the lock: whoever made it is gone. */
                pv_info("pvbackd", "replacing the stale control socket %s", s->path);
                if (unlink(s->path) < 0 && errno != ENOENT)
                        return fail(err, errlen, -errno, "cannot remove the stale %s: %s", s->path,
                                    strerror(errno));
        }
        memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->listen_fd < 0)
                return fail(err, errlen, -errno, "socket: %s", strerror(errno));
        /* Root only from the first moment: the umask decides the mode bind
         * creates the node with. */
        mode_t old = umask(0177);
        int rc = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
        int e = errno;
        umask(old);
        if (rc < 0)
                return fail(err, errlen, -e, "cannot bind %s: %s", s->path, strerror(e));
        if (chmod(s->path, 0600) < 0 || listen(s->listen_fd, 64) < 0)
                return fail(err, errlen, -errno, "cannot listen on %s: %s", s->path,
                            strerror(errno));
        return 0;
}

int ctl_server_open(const char *path, struct ctl_server **out, char *err, size_t errlen)
{
        struct ctl_server *s = calloc(1, sizeof(*s));
        int rc;
        if (!s)
                return fail(err, errlen, -ENOMEM, "out of memory");
        s->listen_fd = s->lock_fd = s->timer_fd = -1;
        if ((rc = absolute_path(path, s->path, sizeof(s->path), err, errlen)) < 0)
                goto out;
        snprintf(s->lock_path, sizeof(s->lock_path), "%s.lock", s->path);
        if ((rc = make_dir(s->path, err, errlen)) < 0 || (rc = take_lock(s, err, errlen)) < 0)
                goto out;
        if ((rc = bind_socket(s, err, errlen)) < 0) {
                unlink(s->lock_path);
                goto out;
        }
        *out = s;
        return 0;
out:
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s);
        return rc;
}

/* ---- clients ---------------------------------------------------------------- */

static void arm_timer(struct ctl_server *s, bool on)
{
        struct itimerspec its = {0};
        if (on == s->timer_armed)
                return;
        if (on) {
                its.it_value.tv_sec = CTL_TICK_MS / 1000;
                its.it_value.tv_nsec = (CTL_TICK_MS % 1000) * 1000000L;
                its.it_interval = its.it_value;
        }
        if (timerfd_settime(s->timer_fd, 0, &its, NULL) == 0)
                s->timer_armed = on;
}

/* What the client sent past its request. Closing a Unix socket with unread
 * data makes the peer's next read fail with ECONNRESET instead of seeing
 * the end of the answer; a bounded drain spares well-meaning clients that. */
static void client_drain(int fd)
{
        char sink[1024];
        for (int i = 0; i < 4 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
                ;
}

static void client_drop(struct ctl_client *c)
{
        struct ctl_server *s = c->srv;
        client_drain(c->fd);
        for (struct ctl_client **pp = &s->clients; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        s->nr_clients--;
        ev_del(s->loop, c->fd);
        close(c->fd);
        free(c->rsp);
        free(c);
        if (!s->nr_clients)
                arm_timer(s, false);
}

/* A few bytes to a client we are about to close, if its socket takes them
 * now; never waits. */
static void send_now(int fd, const char *text)
{
        if (text && send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                pv_debug("pvbackd", "control client gone before its answer: %s", strerror(errno));
}

/* Writes what the socket takes; the client is closed once all went (or
 * the socket failed). */
static void client_flush(struct ctl_client *c)
{
        while (c->rsp_off < c->rsp_len) {
                ssize_t n = send(c->fd, c->rsp + c->rsp_off, c->rsp_len - c->rsp_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        c->rsp_off += (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        ev_mod(c->srv->loop, c->fd, EPOLLOUT);
                        return;
                }
                pv_debug("pvbackd", "control client gone during its answer: %s",
                         n < 0 ? strerror(errno) : "closed");
                break;
        }
        client_drop(c);
}

static void client_answer(struct ctl_client *c, char *rsp)
{
        if (!rsp) {
                pv_warn("pvbackd", "control request dropped: out of memory");
                client_drop(c);
                return;
        }
        c->answering = true;
        c->rsp = rsp;
        c->rsp_len = strlen(rsp);
        c->deadline_ms = now_ms() + CTL_CLIENT_TIMEOUT_MS;
        client_flush(c);
}

/* Takes what the client sent; answers once a line is complete. */
static void client_read(struct ctl_client *c)
{
        for (;;) {
                size_t room = CTL_REQ_MAX - c->req_len;
                ssize_t n = room ? read(c->fd, c->req + c->req_len, room) : 0;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n < 0) {
                        client_drop(c);
                        return;
                }
                char *nl = n > 0 ? memchr(c->req + c->req_len, '\n', (size_t)n) : NULL;
                c->req_len += (size_t)n;
                if (nl || (n == 0 && room && c->req_len)) {
                        /* A line, or the client closed its side after one. */
                        size_t len = nl ? (size_t)(nl - c->req) : c->req_len;
                        if (len && c->req[len - 1] == '\r')
                                len--;
                        c->req[len] = '\0';
                        client_answer(c, ctl_cmd_run(&c->srv->ctx, c->req));
                        return;
                }
                if (n == 0 && room) {
                        client_drop(c); /* closed without asking anything */
                        return;
                }
                if (c->req_len == CTL_REQ_MAX) {
                        client_answer(c, ctl_cmd_error(CTL_ERR_TOO_LONG,
                                                       "a request is one line of at most %d "
                                                       "bytes including its newline",
                                                       CTL_REQ_MAX));
                        return;
                }
        }
}

static void on_client(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct ctl_client *c = arg;
        (void)loop;
        (void)fd;
        if (c->answering) {
                client_flush(c);
                return;
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                client_read(c);
}

/* All slots taken: the oldest client that has not sent its request goes. */
static bool evict_one(struct ctl_server *s)
{
        struct ctl_client *victim = NULL;
        for (struct ctl_client *c = s->clients; c; c = c->next)
                if (!c->answering && (!victim || c->seq < victim->seq))
                        victim = c;
        if (!victim)
                return false;
        uint64_t silent = now_ms() - victim->accepted_ms;
        char *msg = ctl_cmd_error(CTL_ERR_BUSY,
                                  "dropped after %llu ms without a request: %d other clients "
                                  "were waiting",
                                  (unsigned long long)silent, CTL_MAX_CLIENTS);
        pv_debug("pvbackd", "control socket full: dropping a client silent for %llu ms",
                 (unsigned long long)silent);
        send_now(victim->fd, msg);
        free(msg);
        client_drop(victim);
        return true;
}

static void on_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct ctl_server *s = arg;
        (void)events;
        for (int i = 0; i < CTL_ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE)
                                pv_warn("pvbackd", "control socket: %s", strerror(errno));
                        return;
                }
                if (s->nr_clients >= CTL_MAX_CLIENTS && !evict_one(s)) {
                        char *busy = ctl_cmd_error(CTL_ERR_BUSY,
                                                   "pvbackd is answering %d clients; try again",
                                                   CTL_MAX_CLIENTS);
                        send_now(cfd, busy);
                        free(busy);
                        close(cfd);
                        continue;
                }
                struct ctl_client *c = calloc(1, sizeof(*c));
                if (!c || ev_add(loop, cfd, EPOLLIN, on_client, c) < 0) {
                        free(c);
                        close(cfd);
                        continue;
                }
                c->srv = s;
                c->fd = cfd;
                c->accepted_ms = now_ms();
                c->seq = s->next_seq++;
                c->deadline_ms = c->accepted_ms + CTL_CLIENT_TIMEOUT_MS;
                c->next = s->clients;
                s->clients = c;
                s->nr_clients++;
                arm_timer(s, true);
        }
}

static void on_tick(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct ctl_server *s = arg;
        uint64_t expirations, now = now_ms();
        (void)loop;
        (void)events;
        if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                pv_debug("pvbackd", "control timer: %s", strerror(errno));
        for (struct ctl_client *c = s->clients, *next; c; c = next) {
                next = c->next;
                if (now < c->deadline_ms)
                        continue;
                if (!c->answering) {
                        char *msg = ctl_cmd_error(CTL_ERR_BAD_REQUEST,
                                                  "no complete request line within %d ms",
                                                  CTL_CLIENT_TIMEOUT_MS);
                        send_now(c->fd, msg);
                        free(msg);
                }
                pv_debug("pvbackd", "control client timed out %s",
                         c->answering ? "taking its answer" : "before its request");
                client_drop(c);
        }
}

int ctl_server_start(struct ctl_server *s, struct devmgr *mgr, const struct ctl_info *info)
{
        int rc;
        s->info = *info;
        s->ctx = (struct ctl_cmd_ctx){.mgr = mgr, .info = &s->info, .started_ns = now_ns()};
        s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->timer_fd < 0)
                return -errno;
        s->loop = devmgr_loop(mgr);
        if ((rc = ev_add(s->loop, s->timer_fd, EPOLLIN, on_tick, s)) < 0)
                goto undo_timer;
        if ((rc = ev_add(s->loop, s->listen_fd, EPOLLIN, on_accept, s)) < 0)
                goto undo_add;
        pv_info("pvbackd", "control socket %s", s->path);
        return 0;
undo_add:
        ev_del(s->loop, s->timer_fd);
undo_timer:
        close(s->timer_fd);
        s->timer_fd = -1;
        s->loop = NULL;
        return rc;
}

void ctl_server_close(struct ctl_server *s)
{
        if (!s)
                return;
        while (s->clients)
                client_drop(s->clients);
        if (s->loop) {
                ev_del(s->loop, s->listen_fd);
                ev_del(s->loop, s->timer_fd);
        }
        if (s->timer_fd >= 0)
                close(s->timer_fd);
        close(s->listen_fd);
        unlink(s->path);
        /* Unlinked while still held: see take_lock. */
        unlink(s->lock_path);
        close(s->lock_fd);
        free(s);
}
