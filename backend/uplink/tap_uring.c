/* Batched TAP reads and writes through io_uring (see tap_uring.h). */
#include "uplink/tap_uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdlib.h>

/* Memcheck cannot see what the kernel writes through io_uring: reads mark
 * the bytes they got as written (a no-op outside valgrind). */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

struct tap_uring {
        struct io_uring ring;
        int fd;            /* the TAP queue's, owned by the uplink */
        bool broken;       /* the kernel failed the ring itself: use it no more */
        bool can_read;     /* the kernel has the read operations */
        bool submit_all;   /* a failing operation does not end its turn's submission */
        bool reads_proven; /* a read has gone through: turns of many reads are safe */
};

/* Whether this kernel's io_uring has the read operations (5.6 and later). */
static bool probe_reads(struct io_uring *ring)
{
        struct io_uring_probe *p = io_uring_get_probe_ring(ring);
        bool ok = p && io_uring_opcode_supported(p, IORING_OP_READ) &&
                  io_uring_opcode_supported(p, IORING_OP_READV);
        if (p)
                io_uring_free_probe(p);
        return ok;
}

int tap_uring_open(int fd, struct tap_uring **out)
{
        /* Not a registered (fixed) file: the ring would hold the TAP open
         * until its deferred teardown, and the netdev would outlive the
         * queue's close. An fd lookup per frame is the price. */
        struct tap_uring *r = calloc(1, sizeof(*r));
        struct io_uring_params p = {.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL};
        int rc;

        if (!r)
                return -ENOMEM;
        rc = io_uring_queue_init_params(TAP_URING_DEPTH, &r->ring, &p);
        if (rc == -EINVAL) { /* a kernel before 5.19 */
                p = (struct io_uring_params){0};
                rc = io_uring_queue_init_params(TAP_URING_DEPTH, &r->ring, &p);
        }
        if (rc < 0) {
                free(r);
                return rc;
        }
        r->fd = fd;
        r->submit_all = (p.flags & IORING_SETUP_SUBMIT_ALL) != 0;
        r->can_read = probe_reads(&r->ring);
        *out = r;
        return 0;
}

bool tap_uring_can_read(const struct tap_uring *r)
{
        return r->can_read;
}

void tap_uring_close(struct tap_uring *r)
{
        if (!r)
                return;
        io_uring_queue_exit(&r->ring);
        free(r);
}

/* Waits for and counts the completions of `submitted` operations: how many
 * succeeded, the first error in *err, and each one's result in res (if not
 * NULL) at its index. Inline operations have posted theirs already; the
 * wait is for one the kernel chose to finish elsewhere. */
static unsigned int reap(struct tap_uring *r, unsigned int submitted, int *err, int *res)
{
        unsigned int seen = 0, ok = 0;

        while (seen < submitted) {
                struct io_uring_cqe *cqe;
                int rc = io_uring_wait_cqe(&r->ring, &cqe);
                if (rc == -EINTR)
                        continue;
                if (rc < 0) { /* the ring itself failed: no more waits on it */
                        r->broken = true;
                        if (!*err)
                                *err = rc;
                        break;
                }
                if (cqe->res >= 0)
                        ok++;
                else if (!*err)
                        *err = cqe->res;
                if (res && cqe->user_data < submitted)
                        res[cqe->user_data] = cqe->res;
                io_uring_cqe_seen(&r->ring, cqe);
                seen++;
        }
        return ok;
}

/* Submits the n operations prepared. Returns how many the kernel took, or
 * -errno. */
static int submit(struct tap_uring *r, unsigned int n)
{
        int rc;

        do
                rc = io_uring_submit(&r->ring);
        while (rc == -EINTR);
        if (rc < 0 || (unsigned int)rc < n) {
                /* The kernel could not take them all (out of memory): what
                 * it did not take stays queued, so the ring is never used
                 * again and the uplink goes on with a call a frame. */
                r->broken = true;
        }
        return rc;
}

/* The submission entries of a turn of n operations, in sqe. Returns how many the ring gave (fewer
 * than n only once it has failed), or -errno. */
static int turn_begin(struct tap_uring *r, struct io_uring_sqe **sqe, unsigned int n)
{
        if (r->broken)
                return -ENOTRECOVERABLE;
        if (n > TAP_URING_DEPTH)
                return -EINVAL;
        for (unsigned int i = 0; i < n; i++) {
                sqe[i] = io_uring_get_sqe(&r->ring);
                if (!sqe[i]) { /* only after a turn the kernel did not take whole */
                        r->broken = true;
                        return (int)i;
                }
        }
        return (int)n;
}

int tap_uring_writev(struct tap_uring *r, struct iovec (*iov)[2], const unsigned char *cnt,
                     unsigned int n)
{
        struct io_uring_sqe *sqe[TAP_URING_DEPTH];
        unsigned int went;
        int rc, err = 0, k = turn_begin(r, sqe, n);

        if (k < 0)
                return k;
        for (int i = 0; i < k; i++) {
                if (cnt[i] == 1)
                        io_uring_prep_write(sqe[i], r->fd, iov[i][0].iov_base,
                                            (unsigned int)iov[i][0].iov_len, 0);
                else
                        io_uring_prep_writev(sqe[i], r->fd, iov[i], cnt[i], 0);
                /* After the prep: liburing before 2.2 clears it there. */
                io_uring_sqe_set_data64(sqe[i], (uint64_t)i);
        }
        rc = submit(r, (unsigned int)k);
        if (rc < 0)
                return rc;
        went = reap(r, (unsigned int)rc, &err, NULL);
        return went == 0 && err ? err : (int)went;
}

static void mark_read(const struct iovec *iov, unsigned char cnt, int got)
{
        for (unsigned int k = 0; k < cnt && got > 0; k++) {
                size_t len = (size_t)got < iov[k].iov_len ? (size_t)got : iov[k].iov_len;
                VALGRIND_MAKE_MEM_DEFINED(iov[k].iov_base, len);
                got -= (int)len;
        }
}

int tap_uring_readv(struct tap_uring *r, struct iovec (*iov)[2], const unsigned char *cnt,
                    unsigned int n, int *res)
{
        struct io_uring_sqe *sqe[TAP_URING_DEPTH];
        int rc, err = 0, k;

        /* Where a refused operation ends its turn's submission, the first
         * reads go one a turn: a kernel that will not read the TAP without
         * waiting then fails that read alone, and the ring (which the
         * writes share) stays whole. */
        if (!r->submit_all && !r->reads_proven && n > 1)
                n = 1;
        k = turn_begin(r, sqe, n);
        if (k < 0)
                return k;
        for (int i = 0; i < k; i++) {
                res[i] = -EAGAIN; /* unless its completion says otherwise */
                if (cnt[i] == 1)
                        io_uring_prep_read(sqe[i], r->fd, iov[i][0].iov_base,
                                           (unsigned int)iov[i][0].iov_len, 0);
                else
                        io_uring_prep_readv(sqe[i], r->fd, iov[i], cnt[i], 0);
                sqe[i]->rw_flags = RWF_NOWAIT;
                io_uring_sqe_set_data64(sqe[i], (uint64_t)i);
        }
        rc = submit(r, (unsigned int)k);
        if (rc < 0)
                return rc;
        reap(r, (unsigned int)rc, &err, res);
        for (int i = 0; i < k; i++) {
                mark_read(iov[i], cnt[i], res[i]);
                if (res[i] >= 0 || res[i] == -EAGAIN)
                        r->reads_proven = true;
        }
        return k;
}
