/*
 * Skills: the catalog's policy, input schemas, and the Agent Skills folder
 * format. The rows live in the store (store.h); this header is what every
 * caller above the store uses.
 *
 *   names     catalog names use '_' (word_count), Agent Skills names '-'
 *             (word-count); ad_skill_name_valid() (store.h) keeps the two
 *             forms a bijection.
 *   versions  semver "MAJOR.MINOR.PATCH"; a skill's current version is the
 *             one that runs; rollback moves "current" back, history stays.
 *   schemas   an entry's input schema is given, or derived from its
 *             signature and type hints without running the code.
 *   bundles   NAME/SKILL.md (YAML front matter: name, description,
 *             metadata {version, entry, script, input-schema}) plus
 *             NAME/scripts/<file>.py.
 */
#ifndef AUTODEV_SKILL_H
#define AUTODEV_SKILL_H

/* Module agent, layer 4: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 4
#error "autodev/skill.h belongs to module agent (layer 4), above the module including it"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/store.h"

struct ad_bus;
struct ad_sandbox;
struct ad_sandbox_limits;
struct ad_sandbox_result;

/* ---- names and versions (skill_names.c) ----------------------------------- */

/* Agent Skills names: 1..64 of [a-z0-9-], no leading, trailing or double '-'. */
int ad_agentskills_name_valid(const char *name);
/*
 * The two forms of one name. out needs strlen(name) + 1 bytes. Each returns
 * 0, or AD_EINVAL (naming the rule broken) when name is not valid in its
 * own form.
 */
int ad_skill_name_to_agentskills(const char *name, char *out, size_t outsz, struct ad_err *err);
int ad_skill_name_from_agentskills(const char *name, char *out, size_t outsz,
                                   struct ad_err *err);

struct ad_semver {
    unsigned major, minor, patch;
};

/* Strict "MAJOR.MINOR.PATCH" (see ad_semver_valid). 0 or AD_EINVAL. */
int ad_semver_parse(const char *s, struct ad_semver *out, struct ad_err *err);
void ad_semver_format(const struct ad_semver *v, char out[AD_SEMVER_SIZE]);
/* <0, 0, >0 like strcmp, by numeric precedence. */
int ad_semver_cmp(const struct ad_semver *a, const struct ad_semver *b);

enum ad_semver_bump {
    AD_BUMP_MINOR = 0,   /* 1.2.3 -> 1.3.0 */
    AD_BUMP_MAJOR = 1,   /* 1.2.3 -> 2.0.0 */
    AD_BUMP_PATCH = 2,   /* 1.2.3 -> 1.2.4 */
};

void ad_semver_bump(struct ad_semver *v, enum ad_semver_bump how);

/* ---- input schemas (skill_schema.c) --------------------------------------- */

/*
 * Finds the top-level "def entry(...)" (or "async def") in code and derives
 * the JSON schema of its parameters without running anything:
 *   {"type": "object", "properties": {P: S...}, "required": [...],
 *    "additionalProperties": false}
 * Each annotation maps to a schema: str string, int integer, float number,
 * bool boolean, list/List/Sequence/tuple[X] array (items X), dict/Dict/Mapping
 * object, Optional[X] / X | None / Union[X, None] X with null allowed
 * ("type": [T, "null"]), Literal[...] enum, Any or no annotation {}. A
 * parameter with a default is not required (and a constant default is
 * copied as "default"). self, *args and **kwargs are skipped (**kwargs
 * makes additionalProperties true); a "/" or "*" marker is skipped.
 * AD_ENOTFOUND when code has no top-level function of that name; AD_EINVAL
 * for a signature it cannot read (it says where).
 */
int ad_skill_schema_derive(const char *code, size_t len, const char *entry, json_t **out,
                           struct ad_err *err);
/*
 * Checks that schema can describe a tool's parameters: an object whose
 * "type" is "object", whose "properties" (when present) is an object of
 * objects, and whose "required" (when present) is an array of strings.
 */
int ad_skill_schema_check(const json_t *schema, struct ad_err *err);
/*
 * Checks a run's input (NULL: null) against an input schema of the shape
 * above, the way the sandbox's harness will pass it (sandbox_harness.c):
 * an object whose keys fit the properties, every required one present
 * (null: none given), goes as keyword arguments and each value must fit
 * its property; anything else goes as the one argument, which must fit
 * the first property with no other one required. Types ("integer" takes
 * 3.0, not 3.5), enum, items and nested objects are checked. 0, or
 * AD_EINVAL naming the field: "unknown field 'txt' (expected text)",
 * "missing field 'text'", "field 'n': expected integer, got a string".
 * A NULL or non-object schema checks nothing. ad_skill_execute() calls it
 * before any sandbox starts; ad_task_run() and the agent loop before it.
 */
int ad_skill_input_check(const json_t *schema, const json_t *input, struct ad_err *err);
/*
 * The input schema version v of s runs with: the skill's for its current
 * version (or a version not yet in the catalog), else derived from v's
 * code (as export does). Borrowed, or a new reference in *owned (decref
 * it); NULL when there is none to check against.
 */
const json_t *ad_skill_version_schema(const struct ad_skill *s, const struct ad_skill_version *v,
                                      json_t **owned);
/*
 * The first line of the entry function's docstring, or of the module's,
 * into out (a string the caller frees); *out NULL when there is none.
 */
int ad_skill_docstring(const char *code, size_t len, const char *entry, char **out,
                       struct ad_err *err);

/* ---- the Agent Skills folder (skill_bundle.c; libyaml) -------------------- */

struct ad_skill_bundle {
    char *name;            /* the catalog form (word_count) */
    char *description;     /* 1..1024 characters */
    char *semver;          /* metadata.version; NULL on read: 1.0.0 */
    char *entry;           /* metadata.entry */
    char *script;          /* file name under scripts/, "word_count.py" */
    char *code;            /* the script's content */
    json_t *input_schema;  /* metadata.input-schema (JSON text in YAML); may be NULL */
    char *body;            /* the Markdown after the front matter */
    char *skill_md;        /* a one-script folder's SKILL.md as read (owned), else NULL:
                              ad_skill_bundle_catalog_code keeps it for export */
    size_t skill_md_len;
};

void ad_skill_bundle_release(struct ad_skill_bundle *b);
/*
 * SKILL.md for b: front matter (name in the Agent Skills form, description,
 * metadata: version, entry, script, input-schema) and, when b->body is
 * NULL, a body with the usage (the entry's signature and an example
 * command). Appends to out.
 */
int ad_skill_md_render(const struct ad_skill_bundle *b, struct ad_buf *out, struct ad_err *err);
/*
 * Reads SKILL.md text: the front matter must be the first thing, between
 * "---" lines, a YAML mapping with a valid Agent Skills name and a
 * description of 1..1024 characters; metadata, when present, a mapping of
 * strings. Unknown top-level keys of the Agent Skills spec (license,
 * compatibility, allowed-tools) are accepted and ignored; other unknown
 * keys are AD_EINVAL. Fills name (catalog form), description, semver,
 * entry, script, input_schema and body; code stays NULL.
 */
int ad_skill_md_parse(const char *text, size_t len, struct ad_skill_bundle *out,
                      struct ad_err *err);
/*
 * Writes DIR/NAME/SKILL.md and DIR/NAME/scripts/<script> (NAME in the
 * Agent Skills form), creating the folders. An existing NAME folder is
 * AD_EEXIST unless overwrite. Returns 0 or an error naming the path.
 */
int ad_skill_bundle_write(const struct ad_skill_bundle *b, const char *dir, bool overwrite,
                          struct ad_err *err);
/*
 * Reads the bundle in folder dir (which holds SKILL.md): parses SKILL.md,
 * checks the name matches the folder's base name, and reads the script
 * (metadata.script, else the only .py file under scripts/). Files are
 * capped (SKILL.md 1 MiB, the script AD_SKILL_CODE_MAX); a script path
 * leaving the folder is AD_EPERM.
 */
int ad_skill_bundle_read(const char *dir, struct ad_skill_bundle *out, struct ad_err *err);
/*
 * A folder that is not one script holding its entry function (an
 * instruction-only skill, several scripts, references or assets, a script
 * with no function named after the skill) is read as a kept folder: code
 * is a Python module holding every file verbatim and an entry function
 * named after the skill (entry = name, script NULL) returning
 * {"instructions": BODY, "scripts": [...]}, or with script="x.py" that
 * script's text. The whole folder is capped (about 770 KiB of files, 512
 * files, 8 folders deep); a link or special file is AD_EPERM.
 */
bool ad_skill_code_is_folder(const char *code);
/*
 * Writes a kept folder's files back byte for byte under DIR/AS_NAME (the
 * Agent Skills name). AD_ENOTFOUND when code is not a kept folder; an
 * existing folder is AD_EEXIST unless overwrite.
 */
int ad_skill_folder_write(const char *code, const char *as_name, const char *dir,
                          bool overwrite, struct ad_err *err);
/* One file of a kept folder ("SKILL.md", "scripts/x.py"), NUL-terminated; AD_ENOTFOUND. */
int ad_skill_folder_file(const char *code, const char *path, char **out, size_t *len,
                         struct ad_err *err);
/* The names of a kept folder's scripts (files right under scripts/), sorted. */
int ad_skill_folder_scripts(const char *code, json_t **out, struct ad_err *err);

/*
 * Byte for byte. The catalog code of a bundle read from a folder: its code,
 * and for a one-script folder (b->skill_md set) a last comment line keeping
 * that SKILL.md and the script's file name, so export gives the folder back
 * as it came while the script, the version and the description are still
 * the ones imported. *out is owned by the caller.
 */
int ad_skill_bundle_catalog_code(const struct ad_skill_bundle *b, char **out,
                                 struct ad_err *err);
/*
 * The files of the folder a catalog version exports, as a JSON object of
 * path ("SKILL.md", "scripts/x.py", ...) -> base64, sorted: a kept folder's
 * files; a kept SKILL.md and its script where nothing changed; else
 * SKILL.md rendered from b and b's script (without a kept line). One code
 * path for `skill export` (ad_skill_bundle_write) and the server's archive.
 */
int ad_skill_export_files(const struct ad_skill_bundle *b, json_t **out, struct ad_err *err);
/* Sets path -> base64 of data in such an object. 0 or AD_ENOMEM. */
int ad_skill_files_put(json_t *files, const char *path, const void *data, size_t n);
/* One file of such an object, decoded and NUL-terminated (*data owned). */
int ad_skill_export_file(const json_t *files, const char *path, char **data, size_t *len,
                         struct ad_err *err);
/*
 * ad_skill_bundle_read over files already in memory (an archive's): the
 * folder's name and its files as path -> base64. The same caps, names and
 * checks as a folder on disk, with the same messages.
 */
int ad_skill_bundle_from_files(const char *folder, const json_t *files,
                               struct ad_skill_bundle *out, struct ad_err *err);
/*
 * The description export writes for a catalog description (owned; NULL
 * when out of memory): the description itself, a made one when it is empty
 * or blank, one cut to 1021 characters and "..." past the 1024 the
 * specification allows (counted as skills-ref counts).
 */
char *ad_skill_md_description(const char *desc, const char *name, const char *entry);

/* ---- the catalog (catalog.c) ---------------------------------------------- */

struct ad_skill_add {
    const char *tenant_id;
    const char *name;              /* catalog form */
    const char *description;       /* NULL: the docstring's first line, else "" */
    const char *entry;             /* the entry function */
    const char *code;
    size_t code_len;               /* 0: strlen(code) */
    const json_t *input_schema;    /* NULL: derived from the signature */
    const char *semver;            /* NULL: 1.0.0 for a new skill, else bumped */
    enum ad_semver_bump bump;      /* how an existing skill's version moves */
    enum ad_skill_origin origin;
    const char *origin_id;         /* may be NULL */
};

/*
 * Adds a skill (first version) or a new version of an existing one (parent:
 * the current version; semver: the given one, or the largest existing
 * version bumped). The code must define the entry function at top level.
 * Fills the skill and version added (either may be NULL).
 */
int ad_catalog_add(struct ad_store *st, const struct ad_skill_add *a, struct ad_skill *skill_out,
                   struct ad_skill_version *version_out, struct ad_err *err);
/*
 * The skill named name and its version semver (NULL: the current one).
 * AD_ENOTFOUND naming what is missing.
 */
int ad_catalog_get(struct ad_store *st, const char *tenant_id, const char *name,
                   const char *semver, struct ad_skill *skill, struct ad_skill_version *version,
                   struct ad_err *err);
/* The skill with id (a version's skill_id), to show its name. AD_ENOTFOUND. */
int ad_catalog_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_skill *out, struct ad_err *err);
/* Makes version semver of name current again; the history stays. */
int ad_catalog_rollback(struct ad_store *st, const char *tenant_id, const char *name,
                        const char *semver, struct ad_err *err);
/* The tenant's skills ordered by name, after after_name (may be NULL). */
int ad_catalog_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                    int limit, struct ad_skill **out, size_t *n, struct ad_err *err);
/*
 * Full-text search over the active skills' names and descriptions (FTS5,
 * BM25, a name match weighing 4x, English stems), best first. The text's
 * stop words are dropped first (autodev/text.h), the rule ad_catalog_match
 * uses too, so "count the words" searches "count words"; a text of stop
 * words only finds nothing.
 */
int ad_catalog_search(struct ad_store *st, const char *tenant_id, const char *text, int limit,
                      struct ad_skill_hit **out, size_t *n, struct ad_err *err);
/* Every version of skill_id, oldest first. */
int ad_catalog_versions(struct ad_store *st, const char *tenant_id, const char *skill_id,
                        struct ad_skill_version **out, size_t *n, struct ad_err *err);
/*
 * The version version_id and its ancestors by parent_version_id, newest
 * first (out[0] is the version itself), from one recursive query in the
 * store; at most AD_LINEAGE_MAX. AD_ENOTFOUND when it is not the tenant's.
 * Free with ad_skill_version_list_free.
 */
int ad_catalog_ancestry(struct ad_store *st, const char *tenant_id, const char *version_id,
                        struct ad_skill_version **out, size_t *n, struct ad_err *err);
/* One version by id. */
int ad_catalog_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_skill_version *out, struct ad_err *err);
/*
 * The active skill that best matches a task description, with its current
 * version: among the 5 best hits of ad_catalog_search, the first one a word
 * of whose name the text mentions (equal, or a prefix of 4+ letters either
 * way: "words" finds word_count, "slug" slugify). AD_ENOTFOUND when none.
 */
int ad_catalog_match(struct ad_store *st, const char *tenant_id, const char *text,
                     struct ad_skill *skill, struct ad_skill_version *version, double *score,
                     struct ad_err *err);

/* ---- running a skill (skill_exec.c) --------------------------------------- */

/*
 * Runs version v of skill s in the sandbox on input (NULL: null). *result
 * gets the sandbox's result (clear it with ad_sandbox_result_clear). The
 * run succeeded when the status is ok. Returns 0 whenever the sandbox gave
 * a result, whatever the skill did. An input that does not fit the
 * version's schema (ad_skill_input_check) is AD_EINVAL before any sandbox
 * starts, "input of skill NAME: ...".
 */
int ad_skill_execute(struct ad_sandbox *sb, const struct ad_skill *s,
                     const struct ad_skill_version *v, const json_t *input,
                     const struct ad_sandbox_limits *limits, struct ad_sandbox_result *result,
                     struct ad_err *err);
/*
 * A one-line error text for a failed run ("ValueError: bad input",
 * "timeout after 60000 ms"), or the traceback when there is one, into a
 * new string; NULL for a run that succeeded.
 */
char *ad_skill_result_error(const struct ad_sandbox_result *r);
/*
 * Records one run: the skill_executions row (agent_id, episode_id may be
 * NULL) and the skill.execution event with payload {"execution_id",
 * "skill", "skill_id", "skill_version_id", "semver", "agent_id",
 * "episode_id", "success", "status", "execution_seconds", "token_usage",
 * "error"}, in one transaction. token_usage: the model tokens the run
 * cost (0 when none or unknown); a negative value is taken as 0, one over
 * AD_EPISODE_TOKENS_MAX as that cap. x_out (may be NULL) gets the
 * execution id.
 */
int ad_skill_execution_record(struct ad_store *st, struct ad_bus *bus, const struct ad_skill *s,
                              const struct ad_skill_version *v, const char *agent_id,
                              const char *episode_id, const json_t *input,
                              const struct ad_sandbox_result *r, int64_t token_usage,
                              char x_out[AD_ID_SIZE], struct ad_err *err);
/*
 * The recorded runs of version skill_version_id, newest first, at most
 * limit (0: AD_LIST_DEFAULT; capped at AD_LIST_MAX). Free the array with
 * ad_skill_execution_list_free. A version of another tenant has none;
 * AD_EINVAL for a missing or malformed id.
 */
int ad_skill_executions_list(struct ad_store *st, const char *tenant_id,
                             const char *skill_version_id, int limit,
                             struct ad_skill_execution **out, size_t *n, struct ad_err *err);

#endif
