/* Wire I/O of the simulator's xenstored: listening sockets per domain,
 * non-blocking reads of struct xsd_sockmsg + payload, and a bounded output
 * queue per connection so a client that stops reading never blocks the
 * daemon (it is disconnected instead). Message semantics live in xsd_ops.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sim_paths.h"
#include "xsd_internal.h"

#define LOG_CTX "xenstored"

struct xsd_conn *xsd_conn_new(struct xsd *x, int fd, uint16_t domid)
{
        struct xsd_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->x = x;
        c->fd = fd;
        c->domid = domid;
        c->next_txid = 1;
        /* Appended: watch events go out in connection order. */
        struct xsd_conn **pp = &x->conns;
        while (*pp)
                pp = &(*pp)->next;
        *pp = c;
        return c;
}

void xsd_conn_free(struct xsd_conn *c)
{
        struct xsd *x = c->x;
        for (struct xsd_conn **pp = &x->conns; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        if (c->fd >= 0) {
                if (x->loop)
                        ev_del(x->loop, c->fd);
                close(c->fd);
        }
        xsd_watch_free_all(c);
        xsd_txn_free_all(c);
        while (c->out_head) {
                struct xsd_out *o = c->out_head;
                c->out_head = o->next;
                free(o);
        }
        free(c);
}

void xsd_conn_kill(struct xsd_conn *c)
{
        if (c->dead)
                return;
        /* Watches and transactions go with the connection in
         * xsd_conn_reap(): a watch list may be being walked right now. */
        c->dead = true;
}

void xsd_conn_reap(struct xsd *x)
{
        struct xsd_conn *c = x->conns;
        while (c) {
                struct xsd_conn *n = c->next;
                if (c->dead)
                        xsd_conn_free(c);
                c = n;
        }
}

static void out_push(struct xsd_conn *c, uint32_t type, const void *data, size_t len, bool event)
{
        if (c->dead)
                return;
        if (event) {
                /* send_event(): an identical event still queued is enough. */
                for (struct xsd_out *o = c->out_head; o; o = o->next)
                        if (o->event && !o->off && o->len == sizeof(struct xsd_sockmsg) + len &&
                            !memcmp(o->buf + sizeof(struct xsd_sockmsg), data, len) &&
                            ((const char *)data)[0] != '@')
                                return;
        }
        struct xsd_out *o = malloc(sizeof(*o) + sizeof(struct xsd_sockmsg) + len);
        if (!o) {
                xsd_conn_kill(c);
                return;
        }
        struct xsd_sockmsg h = {.type = type, .len = (uint32_t)len};
        if (!event && c->req) {
                h.req_id = c->req->req_id;
                h.tx_id = c->req->tx_id;
        }
        memcpy(o->buf, &h, sizeof(h));
        if (len)
                memcpy(o->buf + sizeof(h), data, len);
        o->len = sizeof(h) + len;
        o->off = 0;
        o->event = event;
        o->next = NULL;
        if (c->out_tail)
                c->out_tail->next = o;
        else
                c->out_head = o;
        c->out_tail = o;
        c->out_bytes += o->len;
        if (!event)
                c->out_replies++;
        if (c->out_bytes > XSD_OUT_CAP) {
                pv_warn(LOG_CTX, "dom%u: client stopped reading (%zu bytes queued), disconnecting",
                        c->domid, c->out_bytes);
                xsd_conn_kill(c);
        }
}

int xsd_conn_reply(struct xsd_conn *c, uint32_t type, const void *data, size_t len)
{
        /* send_reply(): an answer that does not fit a message is E2BIG. */
        if (len > XENSTORE_PAYLOAD_MAX)
                xsd_conn_error(c, E2BIG);
        else
                out_push(c, type, data, len, false);
        return 0;
}

void xsd_conn_error(struct xsd_conn *c, int err)
{
        size_t i;
        for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
                if (xsd_errors[i].errnum == err)
                        break;
        if (i == sizeof(xsd_errors) / sizeof(xsd_errors[0]))
                i = 0; /* untranslatable: EINVAL, as send_error() */
        out_push(c, XS_ERROR, xsd_errors[i].errstring, strlen(xsd_errors[i].errstring) + 1, false);
}

void xsd_conn_event(struct xsd_conn *c, const char *path, const char *token)
{
        size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
        char buf[XENSTORE_PAYLOAD_MAX];
        if (pl + tl > XENSTORE_PAYLOAD_MAX)
                return; /* over-long events are not sent */
        memcpy(buf, path, pl);
        memcpy(buf + pl, token, tl);
        out_push(c, XS_WATCH_EVENT, buf, pl + tl, true);
}

static void conn_write(struct xsd_conn *c)
{
        while (c->out_head && !c->dead) {
                struct xsd_out *o = c->out_head;
                ssize_t n =
                    send(c->fd, o->buf + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                xsd_conn_kill(c);
                        return;
                }
                o->off += (size_t)n;
                if (o->off < o->len)
                        return;
                c->out_head = o->next;
                if (!c->out_head)
                        c->out_tail = NULL;
                c->out_bytes -= o->len;
                if (!o->event)
                        c->out_replies--;
                free(o);
        }
}

static void conn_update(struct xsd_conn *c)
{
        /* domain_can_read(): an unprivileged domain with too many answers
         * pending is not read from until it catches up. */
        c->paused = !xsd_conn_priv(c) && c->out_replies >= XSD_QUOTA_OUTSTANDING;
        uint32_t mask = (c->paused ? 0 : EPOLLIN) | (c->out_head ? EPOLLOUT : 0);
        if (mask != c->ev_mask && c->x->loop && !ev_mod(c->x->loop, c->fd, mask))
                c->ev_mask = mask;
}

void xsd_conn_flush_all(struct xsd *x)
{
        for (struct xsd_conn *c = x->conns; c; c = c->next) {
                if (c->dead || c->fd < 0)
                        continue;
                conn_write(c);
                if (!c->dead)
                        conn_update(c);
        }
        xsd_conn_reap(x);
}

/* Reads one step (header or payload); returns false when nothing more can be
 * read now. */
static bool conn_read_step(struct xsd_conn *c)
{
        char *dst;
        size_t need;

        if (!c->in_have_hdr) {
                dst = (char *)&c->in_hdr + c->in_used;
                need = sizeof(c->in_hdr) - c->in_used;
        } else {
                dst = c->in_buf + c->in_used;
                need = c->in_hdr.len - c->in_used;
        }
        if (need) {
                ssize_t n = read(c->fd, dst, need);
                if (n < 0) {
                        if (errno == EINTR)
                                return true;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                xsd_conn_kill(c);
                        return false;
                }
                if (n == 0) {
                        xsd_conn_kill(c);
                        return false;
                }
                c->in_used += (size_t)n;
                if ((size_t)n < need)
                        return true;
        }
        if (!c->in_have_hdr) {
                /* handle_input(): an oversized message drops the connection. */
                if (c->in_hdr.len > XENSTORE_PAYLOAD_MAX) {
                        pv_warn(LOG_CTX, "dom%u: message of %u bytes, disconnecting", c->domid,
                                c->in_hdr.len);
                        xsd_conn_kill(c);
                        return false;
                }
                c->in_have_hdr = true;
                c->in_used = 0;
                return true;
        }
        c->in_buf[c->in_hdr.len] = 0; /* a guard: payloads are length-bounded */
        struct xsd_sockmsg hdr = c->in_hdr;
        c->in_have_hdr = false;
        c->in_used = 0;
        xsd_process(c->x, c, &hdr, c->in_buf);
        conn_write(c);
        if (!c->dead)
                conn_update(c);
        return !c->dead && !c->paused;
}

static void conn_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct xsd_conn *c = arg;
        struct xsd *x = c->x;
        (void)loop, (void)fd;

        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                while (!c->dead && !c->paused && conn_read_step(c))
                        ;
        xsd_conn_flush_all(x);
}

static void listen_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct xsd_domain *d = arg;
        (void)events;
        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        return;
                struct xsd_conn *c = xsd_conn_new(d->x, cfd, d->domid);
                if (!c || ev_add(loop, cfd, EPOLLIN, conn_cb, c)) {
                        if (c) {
                                c->fd = -1;
                                xsd_conn_free(c);
                        }
                        close(cfd);
                        continue;
                }
                c->ev_mask = EPOLLIN;
        }
}

int xsd_listen(struct xsd *x, struct xsd_domain *d)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int rc = sim_path_dom(d->sock_path, sizeof(d->sock_path), x->dir, d->domid, SIM_XS_SOCK);
        if (rc)
                return rc;
        if (strlen(d->sock_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, d->sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        unlink(d->sock_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
                rc = -errno;
                close(fd);
                return rc;
        }
        if ((rc = ev_add(x->loop, fd, EPOLLIN, listen_cb, d))) {
                close(fd);
                unlink(d->sock_path);
                return rc;
        }
        d->listen_fd = fd;
        return 0;
}

void xsd_unlisten(struct xsd *x, struct xsd_domain *d)
{
        if (d->listen_fd < 0)
                return;
        if (x->loop)
                ev_del(x->loop, d->listen_fd);
        close(d->listen_fd);
        unlink(d->sock_path);
        d->listen_fd = -1;
}
