/* What a process under test holds, from /proc: its open fds (with their
 * targets), threads (with their names), mappings and resident memory. For
 * lifecycle tests that assert these stay flat. Returns -errno when the
 * process is gone; the caller decides what is its own and what is not. */
#ifndef PVBACK_TEST_PROCSTAT_H
#define PVBACK_TEST_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The process's name (comm, without the newline). */
int procstat_comm(pid_t pid, char *comm, size_t len);
/* Calls fn for each open fd: its number (as in /proc) and link target. */
int procstat_each_fd(pid_t pid, void (*fn)(void *ctx, const char *fd, const char *target),
                     void *ctx);
/* Calls fn for each thread with its name (comm, newline included). */
int procstat_each_thread(pid_t pid, void (*fn)(void *ctx, const char *comm), void *ctx);
/* Mappings (lines of /proc/<pid>/maps); those `apart` says yes to (may be
 * NULL) are counted in *apart_count instead. */
int procstat_maps(pid_t pid, bool (*apart)(const char *line), unsigned *count,
                  unsigned *apart_count);
/* VmRSS and RssAnon, in kB. */
int procstat_rss(pid_t pid, unsigned long *rss_kb, unsigned long *anon_kb);

#endif
