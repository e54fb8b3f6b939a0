/* crc_tables.h - const slicing-by-8 tables (crc_tables.c); private to sigv4/. */
#ifndef S3W_SIGV4_CRC_TABLES_H
#define S3W_SIGV4_CRC_TABLES_H

#include <stdint.h>

extern const uint32_t s3w_crc32c_table[8][256];
extern const uint64_t s3w_crc64nvme_table[8][256];

#endif
