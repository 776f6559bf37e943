/* /proc readings of a process under test (see procstat.h). */
#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Calls fn(ctx, name) for every entry of /proc/<pid>/<sub> but . and .. */
static int each_entry(pid_t pid, const char *sub, void (*fn)(pid_t, const char *, void *),
                      void *ctx)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, sub);
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d)
                return -errno;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        fn(pid, e->d_name, ctx);
        closedir(d);
        return 0;
}

int procstat_comm(pid_t pid, char *comm, size_t len)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        bool ok = fgets(comm, (int)len, f) != NULL;
        fclose(f);
        if (!ok)
                return -EIO;
        comm[strcspn(comm, "\n")] = '\0';
        return 0;
}

struct fd_walk {
        void (*fn)(void *ctx, const char *fd, const char *target);
        void *ctx;
};

static void one_fd(pid_t pid, const char *name, void *arg)
{
        struct fd_walk *w = arg;
        char link[320], target[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int)pid, name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        w->fn(w->ctx, name, target);
}

int procstat_each_fd(pid_t pid, void (*fn)(void *ctx, const char *fd, const char *target),
                     void *ctx)
{
        struct fd_walk w = {fn, ctx};
        return each_entry(pid, "fd", one_fd, &w);
}

struct thread_walk {
        void (*fn)(void *ctx, const char *comm);
        void *ctx;
};

static void one_thread(pid_t pid, const char *name, void *arg)
{
        struct thread_walk *w = arg;
        char path[320], comm[64] = "";
        snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, name);
        FILE *f = fopen(path, "re");
        if (f) {
                if (!fgets(comm, sizeof(comm), f))
                        comm[0] = '\0';
                fclose(f);
        }
        w->fn(w->ctx, comm);
}

int procstat_each_thread(pid_t pid, void (*fn)(void *ctx, const char *comm), void *ctx)
{
        struct thread_walk w = {fn, ctx};
        return each_entry(pid, "task", one_thread, &w);
}

int procstat_maps(pid_t pid, bool (*apart)(const char *line), unsigned *count,
                  unsigned *apart_count)
{
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        *count = 0;
        if (apart_count)
                *apart_count = 0;
        while (fgets(line, sizeof(line), f)) {
                if (!strchr(line, '\n'))
                        continue; /* the rest of a long line */
                if (apart && apart(line))
                        (*apart_count)++;
                else
                        (*count)++;
        }
        fclose(f);
        return 0;
}

int procstat_rss(pid_t pid, unsigned long *rss_kb, unsigned long *anon_kb)
{
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                sscanf(line, "VmRSS: %lu kB", rss_kb);
                sscanf(line, "RssAnon: %lu kB", anon_kb);
        }
        fclose(f);
        return 0;
}
