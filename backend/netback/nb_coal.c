/* Implementation of nb_coal.h: the coalescing settings and the per-queue
 * controller (pure, apart from nb_coal_hints reading a queue). */
#include "netback/nb_coal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netback/nb_vif.h"

/* net_dim's RX profiles are {usecs, pkts} pairs growing together; these are
 * the same shape, scaled to what a grant-copy backend's pass costs. The
 * configured frames/usecs cap every step. */
const struct nb_coal_prof nb_coal_ladder[NB_COAL_PROFILES] = {
    {0, 0}, {8, 32}, {16, 64}, {32, 128}, {64, 256}, {128, 512},
};

/* Least wait of an idle hold: below this a timer costs more than it saves. */
#define NB_COAL_IDLE_MIN_NS 5000ull

void nb_coal_cfg_default(struct nb_coal_cfg *c)
{
        c->l2 = NB_COAL_ADAPTIVE;
        c->l3 = NB_COAL_ADAPTIVE;
        c->l4 = true;
        c->l2_poll_us = NB_COAL_POLL_US_DEFAULT;
        c->l2_budget = NB_COAL_BUDGET_DEFAULT;
        c->l3_frames = NB_COAL_FRAMES_DEFAULT;
        c->l3_usecs = NB_COAL_USECS_DEFAULT;
}

void nb_coal_cfg_set_all(struct nb_coal_cfg *c, enum nb_coal_mode m)
{
        c->l2 = (uint8_t)m;
        c->l3 = (uint8_t)m;
        c->l4 = m != NB_COAL_OFF;
}

static const char *const mode_names[] = {"off", "fixed", "adaptive"};

int nb_coal_mode_parse(const char *s, enum nb_coal_mode *out)
{
        for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (!strcmp(s, mode_names[i])) {
                        *out = (enum nb_coal_mode)i;
                        return 0;
                }
        return -EINVAL;
}

const char *nb_coal_mode_str(unsigned m)
{
        return m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

void nb_coal_dir_init(struct nb_coal_dir *d, uint64_t now_ns)
{
        memset(d, 0, sizeof(*d));
        d->s_start_ns = now_ns;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
        return a < b ? a : b;
}

struct nb_coal_prof nb_coal_l3_bound(const struct nb_coal_dir *d, const struct nb_coal_cfg *c)
{
        struct nb_coal_prof p = {0, 0};
        if (c->l3 == NB_COAL_FIXED) {
                p.frames = c->l3_frames;
                p.usecs = c->l3_usecs;
        } else if (c->l3 == NB_COAL_ADAPTIVE && d->profile < NB_COAL_PROFILES) {
                p.frames = min_u32(nb_coal_ladder[d->profile].frames, c->l3_frames);
                p.usecs = min_u32(nb_coal_ladder[d->profile].usecs, c->l3_usecs);
        }
        if (p.frames == 0 || p.usecs == 0)
                p.frames = p.usecs = 0;
        return p;
}

/* The highest step the configured bounds leave distinct: above the first
 * step that reaches a bound, every step caps to the same values. */
static uint32_t top_profile(const struct nb_coal_cfg *c)
{
        if (c->l3_frames == 0 || c->l3_usecs == 0)
                return 0;
        for (uint32_t i = 1; i < NB_COAL_PROFILES; i++)
                if (nb_coal_ladder[i].frames >= c->l3_frames ||
                    nb_coal_ladder[i].usecs >= c->l3_usecs)
                        return i;
        return NB_COAL_PROFILES - 1;
}

static void set_profile(struct nb_coal_dir *d, uint32_t p, int32_t step)
{
        if (p > d->profile)
                d->steps_up++;
        else if (p < d->profile)
                d->steps_down++;
        d->profile = p;
        d->last_step = step;
}

/* After a step that proved wrong: no step for a while, twice as long as
 * last time until a step holds again. */
static void park(struct nb_coal_dir *d)
{
        d->backoff = d->backoff ? d->backoff * 2 : NB_COAL_TIRED;
        if (d->backoff > NB_COAL_TIRED_MAX)
                d->backoff = NB_COAL_TIRED_MAX;
        d->tired = d->backoff;
}

/* One sample's verdict (net_dim_decision, on one metric: the frame rate).
 * A step up that cost rate is taken back (a flow limited by its window
 * waits for our notifications). */
static void sample_end(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns)
{
        uint64_t dt = now_ns - d->s_start_ns;
        uint64_t rate = dt ? d->s_frames * 1000000000ull / dt : 0;
        uint32_t top = top_profile(c);

        if (c->l3 != NB_COAL_ADAPTIVE) {
                /* Nothing to tune: start from the bottom when switched on. */
                set_profile(d, 0, 0);
        } else if (d->s_passes < NB_COAL_SAMPLE_PASS) {
                /* Idle or slow: nothing worth holding for; a hold that met
                 * no more work just now was the load ending. */
                if (d->profile)
                        d->idle_resets++;
                set_profile(d, 0, 0);
                d->lonely = 0;
                /* Parked is a time: idle samples count, however long. */
                uint64_t n = dt / NB_COAL_SAMPLE_NS;
                d->tired = d->tired > n ? d->tired - (uint32_t)n : 0;
        } else if (d->last_step > 0 && rate * 4 < d->prev_rate * 3) {
                /* The step cost a quarter of the rate (net_dim reacts to a
                 * tenth, but one sample's rate on a busy host moves by
                 * that much by itself): step back and wait a little,
                 * without the backoff that lonely holds earn. */
                set_profile(d, d->profile ? d->profile - 1 : 0, -1);
                d->tired = NB_COAL_TIRED_RATE;
        } else if (d->tired) {
                d->tired--;
                d->last_step = 0;
        } else if (d->profile < top) {
                set_profile(d, d->profile + 1, +1);
        } else {
                if (d->profile > top)
                        set_profile(d, top, -1);
                d->last_step = 0;
        }
        /* Holds that gathered work prove holding pays here: a later
         * lonely streak parks the ladder briefly again. Steps alone prove
         * nothing (below the gap nothing is held). */
        if (d->s_useful >= NB_COAL_USEFUL)
                d->backoff = 0;
        d->prev_rate = rate;
        d->s_start_ns = now_ns;
        d->s_frames = d->s_passes = d->s_useful = 0;
}

void nb_coal_feed(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns,
                  uint32_t frames)
{
        if (frames) {
                if (d->last_work_ns) {
                        /* Mean and mean deviation, as TCP keeps its RTT. */
                        uint64_t g = now_ns - d->last_work_ns;
                        uint64_t dev = g > d->gap_ns ? g - d->gap_ns : d->gap_ns - g;
                        if (d->gap_ns) {
                                d->gap_dev_ns = (d->gap_dev_ns * 3 + dev) / 4;
                                d->gap_ns = (d->gap_ns * 7 + g) / 8;
                        } else {
                                d->gap_ns = g;
                                d->gap_dev_ns = g / 2;
                        }
                }
                d->last_work_ns = now_ns;
                d->s_frames += frames;
                d->s_passes++;
        }
        if (now_ns - d->s_start_ns >= NB_COAL_SAMPLE_NS)
                sample_end(d, c, now_ns);
}

bool nb_coal_pass(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns,
                  uint32_t frames, bool pending)
{
        struct nb_coal_prof b;

        nb_coal_feed(d, c, now_ns, frames);
        if (c->l3 == NB_COAL_OFF)
                return false;
        if (frames) {
                if (!d->holding) {
                        d->holding = true;
                        d->hold_since_ns = now_ns;
                        d->owed_frames = 0;
                        d->hold_passes = 0;
                }
                d->owed_frames += frames;
                d->hold_passes++;
        }
        if (!d->holding)
                return false;
        b = nb_coal_l3_bound(d, c);
        /* Adaptive at profile 0 still holds while more work waits: the
         * next pass follows at once and notifies for both. */
        if (b.frames == 0 && pending && c->l3 == NB_COAL_ADAPTIVE) {
                b.frames = c->l3_frames;
                b.usecs = c->l3_usecs;
        }
        if (b.frames == 0 || d->owed_frames >= b.frames ||
            now_ns - d->hold_since_ns >= (uint64_t)b.usecs * 1000ull)
                return false;
        if (!pending) {
                /* Nothing waits: hold only if the next work is due within
                 * the bound (mean gap plus two deviations). */
                if (c->l3 == NB_COAL_ADAPTIVE &&
                    d->gap_ns + 2 * d->gap_dev_ns >= (uint64_t)b.usecs * 1000ull)
                        return false;
                if (nb_coal_deadline(d, c) <= now_ns)
                        return false;
        }
        d->held++;
        d->hold_held = true;
        return true;
}

uint64_t nb_coal_deadline(const struct nb_coal_dir *d, const struct nb_coal_cfg *c)
{
        struct nb_coal_prof b;
        uint64_t at, idle_wait;

        if (!d->holding)
                return 0;
        b = nb_coal_l3_bound(d, c);
        if (b.usecs == 0)
                b.usecs = c->l3_usecs; /* a pending hold at profile 0 */
        at = d->hold_since_ns + (uint64_t)b.usecs * 1000ull;
        if (c->l3 != NB_COAL_ADAPTIVE)
                return at;
        /* Adaptive: the queue counts as idle once no work came for longer
         * than the gaps between working passes last (mean plus four mean
         * deviations, as a TCP retransmission timeout, and at least twice
         * the mean); then nothing waits. */
        idle_wait = d->gap_ns + 4 * d->gap_dev_ns;
        if (idle_wait < 2 * d->gap_ns)
                idle_wait = 2 * d->gap_ns; /* arrivals like clockwork still jitter */
        if (idle_wait < NB_COAL_IDLE_MIN_NS)
                idle_wait = NB_COAL_IDLE_MIN_NS;
        if (d->last_work_ns + idle_wait < at)
                at = d->last_work_ns + idle_wait;
        return at;
}

void nb_coal_sent(struct nb_coal_dir *d)
{
        if (d->holding && d->hold_held)
                d->released++;
        d->hold_held = false;
        if (d->holding && d->hold_passes > 1) {
                d->lonely = 0; /* more work came while holding */
                if (d->hold_held)
                        d->s_useful++;
        }
        d->holding = false;
        d->owed_frames = 0;
}

void nb_coal_sent_at(struct nb_coal_dir *d, uint64_t now_ns)
{
        if (d->holding && now_ns - d->hold_since_ns > d->hold_max_ns)
                d->hold_max_ns = now_ns - d->hold_since_ns;
        nb_coal_sent(d);
}

bool nb_coal_timer(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t now_ns)
{
        if (!d->holding || now_ns < nb_coal_deadline(d, c))
                return false;
        d->expired++;
        if (c->l3 == NB_COAL_ADAPTIVE && d->hold_passes <= 1 && d->profile &&
            ++d->lonely >= NB_COAL_LONELY) {
                /* Hold after hold met no further work: the load waits for
                 * these very notifications (request/response). No hold,
                 * and parked, twice as long each time it recurs. */
                d->idle_resets++;
                d->lonely = 0;
                set_profile(d, 0, -1);
                park(d);
        }
        return true;
}

struct nb_coal_port_plan nb_coal_port_plan(bool shared, bool want_rx, bool want_tx, bool due_rx,
                                           bool due_tx)
{
        struct nb_coal_port_plan p = {
            .notify_rx = want_rx && due_rx,
            .notify_tx = want_tx && due_tx,
            .end_rx = want_rx,
            .end_tx = want_tx,
        };
        if (!shared)
                return p;
        if (p.notify_rx || p.notify_tx) {
                /* One event for both rings, counted as RX's when RX asked. */
                p.notify_tx = !p.notify_rx;
                p.end_rx = p.end_tx = true;
        }
        return p;
}

void nb_coal_poll_init(struct nb_coal_poll *p, const struct nb_coal_cfg *c)
{
        memset(p, 0, sizeof(*p));
        p->window_us = c->l2_poll_us;
}

static unsigned nb_coal_idle_needed(void)
{
        static unsigned needed;
        if (!needed) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                unsigned one_cpu = n > 0 ? (unsigned)(1000 / n) : 1000u;
                needed = one_cpu > NB_COAL_IDLE_PERMILLE ? one_cpu : NB_COAL_IDLE_PERMILLE;
        }
        return needed;
}

uint32_t nb_coal_poll_window(const struct nb_coal_poll *p, const struct nb_coal_cfg *c,
                             unsigned idle_permille)
{
        switch (c->l2) {
        case NB_COAL_FIXED:
                return c->l2_poll_us;
        case NB_COAL_ADAPTIVE:
                /* Spinning on a busy machine takes the CPU from the guest
                 * whose work we wait for: spin only while a whole CPU's
                 * worth (and at least NB_COAL_IDLE_PERMILLE) is idle. */
                if (idle_permille < nb_coal_idle_needed())
                        return 0;
                return min_u32(p->window_us, c->l2_poll_us);
        default:
                return 0;
        }
}

void nb_coal_poll_result(struct nb_coal_poll *p, const struct nb_coal_cfg *c, bool hit)
{
        uint32_t floor = c->l2_poll_us / 8 ? c->l2_poll_us / 8 : (c->l2_poll_us ? 1 : 0);
        p->polls++;
        if (hit)
                p->hits++;
        if (c->l2 != NB_COAL_ADAPTIVE)
                return;
        if (hit)
                p->window_us = min_u32(p->window_us ? p->window_us * 2 : 1, c->l2_poll_us);
        else
                p->window_us = p->window_us / 2 > floor ? p->window_us / 2 : floor;
}

void nb_coal_hints_from(const struct nb_coal_dir *rx, const struct nb_coal_dir *tx,
                        const struct nb_coal_cfg *c, struct nb_coal_hints *out)
{
        struct nb_coal_prof brx = nb_coal_l3_bound(rx, c), btx = nb_coal_l3_bound(tx, c);
        /* While we hold TX completions for N frames, a frontend kicking
         * more often than every N/4 requests wakes us for little. */
        out->tx_kick_batch = btx.frames / 4 ? min_u32(btx.frames / 4, 32) : 1;
        /* With RX notifications held up to T, polling for a quarter of T
         * after one catches the responses pushed meanwhile. */
        out->rx_poll_us = brx.usecs / 4;
}

void nb_coal_hints_cfg(const struct nb_coal_cfg *c, struct nb_coal_hints *out)
{
        struct nb_coal_dir top;
        memset(&top, 0, sizeof(top));
        top.profile = NB_COAL_PROFILES - 1;
        nb_coal_hints_from(&top, &top, c, out);
}

static const char *const src_names[] = {"default", "admin", "guest"};

const char *nb_coal_src_str(unsigned s)
{
        return s < sizeof(src_names) / sizeof(src_names[0]) ? src_names[s] : "?";
}

enum nb_coal_mode nb_coal_l3_resolve(enum nb_coal_mode configured, bool admin,
                                     enum nb_coal_pref pref, enum nb_coal_src *src)
{
        enum nb_coal_src from = admin ? NB_COAL_SRC_ADMIN : NB_COAL_SRC_DEFAULT;
        enum nb_coal_mode m = configured;
        if (!admin && pref == NB_COAL_PREF_LATENCY) {
                m = NB_COAL_OFF;
                from = NB_COAL_SRC_GUEST;
        } else if (!admin && pref == NB_COAL_PREF_THROUGHPUT) {
                m = NB_COAL_ADAPTIVE;
                from = NB_COAL_SRC_GUEST;
        }
        if (src)
                *src = from;
        return m;
}

void nb_coal_hints(const struct nb_queue *q, struct nb_coal_hints *out)
{
        nb_coal_hints_from(&q->coal_rx, &q->coal_tx, &q->coal, out);
}

int nb_coal_parse_stat(const char *text, uint64_t *idle, uint64_t *total)
{
        uint64_t v[8] = {0};
        int n;

        if (strncmp(text, "cpu ", 4))
                return -EINVAL;
        n = sscanf(text + 4,
                   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
        if (n < 4)
                return -EINVAL;
        *idle = v[3] + v[4];
        *total = 0;
        for (int i = 0; i < 8; i++)
                *total += v[i];
        return 0;
}
