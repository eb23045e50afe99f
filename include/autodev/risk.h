/*
 * Patch risk: how dangerous a piece of Python code is, judged by what a
 * change adds to (or removes from) its parent.
 *
 * AlphaEvolver scores each mutant's code against the parent version it was
 * mutated from; Memento scores every candidate's whole code (no parent).
 * The score only reads the code: nothing is run, so it is a reviewer's aid
 * and a gate's input, not a sandbox. The code is read with the project's
 * Python tokenizer (autodev/pytok.h), so strings and comments never count,
 * and names are resolved through the file's imports, so aliases
 * ("import subprocess as sp", "from os import system") are seen.
 *
 * The rules, each a finding with its level (README "Patch risk"):
 *   new_import      CRITICAL for subprocess, socket, ctypes, multiprocessing,
 *                   pty, signal and the network (urllib, http, requests,
 *                   ftplib, smtplib, ...); HIGH for os, sys, importlib, shutil,
 *                   pathlib, tempfile, pickle, marshal, ...; LOW for any
 *                   other. Also importlib.import_module("x") and
 *                   __import__("x").
 *   process, signal, network, native
 *                   CRITICAL: a use of those modules (sp.run, os.system,
 *                   os.kill, signal.signal, socket.socket, ctypes.CDLL, ...)
 *   dynamic_code    CRITICAL: eval, exec, compile, __import__, any use of
 *                   __builtins__, getattr/setattr/delattr on the builtins,
 *                   globals()[...] = ..., a module imported by a name
 *                   chosen at run time
 *   file_write      HIGH: open() with a mode holding w, a, x or + (or a
 *                   mode chosen at run time), .write_text/.write_bytes,
 *                   os.remove/unlink/rename/rmdir/..., shutil.rmtree/...
 *   removed_error_handling  MEDIUM: fewer try blocks than the parent
 *   swallowed_error MEDIUM: a bare "except:" or "except Exception: pass"
 *   removed_validation      MEDIUM: fewer raise, assert, isinstance,
 *                   issubclass and type(...) comparisons than the parent
 *   infinite_loop   MEDIUM: "while True:" whose body has no break or return
 *   recursion       LOW: a function that calls itself
 *   code_growth     LOW: the code is more than 3 times the parent's size
 *   unparseable     HIGH: invalid UTF-8, a NUL byte, a character Python
 *                   cannot read, an unterminated string, unbalanced or too
 *                   deep brackets, inconsistent indentation. Reported
 *                   whenever the code has it (it says the other rules may
 *                   have been misled), parent or not.
 *
 * What counts as added: an import is new when the parent imports no module
 * of the same top-level name; every other finding is counted per kind
 * ("calls os.system"), and only those beyond the parent's count are
 * reported (the ones whose statement the parent does not hold first).
 * Counts (try blocks, checks) compare the totals.
 */
#ifndef AUTODEV_RISK_H
#define AUTODEV_RISK_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/risk.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stddef.h>

#include <jansson.h>

#include "autodev/error.h"

enum ad_risk_level { AD_RISK_LOW = 0, AD_RISK_MEDIUM = 1, AD_RISK_HIGH = 2, AD_RISK_CRITICAL = 3 };

/* "LOW", "MEDIUM", "HIGH", "CRITICAL"; static, "?" for a value out of range. */
const char *ad_risk_level_name(enum ad_risk_level l);

/* Case-insensitive name to level: 0, or AD_EINVAL (s NULL or unknown; *out untouched). */
int ad_risk_level_parse(const char *s, enum ad_risk_level *out);

/* At most this many reasons are listed; the score counts every finding. */
#define AD_RISK_REASONS_MAX 50

struct ad_risk {
    enum ad_risk_level level;   /* the highest finding's; LOW when there is none */
    /*
     * 0..1, three decimals: LOW < 0.25 <= MEDIUM < 0.5 <= HIGH < 0.75 <=
     * CRITICAL. Within the tier it grows with the findings (those of the
     * level count 1, each level below half as much), never reaching the
     * next tier; 0 with no finding. Adding a finding never lowers it.
     */
    double score;
    /*
     * Owned; freed by ad_risk_release. An array of
     * {"rule": "new_import", "detail": "imports subprocess: runs programs",
     *  "line": N, "level": "CRITICAL"}, highest level first, then by line;
     * line is 1-based in the code, 0 for a finding about the whole code
     * (a removal, the size). Details are ASCII. At most AD_RISK_REASONS_MAX.
     */
    json_t *reasons;
    size_t findings;            /* every finding, listed or not (an addition to the contract) */
};

/* Frees r->reasons and zeroes *r; r may be NULL. */
void ad_risk_release(struct ad_risk *r);

/*
 * Scores code against its parent (NULL: the whole code counts as added, as
 * for Memento candidates). Both are C strings of any bytes up to
 * AD_SKILL_CODE_MAX (store.h). *out is overwritten (release it after, also
 * after an error). Bad code is a finding, never an error. Returns 0,
 * AD_ETOOBIG when either is longer than AD_SKILL_CODE_MAX, AD_ENOMEM.
 */
int ad_risk_score(const char *parent, const char *code, struct ad_risk *out, struct ad_err *err);

/*
 * The same over byte ranges, which may hold NUL bytes (a finding:
 * "unparseable", as Python refuses them). parent NULL: no parent.
 */
int ad_risk_score_n(const char *parent, size_t parent_len, const char *code, size_t code_len,
                    struct ad_risk *out, struct ad_err *err);

/* {"level": "HIGH", "score": 0.62, "findings": N, "reasons": [...]}: a new reference, NULL on ENOMEM. */
json_t *ad_risk_json(const struct ad_risk *r);

/* The level a score falls in (the tiers above); NAN or below 0 is LOW. */
enum ad_risk_level ad_risk_level_of_score(double score);

#endif
