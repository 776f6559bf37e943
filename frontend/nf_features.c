/* Feature reading and the negotiation rule (see nf_features.h). The rule is
 * Linux netfront's: TSO needs SG and checksum offload, IPv4 checksum offload
 * needs no backend key, everything else needs the backend's feature-* key. */
#include "nf_features.h"

#include <errno.h>
#include <string.h>

#include "xb.h"

void nf_config_default(struct nf_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        cfg->split_evtchn = true;
        cfg->sg = true;
        cfg->gso_tcpv4 = true;
        cfg->gso_tcpv6 = true;
        cfg->csum = true;
        cfg->ipv6_csum = true;
        cfg->ctrl_ring = true;
        cfg->mcast_ctrl = true;
        cfg->rx_notify = true;
        cfg->xdp = true;
        cfg->timeout_ms = 30000;
        cfg->dyncap = true;
}

/* xenbus_read_unsigned(): the default for anything absent or unparsable. */
static uint32_t read_unsigned(struct xs_handle *xs, const char *dir, const char *key, uint32_t def)
{
        uint64_t v;
        if (xb_read_uint(xs, XBT_NULL, dir, key, UINT32_MAX, &v) < 0)
                return def;
        return (uint32_t)v;
}

int nf_backend_features_read(struct xs_handle *xs, const char *be_dir,
                             struct nf_backend_features *bf)
{
        memset(bf, 0, sizeof(*bf));
        bf->has_max_queues = xb_exists(xs, XBT_NULL, be_dir, "multi-queue-max-queues");
        bf->max_queues = read_unsigned(xs, be_dir, "multi-queue-max-queues", 1);
        bf->split_evtchn = read_unsigned(xs, be_dir, "feature-split-event-channels", 0);
        bf->sg = read_unsigned(xs, be_dir, "feature-sg", 0);
        bf->gso_tcpv4 = read_unsigned(xs, be_dir, "feature-gso-tcpv4", 0);
        bf->gso_tcpv6 = read_unsigned(xs, be_dir, "feature-gso-tcpv6", 0);
        bf->ipv6_csum = read_unsigned(xs, be_dir, "feature-ipv6-csum-offload", 0);
        bf->rx_copy = read_unsigned(xs, be_dir, "feature-rx-copy", 0);
        bf->ctrl_ring = read_unsigned(xs, be_dir, "feature-ctrl-ring", 0);
        bf->mcast_ctrl = read_unsigned(xs, be_dir, "feature-multicast-control", 0);
        bf->dyn_mcast_ctrl = read_unsigned(xs, be_dir, "feature-dynamic-multicast-control", 0);
        bf->xdp_headroom = read_unsigned(xs, be_dir, "feature-xdp-headroom", 0);
        return 0;
}

static uint32_t pick_queues(const struct nf_config *cfg, const struct nf_backend_features *bf,
                            uint32_t ncpus)
{
        uint32_t want = cfg->queues;
        if (want == 0) /* xennet_max_queues defaults to min(CPUs, 8) */
                want = ncpus < NF_MAX_QUEUES ? ncpus : NF_MAX_QUEUES;
        if (want == 0)
                want = 1;
        uint32_t max = bf->max_queues ? bf->max_queues : 1;
        return want < max ? want : max;
}

int nf_negotiate(const struct nf_config *cfg, const struct nf_backend_features *bf,
                 uint32_t ncpus, struct nf_negotiated *neg, char *err, size_t errlen)
{
        memset(neg, 0, sizeof(*neg));
        if (!bf->rx_copy) {
                snprintf(err, errlen, "backend does not support copying receive path "
                                      "(feature-rx-copy is not 1)");
                return -ENODEV;
        }
        if (cfg->queues > NF_MAX_QUEUES) {
                snprintf(err, errlen, "%u queues asked, at most %u supported", cfg->queues,
                         NF_MAX_QUEUES);
                return -EINVAL;
        }
        if (cfg->xdp_headroom > NF_MAX_XDP_HEADROOM) {
                snprintf(err, errlen, "xdp-headroom %u above %u", cfg->xdp_headroom,
                         NF_MAX_XDP_HEADROOM);
                return -EINVAL;
        }
        neg->queues = pick_queues(cfg, bf, ncpus);
        neg->write_num_queues = bf->has_max_queues;
        neg->split_evtchn = cfg->split_evtchn && bf->split_evtchn;

        /* What we can receive is ours to say (Linux writes all of these). */
        neg->rx_sg = cfg->sg;
        neg->rx_gso_tcpv4 = cfg->gso_tcpv4 && cfg->sg;
        neg->rx_gso_tcpv6 = cfg->gso_tcpv6 && cfg->sg;
        neg->rx_csum = cfg->csum;
        neg->rx_ipv6_csum = cfg->ipv6_csum;

        /* What we send follows the backend (xennet_fix_features), and the
         * netdev core's rules: TSO needs SG and the matching csum offload. */
        neg->tx_sg = cfg->sg && bf->sg;
        neg->tx_csum = cfg->csum;
        neg->tx_ipv6_csum = cfg->ipv6_csum && bf->ipv6_csum;
        neg->tx_gso_tcpv4 = cfg->gso_tcpv4 && bf->gso_tcpv4 && neg->tx_sg && neg->tx_csum;
        neg->tx_gso_tcpv6 = cfg->gso_tcpv6 && bf->gso_tcpv6 && neg->tx_sg && neg->tx_ipv6_csum;

        neg->ctrl_ring = cfg->ctrl_ring && bf->ctrl_ring;
        neg->mcast_ctrl = cfg->mcast_ctrl && bf->mcast_ctrl;
        neg->rx_notify = cfg->rx_notify;
        neg->xdp = cfg->xdp && bf->xdp_headroom;
        neg->xdp_headroom = neg->xdp ? cfg->xdp_headroom : 0;
        return 0;
}

static const char *why_off(bool asked, bool backend_has)
{
        if (!asked)
                return " (disabled)";
        if (!backend_has)
                return " (backend lacks it)";
        return " (needs sg and checksum offload)";
}

static void print_onoff(FILE *out, const char *name, bool on, bool asked, bool backend_has)
{
        fprintf(out, "%s: %s%s\n", name, on ? "on" : "off", on ? "" : why_off(asked, backend_has));
}

void nf_negotiated_print(FILE *out, const struct nf_config *cfg,
                         const struct nf_backend_features *bf, const struct nf_negotiated *neg,
                         bool split_in_use)
{
        fprintf(out, "queues: %u (backend max %u)\n", neg->queues, bf->max_queues);
        fprintf(out, "event-channels: %s%s\n", split_in_use ? "split" : "single",
                split_in_use ? ""
                : !cfg->split_evtchn ? " (split disabled)"
                : !bf->split_evtchn ? " (backend lacks split)"
                                     : " (split setup failed)");
        print_onoff(out, "sg", neg->tx_sg, cfg->sg, bf->sg);
        print_onoff(out, "gso-tcpv4", neg->tx_gso_tcpv4, cfg->gso_tcpv4, bf->gso_tcpv4);
        print_onoff(out, "gso-tcpv6", neg->tx_gso_tcpv6, cfg->gso_tcpv6, bf->gso_tcpv6);
        print_onoff(out, "csum-offload", neg->tx_csum, cfg->csum, true);
        print_onoff(out, "ipv6-csum-offload", neg->tx_ipv6_csum, cfg->ipv6_csum, bf->ipv6_csum);
        if (neg->ctrl_ring && cfg->hash_set)
                fprintf(out, "ctrl-ring: on (toeplitz, flags 0x%x, key %u B, mapping %u)\n",
                        cfg->hash.flags, cfg->hash.key_len, cfg->hash.mapping_size);
        else
                print_onoff(out, "ctrl-ring", neg->ctrl_ring, cfg->ctrl_ring, bf->ctrl_ring);
        print_onoff(out, "multicast-control", neg->mcast_ctrl, cfg->mcast_ctrl, bf->mcast_ctrl);
        print_onoff(out, "rx-notify", neg->rx_notify, cfg->rx_notify, true);
        if (neg->xdp)
                fprintf(out, "xdp-headroom: %u\n", neg->xdp_headroom);
        else
                print_onoff(out, "xdp-headroom", false, cfg->xdp, bf->xdp_headroom);
        fprintf(out, "rx-copy: on\n");
}
