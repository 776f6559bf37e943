/* Opening a vbd's backing store and reading what blkback publishes about
 * it: Linux xen-blkback xen_vbd_create / xen_blkbk_discard for block
 * devices, punch-hole support for regular files (as QEMU's file driver). */
#include "blkback/bb_backing.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkback/bb_abi.h"

static uint64_t sysfs_u64(unsigned maj, unsigned min, const char *attr, uint64_t def)
{
        char p[128], v[64];
        unsigned long long x;
        FILE *f;
        snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/queue/%s", maj, min, attr);
        f = fopen(p, "re");
        if (!f)
                return def;
        if (!fgets(v, sizeof(v), f) || sscanf(v, "%llu", &x) != 1)
                x = def;
        fclose(f);
        return x;
}

static int probe_blkdev(struct bb_backing *b, const struct stat *st)
{
        int lbs = 512;
        unsigned pbs = 512;
        unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);
        uint64_t range[2] = {0, 0};

        if (ioctl(b->fd, BLKGETSIZE64, &b->bytes) < 0)
                return -errno;
        if (ioctl(b->fd, BLKSSZGET, &lbs) == 0 && lbs >= 512)
                b->logical = (uint32_t)lbs;
        if (ioctl(b->fd, BLKPBSZGET, &pbs) == 0 && pbs >= 512)
                b->physical = pbs;
        /* xen_blkbk_discard: offer discard when the queue can. */
        b->discard = !b->readonly && sysfs_u64(maj, min, "discard_max_bytes", 0) > 0;
        b->discard_granularity = (uint32_t)sysfs_u64(maj, min, "discard_granularity", b->logical);
        b->discard_alignment = 0;
        /* bdev_max_secure_erase_sectors has no sysfs node; an empty
         * BLKSECDISCARD fails with EOPNOTSUPP exactly when it is zero. */
        b->discard_secure = b->discard && ioctl(b->fd, BLKSECDISCARD, range) == 0;
        return 0;
}

static void probe_file(struct bb_backing *b, const struct stat *st)
{
        b->bytes = (uint64_t)st->st_size;
        b->logical = 512;
        b->physical = 512;
        b->discard_granularity = st->st_blksize > 0 ? (uint32_t)st->st_blksize : BB_PAGE_SIZE;
        b->discard_alignment = 0;
        /* Punching past the end changes nothing and tells whether the file
         * system supports holes at all. */
        b->discard = !b->readonly &&
                     fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               (off_t)(b->bytes + BB_PAGE_SIZE), BB_PAGE_SIZE) == 0;
        b->discard_secure = false;
}

/* O_DIRECT on a file needs the file system's alignment to be no coarser
 * than the 512-byte sectors the frontend sends (statx STATX_DIOALIGN). */
static bool file_dio_ok(int fd)
{
        struct statx stx;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
            !(stx.stx_mask & STATX_DIOALIGN))
                return true; /* unknown: the first I/O will say */
        return stx.stx_dio_offset_align && stx.stx_dio_offset_align <= 512 &&
               stx.stx_dio_mem_align <= 512;
}

int bb_backing_open(const char *path, bool readonly, bool direct, struct bb_backing *b)
{
        int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
        struct stat st;
        int rc;

        memset(b, 0, sizeof(*b));
        b->fd = -1;
        b->readonly = readonly;
        if (strlen(path) >= sizeof(b->path))
                return -ENAMETOOLONG;
        strcpy(b->path, path);
        b->fd = open(path, flags | (direct ? O_DIRECT : 0));
        if (b->fd < 0 && direct && errno == EINVAL)
                b->fd = open(path, flags); /* the file system has no O_DIRECT */
        else if (b->fd >= 0 && direct)
                b->direct = true;
        if (b->fd < 0)
                return -errno;
        if (fstat(b->fd, &st) < 0) {
                rc = -errno;
                goto fail;
        }
        if (S_ISBLK(st.st_mode)) {
                b->blkdev = true;
                rc = probe_blkdev(b, &st);
                if (rc < 0)
                        goto fail;
        } else if (S_ISREG(st.st_mode)) {
                probe_file(b, &st);
                if (b->direct && !file_dio_ok(b->fd)) {
                        int fl = fcntl(b->fd, F_GETFL);
                        if (fl >= 0 && fcntl(b->fd, F_SETFL, fl & ~O_DIRECT) == 0)
                                b->direct = false;
                }
        } else {
                rc = -EINVAL;
                goto fail;
        }
        return 0;
fail:
        close(b->fd);
        b->fd = -1;
        return rc;
}

void bb_backing_close(struct bb_backing *b)
{
        if (b->fd >= 0)
                close(b->fd);
        b->fd = -1;
}

int bb_backing_size(const struct bb_backing *b, uint64_t *bytes)
{
        struct stat st;
        if (b->blkdev)
                return ioctl(b->fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
        if (fstat(b->fd, &st) < 0)
                return -errno;
        *bytes = (uint64_t)st.st_size;
        return 0;
}

int bb_majmin_parse(const char *s, unsigned *maj, unsigned *min)
{
        char *end;
        unsigned long a, b;
        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        a = strtoul(s, &end, 16);
        if (errno || end == s || *end != ':')
                return -EINVAL;
        s = end + 1;
        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        b = strtoul(s, &end, 16);
        if (errno || end == s || *end || a > 0xfff || b > 0xfffff)
                return -EINVAL;
        *maj = (unsigned)a;
        *min = (unsigned)b;
        return 0;
}

int bb_majmin_path(unsigned maj, unsigned min, const char *hint, char *buf, size_t len)
{
        struct stat st;
        if (hint && *hint && stat(hint, &st) == 0 && S_ISBLK(st.st_mode) &&
            major(st.st_rdev) == maj && minor(st.st_rdev) == min) {
                if ((size_t)snprintf(buf, len, "%s", hint) >= len)
                        return -ENAMETOOLONG;
                return 0;
        }
        if ((size_t)snprintf(buf, len, "/dev/block/%u:%u", maj, min) >= len)
                return -ENAMETOOLONG;
        return 0;
}
