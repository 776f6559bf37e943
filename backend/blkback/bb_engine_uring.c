/* io_uring engine (liburing): read(v)/write(v), fsync(DATASYNC) and
 * fallocate go through the ring, staged per ring drain and submitted in one
 * io_uring_submit. The worker polls the ring's own fd, readable while the
 * completion queue holds entries: no eventfd to signal per completion and
 * read per wakeup. BLKDISCARD has no opcode, so it runs synchronously (see
 * bb_engine.h) and a NOP makes its completion visible on the ring. */
#include "blkback/bb_engine.h"

#include <errno.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <unistd.h>

struct uring_engine {
        struct bb_engine base;
        struct io_uring ring;
        unsigned staged, staged_nops;
        /* Operations finished without the ring (block-device discard). */
        struct bb_io **sync_done;
        unsigned nr_sync_done;
};

static struct uring_engine *as_ue(struct bb_engine *e)
{
        return (struct uring_engine *)e;
}

static void ue_destroy(struct bb_engine *e)
{
        struct uring_engine *u = as_ue(e);
        io_uring_queue_exit(&u->ring);
        free(u->sync_done);
        free(u);
}

static int prep(struct uring_engine *u, struct bb_io *io)
{
        struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
        if (!sqe)
                return -EAGAIN;
        switch (io->kind) {
        case BB_IO_READ:
                /* One buffer (every 4 KiB request) goes as a plain READ: a
                 * vectored op punted to io-wq has its iovec copied into a
                 * kmalloc'ed async context first. */
                if (io->iovcnt == 1)
                        io_uring_prep_read(sqe, io->fd, io->iov[0].iov_base,
                                           (unsigned)io->iov[0].iov_len, io->off);
                else
                        io_uring_prep_readv(sqe, io->fd, io->iov, io->iovcnt, io->off);
                break;
        case BB_IO_WRITE:
                if (io->iovcnt == 1)
                        io_uring_prep_write(sqe, io->fd, io->iov[0].iov_base,
                                            (unsigned)io->iov[0].iov_len, io->off);
                else
                        io_uring_prep_writev(sqe, io->fd, io->iov, io->iovcnt, io->off);
                break;
        case BB_IO_FLUSH:
                io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
                break;
        case BB_IO_DISCARD:
                io_uring_prep_fallocate(sqe, io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                        io->off, io->len);
                break;
        }
        io_uring_sqe_set_data(sqe, io);
        u->staged++;
        return 0;
}

static int ue_queue(struct bb_engine *e, struct bb_io *io)
{
        struct uring_engine *u = as_ue(e);

        if (io->kind == BB_IO_DISCARD && (io->blkdev || io->len == 0)) {
                struct io_uring_sqe *sqe;
                if (u->nr_sync_done == e->depth || !(sqe = io_uring_get_sqe(&u->ring)))
                        return -EAGAIN;
                io->res = bb_io_run_sync(io);
                u->sync_done[u->nr_sync_done++] = io;
                /* Its completion (no data) wakes the worker through the ring. */
                io_uring_prep_nop(sqe);
                io_uring_sqe_set_data(sqe, NULL);
                u->staged++;
                u->staged_nops++;
                return 0;
        }
        return prep(u, io);
}

static int ue_submit(struct bb_engine *e)
{
        struct uring_engine *u = as_ue(e);
        int rc;
        if (!u->staged)
                return 0;
        do
                rc = io_uring_submit(&u->ring);
        while (rc == -EINTR);
        if (rc < 0)
                return rc;
        e->submit_calls++;
        e->ops_submitted += u->staged - u->staged_nops;
        u->staged = u->staged_nops = 0;
        return 0;
}

static unsigned ue_reap(struct bb_engine *e, struct bb_io **done, unsigned max)
{
        struct uring_engine *u = as_ue(e);
        struct io_uring_cqe *cqe;
        unsigned n = 0;
        bool resubmit = false;

        while (n < max && u->nr_sync_done)
                done[n++] = u->sync_done[--u->nr_sync_done];
        while (n < max && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
                struct bb_io *io = io_uring_cqe_get_data(cqe);
                int res = cqe->res;
                io_uring_cqe_seen(&u->ring, cqe);
                if (!io)
                        continue; /* a synchronous discard's NOP */
                if ((io->kind == BB_IO_READ || io->kind == BB_IO_WRITE) && res >= 0 &&
                    (uint64_t)res < io->len) {
                        /* Short transfer (io_uring may return one on
                         * buffered files): resume the rest. */
                        if (res == 0) {
                                io->res = -EIO;
                                done[n++] = io;
                                continue;
                        }
                        bb_io_advance(io, (uint64_t)res);
                        if (prep(u, io) == 0) {
                                resubmit = true;
                                continue;
                        }
                        io->res = bb_io_run_sync(io);
                        done[n++] = io;
                        continue;
                }
                io->res = res < 0 ? res : 0;
                done[n++] = io;
        }
        /* Whatever is left keeps the ring fd readable. */
        if (resubmit)
                ue_submit(e);
        return n;
}

static int ue_wait(struct bb_engine *e)
{
        struct uring_engine *u = as_ue(e);
        struct io_uring_cqe *cqe;
        if (u->nr_sync_done)
                return 0;
        return io_uring_wait_cqe(&u->ring, &cqe);
}

static const struct bb_engine_ops uring_ops = {
    .name = "io_uring",
    .destroy = ue_destroy,
    .queue = ue_queue,
    .submit = ue_submit,
    .reap = ue_reap,
    .wait = ue_wait,
};

int bb_engine_uring_create(unsigned depth, struct bb_engine **out)
{
        struct uring_engine *u = calloc(1, sizeof(*u));
        struct io_uring_params p = {0};
        unsigned entries = 8;
        int rc;

        if (!u)
                return -ENOMEM;
        while (entries < depth && entries < 4096)
                entries <<= 1;
        u->sync_done = calloc(depth ? depth : 1, sizeof(*u->sync_done));
        if (!u->sync_done) {
                free(u);
                return -ENOMEM;
        }
        /* The CQ must hold every operation we allow in flight. */
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
        p.cq_entries = entries * 2;
        rc = io_uring_queue_init_params(entries, &u->ring, &p);
        if (rc == -EINVAL) {
                p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE,
                                             .cq_entries = entries * 2};
                rc = io_uring_queue_init_params(entries, &u->ring, &p);
        }
        if (rc < 0) {
                free(u->sync_done);
                free(u);
                return rc;
        }
        u->base.fd = u->ring.ring_fd;
        u->base.ops = &uring_ops;
        u->base.depth = depth;
        *out = &u->base;
        return 0;
}
