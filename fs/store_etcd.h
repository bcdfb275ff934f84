/* The etcd back end of the store (store=etcd://HOST:PORT[,...]/PREFIX).
 *
 * Design: the drivers and provisioning need real files (keys, certificates,
 * the machine folder), so an etcd mount keeps a local working copy in
 * Docker Machine's layout (a cache folder per mount) and etcd is the shared
 * truth. Each machine's folder lives under PREFIX/machines/NAME/FILE; every
 * change the core makes (a record written) goes to etcd in one transaction
 * (the changed files and the removed ones together), and a watch on PREFIX
 * writes what other daemons change into the working copy and reloads the
 * machine. The store's CA and client certificate live under PREFIX/certs/,
 * made once by the first mount. A command takes PREFIX/locks/NAME
 * (create-if-absent, on this daemon's lease): a second daemon gets EBUSY
 * naming the holder, and writes of a daemon not holding it while another
 * does are refused by the same transaction (fenced).
 *
 * Order in main: store_etcd_open, then lock the working copy, then
 * store_etcd_pull, store_open on the working copy, store_etcd_attach;
 * store_etcd_close before store_close. */
#ifndef MFS_STORE_ETCD_H
#define MFS_STORE_ETCD_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/etcd.h"
#include "fs/machine.h"

struct etcd_store;

bool store_etcd_spec(const char *store);
/* Parse spec, connect; the working copy is cache, else
 * $XDG_RUNTIME_DIR/machinefs/etcd/HASH (root: /var/cache/machinefs/etcd/HASH,
 * else ~/.cache/machinefs/etcd/HASH), HASH of spec and mountpoint; its path
 * goes to root. */
int store_etcd_open(const char *spec, const char *cache, const char *mountpoint,
		    struct etcd_store **out, char *root, size_t len, char *err);
/* TLS and user/password to etcd (fs/etcd.h), and the key of the store's
 * secrets (fs/seal.h), NULL: none. With a key, private keys, tokens and
 * secret options go to etcd sealed; the first mount with a key marks the
 * store (PREFIX/secrets-check), and later mounts must give the same key.
 * A mount without it shows the machines but refuses every change and
 * command (SEAL_LOCKED). Before store_etcd_pull. */
int store_etcd_secure(struct etcd_store *es, const struct etcd_security *sec,
		      const char *secrets_key_file, char *err);
/* Make the working copy what etcd holds (the CA made once if none). */
int store_etcd_pull(struct etcd_store *es, char *err);
/* Share s through etcd from now on: lease, watch. */
int store_etcd_attach(struct etcd_store *es, struct store *s, char *err);
void store_etcd_close(struct etcd_store *es);

/* machinefs --import SRC: the local store SRC (Docker Machine's layout:
 * machines/NAME/..., certs/) into etcd, one transaction a machine, the
 * files' modes kept (a ".modes" key a folder). Refused, nothing written,
 * when a machine (or another CA) is there already, unless force; a
 * machine running a command on a mount is never replaced. Logs, folders
 * and files over 512 KiB (disk images) stay local, said on stderr.
 * *count: machines imported. */
int store_etcd_import(struct etcd_store *es, const char *src, bool force, int *count,
		      char *err);
/* machinefs --export DST: etcd's machines and CA into the local store
 * DST (locked: not while a daemon mounts it), each folder replaced whole;
 * refused, nothing written, when DST has one already, unless force. */
int store_etcd_export(struct etcd_store *es, const char *dst, bool force, int *count,
		      char *err);

#endif
