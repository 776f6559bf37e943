/* worker: an fd watched for no events leaves the epoll set (a masked entry
 * would stay on the file's wait queue and be called on every wake-up of the
 * file) and comes back when watched again, its callback unchanged. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check_main.h"
#include "worker.h"

struct watched {
        int fd;
        uint32_t events;
        atomic_int hits;
        atomic_int bad_reads; /* asserted on the test's thread */
};

static void on_ready(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct watched *x = arg;
        uint64_t v;
        (void)w;
        (void)events;
        if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
                atomic_fetch_add(&x->bad_reads, 1);
        atomic_fetch_add(&x->hits, 1);
}

static int add_on_worker(struct worker *w, void *arg)
{
        struct watched *x = arg;
        return worker_add_fd(w, x->fd, EPOLLIN, on_ready, x);
}

static int mod_on_worker(struct worker *w, void *arg)
{
        struct watched *x = arg;
        return worker_mod_fd(w, x->fd, x->events);
}

static int del_on_worker(struct worker *w, void *arg)
{
        struct watched *x = arg;
        return worker_del_fd(w, x->fd);
}

/* Whether any epoll instance of this process lists fd (its fdinfo has a
 * "tfd: <fd> " line per watched file). */
static bool in_an_epoll_set(int fd)
{
        char path[300], line[256];
        bool found = false;
        DIR *d = opendir("/proc/self/fdinfo");
        struct dirent *e;
        ck_assert_ptr_nonnull(d);
        while (!found && (e = readdir(d))) {
                FILE *f;
                snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
                if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
                        continue;
                while (!found && fgets(line, sizeof(line), f)) {
                        if (strncmp(line, "tfd:", 4) == 0)
                                found = atoi(line + 4) == fd;
                }
                fclose(f);
        }
        closedir(d);
        return found;
}

static bool hits_reach(struct watched *x, int n)
{
        for (int i = 0; i < 2000 && atomic_load(&x->hits) < n; i++)
                usleep(1000);
        return atomic_load(&x->hits) >= n;
}

static void signal_fd(int fd)
{
        uint64_t one = 1;
        ck_assert_int_eq(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

START_TEST(an_fd_watched_for_nothing_leaves_the_set_and_comes_back)
{
        struct worker_pool *pool;
        struct watched x = {.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
        ck_assert_int_ge(x.fd, 0);
        ck_assert_int_eq(worker_pool_create(1, NULL, &pool), 0);
        struct worker *w = worker_pool_get(pool, 0);

        ck_assert_int_eq(worker_call(w, add_on_worker, &x), 0);
        ck_assert(in_an_epoll_set(x.fd));
        signal_fd(x.fd);
        ck_assert(hits_reach(&x, 1));

        x.events = 0;
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), 0);
        ck_assert(!in_an_epoll_set(x.fd));
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), 0); /* twice: still fine */
        signal_fd(x.fd);
        /* Readable now, and nobody watching: the value stays unread. */
        struct pollfd p = {.fd = x.fd, .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 0), 1);
        ck_assert_int_eq(atomic_load(&x.hits), 1);

        /* Watched again: level-triggered, so what came meanwhile is seen. */
        x.events = EPOLLIN;
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), 0);
        ck_assert(in_an_epoll_set(x.fd));
        ck_assert(hits_reach(&x, 2));
        x.events = EPOLLIN; /* a modification of a watched fd stays one */
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), 0);
        ck_assert(in_an_epoll_set(x.fd));

        /* Removed while unwatched: the record goes, the set is untouched. */
        x.events = 0;
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), 0);
        ck_assert_int_eq(worker_call(w, del_on_worker, &x), 0);
        ck_assert_int_eq(worker_call(w, del_on_worker, &x), -ENOENT);
        ck_assert_int_eq(worker_call(w, mod_on_worker, &x), -ENOENT);

        worker_pool_destroy(pool);
        ck_assert_int_eq(atomic_load(&x.bad_reads), 0);
        close(x.fd);
}
END_TEST

static Suite *worker_suite(void)
{
        Suite *s = suite_create("worker");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, an_fd_watched_for_nothing_leaves_the_set_and_comes_back);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(worker_suite)
