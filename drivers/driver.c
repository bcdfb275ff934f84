/* Helpers every driver uses: option lookup, logging, cancellation. */
#include "drivers/driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"

const char *machine_state_name(enum machine_state s)
{
	static const char *const names[] = {
		"None", "Running", "Paused", "Saved", "Stopped",
		"Stopping", "Starting", "Error", "Timeout",
	};
	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "Error";
}

const struct machine_driver *driver_find(const char *name)
{
	for (const struct machine_driver *const *d = machine_drivers; *d; d++)
		if (!strcmp((*d)->name, name))
			return *d;
	return NULL;
}

void driver_log(struct driver_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->log_fn)
		return;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx->log_arg, strbuf_str(&sb));
	strbuf_release(&sb);
}

void driver_say(struct driver_ctx *ctx, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (ctx->say_fn)
		ctx->say_fn(ctx->say_arg, strbuf_str(&sb));
	else if (ctx->log_fn)
		ctx->log_fn(ctx->log_arg, strbuf_str(&sb));
	strbuf_release(&sb);
}

bool driver_cancelled(const struct driver_ctx *ctx)
{
	return ctx->cancel && *ctx->cancel;
}

int driver_checkpoint(struct driver_ctx *ctx)
{
	if (!ctx->checkpoint_fn)
		return 0;
	return ctx->checkpoint_fn(ctx->checkpoint_arg, ctx);
}

const struct driver_option *driver_option_find(const struct machine_driver *d,
					       const char *name)
{
	for (const struct driver_option *o = d->options; o && o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

const char *driver_opt(const struct driver_ctx *ctx,
		       const struct machine_driver *d, const char *name)
{
	const char *v = ctx->opts ? option_set_get(ctx->opts, name) : NULL;
	if (v && *v)
		return v;
	const struct driver_option *o = driver_option_find(d, name);
	return o ? o->def : NULL;
}

const char *driver_opt_env(const struct driver_ctx *ctx,
			   const struct machine_driver *d, const char *name)
{
	const char *v = ctx->opts ? option_set_get(ctx->opts, name) : NULL;
	if (v && *v)
		return v;
	const struct driver_option *o = driver_option_find(d, name);
	const char *e = o && o->env ? getenv(o->env) : NULL;
	if (e && *e)
		return e;
	return o ? o->def : NULL;
}

int driver_opt_int(struct driver_ctx *ctx, const struct machine_driver *d,
		   const char *name, int *out)
{
	const char *v = driver_opt(ctx, d, name);
	if (!v || !*v) {
		*out = 0;
		return 0;
	}
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 0 || n > 0x7fffffff)
		return error_set(ctx->err, EINVAL,
				 "invalid value '%s' for option '%s': want a number",
				 v, name);
	*out = (int)n;
	return 0;
}

bool driver_opt_bool(const struct driver_ctx *ctx,
		     const struct machine_driver *d, const char *name)
{
	const char *v = driver_opt(ctx, d, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

bool driver_opt_env_bool(const struct driver_ctx *ctx,
			 const struct machine_driver *d, const char *name)
{
	const char *v = driver_opt_env(ctx, d, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

int driver_opt_copy(struct driver_ctx *ctx, const struct machine_driver *d,
		    const char *name, char *dst, size_t len)
{
	const char *v = driver_opt_env(ctx, d, name);
	if (!v)
		v = "";
	if (strlen(v) >= len)
		return error_set(ctx->err, EINVAL, "value of option '%s' is too long (at most %zu bytes)",
				 name, len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

int driver_opt_range(struct driver_ctx *ctx, const struct machine_driver *d,
		     const char *name, long lo, long hi, int *out)
{
	const char *v = driver_opt_env(ctx, d, name);
	char *end;
	long n = strtol(v ? v : "", &end, 10);
	if (!v || !*v || *end || n < lo || n > hi)
		return error_set(ctx->err, EINVAL, "invalid value '%.60s' for option '%s': want %ld-%ld",
				 v ? v : "", name, lo, hi);
	*out = (int)n;
	return 0;
}

const char *option_set_get(const struct option_set *os, const char *name)
{
	for (size_t i = 0; i < os->names.n; i++)
		if (!strcmp(os->names.v[i], name))
			return os->values.v[i];
	return NULL;
}

void option_set_put(struct option_set *os, const char *name, const char *value)
{
	for (size_t i = 0; i < os->names.n; i++) {
		if (!strcmp(os->names.v[i], name)) {
			char *copy = strdup(value);
			if (!copy)
				abort();
			free(os->values.v[i]);
			os->values.v[i] = copy;
			return;
		}
	}
	strlist_add(&os->names, name);
	strlist_add(&os->values, value);
}

bool option_set_del(struct option_set *os, const char *name)
{
	for (size_t i = 0; i < os->names.n; i++) {
		if (strcmp(os->names.v[i], name))
			continue;
		free(os->names.v[i]);
		free(os->values.v[i]);
		size_t rest = os->names.n - i - 1;
		memmove(&os->names.v[i], &os->names.v[i + 1], rest * sizeof(char *));
		memmove(&os->values.v[i], &os->values.v[i + 1], rest * sizeof(char *));
		os->names.n--;
		os->values.n--;
		return true;
	}
	return false;
}

void option_set_clear(struct option_set *os)
{
	strlist_clear(&os->names);
	strlist_clear(&os->values);
}
