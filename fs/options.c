/* A machine's create options (options/ in the tree). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/config.h"

bool option_scratch_name(const char *name)
{
	size_t n = strlen(name);
	if (option_lookup(name))
		return false;
	return name[0] == '.' || name[0] == '#' || (n && name[n - 1] == '~') ||
	       strstr(name, ".tmp") || strstr(name, ".sw") || !strcmp(name, "4913") ||
	       !strncmp(name, "sed", 3);
}

#define SCRATCH_MAX 16

static int check_writable_locked(struct machine *m, const char *name, char *err)
{
	if (m->removed)
		return error_set(err, ENOENT, "machine '%s' was removed", m->name);
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

/* A value reaches shells, unit files and argv: no control character
 * (a list's values are separated by newlines, nothing else). */
static int check_chars(const struct driver_option *o, const char *v, char *err)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '\n' && o->type == OPT_LIST)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return error_set(err, EINVAL,
					 "option '%s' holds a control character (0x%02x): %s",
					 o->name, *p,
					 o->type == OPT_LIST ? "want one value a line"
							     : "want one line");
	}
	return 0;
}

/* The text as kept: minus trailing blanks; lists one value a line. */
static void normalize(const struct driver_option *o, const char *value,
		      struct strbuf *v)
{
	if (o->type == OPT_LIST) {
		struct strlist l = STRLIST_INIT;
		strlist_split_lines(&l, value);
		for (size_t i = 0; i < l.n; i++) {
			if (i)
				strbuf_addch(v, '\n');
			strbuf_addstr(v, l.v[i]);
		}
		strlist_clear(&l);
	} else {
		strbuf_addstr(v, value);
		strbuf_rtrim(v);
	}
}

int machine_option_check_value(struct machine *m, const char *name,
			       const char *value, size_t len, char *err)
{
	const struct driver_option *o = option_lookup(name);
	struct strbuf v = STRBUF_INIT;
	int rc;

	if (!o || option_scratch_name(name))
		return 0;
	if (memchr(value, '\0', len))
		rc = error_set(err, EINVAL, "option '%s' holds a NUL byte", name);
	else {
		normalize(o, value, &v);
		rc = check_chars(o, strbuf_str(&v), err);
	}
	strbuf_release(&v);
	if (rc) {
		pthread_mutex_lock(&m->lock);
		if (!m->removed)
			snprintf(m->error, sizeof(m->error), "%s", err);
		pthread_mutex_unlock(&m->lock);
		machine_changed(m, MCHG_FILES);
	}
	return rc;
}


static int option_put(struct machine *m, const char *name, const char *value,
			     char *err);
static int option_drop(struct machine *m, const char *name, char *err);

/* Both take m->lock; the tree hears of the change after it is dropped. */
int machine_option_set(struct machine *m, const char *name, const char *value,
		       char *err)
{
	int rc = option_put(m, name, value, err);
	machine_changed(m, MCHG_FILES);
	return rc;
}

int machine_option_del(struct machine *m, const char *name, char *err)
{
	int rc = option_drop(m, name, err);
	machine_changed(m, MCHG_FILES);
	return rc;
}

static int option_put(struct machine *m, const char *name, const char *value,
			     char *err)
{
	pthread_mutex_lock(&m->lock);
	int rc = check_writable_locked(m, name, err);
	if (!rc) {
		struct strbuf v = STRBUF_INIT;
		const struct driver_option *o = option_lookup(name);
		if (!o) {
			/* Memory only: a few per machine are all an editor needs. */
			if (!option_set_get(&m->scratch, name) && m->scratch.names.n >= SCRATCH_MAX) {
				pthread_mutex_unlock(&m->lock);
				return error_set(err, ENOSPC, "too many temporary files in '%s/options' (at most %d)",
						 m->name, SCRATCH_MAX);
			}
			option_set_put(&m->scratch, name, value);
			pthread_mutex_unlock(&m->lock);
			return 0;
		}
		normalize(o, value, &v);
		rc = check_chars(o, strbuf_str(&v), err);
		if (!rc) {
			option_set_put(&m->opts, name, strbuf_str(&v));
			rc = record_save(m, err);
		}
		strbuf_release(&v);
	}
	if (rc && rc != -EBUSY && !m->removed)
		snprintf(m->error, sizeof(m->error), "%s", err);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int option_drop(struct machine *m, const char *name, char *err)
{
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (m->removed) {
		pthread_mutex_unlock(&m->lock);
		return error_set(err, ENOENT, "machine '%s' was removed", m->name);
	}
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
		if (o && (o->flags & OPT_SECRET) && *v) {
			strbuf_addstr(sb, "****");
		} else {
			struct strbuf shown = STRBUF_INIT;
			strbuf_addstr(&shown, v);
			machine_mask(m, &shown); /* credentials in a URL */
			strbuf_addstr(sb, strbuf_str(&shown));
			strbuf_release(&shown);
		}
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
