/*
 * Patch risk (autodev/risk.h): the risky things in a piece of Python code,
 * those its parent does not have, and their score.
 *
 * A source is read once into its facts: its tokens (autodev/pytok.h), the
 * names its imports and definitions bind, and one occurrence per risky
 * thing, each with a key (what it is: "os.system", the module
 * "subprocess"), the hash of the statement it sits in and its line. The
 * diff matches the code's occurrences with the parent's, same key and
 * statement first, then same key anywhere; what is left over was added.
 *
 * Everything here reads untrusted text. Every token access is bounded by
 * the token count, brackets are matched once (Python's own limit of 200
 * levels, deeper is a finding), and no rule rescans what an enclosing rule
 * scanned: work is O(n log n) in the size of the code whatever it holds.
 *
 * Sections:
 *   the tables
 *   facts of one source: tokens, lines, the pool, occurrences
 *   unparseable code
 *   f-strings: their fields are code
 *   names: imports, definitions, aliases
 *   references: names, calls and their arguments
 *   statements and blocks
 *   the diff
 *   score and JSON
 *   the API
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/pytok.h"
#include "autodev/risk.h"
#include "autodev/store.h"

#define NONE ((size_t)-1)
#define BRACKETS_MAX 200     /* Python's tokenizer refuses deeper nesting (MAXLEVEL) */
#define INDENTS_MAX 100      /* and more indentation levels (MAXINDENT) */
#define NAME_SHOWN_MAX 64    /* bytes of a name a detail shows */
#define QUALIFIED_MAX 256    /* bytes of a qualified name compared with the tables */
#define LITERAL_MAX 256      /* bytes of a string literal read as a name or a mode */
#define GROWTH_FACTOR 3

/* ---- the tables ---------------------------------------------------------------- */

enum rule {
    R_UNPARSEABLE,
    R_IMPORT,
    R_DYNAMIC,
    R_PROCESS,
    R_SIGNAL,
    R_NETWORK,
    R_NATIVE,
    R_FILE_WRITE,
    R_ERRORS_REMOVED,
    R_SWALLOWED,
    R_VALIDATION_REMOVED,
    R_LOOP,
    R_RECURSION,
    R_GROWTH,
};

static const char *const rule_names[] = {
    "unparseable", "new_import", "dynamic_code", "process", "signal", "network", "native",
    "file_write", "removed_error_handling", "swallowed_error", "removed_validation",
    "infinite_loop", "recursion", "code_growth",
};

/*
 * Modules by top-level name: the level of a new import of one, and the rule
 * of a use of it (sp.run, socket.socket); R_IMPORT where a use is no
 * finding of its own (os: its dangerous calls are listed one by one below).
 * Any other module is a LOW import.
 */
struct module_rule {
    const char *name;
    enum ad_risk_level level;
    enum rule use;
    const char *what;
};

static const struct module_rule modules[] = {
    { "subprocess", AD_RISK_CRITICAL, R_PROCESS, "runs programs" },
    { "_posixsubprocess", AD_RISK_CRITICAL, R_PROCESS, "runs programs" },
    { "pty", AD_RISK_CRITICAL, R_PROCESS, "runs programs on a terminal" },
    { "multiprocessing", AD_RISK_CRITICAL, R_PROCESS, "starts processes" },
    { "socket", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "socketserver", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "ssl", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "urllib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "urllib3", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "http", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "requests", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "httpx", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "aiohttp", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "ftplib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "smtplib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "telnetlib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "imaplib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "poplib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "nntplib", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "xmlrpc", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    { "webbrowser", AD_RISK_CRITICAL, R_NETWORK, "the network" },
    /* Signals: sent to others (os.kill is below), or ignored to outlive a time limit. */
    { "signal", AD_RISK_CRITICAL, R_SIGNAL, "sends and catches signals" },
    { "ctypes", AD_RISK_CRITICAL, R_NATIVE, "calls native code" },
    { "cffi", AD_RISK_CRITICAL, R_NATIVE, "calls native code" },
    { "os", AD_RISK_HIGH, R_IMPORT, "the operating system" },
    { "posix", AD_RISK_HIGH, R_IMPORT, "the operating system" },
    { "nt", AD_RISK_HIGH, R_IMPORT, "the operating system" },
    { "sys", AD_RISK_HIGH, R_IMPORT, "the interpreter" },
    { "builtins", AD_RISK_HIGH, R_IMPORT, "the builtins" },
    { "importlib", AD_RISK_HIGH, R_IMPORT, "imports modules by name" },
    { "code", AD_RISK_HIGH, R_IMPORT, "runs Python source" },
    { "codeop", AD_RISK_HIGH, R_IMPORT, "compiles Python source" },
    { "shutil", AD_RISK_HIGH, R_IMPORT, "copies and deletes files" },
    { "pathlib", AD_RISK_HIGH, R_IMPORT, "files" },
    { "tempfile", AD_RISK_HIGH, R_IMPORT, "temporary files" },
    { "pickle", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "_pickle", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "cPickle", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "marshal", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "shelve", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "dill", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
    { "cloudpickle", AD_RISK_HIGH, R_IMPORT, "deserialisation" },
};

/* Calls (and any other use) by qualified name; prefix: "os.exec" covers os.execv, ... */
struct call_rule {
    const char *name;
    bool prefix;
    enum rule rule;
    enum ad_risk_level level;
    const char *what;
};

static const struct call_rule calls[] = {
    { "os.system", false, R_PROCESS, AD_RISK_CRITICAL, "runs a shell command" },
    { "os.popen", false, R_PROCESS, AD_RISK_CRITICAL, "runs a shell command" },
    { "os.exec", true, R_PROCESS, AD_RISK_CRITICAL, "runs a program" },
    { "os.spawn", true, R_PROCESS, AD_RISK_CRITICAL, "runs a program" },
    { "os.posix_spawn", true, R_PROCESS, AD_RISK_CRITICAL, "runs a program" },
    { "os.startfile", false, R_PROCESS, AD_RISK_CRITICAL, "runs a program" },
    { "os.fork", true, R_PROCESS, AD_RISK_CRITICAL, "forks the process" },
    { "os.kill", true, R_SIGNAL, AD_RISK_CRITICAL, "sends a signal" },
    { "os.pidfd_send_signal", false, R_SIGNAL, AD_RISK_CRITICAL, "sends a signal" },
    { "os.remove", false, R_FILE_WRITE, AD_RISK_HIGH, "deletes a file" },
    { "os.unlink", false, R_FILE_WRITE, AD_RISK_HIGH, "deletes a file" },
    { "os.rmdir", false, R_FILE_WRITE, AD_RISK_HIGH, "removes a directory" },
    { "os.removedirs", false, R_FILE_WRITE, AD_RISK_HIGH, "removes directories" },
    { "os.rename", false, R_FILE_WRITE, AD_RISK_HIGH, "renames a file" },
    { "os.renames", false, R_FILE_WRITE, AD_RISK_HIGH, "renames a file" },
    { "os.replace", false, R_FILE_WRITE, AD_RISK_HIGH, "replaces a file" },
    { "os.truncate", false, R_FILE_WRITE, AD_RISK_HIGH, "truncates a file" },
    { "os.mkdir", false, R_FILE_WRITE, AD_RISK_HIGH, "creates a directory" },
    { "os.makedirs", false, R_FILE_WRITE, AD_RISK_HIGH, "creates directories" },
    { "os.mkfifo", false, R_FILE_WRITE, AD_RISK_HIGH, "creates a file" },
    { "os.mknod", false, R_FILE_WRITE, AD_RISK_HIGH, "creates a file" },
    { "os.symlink", false, R_FILE_WRITE, AD_RISK_HIGH, "creates a link" },
    { "os.link", false, R_FILE_WRITE, AD_RISK_HIGH, "creates a link" },
    { "os.chmod", false, R_FILE_WRITE, AD_RISK_HIGH, "changes permissions" },
    { "os.chown", false, R_FILE_WRITE, AD_RISK_HIGH, "changes an owner" },
    { "os.open", false, R_FILE_WRITE, AD_RISK_HIGH, "opens a file descriptor" },
    { "os.write", false, R_FILE_WRITE, AD_RISK_HIGH, "writes to a file descriptor" },
    { "shutil.rmtree", false, R_FILE_WRITE, AD_RISK_HIGH, "deletes a directory tree" },
    { "shutil.move", false, R_FILE_WRITE, AD_RISK_HIGH, "moves files" },
    { "shutil.copy", true, R_FILE_WRITE, AD_RISK_HIGH, "copies files" },
    { "shutil.make_archive", false, R_FILE_WRITE, AD_RISK_HIGH, "writes an archive" },
    { "shutil.unpack_archive", false, R_FILE_WRITE, AD_RISK_HIGH, "unpacks an archive" },
    { "shutil.chown", false, R_FILE_WRITE, AD_RISK_HIGH, "changes an owner" },
};

/* Builtins that run code made at run time. */
static const char *const dynamic_builtins[] = { "eval", "exec", "compile", "__import__" };

/* Names whose mere use reaches the interpreter's insides (the classic sandbox escapes). */
static const char *const internals[] = { "__builtins__", "__globals__", "__subclasses__" };

/* Methods that write or delete files whatever object they are called on (pathlib's). */
static const char *const write_methods[] = { "write_text", "write_bytes", "unlink", "rmdir",
                                             "rmtree" };

/* What may follow globals() to change it. */
static const char *const globals_writers[] = { "update", "__setitem__", "setdefault", "pop",
                                               "popitem", "__delitem__", "clear" };

/* Calls that open a file with open()'s arguments (file, mode, ...). */
static const char *const open_calls[] = { "io.open", "codecs.open", "os.fdopen" };

static bool in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return true;
    }
    return false;
}

#define IN_LIST(list, s, len) in_list((list), AD_ARRAY_SIZE(list), (s), (len))

/* The module rule of a qualified name's top-level module, NULL for any other. */
static const struct module_rule *module_of(const char *q, size_t len)
{
    const char *dot = memchr(q, '.', len);
    size_t root = dot ? (size_t)(dot - q) : len;

    for (size_t i = 0; i < AD_ARRAY_SIZE(modules); i++) {
        if (strlen(modules[i].name) == root && memcmp(modules[i].name, q, root) == 0)
            return &modules[i];
    }
    return NULL;
}

static const struct call_rule *call_of(const char *q, size_t len)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(calls); i++) {
        size_t n = strlen(calls[i].name);

        if ((calls[i].prefix ? len >= n : len == n) && memcmp(calls[i].name, q, n) == 0)
            return &calls[i];
    }
    return NULL;
}

/* ---- facts of one source: tokens, lines, the pool, occurrences ----------------- */

struct occ {
    enum rule rule;
    enum ad_risk_level level;
    int line;                 /* 1-based; 0: about the whole code */
    bool added;
    uint64_t ctx;             /* hash of its statement (logical line) */
    size_t key_off, key_len;  /* what it is, in the pool */
    size_t det_off, det_len;  /* what a reviewer reads, in the pool */
    const char *key;          /* pool + key_off, once the pool is final */
};

enum bind_kind { B_NONE, B_IMPORT, B_LOCAL, B_BUILTIN };

/* A name bound by an import ("sp" -> "subprocess"), a definition, or an alias of a builtin. */
struct binding {
    const char *name;         /* in the source; NULL: a free slot */
    size_t len;
    enum bind_kind kind;
    size_t q_off, q_len;      /* what it stands for, in the pool */
};

/* A replacement field of an f-string, read as code after the source (section f-strings). */
struct vfield {
    size_t off;
    int line;
};

/* A call of a plain name (or self.name), for recursion. */
struct call_site {
    const char *name;
    size_t len;
    long lline;
    size_t sig;
};

struct facts {
    const char *src;
    size_t len;               /* of the source; src may run on (virtual lines) */
    struct ad_pytok t;
    size_t *sig;              /* indices of the significant tokens */
    size_t nsig;
    size_t *match;            /* per sig: the sig index of the matching bracket, or NONE */
    size_t *lsig;             /* per logical line: its first sig; lsig[nlines] == nsig */
    uint64_t *lhash;          /* per logical line: hash of its significant tokens */
    bool *lbreak, *lreturn;   /* per logical line: holds a break / a return */
    struct binding *names;
    size_t ncap, nnames;
    const struct module_rule *stars[AD_ARRAY_SIZE(modules)];   /* "from M import *" of the tables */
    size_t nstars;
    struct call_site *sites;
    size_t nsites, scap;
    struct occ *occ;
    size_t nocc, ocap;
    struct ad_buf pool;       /* keys, details, qualified names */
    struct ad_buf q;          /* the qualified name being resolved */
    struct ad_buf aug;        /* the source, then its f-strings' fields (virtual lines) */
    struct vfield *vf;        /* where each field starts in aug, and its f-string's line */
    size_t nvf, vfcap;
    size_t ntry, nchecks;
    bool bad;                 /* unparseable: the first reason below */
    int bad_line;
    char bad_why[128];
};

static const struct ad_tok *tk(const struct facts *f, size_t i)
{
    return &f->t.toks[f->sig[i]];
}

static bool is_op(const struct facts *f, size_t i, const char *s)
{
    return i < f->nsig && tk(f, i)->kind == AD_TOK_OP && ad_tok_is(f->src, tk(f, i), s);
}

static bool is_name(const struct facts *f, size_t i, const char *s)
{
    return i < f->nsig && tk(f, i)->kind == AD_TOK_NAME && ad_tok_is(f->src, tk(f, i), s);
}

static bool is_a_name(const struct facts *f, size_t i)
{
    return i < f->nsig && tk(f, i)->kind == AD_TOK_NAME;
}

static const char *text(const struct facts *f, size_t i)
{
    return f->src + tk(f, i)->off;
}

/* A token's line in the source; a virtual one's is its f-string's. */
static int tok_line(const struct facts *f, const struct ad_tok *t)
{
    size_t lo = 0, hi = f->nvf;

    if (t->off < f->len || !f->nvf)
        return t->line;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (f->vf[mid].off <= t->off)
            lo = mid;
        else
            hi = mid;
    }
    return f->vf[lo].line;
}

static long lline_of(const struct facts *f, size_t i)
{
    long l = tk(f, i)->lline;

    return l >= 0 && (size_t)l < f->t.nlines ? l : 0;
}

/* One past the last significant token of i's logical line. */
static size_t line_end(const struct facts *f, size_t i)
{
    return f->lsig[lline_of(f, i) + 1];
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

#define FNV_INIT 14695981039346656037ULL

static void facts_release(struct facts *f)
{
    ad_pytok_release(&f->t);
    free(f->sig);
    free(f->match);
    free(f->lsig);
    free(f->lhash);
    free(f->lbreak);
    free(f->lreturn);
    free(f->names);
    free(f->sites);
    free(f->occ);
    free(f->vf);
    ad_buf_release(&f->aug);
    ad_buf_release(&f->pool);
    ad_buf_release(&f->q);
}

/* A name as a detail shows it: printable ASCII, other bytes as \xNN, clipped. */
static int add_shown(struct ad_buf *b, const char *p, size_t n)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n && i < NAME_SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)p[i];

        rc = c >= 0x20 && c < 0x7f ? ad_buf_addch(b, (char)c) : ad_buf_addf(b, "\\x%02x", c);
    }
    if (rc == 0 && n > NAME_SHOWN_MAX)
        rc = ad_buf_adds(b, "...");
    return rc;
}

/*
 * Records an occurrence at significant token at (NONE: the whole code):
 * its key, and the detail pre + name (shown safely) + post.
 */
static int occ_add(struct facts *f, enum rule r, enum ad_risk_level lv, size_t at,
                   const char *key, size_t klen, const char *pre, const char *name, size_t nlen,
                   const char *post)
{
    struct occ *o;
    int rc;

    if (f->nocc == f->ocap) {
        size_t ncap = f->ocap ? f->ocap * 2 : 32;
        void *p = realloc(f->occ, ncap * sizeof(*f->occ));

        if (!p)
            return AD_ENOMEM;
        f->occ = p;
        f->ocap = ncap;
    }
    o = &f->occ[f->nocc];
    memset(o, 0, sizeof(*o));
    o->rule = r;
    o->level = lv;
    o->line = at == NONE ? 0 : tok_line(f, tk(f, at));
    o->ctx = at == NONE ? 0 : f->lhash[lline_of(f, at)];
    o->key_off = f->pool.len;
    o->key_len = klen;
    rc = ad_buf_add(&f->pool, key, klen);
    o->det_off = f->pool.len;
    if (rc == 0 && pre)
        rc = ad_buf_adds(&f->pool, pre);
    if (rc == 0 && name)
        rc = add_shown(&f->pool, name, nlen);
    if (rc == 0 && post)
        rc = ad_buf_adds(&f->pool, post);
    if (rc < 0)
        return AD_ENOMEM;
    o->det_len = f->pool.len - o->det_off;
    f->nocc++;
    return 0;
}

/* The significant tokens, each logical line's range of them and its hash. */
static int index_tokens(struct facts *f)
{
    size_t n = 0, nl = f->t.nlines;

    f->sig = malloc((f->t.ntoks ? f->t.ntoks : 1) * sizeof(*f->sig));
    f->match = malloc((f->t.ntoks ? f->t.ntoks : 1) * sizeof(*f->match));
    f->lsig = malloc((nl + 1) * sizeof(*f->lsig));
    f->lhash = calloc(nl + 1, sizeof(*f->lhash));
    f->lbreak = calloc(nl + 1, sizeof(*f->lbreak));
    f->lreturn = calloc(nl + 1, sizeof(*f->lreturn));
    if (!f->sig || !f->match || !f->lsig || !f->lhash || !f->lbreak || !f->lreturn)
        return AD_ENOMEM;
    for (size_t l = 0; l <= nl; l++)
        f->lsig[l] = NONE;
    for (size_t i = 0; i < f->t.ntoks; i++) {
        if (ad_tok_significant(&f->t.toks[i]))
            f->sig[n++] = i;
    }
    f->nsig = n;
    for (size_t i = 0; i < n; i++) {
        long l = lline_of(f, i);
        const struct ad_tok *t = tk(f, i);

        if (f->lsig[l] == NONE)
            f->lsig[l] = i;
        f->lhash[l] = fnv(f->src + t->off, t->len, fnv(" ", 1, f->lhash[l] ? f->lhash[l]
                                                                          : FNV_INIT));
        f->lbreak[l] |= is_name(f, i, "break");
        f->lreturn[l] |= is_name(f, i, "return");
    }
    /* A line without a significant token (none should exist) starts where the next does. */
    f->lsig[nl] = n;
    for (size_t l = nl; l-- > 0;) {
        if (f->lsig[l] == NONE)
            f->lsig[l] = f->lsig[l + 1];
    }
    return 0;
}

/* ---- unparseable code --------------------------------------------------------- */

static void set_bad(struct facts *f, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_bad(struct facts *f, int line, const char *fmt, ...)
{
    va_list ap;

    if (f->bad)
        return;
    f->bad = true;
    f->bad_line = line;
    va_start(ap, fmt);
    vsnprintf(f->bad_why, sizeof(f->bad_why), fmt, ap);
    va_end(ap);
}

/* Offset of the first byte that is not strict UTF-8, or len. */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3;
        else
            return i;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (i + need >= len)
            return i;
        for (size_t k = 1; k <= need; k++) {
            unsigned char d = s[i + k];

            if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf))
                return i;
        }
        i += need + 1;
    }
    return len;
}

static int line_at(const char *s, size_t off)
{
    int line = 1;

    for (size_t i = 0; i < off; i++)
        line += s[i] == '\n';
    return line;
}

/* Bytes: NUL, UTF-8; tokens: what the tokenizer could not place, strings left open. */
static void check_bytes(struct facts *f)
{
    const char *nul = memchr(f->src, '\0', f->len);
    size_t bad = utf8_bad((const unsigned char *)f->src, f->len);

    if (nul)
        set_bad(f, line_at(f->src, (size_t)(nul - f->src)), "the code holds a NUL byte");
    if (bad < f->len)
        set_bad(f, line_at(f->src, bad), "the code is not valid UTF-8 (byte 0x%02x)",
                (unsigned char)f->src[bad]);
    for (size_t i = 0; i < f->nsig && !f->bad && tk(f, i)->off < f->len; i++) {
        const struct ad_tok *t = tk(f, i);
        unsigned char c = (unsigned char)f->src[t->off];

        if (t->kind == AD_TOK_ERROR)
            set_bad(f, t->line, c >= 0x21 && c < 0x7f ? "a character Python cannot read: '%c'"
                                                      : "a byte Python cannot read: 0x%02x", c);
        else if (t->flags & AD_TOKF_UNTERMINATED)
            set_bad(f, t->line, "an unterminated string");
    }
}

static char closer_of(char c)
{
    return c == '(' ? ')' : c == '[' ? ']' : '}';
}

/* Matches brackets (f->match); mismatched, unclosed or too deep ones make the code unparseable. */
static void match_brackets(struct facts *f)
{
    size_t stack[BRACKETS_MAX];
    size_t depth = 0, over = 0;

    for (size_t i = 0; i < f->nsig; i++) {
        const struct ad_tok *t = tk(f, i);
        char c = t->kind == AD_TOK_OP && t->len == 1 ? f->src[t->off] : 0;

        f->match[i] = NONE;
        if (c == '(' || c == '[' || c == '{') {
            if (depth == BRACKETS_MAX) {
                over++;
                set_bad(f, tok_line(f, t), "brackets nested deeper than %d", BRACKETS_MAX);
            } else {
                stack[depth++] = i;
            }
        } else if (c == ')' || c == ']' || c == '}') {
            if (over) {
                over--;
            } else if (depth == 0) {
                set_bad(f, tok_line(f, t), "an unmatched '%c'", c);
            } else {
                size_t o = stack[--depth];

                if (closer_of(text(f, o)[0]) != c)
                    set_bad(f, tok_line(f, t), "a '%c' closes a '%c'", c, text(f, o)[0]);
                f->match[o] = i;
                f->match[i] = o;
            }
        }
    }
    if (depth)
        set_bad(f, tok_line(f, tk(f, stack[depth - 1])), "a '%c' is never closed",
                text(f, stack[depth - 1])[0]);
}

/* The last significant token of logical line l is a ':' (a block header). */
static bool ends_block_header(const struct facts *f, size_t l)
{
    return f->lsig[l + 1] > f->lsig[l] && is_op(f, f->lsig[l + 1] - 1, ":");
}

/* Indentation as Python checks it: blocks indented, dedents to an outer level. */
static void check_indent(struct facts *f)
{
    int stack[INDENTS_MAX + 1];
    size_t depth = 1, nl = 0;

    /* The source's own lines only, not the f-strings' fields after them. */
    while (nl < f->t.nlines && f->t.lines[nl].start < f->len)
        nl++;
    stack[0] = 0;
    for (size_t l = 0; l < nl && !f->bad; l++) {
        int ind = f->t.lines[l].indent, line = f->t.lines[l].first_line;
        bool header = l > 0 && ends_block_header(f, l - 1);

        if (header && ind <= stack[depth - 1]) {
            set_bad(f, line, "expected an indented block");
        } else if (header) {
            if (depth > INDENTS_MAX)
                set_bad(f, line, "more than %d levels of indentation", INDENTS_MAX);
            else
                stack[depth++] = ind;
        } else if (ind > stack[depth - 1]) {
            set_bad(f, line, "an unexpected indent");
        } else {
            while (depth > 1 && ind < stack[depth - 1])
                depth--;
            if (ind != stack[depth - 1])
                set_bad(f, line, "a dedent that matches no outer level");
        }
    }
    if (nl && ends_block_header(f, nl - 1))
        set_bad(f, f->t.lines[nl - 1].last_line, "expected an indented block at the end");
}

/* ---- f-strings: their fields are code ---------------------------------------------- */

#define FSTRING_DEPTH_MAX 4   /* f-strings in f-strings' fields read; deeper is a finding */

static bool is_fstring(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '"' && s[i] != '\''; i++) {
        if ((s[i] | 0x20) == 'f' || (s[i] | 0x20) == 't')
            return true;
    }
    return false;
}

/* One past the string literal whose quote is at s[i], or end. */
static size_t skip_quoted(const char *s, size_t i, size_t end)
{
    char q = s[i];
    bool triple = i + 2 < end && s[i + 1] == q && s[i + 2] == q;

    for (i += triple ? 3 : 1; i < end; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == q && (!triple || (i + 2 < end && s[i + 1] == q && s[i + 2] == q)))
            return i + (triple ? 3 : 1);
    }
    return end;
}

static int fstring_fields(struct facts *f, const char *s, size_t n, bool closed, int line,
                          int depth);

/*
 * A field of names, numbers, operators and balanced brackets only (most
 * are: "x", "a.b:>10"): no string, comment or stray byte can be in it, so
 * it needs no tokenizer to be known clean.
 */
static bool simple_field(const char *s, size_t n)
{
    long d = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '(' || c == '[' || c == '{')
            d++;
        else if (c == ')' || c == ']' || c == '}')
            d--;
        if (d < 0 || !(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || (c && strchr("_ +-*/%@&|^~<>()[]{},:;.=!", c))))
            return false;
    }
    return d == 0;
}

/*
 * One field's text, read alone: when it is balanced code (no string left
 * open, no comment, brackets closed) it is appended to aug as the virtual
 * line "(field)", where the rules see it; else the code is unparseable.
 */
static int add_field(struct facts *f, const char *s, size_t n, int line, int depth)
{
    struct ad_pytok t = AD_PYTOK_INIT;
    long d = 0;
    bool clean = true;
    int rc = simple_field(s, n) ? 0 : ad_pytok_run(s, n, &t, NULL);

    for (size_t i = 0; rc == 0 && clean && i < t.ntoks; i++) {
        const struct ad_tok *k = &t.toks[i];
        char c = k->kind == AD_TOK_OP && k->len == 1 ? s[k->off] : 0;

        d += c == '(' || c == '[' || c == '{';
        d -= c == ')' || c == ']' || c == '}';
        clean = d >= 0 && k->kind != AD_TOK_COMMENT && k->kind != AD_TOK_ERROR &&
                !(k->flags & AD_TOKF_UNTERMINATED);
    }
    if (rc == 0 && (!clean || d != 0)) {
        set_bad(f, line, "an f-string field that cannot be read");
    } else if (rc == 0) {
        if (f->nvf == f->vfcap) {
            size_t ncap = f->vfcap ? f->vfcap * 2 : 16;
            void *p = realloc(f->vf, ncap * sizeof(*f->vf));

            if (!p)
                rc = AD_ENOMEM;
            else {
                f->vf = p;
                f->vfcap = ncap;
            }
        }
        if (rc == 0) {
            f->vf[f->nvf++] = (struct vfield){ f->aug.len, line };
            rc = ad_buf_addch(&f->aug, '(');
        }
        if (rc == 0)
            rc = ad_buf_add(&f->aug, s, n);
        if (rc == 0)
            rc = ad_buf_add(&f->aug, ")\n", 2);
        if (rc == AD_ETOOBIG) {
            set_bad(f, line, "f-strings with more fields than a patch risk reads");
            rc = 0;
        }
    }
    for (size_t i = 0; rc == 0 && i < t.ntoks; i++) {
        const struct ad_tok *k = &t.toks[i];

        if (clean && k->kind == AD_TOK_STRING && is_fstring(s + k->off, k->len))
            rc = fstring_fields(f, s + k->off, k->len, !(k->flags & AD_TOKF_UNTERMINATED), line,
                                depth + 1);
    }
    ad_pytok_release(&t);
    return rc < 0 ? AD_ENOMEM : 0;
}

/*
 * The replacement fields of the f-string token s[0, n): the text between
 * each '{' (not "{{") and its '}', a format spec with its own fields
 * included (they read as code too: "x:>{w}" is x, :, >, {w}).
 */
static int fstring_fields(struct facts *f, const char *s, size_t n, bool closed, int line,
                          int depth)
{
    size_t p = 0, q, end, i;
    int rc = 0;

    if (depth > FSTRING_DEPTH_MAX) {
        set_bad(f, line, "f-strings nested deeper than %d", FSTRING_DEPTH_MAX);
        return 0;
    }
    while (p < n && s[p] != '"' && s[p] != '\'')
        p++;
    if (p >= n)
        return 0;
    q = p + 2 < n && s[p + 1] == s[p] && s[p + 2] == s[p] && (!closed || n - p >= 6) ? 3 : 1;
    end = closed && n >= p + 2 * q ? n - q : n;
    for (i = p + q; rc == 0 && i < end;) {
        size_t a;
        int d = 0;

        if (s[i] != '{' || (i + 1 < end && s[i + 1] == '{')) {
            i += s[i] == '{' ? 2 : 1;
            continue;
        }
        for (a = ++i; i < end; i++) {
            if (s[i] == '\'' || s[i] == '"') {
                i = skip_quoted(s, i, end) - 1;
            } else if (s[i] == '{' || s[i] == '(' || s[i] == '[') {
                d++;
            } else if ((s[i] == ')' || s[i] == ']') && d > 0) {
                d--;
            } else if (s[i] == '}') {
                if (d == 0)
                    break;
                d--;
            }
        }
        if (i > a)
            rc = add_field(f, s + a, i - a, line, depth);
        i++;
    }
    return rc;
}

/* Appends b's tokens and lines to a's as if b's text followed at offset base. */
static int merge_tokens(struct ad_pytok *a, const struct ad_pytok *b, size_t base)
{
    struct ad_tok *t = realloc(a->toks, (a->ntoks + b->ntoks + 1) * sizeof(*t));
    struct ad_pyline *l;
    size_t t0 = a->ntoks, l0 = a->nlines;

    if (!t)
        return AD_ENOMEM;
    a->toks = t;
    l = realloc(a->lines, (a->nlines + b->nlines + 1) * sizeof(*l));
    if (!l)
        return AD_ENOMEM;
    a->lines = l;
    for (size_t i = 0; i < b->ntoks; i++) {
        t[t0 + i] = b->toks[i];
        t[t0 + i].off += base;
        t[t0 + i].lline = b->toks[i].lline < 0 ? -1 : b->toks[i].lline + (long)l0;
    }
    for (size_t i = 0; i < b->nlines; i++) {
        l[l0 + i] = b->lines[i];
        l[l0 + i].start += base;
        l[l0 + i].end += base;
        l[l0 + i].tok_first += t0;
        l[l0 + i].tok_end += t0;
    }
    a->ntoks += b->ntoks;
    a->nlines += b->nlines;
    return 0;
}

/*
 * Reads the fields of the source's f-strings as code: each becomes a
 * virtual line after the source (in aug, so src points there after),
 * tokenised on its own so nothing in the source can swallow it, and
 * found at its f-string's line (tok_line).
 */
static int expand_fstrings(struct facts *f)
{
    struct ad_pytok v = AD_PYTOK_INIT;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < f->t.ntoks; i++) {
        const struct ad_tok *k = &f->t.toks[i];

        if (k->kind != AD_TOK_STRING || !is_fstring(f->src + k->off, k->len))
            continue;
        if (f->aug.len == 0)
            rc = ad_buf_add(&f->aug, f->src, f->len) < 0 ? AD_ENOMEM : 0;
        if (rc == 0)
            rc = fstring_fields(f, f->src + k->off, k->len, !(k->flags & AD_TOKF_UNTERMINATED),
                                k->line, 1);
    }
    if (rc < 0 || f->nvf == 0)
        return rc;
    f->src = f->aug.ptr;
    rc = ad_pytok_run(f->aug.ptr + f->len, f->aug.len - f->len, &v, NULL);
    if (rc == 0)
        rc = merge_tokens(&f->t, &v, f->len);
    ad_pytok_release(&v);
    return rc < 0 ? AD_ENOMEM : 0;
}

/* ---- names: imports, definitions, aliases -------------------------------------- */

static struct binding *names_slot(struct binding *v, size_t cap, const char *p, size_t n)
{
    size_t i = (size_t)fnv(p, n, FNV_INIT) & (cap - 1);

    while (v[i].name && !(v[i].len == n && memcmp(v[i].name, p, n) == 0))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static const struct binding *names_find(const struct facts *f, const char *p, size_t n)
{
    const struct binding *b;

    if (!f->ncap)
        return NULL;
    b = names_slot(f->names, f->ncap, p, n);
    return b->name ? b : NULL;
}

/* Binds name to q; an import's binding is never replaced by a definition's. */
static int names_put(struct facts *f, const char *p, size_t n, enum bind_kind kind,
                     const char *q, size_t qn)
{
    struct binding *b;

    if (qn > QUALIFIED_MAX)
        qn = QUALIFIED_MAX;
    if ((f->nnames + 1) * 2 > f->ncap) {
        size_t ncap = f->ncap ? f->ncap * 2 : 64;
        struct binding *v = calloc(ncap, sizeof(*v));

        if (!v)
            return AD_ENOMEM;
        for (size_t i = 0; i < f->ncap; i++) {
            if (f->names[i].name)
                *names_slot(v, ncap, f->names[i].name, f->names[i].len) = f->names[i];
        }
        free(f->names);
        f->names = v;
        f->ncap = ncap;
    }
    b = names_slot(f->names, f->ncap, p, n);
    if (b->name && b->kind == B_IMPORT && kind != B_IMPORT)
        return 0;
    if (!b->name)
        f->nnames++;
    b->name = p;
    b->len = n;
    b->kind = kind;
    b->q_off = f->pool.len;
    b->q_len = qn;
    return ad_buf_add(&f->pool, q, qn) < 0 ? AD_ENOMEM : 0;
}

static const char *bound_q(const struct facts *f, const struct binding *b)
{
    return f->pool.ptr + b->q_off;
}

/* Appends the text of the dotted name in sig [a, b) (whitespace between tokens dropped). */
static int add_dotted(const struct facts *f, struct ad_buf *out, size_t a, size_t b)
{
    int rc = 0;

    for (size_t i = a; rc == 0 && i < b && out->len < QUALIFIED_MAX; i++) {
        size_t room = QUALIFIED_MAX - out->len;

        rc = ad_buf_add(out, text(f, i), tk(f, i)->len < room ? tk(f, i)->len : room);
    }
    return rc < 0 ? AD_ENOMEM : 0;
}

/* The text of the dotted name in sig [a, b) into m, clipped to QUALIFIED_MAX: its length. */
static size_t dotted_text(const struct facts *f, size_t a, size_t b, char m[QUALIFIED_MAX + 1])
{
    size_t n = 0;

    for (size_t i = a; i < b && n < QUALIFIED_MAX; i++) {
        size_t k = tk(f, i)->len < QUALIFIED_MAX - n ? tk(f, i)->len : QUALIFIED_MAX - n;

        memcpy(m + n, text(f, i), k);
        n += k;
    }
    m[n] = '\0';
    return n;
}

/* One past a dotted name NAME ('.' NAME)* starting at i, within end. */
static size_t dotted_end(const struct facts *f, size_t i, size_t end)
{
    size_t b = i + 1;

    while (b + 1 < end && is_op(f, b, ".") && is_a_name(f, b + 1))
        b += 2;
    return b;
}

/*
 * An import of module m (its text, possibly relative ".x") at sig at: a
 * finding keyed by its top-level name, at the module's level. how: " (by
 * importlib.import_module)" and the like, or "".
 */
static int record_import(struct facts *f, size_t at, const char *m, size_t n, const char *how)
{
    const struct module_rule *mr = m[0] != '.' ? module_of(m, n) : NULL;
    const char *dot = m[0] != '.' ? memchr(m, '.', n) : NULL;
    size_t root = dot ? (size_t)(dot - m) : n;
    char post[128];

    snprintf(post, sizeof(post), "%s%s%s", how, mr ? ": " : "", mr ? mr->what : "");
    return occ_add(f, R_IMPORT, mr ? mr->level : AD_RISK_LOW, at, m, root, "imports ", m, n,
                   post);
}

/* "from M import *" of a module of the tables: its names may be called bare. */
static void add_star(struct facts *f, const char *m, size_t n)
{
    const struct module_rule *mr = module_of(m, n);
    bool in_calls = false;

    for (size_t i = 0; i < AD_ARRAY_SIZE(calls); i++) {
        const char *dot = strchr(calls[i].name, '.');

        in_calls |= dot && (size_t)(dot - calls[i].name) == n && !memcmp(calls[i].name, m, n);
    }
    if (!mr || (mr->use == R_IMPORT && !in_calls) || memchr(m, '.', n))
        return;
    for (size_t i = 0; i < f->nstars; i++) {
        if (f->stars[i] == mr)
            return;
    }
    if (f->nstars < AD_ARRAY_SIZE(f->stars))
        f->stars[f->nstars++] = mr;
}

/*
 * "import a.b [as c], d" at sig i (the "import"): binds the names and, when
 * record, notes the imports. Returns where the statement's names end.
 */
static size_t parse_import(struct facts *f, size_t i, bool record, int *rc)
{
    size_t end = line_end(f, i), j = i + 1;

    while (*rc == 0 && j < end && is_a_name(f, j)) {
        size_t b = dotted_end(f, j, end);
        char m[QUALIFIED_MAX + 1];
        size_t m_len = dotted_text(f, j, b, m);

        if (is_name(f, b, "as") && is_a_name(f, b + 1)) {
            *rc = names_put(f, text(f, b + 1), tk(f, b + 1)->len, B_IMPORT, m, m_len);
            b += 2;
        } else {
            *rc = names_put(f, text(f, j), tk(f, j)->len, B_IMPORT, text(f, j), tk(f, j)->len);
        }
        if (*rc == 0 && record)
            *rc = record_import(f, j, m, m_len, "");
        j = b;
        if (!is_op(f, j, ","))
            break;
        j++;
    }
    return j;
}

/*
 * "from M import a [as b], ..." or "from M import *" at sig i (the "from").
 * Returns where it ends, NONE when i starts no such statement ("yield from",
 * "raise ... from").
 */
static size_t parse_from(struct facts *f, size_t i, bool record, int *rc)
{
    size_t end = line_end(f, i), j = i + 1;
    char m[QUALIFIED_MAX + 1];
    size_t mn = 0;

    while (j < end && (is_op(f, j, ".") || is_op(f, j, "...") ||
                       (is_a_name(f, j) && !is_name(f, j, "import")))) {
        size_t k = tk(f, j)->len < QUALIFIED_MAX - mn ? tk(f, j)->len : QUALIFIED_MAX - mn;

        memcpy(m + mn, text(f, j), k);
        mn += k;
        j++;
    }
    m[mn] = '\0';
    if (j == i + 1 || !is_name(f, j, "import"))
        return NONE;
    if (record)
        *rc = record_import(f, i + 1, m, mn, "");
    j++;
    if (is_op(f, j, "*")) {
        add_star(f, m, mn);
        return j + 1;
    }
    if (is_op(f, j, "("))
        j++;
    while (*rc == 0 && j < end && is_a_name(f, j)) {
        size_t b = j + 1;
        char q[2 * QUALIFIED_MAX + 2];
        int qn = snprintf(q, sizeof(q), "%s.%.*s", m, (int)(tk(f, j)->len < QUALIFIED_MAX
                                                             ? tk(f, j)->len : QUALIFIED_MAX),
                          text(f, j));
        size_t as = j;

        if (is_name(f, b, "as") && is_a_name(f, b + 1)) {
            as = b + 1;
            b += 2;
        }
        *rc = names_put(f, text(f, as), tk(f, as)->len, B_IMPORT, q, (size_t)qn);
        j = b;
        if (!is_op(f, j, ","))
            break;
        j++;
    }
    return is_op(f, j, ")") ? j + 1 : j;
}

/* Resolves a chain head: its binding kind and what it stands for (into f->q). */
static enum bind_kind resolve_head(struct facts *f, size_t i)
{
    const struct binding *b = names_find(f, text(f, i), tk(f, i)->len);

    ad_buf_reset(&f->q);
    if (b && b->kind == B_LOCAL)
        return B_LOCAL;
    if (b) {
        if (ad_buf_add(&f->q, bound_q(f, b), b->q_len) < 0)
            return B_NONE;
        return b->kind;
    }
    if (ad_buf_add(&f->q, text(f, i), tk(f, i)->len < QUALIFIED_MAX ? tk(f, i)->len
                                                                    : QUALIFIED_MAX) < 0)
        return B_NONE;
    return B_BUILTIN;
}

/*
 * First pass: what the names stand for. Imports bind modules, def and
 * class bind local names, and "x = <dotted name>" of a module or a
 * builtin makes x an alias ("run = subprocess.run", "e = eval").
 */
static int bind_names(struct facts *f)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < f->nsig; i++) {
        size_t e;

        if (is_name(f, i, "import")) {
            i = parse_import(f, i, false, &rc) - 1;
        } else if (is_name(f, i, "from") && (e = parse_from(f, i, false, &rc)) != NONE) {
            i = e - 1;
        } else if ((is_name(f, i, "def") || is_name(f, i, "class")) && is_a_name(f, i + 1)) {
            rc = names_put(f, text(f, i + 1), tk(f, i + 1)->len, B_LOCAL, "", 0);
            i++;
        } else if (i == f->lsig[lline_of(f, i)] && is_a_name(f, i) && is_op(f, i + 1, "=") &&
                   is_a_name(f, i + 2) && dotted_end(f, i + 2, line_end(f, i)) ==
                   line_end(f, i)) {
            size_t end = line_end(f, i);
            enum bind_kind k = resolve_head(f, i + 2);

            if ((k == B_IMPORT || (k == B_BUILTIN && end == i + 3)) &&
                add_dotted(f, &f->q, i + 3, end) == 0)
                rc = names_put(f, text(f, i), tk(f, i)->len, k, f->q.ptr, f->q.len);
            i = end - 1;
        }
    }
    return rc;
}

/* ---- references: names, calls and their arguments ------------------------------- */

/*
 * The sig range [*a, *b) of argument pos (0-based positional) or keyword kw
 * of the call whose '(' is at open: 1 found, 0 absent, -1 unknown (a *args
 * or **kwargs, or unbalanced brackets).
 */
static int call_arg(const struct facts *f, size_t open, int pos, const char *kw, size_t *a,
                    size_t *b)
{
    size_t close = f->match[open], j = open + 1;
    int npos = 0;

    if (close == NONE || close < open)
        return -1;
    while (j < close) {
        size_t s = j;

        while (j < close && !is_op(f, j, ",")) {
            if (f->match[j] != NONE && f->match[j] > j)
                j = f->match[j];
            else if (f->match[j] == NONE && tk(f, j)->kind == AD_TOK_OP &&
                     strchr("([{", text(f, j)[0]) && tk(f, j)->len == 1)
                return -1;
            j++;
        }
        if (s < j && (is_op(f, s, "*") || is_op(f, s, "**")))
            return -1;
        if (s < j && is_a_name(f, s) && is_op(f, s + 1, "=")) {
            if (kw && ad_tok_is(f->src, tk(f, s), kw)) {
                *a = s + 2;
                *b = j;
                return 1;
            }
        } else if (s < j && npos++ == pos) {
            *a = s;
            *b = j;
            return 1;
        }
        j++;
    }
    return 0;
}

/*
 * The value of the string literal (implicit concatenation included) in sig
 * [a, b) into out (NUL-terminated, at most LITERAL_MAX bytes): 1, or 0 when
 * it is anything else (an f-string, an escape, a name, an expression).
 */
static int literal(const struct facts *f, size_t a, size_t b, char out[LITERAL_MAX + 1])
{
    size_t n = 0;

    if (a >= b)
        return 0;
    for (size_t i = a; i < b; i++) {
        const struct ad_tok *t = tk(f, i);
        const char *s = text(f, i);
        size_t p = 0, q, inner;
        bool raw = false;

        if (t->kind != AD_TOK_STRING || (t->flags & AD_TOKF_UNTERMINATED))
            return 0;
        while (p < t->len && s[p] != '"' && s[p] != '\'') {
            char c = (char)(s[p] | 0x20);

            if (c == 'f' || c == 't')
                return 0;
            raw |= c == 'r';
            p++;
        }
        q = p + 2 < t->len && s[p + 1] == s[p] && s[p + 2] == s[p] && t->len - p >= 6 ? 3 : 1;
        if (t->len < p + 2 * q)
            return 0;
        inner = t->len - p - 2 * q;
        if ((!raw && memchr(s + p + q, '\\', inner)) || n + inner > LITERAL_MAX)
            return 0;
        memcpy(out + n, s + p + q, inner);
        n += inner;
    }
    out[n] = '\0';
    return 1;
}

/* A mode string of open(): letters of "rwxabt+U" only. */
static bool mode_like(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 6 && strspn(s, "rwxabt+U") == n;
}

/* open(file, mode) and its kin at call '(' open: a write mode is HIGH, an unknown one too. */
static int rule_open(struct facts *f, size_t at, size_t open, const char *who, size_t wn)
{
    char mode[LITERAL_MAX + 1], key[LITERAL_MAX + 8];
    size_t a, b;
    int found = call_arg(f, open, 1, "mode", &a, &b);

    if (found == 0)
        return 0;
    if (found < 0 || !literal(f, a, b, mode))
        return occ_add(f, R_FILE_WRITE, AD_RISK_HIGH, at, "open:?", 6, "", who, wn,
                       "() opens a file with a mode chosen at run time");
    if (!strpbrk(mode, "wax+"))
        return 0;
    snprintf(key, sizeof(key), "open:%s", mode);
    return occ_add(f, R_FILE_WRITE, AD_RISK_HIGH, at, key, strlen(key), "", who, wn,
                   mode_like(mode) ? "() opens a file for writing" : "() opens a file with "
                                                                     "an odd mode");
}

/* x.open(...) on any object: a literal write mode among its first arguments is HIGH. */
static int rule_method_open(struct facts *f, size_t at, size_t open)
{
    char mode[LITERAL_MAX + 1];
    size_t a, b;

    for (int pos = 0; pos < 3; pos++) {
        int found = pos < 2 ? call_arg(f, open, pos, NULL, &a, &b)
                            : call_arg(f, open, 99, "mode", &a, &b);

        if (found == 1 && literal(f, a, b, mode) && mode_like(mode) && strpbrk(mode, "wax+"))
            return occ_add(f, R_FILE_WRITE, AD_RISK_HIGH, at, ".open:w", 7,
                           ".open() opens a file for writing", NULL, 0, NULL);
    }
    return 0;
}

/* A method called on any object (the name at sig i follows a '.'). */
static int rule_method(struct facts *f, size_t i)
{
    const char *s = text(f, i);
    size_t n = tk(f, i)->len;
    char key[32];

    if (!is_op(f, i + 1, "("))
        return 0;
    if (n == 4 && !memcmp(s, "open", 4))
        return rule_method_open(f, i, i + 1);
    if (!IN_LIST(write_methods, s, n))
        return 0;
    snprintf(key, sizeof(key), ".%.*s", (int)n, s);
    return occ_add(f, R_FILE_WRITE, AD_RISK_HIGH, i, key, strlen(key), "calls .", s, n,
                   "(), which writes or deletes files");
}

/* A qualified name against the tables; *hit when it matched. */
static int rule_qualified(struct facts *f, size_t at, const char *q, size_t qn, bool called,
                          bool *hit)
{
    const struct call_rule *c = call_of(q, qn);
    const struct module_rule *m = module_of(q, qn);
    char post[96];

    *hit = false;
    if (c) {
        *hit = true;
        snprintf(post, sizeof(post), ": %s", c->what);
        return occ_add(f, c->rule, c->level, at, q, qn, called ? "calls " : "uses ", q, qn,
                       post);
    }
    if (m && m->use != R_IMPORT && memchr(q, '.', qn)) {
        *hit = true;
        snprintf(post, sizeof(post), ": %s", m->what);
        return occ_add(f, m->use, m->level, at, q, qn, called ? "calls " : "uses ", q, qn,
                       post);
    }
    return 0;
}

/* importlib.import_module / __import__ at call '(' open: the module imported, or dynamic code. */
static int rule_import_call(struct facts *f, size_t at, size_t open, const char *how)
{
    char m[LITERAL_MAX + 1], post[96];
    size_t a, b;
    int found = call_arg(f, open, 0, "name", &a, &b);

    snprintf(post, sizeof(post), " (by %s)", how);
    if (found == 1 && literal(f, a, b, m) && m[0])
        return record_import(f, at, m, strlen(m), post);
    snprintf(post, sizeof(post), "%s() imports a module named at run time", how);
    return occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, at, "import:?", 8, post, NULL, 0, NULL);
}

/*
 * getattr/setattr/delattr(obj, name) at call '(' open: on the builtins
 * CRITICAL; on a module with a literal name, the use of that attribute;
 * with a name chosen at run time, CRITICAL on a module of HIGH or more,
 * and setattr/delattr on any module.
 */
static int rule_getattr(struct facts *f, size_t at, size_t open, const char *fn)
{
    char name[LITERAL_MAX + 1], q[QUALIFIED_MAX + LITERAL_MAX + 2];
    const struct module_rule *m;
    size_t a, b, a1, b1;
    enum bind_kind k;
    bool hit, get = !strcmp(fn, "getattr");
    char pre[64];

    if (call_arg(f, open, 0, NULL, &a, &b) != 1 || !is_a_name(f, a) ||
        dotted_end(f, a, b) != b)
        return 0;
    k = resolve_head(f, a);
    if (k == B_NONE || add_dotted(f, &f->q, a + 1, b) < 0)
        return AD_ENOMEM;
    if (k == B_IMPORT && f->q.len == 8 && !memcmp(f->q.ptr, "builtins", 8)) {
        snprintf(pre, sizeof(pre), "%s() on the builtins", fn);
        return occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, at, fn, strlen(fn), pre, NULL, 0, NULL);
    }
    if (k != B_IMPORT)
        return 0;
    snprintf(q, sizeof(q), "%.*s", (int)f->q.len, f->q.ptr);
    m = module_of(q, strlen(q));
    if (get && call_arg(f, open, 1, NULL, &a1, &b1) == 1 && literal(f, a1, b1, name)) {
        snprintf(q + strlen(q), sizeof(q) - strlen(q), ".%s", name);
        return rule_qualified(f, at, q, strlen(q), is_op(f, f->match[open] + 1, "("), &hit);
    }
    if (!m || m->level < AD_RISK_HIGH)
        return 0;
    snprintf(pre, sizeof(pre), "%s() on module ", fn);
    return occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, at, fn, strlen(fn), pre, q, strlen(q),
                   get ? " with a name chosen at run time" : "");
}

/* globals() at sig i, called at i + 1: written through ([...] =, .update(), del). */
static int rule_globals(struct facts *f, size_t i)
{
    size_t close = f->match[i + 1], after;
    bool writes = false;

    if (close != i + 2)
        return 0;
    after = close + 1;
    if (is_op(f, after, "[") && f->match[after] != NONE && f->match[after] > after) {
        size_t eq = f->match[after] + 1;
        const struct ad_tok *t = eq < f->nsig ? tk(f, eq) : NULL;

        writes = (t && t->kind == AD_TOK_OP && text(f, eq)[t->len - 1] == '=' &&
                  !is_op(f, eq, "==") && !is_op(f, eq, "<=") && !is_op(f, eq, ">=") &&
                  !is_op(f, eq, "!=")) || (i > 0 && is_name(f, i - 1, "del"));
    } else if (is_op(f, after, ".") && is_a_name(f, after + 1)) {
        writes = IN_LIST(globals_writers, text(f, after + 1), tk(f, after + 1)->len);
    }
    if (!writes)
        return 0;
    return occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, i, "globals()=", 10,
                   "writes into globals()", NULL, 0, NULL);
}

/* type(x) compared (type(x) == int, type(x) is str): a check. */
static bool type_check(const struct facts *f, size_t i)
{
    size_t close = f->match[i + 1];
    static const char *const cmp[] = { "==", "!=" };

    if (close == NONE)
        return false;
    if (is_name(f, close + 1, "is") || is_name(f, close + 1, "in") ||
        is_name(f, close + 1, "not") || is_op(f, close + 1, cmp[0]) ||
        is_op(f, close + 1, cmp[1]))
        return true;
    return i > 0 && (is_name(f, i - 1, "is") || is_op(f, i - 1, cmp[0]) ||
                     is_op(f, i - 1, cmp[1]));
}

/*
 * A builtin x referenced at sig i (more: parts of the dotted name after it),
 * called or not; open: the call's '('.
 */
static int rule_builtin(struct facts *f, size_t i, const char *x, size_t n, size_t more,
                        bool called, size_t open)
{
    int rc = 0;

    if (IN_LIST(dynamic_builtins, x, n)) {
        rc = occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, i, x, n, called ? "calls " : "uses ", x, n,
                     called ? "(), which runs code made at run time"
                            : ", which runs code made at run time");
        if (rc == 0 && called && n == 10 && !memcmp(x, "__import__", 10))
            rc = rule_import_call(f, i, open, "__import__");
        return rc;
    }
    if (more || !called)
        return 0;
    if ((n == 7 && !memcmp(x, "getattr", 7)) || (n == 7 && !memcmp(x, "setattr", 7)) ||
        (n == 7 && !memcmp(x, "delattr", 7))) {
        char fn[8];

        memcpy(fn, x, 7);
        fn[7] = '\0';
        return rule_getattr(f, i, open, fn);
    }
    if (n == 7 && !memcmp(x, "globals", 7))
        return rule_globals(f, i);
    if (n == 4 && !memcmp(x, "open", 4))
        return rule_open(f, i, open, "open", 4);
    if ((n == 10 && !memcmp(x, "isinstance", 10)) || (n == 10 && !memcmp(x, "issubclass", 10)) ||
        (n == 4 && !memcmp(x, "type", 4) && type_check(f, i)))
        f->nchecks++;
    return 0;
}

/* A call of a plain name or of self.name / cls.name at sig i, kept for recursion. */
static int note_call(struct facts *f, size_t i)
{
    if (f->nsites == f->scap) {
        size_t ncap = f->scap ? f->scap * 2 : 64;
        void *p = realloc(f->sites, ncap * sizeof(*f->sites));

        if (!p)
            return AD_ENOMEM;
        f->sites = p;
        f->scap = ncap;
    }
    f->sites[f->nsites++] = (struct call_site){ text(f, i), tk(f, i)->len, lline_of(f, i), i };
    return 0;
}

/*
 * The dotted name starting at sig i (not after a '.'): resolved through the
 * bindings and checked against the tables and the builtins; a method of
 * something else is checked by name. Returns one past the chain.
 */
static size_t rule_chain(struct facts *f, size_t i, int *rc)
{
    size_t end = line_end(f, i), b = dotted_end(f, i, end), more = (b - i - 1) / 2;
    bool called = is_op(f, b, "("), hit = false;
    enum bind_kind k;

    /*
     * A plain name given a value (x = ..., f(open=1), a parameter's default)
     * is no reference; an attribute given one (os.system = f) still is.
     */
    if (b == i + 1 && is_op(f, b, "="))
        return b;
    for (size_t p = i + 2; p < b; p += 2) {
        if (IN_LIST(internals, text(f, p), tk(f, p)->len)) {
            *rc = occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, p, text(f, p), tk(f, p)->len, "uses ",
                          text(f, p), tk(f, p)->len, ", the interpreter's insides");
            if (*rc < 0)
                return b;
        }
    }
    if (called && (more == 0 || (more == 1 && (is_name(f, i, "self") || is_name(f, i, "cls"))))) {
        *rc = note_call(f, b - 1);
        if (*rc < 0)
            return b;
    }
    k = resolve_head(f, i);
    if (k == B_NONE || add_dotted(f, &f->q, i + 1, b) < 0) {
        *rc = AD_ENOMEM;
        return b;
    }
    if (k == B_IMPORT && f->q.len > 9 && !memcmp(f->q.ptr, "builtins.", 9)) {
        /* builtins.eval is eval: strip the module and its first dot. */
        const char *x = f->q.ptr + 9, *dot = memchr(x, '.', f->q.len - 9);

        *rc = rule_builtin(f, i, x, dot ? (size_t)(dot - x) : f->q.len - 9, dot ? 1 : 0,
                           called, b);
        return b;
    }
    if (k == B_IMPORT) {
        char q[QUALIFIED_MAX + 1];
        size_t qn = f->q.len;

        memcpy(q, f->q.ptr, qn);
        q[qn] = '\0';
        hit = true;
        if (called && (!strcmp(q, "importlib.import_module") ||
                       !strcmp(q, "importlib.__import__")))
            *rc = rule_import_call(f, i, b, q);
        else if (called && IN_LIST(open_calls, q, qn))
            *rc = rule_open(f, i, b, q, qn);
        else
            *rc = rule_qualified(f, i, q, qn, called, &hit);
    } else if (k == B_BUILTIN) {
        /* A bare name: one a star import brought, else a builtin. */
        for (size_t s = 0; *rc == 0 && !hit && s < f->nstars; s++) {
            char q[QUALIFIED_MAX * 2 + 2];
            int qn = snprintf(q, sizeof(q), "%s.%.*s", f->stars[s]->name, (int)f->q.len,
                              f->q.ptr);

            *rc = rule_qualified(f, i, q, (size_t)qn < sizeof(q) ? (size_t)qn : sizeof(q) - 1,
                                 called, &hit);
        }
        if (*rc == 0 && !hit) {
            const char *dot = memchr(f->q.ptr, '.', f->q.len);

            *rc = rule_builtin(f, i, f->q.ptr, dot ? (size_t)(dot - f->q.ptr) : f->q.len, more,
                               called, b);
        }
    }
    if (*rc == 0 && !hit && more > 0)
        *rc = rule_method(f, b - 1);
    return b;
}

/*
 * Second pass over every significant token: imports, references,
 * methods, the validation keywords.
 */
static int walk_references(struct facts *f)
{
    size_t i = 0, e;
    int rc = 0;

    while (rc == 0 && i < f->nsig) {
        const struct ad_tok *t = tk(f, i);
        bool after_dot = i > 0 && is_op(f, i - 1, ".");

        if (t->kind != AD_TOK_NAME) {
            i++;
        } else if (IN_LIST(internals, text(f, i), t->len)) {
            rc = occ_add(f, R_DYNAMIC, AD_RISK_CRITICAL, i, text(f, i), t->len, "uses ",
                         text(f, i), t->len, ", the interpreter's insides");
            i++;
        } else if (after_dot) {
            rc = rule_method(f, i);
            i++;
        } else if (is_name(f, i, "import")) {
            i = parse_import(f, i, true, &rc);
        } else if (is_name(f, i, "from") && (e = parse_from(f, i, true, &rc)) != NONE) {
            i = e;
        } else if ((is_name(f, i, "def") || is_name(f, i, "class")) && is_a_name(f, i + 1)) {
            i += 2;
        } else if (is_name(f, i, "raise") || is_name(f, i, "assert")) {
            f->nchecks++;
            i++;
        } else {
            i = rule_chain(f, i, &rc);
        }
    }
    return rc;
}

/* ---- statements and blocks ------------------------------------------------------ */

/* The first ':' of logical line l at its own bracket depth (its header's end), or NONE. */
static size_t header_colon(const struct facts *f, size_t l)
{
    size_t s0 = f->lsig[l], s1 = f->lsig[l + 1];

    for (size_t i = s0; i < s1; i++) {
        if (tk(f, i)->depth == tk(f, s0)->depth && is_op(f, i, ":"))
            return i;
        if (f->match[i] != NONE && f->match[i] > i && f->match[i] < s1)
            i = f->match[i];
    }
    return NONE;
}

/* One past the last logical line of the block whose header is line l (l + 1: same-line body). */
static size_t block_end(const struct facts *f, size_t l, size_t colon)
{
    size_t k = l + 1;

    if (colon + 1 < f->lsig[l + 1])
        return k;
    while (k < f->t.nlines && f->t.lines[k].indent > f->t.lines[l].indent)
        k++;
    return k;
}

/* The body's only statement is pass or "...": the block does nothing. */
static bool body_is_pass(const struct facts *f, size_t l, size_t colon)
{
    size_t a = colon + 1, b = f->lsig[l + 1];

    if (a == b) {
        if (block_end(f, l, colon) != l + 2)
            return false;
        a = f->lsig[l + 1];
        b = f->lsig[l + 2];
    }
    return b == a + 1 && (is_name(f, a, "pass") || is_op(f, a, "..."));
}

/* except: / except Exception: pass on logical line l. */
static int rule_except(struct facts *f, size_t l)
{
    size_t s0 = f->lsig[l], colon = header_colon(f, l), j = s0 + 1;

    if (colon == NONE)
        return 0;
    if (colon == s0 + 1)
        return occ_add(f, R_SWALLOWED, AD_RISK_MEDIUM, s0, "except:", 7,
                       "a bare except: catches every error", NULL, 0, NULL);
    if (is_op(f, j, "(") && f->match[j] == j + 2)
        j++;
    if (!is_name(f, j, "Exception") && !is_name(f, j, "BaseException"))
        return 0;
    j += is_op(f, j + 1, ")") ? 2 : 1;
    if (is_name(f, j, "as") && is_a_name(f, j + 1))
        j += 2;
    if (j != colon || !body_is_pass(f, l, colon))
        return 0;
    return occ_add(f, R_SWALLOWED, AD_RISK_MEDIUM, s0, "except-pass", 11, "except ",
                   text(f, s0 + 1 + is_op(f, s0 + 1, "(")),
                   tk(f, s0 + 1 + is_op(f, s0 + 1, "("))->len, ": pass drops every error");
}

/* A condition that is always true: True, a non-zero number, either in parentheses. */
static bool always_true(const struct facts *f, size_t a, size_t b)
{
    if (b == a + 3 && is_op(f, a, "(") && f->match[a] == a + 2)
        a++, b--;
    if (b != a + 1)
        return false;
    if (is_name(f, a, "True"))
        return true;
    if (tk(f, a)->kind != AD_TOK_NUMBER)
        return false;
    for (size_t k = 0; k < tk(f, a)->len; k++) {
        if (text(f, a)[k] >= '1' && text(f, a)[k] <= '9')
            return true;
    }
    return false;
}

/* while True: on line l whose body has no break (of its own) and no return. */
static int rule_loop(struct facts *f, size_t l, size_t s0)
{
    size_t colon = header_colon(f, l), end;
    int loop_ind = -1, def_ind = -1;

    if (colon == NONE || !always_true(f, s0 + 1, colon))
        return 0;
    end = block_end(f, l, colon);
    if (end == l + 1 && (f->lbreak[l] || f->lreturn[l]))
        return 0;
    for (size_t k = l + 1; k < end; k++) {
        int ind = f->t.lines[k].indent;
        size_t a = f->lsig[k] + is_name(f, f->lsig[k], "async");

        if (loop_ind >= 0 && ind <= loop_ind)
            loop_ind = -1;
        if (def_ind >= 0 && ind <= def_ind)
            def_ind = -1;
        if (loop_ind < 0 && (is_name(f, a, "for") || is_name(f, a, "while")))
            loop_ind = ind;
        if (def_ind < 0 && (is_name(f, a, "def") || is_name(f, a, "class")))
            def_ind = ind;
        if ((f->lbreak[k] && loop_ind < 0 && def_ind < 0) || (f->lreturn[k] && def_ind < 0))
            return 0;
    }
    return occ_add(f, R_LOOP, AD_RISK_MEDIUM, s0, "while-true", 10,
                   "while True: with no break or return may never end", NULL, 0, NULL);
}

static int site_cmp(const void *a, const void *b)
{
    const struct call_site *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);

    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->lline < y->lline ? -1 : x->lline > y->lline;
}

/* def name on line l (name at sig s): a call of name inside its body is recursion. */
static int rule_recursion(struct facts *f, size_t l, size_t s)
{
    size_t colon = header_colon(f, l), end, lo = 0, hi = f->nsites;
    struct call_site key = { text(f, s), tk(f, s)->len, (long)l, 0 };

    if (colon == NONE)
        return 0;
    end = block_end(f, l, colon);
    /* The first call of the name on line l or after (the sites are sorted). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (site_cmp(&f->sites[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < f->nsites; lo++) {
        const struct call_site *c = &f->sites[lo];

        if (c->len != key.len || memcmp(c->name, key.name, key.len) || (size_t)c->lline >= end)
            return 0;
        /* On the def's own line only after its colon (not "def f(" itself). */
        if ((size_t)c->lline > l || c->sig > colon)
            return occ_add(f, R_RECURSION, AD_RISK_LOW, c->sig, key.name, key.len, "", key.name,
                           key.len, "() calls itself");
    }
    return 0;
}

/* Third pass, statement by statement: try, except, while True, def. */
static int walk_statements(struct facts *f)
{
    int rc = 0;

    if (f->nsites > 1)
        qsort(f->sites, f->nsites, sizeof(*f->sites), site_cmp);
    for (size_t l = 0; rc == 0 && l < f->t.nlines; l++) {
        size_t s0 = f->lsig[l];

        if (s0 >= f->lsig[l + 1])
            continue;
        s0 += s0 + 1 < f->lsig[l + 1] && is_name(f, s0, "async");
        if (is_name(f, s0, "try") && is_op(f, s0 + 1, ":"))
            f->ntry++;
        else if (is_name(f, s0, "except"))
            rc = rule_except(f, l);
        else if (is_name(f, s0, "while"))
            rc = rule_loop(f, l, s0);
        else if (is_name(f, s0, "def") && is_a_name(f, s0 + 1))
            rc = rule_recursion(f, l, s0 + 1);
    }
    return rc;
}

static void facts_init(struct facts *f)
{
    memset(f, 0, sizeof(*f));
    /* Bounded by the code: a few short strings per occurrence of a risky thing. */
    ad_buf_init(&f->pool, (size_t)1 << 30);
    ad_buf_init(&f->q, QUALIFIED_MAX * 4);
    /* Fields are at most the f-strings' text, nested up to FSTRING_DEPTH_MAX times. */
    ad_buf_init(&f->aug, (size_t)AD_SKILL_CODE_MAX * (FSTRING_DEPTH_MAX + 2));
}

/* Reads src into f (initialised): tokens, whether it parses, its bindings and occurrences. */
static int facts_read(struct facts *f, const char *src, size_t len, struct ad_err *err)
{
    int rc;

    f->src = src;
    f->len = len;
    rc = ad_pytok_run(src, len, &f->t, err);
    if (rc < 0)
        return rc;
    rc = expand_fstrings(f);
    if (rc == 0)
        rc = index_tokens(f);
    if (rc == 0) {
        check_bytes(f);
        match_brackets(f);
        check_indent(f);
        rc = bind_names(f);
    }
    if (rc == 0)
        rc = walk_references(f);
    if (rc == 0)
        rc = walk_statements(f);
    if (rc < 0)
        return ad_error(err, AD_ENOMEM, "out of memory scoring patch risk");
    for (size_t i = 0; i < f->nocc; i++)
        f->occ[i].key = f->pool.ptr + f->occ[i].key_off;
    return 0;
}

/* ---- the diff ------------------------------------------------------------------- */

static int key_cmp(const struct occ *x, const struct occ *y)
{
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c;

    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static int occ_cmp(const void *a, const void *b)
{
    const struct occ *x = a, *y = b;
    int c = key_cmp(x, y);

    if (c)
        return c;
    if (x->ctx != y->ctx)
        return x->ctx < y->ctx ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* One key's occurrences, code [c0, c1) against the parent's [p0, p1): marks the added ones. */
static void diff_group(struct occ *c, size_t c0, size_t c1, struct occ *p, size_t p0, size_t p1)
{
    size_t i = c0, j = p0, left = 0;

    if (c[c0].rule == R_IMPORT || c[c0].rule == R_RECURSION) {
        /* By name: new when the parent has none; once, at its first line. */
        size_t first = c0;

        for (size_t k = c0; k < c1; k++) {
            if (c[k].line < c[first].line)
                first = k;
        }
        c[first].added = p0 == p1;
        return;
    }
    /* Same statement first (both sorted by ctx), then any of the parent's left over. */
    for (size_t k = c0; k < c1; k++)
        c[k].added = true;
    while (i < c1 && j < p1) {
        if (c[i].ctx == p[j].ctx) {
            c[i++].added = false;
            j++;
        } else if (c[i].ctx < p[j].ctx) {
            i++;
        } else {
            j++;
            left++;
        }
    }
    left += p1 - j;   /* the parent's occurrences no statement of the code matched */
    for (size_t k = c0; k < c1 && left; k++) {
        if (c[k].added) {
            c[k].added = false;
            left--;
        }
    }
}

/* Marks the code's occurrences the parent does not account for (all of them with no parent). */
static void diff(struct facts *code, struct facts *parent)
{
    size_t i = 0, j = 0;
    size_t np = parent ? parent->nocc : 0;

    if (code->nocc > 1)
        qsort(code->occ, code->nocc, sizeof(*code->occ), occ_cmp);
    if (np > 1)
        qsort(parent->occ, np, sizeof(*parent->occ), occ_cmp);
    while (i < code->nocc) {
        size_t i1 = i + 1, j0, j1;

        while (i1 < code->nocc && key_cmp(&code->occ[i1], &code->occ[i]) == 0)
            i1++;
        while (j < np && key_cmp(&parent->occ[j], &code->occ[i]) < 0)
            j++;
        j0 = j;
        while (j < np && key_cmp(&parent->occ[j], &code->occ[i]) == 0)
            j++;
        j1 = j;
        diff_group(code->occ, i, i1, parent ? parent->occ : NULL, j0, j1);
        i = i1;
    }
}

/* Findings about the whole: unparseable, fewer try blocks or checks, growth. */
static int whole_findings(struct facts *c, const struct facts *p)
{
    char d[160];
    int rc = 0;

    if (c->bad) {
        snprintf(d, sizeof(d), "cannot be read as Python: %s", c->bad_why);
        rc = occ_add(c, R_UNPARSEABLE, AD_RISK_HIGH, NONE, "", 0, d, NULL, 0, NULL);
        if (rc == 0)
            c->occ[c->nocc - 1].line = c->bad_line;
    }
    if (rc == 0 && p && c->ntry < p->ntry) {
        snprintf(d, sizeof(d), "%zu try block%s where the parent had %zu", c->ntry,
                 c->ntry == 1 ? "" : "s", p->ntry);
        rc = occ_add(c, R_ERRORS_REMOVED, AD_RISK_MEDIUM, NONE, "", 0, d, NULL, 0, NULL);
    }
    if (rc == 0 && p && c->nchecks < p->nchecks) {
        snprintf(d, sizeof(d), "%zu check%s (raise, assert, isinstance, issubclass, type) "
                 "where the parent had %zu", c->nchecks, c->nchecks == 1 ? "" : "s",
                 p->nchecks);
        rc = occ_add(c, R_VALIDATION_REMOVED, AD_RISK_MEDIUM, NONE, "", 0, d, NULL, 0, NULL);
    }
    if (rc == 0 && p && c->len > GROWTH_FACTOR * p->len) {
        if (p->len)
            snprintf(d, sizeof(d), "the code grew %.1f times, from %zu to %zu bytes",
                     (double)c->len / (double)p->len, p->len, c->len);
        else
            snprintf(d, sizeof(d), "the code grew from nothing to %zu bytes", c->len);
        rc = occ_add(c, R_GROWTH, AD_RISK_LOW, NONE, "", 0, d, NULL, 0, NULL);
    }
    for (size_t i = 0; i < c->nocc; i++)
        c->occ[i].key = c->pool.ptr + c->occ[i].key_off;
    return rc;
}

/* ---- score and JSON --------------------------------------------------------------- */

static int finding_cmp(const void *a, const void *b)
{
    const struct occ *x = *(const struct occ *const *)a, *y = *(const struct occ *const *)b;

    if (x->level != y->level)
        return x->level > y->level ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->det_off < y->det_off ? -1 : x->det_off > y->det_off;
}

/*
 * The tier's base plus a share of the tier that grows with the findings:
 * those of the level weigh 1, each level below half as much; k findings'
 * weight w take 0.24 * w / (w + 1) of the 0.25 a tier spans, so a score
 * never reaches the next tier, not even shown with two decimals.
 */
static double score_of(enum ad_risk_level top, const struct occ *const *v, size_t n)
{
    double w = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        w += ldexp(1.0, -(int)(top - v[i]->level));
    return round((0.25 * top + 0.24 * w / (w + 1)) * 1000) / 1000;
}

static int build(struct facts *c, struct ad_risk *out)
{
    const struct occ **v = NULL;
    size_t n = 0;
    int rc = 0;

    v = malloc((c->nocc ? c->nocc : 1) * sizeof(*v));
    out->reasons = json_array();
    if (!v || !out->reasons) {
        free(v);
        return AD_ENOMEM;
    }
    for (size_t i = 0; i < c->nocc; i++) {
        if (c->occ[i].added || c->occ[i].rule == R_UNPARSEABLE ||
            c->occ[i].rule == R_ERRORS_REMOVED || c->occ[i].rule == R_VALIDATION_REMOVED ||
            c->occ[i].rule == R_GROWTH)
            v[n++] = &c->occ[i];
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), finding_cmp);
    out->findings = n;
    out->level = n ? v[0]->level : AD_RISK_LOW;
    out->score = score_of(out->level, v, n);
    for (size_t i = 0; rc == 0 && i < n && i < AD_RISK_REASONS_MAX; i++) {
        json_t *r = json_pack("{s:s, s:s%, s:i, s:s}", "rule", rule_names[v[i]->rule], "detail",
                              c->pool.ptr + v[i]->det_off, v[i]->det_len, "line", v[i]->line,
                              "level", ad_risk_level_name(v[i]->level));

        rc = r ? json_array_append_new(out->reasons, r) : -1;
    }
    free(v);
    return rc < 0 ? AD_ENOMEM : 0;
}

/* ---- the API ---------------------------------------------------------------------- */

const char *ad_risk_level_name(enum ad_risk_level l)
{
    switch (l) {
    case AD_RISK_LOW: return "LOW";
    case AD_RISK_MEDIUM: return "MEDIUM";
    case AD_RISK_HIGH: return "HIGH";
    case AD_RISK_CRITICAL: return "CRITICAL";
    }
    return "?";
}

int ad_risk_level_parse(const char *s, enum ad_risk_level *out)
{
    for (int l = AD_RISK_LOW; s && l <= AD_RISK_CRITICAL; l++) {
        if (!strcasecmp(s, ad_risk_level_name((enum ad_risk_level)l))) {
            *out = (enum ad_risk_level)l;
            return 0;
        }
    }
    return AD_EINVAL;
}

enum ad_risk_level ad_risk_level_of_score(double score)
{
    if (!(score >= 0.25))
        return AD_RISK_LOW;
    return score < 0.5 ? AD_RISK_MEDIUM : score < 0.75 ? AD_RISK_HIGH : AD_RISK_CRITICAL;
}

void ad_risk_release(struct ad_risk *r)
{
    if (!r)
        return;
    json_decref(r->reasons);
    memset(r, 0, sizeof(*r));
}

int ad_risk_score_n(const char *parent, size_t parent_len, const char *code, size_t code_len,
                    struct ad_risk *out, struct ad_err *err)
{
    struct facts c, p;
    int rc;

    memset(out, 0, sizeof(*out));
    facts_init(&p);
    facts_init(&c);
    if (!code) {
        code = "";
        code_len = 0;
    }
    if (code_len > AD_SKILL_CODE_MAX || (parent && parent_len > AD_SKILL_CODE_MAX))
        return ad_error(err, AD_ETOOBIG, "%s of %zu bytes is over the %d bytes a patch risk "
                        "reads", code_len > AD_SKILL_CODE_MAX ? "code" : "parent code",
                        code_len > AD_SKILL_CODE_MAX ? code_len : parent_len,
                        AD_SKILL_CODE_MAX);
    rc = facts_read(&c, code, code_len, err);
    if (rc == 0 && parent)
        rc = facts_read(&p, parent, parent_len, err);
    if (rc == 0) {
        diff(&c, parent ? &p : NULL);
        rc = whole_findings(&c, parent ? &p : NULL);
        if (rc == 0)
            rc = build(&c, out);
        if (rc < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory scoring patch risk");
    }
    if (rc < 0)
        ad_risk_release(out);
    facts_release(&c);
    facts_release(&p);
    return rc;
}

int ad_risk_score(const char *parent, const char *code, struct ad_risk *out, struct ad_err *err)
{
    return ad_risk_score_n(parent, parent ? strlen(parent) : 0, code, code ? strlen(code) : 0,
                           out, err);
}

json_t *ad_risk_json(const struct ad_risk *r)
{
    json_t *reasons = r->reasons ? json_deep_copy(r->reasons) : json_array();

    if (!reasons)
        return NULL;
    return json_pack("{s:s, s:f, s:I, s:o}", "level", ad_risk_level_name(r->level), "score",
                     r->score, "findings", (json_int_t)r->findings, "reasons", reasons);
}
