/* Batched TAP reads and writes: a whole batch of frames for one
 * io_uring_enter where the plain path pays a readv or writev system call per
 * frame. A TAP write never waits (the kernel takes the frame or refuses it),
 * and reads are issued with RWF_NOWAIT (one that finds the TAP empty fails
 * with -EAGAIN), so every operation completes during the submit; the ring
 * only saves the per-frame kernel entry. Used by the TAP uplink when the
 * kernel lets it; without it the uplink falls back to a call a frame. */
#ifndef PVBACK_TAP_URING_H
#define PVBACK_TAP_URING_H

#include <stdbool.h>
#include <sys/uio.h>

/* Largest batch one call takes: the ring's size. */
#define TAP_URING_DEPTH 64u

struct tap_uring;

/* A ring for the TAP queue fd (non-blocking). 0, or -errno when the kernel
 * refuses io_uring (ENOSYS, EPERM under kernel.io_uring_disabled). */
int tap_uring_open(int fd, struct tap_uring **out);
void tap_uring_close(struct tap_uring *r);
/* Whether the ring can read (the kernel has io_uring's read operations). */
bool tap_uring_can_read(const struct tap_uring *r);

/* Writes frame i (n at most TAP_URING_DEPTH) as iov[i][0..cnt[i]-1]: header
 * then frame (cnt 2), or both in one buffer (cnt 1, which spares the kernel
 * an iovec). Returns how many the TAP took, or the first error (-errno) if it took none. Each frame
 * is written or refused on its own, as a writev each would be. Once the ring itself has failed it
 * returns -ENOTRECOVERABLE without writing: the caller then writes frame by frame. */
int tap_uring_writev(struct tap_uring *r, struct iovec (*iov)[2], const unsigned char *cnt,
                     unsigned int n);

/* Reads n frames at most (n at most TAP_URING_DEPTH) in one turn, read i
 * into iov[i][0..cnt[i]-1]: header then frame (cnt 2), or both in one buffer
 * (cnt 1). res[i]: the bytes read i took, or -errno (-EAGAIN: the TAP was
 * empty). The reads run in order, so the frames they got are in the TAP's
 * order. Returns how many results res holds (n, or fewer: a ring whose
 * submission stops at a refused operation reads one a turn until a read
 * has gone through, and a ring that has just failed), or -errno if the
 * turn failed as a whole (-ENOTRECOVERABLE once the ring has failed, as for
 * writes). */
int tap_uring_readv(struct tap_uring *r, struct iovec (*iov)[2], const unsigned char *cnt,
                    unsigned int n, int *res);

#endif
