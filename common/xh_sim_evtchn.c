/* The sim provider's event channels: a handle is a SOCK_SEQPACKET connection to
 * the pvback-sim broker (which owns all port state) plus a stream socket the
 * broker writes delivered ports to, which is the handle's pollable fd.
 * Argument checks done locally mirror Linux's evtchn driver (per-handle ports). */
#include "xh_sim_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim_paths.h"
#include "xh_sim_evtchn_proto.h"

/* Linux's xen_evtchn_nr_channels() with the 2-level ABI: larger ports are
 * EINVAL rather than "not bound here" for unbind. */
#define SIM_EVTCHN_NR_CHANNELS 4096u

struct sim_evtchn_h {
        struct xh_evtchn base;
        int ctl;
        int ev;
        uint32_t seq;
        uint8_t partial[sizeof(uint32_t)];
        unsigned npartial;
        uint64_t bound[SIM_EVTCHN_NR_CHANNELS / 64];
};

static struct sim_evtchn_h *as_se(struct xh_evtchn *h)
{
        return (struct sim_evtchn_h *)h;
}

static bool is_bound(const struct sim_evtchn_h *e, uint32_t port)
{
        return port < SIM_EVTCHN_NR_CHANNELS && (e->bound[port / 64] & (1ull << (port % 64)));
}

static void set_bound(struct sim_evtchn_h *e, uint32_t port, bool on)
{
        if (port >= SIM_EVTCHN_NR_CHANNELS)
                return;
        if (on)
                e->bound[port / 64] |= 1ull << (port % 64);
        else
                e->bound[port / 64] &= ~(1ull << (port % 64));
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

/* A synchronous call: the broker answers bind and unbind in order. */
static int call(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b, uint32_t *port)
{
        struct xh_sim_ev_rep rep;
        int rc = send_req(e, op, a, b);
        if (rc < 0)
                return rc;
        for (;;) {
                ssize_t n = recv(e->ctl, &rep, sizeof(rep), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EPIPE; /* the broker dropped us: domain destroyed */
                if (n == (ssize_t)sizeof(rep) && rep.seq == e->seq)
                        break;
        }
        if (rep.rc == 0 && port)
                *port = rep.port;
        return rep.rc;
}

static void se_close(struct xh_evtchn *h)
{
        struct sim_evtchn_h *e = as_se(h);
        /* The broker unbinds every port of the handle when it sees the close. */
        close(e->ctl);
        close(e->ev);
        free(e);
}

static int se_fd(struct xh_evtchn *h)
{
        return as_se(h)->ev;
}

static int se_bind(struct sim_evtchn_h *e, uint32_t op, uint32_t a, uint32_t b, uint32_t *lport)
{
        uint32_t port = 0;
        int rc = call(e, op, a, b, &port);
        if (rc < 0)
                return rc;
        set_bound(e, port, true);
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

/* IOCTL_EVTCHN_NOTIFY: ENOTCONN for a port this handle did not bind. One send,
 * no reply: the sender never waits for the broker. */
static int se_notify(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        if (!is_bound(e, port))
                return -ENOTCONN;
        return send_req(e, XH_SIM_EV_NOTIFY, port, 0);
}

static int se_pending(struct xh_evtchn *h, uint32_t *port)
{
        struct sim_evtchn_h *e = as_se(h);

        while (e->npartial < sizeof(uint32_t)) {
                ssize_t n = read(e->ev, e->partial + e->npartial, sizeof(uint32_t) - e->npartial);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
                if (n == 0)
                        return -EPIPE;
                e->npartial += (unsigned)n;
        }
        memcpy(port, e->partial, sizeof(*port));
        e->npartial = 0;
        return 0;
}

/* The evtchn driver's write(): ports not bound by this handle are ignored. */
static int se_unmask(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        if (!is_bound(e, port))
                return 0;
        return send_req(e, XH_SIM_EV_UNMASK, port, 0);
}

static int se_unbind(struct xh_evtchn *h, uint32_t port)
{
        struct sim_evtchn_h *e = as_se(h);
        int rc;

        if (port >= SIM_EVTCHN_NR_CHANNELS)
                return -EINVAL;
        if (!is_bound(e, port))
                return -ENOTCONN;
        if ((rc = call(e, XH_SIM_EV_UNBIND, port, 0, NULL)) < 0)
                return rc;
        set_bound(e, port, false);
        return 0;
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

/* The broker's greeting carries the event socket. */
static int recv_event_fd(int ctl)
{
        struct xh_sim_ev_rep rep;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cm;
        struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                             .msg_controllen = sizeof(cm.buf)};
        ssize_t n;

        do
                n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (n != (ssize_t)sizeof(rep) || rep.op != XH_SIM_EV_HELLO || !c ||
            c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len != CMSG_LEN(sizeof(int)))
                return n == 0 ? -ECONNRESET : -EPROTO;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        if (rep.rc < 0) {
                close(fd);
                return rep.rc;
        }
        return fd;
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
        if ((e->ev = recv_event_fd(e->ctl)) < 0) {
                rc = e->ev;
                close(e->ctl);
                free(e);
                return rc;
        }
        /* The handle's fd must never block a caller's pending(). */
        fcntl(e->ev, F_SETFL, fcntl(e->ev, F_GETFL) | O_NONBLOCK);
        e->base.ops = &sim_evtchn_ops;
        *out = &e->base;
        return 0;
}
