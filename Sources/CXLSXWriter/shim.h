#ifndef ORDERFLOW_CXLSXWRITER_SHIM_H
#define ORDERFLOW_CXLSXWRITER_SHIM_H
// libxlsxwriter: writes .xlsx workbooks; the export's `--format xlsx` uses it in constant-memory
// mode (each row goes to a temp file as soon as the next begins), so a 1M-row sheet stays flat.
#include <xlsxwriter.h>
#endif
