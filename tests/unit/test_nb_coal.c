/* nb_coal: the coalescing controller and its settings, driven by synthetic
 * pass sequences (frames per pass, time between passes) on a fake clock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_coal.h"

#define US 1000ull
#define MS 1000000ull

/* A traffic pattern: `frames` per pass every `gap_us`, for `ms`. Closed
 * loop (request/response): the next frames come `gap_us` after the guest
 * was notified, not after the previous pass. */
struct pattern {
        uint32_t frames;
        uint64_t gap_us;
        uint64_t ms;
        bool pending;
        bool closed;
};

struct run_result {
        uint64_t passes, held, sent;
        uint32_t max_owed;    /* frames a held notification covered at most */
        uint64_t max_hold_ns; /* longest time a notification stayed held */
        uint32_t final_profile;
};

/* Drives the controller like nb_notify.c does: a pass, then either the
 * hold or a send; the timer fires at the deadline when it comes before the
 * next pass. */
static struct run_result run(struct nb_coal_dir *d, const struct nb_coal_cfg *c, uint64_t *now,
                             const struct pattern *p)
{
        struct run_result r = {0};
        uint64_t end = *now + p->ms * MS;
        while (*now < end) {
                uint64_t next = *now + p->gap_us * US;
                r.passes++;
                if (nb_coal_pass(d, c, *now, p->frames, p->pending)) {
                        r.held++;
                        if (d->owed_frames > r.max_owed)
                                r.max_owed = d->owed_frames;
                        uint64_t at = nb_coal_deadline(d, c);
                        ck_assert_uint_gt(at, 0);
                        if (p->closed)
                                next = at + p->gap_us * US;
                        if (at <= next) {
                                ck_assert(nb_coal_timer(d, c, at));
                                if (at - d->hold_since_ns > r.max_hold_ns)
                                        r.max_hold_ns = at - d->hold_since_ns;
                                nb_coal_sent(d);
                                r.sent++;
                        }
                } else {
                        if (d->holding && *now - d->hold_since_ns > r.max_hold_ns)
                                r.max_hold_ns = *now - d->hold_since_ns;
                        nb_coal_sent(d);
                        r.sent++;
                }
                *now = next;
        }
        r.final_profile = d->profile;
        return r;
}

struct ladder_case {
        const char *name;
        enum nb_coal_mode mode;
        struct pattern warm, pat;
        uint32_t profile_min, profile_max; /* after pat */
        bool expect_held;                  /* pat held notifications at all */
};

static const struct ladder_case ladder_cases[] = {
    /* A bulk stream: 16 frames every 20 µs moves up to the top. */
    {"bulk rises",
     NB_COAL_ADAPTIVE,
     {0, 100, 1, false, false},
     {16, 20, 40, false, false},
     4,
     5,
     true},
    /* ... and so does a paced one, a frame per pass every 10 µs. */
    {"paced rises",
     NB_COAL_ADAPTIVE,
     {0, 100, 1, false, false},
     {1, 10, 40, false, false},
     4,
     5,
     true},
    /* Request/response: the probe's step up costs rate, back to no hold. */
    {"ping-pong",
     NB_COAL_ADAPTIVE,
     {0, 100, 1, false, false},
     {1, 30, 40, false, true},
     0,
     0,
     true},
    /* A slow trickle: batches, but too few passes per sample to matter. */
    {"trickle",
     NB_COAL_ADAPTIVE,
     {0, 100, 1, false, false},
     {8, 1000, 40, false, false},
     0,
     0,
     false},
    /* Bulk then silence: the idle samples drop the hold. */
    {"idle drops",
     NB_COAL_ADAPTIVE,
     {16, 20, 40, false, false},
     {0, 100, 10, false, false},
     0,
     0,
     false},
    /* Bulk then ping-pong: back to no hold. */
    {"bulk then ping-pong",
     NB_COAL_ADAPTIVE,
     {16, 20, 40, false, false},
     {1, 30, 20, false, true},
     0,
     0,
     true},
    /* Off and fixed do not climb. */
    {"off", NB_COAL_OFF, {0, 100, 1, false, false}, {16, 20, 40, false, false}, 0, 0, false},
    {"fixed", NB_COAL_FIXED, {0, 100, 1, false, false}, {16, 20, 40, false, false}, 0, 0, true},
};

START_TEST(ladder_table)
{
        const struct ladder_case *tc = &ladder_cases[_i];
        struct nb_coal_cfg c;
        struct nb_coal_dir d;
        uint64_t now = 1000 * MS;

        nb_coal_cfg_default(&c);
        c.l3 = (uint8_t)tc->mode;
        nb_coal_dir_init(&d, now);
        run(&d, &c, &now, &tc->warm);
        nb_coal_sent(&d); /* the warm-up's last hold is not the pattern's */
        struct run_result r = run(&d, &c, &now, &tc->pat);
        ck_assert_msg(r.final_profile >= tc->profile_min && r.final_profile <= tc->profile_max,
                      "%s: profile %u, want %u..%u", tc->name, r.final_profile, tc->profile_min,
                      tc->profile_max);
        ck_assert_msg((r.held > 0) == tc->expect_held, "%s: held %llu", tc->name,
                      (unsigned long long)r.held);
}
END_TEST

/* Request/response for a while: the probes are rare (doubling backoff),
 * so almost every round trip goes without a hold. */
START_TEST(ping_pong_rarely_held)
{
        struct nb_coal_cfg c;
        struct nb_coal_dir d;
        uint64_t now = 10 * MS;
        struct pattern pp = {1, 80, 1000, false, true};
        nb_coal_cfg_default(&c);
        nb_coal_dir_init(&d, now);
        struct run_result r = run(&d, &c, &now, &pp);
        ck_assert_msg(r.held * 100 < r.passes, "%llu of %llu round trips held",
                      (unsigned long long)r.held, (unsigned long long)r.passes);
        ck_assert_uint_eq(r.final_profile, 0);
        ck_assert_uint_ge(d.steps_down, 1);
        /* Each probe that failed parked the ladder longer. */
        ck_assert_uint_gt(d.backoff, NB_COAL_TIRED);
}
END_TEST

/* Whatever the pattern, a held notification covers at most N frames and
 * waits at most T: the configured bounds cap every profile. */
START_TEST(bounds_respected)
{
        static const struct {
                uint32_t frames, usecs;
                enum nb_coal_mode mode;
        } caps[] = {{8, 30, NB_COAL_ADAPTIVE},
                    {2, 1000, NB_COAL_ADAPTIVE},
                    {64, 10, NB_COAL_ADAPTIVE},
                    {8, 30, NB_COAL_FIXED},
                    {1000, 50, NB_COAL_FIXED}};
        static const struct pattern pats[] = {{16, 20, 30, false, false},
                                              {1, 5, 30, false, false},
                                              {4, 2, 30, true, false},
                                              {3, 7, 30, false, false}};
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
                for (size_t j = 0; j < sizeof(pats) / sizeof(pats[0]); j++) {
                        struct nb_coal_cfg c;
                        struct nb_coal_dir d;
                        uint64_t now = 5 * MS;
                        nb_coal_cfg_default(&c);
                        c.l3 = (uint8_t)caps[i].mode;
                        c.l3_frames = caps[i].frames;
                        c.l3_usecs = caps[i].usecs;
                        nb_coal_dir_init(&d, now);
                        struct run_result r = run(&d, &c, &now, &pats[j]);
                        /* A held pass owes less than N; the pass that
                         * reaches N sends. */
                        ck_assert_msg(r.max_owed < caps[i].frames,
                                      "cap %zu pattern %zu: %u frames held", i, j, r.max_owed);
                        ck_assert_msg(r.max_hold_ns <= caps[i].usecs * US + pats[j].gap_us * US,
                                      "cap %zu pattern %zu: held %llu ns", i, j,
                                      (unsigned long long)r.max_hold_ns);
                        struct nb_coal_prof b = nb_coal_l3_bound(&d, &c);
                        ck_assert_uint_le(b.frames, caps[i].frames);
                        ck_assert_uint_le(b.usecs, caps[i].usecs);
                }
}
END_TEST

/* Adaptive: a hold that sees no further work ends after the measured gap
 * (mean plus four deviations, at least twice the mean), not after T; holds
 * that keep meeting no further work (the load waits for them) stop the
 * holding altogether. */
START_TEST(idle_hold_is_short)
{
        struct nb_coal_cfg c;
        struct nb_coal_dir d;
        uint64_t now = 10 * MS, at = 0;
        struct pattern bulk = {16, 20, 40, false, false};

        nb_coal_cfg_default(&c);
        nb_coal_dir_init(&d, now);
        run(&d, &c, &now, &bulk);
        uint32_t p = d.profile;
        ck_assert_uint_gt(p, 0);
        nb_coal_sent(&d);
        for (unsigned i = 0; i < NB_COAL_LONELY; i++) {
                ck_assert_uint_eq(d.profile, p);
                ck_assert(nb_coal_pass(&d, &c, now, 16, false));
                at = nb_coal_deadline(&d, &c);
                uint64_t wait = d.gap_ns + 4 * d.gap_dev_ns;
                ck_assert_uint_le(at - now, (wait > 2 * d.gap_ns ? wait : 2 * d.gap_ns) + 1);
                ck_assert_uint_lt(at - now, (uint64_t)nb_coal_l3_bound(&d, &c).usecs * US);
                ck_assert(!nb_coal_timer(&d, &c, at - 1));
                ck_assert(nb_coal_timer(&d, &c, at));
                nb_coal_sent(&d);
                now = at + 20 * US;
        }
        ck_assert_uint_eq(d.profile, 0);
        ck_assert_uint_gt(d.tired, 0);
        /* At profile 0 a lone frame leaves at once. */
        ck_assert(!nb_coal_pass(&d, &c, now, 1, false));
}
END_TEST

/* A step up that cost rate is taken back and the ladder parks. */
START_TEST(step_back_when_rate_falls)
{
        struct nb_coal_cfg c;
        struct nb_coal_dir d;
        uint64_t now = 10 * MS;

        nb_coal_cfg_default(&c);
        nb_coal_dir_init(&d, now);
        /* Two samples of bulk, each a step up; a pass closes the second. */
        struct pattern fast = {16, 10, 2 * NB_COAL_SAMPLE_NS / MS, false, false};
        run(&d, &c, &now, &fast);
        nb_coal_pass(&d, &c, now, 16, false);
        nb_coal_sent(&d);
        now += 10 * US;
        uint32_t p = d.profile;
        ck_assert_uint_eq(p, 2);
        ck_assert_int_eq(d.last_step, 1);
        /* Half the rate in the next sample, still batching. */
        struct pattern slow = {16, 20, NB_COAL_SAMPLE_NS / MS + 1, false, false};
        run(&d, &c, &now, &slow);
        ck_assert_uint_eq(d.profile, p - 1);
        ck_assert_uint_gt(d.tired, 0);
        uint32_t parked = d.profile;
        /* Parked: no step for a few samples even at the old rate. */
        struct pattern again = {16, 10, 3 * NB_COAL_SAMPLE_NS / MS, false, false};
        run(&d, &c, &now, &again);
        ck_assert_uint_eq(d.profile, parked);
}
END_TEST

/* More work waiting holds even at profile 0 (the next pass follows at
 * once); nothing waiting sends. Off never holds. */
START_TEST(pending_holds)
{
        struct nb_coal_cfg c;
        struct nb_coal_dir d;
        nb_coal_cfg_default(&c);
        nb_coal_dir_init(&d, 0);
        ck_assert(nb_coal_pass(&d, &c, 1 * US, 8, true));
        ck_assert(nb_coal_pass(&d, &c, 2 * US, 8, true));
        ck_assert(!nb_coal_pass(&d, &c, 3 * US, 1, false));
        nb_coal_sent(&d);
        ck_assert_uint_eq(d.held, 2);
        ck_assert_uint_eq(d.released, 1);
        c.l3 = NB_COAL_OFF;
        ck_assert(!nb_coal_pass(&d, &c, 4 * US, 8, true));
        /* A pending hold is still capped at N frames. */
        c.l3 = NB_COAL_ADAPTIVE;
        c.l3_frames = 10;
        nb_coal_sent(&d);
        ck_assert(nb_coal_pass(&d, &c, 5 * US, 8, true));
        ck_assert(!nb_coal_pass(&d, &c, 6 * US, 8, true));
}
END_TEST

START_TEST(poll_window)
{
        struct nb_coal_cfg c;
        struct nb_coal_poll p;
        nb_coal_cfg_default(&c);
        nb_coal_poll_init(&p, &c);
        /* Adaptive: gated by the idle share. */
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 100), 0);
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 900), c.l2_poll_us);
        /* Misses halve it down to an eighth; hits restore it. */
        for (int i = 0; i < 10; i++)
                nb_coal_poll_result(&p, &c, false);
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 900), c.l2_poll_us / 8);
        for (int i = 0; i < 10; i++)
                nb_coal_poll_result(&p, &c, true);
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 900), c.l2_poll_us);
        ck_assert_uint_eq(p.polls, 20);
        ck_assert_uint_eq(p.hits, 10);
        /* Fixed spins its window whatever the load; off never. */
        c.l2 = NB_COAL_FIXED;
        c.l2_poll_us = 7;
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 0), 7);
        c.l2 = NB_COAL_OFF;
        ck_assert_uint_eq(nb_coal_poll_window(&p, &c, 1000), 0);
}
END_TEST

START_TEST(modes_and_settings)
{
        enum nb_coal_mode m;
        struct nb_coal_cfg c;
        ck_assert_int_eq(nb_coal_mode_parse("fixed", &m), 0);
        ck_assert_int_eq(m, NB_COAL_FIXED);
        ck_assert_int_eq(nb_coal_mode_parse("adaptive", &m), 0);
        ck_assert_int_eq(m, NB_COAL_ADAPTIVE);
        ck_assert_int_eq(nb_coal_mode_parse("Off", &m), -EINVAL);
        ck_assert_int_eq(nb_coal_mode_parse("", &m), -EINVAL);
        ck_assert_str_eq(nb_coal_mode_str(NB_COAL_OFF), "off");
        ck_assert_str_eq(nb_coal_mode_str(9), "?");
        nb_coal_cfg_default(&c);
        ck_assert_int_eq(c.l3, NB_COAL_ADAPTIVE);
        ck_assert(c.l4);
        nb_coal_cfg_set_all(&c, NB_COAL_OFF);
        ck_assert(c.l2 == NB_COAL_OFF && c.l3 == NB_COAL_OFF && !c.l4);
        ck_assert_uint_eq(c.l3_frames, NB_COAL_FRAMES_DEFAULT); /* numbers stay */
}
END_TEST

START_TEST(hints)
{
        struct nb_coal_cfg c;
        struct nb_coal_dir rx, tx;
        struct nb_coal_hints h;
        nb_coal_cfg_default(&c);
        nb_coal_dir_init(&rx, 0);
        nb_coal_dir_init(&tx, 0);
        nb_coal_hints_from(&rx, &tx, &c, &h);
        ck_assert_uint_eq(h.tx_kick_batch, 1);
        ck_assert_uint_eq(h.rx_poll_us, 0);
        rx.profile = tx.profile = NB_COAL_PROFILES - 1;
        nb_coal_hints_from(&rx, &tx, &c, &h);
        ck_assert_uint_eq(h.tx_kick_batch, 32); /* 128 frames / 4 */
        ck_assert_uint_eq(h.rx_poll_us, 128);   /* 512 us / 4 */
}
END_TEST

START_TEST(proc_stat)
{
        uint64_t idle, total;
        ck_assert_int_eq(
            nb_coal_parse_stat("cpu  10 1 5 80 4 0 0 0 0 0\ncpu0 1 2 3 4\n", &idle, &total), 0);
        ck_assert_uint_eq(idle, 84);
        ck_assert_uint_eq(total, 100);
        ck_assert_int_eq(nb_coal_parse_stat("cpu0 1 2 3 4", &idle, &total), -EINVAL);
        ck_assert_int_eq(nb_coal_parse_stat("cpu  1 2", &idle, &total), -EINVAL);
}
END_TEST

/* ---- one event channel for both directions ------------------------------- */

/* nb_coal_port_plan over every input: a split port answers each direction
 * alone; a shared one sends at most one event, ends both directions'
 * holds when it does, and only the deciding directions' when it does not. */
START_TEST(port_plan_every_input)
{
        bool shared = _i & 1, want_rx = _i & 2, want_tx = _i & 4, due_rx = _i & 8, due_tx = _i & 16;
        struct nb_coal_port_plan p = nb_coal_port_plan(shared, want_rx, want_tx, due_rx, due_tx);
        bool asked = (want_rx && due_rx) || (want_tx && due_tx);

        if (!shared) {
                ck_assert(p.notify_rx == (want_rx && due_rx));
                ck_assert(p.notify_tx == (want_tx && due_tx));
                ck_assert(p.end_rx == want_rx && p.end_tx == want_tx);
                return;
        }
        ck_assert_int_eq(p.notify_rx + p.notify_tx, asked ? 1 : 0);
        if (asked) {
                ck_assert(p.notify_rx == (want_rx && due_rx)); /* counted as RX's when it asked */
                ck_assert(p.end_rx && p.end_tx);
        } else {
                ck_assert(p.end_rx == want_rx && p.end_tx == want_tx);
        }
}
END_TEST

/* The cases nb_notify.c meets: shared, want rx/tx, due rx/tx -> the plan
 * (notify rx/tx, end rx/tx). */
static const struct port_case {
        bool shared, want_rx, want_tx, due_rx, due_tx;
        struct nb_coal_port_plan want;
} port_cases[] = {
    /* shared: a TX pass with nothing to hold leaves the RX hold alone */
    {true, false, true, true, false, {false, false, false, true}},
    /* shared: a TX event ends the RX hold too */
    {true, false, true, true, true, {false, true, true, true}},
    /* shared: an RX event ends the TX hold too */
    {true, true, false, true, false, {true, false, true, true}},
    /* shared: both due, one event */
    {true, true, true, true, true, {true, false, true, true}},
    /* shared: nobody decided to send, nothing is sent */
    {true, false, false, true, true, {false, false, false, false}},
    /* split: the RX event leaves the TX hold alone */
    {false, true, false, true, true, {true, false, true, false}},
    /* split: one event per direction */
    {false, true, true, true, true, {true, true, true, true}},
};

START_TEST(port_plan_cases)
{
        const struct port_case *c = &port_cases[_i];
        struct nb_coal_port_plan p =
            nb_coal_port_plan(c->shared, c->want_rx, c->want_tx, c->due_rx, c->due_tx);
        ck_assert_msg(p.notify_rx == c->want.notify_rx && p.notify_tx == c->want.notify_tx &&
                          p.end_rx == c->want.end_rx && p.end_tx == c->want.end_tx,
                      "case %d: notify %d/%d end %d/%d", _i, p.notify_rx, p.notify_tx, p.end_rx,
                      p.end_tx);
}
END_TEST

/* Both directions of a queue on a fake clock, sending as nb_notify.c does:
 * the guest always asks, so a ring is due while it has responses it was
 * not told of. */
struct port_sim {
        struct nb_coal_cfg c;
        struct nb_coal_dir rx, tx;
        bool shared;
        uint32_t untold_rx, untold_tx;
        uint64_t events;
};

static void port_send(struct port_sim *s, bool rx, bool tx, uint64_t now)
{
        struct nb_coal_port_plan p =
            nb_coal_port_plan(s->shared, rx, tx, rx && s->untold_rx, tx && s->untold_tx);
        s->events += p.notify_rx + p.notify_tx;
        if (p.end_rx) {
                s->untold_rx = 0;
                nb_coal_sent_at(&s->rx, now);
        }
        if (p.end_tx) {
                s->untold_tx = 0;
                nb_coal_sent_at(&s->tx, now);
        }
}

/* One pass (TX first, as nb_queue_work runs them) for one guest RX frame,
 * then the hold timer if it fires before the next frame. */
static void port_pass(struct port_sim *s, uint64_t now, uint64_t next)
{
        if (!nb_coal_pass(&s->tx, &s->c, now, 0, false))
                port_send(s, false, true, now);
        s->untold_rx++;
        if (!nb_coal_pass(&s->rx, &s->c, now, 1, false))
                port_send(s, true, false, now);
        uint64_t a = nb_coal_deadline(&s->rx, &s->c), b = nb_coal_deadline(&s->tx, &s->c);
        uint64_t at = a && (!b || a < b) ? a : b;
        if (at && at < next) {
                bool rx = nb_coal_timer(&s->rx, &s->c, at), tx = nb_coal_timer(&s->tx, &s->c, at);
                if (rx || tx)
                        port_send(s, rx, tx, at);
        }
}

/* Events per 1000 guest RX frames, one every 100 µs for 200 ms, TX idle. */
static uint64_t port_events_per_1000(bool shared, enum nb_coal_mode l3)
{
        struct port_sim s = {.shared = shared};
        uint64_t now = 0, frames = 0;
        nb_coal_cfg_default(&s.c);
        s.c.l3 = (uint8_t)l3;
        nb_coal_dir_init(&s.rx, now);
        nb_coal_dir_init(&s.tx, now);
        for (; now < 200 * MS; now += 100 * US, frames++)
                port_pass(&s, now, now + 100 * US);
        return s.events * 1000 / frames;
}

/* A paced RX load with TX idle: on a shared port the TX passes' "nothing
 * to hold" does not end the RX holds, so L3 saves as many events as on
 * split ports. */
START_TEST(shared_port_rx_holds_survive_idle_tx)
{
        uint64_t off = port_events_per_1000(true, NB_COAL_OFF);
        uint64_t shared = port_events_per_1000(true, NB_COAL_ADAPTIVE);
        uint64_t split = port_events_per_1000(false, NB_COAL_ADAPTIVE);
        ck_assert_uint_eq(off, 1000);
        ck_assert_msg(shared * 4 < off, "shared port, adaptive: %llu events per 1000 frames",
                      (unsigned long long)shared);
        ck_assert_uint_eq(shared, split);
}
END_TEST

static Suite *nb_coal_suite(void)
{
        Suite *s = suite_create("nb_coal");
        TCase *tc = tcase_create("controller");
        tcase_add_loop_test(tc, ladder_table, 0, sizeof(ladder_cases) / sizeof(ladder_cases[0]));
        tcase_add_test(tc, bounds_respected);
        tcase_add_test(tc, ping_pong_rarely_held);
        tcase_add_test(tc, idle_hold_is_short);
        tcase_add_test(tc, step_back_when_rate_falls);
        tcase_add_test(tc, pending_holds);
        tcase_add_test(tc, poll_window);
        tcase_add_test(tc, modes_and_settings);
        tcase_add_test(tc, hints);
        tcase_add_test(tc, proc_stat);
        tcase_add_loop_test(tc, port_plan_every_input, 0, 32);
        tcase_add_loop_test(tc, port_plan_cases, 0, sizeof(port_cases) / sizeof(port_cases[0]));
        tcase_add_test(tc, shared_port_rx_holds_survive_idle_tx);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_coal_suite)
