/* pvback-xs-validate: checks a live xenstore subtree (or a saved
 * `xenstore-ls -fp` dump) against the xenstore schema. A thin front of
 * common/schema.h: walking the store is all it adds. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "schema.h"

#ifndef PVBACK_SCHEMA_DIR
#define PVBACK_SCHEMA_DIR "/usr/local/share/pvback/xenstore-schema"
#endif

static const char usage_text[] =
    "Usage: pvback-xs-validate [--schema-dir DIR] [--input FILE] [PATH...]\n"
    "\n"
    "Checks every node below each PATH (default /) against the xenstore schema and\n"
    "prints one line per finding: unknown keys under a known device directory,\n"
    "values of the wrong type or outside their range or list, permissions other than\n"
    "the schema's, and required keys that are missing.\n"
    "\n"
    "The store is the one libxenstore reaches: $XENSTORED_PATH if set (a simulated\n"
    "host: eval \"$(pvback-sim env --domid 0)\"), else the local xenstored. Run it as\n"
    "a domain that may read the paths (dom0).\n"
    "\n"
    "Options:\n"
    "  --schema-dir DIR  directory of *.schema files (default $PVBACK_SCHEMA_DIR, else\n"
    "                    " PVBACK_SCHEMA_DIR ")\n"
    "  --input FILE      validate a saved 'xenstore-ls -fp' listing instead of the live\n"
    "                    store ('-' for standard input); PATH then filters by prefix\n"
    "  -q, --quiet       print findings only, no summary line\n"
    "  -h, --help        this text\n"
    "\n"
    "Exit status: 0 valid, 1 findings, 2 usage or I/O error.\n"
    "\n"
    "Example:\n"
    "  pvback-xs-validate /local/domain/0/backend/vif /local/domain/1/device\n";

struct nodes {
        struct schema_node *v;
        size_t n, cap;
};

static int nodes_add(struct nodes *ns, const struct schema_node *node)
{
        if (ns->n == ns->cap) {
                size_t ncap = ns->cap ? ns->cap * 2 : 256;
                struct schema_node *nv = realloc(ns->v, ncap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                ns->v = nv;
                ns->cap = ncap;
        }
        ns->v[ns->n++] = *node;
        return 0;
}

static int read_live(char **paths, int npaths, struct nodes *ns, struct schema_findings *f)
{
        struct xs_handle *xs = xs_open(0);
        if (!xs) {
                fprintf(stderr, "pvback-xs-validate: cannot connect to xenstore (%s): %s\n",
                        getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : "default",
                        strerror(errno));
                return -errno;
        }
        int rc = schema_read_xs_partial(xs, (const char *const *)paths, (size_t)npaths, &ns->v,
                                        &ns->n, f);
        if (rc < 0)
                fprintf(stderr, "pvback-xs-validate: reading xenstore: %s\n", strerror(-rc));
        xs_close(xs);
        return rc;
}

static char *slurp(const char *file)
{
        FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
        if (!f)
                return NULL;
        size_t cap = 65536, n = 0;
        char *buf = malloc(cap);
        while (buf) {
                n += fread(buf + n, 1, cap - n - 1, f);
                if (n < cap - 1)
                        break;
                char *nb = realloc(buf, cap * 2);
                if (!nb)
                        free(buf);
                buf = nb;
                cap *= 2;
        }
        if (buf)
                buf[n] = '\0';
        if (f != stdin)
                fclose(f);
        return buf;
}

static bool under(const char *path, char **prefixes, int n)
{
        for (int i = 0; i < n; i++) {
                size_t l = strlen(prefixes[i]);
                if (strcmp(prefixes[i], "/") == 0 ||
                    (strncmp(path, prefixes[i], l) == 0 && (path[l] == '\0' || path[l] == '/')))
                        return true;
        }
        return false;
}

/* The saved listing, filtered to the requested subtrees. */
static int read_input(const char *file, char **paths, int npaths, char **text, struct nodes *ns)
{
        struct schema_node *all;
        size_t n;
        unsigned bad = 0;
        *text = slurp(file);
        if (!*text) {
                fprintf(stderr, "pvback-xs-validate: %s: %s\n", file, strerror(errno));
                return -EIO;
        }
        int rc = schema_parse_ls(*text, &all, &n, &bad);
        if (rc < 0) {
                fprintf(stderr, "pvback-xs-validate: %s:%u: not a 'xenstore-ls -fp' line\n", file,
                        bad);
                return rc;
        }
        for (size_t i = 0; i < n && rc == 0; i++)
                if (under(all[i].path, paths, npaths))
                        rc = nodes_add(ns, &all[i]);
        free(all);
        return rc;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"schema-dir", required_argument, NULL, 's'},
                                             {"input", required_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *dir = getenv("PVBACK_SCHEMA_DIR");
        const char *input = NULL;
        bool quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        dir = optarg;
                        break;
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return 0;
                default:
                        fprintf(stderr, "Try 'pvback-xs-validate --help'.\n");
                        return 2;
                }
        }
        if (!dir || !*dir)
                dir = PVBACK_SCHEMA_DIR;
        char *root[] = {"/"};
        char **paths = optind < argc ? argv + optind : root;
        int npaths = optind < argc ? argc - optind : 1;
        for (int i = 0; i < npaths; i++)
                if (paths[i][0] != '/') {
                        fprintf(stderr, "pvback-xs-validate: '%s' is not an absolute path\n",
                                paths[i]);
                        return 2;
                }

        struct schema *s = NULL;
        char err[512];
        if (schema_new(&s) < 0 || schema_load_dir(s, dir, err, sizeof(err)) < 0) {
                fprintf(stderr, "pvback-xs-validate: %s\n", err);
                schema_free(s);
                return 2;
        }
        struct nodes ns = {0};
        char *text = NULL;
        struct schema_findings f = {0};
        int rc = input ? read_input(input, paths, npaths, &text, &ns)
                       : read_live(paths, npaths, &ns, &f);
        if (rc == 0)
                rc = schema_validate(s, ns.v, ns.n, &f);
        if (rc == 0) {
                for (size_t i = 0; i < f.n; i++)
                        printf("%s: %s\n", f.v[i].path, f.v[i].msg);
                if (!quiet)
                        printf("%zu nodes checked, %zu findings\n", ns.n, f.n);
        }
        int status = rc < 0 ? 2 : f.n ? 1 : 0;
        schema_findings_free(&f);
        if (input)
                free(ns.v);
        else
                schema_nodes_free(ns.v, ns.n);
        free(text);
        schema_free(s);
        return status;
}
