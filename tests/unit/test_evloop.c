/* evloop: dispatch, modification, and removal of fds from inside callbacks
 * (including another fd of the same epoll batch). */
#include <check.h>
#include <errno.h>
#include <unistd.h>

#include "check_main.h"
#include "evloop.h"

struct pipe_pair {
        int fds[2];
        int hits;
        struct ev_loop *loop;
        struct pipe_pair *victim; /* removed from inside our callback */
};

static void on_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct pipe_pair *p = arg;
        char c;
        ck_assert_int_eq(read(fd, &c, 1), 1);
        p->hits++;
        if (p->victim)
                ck_assert_int_eq(ev_del(loop, p->victim->fds[0]), 0);
}

static void pipe_setup(struct pipe_pair *p, struct ev_loop *l)
{
        ck_assert_int_eq(pipe(p->fds), 0);
        p->hits = 0;
        p->loop = l;
        p->victim = NULL;
        ck_assert_int_eq(ev_add(l, p->fds[0], EPOLLIN, on_read, p), 0);
}

START_TEST(dispatches_to_the_right_callback)
{
        struct ev_loop *l;
        struct pipe_pair a, b;
        ck_assert_int_eq(ev_loop_create(&l), 0);
        pipe_setup(&a, l);
        pipe_setup(&b, l);
        ck_assert_int_eq(write(b.fds[1], "x", 1), 1);
        ck_assert_int_eq(ev_run_once(l, 1000), 1);
        ck_assert_int_eq(a.hits, 0);
        ck_assert_int_eq(b.hits, 1);
        ck_assert_int_eq(ev_run_once(l, 0), 0);
        ev_loop_destroy(l);
}
END_TEST

START_TEST(removal_inside_a_batch_suppresses_the_removed_fd)
{
        struct ev_loop *l;
        struct pipe_pair a, b;
        ck_assert_int_eq(ev_loop_create(&l), 0);
        pipe_setup(&a, l);
        pipe_setup(&b, l);
        /* Whichever runs first removes the other: exactly one callback runs. */
        a.victim = &b;
        b.victim = &a;
        ck_assert_int_eq(write(a.fds[1], "x", 1), 1);
        ck_assert_int_eq(write(b.fds[1], "x", 1), 1);
        ev_run_once(l, 1000);
        ck_assert_int_eq(a.hits + b.hits, 1);
        ck_assert_int_eq(ev_del(l, a.hits ? b.fds[0] : a.fds[0]), -ENOENT);
        ev_loop_destroy(l);
}
END_TEST

START_TEST(mod_and_del_report_unknown_fds)
{
        struct ev_loop *l;
        ck_assert_int_eq(ev_loop_create(&l), 0);
        ck_assert_int_eq(ev_mod(l, 12345, EPOLLIN), -ENOENT);
        ck_assert_int_eq(ev_del(l, 12345), -ENOENT);
        ck_assert_int_lt(ev_add(l, -1, EPOLLIN, on_read, NULL), 0);
        ev_loop_destroy(l);
}
END_TEST

static void stop_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        char c;
        ck_assert_int_eq(read(fd, &c, 1), 1);
        ev_stop(loop);
}

START_TEST(run_returns_after_stop)
{
        struct ev_loop *l;
        int fds[2];
        ck_assert_int_eq(ev_loop_create(&l), 0);
        ck_assert_int_eq(pipe(fds), 0);
        ck_assert_int_eq(ev_add(l, fds[0], EPOLLIN, stop_cb, NULL), 0);
        ck_assert_int_eq(write(fds[1], "x", 1), 1);
        ck_assert_int_eq(ev_run(l), 0);
        ck_assert(ev_stopped(l));
        ev_loop_destroy(l);
}
END_TEST

static Suite *evloop_suite(void)
{
        Suite *s = suite_create("evloop");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, dispatches_to_the_right_callback);
        tcase_add_test(tc, removal_inside_a_batch_suppresses_the_removed_fd);
        tcase_add_test(tc, mod_and_del_report_unknown_fds);
        tcase_add_test(tc, run_returns_after_stop);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(evloop_suite)
