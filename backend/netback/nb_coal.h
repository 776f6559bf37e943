/* Multilevel notification coalescing of a netback queue: the settings of
 * every level, and the controller that tunes them from what each pass did.
 * Pure: no I/O, no clock of its own (callers pass CLOCK_MONOTONIC ns), so
 * the decisions are unit-tested without Xen (tests/unit/test_nb_coal.c).
 *
 * Levels (README "Coalescing"):
 *  L1 the uplink NIC's interrupt coalescing (uplink/netdev_coalesce.h),
 *  L2 backend batching: per-pass budget and a busy-poll window after a pass
 *     that found nothing, before sleeping in epoll,
 *  L3 notification moderation towards the guest: an RX or TX-completion
 *     notification is held for up to N frames or T µs; the responses are on
 *     the ring at once (a polling frontend sees them), only the event is
 *     late,
 *  L4 LRO on guest RX (offload/off_lro.h): flushed at the end of a pass
 *     when L3 holds nothing, kept open across passes while L3 holds and
 *     closed with the held notification (nb_rx.c, nb_notify.c),
 *  L5 hints for the frontend (nb_coal_hints).
 *
 * The controller follows Linux lib/dim (net_dim): a sample every
 * NB_COAL_SAMPLE_NS, a ladder of profiles stepped up while the frame rate
 * holds and back when a step cost rate (a window-limited flow waiting for
 * our notifications), dropped to no hold as soon as a sample is idle. A
 * queue that is not expected to get work within T (mean gap between
 * working passes plus two deviations) does not hold; a hold ends once no
 * work came for longer than the usual gap (mean plus four deviations), so
 * when the queue goes idle the notification leaves; and holds that keep
 * meeting no further work, as a request/response load's do, drop the
 * ladder to no hold and park it (the "tired" state) with a doubling
 * backoff. */
#ifndef PVBACK_NB_COAL_H
#define PVBACK_NB_COAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nb_coal_mode {
        NB_COAL_OFF = 0, /* the level does nothing (notify every pass, no poll) */
        NB_COAL_FIXED,   /* the configured values */
        NB_COAL_ADAPTIVE /* the controller's current values, within the configured ones */
};

/* Defaults and bounds of the settable values. */
#define NB_COAL_BUDGET_DEFAULT  256u /* frames per direction per pass (Linux NAPI weight 64) */
#define NB_COAL_BUDGET_MIN      8u
#define NB_COAL_BUDGET_MAX      4096u
#define NB_COAL_POLL_US_DEFAULT 50u
#define NB_COAL_POLL_US_MAX     1000u
#define NB_COAL_FRAMES_DEFAULT  128u
#define NB_COAL_FRAMES_MAX      1024u
#define NB_COAL_USECS_DEFAULT   512u
#define NB_COAL_USECS_MAX       10000u
/* The controller's sample period, and the least passes a sample needs to
 * say anything about batching. */
#define NB_COAL_SAMPLE_NS   2000000ull
#define NB_COAL_SAMPLE_PASS 8u
/* Samples lonely holds (NB_COAL_LONELY) keep the ladder parked: the first
 * time, doubling up to the maximum (about 2 s) while they recur. */
#define NB_COAL_TIRED     64u
#define NB_COAL_TIRED_MAX 1024u
/* Samples a step that cost rate keeps the ladder still. */
#define NB_COAL_TIRED_RATE 4u
/* Holds in a row that meet no further work before the ladder parks. */
#define NB_COAL_LONELY 3u
/* Holds covering several passes in a sample that clear the backoff. */
#define NB_COAL_USEFUL 4u
/* L2 busy-polls only while the machine has at least this idle share. */
#define NB_COAL_IDLE_PERMILLE 300u

/* What is set for a vif (-o vif.coalesce, `set vifD.N coalesce...`); every
 * queue works on its own copy, replaced through worker_call. */
struct nb_coal_cfg {
        uint8_t l2, l3; /* enum nb_coal_mode */
        bool l4;        /* LRO on guest RX */
        uint32_t l2_poll_us, l2_budget;
        uint32_t l3_frames, l3_usecs;
};

void nb_coal_cfg_default(struct nb_coal_cfg *c);
/* Every level at once: off (today's behaviour: notify every pass, no poll,
 * no LRO), fixed or adaptive; the numbers stay. */
void nb_coal_cfg_set_all(struct nb_coal_cfg *c, enum nb_coal_mode m);
/* "off" "fixed" "adaptive" <-> the mode; -EINVAL for anything else. */
int nb_coal_mode_parse(const char *s, enum nb_coal_mode *out);
const char *nb_coal_mode_str(unsigned m);

/* One step of the ladder: hold up to `frames` frames or `usecs` µs. */
struct nb_coal_prof {
        uint32_t frames, usecs;
};
#define NB_COAL_PROFILES 6u
extern const struct nb_coal_prof nb_coal_ladder[NB_COAL_PROFILES];

/* L3 of one direction (guest RX, or TX completions) of one queue. */
struct nb_coal_dir {
        /* controller */
        uint32_t profile;
        int32_t last_step; /* +1, -1 or 0: what the previous sample did */
        uint32_t tired;    /* samples left parked */
        uint32_t backoff;  /* what the next failed step parks for (0: NB_COAL_TIRED) */
        uint64_t s_start_ns, s_frames, s_passes;
        uint32_t s_useful;   /* holds in the sample that covered more than one pass */
        uint64_t prev_rate;  /* frames per second of the previous sample */
        uint64_t gap_ns;     /* EWMA of the time between passes that moved frames */
        uint64_t gap_dev_ns; /* ... and of its deviation */
        uint64_t last_work_ns;
        /* the held notification */
        bool holding;
        uint64_t hold_since_ns;
        uint32_t owed_frames;
        uint32_t hold_passes; /* working passes the current hold covers */
        bool hold_held;       /* ... and whether a pass held it */
        uint32_t lonely;      /* holds in a row that met no further work */
        /* counters (the queue's worker writes, show reads) */
        uint64_t held;     /* passes whose notification was held */
        uint64_t released; /* held notifications sent */
        uint64_t expired;  /* ... of them because the bound or idleness was reached on the timer */
        uint64_t steps_up, steps_down, idle_resets;
        uint64_t hold_max_ns; /* longest a notification was owed */
};

void nb_coal_dir_init(struct nb_coal_dir *d, uint64_t now_ns);

/* The hold bound in force for the direction: N frames, T µs (0, 0: none). */
struct nb_coal_prof nb_coal_l3_bound(const struct nb_coal_dir *d, const struct nb_coal_cfg *c);

/* Counts a pass that moved `frames` into the controller's measures (rate,
 * gaps between working passes) without deciding anything: a pass that owes
 * the guest nothing. */
void nb_coal_feed(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns,
                  uint32_t frames);

/* End of a pass that moved `frames` (0 is a pass too: a wake-up that found
 * nothing) with `pending` true when more work is known to be waiting (the
 * budget ran out, the uplink read came back full). Feeds the controller,
 * then decides: true to hold the notification (the caller arms a timer at
 * nb_coal_deadline), false to send what is owed now (then nb_coal_sent). */
bool nb_coal_pass(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns,
                  uint32_t frames, bool pending);
/* When the held notification must leave at the latest (0: none held). */
uint64_t nb_coal_deadline(const struct nb_coal_dir *d, const struct nb_coal_cfg *c);
/* The owed notification left (or was not needed). */
void nb_coal_sent(struct nb_coal_dir *d);
/* The same, counting how long it was owed (hold_max_ns). */
void nb_coal_sent_at(struct nb_coal_dir *d, uint64_t now_ns);
/* The timer found the deadline passed: true if a notification is owed and
 * must leave now (then nb_coal_sent); a hold that saw no new work since it
 * began tells the controller the queue went idle (profile 0). */
bool nb_coal_timer(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns);

/* The events a send of owed notifications makes, and the directions it
 * settles. A port shared by both rings (the frontend did not negotiate
 * feature-split-event-channels) takes one event for both: the guest's
 * handler looks at both rings on it (Linux xennet_interrupt), so an event
 * sent for one direction also ends what the other owes. Without an event,
 * a direction that chose to hold keeps holding: the other direction merely
 * having nothing to hold is no reason to end it. Split ports: each
 * direction alone, as its own. */
struct nb_coal_port_plan {
        bool notify_rx, notify_tx; /* events to send, on port_rx and port_tx */
        bool end_rx, end_tx;       /* directions whose owed notification is done */
};
/* @want_*: the direction decided to send (or its hold is over); @due_*:
 * the guest asked for an event on that ring (only looked at when wanted). */
struct nb_coal_port_plan nb_coal_port_plan(bool shared, bool want_rx, bool want_tx, bool due_rx,
                                           bool due_tx);

/* L2: the busy-poll window of a queue. */
struct nb_coal_poll {
        uint32_t window_us; /* adaptive: current window */
        uint64_t polls, hits;
};
void nb_coal_poll_init(struct nb_coal_poll *p, const struct nb_coal_cfg *c);
/* The window to spin for after a pass that found nothing, in µs (0: do not
 * spin), given the machine's idle share (permille). */
uint32_t nb_coal_poll_window(const struct nb_coal_poll *p, const struct nb_coal_cfg *c,
                             unsigned idle_permille);
/* How the spin ended: work came (hit) or the window ran out. Adaptive:
 * hits widen the window towards the configured one, misses halve it. */
void nb_coal_poll_result(struct nb_coal_poll *p, const struct nb_coal_cfg *c, bool hit);

/* L5: what a frontend may do on its side, from the queue's current state.
 * tx_kick_batch: TX requests worth queueing before a kick (1: kick each);
 * rx_poll_us: how long polling the RX ring after a notification pays off
 * (0: do not poll). Published by the capability exchange. */
struct nb_coal_hints {
        uint32_t tx_kick_batch;
        uint32_t rx_poll_us;
};
struct nb_queue;
void nb_coal_hints(const struct nb_queue *q, struct nb_coal_hints *out);
/* The pure part of nb_coal_hints. */
void nb_coal_hints_from(const struct nb_coal_dir *rx, const struct nb_coal_dir *tx,
                        const struct nb_coal_cfg *c, struct nb_coal_hints *out);

/* The L5 hints a frontend is told (the capability exchange's coalesce/
 * section): from the settings alone, as the most the controller may hold
 * (fixed: N/T; adaptive: the top of the ladder within N/T; off: nothing),
 * never from the adaptive state, which moves every sample and would
 * republish every few milliseconds. */
void nb_coal_hints_cfg(const struct nb_coal_cfg *c, struct nb_coal_hints *out);

/* Who decided a level's mode: the class default (-o vif.coalesce, `set
 * vif ...`), the administrator on this vif, or the guest's stated
 * preference. */
enum nb_coal_src { NB_COAL_SRC_DEFAULT, NB_COAL_SRC_ADMIN, NB_COAL_SRC_GUEST };
const char *nb_coal_src_str(unsigned s);
/* The guest's preference as the controller sees it (the values of enum
 * dyncap_pref). */
enum nb_coal_pref { NB_COAL_PREF_DEFAULT, NB_COAL_PREF_LATENCY, NB_COAL_PREF_THROUGHPUT };
/* L3's mode in force. Precedence: the administrator's explicit coalesce.l3
 * (or coalesce) on the vif, whenever set, over the guest's preference
 * (latency: off, nothing held; throughput: adaptive within the configured
 * N/T), over the default. @configured is what the administrator or the
 * default set; @admin whether the administrator set it on this vif. */
enum nb_coal_mode nb_coal_l3_resolve(enum nb_coal_mode configured, bool admin,
                                     enum nb_coal_pref pref, enum nb_coal_src *src);

/* /proc/stat's first line: idle (idle + iowait) and total jiffies. 0 or
 * -EINVAL. */
int nb_coal_parse_stat(const char *text, uint64_t *idle, uint64_t *total);

#endif
