/* Time and child processes for tests and benches: a monotonic clock, sleeps,
 * killing and reaping a child, waiting for one with a deadline, and the
 * exec end of a spawned command (where its output goes). Not for processes
 * acting as a domain (simhost.h) or inside a namespace (netns.h): those
 * build on this. */
#ifndef PVBACK_TEST_PROC_H
#define PVBACK_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds, seconds and nanoseconds. */
uint64_t now_ms(void);
double now_s(void);
uint64_t now_ns(void);
void sleep_ms(long ms);
void sleep_us(long us);

/* SIGKILL (after SIGCONT, should it be stopped) and reap *pid if > 0; sets it
 * to -1. For teardown and atexit handlers. */
void proc_reap(pid_t *pid);
/* Waits up to timeout_ms for pid; returns its exit status, 128+signal if it
 * was killed by one, or -ETIMEDOUT (after which it is killed and reaped). */
int proc_wait(pid_t pid, int timeout_ms);
/* Reads fd to its end, keeping what fits in out (NUL-ended; out may be NULL
 * with outlen 0 to drain it). Returns the number of bytes kept. */
size_t proc_read_all(int fd, char *out, size_t outlen);
/* Copies the file to stderr as it is (a log after a failure); nothing if absent. */
void proc_print_file(const char *path);

/* A command to exec in a forked child, and where its output goes. */
struct proc_exec {
        const char *const *argv; /* argv[0] searched in PATH */
        int out_fd;              /* stdout to this fd when > 2 */
        const char *out_path;    /* else stdout (and stderr, unless err_path) to this file */
        const char *err_path;    /* stderr to this file */
        bool append;             /* open those files O_APPEND rather than O_TRUNC */
        bool null_out;           /* stdout to /dev/null when neither of the above */
        bool close_fds;          /* close fds >= 3: nothing of the test's leaks into the
                                  * counts of the process under test */
        bool retry_busy;         /* wait out a binary being relinked (ETXTBSY, EACCES,
                                  * ENOENT) for up to 2 s */
};
/* In the child: routes the output and execs; returns 127 if exec failed
 * (having said why on the child's stderr). Its `void *` form suits
 * simhost_spawn and netns_spawn. */
int proc_exec(const struct proc_exec *e);
int proc_exec_fn(void *proc_exec_spec);

#endif
