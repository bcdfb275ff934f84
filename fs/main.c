/* machinefs [STORE] MOUNTPOINT [-f] [-d] [-o store=DIR,refresh=SECS,...]
 *
 * The STORE argument is what mount(8) passes through fuse3's mount helper
 * (`mount -t fuse.machinefs STORE MOUNTPOINT`, an fstab line); `-o store=`
 * says the same and wins. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#include "fs/fuse_tree.h"
#include "fs/machine.h"
#include "fs/reporting.h"
#include "fs/store_etcd.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "lib/fence.h"

#ifndef MACHINEFS_VERSION
#define MACHINEFS_VERSION "0.0.0"
#endif

struct options {
	char *store;
	char *cache;
	char *nonopt[2];    /* [STORE] MOUNTPOINT, as given */
	int n_nonopt;
	int refresh;
	int show_help;
	int show_version;
	int contexts;
	char *bugsnag_key;
	char *bugsnag_endpoint;
	char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user, *etcd_password_file;
	char *etcd_password; /* refused: argv is public */
	char *etcd_secrets_key;
	char *import;       /* --import DIR: a local store into etcd */
	char *export;       /* --export DIR: etcd's machines into a local store */
	int force;
};

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
static const struct fuse_opt option_spec[] = {
	OPT("store=%s", store),
	OPT("cache=%s", cache),
	OPT("refresh=%d", refresh),
	OPT("contexts", contexts),
	OPT("bugsnag-api-token=%s", bugsnag_key),
	OPT("bugsnag-endpoint=%s", bugsnag_endpoint),
	OPT("etcd-cacert=%s", etcd_cacert),
	OPT("etcd-cert=%s", etcd_cert),
	OPT("etcd-key=%s", etcd_key),
	OPT("etcd-user=%s", etcd_user),
	OPT("etcd-password-file=%s", etcd_password_file),
	OPT("etcd-password=%s", etcd_password),
	OPT("etcd-secrets-key=%s", etcd_secrets_key),
	OPT("--import %s", import),
	OPT("--import=%s", import),
	OPT("--export %s", export),
	OPT("--export=%s", export),
	OPT("--force", force),
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

/* Keep the positional arguments aside: with two, the first is the store. */
static int take_nonopt(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (o->n_nonopt == 2) {
		fprintf(stderr, "machinefs: too many arguments: '%s'\n", arg);
		return -1;
	}
	o->nonopt[o->n_nonopt] = strdup(arg);
	if (!o->nonopt[o->n_nonopt])
		return -1;
	o->n_nonopt++;
	return 0;
}

/* Laid out as sshfs and bindfs print theirs. */
static void usage(const char *prog)
{
	printf("usage: %s [STORE] MOUNTPOINT [options]\n\n"
	       "    STORE                  the machine store (default $MACHINE_STORAGE_PATH,\n"
	       "                           else ~/.docker/machine)\n\n"
	       "machinefs options:\n"
	       "    -o store=DIR           the machine store (same as STORE)\n"
	       "    -o store=etcd://HOST:PORT[,HOST:PORT...]/PREFIX\n"
	       "                           the store in etcd, shared by every mount of it\n"
	       "    -o cache=DIR           an etcd store's local working copy (default\n"
	       "                           $XDG_RUNTIME_DIR/machinefs/etcd/HASH)\n"
	       "    -o etcd-cacert=FILE    https to etcd, its certificate verified against\n"
	       "                           the CA in FILE (PEM)\n"
	       "    -o etcd-cert=FILE,etcd-key=FILE\n"
	       "                           https to etcd with this client certificate and key\n"
	       "    -o etcd-user=NAME      authenticate to etcd as NAME; the password is the\n"
	       "                           first line of -o etcd-password-file=FILE, else\n"
	       "                           $MACHINEFS_ETCD_PASSWORD (never on the command line)\n"
	       "    -o etcd-secrets-key=FILE  encrypt the store's secrets in etcd (AES-256-GCM)\n"
	       "                           with the 32-byte key in FILE (mode 0600; raw, hex\n"
	       "                           or base64; default $MACHINEFS_ETCD_SECRETS_KEY);\n"
	       "                           every mount of the store needs it to use machines\n"
	       "    -o refresh=SECS        seconds between background state checks (10)\n"
	       "    -o contexts            keep a Docker context per machine (off)\n"
	       "    -o bugsnag-api-token=KEY  send crash reports of failed creates and\n"
	       "                           upgrades (default $MACHINE_BUGSNAG_API_TOKEN;\n"
	       "                           none: reports stay in STORE/reports)\n"
	       "    -o bugsnag-endpoint=URL   where they go (default $MACHINE_BUGSNAG_ENDPOINT,\n"
	       "                           else https://notify.bugsnag.com/)\n\n"
	       "copying a store to or from etcd (no mount):\n"
	       "    %s --import DIR [--force] -o store=etcd://HOST:PORT/PREFIX\n"
	       "                           the local store DIR's machines and CA into etcd\n"
	       "    %s --export DIR [--force] -o store=etcd://HOST:PORT/PREFIX\n"
	       "                           etcd's machines and CA into the local store DIR\n"
	       "    --force                replace machines that are there already\n\n"
	       "FUSE options:\n",
	       prog, prog, prog);
}

/* Before the store opens: the daemon never touches its own mount (issue
 * 15): it works from "/", its children get an environment without paths
 * in the mount, a store inside the mount is refused; and the store is
 * locked against a second daemon. root is made absolute first. */
static int fence_mount(const struct fuse_args *args, char *root, size_t len, char *err)
{
	if (root[0] != '/') {
		char cwd[PATH_MAX], abs[PATH_MAX * 2];
		if (!getcwd(cwd, sizeof(cwd)))
			return error_errno(err, errno, "cannot resolve the store '%s'", root);
		snprintf(abs, sizeof(abs), "%s/%s", cwd, root);
		if (strlen(abs) >= len)
			return error_set(err, ENAMETOOLONG, "store path too long: '%s'", abs);
		snprintf(root, len, "%s", abs);
	}
	char *mnt = fuse_tree_mountpoint(args);
	int rc = 0;
	if (mnt) {
		rc = fence_set(mnt, err);
		if (!rc && fence_check(root, NULL))
			rc = error_set(err, EINVAL, "the store '%s' is inside the mount point '%s': choose a store outside it",
				       root, mnt);
	}
	if (!rc && chdir("/") < 0)
		rc = error_errno(err, errno, "cannot change to '/'");
	/* One daemon a store: it holds the lock until it exits. */
	if (!rc)
		rc = store_lock(root, mnt ? mnt : "", err);
	free(mnt);
	return rc;
}

static int etcd_security(const struct options *o, struct etcd_store *es, char *err);

/* machinefs --import/--export DIR with store (an etcd:// spec): copy,
 * print what was copied, no mount. */
static int transfer(const struct options *o, const char *store)
{
	const char *dir = o->import ? o->import : o->export;
	if (o->import && o->export) {
		fprintf(stderr, "machinefs: --import and --export: one at a time\n");
		return 1;
	}
	if (!store || !store_etcd_spec(store)) {
		fprintf(stderr, "machinefs: --%s needs an etcd store: -o store=etcd://HOST:PORT/PREFIX\n",
			o->import ? "import" : "export");
		return 1;
	}
	char err[ERR_MAX], root[PATH_MAX];
	struct etcd_store *es = NULL;
	int n = 0, rc = store_etcd_open(store, "/nonexistent", "", &es, root, sizeof(root), err);
	if (!rc)
		rc = etcd_security(o, es, err);
	if (!rc)
		rc = o->import ? store_etcd_import(es, dir, o->force, &n, err)
			       : store_etcd_export(es, dir, o->force, &n, err);
	store_etcd_close(es);
	if (rc) {
		fprintf(stderr, "machinefs: %s\n", err);
		return 1;
	}
	printf("%s %d machine%s %s '%s'\n", o->import ? "imported" : "exported", n, n == 1 ? "" : "s",
	       o->import ? "from" : "into", dir);
	return 0;
}

/* Whether s starts a "HOST:PORT" (then ',' '/' or the end). */
static bool endpoint_at(const char *s)
{
	size_t h = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
	if (!h || s[h] != ':')
		return false;
	size_t p = strspn(s + h + 1, "0123456789");
	char end = s[h + 1 + p];
	return p && (end == ',' || end == '/' || !end);
}

/* "-o store=etcd://H:P,H:P/X": the commas between endpoints are the
 * store's, not option separators: escaped for fuse_opt ("\,"). Returns a
 * new string, or NULL when there is nothing to escape. */
static char *escape_etcd_commas(const char *opt)
{
	const char *at = strstr(opt, "store=etcd://");
	if (!at)
		return NULL;
	size_t n = strlen(opt);
	char *out = malloc(2 * n + 1), *o = out;
	if (!out)
		abort();
	const char *p = opt, *hosts = at + strlen("store=etcd://");
	bool in_hosts = false;
	for (; *p; p++) {
		if (p == hosts)
			in_hosts = true;
		if (in_hosts && (*p == '/'))
			in_hosts = false;
		if (in_hosts && *p == ',' && endpoint_at(p + 1))
			*o++ = '\\';
		else if (in_hosts && *p == ',')
			in_hosts = false;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* The etcd-* options onto es: the password from its file (first line)
 * or the environment, the secrets key file. */
static int etcd_security(const struct options *o, struct etcd_store *es, char *err)
{
	struct strbuf pw = STRBUF_INIT;
	const char *env = getenv("MACHINEFS_ETCD_PASSWORD");
	int rc = 0;
	if (o->etcd_password_file) {
		rc = read_file(o->etcd_password_file, &pw, err);
		if (rc)
			error_errno(err, -rc, "cannot read the etcd password file '%s'", o->etcd_password_file);
		size_t n = 0;
		while (n < pw.len && pw.buf[n] != '\n' && pw.buf[n] != '\r')
			n++;
		if (pw.len)
			pw.buf[n] = '\0';
	} else if (env) {
		strbuf_addstr(&pw, env);
	}
	if (!rc && !o->etcd_user && (o->etcd_password_file))
		rc = error_set(err, EINVAL, "etcd-password-file without etcd-user");
	const char *keyfile = o->etcd_secrets_key ? o->etcd_secrets_key : getenv("MACHINEFS_ETCD_SECRETS_KEY");
	struct etcd_security sec = {
		.cacert = o->etcd_cacert, .cert = o->etcd_cert, .key = o->etcd_key,
		.user = o->etcd_user, .password = o->etcd_user ? strbuf_str(&pw) : NULL,
	};
	if (!rc)
		rc = store_etcd_secure(es, &sec, keyfile, err);
	if (pw.len)
		memset(pw.buf, 0, pw.len);
	strbuf_release(&pw);
	return rc;
}

int main(int argc, char *argv[])
{
	/* Copies of argv's "-o" values with an etcd store's commas escaped. */
	char **av = calloc((size_t)argc + 1, sizeof(*av));
	if (!av)
		abort();
	for (int i = 0; i < argc; i++) {
		bool opt = (!strncmp(argv[i], "-o", 2) && argv[i][2]) ||
			   (i > 0 && !strcmp(argv[i - 1], "-o"));
		char *esc = opt ? escape_etcd_commas(argv[i]) : NULL;
		av[i] = esc ? esc : argv[i];
	}
	struct fuse_args args = FUSE_ARGS_INIT(argc, av);
	struct options o = { .refresh = 10 };
	struct etcd_store *es = NULL; /* store=etcd://... */
	int rc = 0;
	if (fuse_opt_parse(&args, &o, option_spec, take_nonopt) == -1) {
		rc = 1;
		goto out;
	}
	if (o.show_version) {
		printf("machinefs version %s\n", MACHINEFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fflush(stdout);
		fuse_lowlevel_version();
		goto out;
	}
	if (o.show_help) {
		usage(argv[0]);
		fuse_tree_help(&args);
		goto out;
	}
	if (o.n_nonopt == 2 && !o.store)
		o.store = strdup(o.nonopt[0]);
	if (o.n_nonopt) {
		/* Absolute: the daemon works from "/" (fence_mount) before
		 * libfuse mounts it, so "mnt" would be "/mnt". */
		const char *mp = o.nonopt[o.n_nonopt - 1];
		char *abs = mp[0] != '/' ? realpath(mp, NULL) : NULL;
		fuse_opt_add_arg(&args, abs ? abs : mp);
		free(abs);
	}
	char root[4096];
	if (o.store)
		snprintf(root, sizeof(root), "%s", o.store);
	else if (getenv("MACHINE_STORAGE_PATH") && *getenv("MACHINE_STORAGE_PATH"))
		snprintf(root, sizeof(root), "%s", getenv("MACHINE_STORAGE_PATH"));
	else
		snprintf(root, sizeof(root), "%s/.docker/machine",
			 getenv("HOME") ? getenv("HOME") : "/root");

	char err[ERR_MAX];
	if (o.etcd_password) {
		fprintf(stderr, "machinefs: the etcd password is not taken on the command line (every user sees it): "
				"use -o etcd-password-file=FILE or $MACHINEFS_ETCD_PASSWORD\n");
		rc = 1;
		goto out;
	}
	if (o.import || o.export) {
		/* The store may be the one argument too. */
		rc = transfer(&o, o.store ? o.store : o.n_nonopt == 1 ? o.nonopt[0] : NULL);
		goto out;
	}
	if (!store_etcd_spec(root) && (o.etcd_cacert || o.etcd_cert || o.etcd_key || o.etcd_user ||
				       o.etcd_password_file || o.etcd_secrets_key)) {
		fprintf(stderr, "machinefs: the etcd-* options are for a store in etcd (store=etcd://...)\n");
		rc = 1;
		goto out;
	}
	if (store_etcd_spec(root)) {
		char *mnt = fuse_tree_mountpoint(&args);
		char spec[sizeof(root)];
		snprintf(spec, sizeof(spec), "%s", root);
		int erc = store_etcd_open(spec, o.cache, mnt ? mnt : "", &es, root, sizeof(root), err);
		free(mnt);
		if (!erc)
			erc = etcd_security(&o, es, err);
		if (erc) {
			fprintf(stderr, "machinefs: %s\n", err);
			rc = 1;
			goto out;
		}
	}
	if (fence_mount(&args, root, sizeof(root), err) || (es && store_etcd_pull(es, err))) {
		fprintf(stderr, "machinefs: %s\n", err);
		rc = 1;
		goto out;
	}
	struct store *s;
	if (store_open(root, &s, err)) {
		fprintf(stderr, "machinefs: %s\n", err);
		rc = 1;
		goto out;
	}
	if (es && store_etcd_attach(es, s, err)) {
		fprintf(stderr, "machinefs: %s\n", err);
		store_close(s);
		rc = 1;
		goto out;
	}
	const char *key = o.bugsnag_key ? o.bugsnag_key : getenv("MACHINE_BUGSNAG_API_TOKEN");
	const char *endpoint = o.bugsnag_endpoint ? o.bugsnag_endpoint : getenv("MACHINE_BUGSNAG_ENDPOINT");
	reporting_configure(o.contexts, NULL, key, endpoint);
	reporting_sync_all(s);
	/* Name the mount after its store so tools (the docker-machine wrapper)
	 * find it: "machinefs:STORE" in /proc/self/mountinfo. */
	bool named = false;
	for (int i = 0; i < args.argc; i++)
		if (strstr(args.argv[i], "fsname="))
			named = true;
	if (!named && !strchr(store_root(s), ',')) {
		char opt[4200];
		snprintf(opt, sizeof(opt), "-ofsname=machinefs:%s,subtype=machinefs",
			 store_root(s));
		fuse_opt_add_arg(&args, opt);
	}
	rc = fuse_tree_main(&args, s, o.refresh);
	reporting_release();
	store_etcd_close(es);
	es = NULL;
	store_close(s);
out:
	store_etcd_close(es);
	fuse_opt_free_args(&args);
	free(o.store);
	free(o.cache);
	free(o.bugsnag_key);
	free(o.bugsnag_endpoint);
	free(o.etcd_cacert);
	free(o.etcd_cert);
	free(o.etcd_key);
	free(o.etcd_user);
	free(o.etcd_password_file);
	free(o.etcd_password);
	free(o.etcd_secrets_key);
	free(o.import);
	free(o.export);
	for (int i = 0; i < o.n_nonopt; i++)
		free(o.nonopt[i]);
	for (int i = 0; i < argc; i++)
		if (av[i] != argv[i])
			free(av[i]);
	free(av);
	return rc;
}
