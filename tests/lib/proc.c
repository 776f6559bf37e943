/* Time and child processes for tests and benches (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

void sleep_us(long us)
{
        struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
        nanosleep(&ts, NULL);
}

void proc_reap(pid_t *pid)
{
        if (*pid > 0) {
                kill(*pid, SIGCONT);
                kill(*pid, SIGKILL);
                waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

int proc_wait(pid_t pid, int timeout_ms)
{
        uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
        int status;
        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0)
                        return -errno;
                if (now_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                sleep_ms(2);
        }
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

size_t proc_read_all(int fd, char *out, size_t outlen)
{
        size_t off = 0;
        for (;;) {
                char sink[256];
                bool room = out && off + 1 < outlen;
                ssize_t r =
                    read(fd, room ? out + off : sink, room ? outlen - 1 - off : sizeof(sink));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                if (room)
                        off += (size_t)r;
        }
        if (out && outlen)
                out[off] = '\0';
        return off;
}

void proc_print_file(const char *path)
{
        char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n;
        if (!f)
                return;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stderr);
        fclose(f);
}

static int open_log(const char *path, bool append)
{
        int mode = append ? O_APPEND : O_TRUNC;
        return open(path, O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0600);
}

static void route_output(const struct proc_exec *e)
{
        if (e->out_fd > STDERR_FILENO) {
                dup2(e->out_fd, STDOUT_FILENO);
        } else if (e->out_path) {
                int fd = open_log(e->out_path, e->append);
                int efd = e->err_path ? open_log(e->err_path, e->append) : fd;
                if (fd >= 0 && efd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(efd, STDERR_FILENO);
                }
                return;
        } else if (e->null_out) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
        }
        if (e->err_path) {
                int efd = open_log(e->err_path, e->append);
                if (efd >= 0)
                        dup2(efd, STDERR_FILENO);
        }
}

int proc_exec(const struct proc_exec *e)
{
        route_output(e);
        if (e->close_fds)
                close_range(3, ~0u, 0);
        for (int tries = 0; tries < (e->retry_busy ? 100 : 1); tries++) {
                if (tries)
                        sleep_ms(20);
                execvp(e->argv[0], (char *const *)e->argv);
                if (errno != EACCES && errno != ETXTBSY && errno != ENOENT)
                        break;
        }
        fprintf(stderr, "exec %s: %s\n", e->argv[0], strerror(errno));
        return 127;
}

int proc_exec_fn(void *proc_exec_spec)
{
        return proc_exec(proc_exec_spec);
}
