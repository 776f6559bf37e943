/* Implementation of worker.h. Each worker is a thread with an epoll set and an
 * eventfd through which the control thread posts calls. Fds removed during a
 * dispatch pass are freed after the pass, so a callback may remove any fd. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cpulist.h"
#include "log.h"

#define WORKER_EVENTS 64

struct worker_fd {
        int fd;
        bool dead;
        bool watched; /* in the epoll set */
        worker_fd_cb cb;
        void *arg;
        struct worker_fd *next;
};

struct worker_hook {
        worker_pass_cb cb;
        void *arg;
        struct worker_hook *next;
};

struct worker_msg {
        int (*fn)(struct worker *w, void *arg);
        void *arg;
        int rc;
        bool done;
        struct worker_msg *next;
};

struct worker {
        struct worker_pool *pool;
        unsigned index;
        pthread_t thread;
        bool started;
        int epfd;
        int wake_fd;
        int load; /* queues assigned; guarded by pool->lock */
        bool stop;
        /* Posted calls; guarded by lock, completion signalled on done_cond. */
        pthread_mutex_t lock;
        pthread_cond_t done_cond;
        struct worker_msg *msgs;
        /* Owned by the worker thread only. */
        struct worker_fd *fds;
        struct worker_fd *graveyard;
        struct worker_hook *hooks;
};

struct worker_pool {
        unsigned n;
        pthread_mutex_t lock;
        struct worker *workers;
};

/* The wake fd's epoll tag: no worker_fd has this address. */
static char wake_tag;

static void run_msgs(struct worker *w)
{
        uint64_t v;
        ssize_t r = read(w->wake_fd, &v, sizeof(v));
        (void)r;
        pthread_mutex_lock(&w->lock);
        while (w->msgs) {
                struct worker_msg *m = w->msgs;
                w->msgs = m->next;
                pthread_mutex_unlock(&w->lock);
                int rc = m->fn(w, m->arg);
                pthread_mutex_lock(&w->lock);
                m->rc = rc;
                m->done = true;
                pthread_cond_broadcast(&w->done_cond);
        }
        pthread_mutex_unlock(&w->lock);
}

static void free_fd_list(struct worker_fd *f)
{
        while (f) {
                struct worker_fd *n = f->next;
                free(f);
                f = n;
        }
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        struct epoll_event evs[WORKER_EVENTS];

        while (!w->stop) {
                int n = epoll_wait(w->epfd, evs, WORKER_EVENTS, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        pv_err("worker", "w%u: epoll_wait: %s", w->index, strerror(errno));
                        break;
                }
                bool dispatched = false;
                for (int i = 0; i < n; i++) {
                        if (evs[i].data.ptr == &wake_tag) {
                                run_msgs(w);
                                continue;
                        }
                        struct worker_fd *f = evs[i].data.ptr;
                        if (!f->dead) {
                                f->cb(w, f->fd, evs[i].events, f->arg);
                                dispatched = true;
                        }
                }
                if (dispatched)
                        for (struct worker_hook *h = w->hooks; h; h = h->next)
                                h->cb(w, h->arg);
                free_fd_list(w->graveyard);
                w->graveyard = NULL;
        }
        return NULL;
}

static int stop_self(struct worker *w, void *arg)
{
        (void)arg;
        w->stop = true;
        return 0;
}

static void worker_fini(struct worker *w)
{
        if (w->started) {
                worker_call(w, stop_self, NULL);
                pthread_join(w->thread, NULL);
        }
        free_fd_list(w->fds);
        free_fd_list(w->graveyard);
        while (w->hooks) {
                struct worker_hook *h = w->hooks;
                w->hooks = h->next;
                free(h);
        }
        if (w->wake_fd >= 0)
                close(w->wake_fd);
        if (w->epfd >= 0)
                close(w->epfd);
        pthread_cond_destroy(&w->done_cond);
        pthread_mutex_destroy(&w->lock);
}

/* cpu >= 0: the thread starts on that CPU alone, so its stack and data are
 * first touched there. */
static int worker_init(struct worker_pool *pool, struct worker *w, unsigned index, int cpu)
{
        pthread_attr_t attr;
        char name[16];
        w->pool = pool;
        w->index = index;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->done_cond, NULL);
        if (w->epfd < 0 || w->wake_fd < 0)
                return -errno;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &wake_tag};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0)
                return -errno;
        int rc = pthread_attr_init(&attr);
        if (rc)
                return -rc;
        if (cpu >= 0) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                rc = pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
        }
        rc = rc ?: pthread_create(&w->thread, &attr, worker_main, w);
        pthread_attr_destroy(&attr);
        if (rc)
                return -rc;
        w->started = true;
        /* Named by the creator: the name is there once the pool exists. */
        snprintf(name, sizeof(name), "pvback-w%u", index);
        pthread_setname_np(w->thread, name);
        return 0;
}

int worker_pool_create(unsigned nr_workers, const cpu_set_t *cpus, struct worker_pool **out)
{
        if (nr_workers == 0 || nr_workers > 1024)
                return -EINVAL;
        struct worker_pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->workers = calloc(nr_workers, sizeof(*p->workers));
        if (!p->workers) {
                free(p);
                return -ENOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        for (unsigned i = 0; i < nr_workers; i++) {
                p->workers[i].epfd = p->workers[i].wake_fd = -1;
                int rc = worker_init(p, &p->workers[i], i, cpus ? pv_cpulist_nth(cpus, i) : -1);
                p->n = i + 1;
                if (rc < 0) {
                        worker_pool_destroy(p);
                        return rc;
                }
        }
        *out = p;
        return 0;
}

void worker_pool_destroy(struct worker_pool *pool)
{
        if (!pool)
                return;
        for (unsigned i = 0; i < pool->n; i++)
                worker_fini(&pool->workers[i]);
        pthread_mutex_destroy(&pool->lock);
        free(pool->workers);
        free(pool);
}

unsigned worker_pool_size(const struct worker_pool *pool)
{
        return pool->n;
}

struct worker *worker_pool_pick(struct worker_pool *pool, int load)
{
        pthread_mutex_lock(&pool->lock);
        struct worker *best = &pool->workers[0];
        for (unsigned i = 1; i < pool->n; i++)
                if (pool->workers[i].load < best->load)
                        best = &pool->workers[i];
        best->load += load;
        pthread_mutex_unlock(&pool->lock);
        return best;
}

struct worker *worker_pool_get(struct worker_pool *pool, unsigned index)
{
        return index < pool->n ? &pool->workers[index] : NULL;
}

void worker_unload(struct worker *w, int load)
{
        pthread_mutex_lock(&w->pool->lock);
        w->load -= load;
        pthread_mutex_unlock(&w->pool->lock);
}

unsigned worker_index(const struct worker *w)
{
        return w->index;
}

int worker_call(struct worker *w, int (*fn)(struct worker *w, void *arg), void *arg)
{
        struct worker_msg m = {.fn = fn, .arg = arg};
        uint64_t one = 1;

        if (pthread_equal(pthread_self(), w->thread))
                return fn(w, arg);
        pthread_mutex_lock(&w->lock);
        struct worker_msg **pp = &w->msgs;
        while (*pp)
                pp = &(*pp)->next;
        *pp = &m;
        pthread_mutex_unlock(&w->lock);
        if (write(w->wake_fd, &one, sizeof(one)) != sizeof(one))
                pv_warn("worker", "w%u: wake-up write failed: %s", w->index, strerror(errno));
        pthread_mutex_lock(&w->lock);
        while (!m.done)
                pthread_cond_wait(&w->done_cond, &w->lock);
        pthread_mutex_unlock(&w->lock);
        return m.rc;
}

static struct worker_fd *find_fd(struct worker *w, int fd, struct worker_fd ***link)
{
        for (struct worker_fd **pp = &w->fds; *pp; pp = &(*pp)->next) {
                if ((*pp)->fd == fd) {
                        if (link)
                                *link = pp;
                        return *pp;
                }
        }
        return NULL;
}

int worker_add_fd(struct worker *w, int fd, uint32_t events, worker_fd_cb cb, void *arg)
{
        struct worker_fd *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (struct worker_fd){.fd = fd, .cb = cb, .arg = arg, .next = w->fds};
        struct epoll_event ev = {.events = events, .data.ptr = f};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int rc = -errno;
                free(f);
                return rc;
        }
        f->watched = true;
        w->fds = f;
        return 0;
}

/* No events: out of the epoll set, not just masked. A masked entry stays on
 * the file's wait queue, so every wake-up of the file (each frame the kernel
 * queues on a TAP) still runs epoll's callback in the sender's context. */
int worker_mod_fd(struct worker *w, int fd, uint32_t events)
{
        struct worker_fd *f = find_fd(w, fd, NULL);
        if (!f)
                return -ENOENT;
        struct epoll_event ev = {.events = events, .data.ptr = f};
        int op;
        if (!events && !f->watched)
                return 0;
        if (!events)
                op = EPOLL_CTL_DEL;
        else
                op = f->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(w->epfd, op, fd, &ev) < 0)
                return -errno;
        f->watched = events != 0;
        return 0;
}

int worker_del_fd(struct worker *w, int fd)
{
        struct worker_fd **link = NULL;
        struct worker_fd *f = find_fd(w, fd, &link);
        if (!f)
                return -ENOENT;
        if (f->watched)
                epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
        *link = f->next;
        f->dead = true;
        f->next = w->graveyard;
        w->graveyard = f;
        return 0;
}

int worker_add_pass_hook(struct worker *w, worker_pass_cb cb, void *arg)
{
        struct worker_hook *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (struct worker_hook){.cb = cb, .arg = arg, .next = w->hooks};
        w->hooks = h;
        return 0;
}

int worker_del_pass_hook(struct worker *w, worker_pass_cb cb, void *arg)
{
        for (struct worker_hook **pp = &w->hooks; *pp; pp = &(*pp)->next) {
                if ((*pp)->cb == cb && (*pp)->arg == arg) {
                        struct worker_hook *h = *pp;
                        *pp = h->next;
                        free(h);
                        return 0;
                }
        }
        return -ENOENT;
}
