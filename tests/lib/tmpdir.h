/* Temporary directories of a test that are gone however the test ends.
 *
 * Check runs each test in a forked child and ends a failed one without its
 * atexit handlers (a failed assertion _exits the child) or kills it (a
 * timeout SIGKILLs the child's whole process group), so neither teardown
 * nor atexit nor a process in the test's process group can be relied on to
 * remove files. Each directory made here is therefore also registered with
 * a sweeper: a child in a process group of its own that outlives the test
 * and, once the test process is gone, waits for the processes named with
 * tmpdir_after (a daemon finishing its own teardown) and removes what is left.
 * Not for directories a test expects to find again in a later process. */
#ifndef PVBACK_TEST_TMPDIR_H
#define PVBACK_TEST_TMPDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Makes "/tmp/<prefix>-XXXXXX" into dir (len >= 64) and registers it.
 * Returns 0 or -errno. */
int tmpdir_make(char *dir, size_t len, const char *prefix);
/* Should the test die, the sweeper waits (up to 10 s, then SIGKILLs) for pid
 * to exit before removing dir: a process writing into dir goes first. */
void tmpdir_after(const char *dir, pid_t pid);
/* Removes dir and everything below it now, and unregisters it. Idempotent on
 * "" (sets dir[0] to '\0'). */
void tmpdir_remove(char *dir);

#endif
