/* The simulator's event-channel hypervisor: the single owner of every domain's
 * ports, with Xen's states and rules (xen/common/event_channel.c) and the
 * mask-on-delivery behaviour of Linux's evtchn driver. Clients are the sim
 * provider's handles (common/xh_sim_evtchn.c); the protocol is in
 * common/xh_sim_evtchn_proto.h. Not a data path: one epoll loop, no threads. */
#include "evtchn_broker.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>

#include "log.h"
#include "sim_paths.h"
#include "xh_sim_evtchn_proto.h"

#define EB_MAX_PORTS    1024u /* per domain, port 0 never used (as Xen) */
#define EB_MAX_CLIENTS  256u  /* handles per domain */
#define EB_MSGS_PER_RUN 64    /* fairness: requests taken from one client per wake-up */

enum eb_state { EB_FREE = 0, EB_UNBOUND, EB_INTERDOMAIN };

struct eb_client;

struct eb_port {
        uint8_t state;
        bool pending;
        bool masked;
        uint16_t remote_dom;  /* UNBOUND: who may bind; INTERDOMAIN: the peer */
        uint32_t remote_port; /* INTERDOMAIN only */
        struct eb_client *owner;
};

struct eb_domain {
        struct evtchn_broker *b;
        uint16_t domid;
        int lfd;
        unsigned nclients;
        struct eb_client *clients;
        char path[PATH_MAX];
        struct eb_port ports[EB_MAX_PORTS];
};

struct eb_client {
        struct eb_client *next;
        struct eb_domain *d;
        int fd;   /* requests (SOCK_SEQPACKET) */
        int evfd; /* our end of the handle's event socket */
};

struct evtchn_broker {
        struct ev_loop *loop;
        time_t last_warn; /* misbehaving clients are logged at most once a second */
        char dir[PATH_MAX];
        struct eb_domain *doms[DOMID_FIRST_RESERVED];
};

static struct eb_domain *eb_dom(struct evtchn_broker *b, uint32_t domid)
{
        return domid < DOMID_FIRST_RESERVED ? b->doms[domid] : NULL;
}

/* ---- port rules -------------------------------------------------------- */
/* evtchn_set_pending, then the Linux driver's upcall: an unmasked port is
 * delivered once and masked; a masked one just stays pending. */
static void eb_deliver(struct eb_domain *d, uint32_t port)
{
        struct eb_port *p = &d->ports[port];

        if (p->masked || !p->owner) {
                p->pending = true;
                return;
        }
        ssize_t n = send(p->owner->evfd, &port, sizeof(port), MSG_DONTWAIT | MSG_NOSIGNAL);
        p->masked = true;
        /* A handle that never reads its socket keeps the event pending (and
         * masked): nothing is lost and the broker never blocks. */
        p->pending = n != (ssize_t)sizeof(port);
}

static int eb_alloc_port(struct eb_domain *d, uint32_t *port)
{
        for (uint32_t p = 1; p < EB_MAX_PORTS; p++) {
                if (d->ports[p].state == EB_FREE) {
                        memset(&d->ports[p], 0, sizeof(d->ports[p]));
                        *port = p;
                        return 0;
                }
        }
        return -ENOSPC;
}

/* evtchn_close: an interdomain peer falls back to unbound, reserved for the
 * domain that closed, so it can be bound again (e.g. by a restarted backend). */
static void eb_close_port(struct eb_domain *d, uint32_t port)
{
        struct eb_port *p = &d->ports[port];

        if (p->state == EB_INTERDOMAIN) {
                struct eb_domain *rd = eb_dom(d->b, p->remote_dom);
                if (rd && p->remote_port < EB_MAX_PORTS) {
                        struct eb_port *r = &rd->ports[p->remote_port];
                        if (r->state == EB_INTERDOMAIN && r->remote_dom == d->domid &&
                            r->remote_port == port) {
                                r->state = EB_UNBOUND;
                                r->remote_dom = d->domid;
                                r->remote_port = 0;
                        }
                }
        }
        memset(p, 0, sizeof(*p));
}

static int eb_bind_unbound(struct eb_client *c, uint32_t rdom, uint32_t *port)
{
        struct eb_domain *d = c->d;
        int rc;

        if (rdom == DOMID_SELF)
                rdom = d->domid;
        if (!eb_dom(d->b, rdom))
                return -ESRCH; /* rcu_lock_domain_by_any_id failed */
        if ((rc = eb_alloc_port(d, port)) < 0)
                return rc;
        struct eb_port *p = &d->ports[*port];
        p->state = EB_UNBOUND;
        p->remote_dom = (uint16_t)rdom;
        p->owner = c;
        return 0;
}

/* evtchn_bind_interdomain: only a port that is unbound and reserved for us. */
static int eb_bind_interdomain(struct eb_client *c, uint32_t rdom, uint32_t rport, uint32_t *port)
{
        struct eb_domain *d = c->d, *rd;
        int rc;

        if (rdom == DOMID_SELF)
                rdom = d->domid;
        if (!(rd = eb_dom(d->b, rdom)))
                return -ESRCH;
        if (rport == 0 || rport >= EB_MAX_PORTS)
                return -EINVAL;
        struct eb_port *r = &rd->ports[rport];
        if (r->state != EB_UNBOUND || r->remote_dom != d->domid)
                return -EINVAL;
        if ((rc = eb_alloc_port(d, port)) < 0)
                return rc;
        struct eb_port *p = &d->ports[*port];
        p->state = EB_INTERDOMAIN;
        p->remote_dom = rd->domid;
        p->remote_port = rport;
        p->owner = c;
        r->state = EB_INTERDOMAIN;
        r->remote_dom = d->domid;
        r->remote_port = *port;
        return 0;
}

/* evtchn_send: an unbound port drops the notification silently (returns 0). */
static void eb_notify(struct eb_domain *d, uint32_t port)
{
        struct eb_port *p = &d->ports[port];

        if (p->state != EB_INTERDOMAIN)
                return;
        struct eb_domain *rd = eb_dom(d->b, p->remote_dom);
        if (rd && p->remote_port < EB_MAX_PORTS)
                eb_deliver(rd, p->remote_port);
}

static void eb_unmask(struct eb_domain *d, uint32_t port)
{
        struct eb_port *p = &d->ports[port];

        p->masked = false;
        if (p->pending) {
                p->pending = false;
                eb_deliver(d, port);
        }
}

/* ---- clients ------------------------------------------------------------- */
static bool eb_may_warn(struct evtchn_broker *b)
{
        time_t now = time(NULL);
        if (now == b->last_warn)
                return false;
        b->last_warn = now;
        return true;
}

static void eb_client_destroy(struct eb_client *c)
{
        struct eb_domain *d = c->d;

        /* A closed handle (or a dead process) unbinds all its ports. */
        for (uint32_t p = 1; p < EB_MAX_PORTS; p++)
                if (d->ports[p].state != EB_FREE && d->ports[p].owner == c)
                        eb_close_port(d, p);
        for (struct eb_client **pp = &d->clients; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        d->nclients--;
        ev_del(d->b->loop, c->fd);
        close(c->fd);
        close(c->evfd);
        free(c);
}

static bool owns(const struct eb_client *c, uint32_t port)
{
        return port > 0 && port < EB_MAX_PORTS && c->d->ports[port].state != EB_FREE &&
               c->d->ports[port].owner == c;
}

static int eb_reply(struct eb_client *c, const struct xh_sim_ev_req *req, int rc, uint32_t port)
{
        struct xh_sim_ev_rep rep = {.op = req->op, .rc = rc, .port = port, .seq = req->seq};
        ssize_t n = send(c->fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL);
        return n == (ssize_t)sizeof(rep) ? 0 : -EIO;
}

/* Returns <0 if the client must be dropped. */
static int eb_handle(struct eb_client *c, const struct xh_sim_ev_req *req)
{
        uint32_t port = 0;
        int rc;

        switch (req->op) {
        case XH_SIM_EV_NOTIFY:
                if (owns(c, req->a))
                        eb_notify(c->d, req->a);
                return 0;
        case XH_SIM_EV_UNMASK:
                if (owns(c, req->a))
                        eb_unmask(c->d, req->a);
                return 0;
        case XH_SIM_EV_BIND_UNBOUND:
                rc = eb_bind_unbound(c, req->a, &port);
                return eb_reply(c, req, rc, port);
        case XH_SIM_EV_BIND_INTERDOMAIN:
                rc = eb_bind_interdomain(c, req->a, req->b, &port);
                if (eb_reply(c, req, rc, port) < 0)
                        return -EIO;
                /* Xen sets the new local port pending: notifications sent to
                 * the unbound remote end may have been lost. */
                if (rc == 0)
                        eb_deliver(c->d, port);
                return 0;
        case XH_SIM_EV_UNBIND:
                rc = owns(c, req->a) ? 0 : -ENOTCONN;
                if (rc == 0)
                        eb_close_port(c->d, req->a);
                return eb_reply(c, req, rc, 0);
        default:
                return eb_reply(c, req, -EINVAL, 0);
        }
}

static void on_client(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct eb_client *c = arg;
        union {
                struct xh_sim_ev_req req;
                uint8_t raw[64];
        } m;

        for (int i = 0; i < EB_MSGS_PER_RUN; i++) {
                ssize_t n = recv(fd, m.raw, sizeof(m.raw), MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                /* EOF, error, or a message of the wrong size: a handle that
                 * does not speak the protocol is disconnected, not trusted. */
                if (n != (ssize_t)sizeof(m.req) || eb_handle(c, &m.req) < 0) {
                        if (n > 0 && eb_may_warn(c->d->b))
                                pv_warn("evtchn", "dom%u: dropping a handle after a bad request",
                                        c->d->domid);
                        eb_client_destroy(c);
                        return;
                }
        }
}

static int send_hello(int fd, int evfd)
{
        struct xh_sim_ev_rep rep = {.op = XH_SIM_EV_HELLO};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cm;
        struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                             .msg_controllen = sizeof(cm.buf)};

        memset(&cm, 0, sizeof(cm));
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &evfd, sizeof(int));
        return sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(rep) ? 0 : -EIO;
}

static int eb_client_create(struct eb_domain *d, int fd)
{
        int sv[2];
        struct eb_client *c;

        if (d->nclients >= EB_MAX_CLIENTS)
                return -EMFILE;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        int rc = send_hello(fd, sv[1]);
        close(sv[1]);
        if (rc < 0 || !(c = calloc(1, sizeof(*c)))) {
                close(sv[0]);
                return rc < 0 ? rc : -ENOMEM;
        }
        c->d = d;
        c->fd = fd;
        c->evfd = sv[0];
        if ((rc = ev_add(d->b->loop, fd, EPOLLIN, on_client, c)) < 0) {
                close(sv[0]);
                free(c);
                return rc;
        }
        c->next = d->clients;
        d->clients = c;
        d->nclients++;
        return 0;
}

static void on_accept(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
        struct eb_domain *d = arg;

        for (int i = 0; i < EB_MSGS_PER_RUN; i++) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return;
                int rc = eb_client_create(d, fd);
                if (rc < 0) {
                        /* -EIO: the client left before its greeting; not news. */
                        if (rc != -EIO && eb_may_warn(d->b))
                                pv_warn("evtchn", "dom%u: refusing a handle: %s", d->domid,
                                        strerror(-rc));
                        close(fd);
                }
        }
}

/* ---- domains and the broker ----------------------------------------------- */
static int listen_at(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
                return -errno;
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int rc = -errno;
                close(fd);
                return rc;
        }
        return fd;
}

int evtchn_broker_domain_add(struct evtchn_broker *b, uint16_t domid)
{
        char dpath[PATH_MAX];
        struct eb_domain *d;
        int rc;

        if (domid >= DOMID_FIRST_RESERVED)
                return -EINVAL;
        if (b->doms[domid])
                return -EEXIST;
        if ((rc = sim_path_dom(dpath, sizeof(dpath), b->dir, domid, NULL)) < 0)
                return rc;
        if (mkdir(dpath, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (!(d = calloc(1, sizeof(*d))))
                return -ENOMEM;
        d->b = b;
        d->domid = domid;
        if ((rc = sim_path_dom(d->path, sizeof(d->path), b->dir, domid, SIM_EVTCHN_SOCK)) < 0 ||
            (rc = d->lfd = listen_at(d->path)) < 0)
                goto fail;
        if ((rc = ev_add(b->loop, d->lfd, EPOLLIN, on_accept, d)) < 0) {
                close(d->lfd);
                unlink(d->path);
                goto fail;
        }
        b->doms[domid] = d;
        return 0;
fail:
        free(d);
        return rc;
}

int evtchn_broker_domain_remove(struct evtchn_broker *b, uint16_t domid)
{
        struct eb_domain *d = eb_dom(b, domid);

        if (!d)
                return -ENOENT;
        /* Xen's domain_kill → evtchn_destroy: every port closed as by
         * EVTCHNOP_close, so peers in other domains become bindable again. */
        for (uint32_t p = 1; p < EB_MAX_PORTS; p++)
                if (d->ports[p].state != EB_FREE)
                        eb_close_port(d, p);
        while (d->clients)
                eb_client_destroy(d->clients);
        ev_del(b->loop, d->lfd);
        close(d->lfd);
        unlink(d->path);
        b->doms[domid] = NULL;
        free(d);
        return 0;
}

int evtchn_broker_create(struct ev_loop *loop, const char *dir, struct evtchn_broker **out)
{
        struct evtchn_broker *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        if (snprintf(b->dir, sizeof(b->dir), "%s", dir) >= (int)sizeof(b->dir)) {
                free(b);
                return -ENAMETOOLONG;
        }
        b->loop = loop;
        *out = b;
        return 0;
}

void evtchn_broker_destroy(struct evtchn_broker *b)
{
        if (!b)
                return;
        for (unsigned d = 0; d < DOMID_FIRST_RESERVED; d++)
                if (b->doms[d])
                        evtchn_broker_domain_remove(b, (uint16_t)d);
        free(b);
}
