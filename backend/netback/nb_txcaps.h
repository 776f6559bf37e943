/* The uplink's capabilities for guest TX, per vif, kept current on the
 * control thread: read at probe and at connect, and again whenever the
 * kernel reports a change of the vif's netdev (rtnetlink), so an operator's
 * `ethtool -K` reaches connected guests without a reconnect. The data path
 * only loads nb_vif.tx_caps; not for the per-packet decision (off_decide). */
#ifndef PVBACK_NB_TXCAPS_H
#define PVBACK_NB_TXCAPS_H

struct nb_vif;

/* Probe: first read, and the vif joins the class's rtnetlink listener
 * (opened on the control loop with the first vif). A listener that cannot
 * be opened is logged and leaves the reads at connect. */
void nb_txcaps_watch(struct nb_vif *vif);
/* Remove: the vif leaves; the last one closes the listener. */
void nb_txcaps_unwatch(struct nb_vif *vif);
/* Reads the netdev's features now and publishes them; logs a change. A
 * failed read (netdev gone) is logged and keeps the last value. */
void nb_txcaps_refresh(struct nb_vif *vif);

#endif
