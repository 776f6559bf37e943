/* Event channels on the simulated host, across two processes acting as two
 * domains: dom5 (spawned, driven over pipes) and dom0 (this process).
 * Xen's port states and errors, the evtchn driver's mask-on-delivery, closing
 * and domain destruction leaving peers bindable, and a broker that survives
 * clients sending garbage or dying mid-call. Notifications go from handle to
 * handle without the broker once a channel is known: the stale-channel,
 * coalescing and concurrency cases below are that path's. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "sim_paths.h"
#include "simhost.h"
#include "simpeer.h"

#define FRONT 5

/* ---- dom5: a scripted peer ---------------------------------------------- */
enum { E_BIND_UNBOUND = 1, E_BIND_INTER, E_NOTIFY, E_WAIT, E_UNMASK, E_UNBIND, E_MANY };
struct cmd {
        uint32_t op, a, b;
};
struct rep {
        int32_t rc;
        uint32_t port;
};

/* Waits up to ms for the fd, then takes one pending port (-EAGAIN if none). */
static int wait_port(struct xh_evtchn *e, int ms, uint32_t *port)
{
        struct pollfd pfd = {.fd = xh_evtchn_fd(e), .events = POLLIN};
        if (ms && poll(&pfd, 1, ms) == 0)
                return -EAGAIN;
        return xh_evtchn_pending(e, port);
}

static void agent_do(struct xh_evtchn *e, const struct cmd *c, struct rep *r)
{
        r->port = 0;
        switch (c->op) {
        case E_BIND_UNBOUND:
                r->rc = xh_evtchn_bind_unbound(e, c->a, &r->port);
                break;
        case E_BIND_INTER:
                r->rc = xh_evtchn_bind_interdomain(e, c->a, c->b, &r->port);
                break;
        case E_NOTIFY:
                r->rc = xh_evtchn_notify(e, c->a);
                break;
        case E_WAIT:
                r->rc = wait_port(e, (int)c->a, &r->port);
                break;
        case E_UNMASK:
                r->rc = xh_evtchn_unmask(e, c->a);
                break;
        case E_UNBIND:
                r->rc = xh_evtchn_unbind(e, c->a);
                break;
        case E_MANY: /* bind unbound ports until refused; count them */
                for (r->port = 0; (r->rc = xh_evtchn_bind_unbound(e, c->a, &(uint32_t){0})) == 0;)
                        r->port++;
                break;
        default:
                r->rc = -EINVAL;
        }
}

static int agent_main(struct simpeer *peer, void *arg)
{
        const struct xh_provider *p;
        struct xh_evtchn *e;
        char err[256];
        struct cmd c;
        struct rep r;

        if (xh_provider_select(NULL, &p, err, sizeof(err)) < 0 || xh_evtchn_open(p, &e) < 0)
                return 2;
        while (simpeer_next(peer, &c, sizeof(c))) {
                agent_do(e, &c, &r);
                if (!simpeer_reply(peer, &r, sizeof(r)))
                        break;
        }
        xh_evtchn_close(e);
        return 0;
}

/* ---- dom0: this process -------------------------------------------------- */
static struct simhost host;
static struct simpeer front;
static const struct xh_provider *prov;
static struct xh_evtchn *ev;

static void agent_start(void)
{
        ck_assert_int_eq(simpeer_start(&front, &host, FRONT, agent_main, NULL), 0);
}

static void agent_stop(void)
{
        simpeer_stop(&front);
}

static struct rep ask(uint32_t op, uint32_t a, uint32_t b)
{
        struct cmd cm = {op, a, b};
        struct rep r;
        ck_assert_int_eq(simpeer_ask(&front, &cm, sizeof(cm), &r, sizeof(r)), 0);
        return r;
}

static void setup(void)
{
        char err[512];
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT), 0);
        agent_start();
        simhost_enter(&host, 0);
        ck_assert_msg(xh_provider_select(NULL, &prov, err, sizeof(err)) == 0, "%s", err);
        ck_assert_int_eq(xh_evtchn_open(prov, &ev), 0);
}

static void teardown(void)
{
        xh_evtchn_close(ev);
        ev = NULL;
        agent_stop();
        simhost_stop(&host);
}

/* dom5 offers a port to dom0; dom0 binds it. Xen marks the new local port
 * pending on bind_interdomain, so dom0 first drains that event. */
static void connect_pair(struct xh_evtchn *e, uint32_t *p5, uint32_t *p0)
{
        struct rep r = ask(E_BIND_UNBOUND, 0, 0);
        uint32_t got;
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_ge(r.port, 1);
        *p5 = r.port;
        ck_assert_int_eq(xh_evtchn_bind_interdomain(e, FRONT, *p5, p0), 0);
        ck_assert_int_eq(wait_port(e, 2000, &got), 0);
        ck_assert_uint_eq(got, *p0);
        ck_assert_int_eq(xh_evtchn_unmask(e, *p0), 0);
}

START_TEST(ping_pong_both_ways)
{
        uint32_t p5, p0, got;
        connect_pair(ev, &p5, &p0);
        for (int i = 0; i < 200; i++) {
                ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
                struct rep r = ask(E_WAIT, 2000, 0);
                ck_assert_int_eq(r.rc, 0);
                ck_assert_uint_eq(r.port, p5);
                ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
                ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
                ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
                ck_assert_uint_eq(got, p0);
                ck_assert_int_eq(xh_evtchn_unmask(ev, p0), 0);
        }
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), -EAGAIN);
}
END_TEST

START_TEST(masked_port_stays_pending_until_unmask)
{
        uint32_t p5, p0;
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, p5); /* delivered: now masked */
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN); /* pending only */
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        struct rep r = ask(E_WAIT, 2000, 0); /* re-delivered, once */
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_eq(r.port, p5);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
        /* Unmasking with nothing pending delivers nothing. */
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
}
END_TEST

START_TEST(one_handle_many_ports)
{
        uint32_t a5, a0, b5, b0, got, seen = 0;
        connect_pair(ev, &a5, &a0);
        connect_pair(ev, &b5, &b0);
        ck_assert_uint_ne(a0, b0);
        ck_assert_int_eq(ask(E_NOTIFY, a5, 0).rc, 0);
        ck_assert_int_eq(ask(E_NOTIFY, b5, 0).rc, 0);
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
                seen |= got == a0 ? 1u : got == b0 ? 2u : 4u;
        }
        ck_assert_uint_eq(seen, 3);
}
END_TEST

START_TEST(refusals_match_xen_and_the_driver)
{
        uint32_t port, p5, p0;
        struct rep r = ask(E_BIND_UNBOUND, 7, 0); /* reserved for dom7, not us */
        ck_assert_int_eq(r.rc, -ESRCH);           /* ... and dom7 does not exist */
        r = ask(E_BIND_UNBOUND, FRONT, 0);        /* reserved for dom5 itself */
        ck_assert_int_eq(r.rc, 0);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, r.port, &port), -EINVAL);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, 0, &port), -EINVAL);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, 5000, &port), -EINVAL);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, 900, &port), -EINVAL); /* free */
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, 77, 1, &port), -ESRCH);
        ck_assert_int_eq(xh_evtchn_bind_unbound(ev, 77, &port), -ESRCH);
        connect_pair(ev, &p5, &p0);
        /* Already interdomain: not bindable a second time. */
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, p5, &port), -EINVAL);
        /* Ports this handle did not bind. */
        ck_assert_int_eq(xh_evtchn_notify(ev, p0 + 100), -ENOTCONN);
        ck_assert_int_eq(xh_evtchn_unbind(ev, p0 + 100), -ENOTCONN);
        ck_assert_int_eq(xh_evtchn_unmask(ev, p0 + 100), 0); /* ignored, as write() */
}
END_TEST

START_TEST(closing_one_end_leaves_the_other_bindable)
{
        uint32_t p5, p0, again, got;
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(xh_evtchn_unbind(ev, p0), 0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), -ENOTCONN);
        /* dom5's port is unbound-for-dom0 again: notify is dropped silently. */
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert_int_eq(wait_port(ev, 200, &got), -EAGAIN);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, p5, &again), 0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0); /* Xen's initial event */
        ck_assert_uint_eq(got, again);
        ck_assert_int_eq(xh_evtchn_unmask(ev, again), 0);
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
        ck_assert_uint_eq(got, again);

        /* Closing the handle unbinds everything it held. */
        xh_evtchn_close(ev);
        ck_assert_int_eq(xh_evtchn_open(prov, &ev), 0);
        int rc = -EINVAL;
        for (int i = 0; i < 200 && rc == -EINVAL; i++, usleep(5000))
                rc = xh_evtchn_bind_interdomain(ev, FRONT, p5, &again);
        ck_assert_int_eq(rc, 0);
}
END_TEST

static int bind_and_die(void *arg)
{
        const uint32_t *p5 = arg;
        const struct xh_provider *p;
        struct xh_evtchn *e;
        char err[256];
        uint32_t port;
        if (xh_provider_select(NULL, &p, err, sizeof(err)) < 0 || xh_evtchn_open(p, &e) < 0 ||
            xh_evtchn_bind_interdomain(e, FRONT, *p5, &port) < 0)
                return 1;
        raise(SIGKILL);
        return 2;
}

START_TEST(process_death_unbinds_its_ports)
{
        uint32_t p5 = ask(E_BIND_UNBOUND, 0, 0).port, port;
        pid_t pid = simhost_spawn(&host, 0, bind_and_die, &p5);
        ck_assert_int_eq(simhost_wait(pid, 10000), 128 + SIGKILL);
        int rc = -EINVAL;
        for (int i = 0; i < 200 && rc == -EINVAL; i++, usleep(5000))
                rc = xh_evtchn_bind_interdomain(ev, FRONT, p5, &port);
        ck_assert_int_eq(rc, 0);
}
END_TEST

START_TEST(domain_destroy_closes_its_ports)
{
        uint32_t p5, p0, got;
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(simhost_domain_destroy(&host, FRONT), 0);
        agent_stop(); /* its handle was disconnected by the destruction */
        /* Our end is unbound-for-dom5 now: notifications are dropped. */
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_int_eq(wait_port(ev, 200, &got), -EAGAIN);
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, p5, &got), -ESRCH);
        /* A new dom5 can bind to our old port (bindable, reserved for dom5). */
        ck_assert_int_eq(simhost_domain_create(&host, FRONT), 0);
        agent_start();
        struct rep r = ask(E_BIND_INTER, 0, p0);
        ck_assert_int_eq(r.rc, 0);
        ck_assert_int_eq(ask(E_WAIT, 2000, 0).port, r.port);
        ck_assert_int_eq(ask(E_UNMASK, r.port, 0).rc, 0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_int_eq(ask(E_WAIT, 2000, 0).port, r.port);
}
END_TEST

START_TEST(port_limit_is_enospc)
{
        struct rep r = ask(E_MANY, 0, 0);
        ck_assert_int_eq(r.rc, -ENOSPC);
        ck_assert_uint_eq(r.port, 1023); /* ports 1..1023 */
}
END_TEST

static int raw_connect(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        sim_path_dom(sa.sun_path, sizeof(sa.sun_path), host.dir, 0, SIM_EVTCHN_SOCK);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

START_TEST(broker_survives_garbage_and_quitters)
{
        uint32_t p5, p0, got;
        char junk[300];
        memset(junk, 0xa5, sizeof(junk));
        for (int i = 0; i < 50; i++) {
                int fd = raw_connect();
                ck_assert_int_eq(send(fd, junk, (size_t)(i * 7 % 300) + 1, MSG_NOSIGNAL) > 0, 1);
                close(fd);
        }
        /* A client that asks for a bind and leaves before the answer. */
        uint32_t req[4] = {3 /* bind unbound */, FRONT, 0, 1};
        int fd = raw_connect();
        ck_assert_int_eq(send(fd, req, sizeof(req), 0), sizeof(req));
        close(fd);
        /* A client that floods notifies on ports it does not own. */
        fd = raw_connect();
        uint32_t note[4] = {5 /* notify */, 1, 0, 0};
        for (int i = 0; i < 10000; i++)
                if (send(fd, note, sizeof(note), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                        break;
        close(fd);
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
        ck_assert_uint_eq(got, p0);
}
END_TEST

/* The fd is readable exactly while a port is queued (callers poll, then
 * expect pending() to succeed). */
static bool readable(struct xh_evtchn *e)
{
        struct pollfd pfd = {.fd = xh_evtchn_fd(e), .events = POLLIN};
        return poll(&pfd, 1, 0) == 1;
}

START_TEST(notify_after_peer_unbound_is_dropped)
{
        uint32_t p5, p0, got;
        connect_pair(ev, &p5, &p0);
        /* One delivery first, so this handle knows the channel. */
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, p5);
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        ck_assert_int_eq(ask(E_UNBIND, p5, 0).rc, 0);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0); /* dropped, as Xen */
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
        ck_assert_int_eq(wait_port(ev, 100, &got), -EAGAIN);
        ck_assert(!readable(ev));
}
END_TEST

START_TEST(reused_port_gets_nothing_from_the_old_channel)
{
        uint32_t p5, p0, q0, got;
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, p5);
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        /* dom5 closes its end and allocates again: the same port number,
         * unbound, reserved for us; our old port still points at it. */
        ck_assert_int_eq(ask(E_UNBIND, p5, 0).rc, 0);
        struct rep r = ask(E_BIND_UNBOUND, 0, 0);
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_eq(r.port, p5);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
        /* Bound again by a new local port: only that channel delivers. */
        ck_assert_int_eq(xh_evtchn_bind_interdomain(ev, FRONT, p5, &q0), 0);
        ck_assert_uint_ne(q0, p0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
        ck_assert_uint_eq(got, q0);
        ck_assert_int_eq(xh_evtchn_unmask(ev, q0), 0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
        ck_assert_int_eq(xh_evtchn_notify(ev, q0), 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, p5);
        /* And dom5's notifies reach q0, never the old p0. */
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
        ck_assert_uint_eq(got, q0);
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), -EAGAIN);
}
END_TEST

START_TEST(unmask_redelivers_once_and_fd_tracks_queue)
{
        uint32_t p5, p0, got;
        connect_pair(ev, &p5, &p0);
        ck_assert(!readable(ev));
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert(readable(ev));
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), 0);
        ck_assert_uint_eq(got, p0);
        ck_assert(!readable(ev));
        for (int i = 0; i < 5; i++) /* masked: pending only, no wake-up */
                ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert(!readable(ev));
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), -EAGAIN);
        ck_assert_int_eq(xh_evtchn_unmask(ev, p0), 0);
        ck_assert(readable(ev)); /* redelivered by the unmask itself */
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), 0);
        ck_assert_uint_eq(got, p0);
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), -EAGAIN);
        ck_assert_int_eq(xh_evtchn_unmask(ev, p0), 0); /* nothing pending */
        ck_assert(!readable(ev));
        /* Unmasked now: the next notify is delivered at once. */
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, 0);
        ck_assert(readable(ev));
        ck_assert_int_eq(xh_evtchn_pending(ev, &got), 0);
        ck_assert_uint_eq(got, p0);
}
END_TEST

#define NOTIFIERS 4

struct notifier {
        pthread_t t;
        uint32_t port;
        unsigned count;
        const volatile bool *stop; /* NULL: count notifies, else loop until set */
        int bad_rc;
        unsigned sent;
};

static void *notify_loop(void *arg)
{
        struct notifier *n = arg;
        for (unsigned i = 0; n->stop ? !__atomic_load_n(n->stop, __ATOMIC_ACQUIRE) : i < n->count;
             i++) {
                int rc = xh_evtchn_notify(ev, n->port);
                if (rc != 0)
                        n->bad_rc = rc;
                n->sent++;
        }
        return NULL;
}

START_TEST(concurrent_notifies_coalesce_until_unmask)
{
        uint32_t p5, p0;
        struct notifier n[NOTIFIERS];
        connect_pair(ev, &p5, &p0);
        for (int i = 0; i < NOTIFIERS; i++) {
                n[i] = (struct notifier){.port = p0, .count = 5000};
                ck_assert_int_eq(pthread_create(&n[i].t, NULL, notify_loop, &n[i]), 0);
        }
        for (int i = 0; i < NOTIFIERS; i++) {
                pthread_join(n[i].t, NULL);
                ck_assert_int_eq(n[i].bad_rc, 0);
        }
        struct rep r = ask(E_WAIT, 2000, 0); /* one delivery ... */
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_eq(r.port, p5);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN); /* ... the rest coalesced */
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);      /* pending: once more */
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, p5);
        ck_assert_int_eq(ask(E_UNMASK, p5, 0).rc, 0);
        ck_assert_int_eq(ask(E_WAIT, 200, 0).rc, -EAGAIN);
}
END_TEST

START_TEST(domain_destroy_while_peer_notifies)
{
        uint32_t p5, p0, got;
        static volatile bool stop;
        struct notifier n[2];
        connect_pair(ev, &p5, &p0);
        stop = false;
        for (int i = 0; i < 2; i++) {
                n[i] = (struct notifier){.port = p0, .stop = &stop};
                ck_assert_int_eq(pthread_create(&n[i].t, NULL, notify_loop, &n[i]), 0);
        }
        usleep(20000);
        int rc = simhost_domain_destroy(&host, FRONT);
        agent_stop();
        usleep(20000);
        __atomic_store_n(&stop, true, __ATOMIC_RELEASE);
        for (int i = 0; i < 2; i++) {
                pthread_join(n[i].t, NULL);
                ck_assert_int_eq(n[i].bad_rc, 0); /* before and after: 0, never an error */
                ck_assert_uint_gt(n[i].sent, 0);
        }
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(wait_port(ev, 100, &got), -EAGAIN);
        /* A new dom5 binds our port again; the channel works both ways. */
        ck_assert_int_eq(simhost_domain_create(&host, FRONT), 0);
        agent_start();
        struct rep r = ask(E_BIND_INTER, 0, p0);
        ck_assert_int_eq(r.rc, 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, r.port);
        ck_assert_int_eq(ask(E_UNMASK, r.port, 0).rc, 0);
        ck_assert_int_eq(xh_evtchn_notify(ev, p0), 0);
        ck_assert_uint_eq(ask(E_WAIT, 2000, 0).port, r.port);
        ck_assert_int_eq(ask(E_NOTIFY, r.port, 0).rc, 0);
        ck_assert_int_eq(wait_port(ev, 2000, &got), 0);
        ck_assert_uint_eq(got, p0);
}
END_TEST

START_TEST(destroyed_domain_handle_reports_epipe)
{
        uint32_t p5, p0;
        connect_pair(ev, &p5, &p0);
        ck_assert_int_eq(simhost_domain_destroy(&host, FRONT), 0);
        /* dom5's handle (still open in its process) wakes and fails. */
        struct rep r = ask(E_WAIT, 2000, 0);
        ck_assert_int_eq(r.rc, -EPIPE);
        ck_assert_int_eq(ask(E_NOTIFY, p5, 0).rc, -EPIPE);
        ck_assert_int_eq(ask(E_BIND_UNBOUND, 0, 0).rc, -EPIPE);
}
END_TEST

static Suite *sim_evtchn_suite(void)
{
        Suite *s = suite_create("sim_evtchn");
        TCase *tc = tcase_create("two domains");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, ping_pong_both_ways);
        tcase_add_test(tc, masked_port_stays_pending_until_unmask);
        tcase_add_test(tc, one_handle_many_ports);
        tcase_add_test(tc, refusals_match_xen_and_the_driver);
        tcase_add_test(tc, closing_one_end_leaves_the_other_bindable);
        tcase_add_test(tc, process_death_unbinds_its_ports);
        tcase_add_test(tc, domain_destroy_closes_its_ports);
        tcase_add_test(tc, port_limit_is_enospc);
        tcase_add_test(tc, broker_survives_garbage_and_quitters);
        tcase_add_test(tc, notify_after_peer_unbound_is_dropped);
        tcase_add_test(tc, reused_port_gets_nothing_from_the_old_channel);
        tcase_add_test(tc, unmask_redelivers_once_and_fd_tracks_queue);
        tcase_add_test(tc, concurrent_notifies_coalesce_until_unmask);
        tcase_add_test(tc, domain_destroy_while_peer_notifies);
        tcase_add_test(tc, destroyed_domain_handle_reports_epipe);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_evtchn_suite)
