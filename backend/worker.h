/* Worker threads of pvbackd's data path. Each worker runs one epoll loop over
 * the fds of the queues it owns; a queue belongs to exactly one worker, so the
 * fast path takes no locks. The control thread hands work to a worker with
 * worker_call(), which runs a function on that worker's thread and waits. */
#ifndef PVBACK_WORKER_H
#define PVBACK_WORKER_H

#include <sched.h>
#include <stdint.h>
#include <sys/epoll.h>

struct worker;
struct worker_pool;

typedef void (*worker_fd_cb)(struct worker *w, int fd, uint32_t events, void *arg);
/* Run on the worker after each epoll pass that dispatched anything, for work
 * batched across fds (flushing uplink writes, deferred notifications). */
typedef void (*worker_pass_cb)(struct worker *w, void *arg);

/* cpus NULL: the workers float; else worker i runs only on the i-th CPU of
 * cpus, wrapping around the set (pv_cpulist_nth). */
int worker_pool_create(unsigned nr_workers, const cpu_set_t *cpus, struct worker_pool **out);
/* Stops and joins every worker. Queues must already have been removed. */
void worker_pool_destroy(struct worker_pool *pool);
unsigned worker_pool_size(const struct worker_pool *pool);
/* The worker with the fewest queues; `load` is added to its count. */
struct worker *worker_pool_pick(struct worker_pool *pool, int load);
struct worker *worker_pool_get(struct worker_pool *pool, unsigned index);
void worker_unload(struct worker *w, int load);
unsigned worker_index(const struct worker *w);

/* Runs fn(w, arg) on w's thread and returns its result. Control plane only
 * (it blocks the caller); must not be called from a worker thread. */
int worker_call(struct worker *w, int (*fn)(struct worker *w, void *arg), void *arg);

/* Only from w's own thread (inside worker_call or a callback). */
int worker_add_fd(struct worker *w, int fd, uint32_t events, worker_fd_cb cb, void *arg);
/* events 0 takes fd out of the epoll set (its callback and arg are kept);
 * other events put it back. Unlike ev_mod's mask: a masked entry would stay
 * on the file's wait queue and be called at every wake-up of the file. */
int worker_mod_fd(struct worker *w, int fd, uint32_t events);
int worker_del_fd(struct worker *w, int fd);
int worker_add_pass_hook(struct worker *w, worker_pass_cb cb, void *arg);
int worker_del_pass_hook(struct worker *w, worker_pass_cb cb, void *arg);

#endif
