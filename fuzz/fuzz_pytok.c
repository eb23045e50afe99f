/*
 * libFuzzer driver: the Python tokenizer and the mutation proposer on
 * arbitrary bytes. The tokens must tile the input in order and the logical
 * lines lie inside it; every mutant must differ from the input, and its
 * edit, parsed and applied by src/edit, must turn the input into it.
 */
#include "compat.h"

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/propose.h"
#include "autodev/pytok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tokens(const char *src, size_t len)
{
    struct ad_pytok t = AD_PYTOK_INIT;
    size_t pos = 0;

    if (ad_pytok_run(src, len, &t, NULL) != 0)
        abort();   /* only allocation can fail */
    for (size_t i = 0; i < t.ntoks; i++) {
        const struct ad_tok *k = &t.toks[i];

        if (k->off != pos || k->len == 0 || k->len > len - pos || k->line < 1)
            abort();
        if (k->lline < -1 || k->lline >= (long)t.nlines)
            abort();
        pos += k->len;
    }
    if (pos != len)
        abort();
    for (size_t i = 0; i < t.nlines; i++) {
        const struct ad_pyline *l = &t.lines[i];

        if (l->start >= l->end || l->end > len || l->tok_first >= l->tok_end ||
            l->tok_end > t.ntoks || l->first_line > l->last_line)
            abort();
        if (i > 0 && t.lines[i - 1].end > l->start)
            abort();
    }
    ad_pytok_release(&t);
}

static void check_edit(const char *src, size_t len, const struct ad_mutant *m)
{
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_buf out = AD_BUF_INIT;
    enum ad_edit_match how = AD_EDIT_MATCH_NONE;

    if (ad_edit_parse(m->edit, strlen(m->edit), &set, NULL) != 0 || set.n != 1)
        abort();
    if (ad_edit_apply_text(src, len, &set.v[0], &out, &how, NULL, NULL) != 0)
        abort();
    if (how != AD_EDIT_MATCH_EXACT || strcmp(out.ptr, m->code) != 0)
        abort();
    ad_buf_release(&out);
    ad_edit_set_release(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_propose_opts o = { .seed = 1, .count = 5 };
    const char *src = (const char *)data;
    struct ad_mutant *v = NULL;
    size_t n = 0;

    check_tokens(src, size);
    if (ad_propose_mutants(src, size, &o, &v, &n, NULL) != 0) {
        if (v || n)
            abort();   /* a failure hands nothing back */
        return 0;
    }
    if (n == 0 || n > 5)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (strlen(v[i].code) == size && memcmp(v[i].code, src, size) == 0)
            abort();
        check_edit(src, size, &v[i]);
    }
    ad_mutants_free(v, n);
    return 0;
}
