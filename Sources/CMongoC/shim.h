#ifndef SK_CMONGOC_SHIM_H
#define SK_CMONGOC_SHIM_H
#include <stdlib.h>
#include <mongoc/mongoc.h>

// Debian's libbson aligns bson_t and bson_iter_t to 128 bytes, so Swift sees them as opaque: allocate them here.
static inline bson_iter_t *sk_iter_alloc(void) { return aligned_alloc(_Alignof(bson_iter_t), sizeof(bson_iter_t)); }
static inline void sk_iter_free(bson_iter_t *iter) { free(iter); }
static inline bson_t *sk_bson_alloc(void) { return aligned_alloc(_Alignof(bson_t), sizeof(bson_t)); }
static inline void sk_bson_free(bson_t *doc) { free(doc); }
// bson_t's fields are unreachable from Swift for the same reason.
static inline uint32_t sk_bson_len(const bson_t *doc) { return doc->len; }
// bson_error_t.message is a char[504]; Swift imports it as a tuple, so hand out a pointer.
static inline const char *sk_error_message(const bson_error_t *error) { return error->message; }
// Where libbson's own iteration would hand values to a caller: used as the reference in benchmarks.
static inline uint32_t sk_iter_type(const bson_iter_t *iter) { return (uint32_t) bson_iter_type(iter); }

#endif
