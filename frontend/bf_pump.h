/* Keeps up to `depth` I/Os in flight on a blkfront device: a producer fills
 * the next I/O into a free slot, a consumer checks each completion. The
 * engine under the CLI's verify and load workloads. */
#ifndef PVBACK_BF_PUMP_H
#define PVBACK_BF_PUMP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "blkfront.h"

struct bf_pump;

struct bf_pump_slot {
        struct bf_pump *pump;
        uint8_t *buf;
        enum bf_op op;
        uint64_t sector; /* protocol units */
        uint64_t n;      /* protocol units */
        uint64_t t_submit_ns;
        int busy;
};

struct bf_pump {
        struct bf_dev *dev;
        uint32_t depth;
        size_t buf_bytes; /* per slot */
        /* Fills s (op, sector, n and, for writes, buf); 1 = produced, 0 = no more. */
        int (*next)(void *ctx, struct bf_pump_slot *s);
        /* One completion; a negative return stops the run with that error. */
        int (*done)(void *ctx, struct bf_pump_slot *s, int status);
        void *ctx;
        const volatile sig_atomic_t *stop; /* set by a signal handler: drain and return */
        /* Each I/O to the queue of the CPU submitting it (as a guest's blk-mq
         * maps them), not to every queue in turn: one submitting thread, as
         * one fio job, keeps to one queue. */
        bool queue_by_cpu;
        /* filled by the run */
        uint64_t completed;
        uint64_t bytes;
        uint64_t lat_ns_total;
        int error;
        struct bf_pump_slot *slots;
};

/* Runs until next() has nothing more (or *stop) and everything completed.
 * Returns 0, the first done() error, or the device's error. */
int bf_pump_run(struct bf_pump *p);
uint64_t bf_now_ns(void);

#endif
