/* Temporary directories removed even when Check kills the test (see
 * tmpdir.h). The test process talks to its sweeper over a pipe with
 * fixed-size records (atomic: shorter than PIPE_BUF); the sweeper polls
 * that pipe and notices its test is gone by getppid() or end of file. */
#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

#define TMPDIR_MAX      16
#define TMPDIR_PATH_LEN 128
#define WAIT_AFTER_MS   10000

enum { REC_ADD = 1, REC_AFTER, REC_DEL };

struct rec {
        int op;
        pid_t pid;
        char path[TMPDIR_PATH_LEN];
};

struct entry {
        char path[TMPDIR_PATH_LEN];
        pid_t after;
};

static pid_t sweeper_owner; /* the process the current sweeper serves */
static int sweeper_fd = -1;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        remove(path);
        return 0;
}

static void remove_tree(const char *dir)
{
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A process whose parent died is reparented, and reaped by its new parent
 * eventually: a zombie counts as gone. */
static bool process_gone(pid_t pid)
{
        char path[64], stat[256];
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return true;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *p = strrchr(stat, ')');
        return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

static void sweep(struct entry *e, int n)
{
        for (int i = 0; i < n; i++) {
                if (!e[i].path[0])
                        continue;
                if (e[i].after > 0) {
                        uint64_t end = now_ms() + WAIT_AFTER_MS;
                        while (!process_gone(e[i].after) && now_ms() < end)
                                sleep_ms(20);
                        if (!process_gone(e[i].after)) {
                                kill(e[i].after, SIGKILL);
                                sleep_ms(100);
                        }
                }
                remove_tree(e[i].path);
        }
}

static void apply(struct entry *e, const struct rec *r)
{
        for (int i = 0; i < TMPDIR_MAX; i++) {
                bool same = e[i].path[0] && strcmp(e[i].path, r->path) == 0;
                if (r->op == REC_ADD && !e[i].path[0]) {
                        memcpy(e[i].path, r->path, sizeof(e[i].path));
                        e[i].after = 0;
                        return;
                }
                if (r->op == REC_AFTER && same) {
                        e[i].after = r->pid;
                        return;
                }
                if (r->op == REC_DEL && same) {
                        e[i].path[0] = '\0';
                        return;
                }
        }
}

static _Noreturn void sweeper_main(int fd, pid_t owner)
{
        struct entry e[TMPDIR_MAX] = {0};
        /* Nothing of the test's stays open here: a pipe it waits on for
         * end of file, say, or its output pipe. */
        if (fd > 3)
                close_range(3, (unsigned)fd - 1, 0);
        close_range((unsigned)fd + 1, ~0u, 0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
        }
        /* Out of the test's process group: Check's killpg after a failed or
         * timed-out test must not reach us. */
        setpgid(0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                struct rec r;
                int ready = poll(&p, 1, 200);
                if (ready > 0) {
                        ssize_t got = read(fd, &r, sizeof(r));
                        if (got == (ssize_t)sizeof(r)) {
                                apply(e, &r);
                                continue;
                        }
                        if (got < 0 && errno == EINTR)
                                continue;
                        break; /* end of file: the test process is gone */
                }
                if (getppid() != owner)
                        break;
        }
        sweep(e, TMPDIR_MAX);
        _exit(0);
}

/* One sweeper per test process (a forked test gets its own, made when it
 * registers its first directory). */
static int sweeper_fd_get(bool create)
{
        if (sweeper_fd >= 0 && sweeper_owner == getpid())
                return sweeper_fd;
        if (!create)
                return -ESRCH;
        if (sweeper_fd >= 0)
                close(sweeper_fd); /* the parent's, inherited */
        sweeper_fd = -1;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid_t owner = getpid();
        fflush(NULL);
        pid_t pid = fork();
        int fork_errno = errno;
        if (pid == 0)
                sweeper_main(pfd[0], owner);
        close(pfd[0]);
        if (pid < 0) {
                close(pfd[1]);
                return -fork_errno;
        }
        sweeper_owner = owner;
        sweeper_fd = pfd[1];
        return sweeper_fd;
}

static void tell(int op, const char *dir, pid_t pid)
{
        struct rec r = {.op = op, .pid = pid};
        int fd = sweeper_fd_get(op == REC_ADD);
        if (fd < 0 || strlen(dir) >= sizeof(r.path))
                return;
        snprintf(r.path, sizeof(r.path), "%s", dir);
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
                fprintf(stderr, "tmpdir: sweeper unreachable; %s may stay behind\n", dir);
}

int tmpdir_make(char *dir, size_t len, const char *prefix)
{
        if (snprintf(dir, len, "/tmp/%s-XXXXXX", prefix) >= (int)len)
                return -ENAMETOOLONG;
        if (!mkdtemp(dir))
                return -errno;
        tell(REC_ADD, dir, 0);
        return 0;
}

void tmpdir_after(const char *dir, pid_t pid)
{
        tell(REC_AFTER, dir, pid);
}

void tmpdir_remove(char *dir)
{
        if (!dir[0])
                return;
        remove_tree(dir);
        tell(REC_DEL, dir, 0);
        dir[0] = '\0';
}
