/* A machine's create options (options/ in the tree). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/config.h"

const struct driver_option *option_lookup(const char *name)
{
	const struct driver_option *o = host_option_find(name);
	for (const struct machine_driver *const *d = machine_drivers; !o && *d; d++)
		o = driver_option_find(*d, name);
	return o;
}

bool option_scratch_name(const char *name)
{
	size_t n = strlen(name);
	if (option_lookup(name))
		return false;
	return name[0] == '.' || name[0] == '#' || (n && name[n - 1] == '~') ||
	       strstr(name, ".tmp") || strstr(name, ".sw") || !strcmp(name, "4913") ||
	       !strncmp(name, "sed", 3);
}

static int check_writable_locked(struct machine *m, const char *name, char *err)
{
	if (option_scratch_name(name))
		return 0;
	if (!option_lookup(name))
		return error_set(err, EINVAL,
				 "unknown option '%s': see .drivers/NAME/options for the options each driver takes",
				 name);
	if (m->busy)
		return error_set(err, EBUSY, "machine '%s' is busy: '%s' is running", m->name, m->busy);
	if (m->created)
		return error_set(err, EROFS, "machine '%s' is created: its options are fixed", m->name);
	return 0;
}

int machine_option_check(struct machine *m, const char *name, char *err)
{
	pthread_mutex_lock(&m->lock);
	int rc = check_writable_locked(m, name, err);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int machine_option_set(struct machine *m, const char *name, const char *value,
		       char *err)
{
	pthread_mutex_lock(&m->lock);
	int rc = check_writable_locked(m, name, err);
	if (!rc) {
		/* Keep the text minus trailing blanks; lists keep one value a line. */
		struct strbuf v = STRBUF_INIT;
		const struct driver_option *o = option_lookup(name);
		if (!o) {
			option_set_put(&m->scratch, name, value);
			pthread_mutex_unlock(&m->lock);
			return 0;
		}
		if (o->type == OPT_LIST) {
			struct strlist l = STRLIST_INIT;
			strlist_split_lines(&l, value);
			for (size_t i = 0; i < l.n; i++) {
				if (i)
					strbuf_addch(&v, '\n');
				strbuf_addstr(&v, l.v[i]);
			}
			strlist_clear(&l);
		} else {
			strbuf_addstr(&v, value);
			strbuf_rtrim(&v);
		}
		option_set_put(&m->opts, name, strbuf_str(&v));
		strbuf_release(&v);
		rc = record_save(m, err);
	}
	if (rc && rc != -EBUSY && !m->removed)
		snprintf(m->error, sizeof(m->error), "%s", err);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int machine_option_del(struct machine *m, const char *name, char *err)
{
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (option_set_del(&m->scratch, name)) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	if (!option_set_get(&m->opts, name))
		rc = error_set(err, ENOENT, "option '%s' is not set", name);
	if (!rc)
		rc = check_writable_locked(m, name, err);
	if (!rc) {
		option_set_del(&m->opts, name);
		rc = record_save(m, err);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

bool machine_option_raw(struct machine *m, const char *name, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	const char *v = option_set_get(&m->opts, name);
	if (!v)
		v = option_set_get(&m->scratch, name);
	if (v)
		strbuf_addstr(sb, v);
	pthread_mutex_unlock(&m->lock);
	return v != NULL;
}

bool machine_option_get(struct machine *m, const char *name, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	const char *v = option_set_get(&m->opts, name);
	if (!v && (v = option_set_get(&m->scratch, name))) {
		strbuf_addstr(sb, v); /* a scratch file: as written */
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	if (v) {
		const struct driver_option *o = option_lookup(name);
		if (o && (o->flags & OPT_SECRET) && *v)
			strbuf_addstr(sb, "****");
		else
			strbuf_addstr(sb, v);
		if (*v)
			strbuf_addch(sb, '\n');
	}
	pthread_mutex_unlock(&m->lock);
	return v != NULL;
}

void machine_option_names(struct machine *m, struct strlist *names)
{
	pthread_mutex_lock(&m->lock);
	strlist_copy(names, &m->opts.names);
	strlist_copy(names, &m->scratch.names);
	pthread_mutex_unlock(&m->lock);
}
