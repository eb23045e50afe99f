/*
 * The Python harness that runs inside the sandbox.
 *
 * argv: harness.py ENTRY [DIR]. It reads DIR/skill.py (default /skill) and
 * DIR/input.json, calls ENTRY and writes exactly one JSON line to fd 3:
 *
 *   {"ok": true, "output": <value>}
 *   {"ok": false, "error": {"type": ..., "message": ..., "traceback": ...}}
 *
 * Error messages and tracebacks are text for people: a NUL in them is
 * written "\0" and a lone surrogate "\udXXX", so that the line stays JSON
 * autodev carries (see parse_result_line in sandbox_super.c for the return
 * value, which is not rewritten).
 *
 * The skill's own stdout and stderr stay separate (fds 1 and 2), so prints
 * cannot corrupt the result. It ends with os._exit once the line is out, so
 * threads the skill left running cannot hold the run open. The input becomes keyword arguments when it is
 * an object whose keys fit the function's parameters (every key a parameter
 * or **kwargs present, every parameter without a default given), else the
 * one positional argument. A null input calls a function that needs no
 * argument with none. inspect is not imported: it would add several
 * milliseconds to every run; the code object says the same.
 *
 * Kept as a C string so the binary is self-contained; it is written into the
 * run's read-only /skill directory (or the process backend's run directory).
 */
#include "compat.h"

#include "sb_int.h"

const char ad__sb_harness_py[] =
    "import sys, os\n"
    "def _fits(fn, data):\n"
    "    if data is None:\n"
    "        data = {}\n"
    "    if type(data) is not dict:\n"
    "        return False\n"
    "    c = getattr(fn, '__code__', None)\n"
    "    if c is None:\n"
    "        return False\n"
    "    npos, nkw, posonly = c.co_argcount, c.co_kwonlyargcount, c.co_posonlyargcount\n"
    "    names = c.co_varnames[:npos + nkw]\n"
    "    defaults = fn.__defaults__ or ()\n"
    "    kwdefaults = fn.__kwdefaults__ or {}\n"
    "    nreq = npos - len(defaults)\n"
    "    if posonly > 0 and nreq > 0:\n"
    "        return False\n"
    "    allowed = set(names[posonly:])\n"
    "    keys = set(data)\n"
    "    if not (c.co_flags & 0x08) and not keys <= allowed:\n"
    "        return False\n"
    "    required = set(names[posonly:max(nreq, posonly)])\n"
    "    required |= {n for n in names[npos:] if n not in kwdefaults}\n"
    "    return required <= keys\n"
    "def _text(s):\n"
    "    return s.replace('\\0', '\\\\0').encode('utf-8', 'backslashreplace').decode('utf-8')\n"
    "def _emit(obj):\n"
    "    import json\n"
    "    try:\n"
    "        line = json.dumps(obj, allow_nan=False, separators=(',', ':'))\n"
    "    except (TypeError, ValueError, RecursionError, OverflowError) as e:\n"
    "        obj = {'ok': False, 'error': {'type': 'TypeError',\n"
    "            'message': 'return value is not JSON: ' + _text(str(e)[:2000]),\n"
    "            'traceback': ''}}\n"
    "        line = json.dumps(obj)\n"
    "    data = (line + '\\n').encode('utf-8', 'replace')\n"
    "    while data:\n"
    "        n = os.write(3, data)\n"
    "        data = data[n:]\n"
    "    return 0 if obj['ok'] else 1\n"
    "def _error(e):\n"
    "    tb = ''\n"
    "    try:\n"
    "        import traceback\n"
    "        tb = ''.join(traceback.format_exception(type(e), e, e.__traceback__))\n"
    "    except BaseException:\n"
    "        pass\n"
    "    try:\n"
    "        msg = str(e)\n"
    "    except BaseException:\n"
    "        msg = '<unprintable>'\n"
    "    return {'ok': False, 'error': {'type': type(e).__name__, 'message': _text(msg[:4000]),\n"
    "            'traceback': _text(tb[-8000:])}}\n"
    "def _main():\n"
    "    entry = sys.argv[1]\n"
    "    d = sys.argv[2] if len(sys.argv) > 2 else '/skill'\n"
    "    try:\n"
    "        import json\n"
    "        with open(d + '/input.json', 'rb') as f:\n"
    "            data = json.loads(f.read() or b'null')\n"
    "        with open(d + '/skill.py', 'rb') as f:\n"
    "            src = f.read()\n"
    "        g = {'__name__': '__skill__', '__file__': d + '/skill.py',\n"
    "             '__builtins__': __builtins__}\n"
    "        exec(compile(src, 'skill.py', 'exec'), g)\n"
    "        fn = g.get(entry)\n"
    "        if not callable(fn):\n"
    "            raise NameError('entry %r is not a function defined by the skill' % entry)\n"
    "        if _fits(fn, data):\n"
    "            out = fn(**(data or {}))\n"
    "        else:\n"
    "            out = fn(data)\n"
    "        res = {'ok': True, 'output': out}\n"
    "    except BaseException as e:\n"
    "        res = _error(e)\n"
    "    try:\n"
    "        sys.stdout.flush()\n"
    "        sys.stderr.flush()\n"
    "    except BaseException:\n"
    "        pass\n"
    "    return _emit(res)\n"
    "os._exit(_main())\n";

const size_t ad__sb_harness_py_len = sizeof(ad__sb_harness_py) - 1;
