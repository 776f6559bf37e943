/* One netback queue on its worker: maps the frontend's TX/RX rings, binds the
 * event channels (split or shared), registers the fds and dispatches wake-ups
 * to the TX and RX paths. Everything here runs on the owning worker, which is
 * why the data path needs no locks (Linux: one NAPI instance and one RX
 * kthread per queue; here both directions share the worker). */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netback/nb_vif.h"
#include "worker.h"

#define NB_RL_WINDOW_NS 5000000000ull
#define NB_RL_BURST     5u

uint64_t nb_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool nb_ratelimit_ok(struct nb_ratelimit *rl, uint64_t now_ns)
{
        if (now_ns - rl->window_start >= NB_RL_WINDOW_NS) {
                rl->window_start = now_ns;
                rl->printed = 0;
        }
        if (rl->printed < NB_RL_BURST) {
                rl->printed++;
                return true;
        }
        rl->suppressed++;
        return false;
}

int nb_timer_arm(int fd, uint64_t at_ns)
{
        struct itimerspec its = {0};
        if (at_ns == 0)
                at_ns = 1; /* 0 would disarm */
        its.it_value.tv_sec = (time_t)(at_ns / 1000000000ull);
        its.it_value.tv_nsec = (long)(at_ns % 1000000000ull);
        return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static void nb_timer_read(int fd)
{
        uint64_t v;
        ssize_t r = read(fd, &v, sizeof(v));
        (void)r;
}

void nb_queue_kick(struct nb_queue *q)
{
        uint64_t one = 1;
        ssize_t r = write(q->kick_fd, &one, sizeof(one));
        (void)r;
}

static void nb_queue_unregister(struct nb_queue *q)
{
        if (!q->started)
                return;
        worker_del_fd(q->w, q->ev_fd);
        if (q->up_polling)
                worker_del_fd(q->w, q->up_fd);
        worker_del_fd(q->w, q->kick_fd);
        worker_del_fd(q->w, q->credit_fd);
        worker_del_fd(q->w, q->rx_timer_fd);
        worker_del_fd(q->w, q->coal_fd);
        if (nb_rx_inbox_fd(q) >= 0)
                worker_del_fd(q->w, nb_rx_inbox_fd(q));
        q->up_polling = false;
        q->started = false;
}

void nb_queue_fail(struct nb_queue *q, const char *fmt, ...)
{
        char msg[160], reason[240];
        va_list ap;

        if (q->dead)
                return;
        q->dead = true;
        /* Stop first: no further wake-up of this queue reads the rings. */
        nb_queue_unregister(q);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(reason, sizeof(reason), "%s: %s", q->ctx, msg);
        /* One report per vif: the other queues see the flag and go quiet. */
        if (!atomic_exchange(&q->vif->disabled, true))
                be_dev_report_guest_error(q->vif->dev, reason);
        else if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                pv_warn(q->ctx, "%s (vif already disabled)", msg);
}

/* L2: after a pass that left nothing to do, spin up to the poll window for
 * new work before sleeping in epoll; never past a held notification's
 * deadline. True if work came. The spin yields rather than pauses: a task
 * of this kernel whose work we wait for (a process sending into the TAP, a
 * frontend in this domain, the simulator's guests) is often woken on this
 * CPU, the waker's, and would otherwise wait out the window. With nothing
 * else runnable sched_yield returns at once; when something else runs, the
 * check that follows is one scheduler slice late at worst, and ends the
 * spin once past the window or the deadline. A guest vCPU is Xen's to
 * schedule: there a yield only costs its syscall. */
static bool nb_queue_spin(struct nb_queue *q)
{
        uint64_t now = nb_now_ns(), end, held;
        uint32_t us = nb_coal_poll_window(&q->poll, &q->coal, nb_idle_permille(now));
        if (us == 0)
                return false;
        end = now + (uint64_t)us * 1000ull;
        held = q->coal_armed ? q->coal_armed_at : 0;
        if (held && held < end)
                end = held;
        while (nb_now_ns() < end) {
                if (nb_poll_work_ready(q)) {
                        nb_coal_poll_result(&q->poll, &q->coal, true);
                        return true;
                }
                sched_yield();
        }
        nb_coal_poll_result(&q->poll, &q->coal, false);
        return false;
}

/* Passes a wake-up may run back to back on busy-poll hits before the
 * worker's other fds get their turn. */
#define NB_SPIN_PASSES 64

/* One pass of both directions; reschedules itself while work remains. */
static void nb_queue_work(struct nb_queue *q)
{
        for (unsigned i = 0; i < NB_SPIN_PASSES; i++) {
                bool more;
                if (q->dead)
                        return;
                if (atomic_load(&q->vif->disabled)) {
                        nb_queue_unregister(q);
                        q->dead = true;
                        return;
                }
                nb_queue_qos_apply(q);
                more = nb_tx_run(q);
                if (!q->dead)
                        more |= nb_rx_run(q);
                if (q->dead)
                        return;
                if (more) {
                        nb_queue_kick(q);
                        return;
                }
                if (!nb_queue_spin(q))
                        return;
        }
        nb_queue_kick(q);
}

static void on_evtchn(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct nb_queue *q = arg;
        uint32_t port;
        bool tx = false, rx = false;
        (void)w;
        (void)fd;
        (void)events;
        /* Drain every pending port; each arrives masked until unmask. */
        while (xh_evtchn_pending(q->ev, &port) == 0) {
                if (port == q->port_tx)
                        tx = true;
                if (port == q->port_rx)
                        rx = true;
                xh_evtchn_unmask(q->ev, port);
        }
        if (tx)
                q->st.tx_events++;
        if (rx)
                q->st.rx_events++;
        nb_queue_work(q);
}

static void on_uplink(struct worker *w, int fd, uint32_t events, void *arg)
{
        (void)w;
        (void)fd;
        (void)events;
        nb_queue_work(arg);
}

/* Other queues steered frames here: reset the eventfd, then take them. */
static void on_inbox(struct worker *w, int fd, uint32_t events, void *arg)
{
        (void)w;
        (void)events;
        nb_timer_read(fd);
        nb_queue_work(arg);
}

static void on_kick(struct worker *w, int fd, uint32_t events, void *arg)
{
        (void)w;
        (void)events;
        nb_timer_read(fd); /* an eventfd reads like a timerfd */
        nb_queue_work(arg);
}

static void on_credit(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct nb_queue *q = arg;
        (void)w;
        (void)events;
        nb_timer_read(fd);
        q->credit_armed = false;
        nb_credit_refill(&q->credit, nb_now_ns());
        nb_queue_work(q);
}

static void on_rx_timer(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct nb_queue *q = arg;
        (void)w;
        (void)events;
        nb_timer_read(fd);
        q->rx_timer_armed = false;
        if (q->dead)
                return;
        /* A frontend without feature-rx-notify is polled; one that has it
         * and still posted nothing for the drain timeout loses the backlog
         * (Linux xenvif_rx_queue_drop_expired). */
        if (q->vif->cfg.rx_notify)
                nb_rx_drain(q);
        nb_queue_work(q);
}

static void on_coal_timer(struct worker *w, int fd, uint32_t events, void *arg)
{
        (void)w;
        (void)events;
        nb_timer_read(fd);
        nb_notify_timer(arg);
}

static int nb_map_ring(struct nb_queue *q, uint32_t ref, void **page)
{
        int rc = xh_gnttab_map(q->gt, q->vif->dev->fedom, 1, &ref, true, page);
        if (rc < 0)
                pv_err(q->ctx, "mapping ring grant %u of domain %u: %s", ref, q->vif->dev->fedom,
                       strerror(-rc));
        return rc;
}

static int nb_bind(struct nb_queue *q, uint32_t remote, uint32_t *local)
{
        int rc = xh_evtchn_bind_interdomain(q->ev, q->vif->dev->fedom, remote, local);
        if (rc < 0)
                pv_err(q->ctx, "binding event channel %u of domain %u: %s", remote,
                       q->vif->dev->fedom, strerror(-rc));
        return rc;
}

/* Linux xenvif_map_frontend_data_rings: attach at the current rsp_prod and
 * refuse a ring whose producer is already further ahead than a ring holds. */
static int nb_attach_rings(struct nb_queue *q)
{
        netif_tx_sring_t *txs = q->tx_page;
        netif_rx_sring_t *rxs = q->rx_page;
        RING_IDX rsp, req;

        rsp = __atomic_load_n(&txs->rsp_prod, __ATOMIC_ACQUIRE);
        req = __atomic_load_n(&txs->req_prod, __ATOMIC_ACQUIRE);
        BACK_RING_ATTACH(&q->tx, txs, rsp, NB_PAGE_SIZE);
        if (req - rsp > RING_SIZE(&q->tx)) {
                pv_err(q->ctx, "tx ring: req_prod %u is %u ahead of rsp_prod", req, req - rsp);
                return -EIO;
        }
        rsp = __atomic_load_n(&rxs->rsp_prod, __ATOMIC_ACQUIRE);
        req = __atomic_load_n(&rxs->req_prod, __ATOMIC_ACQUIRE);
        BACK_RING_ATTACH(&q->rx, rxs, rsp, NB_PAGE_SIZE);
        if (req - rsp > RING_SIZE(&q->rx)) {
                pv_err(q->ctx, "rx ring: req_prod %u is %u ahead of rsp_prod", req, req - rsp);
                return -EIO;
        }
        return 0;
}

static void nb_queue_release(struct nb_queue *q)
{
        nb_queue_unregister(q);
        if (q->ev) {
                if (q->port_tx)
                        xh_evtchn_unbind(q->ev, q->port_tx);
                if (q->port_rx && q->port_rx != q->port_tx)
                        xh_evtchn_unbind(q->ev, q->port_rx);
                xh_evtchn_close(q->ev);
                q->ev = NULL;
        }
        q->port_tx = q->port_rx = 0;
        if (q->gt) {
                if (q->tx_page)
                        xh_gnttab_unmap(q->gt, q->tx_page, 1);
                if (q->rx_page)
                        xh_gnttab_unmap(q->gt, q->rx_page, 1);
                xh_gnttab_close(q->gt);
                q->gt = NULL;
        }
        q->tx_page = q->rx_page = NULL;
        if (q->kick_fd >= 0)
                close(q->kick_fd);
        if (q->credit_fd >= 0)
                close(q->credit_fd);
        if (q->rx_timer_fd >= 0)
                close(q->rx_timer_fd);
        if (q->coal_fd >= 0)
                close(q->coal_fd);
        q->kick_fd = q->credit_fd = q->rx_timer_fd = q->coal_fd = -1;
        q->coal_armed = false;
        nb_tx_state_free(q);
        nb_rx_state_free(q);
}

int nb_queue_start(struct worker *w, void *arg)
{
        struct nb_queue *q = arg;
        const struct xh_provider *hv = q->vif->dev->hv;
        int rc;

        q->w = w;
        q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        q->credit_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        q->rx_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        q->coal_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        /* The vif's coalescing settings as they are now (the control
         * thread waits for this call, so no set runs meanwhile). */
        q->coal = q->vif->coal;
        q->coal_armed = false;
        nb_coal_dir_init(&q->coal_rx, nb_now_ns());
        nb_coal_dir_init(&q->coal_tx, nb_now_ns());
        nb_coal_poll_init(&q->poll, &q->coal);
        if (q->kick_fd < 0 || q->credit_fd < 0 || q->rx_timer_fd < 0 || q->coal_fd < 0) {
                rc = -errno;
                goto fail;
        }
        rc = nb_tx_state_alloc(q);
        rc = rc ?: nb_rx_state_alloc(q);
        rc = rc ?: xh_gnttab_open(hv, &q->gt);
        rc = rc ?: xh_evtchn_open(hv, &q->ev);
        if (rc < 0)
                goto fail;
        rc = nb_map_ring(q, q->fe->tx_ring_ref, &q->tx_page);
        rc = rc ?: nb_map_ring(q, q->fe->rx_ring_ref, &q->rx_page);
        rc = rc ?: nb_attach_rings(q);
        if (rc < 0)
                goto fail;
        q->rx_checked = q->rx.rsp_prod_pvt;
        q->tx_checked = q->tx.rsp_prod_pvt;
        rc = nb_bind(q, q->fe->evtchn_tx, &q->port_tx);
        if (rc < 0)
                goto fail;
        if (q->fe->split) {
                rc = nb_bind(q, q->fe->evtchn_rx, &q->port_rx);
                if (rc < 0)
                        goto fail;
        } else {
                q->port_rx = q->port_tx;
        }
        q->ev_fd = xh_evtchn_fd(q->ev);
        q->up_fd = uplink_queue_fd(q->upq);
        rc = worker_add_fd(w, q->ev_fd, EPOLLIN, on_evtchn, q);
        rc = rc ?: worker_add_fd(w, q->kick_fd, EPOLLIN, on_kick, q);
        rc = rc ?: worker_add_fd(w, q->credit_fd, EPOLLIN, on_credit, q);
        rc = rc ?: worker_add_fd(w, q->rx_timer_fd, EPOLLIN, on_rx_timer, q);
        rc = rc ?: worker_add_fd(w, q->coal_fd, EPOLLIN, on_coal_timer, q);
        /* Frames steered here by other queues (read in nb_rx_run). */
        if (rc == 0 && nb_rx_inbox_fd(q) >= 0)
                rc = worker_add_fd(w, nb_rx_inbox_fd(q), EPOLLIN, on_inbox, q);
        if (rc == 0 && q->up_fd >= 0) {
                rc = worker_add_fd(w, q->up_fd, EPOLLIN, on_uplink, q);
                q->up_polling = rc == 0;
        }
        q->started = true; /* unregister copes with a partial set */
        if (rc < 0)
                goto fail;
        /* Work the frontend queued before we bound, and anything it
         * notified while the port was not ours yet. */
        nb_queue_kick(q);
        return 0;
fail:
        pv_err(q->ctx, "starting the queue failed: %s", strerror(-rc));
        nb_queue_release(q);
        return rc;
}

int nb_queue_stop(struct worker *w, void *arg)
{
        struct nb_queue *q = arg;
        (void)w;
        nb_queue_release(q);
        return 0;
}

/* The QoS window: short, so that a share moved by the scheduler takes hold
 * within a tick. */
#define NB_QOS_WINDOW_US 10000ull

/* The credit the queue transmits under. Without a QoS share, the `rate`
 * key's, in its own windows, as Linux. With one, the tighter of the share
 * and the key's rate, always in QoS windows: switching window lengths as
 * the share moves around the key's rate would strand refills. */
static void nb_queue_apply_credit(struct nb_queue *q, uint64_t now)
{
        uint64_t per_s = q->qos_tx_applied, timer_at = q->credit.timer_at;
        if (per_s) {
                if (q->rate_limited && q->rate_usec) {
                        uint64_t key =
                            (uint64_t)((unsigned __int128)q->rate_bytes * 1000000u / q->rate_usec);
                        if (key < per_s)
                                per_s = key;
                }
                uint64_t bytes = per_s * NB_QOS_WINDOW_US / 1000000u;
                nb_credit_set(&q->credit, true, bytes ? bytes : 1, NB_QOS_WINDOW_US, now);
        } else {
                nb_credit_set(&q->credit, q->rate_limited, q->rate_bytes, q->rate_usec, now);
        }
        if (q->credit_armed && q->credit.timer_at && q->credit.timer_at < timer_at)
                nb_timer_arm(q->credit_fd, q->credit.timer_at);
}

void nb_queue_qos_apply(struct nb_queue *q)
{
        uint64_t tx = atomic_load_explicit(&q->qos_tx_bytes_per_s, memory_order_relaxed);
        uint64_t rx = atomic_load_explicit(&q->qos_rx_bytes_per_s, memory_order_relaxed);
        if (tx != q->qos_tx_applied) {
                q->qos_tx_applied = tx;
                nb_queue_apply_credit(q, nb_now_ns());
        }
        if (rx != q->qos_rx_applied) {
                q->qos_rx_applied = rx;
                nb_bucket_set(&q->rx_bucket, rx, nb_now_ns());
        }
}

bool nb_queue_rx_admit(struct nb_queue *q, uint32_t len, uint64_t now)
{
        if (nb_bucket_take(&q->rx_bucket, now, len))
                return true;
        q->st.rx_drop_qos++;
        q->st.rx_drop_qos_bytes += len;
        return false;
}

int nb_queue_set_rate(struct worker *w, void *arg)
{
        struct nb_rate_update *u = arg;
        struct nb_queue *q = u->q;
        (void)w;
        q->rate_limited = u->limited;
        q->rate_bytes = u->bytes;
        q->rate_usec = u->usec;
        if (q->qos_tx_applied)
                nb_queue_apply_credit(q, nb_now_ns());
        else
                nb_credit_init(&q->credit, u->limited, u->bytes, u->usec, nb_now_ns());
        if (q->credit_armed) {
                nb_timer_arm(q->credit_fd, nb_now_ns());
        }
        if (!q->dead && q->started)
                nb_queue_kick(q);
        return 0;
}

int nb_queue_set_headroom(struct worker *w, void *arg)
{
        struct nb_headroom_update *u = arg;
        (void)w;
        u->q->xdp_headroom = u->headroom;
        return 0;
}
