/* strlist.c - formatted heap strings and string lists (see numafit/strlist.h). */
#include "numafit/strlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char *nf_strdupf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : s;
}

int nf_strlist_vaddf(char ***list, size_t *n, const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        return -ENOMEM;
    char **l = realloc(*list, (*n + 1) * sizeof(*l));
    if (!l) {
        free(s);
        return -ENOMEM;
    }
    l[(*n)++] = s;
    *list = l;
    return 0;
}

int nf_strlist_addf(char ***list, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nf_strlist_vaddf(list, n, fmt, ap);
    va_end(ap);
    return rc;
}

void nf_strlist_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}
