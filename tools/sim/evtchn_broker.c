/* The simulator's event-channel hypervisor: the single owner of every domain's
 * port states, with Xen's rules (xen/common/event_channel.c). Pending and mask
 * (Linux's evtchn driver's mask-on-delivery) live in per-domain port words in
 * shared memory, so a notify on an established channel goes from the sender's
 * handle straight to the receiver's; every state change is made here and bumps
 * the port word's generation, which makes a stale sender's delivery fail.
 * Clients are the sim provider's handles (common/xh_sim_evtchn.c); the
 * protocol is in common/xh_sim_evtchn_proto.h. One epoll loop, no threads. */
#include "evtchn_broker.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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
        uint32_t gen;         /* the authority: port words are writable by clients */
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
        int memfd;       /* the port words, shared with the domain's handles and peers */
        uint64_t *words; /* EB_MAX_PORTS of them */
        char path[PATH_MAX];
        struct eb_port ports[EB_MAX_PORTS];
};

struct eb_client {
        struct eb_client *next;
        struct eb_domain *d;
        int fd;   /* requests (SOCK_SEQPACKET) */
        int evfd; /* the handle's wake eventfd */
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
static void eb_wake(const struct eb_client *c)
{
        uint64_t one = 1;
        /* EAGAIN only when the counter is saturated: the handle is awake. */
        if (c && write(c->evfd, &one, sizeof(one)) < 0)
                return;
}

/* Publishes a state change: new generation, so no sender's earlier view of the
 * port matches any more. keep_bits: pending/mask survive (a peer closing);
 * otherwise the port starts clean (allocation, close). */
static void eb_publish(struct eb_domain *d, uint32_t port, bool keep_bits)
{
        struct eb_port *p = &d->ports[port];
        uint64_t *w = &d->words[port];
        uint64_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE), nw;

        p->gen++;
        do {
                uint64_t bits =
                    keep_bits ? old & (XH_SIM_EVW_PENDING | XH_SIM_EVW_MASKED | XH_SIM_EVW_QUEUED)
                              : 0;
                nw = bits | ((uint64_t)p->state << XH_SIM_EVW_STATE_SHIFT) | p->gen;
        } while (
            !__atomic_compare_exchange_n(w, &old, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
}

static void eb_deliver(struct eb_domain *d, uint32_t port)
{
        struct eb_port *p = &d->ports[port];

        if (xh_sim_evw_deliver(&d->words[port], p->gen, p->state) == 1)
                eb_wake(p->owner);
}

static int eb_alloc_port(struct eb_domain *d, uint32_t *port)
{
        for (uint32_t p = 1; p < EB_MAX_PORTS; p++) {
                if (d->ports[p].state == EB_FREE) {
                        uint32_t gen = d->ports[p].gen;
                        memset(&d->ports[p], 0, sizeof(d->ports[p]));
                        d->ports[p].gen = gen;
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
                                eb_publish(rd, p->remote_port, true);
                        }
                }
        }
        uint32_t gen = p->gen;
        memset(p, 0, sizeof(*p));
        p->gen = gen;
        eb_publish(d, port, false);
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
        eb_publish(d, *port, false);
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
        eb_publish(d, *port, false);
        eb_publish(rd, rport, true);
        return 0;
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

/* One reply, with nfds (0..2) descriptors attached by SCM_RIGHTS. */
static int send_rep(int fd, const struct xh_sim_ev_rep *rep, const int *fds, unsigned nfds)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(2 * sizeof(int))];
        } cm;
        struct iovec iov = {.iov_base = (void *)rep, .iov_len = sizeof(*rep)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

        if (nfds) {
                memset(&cm, 0, sizeof(cm));
                msg.msg_control = cm.buf;
                msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
                struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
                h->cmsg_level = SOL_SOCKET;
                h->cmsg_type = SCM_RIGHTS;
                h->cmsg_len = CMSG_LEN(nfds * sizeof(int));
                memcpy(CMSG_DATA(h), fds, nfds * sizeof(int));
        }
        ssize_t n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        return n == (ssize_t)sizeof(*rep) ? 0 : -EIO;
}

static int eb_reply(struct eb_client *c, const struct xh_sim_ev_req *req, int rc, uint32_t port)
{
        struct xh_sim_ev_rep rep = {.op = req->op, .rc = rc, .port = port, .seq = req->seq};
        return send_rep(c->fd, &rep, NULL, 0);
}

/* What a sender needs to deliver on its own: the remote port and both words'
 * generations (the channel as it is now), the remote domain's words and the
 * remote owner's wake eventfd. Not interdomain: -ENOTCONN, the sender drops. */
static int eb_reply_peer(struct eb_client *c, const struct xh_sim_ev_req *req)
{
        struct xh_sim_ev_rep rep = {.op = req->op, .rc = -ENOTCONN, .seq = req->seq};
        struct eb_port *p = &c->d->ports[req->a];
        struct eb_domain *rd = eb_dom(c->d->b, p->remote_dom);

        if (!owns(c, req->a) || p->state != EB_INTERDOMAIN || !rd ||
            p->remote_port >= EB_MAX_PORTS || !rd->ports[p->remote_port].owner)
                return send_rep(c->fd, &rep, NULL, 0);
        struct eb_port *r = &rd->ports[p->remote_port];
        int fds[2] = {rd->memfd, r->owner->evfd};
        rep.rc = 0;
        rep.port = p->remote_port;
        rep.gen_local = p->gen;
        rep.gen_remote = r->gen;
        return send_rep(c->fd, &rep, fds, 2);
}

/* Returns <0 if the client must be dropped. */
static int eb_handle(struct eb_client *c, const struct xh_sim_ev_req *req)
{
        uint32_t port = 0;
        int rc;

        switch (req->op) {
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
        case XH_SIM_EV_PEER:
                if (req->a >= EB_MAX_PORTS)
                        return eb_reply(c, req, -ENOTCONN, 0);
                return eb_reply_peer(c, req);
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

static int eb_client_create(struct eb_domain *d, int fd)
{
        struct xh_sim_ev_rep hello = {.op = XH_SIM_EV_HELLO, .port = EB_MAX_PORTS};
        struct eb_client *c;
        int evfd;

        if (d->nclients >= EB_MAX_CLIENTS)
                return -EMFILE;
        if ((evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
                return -errno;
        int rc = send_rep(fd, &hello, (int[2]){evfd, d->memfd}, 2);
        if (rc < 0 || !(c = calloc(1, sizeof(*c)))) {
                close(evfd);
                return rc < 0 ? rc : -ENOMEM;
        }
        c->d = d;
        c->fd = fd;
        c->evfd = evfd;
        if ((rc = ev_add(d->b->loop, fd, EPOLLIN, on_client, c)) < 0) {
                close(evfd);
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

/* Each domain's port words: a memfd its handles map, and its peers too. */
static int eb_words_create(struct eb_domain *d)
{
        char name[32];
        size_t len = EB_MAX_PORTS * sizeof(uint64_t);

        snprintf(name, sizeof(name), "evtchn-dom%u", d->domid);
        if ((d->memfd = memfd_create(name, MFD_CLOEXEC)) < 0)
                return -errno;
        if (ftruncate(d->memfd, (off_t)len) < 0 ||
            (d->words = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0)) ==
                MAP_FAILED) {
                int rc = -errno;
                close(d->memfd);
                return rc;
        }
        return 0;
}

static void eb_words_destroy(struct eb_domain *d)
{
        munmap(d->words, EB_MAX_PORTS * sizeof(uint64_t));
        close(d->memfd);
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
        if ((rc = eb_words_create(d)) < 0) {
                free(d);
                return rc;
        }
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
        eb_words_destroy(d);
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
        /* Its handles see the domain gone (pending() fails with EPIPE, as a
         * closed connection did): mark, then wake them. */
        __atomic_or_fetch(&d->words[0], XH_SIM_EVW_DEAD, __ATOMIC_RELEASE);
        for (struct eb_client *c = d->clients; c; c = c->next)
                eb_wake(c);
        while (d->clients)
                eb_client_destroy(d->clients);
        ev_del(b->loop, d->lfd);
        close(d->lfd);
        unlink(d->path);
        eb_words_destroy(d);
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
