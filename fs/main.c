/* machinefs [-f] [-d] [-o store=DIR,refresh=SECS,...] MOUNTPOINT */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fuse.h>

#include "fs/fuse_tree.h"
#include "fs/machine.h"

#define MACHINEFS_VERSION "0.1.0"

struct options {
	char *store;
	int refresh;
	int show_help;
	int show_version;
};

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
static const struct fuse_opt option_spec[] = {
	OPT("store=%s", store),
	OPT("refresh=%d", refresh),
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o OPT[,OPT...]] MOUNTPOINT\n\n"
	       "machinefs options:\n"
	       "    -o store=DIR       the machine store (default $MACHINE_STORAGE_PATH,\n"
	       "                       else ~/.docker/machine)\n"
	       "    -o refresh=SECS    seconds between background state checks (10)\n\n",
	       prog);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = { .refresh = 10 };
	if (fuse_opt_parse(&args, &o, option_spec, NULL) == -1)
		return 1;
	if (o.show_version) {
		printf("machinefs version %s\n", MACHINEFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		return 0;
	}
	if (o.show_help) {
		usage(argv[0]);
		fuse_tree_help(&args);
		return 0;
	}
	char root[4096];
	if (o.store)
		snprintf(root, sizeof(root), "%s", o.store);
	else if (getenv("MACHINE_STORAGE_PATH") && *getenv("MACHINE_STORAGE_PATH"))
		snprintf(root, sizeof(root), "%s", getenv("MACHINE_STORAGE_PATH"));
	else
		snprintf(root, sizeof(root), "%s/.docker/machine",
			 getenv("HOME") ? getenv("HOME") : "/root");

	struct store *s;
	char err[ERR_MAX];
	if (store_open(root, &s, err)) {
		fprintf(stderr, "machinefs: %s\n", err);
		return 1;
	}
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
	int rc = fuse_tree_main(&args, s, o.refresh);
	store_close(s);
	fuse_opt_free_args(&args);
	free(o.store);
	return rc;
}
