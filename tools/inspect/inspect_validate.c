/* --validate: the live xenstore tree of our domain's backends (backend/vif,
 * backend/vbd, the error nodes) and the frontend directories they name,
 * checked against the xenstore schema with the validator
 * pvback-xs-validate uses (common/schema.h). Needs xenstore, not pvbackd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "inspect.h"
#include "pv_escape.h"
#include "schema.h"
#include "xh.h"

#define MAX_PATHS 1024

struct paths {
        char *v[MAX_PATHS];
        size_t n;
};

static void paths_add(struct paths *p, const char *path)
{
        for (size_t i = 0; i < p->n; i++)
                if (!strcmp(p->v[i], path))
                        return;
        if (p->n < MAX_PATHS && (p->v[p->n] = strdup(path)))
                p->n++;
}

/* Every frontend directory a backend device of kind points at: the
 * frontends' keys are half of what the schema describes. Unreadable ones
 * are skipped by the reader. */
static void add_frontends(struct xs_handle *xs, const char *kind_dir, struct paths *p)
{
        unsigned ndom = 0;
        char **doms = xs_directory(xs, XBT_NULL, kind_dir, &ndom);
        for (unsigned i = 0; doms && i < ndom; i++) {
                char ddir[256];
                unsigned ndev = 0;
                snprintf(ddir, sizeof(ddir), "%s/%s", kind_dir, doms[i]);
                char **devs = xs_directory(xs, XBT_NULL, ddir, &ndev);
                for (unsigned j = 0; devs && j < ndev; j++) {
                        char key[320];
                        unsigned len;
                        snprintf(key, sizeof(key), "%s/%s/frontend", ddir, devs[j]);
                        char *fe = xs_read(xs, XBT_NULL, key, &len);
                        if (fe && !strncmp(fe, "/local/domain/", 14))
                                paths_add(p, fe);
                        free(fe);
                }
                free(devs);
        }
        free(doms);
}

static int collect_paths(struct xs_handle *xs, uint16_t self, struct paths *p)
{
        static const char *const kinds[] = {"vif", "vbd"};
        char dir[128];
        for (unsigned i = 0; i < 2; i++) {
                snprintf(dir, sizeof(dir), "/local/domain/%u/backend/%s", self, kinds[i]);
                paths_add(p, dir);
                add_frontends(xs, dir, p);
                snprintf(dir, sizeof(dir), "/local/domain/%u/error/backend/%s", self, kinds[i]);
                paths_add(p, dir);
        }
        return 0;
}

static void print_findings(FILE *out, bool json, uint16_t self, size_t nodes,
                           const struct schema_findings *f)
{
        if (!json) {
                for (size_t i = 0; i < f->n; i++) {
                        /* A finding quotes the value a guest wrote. */
                        pv_escape_fputs(f->v[i].path, out);
                        fputs(": ", out);
                        pv_escape_fputs(f->v[i].msg, out);
                        fputc('\n', out);
                }
                fprintf(out, "domain %u's backend tree: %zu nodes checked, %zu findings\n", self,
                        nodes, f->n);
                return;
        }
        struct json_object *obj = json_object_new_object(), *arr = json_object_new_array();
        for (size_t i = 0; i < f->n; i++) {
                struct json_object *e = json_object_new_object();
                json_object_object_add(e, "path", json_object_new_string(f->v[i].path));
                json_object_object_add(e, "message", json_object_new_string(f->v[i].msg));
                json_object_array_add(arr, e);
        }
        json_object_object_add(obj, "domid", json_object_new_int(self));
        json_object_object_add(obj, "nodes", json_object_new_uint64(nodes));
        json_object_object_add(obj, "findings", arr);
        fprintf(out, "%s\n",
                json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
                                                        JSON_C_TO_STRING_SPACED |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(obj);
}

int inspect_validate(const char *schema_dir, bool json, FILE *out)
{
        struct schema *s = NULL;
        struct xs_handle *xs = NULL;
        struct schema_node *nodes = NULL;
        struct schema_findings f = {0};
        struct paths p = {.n = 0};
        size_t n = 0;
        uint16_t self;
        char err[512] = "";
        int rc, status = INSPECT_USAGE;

        if (schema_new(&s) < 0 || schema_load_dir(s, schema_dir, err, sizeof(err)) < 0) {
                fprintf(stderr, "pvback-inspect: schema: %s\n", err[0] ? err : "out of memory");
                goto out;
        }
        if (!(xs = xs_open(0))) {
                fprintf(stderr, "pvback-inspect: cannot reach xenstore: %s\n", strerror(errno));
                goto out;
        }
        if ((rc = xh_own_domid(xs, &self)) < 0) {
                fprintf(stderr, "pvback-inspect: cannot read our domain id: %s\n", strerror(-rc));
                goto out;
        }
        collect_paths(xs, self, &p);
        /* A subtree we may not read is a finding; the rest is checked. */
        if ((rc = schema_read_xs_partial(xs, (const char *const *)p.v, p.n, &nodes, &n, &f)) < 0) {
                fprintf(stderr, "pvback-inspect: reading xenstore: %s\n", strerror(-rc));
                goto out;
        }
        if ((rc = schema_validate(s, nodes, n, &f)) < 0) {
                fprintf(stderr, "pvback-inspect: validating: %s\n", strerror(-rc));
                goto out;
        }
        print_findings(out, json, self, n, &f);
        status = f.n ? INSPECT_DAEMON_ERROR : INSPECT_OK;
out:
        schema_findings_free(&f);
        schema_nodes_free(nodes, n);
        for (size_t i = 0; i < p.n; i++)
                free(p.v[i]);
        if (xs)
                xs_close(xs);
        schema_free(s);
        return status;
}
