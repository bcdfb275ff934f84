/* JSON helpers over cJSON: Go's json.MarshalIndent layout (4 spaces,
 * "key": value, HTML-escaped strings, no trailing newline), in-place key
 * updates that keep key order, and typed getters. */
#ifndef MFS_JSON_H
#define MFS_JSON_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "lib/strbuf.h"
#include "lib/strlist.h"

/* Append obj to sb exactly as Go's json.MarshalIndent(v, "", "    "). */
void json_emit_go(struct strbuf *sb, const cJSON *item);

/* Set key to item (taking ownership): replaced in place when the key
 * exists, appended otherwise. */
void json_put(cJSON *obj, const char *key, cJSON *item);
void json_put_str(cJSON *obj, const char *key, const char *s);
void json_put_int(cJSON *obj, const char *key, long v);
void json_put_bool(cJSON *obj, const char *key, bool v);
/* A list; an empty list becomes [] (null_if_empty: null, as Go's nil). */
void json_put_list(cJSON *obj, const char *key, const struct strlist *l,
		   bool null_if_empty);

/* Getters: a missing key or wrong type gives the fallback. */
const char *json_str(const cJSON *obj, const char *key, const char *fallback);
long json_int(const cJSON *obj, const char *key, long fallback);
bool json_bool(const cJSON *obj, const char *key, bool fallback);
/* Append a string array's items to l. */
void json_list(const cJSON *obj, const char *key, struct strlist *l);
cJSON *json_obj(const cJSON *obj, const char *key); /* NULL unless object */
/* For a dotted key "A.B.C": the object obj.A.B (NULL when missing) and,
 * in *leaf, "C"; for "C": obj itself. */
cJSON *json_path_parent(const cJSON *obj, const char *dotted, const char **leaf);

#endif
