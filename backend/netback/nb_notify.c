/* L3 on a queue's worker: responses go on the ring at the end of every pass
 * (a frontend that polls sees them at once); the event-channel notification
 * is sent, or held as nb_coal decides, with a timerfd bounding every hold.
 * The guest's rsp_event is checked over all responses pushed since the last
 * check, so a held notification is never lost, only late. */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>

#include "log.h"
#include "netback/nb_vif.h"
#include "worker.h"

/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY's test, over responses [old, new). */
static bool guest_asked(RING_IDX old, RING_IDX new, RING_IDX event)
{
        return (RING_IDX)(new - event) < (RING_IDX)(new - old);
}

static bool rx_due(struct nb_queue *q)
{
        RING_IDX now = q->rx.rsp_prod_pvt;
        bool due;
        xen_mb(); /* rsp_prod visible before rsp_event is read */
        due = guest_asked(q->rx_checked, now, q->rx.sring->rsp_event);
        q->rx_checked = now;
        return due;
}

static bool tx_due(struct nb_queue *q)
{
        RING_IDX now = q->tx.rsp_prod_pvt;
        bool due;
        xen_mb();
        due = guest_asked(q->tx_checked, now, q->tx.sring->rsp_event);
        q->tx_checked = now;
        return due;
}

/* LRO flows kept open during the RX hold go on the ring before the hold's
 * notification, so that it covers them. */
static void rx_hold_close(struct nb_queue *q)
{
        if (q->coal_rx.holding)
                nb_rx_lro_close(q, true);
}

/* An event that covered the TX ring's responses went out: the TX hold ends,
 * and a guest waiting for TX room has been told. */
static void tx_hold_end(struct nb_queue *q, uint64_t now)
{
        nb_coal_sent_at(&q->coal_tx, now);
        q->tx_starved = false;
}

/* Sends what the guest asked for of the directions that want to send.
 * On a shared port one event serves both rings (nb_coal_port_plan): the
 * direction that did not ask rides along when an event goes out, and
 * keeps its hold when none does. Every pass ends with an L3 decision of
 * each direction (nb_queue_work runs TX, then RX): were a direction's
 * "nothing to hold" to end the other's hold, no hold would outlive the
 * next pass, whatever its controller chose. Split ports: each direction
 * on its own. */
static void send_owed(struct nb_queue *q, bool rx, bool tx)
{
        struct nb_coal_port_plan p;
        bool due_rx = false, due_tx = false;
        uint64_t now;

        if (rx) {
                rx_hold_close(q);
                due_rx = rx_due(q);
        }
        if (tx)
                due_tx = tx_due(q);
        p = nb_coal_port_plan(q->port_rx == q->port_tx, rx, tx, due_rx, due_tx);
        /* A ring riding on the other's event: its responses so far are
         * what the guest's handler will see, so they count as told. */
        if (p.end_rx && !rx) {
                rx_hold_close(q);
                rx_due(q);
        }
        if (p.end_tx && !tx)
                tx_due(q);
        if (p.notify_rx) {
                xh_evtchn_notify(q->ev, q->port_rx);
                q->st.rx_notify++;
        }
        if (p.notify_tx) {
                xh_evtchn_notify(q->ev, q->port_tx);
                q->st.tx_notify++;
        }
        now = nb_now_ns();
        if (p.end_rx)
                nb_coal_sent_at(&q->coal_rx, now);
        if (p.end_tx)
                tx_hold_end(q, now);
}

static void timer_disarm(struct nb_queue *q)
{
        struct itimerspec off = {0};
        if (!q->coal_armed)
                return;
        timerfd_settime(q->coal_fd, 0, &off, NULL);
        q->coal_armed = false;
}

/* Arms the timer for the earliest held deadline, unless it already fires
 * sooner (it then re-arms for what is still held). */
static void timer_update(struct nb_queue *q)
{
        uint64_t a = nb_coal_deadline(&q->coal_rx, &q->coal);
        uint64_t b = nb_coal_deadline(&q->coal_tx, &q->coal);
        uint64_t c = nb_rx_lro_wake(q);
        uint64_t at = a && (!b || a < b) ? a : b;
        if (c && (!at || c < at))
                at = c;

        if (!at) {
                timer_disarm(q);
                return;
        }
        if (q->coal_armed && q->coal_armed_at <= at)
                return;
        if (nb_timer_arm(q->coal_fd, at) < 0) {
                /* No bound without the timer: send now rather than hold. */
                send_owed(q, true, true);
                return;
        }
        q->coal_armed = true;
        q->coal_armed_at = at;
}

/* Buffers the guest has posted that the worker has not used yet. req_prod
 * is the guest's to write; a wrong value only moves one notification. */
static RING_IDX rx_ring_posted(const struct nb_queue *q)
{
        RING_IDX req = __atomic_load_n(&q->rx.sring->req_prod, __ATOMIC_RELAXED);
        RING_IDX posted = req - q->rx.req_cons;
        return posted <= RING_SIZE(&q->rx) ? posted : RING_SIZE(&q->rx);
}

/* A guest left with no more than a copy batch of buffers is told at once
 * (nb_notify_rx_batch says why), and a pass whose responses were all told
 * mid-pass owes nothing: it starts no hold, which would end with nothing
 * to send and count as a hold that met no work. */
void nb_notify_rx(struct nb_queue *q, uint32_t frames, bool pending)
{
        uint64_t now = nb_now_ns();
        bool owed;

        RING_PUSH_RESPONSES(&q->rx);
        owed = q->rx.rsp_prod_pvt != q->rx_checked || q->coal_rx.holding;
        if (owed && rx_ring_posted(q) > NB_COPY_BATCH) {
                if (nb_coal_pass(&q->coal_rx, &q->coal, now, frames, pending)) {
                        timer_update(q);
                        return;
                }
        } else {
                nb_coal_feed(&q->coal_rx, &q->coal, now, frames);
        }
        if (owed)
                send_owed(q, true, false);
        timer_update(q);
}

void nb_notify_tx(struct nb_queue *q, uint32_t frames, bool pending)
{
        RING_PUSH_RESPONSES(&q->tx);
        if (nb_coal_pass(&q->coal_tx, &q->coal, nb_now_ns(), frames, pending)) {
                timer_update(q);
                return;
        }
        send_owed(q, false, true);
        timer_update(q);
}

/* Free slots of the guest's TX ring once rsp_prod has gone out. req_prod is
 * the guest's to write; a wrong value only moves one notification. */
static RING_IDX tx_ring_free(const struct nb_queue *q, RING_IDX rsp_prod)
{
        RING_IDX req = __atomic_load_n(&q->tx.sring->req_prod, __ATOMIC_RELAXED);
        RING_IDX used = req - rsp_prod;
        return used <= RING_SIZE(&q->tx) ? RING_SIZE(&q->tx) - used : 0;
}

/* A guest that could not post another packet of the most slots a packet may
 * take (XEN_NETIF_NR_SLOTS_MIN + 1) waits for room, not for anything L3
 * might gain by holding. It is woken once no more than a copy batch of its
 * requests is left unanswered: that batch covers its wake-up and refill, so
 * the worker does not run dry, and the wake-up (an IPI to an idle CPU, some
 * microseconds in a VM) is paid per three quarters of a ring instead of per
 * copy batch. */
static bool tx_room_enough(const struct nb_queue *q)
{
        RING_IDX size = RING_SIZE(&q->tx);
        RING_IDX want = size > 2 * NB_COPY_BATCH ? size - NB_COPY_BATCH : size / 2;
        return tx_ring_free(q, q->tx.rsp_prod_pvt) >= want;
}

void nb_notify_tx_batch(struct nb_queue *q)
{
        RING_IDX old = q->tx.sring->rsp_prod;
        if (q->tx.rsp_prod_pvt == old)
                return;
        if (tx_ring_free(q, old) < NB_TX_LEGACY_SLOTS_MAX + 1)
                q->tx_starved = true;
        RING_PUSH_RESPONSES(&q->tx);
        if (q->tx_starved && tx_room_enough(q))
                send_owed(q, false, true);
}

/* The RX side of the rule above. A sleeping guest told only at the end of
 * the pass refills after the worker has used every buffer it posted: the
 * two take turns, each idle while the other works. Told while a copy batch
 * of buffers is left, it refills while the worker uses them. LRO flows kept
 * open for an L3 hold are not closed here: the hold ends with this event,
 * so the pass's end flushes them (nb_rx_lro_flush). On a shared port the
 * event serves TX as well, as nb_coal_port_plan has it. */
void nb_notify_rx_batch(struct nb_queue *q)
{
        uint64_t now;

        if (q->rx.rsp_prod_pvt == q->rx.sring->rsp_prod)
                return;
        RING_PUSH_RESPONSES(&q->rx);
        if (rx_ring_posted(q) > NB_COPY_BATCH || !rx_due(q))
                return;
        xh_evtchn_notify(q->ev, q->port_rx);
        q->st.rx_notify++;
        now = nb_now_ns();
        nb_coal_sent_at(&q->coal_rx, now);
        if (q->port_tx == q->port_rx) { /* the event shows TX's responses too */
                tx_due(q);
                tx_hold_end(q, now);
        }
}

void nb_notify_timer(struct nb_queue *q)
{
        uint64_t now = nb_now_ns();
        bool rx, tx;

        q->coal_armed = false;
        if (q->dead)
                return;
        rx = nb_coal_timer(&q->coal_rx, &q->coal, now);
        tx = nb_coal_timer(&q->coal_tx, &q->coal, now);
        if (rx || tx)
                send_owed(q, rx, tx);
        /* LRO's age bound came before the hold's end: those packets go on
         * the ring, the notification stays held. */
        nb_rx_lro_close(q, false);
        timer_update(q);
}

void nb_notify_flush(struct nb_queue *q)
{
        if (q->dead || !q->started)
                return;
        send_owed(q, true, true);
        timer_disarm(q);
}

int nb_queue_set_coal(struct worker *w, void *arg)
{
        struct nb_coal_update *u = arg;
        struct nb_queue *q = u->q;
        int rc = 0;
        (void)w;
        /* What is held leaves under the old settings. */
        nb_notify_flush(q);
        if (u->cfg.l2_poll_us != q->coal.l2_poll_us || u->cfg.l2 != q->coal.l2)
                nb_coal_poll_init(&q->poll, &u->cfg);
        if (u->cfg.l4 && !q->coal.l4 && q->rxs)
                rc = nb_rx_lro_enable(q);
        q->coal = u->cfg;
        if (rc < 0) {
                q->coal.l4 = false;
                pv_err(q->ctx, "switching LRO on: %s", strerror(-rc));
        }
        if (!q->dead && q->started)
                nb_queue_kick(q);
        return rc;
}
