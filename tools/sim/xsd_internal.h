/* Private state of the simulator's xenstored, shared by its files: the node
 * store (xsd_tree.c), transactions (xsd_txn.c), watches (xsd_watch.c), request
 * handlers (xsd_ops.c), wire I/O (xsd_conn.c) and domains (xsd_domain.c).
 * Nothing outside tools/sim/xsd_*.c and the xsd unit tests includes this. */
#ifndef PVBACK_SIM_XSD_INTERNAL_H
#define PVBACK_SIM_XSD_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore_lib.h>
#include <xen/io/xs_wire.h>

#include "xsd.h"

/* Quotas of C xenstored 4.17 (xenstored_core.c defaults), applied to
 * unprivileged domains only. */
#define XSD_QUOTA_NODES        1000 /* nodes owned per domain */
#define XSD_QUOTA_NODE_SIZE    2048 /* record size: header + perms + data + children */
#define XSD_QUOTA_WATCHES      128
#define XSD_QUOTA_TRANSACTIONS 10
#define XSD_QUOTA_PERMS        5    /* permission entries per node */
#define XSD_QUOTA_TRANS_NODES  1024 /* nodes accessed per transaction */
#define XSD_QUOTA_OUTSTANDING  20   /* replies queued before input is paused */
#define XSD_QUOTA_PATH_LEN     XENSTORE_REL_PATH_MAX
/* xenstored's record header (xs_tdb_record_hdr: u64 generation, 3 x u32),
 * counted against XSD_QUOTA_NODE_SIZE exactly as xenstored counts it. */
#define XSD_NODE_HDR_SIZE 24
/* Bytes queued to a client that does not read before it is disconnected. */
#define XSD_OUT_CAP (1024 * 1024)
/* DOMID_SELF, accepted by IS_DOMAIN_INTRODUCED. */
#define XSD_DOMID_SELF 0x7FF0u
/* Generation of a node that does not exist (xenstored's NO_GENERATION). */
#define XSD_NO_GENERATION UINT64_MAX

/* ---- string-keyed hash map (xsd_tree.c) ---- */
struct xsd_map_ent {
        char *key;
        void *val;
        struct xsd_map_ent *next;
};
struct xsd_map {
        struct xsd_map_ent **b;
        size_t nb, n;
};
int xsd_map_init(struct xsd_map *m);
void xsd_map_fini(struct xsd_map *m, void (*free_val)(void *));
void *xsd_map_get(const struct xsd_map *m, const char *key);
/* Replaces an existing value (returned in *old, may be NULL). */
int xsd_map_put(struct xsd_map *m, const char *key, void *val, void **old);
void *xsd_map_del(struct xsd_map *m, const char *key);

/* ---- nodes, paths, permissions (xsd_tree.c, pure) ---- */
struct xsd_perms {
        unsigned int num;
        struct xs_permissions *p; /* p[0]: owner + default */
};

struct xsd_node {
        char *name;
        uint64_t gen;
        struct xsd_perms perms;
        char *data;
        uint32_t datalen;
        char *children; /* NUL-separated base names, in creation order */
        uint32_t childlen;
};

struct xsd_node *xsd_node_new(const char *name);
struct xsd_node *xsd_node_dup(const struct xsd_node *n);
void xsd_node_free(struct xsd_node *n);
int xsd_node_set_data(struct xsd_node *n, const void *data, uint32_t len);
int xsd_node_set_perms(struct xsd_node *n, const struct xsd_perms *p);
int xsd_node_add_child(struct xsd_node *n, const char *base);
int xsd_node_del_child(struct xsd_node *n, const char *base);
/* Record size as xenstored accounts it against XSD_QUOTA_NODE_SIZE. */
size_t xsd_node_size(const struct xsd_node *n);

int xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src);
void xsd_perms_clear(struct xsd_perms *p);
/* What a caller may do on a node with these perms (XS_PERM_READ|WRITE|OWNER).
 * target < 0: the caller's domain has no target (SET_TARGET). */
unsigned int xsd_perm_for(const struct xsd_perms *p, uint16_t domid, bool priv, int target);
/* Parses `num` NUL-terminated "r5"/"w0"/"b1"/"n0" strings. 0 or -EINVAL. */
int xsd_perms_parse(const char *s, size_t len, unsigned int num, struct xsd_perms *out);
/* Formats perms as NUL-terminated strings; *outlen gets the bytes used. */
int xsd_perms_format(const struct xsd_perms *p, char *buf, size_t len, size_t *outlen);

/* xenstored's is_valid_nodename(): absolute, no trailing or double '/',
 * allowed characters, and at most XSD_QUOTA_PATH_LEN characters below
 * /local/domain/<N>/ (or in total elsewhere). */
bool xsd_path_valid(const char *path);
/* Relative paths resolve below /local/domain/<domid>; absolute and '@'
 * paths are copied. Returns malloc'd string or NULL. */
char *xsd_path_canonical(uint16_t domid, const char *path);
char *xsd_path_parent(const char *path);
const char *xsd_path_base(const char *path);
/* Is child equal to parent or below it ("/" is the parent of everything)? */
bool xsd_path_is_child(const char *child, const char *parent);
/* Counts NULs in a payload (xs_count_strings). */
unsigned int xsd_count_strings(const char *s, size_t len);

/* ---- state ---- */
struct xsd_out {
        struct xsd_out *next;
        size_t len, off;
        bool event;
        char buf[]; /* struct xsd_sockmsg + payload */
};

struct xsd_watch {
        struct xsd_watch *next;
        char *path; /* canonical */
        char *token;
        size_t prefix_len; /* stripped from event paths of relative watches */
};

struct xsd_acc; /* xsd_txn.c */

struct xsd_delta {
        uint16_t domid;
        int delta;
};

struct xsd_txn {
        struct xsd_txn *next;
        uint32_t id;
        struct xsd_map acc;           /* name -> struct xsd_acc */
        struct xsd_acc *first, *last; /* access order (watch order at commit) */
        unsigned int nacc;
        bool fail;
        struct xsd_delta *deltas; /* node-count changes, applied at commit */
        unsigned int ndeltas;
};

struct xsd_conn {
        struct xsd *x;
        struct xsd_conn *next;
        int fd; /* -1: in-process connection (unit tests) */
        uint16_t domid;
        bool dead;
        bool paused;      /* input stopped: too many replies outstanding */
        uint32_t ev_mask; /* what the event loop currently waits for */
        /* input */
        struct xsd_sockmsg in_hdr;
        size_t in_used;
        bool in_have_hdr;
        char in_buf[XENSTORE_PAYLOAD_MAX + 1];
        /* output */
        struct xsd_out *out_head, *out_tail;
        size_t out_bytes;
        unsigned int out_replies;
        /* state */
        struct xsd_watch *watches;
        struct xsd_txn *txns;
        unsigned int ntxns;
        uint32_t next_txid;
        struct xsd_txn *cur;           /* transaction of the request in progress */
        const struct xsd_sockmsg *req; /* request in progress (reply header) */
};

struct xsd_domain {
        struct xsd_domain *next;
        struct xsd *x;
        uint16_t domid;
        int listen_fd;
        char sock_path[PATH_MAX];
        int nbentry;
        int nbwatch;
        int target; /* -1: none */
};

struct xsd {
        struct ev_loop *loop; /* NULL: no sockets (unit tests) */
        char dir[PATH_MAX];
        struct xsd_map nodes; /* committed store: name -> struct xsd_node */
        uint64_t generation;
        struct xsd_conn *conns;
        struct xsd_domain *domains;
        struct xsd_perms special_intro, special_release;
};

/* xsd.c */
/* An xsd without sockets when loop is NULL (unit tests). */
int xsd_new(struct ev_loop *loop, const char *dir, struct xsd **out);

/* xsd_domain.c */
struct xsd_domain *xsd_domain_find(struct xsd *x, uint16_t domid);
bool xsd_conn_priv(const struct xsd_conn *c);
int xsd_conn_target(const struct xsd_conn *c);
/* What caller c may do on perms (c NULL: the store itself, all rights). */
unsigned int xsd_conn_perm(const struct xsd_conn *c, const struct xsd_perms *p);

/* xsd_txn.c: node access as xenstored's read_node/write_node/access_node.
 * Inside c->cur every access is recorded for conflict detection. */
int xsd_read_node(struct xsd *x, struct xsd_conn *c, const char *name, struct xsd_node **out);
int xsd_write_node(struct xsd *x, struct xsd_conn *c, struct xsd_node *n, bool no_quota);
/* exact: fire watches on exactly this path at commit (removed sub-node). */
int xsd_delete_node(struct xsd *x, struct xsd_conn *c, const struct xsd_node *n, bool exact);
/* Node-count accounting for the owner domid (deferred inside transactions). */
void xsd_entry_add(struct xsd *x, struct xsd_conn *c, uint16_t domid, int delta);
/* Nodes owned by c's domain, including its transaction's pending changes. */
int xsd_entry_count(struct xsd *x, struct xsd_conn *c);
int xsd_txn_start(struct xsd_conn *c, uint32_t *id);
struct xsd_txn *xsd_txn_find(struct xsd_conn *c, uint32_t id);
/* Ends c->cur: commit (0, -EAGAIN, -ENOSPC, -ENOMEM) or abort. */
int xsd_txn_end(struct xsd *x, struct xsd_conn *c, bool commit);
void xsd_txn_free_all(struct xsd_conn *c);

/* xsd_watch.c */
int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token);
int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token);
void xsd_watch_free_all(struct xsd_conn *c);
/* xenstored's fire_watches(): deferred while origin is in a transaction. */
void xsd_fire_watches(struct xsd *x, struct xsd_conn *origin, const char *name,
                      const struct xsd_node *node, bool exact, const struct xsd_perms *old);
void xsd_fire_special(struct xsd *x, const char *name);

/* xsd_ops.c */
/* Handles one complete request; queues the reply (and any events). */
void xsd_process(struct xsd *x, struct xsd_conn *c, const struct xsd_sockmsg *hdr,
                 const char *payload);
/* Removes a subtree as xenstored's rm_node (watches fire per node). */
int xsd_rm_node(struct xsd *x, struct xsd_conn *c, const char *name);
/* Privileged writes used to build domain trees. */
int xsd_store_write(struct xsd *x, const char *path, const char *val);
int xsd_store_mknod(struct xsd *x, const char *path, const struct xsd_perms *p);

/* xsd_conn.c */
struct xsd_conn *xsd_conn_new(struct xsd *x, int fd, uint16_t domid);
/* Marks dead; freed by xsd_conn_reap(). */
void xsd_conn_kill(struct xsd_conn *c);
void xsd_conn_reap(struct xsd *x);
void xsd_conn_free(struct xsd_conn *c);
int xsd_conn_reply(struct xsd_conn *c, uint32_t type, const void *data, size_t len);
void xsd_conn_error(struct xsd_conn *c, int err);
void xsd_conn_event(struct xsd_conn *c, const char *path, const char *token);
void xsd_conn_flush_all(struct xsd *x);
int xsd_listen(struct xsd *x, struct xsd_domain *d);
void xsd_unlisten(struct xsd *x, struct xsd_domain *d);

#endif
