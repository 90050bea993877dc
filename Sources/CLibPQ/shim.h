#ifndef SK_CLIBPQ_SHIM_H
#define SK_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <postgres_ext.h>

// Swift drops character-literal macros, so PG_DIAG_* reach it through this enum.
enum {
    sk_diag_severity = PG_DIAG_SEVERITY_NONLOCALIZED,
    sk_diag_sqlstate = PG_DIAG_SQLSTATE,
    sk_diag_message_primary = PG_DIAG_MESSAGE_PRIMARY,
    sk_diag_message_detail = PG_DIAG_MESSAGE_DETAIL,
    sk_diag_message_hint = PG_DIAG_MESSAGE_HINT,
    sk_diag_context = PG_DIAG_CONTEXT,
    sk_diag_table_name = PG_DIAG_TABLE_NAME,
    sk_diag_column_name = PG_DIAG_COLUMN_NAME,
};

#endif
