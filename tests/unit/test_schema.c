/* Unit tests of the xenstore schema parser and validator (common/schema.h):
 * malformed lines refused with their line number, pattern matching, value
 * checks, a deliberately wrong tree, and the repository's schema against the
 * reference dumps of real Xen 4.17 (tests/data/real-xen). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "schema.h"
#include "schema_impl.h"

static const char *src_dir(void)
{
        const char *s = getenv("PVBACK_SRC");
        return s && *s ? s : ".";
}

static char *slurp(const char *rel)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", src_dir(), rel);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        char *buf = calloc(1, 1 << 20);
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

static struct schema *repo_schema(void)
{
        struct schema *s;
        char dir[4096], err[512] = "";
        snprintf(dir, sizeof(dir), "%s/xenstore-schema", src_dir());
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_msg(schema_load_dir(s, dir, err, sizeof(err)) == 0, "%s", err);
        return s;
}

/* ---- parser ------------------------------------------------------------- */

static const char good[] =
    "format 1\n"
    "# a comment\n"
    "\n"
    "dir BE /local/domain/{bdom}/backend/x/{fdom}/{devid}  n{bdom},r{fdom}  Backend.\n"
    "dir BEQ BE/queue-{q}  -  Queue dir.\n"
    "key BE/mode  toolstack  enum  r|w  w  req  n{bdom},r{fdom}  Mode.\n"
    "key BE/id    toolstack  domid {fdom}  -  req  -  Frontend id.\n"
    "key BE/n     backend    uint  1..8  -  req@2  -  A count.\n"
    "key BE/state toolstack,backend  state  -  1  req  n{bdom},r{fdom}  State.\n"
    "key BE/hs    toolstack,hotplug  enum  ''|connected  ''  opt  -  Hotplug.\n"
    "key BE/fe    toolstack  path  /local/domain/{fdom}/device/x/{devid}  -  opt  -  Frontend.\n"
    "key BEQ/ref{i}  frontend  grant-ref  -  -  opt  -  Ring refs.\n"
    "key BE/f     backend    bool  -  -  req@2..4  -  Published at probe.\n";

START_TEST(parse_good)
{
        struct schema *s;
        char err[256] = "";
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_msg(schema_load_text(s, "x.schema", good, err, sizeof(err)) == 0, "%s", err);
        ck_assert_uint_eq(schema_dir_count(s), 2);
        ck_assert_uint_eq(schema_key_count(s), 8);
        ck_assert_str_eq(schema_dir_at(s, 1)->pattern,
                         "/local/domain/{bdom}/backend/x/{fdom}/{devid}/queue-{q}");
        const struct schema_key *k = schema_key_at(s, 0);
        ck_assert_str_eq(k->rel, "mode");
        ck_assert_str_eq(k->def, "w");
        ck_assert(k->required && k->req_state == 0);
        ck_assert_uint_eq(k->writers, SCHEMA_W_TOOLSTACK);
        ck_assert_uint_eq(schema_key_at(s, 2)->req_state, 2);
        ck_assert_uint_eq(schema_key_at(s, 2)->req_state_max, 8);
        ck_assert_uint_eq(schema_key_at(s, 7)->req_state, 2);
        ck_assert_uint_eq(schema_key_at(s, 7)->req_state_max, 4);
        ck_assert_uint_eq(schema_key_at(s, 3)->writers, SCHEMA_W_TOOLSTACK | SCHEMA_W_BACKEND);
        ck_assert_str_eq(schema_key_at(s, 4)->def, "");
        ck_assert_str_eq(schema_key_at(s, 4)->where, "x.schema:10");
        ck_assert_ptr_eq(schema_find_key(s, "/local/domain/0/backend/x/3/7/queue-1/ref12"),
                         schema_key_at(s, 6));
        ck_assert_ptr_null(schema_find_key(s, "/local/domain/0/backend/y/3/7/mode"));
        schema_free(s);
}
END_TEST

static const struct {
        const char *text;
        const char *err; /* expected message prefix, with the line number */
} bad_cases[] = {
    {"", "x.schema:1: empty schema"},
    {"dir A /a - m\n", "x.schema:1: the first line must be 'format 1'"},
    {"format 2\n", "x.schema:1: the first line must be 'format 1'"},
    {"format 1\nthing A\n", "x.schema:2: unknown line type 'thing'"},
    {"format 1\ndir A /a/{x} -\n", "x.schema:2: dir needs NAME PATTERN PERMS MEANING"},
    {"format 1\ndir a /a - m\n", "x.schema:2: directory name 'a' must be upper case"},
    {"format 1\ndir A /a - m\ndir A /b - m\n", "x.schema:3: directory 'A' declared twice"},
    {"format 1\ndir A a/b - m\n", "x.schema:2: 'a' is neither an absolute path"},
    {"format 1\ndir A /a/{X} - m\n", "x.schema:2: bad placeholder"},
    {"format 1\ndir A /a/{x}{y} - m\n", "x.schema:2: bad placeholder"},
    {"format 1\ndir A /a/ - m\n", "x.schema:2: path pattern '/a/' is not a clean"},
    {"format 1\ndir A /a x0 m\n", "x.schema:2: bad permissions 'x0'"},
    {"format 1\ndir A /a - m\nkey A/k toolstack integer - - req - m\n",
     "x.schema:3: unknown type 'integer'"},
    {"format 1\ndir A /a - m\nkey A/k guest uint - - req - m\n",
     "x.schema:3: unknown writer 'guest'"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req\n", "x.schema:3: key needs"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req -\n",
     "x.schema:3: key A/k has no meaning"},
    {"format 1\ndir A /a - m\n\n# c\nkey B/k toolstack uint - - req - m\n",
     "x.schema:5: 'B' is neither"},
    {"format 1\ndir A /a - m\nkey /a/k toolstack uint - - req - m\n",
     "x.schema:3: key '/a/k' must be DIR/KEY"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint 5..1 - req - m\n",
     "x.schema:3: bad range '5..1'"},
    {"format 1\ndir A /a - m\nkey A/k toolstack state 0..9 - req - m\n",
     "x.schema:3: 9 is out of range"},
    {"format 1\ndir A /a - m\nkey A/k toolstack enum - - req - m\n",
     "x.schema:3: enum needs its values"},
    {"format 1\ndir A /a - m\nkey A/k toolstack bool 0|2 - req - m\n",
     "x.schema:3: 2 is out of range"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - abc req - m\n",
     "x.schema:3: default of A/k: 'abc' is not an unsigned integer"},
    {"format 1\ndir A /a - m\nkey A/k toolstack enum r|w x req - m\n",
     "x.schema:3: default of A/k: 'x' is not one of r|w"},
    {"format 1\ndir A /a - m\nkey A/k toolstack mac - 00:16:3e req - m\n",
     "x.schema:3: default of A/k: '00:16:3e' is not a MAC address"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - maybe - m\n",
     "x.schema:3: required must be req, opt, req@STATE or req@LO..HI"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req@9 - m\n",
     "x.schema:3: required must be"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req@2..9 - m\n",
     "x.schema:3: required must be"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req@2.4 - m\n",
     "x.schema:3: required must be"},
    {"format 1\ndir A /a - m\nkey A/k toolstack uint - - req@4..2 - m\n",
     "x.schema:3: required state range 'req@4..2' is empty"},
    {"format 1\ndir A /a - m\nkey A/k toolstack enum a||b - req - m\n",
     "x.schema:3: empty item in 'a||b'"},
};

START_TEST(parse_bad)
{
        struct schema *s;
        char err[256] = "";
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_int_eq(schema_load_text(s, "x.schema", good, err, sizeof(err)), 0);
        int rc = schema_load_text(s, "x.schema", bad_cases[_i].text, err, sizeof(err));
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(strncmp(err, bad_cases[_i].err, strlen(bad_cases[_i].err)) == 0,
                      "case %d: got '%s', want '%s...'", _i, err, bad_cases[_i].err);
        /* A refused file leaves nothing of itself behind. */
        ck_assert_uint_eq(schema_dir_count(s), 2);
        ck_assert_uint_eq(schema_key_count(s), 8);
        schema_free(s);
}
END_TEST

/* ---- patterns ----------------------------------------------------------- */

static const struct {
        const char *pat, *path;
        bool match;
        const char *subst; /* pattern "/{a}/{b}" filled from the bindings */
} match_cases[] = {
    {"/local/domain/{b}/backend/vif/{a}/{d}", "/local/domain/0/backend/vif/6/0", true, "/6/0"},
    {"/local/domain/{b}/backend/vif/{a}/{d}", "/local/domain/0/backend/vbd/6/0", false, NULL},
    {"/local/domain/{b}/backend/vif/{a}/{d}", "/local/domain/0/backend/vif/6", false, NULL},
    {"/local/domain/{b}/backend/vif/{a}/{d}", "/local/domain/0/backend/vif/6/0/mac", false, NULL},
    {"/local/domain/{b}/backend/vif/{a}/{d}", "/local/domain/x/backend/vif/6/0", false, NULL},
    {"/q/queue-{a}/ring-ref{b}", "/q/queue-12/ring-ref3", true, "/12/3"},
    {"/q/queue-{a}/ring-ref{b}", "/q/queue-/ring-ref3", false, NULL},
    {"/x/{a}/y/{a}", "/x/5/y/5", true, NULL},
    {"/x/{a}/y/{a}", "/x/5/y/6", false, NULL},
    {"/x/{a}/{b}", "/x/7/8", true, "/7/8"},
};

START_TEST(pattern_match)
{
        struct schema_binds b;
        bool m = schema_pattern_match(match_cases[_i].pat, match_cases[_i].path, &b);
        ck_assert_msg(m == match_cases[_i].match, "case %d", _i);
        if (m && match_cases[_i].subst) {
                char out[64];
                ck_assert_int_eq(schema_pattern_subst("/{a}/{b}", &b, out, sizeof(out)), 0);
                ck_assert_str_eq(out, match_cases[_i].subst);
        }
}
END_TEST

START_TEST(pattern_subst_unbound)
{
        struct schema_binds b;
        char out[64];
        ck_assert(schema_pattern_match("/x/{a}", "/x/1", &b));
        ck_assert_int_eq(schema_pattern_subst("/{a}/{zz}", &b, out, sizeof(out)), -ENOENT);
        ck_assert_int_eq(schema_pattern_subst("/{a}/long", &b, out, 4), -ENAMETOOLONG);
}
END_TEST

/* ---- validation --------------------------------------------------------- */

struct expect {
        const char *path;
        const char *msg; /* substring */
};

static bool has_finding(const struct schema_findings *f, const struct expect *e)
{
        for (size_t j = 0; j < f->n; j++)
                if (strcmp(f->v[j].path, e->path) == 0 && strstr(f->v[j].msg, e->msg) != NULL)
                        return true;
        return false;
}

/* Exactly the expected findings; all of them are printed on a mismatch. */
static void check_findings(const struct schema_findings *f, const struct expect *want, size_t n)
{
        bool ok = f->n == n;
        for (size_t i = 0; i < n && ok; i++)
                ok = has_finding(f, &want[i]);
        for (size_t i = 0; !ok && i < f->n; i++)
                fprintf(stderr, "  finding: %s: %s\n", f->v[i].path, f->v[i].msg);
        ck_assert_uint_eq(f->n, n);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(has_finding(f, &want[i]), "no finding '%s' for %s", want[i].msg,
                              want[i].path);
}

#define BE "/local/domain/0/backend/x/3/7"

START_TEST(validate_wrong_tree)
{
        struct schema *s;
        char err[256];
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_int_eq(schema_load_text(s, "x.schema", good, err, sizeof(err)), 0);
        static const struct schema_node tree[] = {
            {"/local", "", "n0"},                      /* outside every directory: ignored */
            {"/local/domain/0/backend/x/3", "", "n0"}, /* above the device: ignored */
            {BE, "", "n0,r4"},                         /* wrong permissions */
            {BE "/mode", "x", "n0,r3"},                /* not in the list */
            {BE "/id", "4", "n0,r3"},                  /* must equal {fdom} = 3 */
            {BE "/state", "3", "n3"},                  /* fine value, wrong owner */
            {BE "/hs", "", NULL},                      /* '' is allowed; perms unchecked */
            {BE "/n", "9", NULL},                      /* out of range */
            {BE "/f", "1", NULL},
            {BE "/fe", "/local/domain/3/device/x/8", NULL},
            {BE "/extra", "1", NULL},       /* unknown */
            {BE "/mode/deeper", "1", NULL}, /* unknown, below a key */
            {BE "/queue-0", "", NULL},
            {BE "/queue-0/ref0", "12", NULL},
            {BE "/queue-0/ref1", "-1", NULL}, /* not a grant reference */
            {BE "/queue-0/other", "1", NULL}, /* unknown under the queue dir */
        };
        static const struct expect want[] = {
            {BE, "permissions (n0,r4) differ from the schema's (n0,r3)"},
            {BE "/mode", "'x' is not one of r|w (x.schema:6)"},
            {BE "/id", "'4' must be 3 (the {fdom} of this path)"},
            {BE "/state", "permissions (n3) differ"},
            {BE "/n", "9 is outside 1..8"},
            {BE "/fe", "must be '/local/domain/3/device/x/7'"},
            {BE "/extra", "unknown key under BE (x.schema:4)"},
            {BE "/mode/deeper", "unknown key under BE"},
            {BE "/queue-0/ref1", "'-1' is not an unsigned integer"},
            {BE "/queue-0/other", "unknown key under BEQ"},
        };
        struct schema_findings f = {0};
        ck_assert_int_eq(schema_validate(s, tree, sizeof(tree) / sizeof(tree[0]), &f), 0);
        check_findings(&f, want, sizeof(want) / sizeof(want[0]));
        schema_findings_free(&f);
        schema_free(s);
}
END_TEST

START_TEST(validate_required)
{
        struct schema *s;
        char err[256];
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_int_eq(schema_load_text(s, "x.schema", good, err, sizeof(err)), 0);
        /* state 1: n (req@2) not yet required; mode and id are. */
        struct schema_node tree[] = {{BE, "", NULL}, {BE "/state", "1", NULL}};
        static const struct expect want1[] = {{BE "/mode", "missing required key (written by "
                                                           "toolstack; x.schema:6)"},
                                              {BE "/id", "missing required key"}};
        struct schema_findings f = {0};
        ck_assert_int_eq(schema_validate(s, tree, 2, &f), 0);
        check_findings(&f, want1, 2);
        schema_findings_free(&f);
        /* state 4: n and f are required too. */
        tree[1].value = "4";
        static const struct expect want2[] = {
            {BE "/mode", "missing"},
            {BE "/id", "missing"},
            {BE "/n", "missing required key (written by backend"},
            {BE "/f", "missing required key (written by backend"}};
        ck_assert_int_eq(schema_validate(s, tree, 2, &f), 0);
        check_findings(&f, want2, 4);
        schema_findings_free(&f);
        /* state 5 (a backend that failed at probe goes to Closing without
         * what it publishes there): f is no longer required, n still is. */
        tree[1].value = "5";
        ck_assert_int_eq(schema_validate(s, tree, 2, &f), 0);
        check_findings(&f, want2, 3);
        schema_findings_free(&f);
        schema_free(s);
}
END_TEST

START_TEST(value_types)
{
        static const struct {
                const char *type, *values, *value;
                bool ok;
        } cases[] = {
            {"mac", "-", "00:16:3e:00:00:01", true},
            {"mac", "-", "00:16:3e:00:00", false},
            {"mac", "-", "00:16:3e:00:00:0g", false},
            {"rate", "-", "62500,50000", true},
            {"rate", "-", "62500", false},
            {"majmin", "-", "7:0", true},
            {"majmin", "-", "fd:1a", true},
            {"majmin", "-", "7", false},
            {"state", "-", "8", true},
            {"state", "-", "9", false},
            {"domid", "-", "32751", true},
            {"domid", "-", "32752", false},
            {"bool", "-", "1", true},
            {"bool", "-", "2", false},
            {"uint", "-", "", false},
            {"uint", "-", "+1", false},
            {"uint", "-", "007", true},
            {"port", "-", "4294967296", false},
            {"fspath", "-", "/etc/xen", true},
            {"fspath", "-", "etc", false},
            {"string", "-", "", true},
            {"enum", "a|''", "", true},
            {"enum", "a|b", "", false},
            {"uint", "1|3", "3", true},
            {"uint", "1|3", "2", false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[512], err[256], msg[256];
                struct schema *s;
                snprintf(text, sizeof(text),
                         "format 1\ndir A /a - m\nkey A/k backend %s %s - opt - m\n", cases[i].type,
                         cases[i].values);
                ck_assert_int_eq(schema_new(&s), 0);
                ck_assert_msg(schema_load_text(s, "t", text, err, sizeof(err)) == 0, "%s", err);
                int rc =
                    schema_value_check(schema_key_at(s, 0), cases[i].value, NULL, msg, sizeof(msg));
                ck_assert_msg((rc == 0) == cases[i].ok, "%s '%s': %s", cases[i].type,
                              cases[i].value, rc ? msg : "accepted");
                schema_free(s);
        }
}
END_TEST

START_TEST(parse_ls_lines)
{
        char text[] = "== header\n"
                      "/a = \"\"   (n0)\n"
                      "\n"
                      "/a/b = \"say \"hi\"\"   (n0,r1)\n"
                      "-- trailer\n";
        struct schema_node *nodes;
        size_t n;
        ck_assert_int_eq(schema_parse_ls(text, &nodes, &n, NULL), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(nodes[1].path, "/a/b");
        ck_assert_str_eq(nodes[1].value, "say \"hi\"");
        ck_assert_str_eq(nodes[1].perms, "n0,r1");
        free(nodes);
        char bad[] = "/a = \"\"\n/b x\n";
        unsigned line = 0;
        ck_assert_int_eq(schema_parse_ls(bad, &nodes, &n, &line), -EINVAL);
        ck_assert_uint_eq(line, 2);
}
END_TEST

/* ---- the repository's schema against real Xen --------------------------- */

static void validate_dump(const char *rel, struct schema_findings *f)
{
        struct schema *s = repo_schema();
        char *text = slurp(rel);
        struct schema_node *nodes;
        size_t n;
        ck_assert_int_eq(schema_parse_ls(text, &nodes, &n, NULL), 0);
        ck_assert_uint_gt(n, 20);
        ck_assert_int_eq(schema_validate(s, nodes, n, f), 0);
        free(nodes);
        free(text);
        schema_free(s);
}

/* What libxl 4.17 wrote for a vbd, nobody else having written yet. */
START_TEST(reference_phase_a_valid)
{
        struct schema_findings f = {0};
        validate_dump("tests/data/real-xen/phaseA-xenstore.txt", &f);
        check_findings(&f, NULL, 0);
        schema_findings_free(&f);
}
END_TEST

/* Kernel backends connected to Linux frontends on real Xen: every key the
 * toolstack, the hotplug scripts, the backends and the frontends wrote is in
 * the schema with a value it allows. */
START_TEST(reference_phase_b_all_keys_valid)
{
        struct schema_findings f = {0};
        validate_dump("tests/data/real-xen/phaseB-xenstore.txt", &f);
        for (size_t i = 0; i < f.n; i++)
                ck_assert_msg(false, "%s: %s", f.v[i].path, f.v[i].msg);
        ck_assert_uint_eq(f.n, 0);
        schema_findings_free(&f);
}
END_TEST

/* The error node the device manager writes (xenbus_dev_fatal's place)
 * validates; a key the schema does not know under it is reported. */
START_TEST(error_nodes_validate)
{
        struct schema *s = repo_schema();
        const struct schema_node good_nodes[] = {
            {"/local/domain/0/error/backend/vif/5/0", "", "n0"},
            {"/local/domain/0/error/backend/vif/5/0/error", "71 q0: slot 3 offset+size 4200 > 4096",
             "n0"},
            {"/local/domain/0/error/backend/vbd/5/51712", "", "n0"},
            {"/local/domain/0/error/backend/vbd/5/51712/error", "22 reading ring-ref", "n0"},
        };
        struct schema_findings f = {0};
        ck_assert_int_eq(schema_validate(s, good_nodes, 4, &f), 0);
        ck_assert_uint_eq(f.n, 0);
        const struct schema_node bad_nodes[] = {
            {"/local/domain/0/error/backend/vif/5/0", "", "n0"},
            {"/local/domain/0/error/backend/vif/5/0/reason", "x", "n0"},
        };
        ck_assert_int_eq(schema_validate(s, bad_nodes, 2, &f), 0);
        ck_assert_uint_eq(f.n, 1);
        ck_assert_ptr_nonnull(strstr(f.v[0].msg, "unknown key"));
        schema_findings_free(&f);
        schema_free(s);
}
END_TEST

/* The phase A vbd with one mistake each, as a toolstack bug would make it. */
START_TEST(reference_phase_a_mutated)
{
        struct schema *s = repo_schema();
        char *text = slurp("tests/data/real-xen/phaseA-xenstore.txt");
        struct schema_node *nodes;
        size_t n;
        ck_assert_int_eq(schema_parse_ls(text, &nodes, &n, NULL), 0);
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
                const char *p = nodes[i].path;
                if (strstr(p, "/51712/params")) /* dropped: a required key */
                        continue;
                if (strstr(p, "/51712/mode"))
                        nodes[i].value = "rw";
                if (strstr(p, "device/vbd/51712/virtual-device"))
                        nodes[i].value = "51728";
                if (strstr(p, "device/vbd/51712/backend-id"))
                        nodes[i].perms = "n0,r1";
                nodes[out++] = nodes[i];
        }
        struct schema_node extra = {"/local/domain/0/backend/vbd/1/51712/colour", "blue", "n0,r1"};
        nodes[out++] = extra;
        static const struct expect want[] = {
            {"/local/domain/0/backend/vbd/1/51712/params", "missing required key"},
            {"/local/domain/0/backend/vbd/1/51712/mode", "'rw' is not one of r|w"},
            {"/local/domain/1/device/vbd/51712/virtual-device", "'51728' must be 51712"},
            {"/local/domain/1/device/vbd/51712/backend-id", "permissions (n0,r1) differ from "
                                                            "the schema's (n1,r{bdom})"},
            {"/local/domain/0/backend/vbd/1/51712/colour", "unknown key under VBD_BE"},
        };
        struct schema_findings f = {0};
        ck_assert_int_eq(schema_validate(s, nodes, out, &f), 0);
        check_findings(&f, want, sizeof(want) / sizeof(want[0]));
        schema_findings_free(&f);
        free(nodes);
        free(text);
        schema_free(s);
}
END_TEST

static Suite *schema_suite(void)
{
        Suite *s = suite_create("schema");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, parse_good);
        tcase_add_loop_test(tc, parse_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
        tcase_add_test(tc, parse_ls_lines);
        suite_add_tcase(s, tc);
        tc = tcase_create("match");
        tcase_add_loop_test(tc, pattern_match, 0, sizeof(match_cases) / sizeof(match_cases[0]));
        tcase_add_test(tc, pattern_subst_unbound);
        suite_add_tcase(s, tc);
        tc = tcase_create("validate");
        tcase_add_test(tc, validate_wrong_tree);
        tcase_add_test(tc, validate_required);
        tcase_add_test(tc, value_types);
        suite_add_tcase(s, tc);
        tc = tcase_create("reference");
        tcase_add_test(tc, reference_phase_a_valid);
        tcase_add_test(tc, reference_phase_b_all_keys_valid);
        tcase_add_test(tc, error_nodes_validate);
        tcase_add_test(tc, reference_phase_a_mutated);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(schema_suite)
