/* Unit tests of the vbd half of the toolstack stand-in: the virtual-device
 * encoding of xen-vbd-interface.7 and the key set compared with what libxl
 * 4.17 wrote on real Xen (tests/data/real-xen/phaseA-xenstore.txt). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "schema.h"
#include "tools/sim/toolstack.h"

static const struct {
        const char *vdev;
        long devid; /* -1: refused */
} vdev_cases[] = {
    /* xvd: 202<<8 | disk<<4 | part while disk and part fit in 4 bits */
    {"xvda", 51712},
    {"xvdb", 51728},
    {"xvda1", 51713},
    {"xvdp", 51952},
    {"xvdp15", 51967},
    /* beyond: the extended form 1<<28 | disk<<8 | part */
    {"xvdq", 268439552},
    {"xvdq1", 268439553},
    {"xvdz", 268441856},
    {"xvdaa", 268442112},
    {"xvdzz", 268614912},
    {"xvda16", 268435472},
    {"xvda255", 268435711},
    /* d<disk>p<part> */
    {"d0p0", 51712},
    {"d1p2", 51730},
    {"d16p0", 268439552},
    /* hd: 3<<8 for the first two disks, 22<<8 for the next two, 64 minors each */
    {"hda", 768},
    {"hdb", 832},
    {"hdc", 5632},
    {"hdd", 5696},
    {"hda1", 769},
    {"hda63", 831},
    /* sd: 8<<8 | disk<<4 | part */
    {"sda", 2048},
    {"sdb", 2064},
    {"sda1", 2049},
    {"sdp", 2288},
    {"sdp15", 2303},
    /* plain numbers pass through */
    {"51712", 51712},
    {"0x100", 256},
    /* refused */
    {"", -1},
    {"xvd", -1},
    {"xvda0", -1},
    {"xvda01", -1},
    {"xvda256", -1},
    {"xvdA", -1},
    {"hde", -1},
    {"hda64", -1},
    {"sdq", -1},
    {"sda16", -1},
    {"-1", -1},
    {"vda", -1},
    {"d0p256", -1},
};

START_TEST(vdev_encoding)
{
        uint32_t devid = 0;
        int rc = ts_vdev_to_devid(vdev_cases[_i].vdev, &devid);
        if (vdev_cases[_i].devid < 0) {
                ck_assert_msg(rc < 0, "%s accepted as %u", vdev_cases[_i].vdev, devid);
        } else {
                ck_assert_msg(rc == 0, "%s refused", vdev_cases[_i].vdev);
                ck_assert_uint_eq(devid, (uint32_t)vdev_cases[_i].devid);
        }
}
END_TEST

/* The phase A dump as nodes, kept with its text. */
struct dump {
        char *text;
        struct schema_node *nodes;
        size_t n;
};

static void dump_load(struct dump *d, const char *rel)
{
        char path[4096];
        const char *src = getenv("PVBACK_SRC");
        snprintf(path, sizeof(path), "%s/%s", src && *src ? src : ".", rel);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        d->text = calloc(1, 65536);
        size_t n = fread(d->text, 1, 65535, f);
        fclose(f);
        d->text[n] = '\0';
        ck_assert_int_eq(schema_parse_ls(d->text, &d->nodes, &d->n, NULL), 0);
}

static void dump_free(struct dump *d)
{
        free(d->nodes);
        free(d->text);
}

/* Every key of one directory of the dump must be in kvs (or in extra, the
 * keys the generic add writes itself) with the same value, and nothing more. */
static void compare_dir(const struct dump *d, const char *dir, const struct ts_kvs *a,
                        const struct ts_kvs *b, const char *const *extra)
{
        size_t dlen = strlen(dir), seen = 0, expected = a->n + (b ? b->n : 0);
        for (size_t i = 0; i < d->n; i++) {
                const char *p = d->nodes[i].path;
                if (strncmp(p, dir, dlen) != 0 || p[dlen] != '/')
                        continue;
                const char *key = p + dlen + 1;
                bool is_extra = false;
                for (size_t j = 0; extra && extra[j] && !is_extra; j++)
                        is_extra = strcmp(extra[j], key) == 0;
                if (is_extra)
                        continue;
                const char *v = ts_kvs_get(a, key);
                if (!v && b)
                        v = ts_kvs_get(b, key);
                ck_assert_msg(v != NULL, "%s/%s missing from the key set", dir, key);
                ck_assert_msg(strcmp(v, d->nodes[i].value) == 0, "%s/%s: '%s', libxl wrote '%s'",
                              dir, key, v, d->nodes[i].value);
                seen++;
        }
        ck_assert_uint_eq(seen, expected);
}

START_TEST(vbd_keys_match_libxl)
{
        struct dump d;
        struct ts_device dev;
        dump_load(&d, "tests/data/real-xen/phaseA-xenstore.txt");
        /* disk = ['phy:/srv/xen/domu.img,xvda,w'] of domain 1, PV. */
        struct ts_vbd_cfg cfg = {.domid = 1,
                                 .backend_domid = 0,
                                 .vdev = "xvda",
                                 .target = "/srv/xen/domu.img",
                                 .script = "/etc/xen/scripts/block",
                                 .discard = -1,
                                 .protocol = "x86_64-abi"};
        ck_assert_int_eq(ts_vbd_build(&cfg, &dev), 0);
        ck_assert_uint_eq(dev.devid, 51712);
        ck_assert_uint_eq(dev.ro_front.n, 0);
        static const char *const be_extra[] = {"frontend", NULL};
        static const char *const fe_extra[] = {"backend", NULL};
        compare_dir(&d, "/local/domain/0/backend/vbd/1/51712", &dev.back, NULL, be_extra);
        compare_dir(&d, "/local/domain/1/device/vbd/51712", &dev.front, NULL, fe_extra);
        ts_device_free(&dev);
        dump_free(&d);
}
END_TEST

START_TEST(vbd_keys_options)
{
        struct ts_device dev;
        struct ts_vbd_cfg cfg = {.domid = 3,
                                 .backend_domid = 2,
                                 .vdev = "xvdb1",
                                 .target = "/dev/loop7",
                                 .script = "/usr/lib/pvback/block-pvback",
                                 .readonly = true,
                                 .cdrom = true,
                                 .removable = true,
                                 .direct_io_safe = true,
                                 .discard = -1,
                                 .untrusted = true};
        ck_assert_int_eq(ts_vbd_build(&cfg, &dev), 0);
        ck_assert_uint_eq(dev.devid, 51729);
        ck_assert_str_eq(ts_kvs_get(&dev.back, "mode"), "r");
        /* libxl: discard defaults to enabled only for writable disks. */
        ck_assert_str_eq(ts_kvs_get(&dev.back, "discard-enable"), "0");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "device-type"), "cdrom");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "removable"), "1");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "direct-io-safe"), "1");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "frontend-id"), "3");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "dev"), "xvdb1");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "backend-id"), "2");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "device-type"), "cdrom");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "trusted"), "0");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "virtual-device"), "51729");
        /* No protocol for an HVM guest. */
        ck_assert_ptr_null(ts_kvs_get(&dev.front, "protocol"));
        ts_device_free(&dev);

        cfg.vdev = "xvd";
        ck_assert_int_eq(ts_vbd_build(&cfg, &dev), -EINVAL);
}
END_TEST

START_TEST(paths_and_parse)
{
        struct ts_device dev;
        char buf[256], kind[16];
        uint32_t b, d, id;
        ts_device_init(&dev, &ts_kind_vbd, 7, 0, 51712);
        ck_assert_int_eq(ts_backend_path(&dev, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "/local/domain/0/backend/vbd/7/51712");
        ck_assert_int_eq(ts_parse_backend_path(buf, &b, kind, &d, &id), 0);
        ck_assert(b == 0 && d == 7 && id == 51712 && strcmp(kind, "vbd") == 0);
        ck_assert_int_eq(ts_frontend_path(&dev, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "/local/domain/7/device/vbd/51712");
        ck_assert_int_eq(ts_libxl_path(&dev, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "/libxl/7/device/vbd/51712");
        ck_assert_int_eq(ts_backend_path(&dev, buf, 10), -ENAMETOOLONG);
        ck_assert_int_lt(ts_parse_backend_path("/local/domain/0/backend/vbd/7", &b, kind, &d, &id),
                         0);
        ck_assert_int_lt(
            ts_parse_backend_path("/local/domain/0/backend/vbd/7/1/x", &b, kind, &d, &id), 0);
        char *s = ts_script_path("block");
        ck_assert_str_eq(s, "/etc/xen/scripts/block");
        free(s);
        s = ts_script_path("/opt/x");
        ck_assert_str_eq(s, "/opt/x");
        free(s);
}
END_TEST

static Suite *toolstack_vbd_suite(void)
{
        Suite *s = suite_create("toolstack_vbd");
        TCase *tc = tcase_create("vdev");
        tcase_add_loop_test(tc, vdev_encoding, 0, sizeof(vdev_cases) / sizeof(vdev_cases[0]));
        suite_add_tcase(s, tc);
        tc = tcase_create("keys");
        tcase_add_test(tc, vbd_keys_match_libxl);
        tcase_add_test(tc, vbd_keys_options);
        tcase_add_test(tc, paths_and_parse);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(toolstack_vbd_suite)
