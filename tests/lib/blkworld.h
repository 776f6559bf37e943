/* Pieces of the blkback integration tests' world: backing files whose
 * sectors pvback-blkfront tags with a generation, and pvback-blkfront run
 * as the frontend domain of a simulated host. Not for the daemon (each test
 * starts pvbackd with the options it is about) or for xenstore. */
#ifndef PVBACK_TEST_BLKWORLD_H
#define PVBACK_TEST_BLKWORLD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "simhost.h"

/* Creates (or resizes) the file at path to bytes; ck_asserts. */
void blkw_disk_size(const char *path, off_t bytes);
/* ck_asserts that the file holds generation `gen` tags (bf_tag.h) for
 * count sectors from start, naming the first sector that does not. */
void blkw_disk_assert_tags(const char *path, uint64_t start, uint64_t count, uint64_t gen);

/* `pvback-blkfront <args...>` as domid, with the output options of how
 * (its argv is ignored; NULL: output inherited) and stdout to out_fd when
 * that is > 2. Returns the pid; ck_asserts it started. */
pid_t blkw_front_spawn(struct simhost *h, uint16_t domid, const struct proc_exec *how,
                       const char *const args[], int out_fd);
/* As blkw_front_spawn, run to its end with its stdout in out (NUL-ended,
 * truncated). Returns its exit status, 128+signal or -ETIMEDOUT. */
int blkw_front_run(struct simhost *h, uint16_t domid, const struct proc_exec *how,
                   const char *const args[], char *out, size_t outlen, int timeout_ms);

#endif
