/* The "none" driver: an engine that exists already at a URL. Docker
 * Machine's drivers/none: state is always Running, there is no SSH and
 * every lifecycle command fails. IPAddress is the URL's host:port. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/driver.h"
#include "lib/json.h"
#include "lib/url.h"

struct none_priv {
	char url[1024];
};

static const struct driver_option none_options[] = {
	{ "url", OPT_STRING, NULL, NULL, "URL of host when no driver is selected",
	  OPT_REQUIRED, "URL" },
	{ NULL },
};

static int none_configure(struct driver_ctx *ctx)
{
	struct none_priv *p = ctx->priv;
	const char *url = ctx->opts ? option_set_get(ctx->opts, "url") : NULL;
	if (!url || !*url) {
		/* Docker Machine's words in error; the tree's hint in the log. */
		driver_log(ctx, "hint: write the engine's url to 'options/url'");
		return error_set(ctx->err, EINVAL,
				 "--url option is required when no driver is selected");
	}
	/* Docker Machine parses it with url.Parse and keeps u.Host. */
	char host[256];
	int port;
	int rc = url_check(url, ctx->err);
	if (rc)
		return rc;
	if (strlen(url) >= sizeof(p->url) ||
	    url_split(url, host, sizeof(host), &port, ctx->base->ip, sizeof(ctx->base->ip)))
		return error_set(ctx->err, EINVAL,
				 "invalid url '%s': want scheme://host:port", url);
	snprintf(p->url, sizeof(p->url), "%s", url);
	return 0;
}

static int none_create(struct driver_ctx *ctx)
{
	return 0;
}

static int none_remove(struct driver_ctx *ctx)
{
	return 0;
}

static int none_state(struct driver_ctx *ctx, enum machine_state *out)
{
	*out = MS_RUNNING;
	return 0;
}

static int none_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	const struct none_priv *p = ctx->priv;
	/* A record from a store may hold anything: an invalid url is none. */
	if (url_check(p->url, NULL))
		return -EINVAL;
	snprintf(buf, len, "%s", p->url);
	return 0;
}

/* Docker Machine's none driver refuses every lifecycle command so. */
static const char *none_unsupported(const char *cmd)
{
	static const char *const said[][2] = {
		{ "start", "hosts without a driver cannot be started" },
		{ "stop", "hosts without a driver cannot be stopped" },
		{ "restart", "hosts without a driver cannot be restarted" },
		{ "kill", "hosts without a driver cannot be killed" },
	};
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (!strcmp(cmd, said[i][0]))
			return said[i][1];
	return NULL;
}

static int none_load(struct driver_ctx *ctx, const cJSON *obj)
{
	struct none_priv *p = ctx->priv;
	snprintf(p->url, sizeof(p->url), "%s", json_str(obj, "URL", ""));
	return 0;
}

static int none_save(const struct driver_ctx *ctx, cJSON *obj)
{
	const struct none_priv *p = ctx->priv;
	json_put_str(obj, "URL", p->url);
	return 0;
}

const struct machine_driver none_driver = {
	.name = "none",
	.supports = DRV_REMOVE,
	.options = none_options,
	.priv_size = sizeof(struct none_priv),
	.configure = none_configure,
	.create = none_create,
	.remove = none_remove,
	.state = none_state,
	.url = none_url,
	.unsupported = none_unsupported,
	.load = none_load,
	.save = none_save,
};
