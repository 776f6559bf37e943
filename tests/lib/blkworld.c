/* blkback test world pieces (see blkworld.h). */
#include "blkworld.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "bf_tag.h"

void blkw_disk_size(const char *path, off_t bytes)
{
        int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, bytes), 0);
        close(fd);
}

void blkw_disk_assert_tags(const char *path, uint64_t start, uint64_t count, uint64_t gen)
{
        char *buf = malloc(count * 512);
        ck_assert_ptr_nonnull(buf);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pread(fd, buf, count * 512, (off_t)(start * 512)), (ssize_t)(count * 512));
        close(fd);
        for (uint64_t s = 0; s < count; s++) {
                enum bf_tag_result r = bf_tag_check(buf + s * 512, start + s, gen, NULL, NULL);
                ck_assert_msg(r == BF_TAG_OK, "sector %llu in the file: %s",
                              (unsigned long long)(start + s), bf_tag_result_name(r));
        }
        free(buf);
}

pid_t blkw_front_spawn(struct simhost *h, uint16_t domid, const struct proc_exec *how,
                       const char *const args[], int out_fd)
{
        char bin[PATH_MAX];
        const char *argv[40] = {simhost_bin("pvback-blkfront", bin, sizeof(bin))};
        int n = 1;
        for (int i = 0; args[i] && n < 39; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        struct proc_exec e = how ? *how : (struct proc_exec){0};
        e.argv = argv;
        e.out_fd = out_fd;
        pid_t pid = simhost_spawn_exec(h, domid, &e);
        ck_assert_int_gt(pid, 0);
        return pid;
}

int blkw_front_run(struct simhost *h, uint16_t domid, const struct proc_exec *how,
                   const char *const args[], char *out, size_t outlen, int timeout_ms)
{
        int pfd[2];
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid_t pid = blkw_front_spawn(h, domid, how, args, pfd[1]);
        close(pfd[1]);
        proc_read_all(pfd[0], out, outlen);
        close(pfd[0]);
        return simhost_wait(pid, timeout_ms);
}
