/* The sim provider's event channels. A handle is a SOCK_SEQPACKET connection to
 * the pvback-sim broker, which owns every port's state, plus a wake eventfd
 * (the handle's pollable fd) and a mapping of its domain's port words.
 * Notify and unmask do not involve the broker: a notify does what Xen's
 * evtchn_send and the receiver's upcall do, on the peer's port word (set
 * pending, or mask and queue and wake the owner), after asking the broker once
 * per channel where the peer is. The generations in the words make a delivery
 * on a channel that has changed since fail, i.e. be dropped as Xen drops a
 * notify on an unbound port. Argument checks done locally mirror Linux's
 * evtchn driver (per-handle ports). */
#include "xh_sim_impl.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim_paths.h"
#include "xh_sim_evtchn_proto.h"

/* Linux's xen_evtchn_nr_channels() with the 2-level ABI: larger ports are
 * EINVAL rather than "not bound here" for unbind. */
#define SIM_EVTCHN_NR_CHANNELS 4096u
#define SIM_EVTCHN_BOUND_WORDS (SIM_EVTCHN_NR_CHANNELS / 64)

/* Where a local interdomain port's events go, as the broker last said. */
struct se_peer {
        uint64_t *words; /* the remote domain's port words */
        int evfd;        /* the remote owner's wake eventfd */
        uint32_t rport;
        uint32_t gen_local;
        uint32_t gen_remote;
};

struct sim_evtchn_h {
        struct xh_evtchn base;
        int ctl;
        int ev;
        uint32_t seq;
        uint32_t nports;      /* per domain, from the broker's greeting */
        uint64_t *words;      /* our domain's port words */
        uint32_t scan_at;     /* pending() starts here: no port starves the others */
        pthread_mutex_t lock; /* the ctl connection and peers[] */
        uint64_t bound[SIM_EVTCHN_BOUND_WORDS];
        struct se_peer *peers[SIM_EVTCHN_NR_CHANNELS];
};

static struct sim_evtchn_h *as_se(struct xh_evtchn *h)
{
        return (struct sim_evtchn_h *)h;
}

static size_t words_len(uint32_t nports)
{
        return (size_t)nports * sizeof(uint64_t);
}

/* The broker closed the domain (destroyed): what used to be a broken
 * connection for every call. */
static bool domain_dead(const struct sim_evtchn_h *e)
{
        return __atomic_load_n(&e->words[0], __ATOMIC_ACQUIRE) & XH_SIM_EVW_DEAD;
}

static bool is_bound(const struct sim_evtchn_h *e, uint32_t port)
{
        return port < SIM_EVTCHN_NR_CHANNELS &&
               (__atomic_load_n(&e->bound[port / 64], __ATOMIC_ACQUIRE) & (1ull << (port % 64)));
}

static void set_bound(struct sim_evtchn_h *e, uint32_t port, bool on)
{
        if (port >= SIM_EVTCHN_NR_CHANNELS)
                return;
        if (on)
                __atomic_or_fetch(&e->bound[port / 64], 1ull << (port % 64), __ATOMIC_RELEASE);
        else
                __atomic_and_fetch(&e->bound[port / 64], ~(1ull << (port % 64)), __ATOMIC_RELEASE);
}

static void wake(int evfd)
{
        uint64_t one = 1;
        /* EAGAIN only when the counter is saturated: the owner is awake. */
        if (write(evfd, &one, sizeof(one)) < 0)
                return;
}

static void peer_drop(struct sim_evtchn_h *e, uint32_t port)
{
        struct se_peer *pe = e->peers[port];

        if (!pe)
                return;
        munmap(pe->words, words_len(e->nports));
        close(pe->evfd);
        free(pe);
        e->peers[port] = NULL;
}

static int send_req(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b)
{
        struct xh_sim_ev_req req = {.op = op, .a = a, .b = b, .seq = ++e->seq};
        ssize_t n;

        do
                n = send(e->ctl, &req, sizeof(req), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ECONNRESET ? -EPIPE : -errno;
        return n == (ssize_t)sizeof(req) ? 0 : -EIO;
}

/* One message from the broker with up to two descriptors; returns the message
 * size, 0 at EOF or -errno. Descriptors beyond *nfds are closed. */
static ssize_t recv_rep(int ctl, struct xh_sim_ev_rep *rep, int *fds, unsigned *nfds)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(4 * sizeof(int))];
        } cm;
        struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = cm.buf,
                             .msg_controllen = sizeof(cm.buf)};
        unsigned want = *nfds, got = 0;
        ssize_t n;

        do
                n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (unsigned i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
                        if (got < want)
                                fds[got++] = fd;
                        else
                                close(fd);
                }
        }
        *nfds = got;
        return n;
}

static void close_fds(const int *fds, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                close(fds[i]);
}

/* A synchronous call (caller holds the lock): the broker answers in order.
 * fds/nfds (may be NULL): descriptors carried by the answer. */
static int call_fds(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b,
                    struct xh_sim_ev_rep *rep, int *fds, unsigned *nfds)
{
        int rc = send_req(e, op, a, b);
        if (rc < 0)
                return rc;
        for (;;) {
                int tmp[2];
                unsigned n = 2;
                ssize_t len = recv_rep(e->ctl, rep, tmp, &n);
                if (len < 0)
                        return (int)len;
                if (len == 0)
                        return -EPIPE; /* the broker dropped us: domain destroyed */
                if (len == (ssize_t)sizeof(*rep) && rep->seq == e->seq) {
                        if (fds && rep->rc == 0) {
                                memcpy(fds, tmp, n * sizeof(int));
                                *nfds = n;
                        } else {
                                close_fds(tmp, n);
                        }
                        return rep->rc;
                }
                close_fds(tmp, n);
        }
}

static int call(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b, uint32_t *port)
{
        struct xh_sim_ev_rep rep;
        int rc = call_fds(e, op, a, b, &rep, NULL, NULL);
        if (rc == 0 && port)
                *port = rep.port;
        return rc;
}

/* Asks the broker where port's events go now (caller holds the lock).
 * -ENOTCONN: not interdomain any more, the notify is dropped. */
static int peer_refresh(struct sim_evtchn_h *e, uint32_t port)
{
        struct xh_sim_ev_rep rep;
        int fds[2];
        unsigned nfds = 0;
        struct se_peer *pe;

        peer_drop(e, port);
        int rc = call_fds(e, XH_SIM_EV_PEER, port, 0, &rep, fds, &nfds);
        if (rc < 0)
                return rc;
        if (nfds != 2 || rep.port == 0 || rep.port >= e->nports || !(pe = calloc(1, sizeof(*pe)))) {
                close_fds(fds, nfds);
                return nfds != 2 ? -EPROTO : rep.port ? -ENOMEM : -EPROTO;
        }
        pe->words = mmap(NULL, words_len(e->nports), PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
        close(fds[0]);
        if (pe->words == MAP_FAILED) {
                rc = -errno;
                close(fds[1]);
                free(pe);
                return rc;
        }
        pe->evfd = fds[1];
        pe->rport = rep.port;
        pe->gen_local = rep.gen_local;
        pe->gen_remote = rep.gen_remote;
        e->peers[port] = pe;
        return 0;
}

static void se_close(struct xh_evtchn *h)
{
        struct sim_evtchn_h *e = as_se(h);
        /* The broker unbinds every port of the handle when it sees the close. */
        close(e->ctl);
        close(e->ev);
        for (uint32_t p = 0; p < SIM_EVTCHN_NR_CHANNELS; p++)
                peer_drop(e, p);
        munmap(e->words, words_len(e->nports));
        pthread_mutex_destroy(&e->lock);
        free(e);
}

static int se_fd(struct xh_evtchn *h)
{
        return as_se(h)->ev;
}

static int se_bind(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b, uint32_t *lport)
{
        uint32_t port = 0;

        pthread_mutex_lock(&e->lock);
        int rc = call(e, op, a, b, &port);
        pthread_mutex_unlock(&e->lock);
        if (rc < 0)
                return rc;
        if (port == 0 || port >= e->nports)
                return -EPROTO;
        set_bound(e, port, true);
        /* An event queued before the port was ours to scan (Xen's initial one
         * on bind_interdomain) may have had its wake-up taken by a pending()
         * in another thread: wake again. */
        if (__atomic_load_n(&e->words[port], __ATOMIC_ACQUIRE) & XH_SIM_EVW_QUEUED)
                wake(e->ev);
        *lport = port;
        return 0;
}

static int se_bind_interdomain(struct xh_evtchn *h, uint32_t domid, uint32_t rport, uint32_t *lport)
{
        return se_bind(as_se(h), XH_SIM_EV_BIND_INTERDOMAIN, domid, rport, lport);
}

static int se_bind_unbound(struct xh_evtchn *h, uint32_t domid, uint32_t *lport)
{
        return se_bind(as_se(h), XH_SIM_EV_BIND_UNBOUND, domid, 0, lport);
}

/* IOCTL_EVTCHN_NOTIFY: ENOTCONN for a port this handle did not bind; 0 when
 * the port is not (or no longer) interdomain, the event dropped as Xen does. */
static int se_notify(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        int rc = 0;

        if (!is_bound(e, port))
                return -ENOTCONN;
        pthread_mutex_lock(&e->lock);
        uint64_t own = __atomic_load_n(&e->words[port], __ATOMIC_ACQUIRE);
        if (xh_sim_evw_state(own) != XH_SIM_EVW_INTERDOMAIN) {
                rc = domain_dead(e) ? -EPIPE : 0;
                goto out;
        }
        struct se_peer *pe = e->peers[port];
        if (!pe || pe->gen_local != xh_sim_evw_gen(own)) {
                if ((rc = peer_refresh(e, port)) < 0) {
                        rc = rc == -ENOTCONN ? 0 : rc;
                        goto out;
                }
                pe = e->peers[port];
        }
        /* -1: the remote port was closed (or reused) since: dropped. */
        if (xh_sim_evw_deliver(&pe->words[pe->rport], pe->gen_remote, XH_SIM_EVW_INTERDOMAIN) == 1)
                wake(pe->evfd);
out:
        pthread_mutex_unlock(&e->lock);
        return rc;
}

/* Finds (take: and takes) one queued port among those bound here, starting
 * after the last one returned. */
static bool find_queued(struct sim_evtchn_h *e, bool take, uint32_t *port)
{
        uint32_t start = e->scan_at / 64;

        for (uint32_t i = 0; i <= SIM_EVTCHN_BOUND_WORDS; i++) {
                uint32_t wi = (start + i) % SIM_EVTCHN_BOUND_WORDS;
                uint64_t bits = __atomic_load_n(&e->bound[wi], __ATOMIC_ACQUIRE);
                while (bits) {
                        uint32_t p = wi * 64 + (uint32_t)__builtin_ctzll(bits);
                        bits &= bits - 1;
                        if (p >= e->nports || (i == 0 && p < e->scan_at))
                                continue;
                        uint64_t *w = &e->words[p];
                        if (!(__atomic_load_n(w, __ATOMIC_ACQUIRE) & XH_SIM_EVW_QUEUED))
                                continue;
                        if (!take)
                                return true;
                        if (__atomic_fetch_and(w, ~XH_SIM_EVW_QUEUED, __ATOMIC_ACQ_REL) &
                            XH_SIM_EVW_QUEUED) {
                                e->scan_at = p + 1 < e->nports ? p + 1 : 0;
                                *port = p;
                                return true;
                        }
                }
        }
        return false;
}

static int drain_wake(struct sim_evtchn_h *e)
{
        uint64_t cnt;
        if (read(e->ev, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN && errno != EINTR)
                return -errno;
        return 0;
}

/* Callers poll the fd, then expect a port (the evtchn driver's ring): after
 * taking one, the wake-up is consumed and renewed if more remain. Deliveries
 * write the eventfd after queueing, so consuming first and looking second
 * loses none; the one spurious wake-up left is a port taken here between a
 * sender's queueing and its write (pending() then says -EAGAIN once). */
static int se_pending(struct xh_evtchn *h, uint32_t *port)
{
        struct sim_evtchn_h *e = as_se(h);
        uint32_t more;
        int rc;

        if (!find_queued(e, true, port)) {
                /* A destroyed domain's handle stays readable and reports it,
                 * as the closed connection it is. */
                if (domain_dead(e))
                        return -EPIPE;
                if ((rc = drain_wake(e)) < 0)
                        return rc;
                if (!find_queued(e, true, port))
                        return -EAGAIN;
        }
        if ((rc = drain_wake(e)) < 0)
                return rc;
        if (find_queued(e, false, &more))
                wake(e->ev);
        return 0;
}

/* The evtchn driver's write(): ports not bound by this handle are ignored. */
static int se_unmask(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        int rc = 0;

        /* Under the handle's lock, as unbind is: once another thread
         * unbound the port the broker may give it to another handle of
         * the domain (the words are per domain), whose mask is not ours. */
        pthread_mutex_lock(&e->lock);
        if (!is_bound(e, port) || port >= e->nports)
                goto out;
        if (domain_dead(e)) {
                rc = -EPIPE;
                goto out;
        }
        if (xh_sim_evw_unmask(&e->words[port]) == 1)
                wake(e->ev);
out:
        pthread_mutex_unlock(&e->lock);
        return rc;
}

static int se_unbind(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        int rc;

        if (port >= SIM_EVTCHN_NR_CHANNELS)
                return -EINVAL;
        if (!is_bound(e, port))
                return -ENOTCONN;
        pthread_mutex_lock(&e->lock);
        if ((rc = call(e, XH_SIM_EV_UNBIND, port, 0, NULL)) == 0) {
                set_bound(e, port, false);
                peer_drop(e, port);
        }
        pthread_mutex_unlock(&e->lock);
        return rc;
}

static const struct xh_evtchn_ops sim_evtchn_ops = {
    .close = se_close,
    .fd = se_fd,
    .bind_interdomain = se_bind_interdomain,
    .bind_unbound = se_bind_unbound,
    .notify = se_notify,
    .pending = se_pending,
    .unmask = se_unmask,
    .unbind = se_unbind,
};

static int connect_broker(const char *dir, uint16_t domid)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd, rc;

        if ((rc = sim_path_dom(sa.sun_path, sizeof(sa.sun_path), dir, domid, SIM_EVTCHN_SOCK)) < 0)
                return rc;
        if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                rc = -errno;
                close(fd);
                return rc;
        }
        return fd;
}

/* The broker's greeting carries the wake eventfd and the domain's port words. */
static int recv_hello(struct sim_evtchn_h *e)
{
        struct xh_sim_ev_rep rep;
        int fds[2];
        unsigned nfds = 2;
        ssize_t n = recv_rep(e->ctl, &rep, fds, &nfds);

        if (n < 0)
                return (int)n;
        if (n != (ssize_t)sizeof(rep) || rep.op != XH_SIM_EV_HELLO || rep.rc < 0 || nfds != 2 ||
            rep.port < 2 || rep.port > SIM_EVTCHN_NR_CHANNELS) {
                close_fds(fds, nfds);
                return n == 0 ? -ECONNRESET : rep.rc < 0 ? rep.rc : -EPROTO;
        }
        e->nports = rep.port;
        e->words = mmap(NULL, words_len(e->nports), PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
        close(fds[1]);
        if (e->words == MAP_FAILED) {
                int rc = -errno;
                close(fds[0]);
                return rc;
        }
        e->ev = fds[0];
        return 0;
}

int xh_sim_evtchn_open(struct xh_evtchn **out)
{
        struct sim_evtchn_h *e;
        const char *dir;
        uint16_t domid;
        int rc;

        if (xh_sim_env(&dir, &domid) < 0)
                return -ENODEV;
        if (!(e = calloc(1, sizeof(*e))))
                return -ENOMEM;
        if ((e->ctl = connect_broker(dir, domid)) < 0) {
                rc = e->ctl;
                free(e);
                return rc;
        }
        if ((rc = recv_hello(e)) < 0) {
                close(e->ctl);
                free(e);
                return rc;
        }
        pthread_mutex_init(&e->lock, NULL);
        e->base.ops = &sim_evtchn_ops;
        *out = &e->base;
        return 0;
}
