/*
 * Code edit formats: reading the code a model wrote and applying it.
 *
 * A reply is parsed into a set of blocks, each one edit of one file:
 *
 *   SEARCH/REPLACE   path on the line before the block or inside the fence
 *                    (```python path/to/file.py), then
 *                        <<<<<<< SEARCH      (5 to 9 '<', "SEARCH" optional case)
 *                        old lines
 *                        =======             (5 to 9 '=')
 *                        new lines
 *                        >>>>>>> REPLACE     (5 to 9 '>')
 *                    An empty SEARCH part makes a new file (AD_EDIT_NEW_FILE).
 *                    Several blocks per reply; a block without its own path
 *                    takes the last path named before it.
 *   unified diff     "--- a/x" / "+++ b/x" headers and "@@" hunks whose line
 *                    numbers are ignored; each hunk becomes one block whose
 *                    search is its context and '-' lines and whose replace is
 *                    its context and '+' lines.
 *   whole file       a fenced block with a path and no markers: the new
 *                    content of that file (AD_EDIT_WHOLE_FILE).
 *
 * Applying one block to a text tries, in order: an exact match; the same
 * lines with a uniform indentation offset (re-indenting the replacement);
 * the same lines ignoring blank-line differences; a search containing a
 * line "..." (elision) matched as prefix ... suffix. A search found at more
 * than one place is refused (AD_ESTATE), never applied to the first. A
 * failed block gets feedback text for a retry prompt that names the nearest
 * actual lines of the file.
 *
 * Everything here is pure string work on untrusted input: no call asserts on
 * its input, every size is capped by the caller's buffers.
 */
#ifndef AUTODEV_EDIT_H
#define AUTODEV_EDIT_H

/* Module edit, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/edit.h belongs to module edit (layer 3), above the module including it"
#endif

#include <stddef.h>

#include "autodev/buf.h"
#include "autodev/error.h"

enum ad_edit_kind {
    AD_EDIT_REPLACE = 1,    /* search -> replace */
    AD_EDIT_NEW_FILE,       /* create path with replace (refused if it exists and differs) */
    AD_EDIT_WHOLE_FILE,     /* replace the whole content of path */
};

struct ad_edit_block {
    enum ad_edit_kind kind;
    char *path;        /* owned; NULL when the reply named no file */
    char *search;      /* owned, never NULL ("" for new and whole files) */
    char *replace;     /* owned, never NULL */
    int line;          /* 1-based line of the reply where the block starts */
    int from_diff;     /* 1 when it came from a unified diff hunk */
};

struct ad_edit_set {
    struct ad_edit_block *v;   /* owned array */
    size_t n;
};

#define AD_EDIT_SET_INIT { NULL, 0 }

void ad_edit_set_release(struct ad_edit_set *s);

/*
 * Parses every block in reply into *out (which must be empty or released).
 * A reply with no recognisable block is AD_ENOTFOUND with a message saying
 * which formats were looked for; a block left open (a SEARCH with no
 * REPLACE marker) is AD_EINVAL naming its line, and so is a reply holding a
 * NUL byte (blocks are C strings).
 */
int ad_edit_parse(const char *reply, size_t len, struct ad_edit_set *out, struct ad_err *err);

/*
 * The code inside markdown fences: the content of the first fenced block
 * (``` or ~~~, any info string), or the text itself, trimmed of leading and
 * trailing blank lines, when there is no fence. Appends to out.
 */
int ad_edit_strip_fences(const char *text, size_t len, struct ad_buf *out, struct ad_err *err);

/*
 * The Python function called name (its decorators, "def" or "async def"
 * line and indented body, plus the module-level imports of text when
 * with_imports is set), from text whose fences are stripped first. With
 * name NULL, the first top-level function. AD_ENOTFOUND when there is none.
 */
int ad_edit_extract_function(const char *text, size_t len, const char *name, int with_imports,
                             struct ad_buf *out, struct ad_err *err);

enum ad_edit_match {
    AD_EDIT_MATCH_NONE = 0,
    AD_EDIT_MATCH_EXACT,
    AD_EDIT_MATCH_INDENT,      /* uniform indentation offset */
    AD_EDIT_MATCH_BLANKLINES,  /* ignoring blank-line differences */
    AD_EDIT_MATCH_ELISION,     /* "..." in the search */
    AD_EDIT_MATCH_CREATE,      /* a new or whole file */
};

/* "exact", "indent", ... ; static, never NULL. */
const char *ad_edit_match_name(enum ad_edit_match m);

/*
 * Applies block b to text (the current content; NULL and 0 for a file that
 * does not exist) and appends the new content to out. *how says which step
 * of the cascade matched. On failure (AD_ENOTFOUND: no match, AD_ESTATE:
 * ambiguous, AD_EEXIST: a new file over a different existing one) feedback,
 * when not NULL, receives a few lines for a retry prompt, naming the nearest
 * lines of text and their line numbers; out is then unchanged.
 */
int ad_edit_apply_text(const char *text, size_t len, const struct ad_edit_block *b,
                       struct ad_buf *out, enum ad_edit_match *how, struct ad_buf *feedback,
                       struct ad_err *err);

/* What applying a set to a directory did, one entry per block. */
struct ad_edit_outcome {
    char *path;                 /* owned; the block's path, or default_path */
    int code;                   /* 0 applied, else the AD_E* code */
    enum ad_edit_match how;
    char *message;              /* owned; the error or "" */
    char *feedback;             /* owned; retry feedback or "" */
    int lines_removed, lines_added;
};

struct ad_edit_report {
    struct ad_edit_outcome *v;  /* owned array, one per block in order */
    size_t n;
    size_t files_changed;       /* files written (0 on a dry run or a failure) */
};

#define AD_EDIT_REPORT_INIT { NULL, 0, 0 }

void ad_edit_report_release(struct ad_edit_report *r);

enum ad_edit_apply_flags {
    AD_EDIT_DRY_RUN = 1 << 0,   /* compute and report, write nothing */
};

/*
 * Checks a path that a block names by its spelling alone, as
 * ad_edit_apply_dir does first: AD_EINVAL when it is empty, ends in '/'
 * or holds a control character; AD_EPERM when it is absolute, has a ".."
 * component (also one that would climb back in) or a component that is
 * version control metadata (see ad_edit_apply_dir); AD_ETOOBIG for a
 * component longer than NAME_MAX. Touches no file system.
 */
int ad_edit_check_path(const char *path, struct ad_err *err);

/*
 * Applies every block of s to the files under root, all or nothing: the new
 * contents are computed in memory first, and when any block fails nothing is
 * written (the report says which failed and why; returns that block's code).
 * A block without a path uses default_path (NULL: AD_EINVAL).
 *
 * Every target of every block is checked before anything is written:
 *   - by its spelling (ad_edit_check_path);
 *   - on the path the write really reaches, with symbolic links followed:
 *     inside root (AD_EPERM), no component that is version control metadata
 *     (AD_EPERM), and no folder on the way from root that git takes for a
 *     repository's own folder: one holding HEAD with objects and refs, or
 *     with commondir, counting what this apply creates (AD_EPERM; this
 *     catches a bare repository, a worktree's folder and the target of a
 *     ".git" file under any name, and a reply that would build one);
 *   - against the other targets: a file may not be a folder of another
 *     (AD_EINVAL), nor a folder or a file on the way (AD_EINVAL);
 *   - the caller may write the file (a read-only one is refused) and the
 *     folder that is to hold it (AD_EPERM); the path and the name of a
 *     temporary beside it fit PATH_MAX (AD_ETOOBIG).
 * Metadata is .git, .hg, .svn, .bzr, _darcs, CVS, .jj, .pijul, _FOSSIL_ and
 * .fslckout, as a folder or a file (a worktree's or submodule's ".git"
 * file), in every spelling a file system Linux mounts maps to them: any
 * case, trailing dots and spaces, an NTFS stream suffix (":..."), the code
 * points HFS+ ignores and U+FEFF left out, U+017F as "s"; also "git~1",
 * and a backslash separates. Look-alike letters of other scripts are other
 * names; other NTFS short names than "git~1" are not known here. Root
 * itself is trusted, but not when it lies inside a git folder (AD_EPERM).
 *
 * Files are replaced by write-to-temporary and rename, keeping the old
 * mode; missing directories are created. Before the first rename every
 * temporary is written and every old file kept beside it (a hard link, or
 * a copy); a file changed by someone else since it was read is AD_ESTATE.
 * When a rename fails even so, the renames done are undone and the
 * folders made removed, so the tree is as it was (AD_EIO; the message
 * says so if a file could not be put back, and where its old content is).
 * Files are at most 16 MiB (AD_ETOOBIG). Every block is tried, also after
 * a failure, so the report gives feedback for all of them; a failure while
 * writing is reported on the block whose file it was. *rep is overwritten
 * (release an earlier report first) and must be released, also on failure.
 */
int ad_edit_apply_dir(const char *root, const struct ad_edit_set *s, const char *default_path,
                      int flags, struct ad_edit_report *rep, struct ad_err *err);

#endif
