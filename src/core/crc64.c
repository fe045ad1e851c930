/* CRC-64/Jones, reflected. The table is built on first use from the
 * reflected polynomial; eight tables let the main loop consume eight bytes
 * per step ("slicing by 8"), since snapshots checksum every byte they write
 * and a byte-at-a-time loop would dominate a save. */
#include "rivet/crc64.h"

#include <pthread.h>

/* 0xad93d23594c935a9 with its bits reversed. */
#define CRC64_JONES_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (int n = 0; n < 256; n++) {
        uint64_t crc = (uint64_t)n;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ CRC64_JONES_REFLECTED : crc >> 1;
        table[0][n] = crc;
    }
    /* table[k][n]: the effect of byte n followed by k zero bytes. */
    for (int n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
}

uint64_t crc64_update(uint64_t crc, const void *data, size_t len)
{
    pthread_once(&table_once, table_build);
    const unsigned char *p = data;
    while (len >= 8) {
        /* Byte order of the word does not matter: bytes are folded one by one. */
        uint64_t x = crc ^ ((uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                            (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                            (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56);
        crc = table[7][x & 0xff] ^ table[6][(x >> 8) & 0xff] ^ table[5][(x >> 16) & 0xff] ^
              table[4][(x >> 24) & 0xff] ^ table[3][(x >> 32) & 0xff] ^ table[2][(x >> 40) & 0xff] ^
              table[1][(x >> 48) & 0xff] ^ table[0][x >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
