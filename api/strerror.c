/*
 * liblars return codes as text (see lars.h for what each one means).
 */
#include <string.h>

#include "api/lars.h"

const char *lars_strerror(int code)
{
    switch (code) {
    case LARS_SUCC:
        return "success";
    case LARS_OVERLOAD:
        return "all hosts of the pair are overloaded";
    case LARS_SYSTEM_ERROR:
        return "agent system error";
    case LARS_NOEXIST:
        return "no host for the pair";
    case LARS_TIMEOUT:
        return "agent did not answer in time";
    case LARS_EINVAL:
        return "invalid argument";
    }
    if (code < 0) {
        /* Unlike strerror(), a static string: safe from any thread. */
        const char *s = strerrordesc_np(-code);

        return s ? s : "unknown error";
    }
    return "unknown agent answer";
}
