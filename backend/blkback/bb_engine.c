/* Engine selection and the pieces both engines share: the synchronous form
 * of an operation and resuming a short transfer. */
#include "blkback/bb_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int bb_engine_kind_parse(const char *s, enum bb_engine_kind *out)
{
        if (!strcmp(s, "auto"))
                *out = BB_ENGINE_AUTO;
        else if (!strcmp(s, "io_uring") || !strcmp(s, "uring"))
                *out = BB_ENGINE_URING;
        else if (!strcmp(s, "threads"))
                *out = BB_ENGINE_THREADS;
        else
                return -EINVAL;
        return 0;
}

int bb_engine_create(enum bb_engine_kind kind, unsigned depth, struct bb_engine **out)
{
        int rc;
        switch (kind) {
        case BB_ENGINE_URING:
                return bb_engine_uring_create(depth, out);
        case BB_ENGINE_THREADS:
                return bb_engine_threads_create(depth, out);
        case BB_ENGINE_AUTO:
        default:
                rc = bb_engine_uring_create(depth, out);
                if (rc == 0)
                        return 0;
                return bb_engine_threads_create(depth, out);
        }
}

void bb_io_advance(struct bb_io *io, uint64_t done)
{
        io->off += done;
        io->len -= done;
        while (done && io->iovcnt) {
                if (done < io->iov->iov_len) {
                        io->iov->iov_base = (char *)io->iov->iov_base + done;
                        io->iov->iov_len -= done;
                        return;
                }
                done -= io->iov->iov_len;
                io->iov++;
                io->iovcnt--;
        }
}

static int discard_sync(struct bb_io *io)
{
        uint64_t range[2] = {io->off, io->len};
        if (!io->len)
                return 0;
        if (io->blkdev)
                return ioctl(io->fd, io->secure ? BLKSECDISCARD : BLKDISCARD, range) < 0 ? -errno
                                                                                        : 0;
        return fallocate(io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)io->off,
                         (off_t)io->len) < 0
                   ? -errno
                   : 0;
}

int bb_io_run_sync(struct bb_io *io)
{
        ssize_t n;
        switch (io->kind) {
        case BB_IO_READ:
        case BB_IO_WRITE:
                while (io->len) {
                        if (io->kind == BB_IO_READ)
                                n = preadv(io->fd, io->iov, (int)io->iovcnt, (off_t)io->off);
                        else
                                n = pwritev(io->fd, io->iov, (int)io->iovcnt, (off_t)io->off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n == 0)
                                return -EIO; /* past the end of the backing store */
                        bb_io_advance(io, (uint64_t)n);
                }
                return 0;
        case BB_IO_FLUSH:
                return fdatasync(io->fd) < 0 ? -errno : 0;
        case BB_IO_DISCARD:
                return discard_sync(io);
        }
        return -EINVAL;
}
