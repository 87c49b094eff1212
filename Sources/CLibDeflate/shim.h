#ifndef ORDERFLOW_CLIBDEFLATE_SHIM_H
#define ORDERFLOW_CLIBDEFLATE_SHIM_H
// libdeflate: whole-buffer DEFLATE/gzip, about a third less CPU than zlib at the same level and a
// smaller output; the export compresses each buffer as one gzip member with it.
#include <libdeflate.h>
#endif
