/* Block I/O engines of blkback: io_uring (liburing) and a thread pool for
 * when io_uring is unavailable. An engine belongs to one queue and is used
 * from that queue's worker only; completions are signalled on a pollable fd.
 * Not for request parsing or grant handling (bb_queue.c). */
#ifndef PVBACK_BB_ENGINE_H
#define PVBACK_BB_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum bb_io_kind {
        BB_IO_READ,
        BB_IO_WRITE,
        BB_IO_FLUSH,   /* fdatasync */
        BB_IO_DISCARD, /* punch a hole (file) or BLKDISCARD (block device) */
};

/* One operation. The engine may rewrite iov/iovcnt/off/len to resume a
 * short transfer; res is the outcome (0 or -errno) when it comes back. */
struct bb_io {
        enum bb_io_kind kind;
        int fd;
        bool blkdev;     /* discard: BLKDISCARD rather than fallocate */
        bool secure;     /* discard: BLKSECDISCARD */
        uint64_t off;    /* bytes */
        uint64_t len;    /* bytes (read/write: sum of iov) */
        struct iovec *iov;
        unsigned iovcnt;
        int res;
        void *cookie;
};

enum bb_engine_kind {
        BB_ENGINE_AUTO,    /* io_uring, else threads */
        BB_ENGINE_URING,
        BB_ENGINE_THREADS,
};

struct bb_engine;

struct bb_engine_ops {
        const char *name;
        void (*destroy)(struct bb_engine *e);
        /* Stages io; nothing reaches the kernel before submit. -EAGAIN when
         * the engine is full (submit, reap, retry). */
        int (*queue)(struct bb_engine *e, struct bb_io *io);
        /* Hands every staged operation over in one call. */
        int (*submit)(struct bb_engine *e);
        /* Finished operations, without blocking; returns how many. */
        unsigned (*reap)(struct bb_engine *e, struct bb_io **done, unsigned max);
        /* Blocks until at least one operation finished (teardown drain). */
        int (*wait)(struct bb_engine *e);
};

struct bb_engine {
        const struct bb_engine_ops *ops;
        int fd;               /* readable when reap may return something */
        unsigned depth;
        unsigned inflight;    /* queued and not yet reaped */
        uint64_t submit_calls, ops_submitted;
};

/* Creates an engine able to hold `depth` operations in flight. AUTO falls
 * back to threads when io_uring cannot be set up (ENOSYS, EPERM, ...). */
int bb_engine_create(enum bb_engine_kind kind, unsigned depth, struct bb_engine **out);
int bb_engine_kind_parse(const char *s, enum bb_engine_kind *out);

int bb_engine_uring_create(unsigned depth, struct bb_engine **out);
int bb_engine_threads_create(unsigned depth, struct bb_engine **out);

static inline int bb_engine_queue(struct bb_engine *e, struct bb_io *io)
{
        int rc = e->ops->queue(e, io);
        if (rc == 0)
                e->inflight++;
        return rc;
}
static inline int bb_engine_submit(struct bb_engine *e)
{
        return e->ops->submit(e);
}
static inline unsigned bb_engine_reap(struct bb_engine *e, struct bb_io **done, unsigned max)
{
        unsigned n = e->ops->reap(e, done, max);
        e->inflight -= n;
        return n;
}
static inline void bb_engine_destroy(struct bb_engine *e)
{
        if (e)
                e->ops->destroy(e);
}

/* Shared by both engines: the synchronous form of one operation (the thread
 * pool runs it; io_uring uses it for BLKDISCARD, which it has no opcode for). */
int bb_io_run_sync(struct bb_io *io);
/* After a short transfer of `done` bytes: advance iov/off/len. */
void bb_io_advance(struct bb_io *io, uint64_t done);

#endif
