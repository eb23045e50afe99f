/*
 * The llm module against the loopback server of tests/llm/: every case file
 * there is one wire-format situation (success, tool calls, structured output,
 * streams, retries, quota, fallback, broken replies, server quirks). Each
 * test sends the request the case describes, checks what the client made of
 * the reply, and asks the server (GET /_results) whether the requests it got
 * were the expected ones and how many there were.
 *
 * Beside those: the circuit breaker, daily caps and the ledger on a real
 * store, key redaction, the exec and offline providers, the thread pool,
 * chain specs and price tables.
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "autodev/edit.h"
#include "autodev/llm.h"
#include "autodev/store.h"

#include "tmpdb.h"

#define OPENAI_KEY "sk-test-openai-0123456789"
#define ANTHROPIC_KEY "sk-ant-test-0123456789"

/* ---- the loopback server ------------------------------------------------ */

static json_t *add_schema(void);

/* The "add" tool of the tool cases: made once for the group. */
static json_t *add_tool_schema;
static struct ad_llm_tool add_tool = { "add", "Add two numbers.", NULL };

static pid_t server_pid;
static int server_port;
static char server_dir[64];

static int server_start(void **state)
{
    char portfile[128], buf[32];
    FILE *f;
    int i;

    snprintf(server_dir, sizeof(server_dir), "/tmp/ad-test-llm-XXXXXX");
    if (!mkdtemp(server_dir))
        return -1;
    snprintf(portfile, sizeof(portfile), "%s/port", server_dir);
    server_pid = fork();
    if (server_pid == 0) {
        /* Its "listening PORT" line must not mix with our TAP output. */
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl("/usr/bin/python3", "python3", AD_TEST_SRCDIR "/tests/llm/llmserver.py",
              "--cases", AD_TEST_SRCDIR "/tests/llm/cases", "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200 && server_port == 0; i++) {
        usleep(50000);
        f = fopen(portfile, "r");
        if (f && fgets(buf, sizeof(buf), f))
            server_port = (int)strtol(buf, NULL, 10);
        if (f)
            fclose(f);
    }
    unlink(portfile);
    setenv("OPENAI_API_KEY", OPENAI_KEY, 1);
    setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY, 1);
    unsetenv("AUTODEV_LLM_PRICES");
    add_tool_schema = add_schema();
    add_tool.parameters = add_tool_schema;
    return server_port > 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    rmdir(server_dir);
    json_decref(add_tool_schema);
    return 0;
}

/* Points the providers at cases (NULL leaves a provider unchanged). */
static void use_cases(const char *openai_case, const char *anthropic_case)
{
    char url[256];

    if (openai_case) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/case/%s/v1", server_port, openai_case);
        setenv("OPENAI_BASE_URL", url, 1);
    }
    if (anthropic_case) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/case/%s", server_port, anthropic_case);
        setenv("ANTHROPIC_BASE_URL", url, 1);
    }
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return ad_buf_add(arg, p, size * n) ? 0 : size * n;
}

/* The server's record of a case: requests consumed and the mismatches. */
static void results(const char *name, int *consumed, size_t *mismatches, char *first, size_t fsz)
{
    struct ad_buf body = AD_BUF_INIT;
    char url[128];
    CURL *h = curl_easy_init();
    json_t *v, *c, *m;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_results", server_port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    v = json_loads(body.ptr, 0, NULL);
    assert_non_null(v);
    c = json_object_get(v, name);
    *consumed = (int)json_integer_value(json_object_get(c, "consumed"));
    m = json_object_get(c, "mismatches");
    *mismatches = json_array_size(m);
    if (first && fsz)
        snprintf(first, fsz, "%s", json_string_value(json_array_get(m, 0)) ?: "");
    json_decref(v);
    ad_buf_release(&body);
}

/* The case got exactly `want` requests, every one as expected. */
static void assert_served(const char *name, int want)
{
    char first[512];
    size_t mism;
    int consumed;

    results(name, &consumed, &mism, first, sizeof(first));
    if (mism)
        fail_msg("case %s: %zu mismatches, first: %s", name, mism, first);
    assert_int_equal(consumed, want);
}

static void reset_server(void)
{
    char url[128];
    CURL *h = curl_easy_init();

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_reset", server_port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    {
        struct ad_buf sink = AD_BUF_INIT;

        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        ad_buf_release(&sink);
    }
    curl_easy_cleanup(h);
}

static int per_test(void **state)
{
    reset_server();
    return 0;
}

/* ---- requests the cases describe ---------------------------------------- */

static const struct ad_llm_message terse[] = {
    { AD_LLM_SYSTEM, "You are terse.", NULL, 0, NULL },
    { AD_LLM_USER, "Say hello.", NULL, 0, NULL },
};

static const struct ad_llm_message add_question[] = {
    { AD_LLM_USER, "What is 2 + 3? Use the add tool.", NULL, 0, NULL },
};

static json_t *add_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:[s, s]}", "type", "object", "properties",
                     "a", "type", "number", "b", "type", "number", "required", "a", "b");
}

static void use_add_tool(struct ad_llm_request *req)
{
    req->tools = &add_tool;
    req->ntools = 1;
}

static json_t *grade_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:[s, s]}, s:{s:s}}, s:[s, s], s:b}", "type", "object",
                     "properties", "verdict", "type", "string", "enum", "pass", "fail", "score",
                     "type", "number", "required", "verdict", "score",
                     "additionalProperties", 0);
}

static struct ad_llm_request base_req(const struct ad_llm_message *m, size_t n)
{
    struct ad_llm_request r;

    memset(&r, 0, sizeof(r));
    r.messages = m;
    r.nmessages = n;
    r.temperature = -1;
    r.seed = -1;
    r.purpose = "test";
    return r;
}

/* A chain with fast backoff so retry tests stay short. */
static struct ad_llm *new_llm(const char *spec, struct ad_llm_options *o)
{
    struct ad_llm_options def = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm = NULL;

    if (!o) {
        o = &def;
        o->max_retries = -1;
    }
    if (!o->backoff_base_ms)
        o->backoff_base_ms = 10;
    if (!o->timeout_ms)
        o->timeout_ms = 10000;
    if (ad_llm_new(spec, o, &llm, &err))
        fail_msg("ad_llm_new(%s): %s", spec, err.msg);
    return llm;
}

static void assert_json_text(const char *text, const char *key, double want)
{
    json_t *v = json_loads(text, 0, NULL);

    assert_non_null(v);
    assert_true(json_number_value(json_object_get(v, key)) == want);
    json_decref(v);
}

/* ---- OpenAI ------------------------------------------------------------- */

static void test_openai_success(void **state)
{
    struct ad_llm *llm;
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;

    use_cases("openai_success", NULL);
    llm = new_llm("openai:gpt-4o-mini", NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Hello!");
    assert_string_equal(r.finish_reason, "stop");
    assert_string_equal(r.provider, "openai");
    assert_string_equal(r.model, "gpt-4o-mini");
    assert_string_equal(r.request_id, "req_openai_success_1");
    assert_int_equal(r.usage.prompt_tokens, 19);
    assert_int_equal(r.usage.completion_tokens, 3);
    assert_int_equal(r.attempts, 1);
    /* gpt-4o-mini's list price: $0.15 and $0.60 per million tokens. */
    assert_true(r.cost_usd > 4.64e-6 && r.cost_usd < 4.66e-6);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_success", 1);
}

static void test_openai_tool_call(void **state)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases("openai_tool_call", NULL);
    llm = new_llm("openai:gpt-4o-mini", NULL);
    use_add_tool(&req);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.ncalls, 1);
    assert_string_equal(r.calls[0].id, "call_add_0001");
    assert_string_equal(r.calls[0].name, "add");
    assert_json_text(r.calls[0].arguments, "b", 3);
    assert_string_equal(r.text, "");
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_tool_call", 1);
}

static void roundtrip(const char *openai_case, const char *anthropic_case, const char *spec,
                      const char *call_id)
{
    struct ad_llm_tool_call call = { (char *)call_id, (char *)"add", (char *)"{\"a\":2,\"b\":3}" };
    struct ad_llm_message m[3] = {
        { AD_LLM_USER, "What is 2 + 3? Use the add tool.", NULL, 0, NULL },
        { AD_LLM_ASSISTANT, NULL, &call, 1, NULL },
        { AD_LLM_TOOL, "5", NULL, 0, call_id },
    };
    struct ad_llm_request req = base_req(m, 3);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, NULL);
    use_add_tool(&req);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "2 + 3 = 5.");
    assert_string_equal(r.finish_reason, "stop");
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served(openai_case ? openai_case : anthropic_case, 1);
}

static void test_openai_tool_result_roundtrip(void **state)
{
    roundtrip("openai_tool_result_roundtrip", NULL, "openai:gpt-4o-mini", "call_add_0001");
}

static void schema_case(const char *openai_case, const char *anthropic_case, const char *spec)
{
    json_t *schema = grade_schema();
    struct ad_llm_message m[] = { { AD_LLM_USER, "Grade this answer.", NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;
    json_t *v;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, NULL);
    req.json_schema = schema;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    v = json_loads(r.text, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "verdict")), "pass");
    assert_int_equal(r.ncalls, 0);
    assert_string_equal(r.finish_reason, "stop");
    json_decref(v);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    json_decref(schema);
    assert_served(openai_case ? openai_case : anthropic_case, 1);
}

static void test_openai_json_schema(void **state)
{
    schema_case("openai_json_schema", NULL, "openai:gpt-4o-mini");
}

struct deltas {
    struct ad_buf text;
    struct ad_buf tools;
    int calls;
};

static int on_delta(void *arg, const char *kind, const char *text, size_t len)
{
    struct deltas *d = arg;

    d->calls++;
    ad_buf_add(strcmp(kind, "tool") ? &d->text : &d->tools, text, len);
    return 0;
}

static void stream_text_case(const char *openai_case, const char *anthropic_case,
                             const char *spec, int64_t in, int64_t out)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct deltas d = { AD_BUF_INIT, AD_BUF_INIT, 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, NULL);
    req.on_delta = on_delta;
    req.delta_arg = &d;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Hello world");
    assert_string_equal(d.text.ptr, "Hello world");
    assert_int_equal(d.calls, 3);    /* three pieces, as they came */
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.usage.prompt_tokens, in);
    assert_int_equal(r.usage.completion_tokens, out);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    ad_buf_release(&d.text);
    ad_buf_release(&d.tools);
    assert_served(openai_case ? openai_case : anthropic_case, 1);
}

static void test_openai_stream(void **state)
{
    stream_text_case("openai_stream", NULL, "openai:gpt-4o-mini", 19, 3);
}

static void stream_tool_case(const char *openai_case, const char *anthropic_case,
                             const char *spec, const char *id)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct deltas d = { AD_BUF_INIT, AD_BUF_INIT, 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, NULL);
    use_add_tool(&req);
    req.on_delta = on_delta;
    req.delta_arg = &d;
    if (ad_llm_complete(llm, &req, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(r.ncalls, 1);
    assert_string_equal(r.calls[0].id, id);
    assert_string_equal(r.calls[0].name, "add");
    assert_json_text(r.calls[0].arguments, "a", 2);
    assert_json_text(r.calls[0].arguments, "b", 3);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_string_equal(d.tools.ptr, "add");   /* announced once, by name */
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    ad_buf_release(&d.text);
    ad_buf_release(&d.tools);
    assert_served(openai_case ? openai_case : anthropic_case, 1);
}

static void test_openai_stream_tools(void **state)
{
    stream_tool_case("openai_stream_tools", NULL, "openai:gpt-4o-mini", "call_add_0002");
}

static void test_vllm_tool_delta_no_index(void **state)
{
    stream_tool_case("vllm_tool_delta_no_index", NULL, "openai:Qwen/Qwen2.5-7B-Instruct",
                     "chatcmpl-tool-7f3a");
}

static void test_ollama_arguments_object(void **state)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases("ollama_arguments_object", NULL);
    llm = new_llm("openai:llama3.2", NULL);
    use_add_tool(&req);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_int_equal(r.ncalls, 1);
    assert_json_text(r.calls[0].arguments, "a", 2);
    assert_json_text(r.calls[0].arguments, "b", 3);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("ollama_arguments_object", 1);
}

/* A call that must succeed after `attempts` tries of one case. */
static void retried_case(const char *openai_case, const char *anthropic_case, const char *spec,
                         int attempts)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, NULL);
    if (ad_llm_complete(llm, &req, &r, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(r.text, "Hello!");
    assert_int_equal(r.attempts, attempts);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served(openai_case ? openai_case : anthropic_case, attempts);
}

static void test_openai_429_retry_after(void **state)
{
    retried_case("openai_429_retry_after", NULL, "openai:gpt-4o-mini", 2);
}

static void test_openai_429_retry_after_ms(void **state)
{
    retried_case("openai_429_retry_after_ms", NULL, "openai:gpt-4o-mini", 2);
}

static void test_openai_connection_drop(void **state)
{
    retried_case("openai_connection_drop_then_ok", NULL, "openai:gpt-4o-mini", 2);
}

static void test_openai_max_completion_tokens(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases("openai_max_completion_tokens", NULL);
    llm = new_llm("openai:o3-mini", NULL);
    req.max_tokens = 256;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Hello!");
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_max_completion_tokens", 1);
}

/* A call that must fail with code, message containing `has`, after `sent` requests. */
static void failing_case(const char *openai_case, const char *anthropic_case, const char *spec,
                         struct ad_llm_options *o, int code, const char *has, int sent)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(openai_case, anthropic_case);
    llm = new_llm(spec, o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), code);
    if (!strstr(err.msg, has))
        fail_msg("error '%s' does not say '%s'", err.msg, has);
    assert_null(r.text);
    ad_llm_free(llm);
    if (sent >= 0)
        assert_served(openai_case ? openai_case : anthropic_case, sent);
}

static void test_openai_quota(void **state)
{
    failing_case("openai_quota", NULL, "openai:gpt-4o-mini", NULL, AD_EINVAL,
                 "quota or spend limit (not retried)", 1);
}

static void test_openai_malformed(void **state)
{
    failing_case("openai_malformed_json", NULL, "openai:gpt-4o-mini", NULL, AD_EINVAL,
                 "reply is not JSON", 1);
}

static void test_openai_truncated(void **state)
{
    /* A cut reply is a broken connection: retried, 3 attempts, each cut. */
    failing_case("openai_truncated", NULL, "openai:gpt-4o-mini", NULL, AD_EIO,
                 "failed after 3 attempts", 3);
}

static void test_openai_slow(void **state)
{
    struct ad_llm_options o = { 0 };

    o.timeout_ms = 500;
    o.max_retries = 1;
    failing_case("openai_slow", NULL, "openai:gpt-4o-mini", &o, AD_ETIMEOUT, "within 500 ms", 2);
}

static void test_ollama_not_found(void **state)
{
    failing_case("ollama_quirks", NULL, "openai:llama3.2", NULL, AD_EINVAL,
                 "HTTP 404: model 'llama3.2' not found", 1);
}

static void test_openai_400(void **state)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    /* Not retried, and not failed over to the second provider either. */
    use_cases("openai_400", "anthropic_success");
    llm = new_llm("openai:gpt-4o-mini,anthropic:claude-sonnet-4-5", NULL);
    use_add_tool(&req);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_string_equal(ad_llm_breaker_state(llm, 0), "closed");
    ad_llm_free(llm);
    assert_served("openai_400", 1);
    assert_served("anthropic_success", 0);
}

/* ---- Anthropic ---------------------------------------------------------- */

static void test_anthropic_success(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(NULL, "anthropic_success");
    llm = new_llm("anthropic:claude-sonnet-4-5", NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Hello!");
    assert_string_equal(r.finish_reason, "stop");
    assert_string_equal(r.provider, "anthropic");
    assert_string_equal(r.request_id, "req_anthropic_success_1");
    assert_int_equal(r.usage.prompt_tokens, 14);
    assert_int_equal(r.usage.completion_tokens, 5);
    /* claude-sonnet-4*: $3 and $15 per million. */
    assert_true(r.cost_usd > 1.169e-4 && r.cost_usd < 1.171e-4);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("anthropic_success", 1);
}

static void test_anthropic_tool_use(void **state)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(NULL, "anthropic_tool_use");
    llm = new_llm("anthropic:claude-sonnet-4-5", NULL);
    use_add_tool(&req);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "I'll add those numbers.");
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.ncalls, 1);
    assert_string_equal(r.calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_json_text(r.calls[0].arguments, "a", 2);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("anthropic_tool_use", 1);
}

static void test_anthropic_tool_result_roundtrip(void **state)
{
    roundtrip(NULL, "anthropic_tool_result_roundtrip", "anthropic:claude-sonnet-4-5",
              "toolu_01A09q90qw90lq917835lq9");
}

static void test_anthropic_json_schema(void **state)
{
    schema_case(NULL, "anthropic_json_schema", "anthropic:claude-sonnet-4-5");
}

static void test_anthropic_stream(void **state)
{
    stream_text_case(NULL, "anthropic_stream", "anthropic:claude-sonnet-4-5", 14, 5);
}

static void test_anthropic_stream_tool(void **state)
{
    stream_tool_case(NULL, "anthropic_stream_tool", "anthropic:claude-sonnet-4-5",
                     "toolu_01StreamTool000000000");
}

static void test_anthropic_overloaded(void **state)
{
    retried_case(NULL, "anthropic_529_overloaded", "anthropic:claude-sonnet-4-5", 2);
}

static void test_anthropic_stream_error(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct deltas d = { AD_BUF_INIT, AD_BUF_INIT, 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    use_cases(NULL, "anthropic_stream_error");
    llm = new_llm("anthropic:claude-sonnet-4-5", NULL);
    req.on_delta = on_delta;
    req.delta_arg = &d;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "overloaded"));
    assert_string_equal(d.text.ptr, "Hel");   /* what came before the error */
    ad_llm_free(llm);
    ad_buf_release(&d.text);
    ad_buf_release(&d.tools);
    assert_served("anthropic_stream_error", 1);
}

/* ---- the chain, the ledger, caps and breakers --------------------------- */

struct fx_store {
    struct tmpdb db;
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
};

static void store_open(struct fx_store *f)
{
    struct ad_store_options opts = { AD_STORE_CREATE };
    struct ad_err err = AD_ERR_INIT;

    tmpdb_make(&f->db, "llm");
    assert_int_equal(ad_store_open(f->db.path, &opts, &f->st, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
}

static void store_close(struct fx_store *f)
{
    ad_store_free(f->st);
    tmpdb_remove(&f->db);
}

static void test_fallback_and_ledger(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_usage_row *rows = NULL;
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct fx_store f;
    struct ad_llm *llm;
    size_t n = 0, i;

    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    o.max_retries = -1;
    use_cases("openai_500_then_fallback", "anthropic_after_fallback");
    llm = new_llm("openai:gpt-4o-mini,anthropic:claude-sonnet-4-5", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.provider, "anthropic");
    assert_string_equal(r.text, "Hello from the fallback.");
    assert_int_equal(r.attempts, 4);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_500_then_fallback", 3);
    assert_served("anthropic_after_fallback", 1);

    /* Every attempt is a ledger row: three failed, one answered. */
    assert_int_equal(ad_store_llm_usage(f.st, f.tenant, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        assert_string_equal(rows[i].purpose, "test");
        if (!strcmp(rows[i].provider, "openai")) {
            assert_int_equal(rows[i].calls, 3);
            assert_int_equal(rows[i].errors, 3);
        } else {
            assert_string_equal(rows[i].provider, "anthropic");
            assert_int_equal(rows[i].calls, 1);
            assert_int_equal(rows[i].errors, 0);
            assert_int_equal(rows[i].prompt_tokens, 14);
            assert_int_equal(rows[i].completion_tokens, 6);
            assert_true(rows[i].cost_usd > 0);
        }
    }
    ad_llm_usage_rows_free(rows, n);
    store_close(&f);
}

static void test_daily_token_cap(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct fx_store f;
    struct ad_llm *llm;
    int64_t tokens;
    double usd;

    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    o.max_retries = -1;
    o.daily_token_cap = 20;
    use_cases("openai_success", NULL);
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);   /* 22 tokens: now over */
    ad_llm_response_release(&r);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ELIMIT);
    assert_non_null(strstr(err.msg, "daily llm token cap reached: 22 of 20"));
    ad_llm_free(llm);
    assert_served("openai_success", 1);   /* the refused call sent nothing */
    assert_int_equal(ad_store_llm_spent(f.st, f.tenant, "2000-01-01T00:00:00Z", &tokens, &usd,
                                        &err), 0);
    assert_int_equal(tokens, 22);

    /* A dollar cap the same way. */
    o.daily_token_cap = 0;
    o.daily_usd_cap = 0.000001;
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ELIMIT);
    assert_non_null(strstr(err.msg, "daily llm spend cap reached"));
    ad_llm_free(llm);
    store_close(&f);
}

static void test_key_never_leaks(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct fx_store f;
    struct ad_llm *llm;
    char cmd[512];
    int status;

    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    o.max_retries = -1;
    use_cases("openai_401_echo_key", NULL);
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "HTTP 401: Incorrect API key provided"));
    assert_null(strstr(err.msg, OPENAI_KEY));
    assert_null(strstr(err.msg, "0123456789"));
    ad_llm_free(llm);
    assert_served("openai_401_echo_key", 1);
    store_close(&f);
    /* Nor in the database file, whatever table (the store is closed: grep the bytes). */
    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    reset_server();
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    ad_llm_free(llm);
    ad_store_free(f.st);
    f.st = NULL;
    snprintf(cmd, sizeof(cmd), "grep -c 'Incorrect API key' %s >/dev/null && "
             "! grep -q 0123456789 %s %s-wal 2>/dev/null", f.db.path, f.db.path, f.db.path);
    status = system(cmd);
    assert_int_equal(WEXITSTATUS(status), 0);
    tmpdb_remove(&f.db);
}

/* ---- secrets a server or model echoes ----------------------------------- */

/* Whether s holds the digits every test key ends with, in any case. */
static int has_key(const char *s)
{
    return s && strcasestr(s, "0123456789") != NULL;
}

/* No byte of the database file (and its WAL) holds a test key, in any case. */
static void assert_db_clean(const char *path)
{
    char cmd[512];
    int status;

    snprintf(cmd, sizeof(cmd), "! grep -qi 0123456789 %s %s-wal 2>/dev/null", path, path);
    status = system(cmd);
    assert_int_equal(WEXITSTATUS(status), 0);
}

struct pieces {
    struct ad_buf text;
    struct ad_buf tools;
    int leaked;          /* a piece held part of a key's tail */
};

static int on_piece(void *arg, const char *kind, const char *text, size_t len)
{
    struct pieces *p = arg;

    if (memmem(text, len, "0123", 4) || memmem(text, len, "6789", 4))
        p->leaked = 1;
    ad_buf_add(strcmp(kind, "tool") ? &p->text : &p->tools, text, len);
    return 0;
}

static void test_echoed_key_openai(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct pieces p = { AD_BUF_INIT, AD_BUF_INIT, 0 };
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct fx_store f;
    struct ad_llm *llm;
    json_t *args;

    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    o.max_retries = 0;
    use_cases("openai_echo_key", NULL);
    llm = new_llm("openai:gpt-4o-mini", &o);

    /* The text as sent and upper-cased, the tool call, the ids: all masked. */
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Your key is [secret], or in capitals [secret].");
    assert_int_equal(r.ncalls, 1);
    assert_string_equal(r.calls[0].id, "call_[secret]");
    assert_string_equal(r.calls[0].name, "echo_[secret]");
    assert_false(has_key(r.calls[0].arguments));
    /* The JSON-escaped spelling is masked too, once decoded. */
    args = json_loads(r.calls[0].arguments, 0, NULL);
    assert_non_null(args);
    assert_string_equal(json_string_value(json_object_get(args, "key")), "[secret]");
    assert_string_equal(json_string_value(json_object_get(args, "escaped")), "[secret]");
    assert_non_null(json_object_get(args, "[secret]"));
    json_decref(args);
    assert_string_equal(r.request_id, "req_[secret]");
    ad_llm_response_release(&r);

    /* Upper-cased in an error body. */
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "HTTP 401: INCORRECT API KEY PROVIDED: [secret]."));
    assert_false(has_key(err.msg));

    /* Split across two streamed pieces: no piece carries either half. */
    req.on_delta = on_piece;
    req.delta_arg = &p;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "Key: [secret] done.");
    assert_string_equal(p.text.ptr, "Key: [secret] done.");
    assert_false(p.leaked);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_echo_key", 3);
    ad_store_free(f.st);
    f.st = NULL;
    assert_db_clean(f.db.path);
    tmpdb_remove(&f.db);
    ad_buf_release(&p.text);
    ad_buf_release(&p.tools);
}

static void test_echoed_key_anthropic(void **state)
{
    struct ad_llm_request req = base_req(add_question, 1);
    struct pieces p = { AD_BUF_INIT, AD_BUF_INIT, 0 };
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    o.max_retries = 0;
    use_cases(NULL, "anthropic_echo_key");
    llm = new_llm("anthropic:claude-sonnet-4-5", &o);
    use_add_tool(&req);
    req.on_delta = on_piece;
    req.delta_arg = &p;
    if (ad_llm_complete(llm, &req, &r, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(r.text, "Key: [secret].");
    assert_string_equal(p.text.ptr, "Key: [secret].");
    assert_string_equal(p.tools.ptr, "add");
    assert_false(p.leaked);
    assert_int_equal(r.ncalls, 1);
    assert_string_equal(r.calls[0].id, "toolu_[secret]");
    assert_string_equal(r.calls[0].arguments, "{\"a\": \"[secret]\", \"b\": 3}");
    assert_string_equal(r.request_id, "req_echo_[secret]");
    ad_llm_response_release(&r);
    req.on_delta = NULL;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "BAD KEY [secret] IN REQUEST"));
    assert_false(has_key(err.msg));
    ad_llm_free(llm);
    assert_served("anthropic_echo_key", 2);
    ad_buf_release(&p.text);
    ad_buf_release(&p.tools);
}

static void test_echoed_key_exec(void **state)
{
    struct ad_llm_message m[] = { { AD_LLM_USER, "x", NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    /* Whatever provider: a command's output and its standard error. */
    llm = new_llm("exec:echo 'out sk-ant-test-0123456789'; echo 'err SK-ANT-TEST-0123456789' >&2",
                  NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "out [secret]\n");
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    llm = new_llm("exec:echo 'err SK-TEST-OPENAI-0123456789 here' >&2; exit 4", NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "err [secret] here"));
    assert_false(has_key(err.msg));
    ad_llm_free(llm);
}

/* ---- numbers a server sends --------------------------------------------- */

/* The error column of the tenant's ledger rows, oldest first, joined by '\n'. */
static void ledger_notes(const char *path, struct ad_buf *out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT status || ': ' || coalesce(error, '')"
                                            " FROM llm_calls ORDER BY created_at, rowid",
                                        -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW)
        ad_buf_addf(out, "%s\n", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_huge_numbers(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_usage_row *rows = NULL;
    struct ad_buf notes = AD_BUF_INIT;
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct fx_store f;
    struct ad_llm *llm;
    size_t n = 0;

    store_open(&f);
    o.store = f.st;
    o.tenant_id = f.tenant;
    o.max_retries = -1;
    use_cases("openai_huge_numbers", NULL);
    llm = new_llm("openai:gpt-4o-mini", &o);
    if (ad_llm_complete(llm, &req, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.usage.prompt_tokens, AD_LLM_TOKENS_MAX);
    assert_int_equal(r.usage.completion_tokens, AD_LLM_TOKENS_MAX);
    assert_true(r.cost_usd > 0 && r.cost_usd <= AD_LLM_COST_MAX_USD);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    assert_served("openai_huge_numbers", 3);

    /* The ledger holds the clamped counts and says what was changed. */
    assert_int_equal(ad_store_llm_usage(f.st, f.tenant, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].prompt_tokens, AD_LLM_TOKENS_MAX);
    assert_int_equal(rows[0].completion_tokens, AD_LLM_TOKENS_MAX);
    ad_llm_usage_rows_free(rows, n);
    ledger_notes(f.db.path, &notes);
    if (!strstr(notes.ptr, "error: HTTP 429: Rate limit reached for gpt-4o-mini. "
                           "(rate_limit_exceeded) [retry-after-ms disregarded: -5000 ms is "
                           "outside 0..60000; retry-after disregarded: 1e+14 ms is "
                           "outside 0..60000]\n") ||
        !strstr(notes.ptr, "[retry-after-ms disregarded: 1e+300 ms is outside 0..60000]\n") ||
        !strstr(notes.ptr, "ok: clamped prompt_tokens 9223372036854775807 to 1000000000; "
                           "clamped completion_tokens 9223372036854775807 to 1000000000\n"))
        fail_msg("ledger notes:\n%s", notes.ptr);
    ad_buf_release(&notes);
    store_close(&f);
}

/* ---- deadlines ---------------------------------------------------------- */

static void test_deadline_stall(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    /*
     * The first provider stalls 60 s, then answers; the second answers at
     * once. A 1.5 s deadline ends the call in the stall: the answer it would
     * get after the stall, or from the fallback, never comes.
     */
    use_cases("openai_stall", "anthropic_success");
    llm = new_llm("openai:gpt-4o-mini,anthropic:claude-sonnet-4-5", NULL);
    req.deadline_ms = 1500;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ETIMEOUT);
    if (!strstr(err.msg, "openai:gpt-4o-mini: deadline of 1500 ms passed; last error: "
                         "no complete reply within"))
        fail_msg("%s", err.msg);
    assert_null(r.text);
    /* Cut short by its caller, the provider did not fail: no breaker count. */
    assert_string_equal(ad_llm_breaker_state(llm, 0), "closed");
    assert_served("openai_stall", 1);
    assert_served("anthropic_success", 0);
    req.deadline_ms = -1;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EINVAL);
    ad_llm_free(llm);
}

static void test_deadline_backoff(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    /* The server asks for 30 s, which is honoured, but not past a 1 s deadline. */
    use_cases("openai_429_long_wait", NULL);
    llm = new_llm("openai:gpt-4o-mini", NULL);
    req.deadline_ms = 1000;
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ETIMEOUT);
    assert_non_null(strstr(err.msg, "deadline of 1000 ms passed; last error: HTTP 429"));
    ad_llm_free(llm);
    assert_served("openai_429_long_wait", 1);

    /* exec: the command's own timeout is cut to the deadline. */
    llm = new_llm("exec:sleep 60", NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ETIMEOUT);
    assert_non_null(strstr(err.msg, "deadline of 1000 ms passed"));
    ad_llm_free(llm);
}

/* ---- the exec provider's environment ------------------------------------ */

static void test_exec_env_scrubbed(void **state)
{
    struct ad_llm_message m[] = { { AD_LLM_USER, "x", NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;
    static const char *const gone[] = {
        "\nOPENAI_API_KEY=", "\nANTHROPIC_API_KEY=", "\nMY_SERVICE_TOKEN=", "\ndb_password=",
        "\nAWS_SECRET_ACCESS_KEY=", "\nGOOGLE_APPLICATION_CREDENTIALS=", "\nINNOCENT_NAME=",
    };
    static const char *const kept[] = {
        "\nPATH=", "\nHOME=", "\nLANG=C.UTF-8\n", "\nAD_TEST_PLAIN=plain value\n",
        "\nALLOWED_API_KEY=allowed-value-42\n",
    };
    size_t i;

    setenv("MY_SERVICE_TOKEN", "tok-value-123456", 1);
    setenv("db_password", "hunter2hunter2", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value-1", 1);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcloud.json", 1);
    setenv("INNOCENT_NAME", OPENAI_KEY, 1);   /* a registered secret under another name */
    setenv("LANG", "C.UTF-8", 1);
    setenv("AD_TEST_PLAIN", "plain value", 1);
    setenv("ALLOWED_API_KEY", "allowed-value-42", 1);
    setenv("AUTODEV_EXEC_ENV_ALLOW", "SOMETHING_ELSE, ALLOWED_API_KEY", 1);
    /* Each variable on a line of its own, starting with a newline. */
    llm = new_llm("exec:printf '\\n'; env", NULL);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    for (i = 0; i < AD_ARRAY_SIZE(gone); i++) {
        if (strstr(r.text, gone[i]))
            fail_msg("the command saw %s", gone[i] + 1);
    }
    for (i = 0; i < AD_ARRAY_SIZE(kept); i++) {
        if (!strstr(r.text, kept[i]))
            fail_msg("the command did not see %s", kept[i] + 1);
    }
    ad_llm_response_release(&r);
    ad_llm_free(llm);
    unsetenv("MY_SERVICE_TOKEN");
    unsetenv("db_password");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("INNOCENT_NAME");
    unsetenv("AD_TEST_PLAIN");
    unsetenv("ALLOWED_API_KEY");
    unsetenv("AUTODEV_EXEC_ENV_ALLOW");
}

static void test_breaker(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    /* Nothing listens on port 1: every attempt is a connection error. */
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1", 1);
    o.max_retries = 0;
    o.breaker_threshold = 2;
    o.breaker_cooldown_ms = 200;
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "connection failed"));
    assert_string_equal(ad_llm_breaker_state(llm, 0), "closed");
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_string_equal(ad_llm_breaker_state(llm, 0), "open");
    /* Open: refused without trying. */
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "circuit breaker open"));
    usleep(250000);
    assert_string_equal(ad_llm_breaker_state(llm, 0), "half-open");
    /* The trial fails: open again. Then the server comes back: closed. */
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_string_equal(ad_llm_breaker_state(llm, 0), "open");
    usleep(250000);
    use_cases("openai_success", NULL);
    ad_llm_free(llm);
    /* A fresh chain reads the base URL again; the breaker state is per chain. */
    llm = new_llm("openai:gpt-4o-mini", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(ad_llm_breaker_state(llm, 0), "closed");
    ad_llm_response_release(&r);
    ad_llm_free(llm);
}

static void test_breaker_skips_to_next(void **state)
{
    struct ad_llm_request req = base_req(terse, 2);
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;
    int i;

    setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1", 1);
    use_cases(NULL, "anthropic_529_overloaded");   /* answers on its 2nd request */
    o.max_retries = 0;
    o.breaker_threshold = 1;
    o.breaker_cooldown_ms = 60000;
    llm = new_llm("openai:gpt-4o-mini,anthropic:claude-sonnet-4-5", &o);
    /* 1st call: openai fails (breaker opens), anthropic 529 (no retries). */
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_string_equal(ad_llm_breaker_state(llm, 0), "open");
    assert_string_equal(ad_llm_breaker_state(llm, 1), "open");
    for (i = 0; i < 2; i++)
        assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EPERM);
    ad_llm_free(llm);
    assert_served("anthropic_529_overloaded", 1);
}

/* ---- exec and offline --------------------------------------------------- */

static void test_exec(void **state)
{
    struct ad_llm_message m[] = { { AD_LLM_USER, "hello exec", NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    llm = new_llm("exec:/usr/bin/python3 -c 'import sys; print(sys.stdin.read().upper(), end=\"\")'",
                  NULL);
    assert_string_equal(ad_llm_chain_entry(llm, 0),
                        "exec:/usr/bin/python3 -c 'import sys; print(sys.stdin.read().upper(), "
                        "end=\"\")'");
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), 0);
    assert_string_equal(r.text, "HELLO EXEC");
    assert_string_equal(r.provider, "exec");
    assert_int_equal(r.usage.prompt_tokens, 3);   /* 10 bytes, 4 a token, rounded up */
    assert_true(r.cost_usd == 0);
    ad_llm_response_release(&r);
    ad_llm_free(llm);
}

static void test_exec_failures(void **state)
{
    struct ad_llm_message m[] = { { AD_LLM_USER, "x", NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_options o = { 0 };
    struct ad_llm_response r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    o.max_retries = 0;
    llm = new_llm("exec:echo broken >&2; exit 3", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "exited with status 3: broken"));
    ad_llm_free(llm);

    /* The timeout kills the whole process group, children included. */
    o.timeout_ms = 300;
    llm = new_llm("exec:sleep 30 & sleep 30", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ETIMEOUT);
    assert_non_null(strstr(err.msg, "within 300 ms"));
    ad_llm_free(llm);

    /* A flood past the 8 MiB cap is refused, not kept. */
    o.timeout_ms = 20000;
    llm = new_llm("exec:head -c 20000000 /dev/zero", &o);
    assert_int_equal(ad_llm_complete(llm, &req, &r, &err), AD_ETOOBIG);
    ad_llm_free(llm);

    /* A command that never reads its input still answers. */
    llm = new_llm("exec:echo fine", &o);
    {
        char *big = malloc(1 << 20);
        struct ad_llm_message bm[] = { { AD_LLM_USER, big, NULL, 0, NULL } };
        struct ad_llm_request breq = base_req(bm, 1);

        memset(big, 'a', (1 << 20) - 1);
        big[(1 << 20) - 1] = '\0';
        assert_int_equal(ad_llm_complete(llm, &breq, &r, &err), 0);
        assert_string_equal(r.text, "fine\n");
        ad_llm_response_release(&r);
        free(big);
    }
    ad_llm_free(llm);
}

static const char skill_code[] =
    "def score(xs):\n"
    "    # EVOLVE-BLOCK-START\n"
    "    total = 0\n"
    "    for x in xs:\n"
    "        if x > 10:\n"
    "            total += x * 2\n"
    "    # EVOLVE-BLOCK-END\n"
    "    return total\n";

static void test_offline(void **state)
{
    char prompt[1024];
    struct ad_llm_message m[] = { { AD_LLM_USER, prompt, NULL, 0, NULL } };
    struct ad_llm_request req = base_req(m, 1);
    struct ad_llm_response r1, r2;
    struct ad_llm_options o = { 0 };
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_buf out = AD_BUF_INIT;
    enum ad_edit_match how;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;

    snprintf(prompt, sizeof(prompt), "Improve this skill.\n\n```python skill.py\n%s```\n",
             skill_code);
    o.seed = 7;
    o.max_retries = -1;
    llm = new_llm("offline", &o);
    assert_string_equal(ad_llm_chain_entry(llm, 0), "offline:mutate");
    req.seed = 42;
    assert_int_equal(ad_llm_complete(llm, &req, &r1, &err), 0);
    assert_int_equal(ad_llm_complete(llm, &req, &r2, &err), 0);
    assert_string_equal(r1.text, r2.text);     /* same seed, same answer */
    assert_true(r1.cost_usd == 0 && r1.usage.prompt_tokens == 0);
    /* The answer is an edit that applies to the code and changes it. */
    assert_int_equal(ad_edit_parse(r1.text, strlen(r1.text), &set, &err), 0);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.v[0].path, "skill.py");
    assert_int_equal(ad_edit_apply_text(skill_code, strlen(skill_code), &set.v[0], &out, &how,
                                        NULL, &err), 0);
    assert_string_not_equal(out.ptr, skill_code);
    ad_buf_release(&out);
    ad_edit_set_release(&set);
    ad_llm_response_release(&r1);
    ad_llm_response_release(&r2);

    /* A prompt with no code is not a proposal request: refused, not invented. */
    m[0].content = "Say hello.";
    assert_int_equal(ad_llm_complete(llm, &req, &r1, &err), AD_ENOTSUP);
    assert_non_null(strstr(err.msg, "only code-proposal requests"));
    ad_llm_free(llm);
}

/* ---- many at once ------------------------------------------------------- */

static void test_complete_many(void **state)
{
    struct ad_llm_request reqs[12];
    struct ad_llm_response resps[12];
    struct ad_err errs[12];
    int rcs[12];
    struct ad_llm *llm;
    size_t i;

    use_cases("bench_openai", NULL);
    llm = new_llm("openai:gpt-4o-mini", NULL);
    for (i = 0; i < 12; i++)
        reqs[i] = base_req(terse, 2);
    assert_int_equal(ad_llm_complete_many(llm, reqs, 12, 4, resps, rcs, errs), 0);
    for (i = 0; i < 12; i++) {
        assert_int_equal(rcs[i], 0);
        assert_string_equal(resps[i].text, "ok");
        ad_llm_response_release(&resps[i]);
    }
    ad_llm_free(llm);
    assert_served("bench_openai", 12);
}

/* ---- specs and prices --------------------------------------------------- */

static void test_specs(void **state)
{
    static const struct { const char *spec; int code; const char *has; } bad[] = {
        { "", AD_ENOTFOUND, "no llm provider configured" },
        { "gemini:pro", AD_EINVAL, "unknown llm provider in 'gemini:pro'" },
        { "openai", AD_EINVAL, "needs a model: 'openai:MODEL'" },
        { "openai:", AD_EINVAL, "needs a model" },
        { "openai:a,,", AD_EINVAL, "unknown llm provider" },
        { "offline,offline,offline,offline,offline,offline,offline,offline,offline", AD_EINVAL,
          "at most 8 providers" },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        llm = (struct ad_llm *)1;
        assert_int_equal(ad_llm_new(bad[i].spec, NULL, &llm, &err), bad[i].code);
        assert_null(llm);
        if (!strstr(err.msg, bad[i].has))
            fail_msg("spec '%s': '%s' does not say '%s'", bad[i].spec, err.msg, bad[i].has);
    }
    unsetenv("AUTODEV_LLM");
    assert_int_equal(ad_llm_new(NULL, NULL, &llm, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "AUTODEV_LLM"));

    assert_int_equal(ad_llm_new(" openai:gpt-4o , anthropic:claude-x ,exec:a, b", NULL, &llm,
                                &err), 0);
    assert_int_equal(ad_llm_chain_len(llm), 3);
    assert_string_equal(ad_llm_chain_entry(llm, 0), "openai:gpt-4o");
    assert_string_equal(ad_llm_chain_entry(llm, 1), "anthropic:claude-x");
    assert_string_equal(ad_llm_chain_entry(llm, 2), "exec:a, b");   /* exec takes the rest */
    ad_llm_free(llm);

    setenv("OPENAI_BASE_URL", "file:///etc/passwd", 1);
    assert_int_equal(ad_llm_new("openai:x", NULL, &llm, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "http:// or https://"));
}

static void test_prices(void **state)
{
    char path[128];
    struct ad_llm_usage u = { 1000000, 2000000 };
    struct ad_llm_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm;
    FILE *f;

    o.max_retries = -1;
    assert_int_equal(ad_llm_new("offline", &o, &llm, &err), 0);
    /* Built in: the longer prefix wins; unknown models cost nothing. */
    assert_true(fabs(ad_llm_price(llm, "openai", "gpt-4o-mini-2024", &u) - 1.35) < 1e-9);
    assert_true(fabs(ad_llm_price(llm, "openai", "gpt-4o", &u) - 22.5) < 1e-9);
    assert_true(ad_llm_price(llm, "openai", "llama3.2", &u) == 0);
    assert_true(ad_llm_price(llm, "anthropic", "gpt-4o", &u) == 0);
    ad_llm_free(llm);

    snprintf(path, sizeof(path), "/tmp/ad-test-prices-%d.json", (int)getpid());
    f = fopen(path, "w");
    fputs("{\"llama3.2\": {\"input\": 1, \"output\": 0}, \"ollama:x\": {\"input\": 5, "
          "\"output\": 5}, \"openai:llama3.2\": {\"input\": 2, \"output\": 0}}", f);
    fclose(f);
    o.prices_file = path;
    assert_int_equal(ad_llm_new("offline", &o, &llm, &err), 0);
    assert_true(ad_llm_price(llm, "openai", "llama3.2", &u) == 2);   /* provider-qualified */
    assert_true(ad_llm_price(llm, "exec", "llama3.2", &u) == 1);
    assert_true(ad_llm_price(llm, "openai", "gpt-4o", &u) == 0);    /* replaces the table */
    ad_llm_free(llm);

    f = fopen(path, "w");
    fputs("{\"m\": {\"input\": -1, \"output\": 0}}", f);
    fclose(f);
    assert_int_equal(ad_llm_new("offline", &o, &llm, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "price of 'm'"));
    f = fopen(path, "w");
    fputs("{not json", f);
    fclose(f);
    assert_int_equal(ad_llm_new("offline", &o, &llm, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "price table"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_openai_success, per_test),
        cmocka_unit_test_setup(test_openai_tool_call, per_test),
        cmocka_unit_test_setup(test_openai_tool_result_roundtrip, per_test),
        cmocka_unit_test_setup(test_openai_json_schema, per_test),
        cmocka_unit_test_setup(test_openai_stream, per_test),
        cmocka_unit_test_setup(test_openai_stream_tools, per_test),
        cmocka_unit_test_setup(test_vllm_tool_delta_no_index, per_test),
        cmocka_unit_test_setup(test_ollama_arguments_object, per_test),
        cmocka_unit_test_setup(test_openai_429_retry_after, per_test),
        cmocka_unit_test_setup(test_openai_429_retry_after_ms, per_test),
        cmocka_unit_test_setup(test_openai_connection_drop, per_test),
        cmocka_unit_test_setup(test_openai_max_completion_tokens, per_test),
        cmocka_unit_test_setup(test_openai_quota, per_test),
        cmocka_unit_test_setup(test_openai_malformed, per_test),
        cmocka_unit_test_setup(test_openai_truncated, per_test),
        cmocka_unit_test_setup(test_openai_slow, per_test),
        cmocka_unit_test_setup(test_ollama_not_found, per_test),
        cmocka_unit_test_setup(test_openai_400, per_test),
        cmocka_unit_test_setup(test_anthropic_success, per_test),
        cmocka_unit_test_setup(test_anthropic_tool_use, per_test),
        cmocka_unit_test_setup(test_anthropic_tool_result_roundtrip, per_test),
        cmocka_unit_test_setup(test_anthropic_json_schema, per_test),
        cmocka_unit_test_setup(test_anthropic_stream, per_test),
        cmocka_unit_test_setup(test_anthropic_stream_tool, per_test),
        cmocka_unit_test_setup(test_anthropic_overloaded, per_test),
        cmocka_unit_test_setup(test_anthropic_stream_error, per_test),
        cmocka_unit_test_setup(test_fallback_and_ledger, per_test),
        cmocka_unit_test_setup(test_daily_token_cap, per_test),
        cmocka_unit_test_setup(test_key_never_leaks, per_test),
        cmocka_unit_test_setup(test_echoed_key_openai, per_test),
        cmocka_unit_test_setup(test_echoed_key_anthropic, per_test),
        cmocka_unit_test(test_echoed_key_exec),
        cmocka_unit_test_setup(test_huge_numbers, per_test),
        cmocka_unit_test_setup(test_deadline_stall, per_test),
        cmocka_unit_test_setup(test_deadline_backoff, per_test),
        cmocka_unit_test(test_exec_env_scrubbed),
        cmocka_unit_test_setup(test_breaker, per_test),
        cmocka_unit_test_setup(test_breaker_skips_to_next, per_test),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_exec_failures),
        cmocka_unit_test(test_offline),
        cmocka_unit_test_setup(test_complete_many, per_test),
        cmocka_unit_test(test_specs),
        cmocka_unit_test(test_prices),
    };

    return cmocka_run_group_tests(tests, server_start, server_stop);
}
