#include "lib/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void emit_string(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	strbuf_addch(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		switch (c) {
		case '"': strbuf_addstr(sb, "\\\""); break;
		case '\\': strbuf_addstr(sb, "\\\\"); break;
		case '\n': strbuf_addstr(sb, "\\n"); break;
		case '\r': strbuf_addstr(sb, "\\r"); break;
		case '\t': strbuf_addstr(sb, "\\t"); break;
		case '<': case '>': case '&':
			/* Go escapes these for HTML safety. */
			strbuf_addstr(sb, "\\u00");
			strbuf_addch(sb, hex[c >> 4]);
			strbuf_addch(sb, hex[c & 15]);
			break;
		default:
			if (c < 0x20) {
				strbuf_addstr(sb, "\\u00");
				strbuf_addch(sb, hex[c >> 4]);
				strbuf_addch(sb, hex[c & 15]);
			} else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				strbuf_addstr(sb, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
				p += 2;
			} else {
				strbuf_addch(sb, (char)c);
			}
		}
	}
	strbuf_addch(sb, '"');
}

static void emit_number(struct strbuf *sb, double d)
{
	if (d == floor(d) && fabs(d) < 1e15)
		strbuf_addf(sb, "%.0f", d);
	else
		strbuf_addf(sb, "%.17g", d);
}

static void indent(struct strbuf *sb, int depth)
{
	for (int i = 0; i < depth; i++)
		strbuf_addstr(sb, "    ");
}

static void emit(struct strbuf *sb, const cJSON *item, int depth)
{
	if (cJSON_IsNull(item) || !item) {
		strbuf_addstr(sb, "null");
	} else if (cJSON_IsTrue(item)) {
		strbuf_addstr(sb, "true");
	} else if (cJSON_IsFalse(item)) {
		strbuf_addstr(sb, "false");
	} else if (cJSON_IsNumber(item)) {
		emit_number(sb, item->valuedouble);
	} else if (cJSON_IsString(item)) {
		emit_string(sb, item->valuestring ? item->valuestring : "");
	} else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		bool obj = cJSON_IsObject(item);
		const cJSON *c = item->child;
		if (!c) {
			strbuf_addstr(sb, obj ? "{}" : "[]");
			return;
		}
		strbuf_addstr(sb, obj ? "{\n" : "[\n");
		for (; c; c = c->next) {
			indent(sb, depth + 1);
			if (obj) {
				emit_string(sb, c->string ? c->string : "");
				strbuf_addstr(sb, ": ");
			}
			emit(sb, c, depth + 1);
			strbuf_addstr(sb, c->next ? ",\n" : "\n");
		}
		indent(sb, depth);
		strbuf_addch(sb, obj ? '}' : ']');
	} else if (cJSON_IsRaw(item)) {
		strbuf_addstr(sb, item->valuestring ? item->valuestring : "null");
	}
}

void json_emit_go(struct strbuf *sb, const cJSON *item)
{
	emit(sb, item, 0);
}

void json_put(cJSON *obj, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

void json_put_str(cJSON *obj, const char *key, const char *s)
{
	json_put(obj, key, cJSON_CreateString(s ? s : ""));
}

void json_put_int(cJSON *obj, const char *key, long v)
{
	json_put(obj, key, cJSON_CreateNumber((double)v));
}

void json_put_bool(cJSON *obj, const char *key, bool v)
{
	json_put(obj, key, cJSON_CreateBool(v));
}

void json_put_list(cJSON *obj, const char *key, const struct strlist *l,
		   bool null_if_empty)
{
	if (!l->n && null_if_empty) {
		json_put(obj, key, cJSON_CreateNull());
		return;
	}
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
	json_put(obj, key, a);
}

const char *json_str(const cJSON *obj, const char *key, const char *fallback)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) && it->valuestring ? it->valuestring : fallback;
}

long json_int(const cJSON *obj, const char *key, long fallback)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(it) ? (long)it->valuedouble : fallback;
}

bool json_bool(const cJSON *obj, const char *key, bool fallback)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : fallback;
}

void json_list(const cJSON *obj, const char *key, struct strlist *l)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && it->valuestring)
			strlist_add(l, it->valuestring);
}

cJSON *json_obj(const cJSON *obj, const char *key)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsObject(it) ? it : NULL;
}

cJSON *json_path_parent(const cJSON *obj, const char *dotted, const char **leaf)
{
	cJSON *cur = (cJSON *)obj;
	const char *dot;
	while (cur && (dot = strchr(dotted, '.'))) {
		char part[128];
		size_t n = (size_t)(dot - dotted);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, dotted, n);
		part[n] = '\0';
		cur = json_obj(cur, part);
		dotted = dot + 1;
	}
	*leaf = dotted;
	return cur;
}
