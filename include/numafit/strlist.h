/* strlist.h - formatted heap strings and growable string lists (messages, notes, errors). */
#ifndef NUMAFIT_STRLIST_H
#define NUMAFIT_STRLIST_H

#include <stdarg.h>
#include <stddef.h>

/* A formatted heap string, or NULL when memory runs out. */
char *nf_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Append a formatted string to (*list, *n); 0 or -ENOMEM (the list is unchanged then). */
int nf_strlist_addf(char ***list, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int nf_strlist_vaddf(char ***list, size_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void nf_strlist_free(char **list, size_t n);

#endif
