/* The verify workload: every 512-byte sector of a range written with its
 * address and a generation (bf_tag.h), flushed, read back and checked;
 * mismatches are reported by sector number. */
#ifndef PVBACK_BF_VERIFY_H
#define PVBACK_BF_VERIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blkfront.h"

struct bf_verify_opts {
        uint64_t start;      /* 512-byte sectors */
        uint64_t count;      /* 512-byte sectors; 0 = to the end of the disk */
        uint64_t generation;
        uint32_t io_bytes;   /* per I/O */
        uint32_t depth;
        bool write;          /* write phase */
        bool read;           /* read-and-check phase */
        bool expect_zero;    /* check for zeroes instead of tags (after a discard) */
        uint32_t max_report; /* mismatching sectors printed */
        const volatile sig_atomic_t *stop;
};

struct bf_verify_result {
        uint64_t written;    /* sectors */
        uint64_t checked;    /* sectors */
        uint64_t mismatches; /* sectors */
        uint64_t first_bad;  /* 512-byte sector, valid when mismatches */
        uint64_t io_errors;
        double write_s, read_s;
};

/* Returns 0 when every sector checked out, -EBADMSG on mismatches, -EIO on
 * I/O errors, or the device's error. Reports go to out. */
int bf_verify_run(struct bf_dev *d, const struct bf_verify_opts *o, FILE *out,
                  struct bf_verify_result *res);

#endif
