#ifndef ORDERFLOW_CZLIB_SHIM_H
#define ORDERFLOW_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro (it passes the library version and struct size), which Swift cannot
/// import; this wrapper makes it callable.
static inline int orderflow_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

/// deflateInit2 is a macro as well; wrapped for the same reason.
static inline int orderflow_deflateInit2(z_streamp strm, int level, int windowBits) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif
