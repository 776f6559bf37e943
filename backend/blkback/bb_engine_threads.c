/* Thread-pool engine: the fallback when io_uring is unavailable (old
 * kernels, seccomp policies that refuse it), and selectable with
 * -o vbd.engine=threads. Each operation runs synchronously on one of a few
 * threads; completions come back through an eventfd. */
#include "blkback/bb_engine.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BB_THREADS_PER_ENGINE 4u

struct thread_engine {
        struct bb_engine base;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        pthread_t threads[BB_THREADS_PER_ENGINE];
        unsigned nr_threads;
        /* Rings of pointers, each sized for every operation in flight. */
        struct bb_io **todo, **done;
        unsigned todo_head, todo_n, done_head, done_n, cap;
        /* Staged by queue(), moved to todo by submit(). */
        struct bb_io **staged;
        unsigned nr_staged;
};

static struct thread_engine *as_te(struct bb_engine *e)
{
        return (struct thread_engine *)e;
}

static void *te_thread(void *arg)
{
        struct thread_engine *t = arg;
        uint64_t one = 1;

        pthread_mutex_lock(&t->lock);
        for (;;) {
                while (!t->stop && !t->todo_n)
                        pthread_cond_wait(&t->cond, &t->lock);
                if (t->stop)
                        break;
                struct bb_io *io = t->todo[t->todo_head];
                t->todo_head = (t->todo_head + 1) % t->cap;
                t->todo_n--;
                pthread_mutex_unlock(&t->lock);
                io->res = bb_io_run_sync(io);
                pthread_mutex_lock(&t->lock);
                t->done[(t->done_head + t->done_n) % t->cap] = io;
                t->done_n++;
                if (write(t->base.fd, &one, sizeof(one)) < 0) {
                        /* The counter cannot overflow at our rates. */
                }
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

static void te_destroy(struct bb_engine *e)
{
        struct thread_engine *t = as_te(e);
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
        for (unsigned i = 0; i < t->nr_threads; i++)
                pthread_join(t->threads[i], NULL);
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->cond);
        close(e->fd);
        free(t->todo);
        free(t->done);
        free(t->staged);
        free(t);
}

static int te_queue(struct bb_engine *e, struct bb_io *io)
{
        struct thread_engine *t = as_te(e);
        if (e->inflight >= t->cap)
                return -EAGAIN;
        t->staged[t->nr_staged++] = io;
        return 0;
}

static int te_submit(struct bb_engine *e)
{
        struct thread_engine *t = as_te(e);
        if (!t->nr_staged)
                return 0;
        pthread_mutex_lock(&t->lock);
        for (unsigned i = 0; i < t->nr_staged; i++) {
                t->todo[(t->todo_head + t->todo_n) % t->cap] = t->staged[i];
                t->todo_n++;
        }
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
        e->submit_calls++;
        e->ops_submitted += t->nr_staged;
        t->nr_staged = 0;
        return 0;
}

static unsigned te_reap(struct bb_engine *e, struct bb_io **out, unsigned max)
{
        struct thread_engine *t = as_te(e);
        unsigned n = 0;
        uint64_t v;
        if (read(e->fd, &v, sizeof(v)) < 0) {
                /* EAGAIN: look anyway. */
        }
        pthread_mutex_lock(&t->lock);
        while (n < max && t->done_n) {
                out[n++] = t->done[t->done_head];
                t->done_head = (t->done_head + 1) % t->cap;
                t->done_n--;
        }
        bool more = t->done_n != 0;
        pthread_mutex_unlock(&t->lock);
        if (more) {
                v = 1;
                if (write(e->fd, &v, sizeof(v)) < 0) {
                }
        }
        return n;
}

static int te_wait(struct bb_engine *e)
{
        struct thread_engine *t = as_te(e);
        /* Teardown only: a short sleep loop keeps the pool free of a second
         * condition variable. */
        for (;;) {
                pthread_mutex_lock(&t->lock);
                bool ready = t->done_n != 0;
                pthread_mutex_unlock(&t->lock);
                if (ready)
                        return 0;
                usleep(200);
        }
}

static const struct bb_engine_ops threads_ops = {
    .name = "threads",
    .destroy = te_destroy,
    .queue = te_queue,
    .submit = te_submit,
    .reap = te_reap,
    .wait = te_wait,
};

int bb_engine_threads_create(unsigned depth, struct bb_engine **out)
{
        struct thread_engine *t = calloc(1, sizeof(*t));
        int rc;
        if (!t)
                return -ENOMEM;
        t->cap = depth ? depth : 1;
        t->todo = calloc(t->cap, sizeof(*t->todo));
        t->done = calloc(t->cap, sizeof(*t->done));
        t->staged = calloc(t->cap, sizeof(*t->staged));
        t->base.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (!t->todo || !t->done || !t->staged || t->base.fd < 0) {
                rc = t->base.fd < 0 ? -errno : -ENOMEM;
                goto fail;
        }
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->cond, NULL);
        t->base.ops = &threads_ops;
        t->base.depth = t->cap;
        /* Created on a worker, the threads would inherit a pinned worker's
         * one CPU (--worker-cpus) and block there beside it: they take the
         * main thread's CPUs instead, the daemon's own. */
        pthread_attr_t attr;
        cpu_set_t cpus;
        bool spread = pthread_attr_init(&attr) == 0;
        if (spread && sched_getaffinity(getpid(), sizeof(cpus), &cpus) == 0)
                pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
        for (unsigned i = 0; i < BB_THREADS_PER_ENGINE; i++) {
                rc = -pthread_create(&t->threads[i], spread ? &attr : NULL, te_thread, t);
                if (rc < 0) {
                        if (i == 0) {
                                if (spread)
                                        pthread_attr_destroy(&attr);
                                pthread_mutex_destroy(&t->lock);
                                pthread_cond_destroy(&t->cond);
                                goto fail;
                        }
                        break;
                }
                t->nr_threads++;
        }
        if (spread)
                pthread_attr_destroy(&attr);
        *out = &t->base;
        return 0;
fail:
        if (t->base.fd >= 0)
                close(t->base.fd);
        free(t->todo);
        free(t->done);
        free(t->staged);
        free(t);
        return rc;
}
