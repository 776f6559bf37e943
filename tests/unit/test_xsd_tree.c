/* Unit tests of the simulator xenstored's pure parts: path rules, relative
 * path resolution, permission decisions and perms strings, node records and
 * the store's hash map (tools/sim/xsd_tree.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/check_main.h"
#include "tools/sim/xsd_internal.h"

static const struct {
        const char *path;
        bool valid;
} path_cases[] = {
    {"/", true},
    {"/local/domain/1/data", true},
    {"/a-b_c@1", true},
    {"", false},
    {"relative", false},
    {"/trailing/", false},
    {"/double//slash", false},
    {"/bad char", false},
    {"/bad.dot", false},
    {"/bad*star", false},
};

START_TEST(test_path_valid_table)
{
        for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++)
                ck_assert_msg(xsd_path_valid(path_cases[i].path) == path_cases[i].valid, "%s",
                              path_cases[i].path);
}
END_TEST

START_TEST(test_path_length_limits)
{
        /* 4.17: at most XENSTORE_REL_PATH_MAX characters below a domain's
         * home, and the same in total for other paths. */
        char *p = malloc(XENSTORE_ABS_PATH_MAX + 64);
        strcpy(p, "/local/domain/7/");
        size_t base = strlen(p);
        memset(p + base, 'a', XENSTORE_REL_PATH_MAX);
        p[base + XENSTORE_REL_PATH_MAX] = 0;
        ck_assert(xsd_path_valid(p));
        strcat(p, "a");
        ck_assert(!xsd_path_valid(p));

        p[0] = '/';
        memset(p + 1, 'b', XENSTORE_REL_PATH_MAX - 1);
        p[XENSTORE_REL_PATH_MAX] = 0;
        ck_assert(xsd_path_valid(p));
        strcat(p, "b");
        ck_assert(!xsd_path_valid(p));
        free(p);
}
END_TEST

START_TEST(test_path_helpers)
{
        char *s = xsd_path_canonical(5, "device/vif");
        ck_assert_str_eq(s, "/local/domain/5/device/vif");
        free(s);
        s = xsd_path_canonical(5, "/abs");
        ck_assert_str_eq(s, "/abs");
        free(s);
        s = xsd_path_canonical(5, "@releaseDomain");
        ck_assert_str_eq(s, "@releaseDomain");
        free(s);
        s = xsd_path_canonical(5, "");
        ck_assert(!xsd_path_valid(s)); /* "/local/domain/5/": trailing slash */
        free(s);

        s = xsd_path_parent("/a/b/c");
        ck_assert_str_eq(s, "/a/b");
        free(s);
        s = xsd_path_parent("/a");
        ck_assert_str_eq(s, "/");
        free(s);
        ck_assert_str_eq(xsd_path_base("/a/b/c"), "c");

        ck_assert(xsd_path_is_child("/a/b", "/a"));
        ck_assert(xsd_path_is_child("/a", "/a"));
        ck_assert(xsd_path_is_child("/anything", "/"));
        ck_assert(!xsd_path_is_child("/ab", "/a"));
        ck_assert(!xsd_path_is_child("/a", "/a/b"));
        ck_assert_uint_eq(xsd_count_strings("a\0b\0", 4), 2);
}
END_TEST

START_TEST(test_perm_for)
{
        struct xs_permissions p[3] = {{.id = 3, .perms = XS_PERM_READ},
                                      {.id = 5, .perms = XS_PERM_WRITE},
                                      {.id = 6, .perms = XS_PERM_NONE}};
        struct xsd_perms ps = {.num = 3, .p = p};
        const unsigned int all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;

        ck_assert_uint_eq(xsd_perm_for(&ps, 0, true, -1), all);  /* privileged */
        ck_assert_uint_eq(xsd_perm_for(&ps, 3, false, -1), all); /* owner */
        ck_assert_uint_eq(xsd_perm_for(&ps, 5, false, -1), XS_PERM_WRITE);
        ck_assert_uint_eq(xsd_perm_for(&ps, 6, false, -1), XS_PERM_NONE);
        ck_assert_uint_eq(xsd_perm_for(&ps, 9, false, -1), XS_PERM_READ); /* default */
        /* SET_TARGET: acting for the owner gives the owner's rights. */
        ck_assert_uint_eq(xsd_perm_for(&ps, 9, false, 3), all);
        /* Ignored entries (released domains) do not apply. */
        p[2].perms |= XS_PERM_IGNORE;
        ck_assert_uint_eq(xsd_perm_for(&ps, 6, false, -1), XS_PERM_READ);
}
END_TEST

START_TEST(test_perms_parse_format)
{
        static const char in[] = "n0\0r5\0b7\0w0x10";
        struct xsd_perms ps;
        char buf[64];
        size_t len;

        ck_assert_int_eq(xsd_perms_parse(in, sizeof(in), 4, &ps), 0);
        ck_assert_uint_eq(ps.num, 4);
        ck_assert_uint_eq(ps.p[1].id, 5);
        ck_assert_uint_eq(ps.p[1].perms, XS_PERM_READ);
        ck_assert_uint_eq(ps.p[2].perms, XS_PERM_READ | XS_PERM_WRITE);
        ck_assert_uint_eq(ps.p[3].id, 16); /* strtol base 0, as libxenstore */
        ck_assert_int_eq(xsd_perms_format(&ps, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, 13);
        ck_assert_int_eq(memcmp(buf, "n0\0r5\0b7\0w16", 13), 0);
        xsd_perms_clear(&ps);

        ck_assert_int_eq(xsd_perms_parse("x1", 3, 1, &ps), -EINVAL);
        ck_assert_int_eq(xsd_perms_parse("r", 2, 1, &ps), -EINVAL);
        ck_assert_int_eq(xsd_perms_parse("r1z", 4, 1, &ps), -EINVAL);
        ck_assert_int_eq(xsd_perms_parse("r1", 3, 2, &ps), -EINVAL);
}
END_TEST

START_TEST(test_node_children_and_size)
{
        struct xsd_node *n = xsd_node_new("/a");
        struct xs_permissions p = {.id = 1, .perms = XS_PERM_NONE};
        struct xsd_perms ps = {.num = 1, .p = &p};

        ck_assert_int_eq(xsd_node_set_perms(n, &ps), 0);
        ck_assert_int_eq(xsd_node_add_child(n, "x"), 0);
        ck_assert_int_eq(xsd_node_add_child(n, "yy"), 0);
        ck_assert_int_eq(xsd_node_add_child(n, "z"), 0);
        ck_assert_int_eq(xsd_node_del_child(n, "yy"), 0);
        ck_assert_int_eq(xsd_node_del_child(n, "nope"), -ENOENT);
        ck_assert_uint_eq(n->childlen, 4);
        ck_assert_int_eq(memcmp(n->children, "x\0z", 4), 0);
        ck_assert_int_eq(xsd_node_set_data(n, "val", 3), 0);
        /* xenstored's record: 24-byte header, 8 bytes per perm, data, children. */
        ck_assert_uint_eq(xsd_node_size(n), 24 + 8 + 3 + 4);

        struct xsd_node *d = xsd_node_dup(n);
        xsd_node_free(n);
        ck_assert_str_eq(d->name, "/a");
        ck_assert_int_eq(memcmp(d->data, "val", 3), 0);
        ck_assert_uint_eq(d->perms.p[0].id, 1);
        xsd_node_free(d);
}
END_TEST

START_TEST(test_map_many)
{
        struct xsd_map m;
        char key[32];

        ck_assert_int_eq(xsd_map_init(&m), 0);
        for (int i = 0; i < 5000; i++) {
                snprintf(key, sizeof(key), "/k/%d", i);
                ck_assert_int_eq(xsd_map_put(&m, key, (void *)(intptr_t)(i + 1), NULL), 0);
        }
        void *old;
        ck_assert_int_eq(xsd_map_put(&m, "/k/7", (void *)(intptr_t)99, &old), 0);
        ck_assert_int_eq((intptr_t)old, 8);
        ck_assert_uint_eq(m.n, 5000);
        for (int i = 0; i < 5000; i += 2) {
                snprintf(key, sizeof(key), "/k/%d", i);
                ck_assert_ptr_nonnull(xsd_map_del(&m, key));
        }
        ck_assert_ptr_null(xsd_map_get(&m, "/k/0"));
        ck_assert_int_eq((intptr_t)xsd_map_get(&m, "/k/4999"), 5000);
        ck_assert_uint_eq(m.n, 2500);
        xsd_map_fini(&m, NULL);
}
END_TEST

static Suite *xsd_tree_suite(void)
{
        Suite *s = suite_create("xsd_tree");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_path_valid_table);
        tcase_add_test(tc, test_path_length_limits);
        tcase_add_test(tc, test_path_helpers);
        tcase_add_test(tc, test_perm_for);
        tcase_add_test(tc, test_perms_parse_format);
        tcase_add_test(tc, test_node_children_and_size);
        tcase_add_test(tc, test_map_many);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(xsd_tree_suite)
