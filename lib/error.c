/* error.c - error messages (see numafit/error.h). */
#include "numafit/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nf_errf(nf_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *nf_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code < 0)
        return strerror(-code);
    return "unknown error";
}
