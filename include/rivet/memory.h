/* memory: the one allocation wrapper. Every byte the server keeps goes through
 * here so that used_memory is exact (usable size of each block, as jemalloc
 * reports it) and maxmemory can be enforced. Allocation failure aborts with a
 * log line: a half-built structure is worse than a clean exit. */
#ifndef RIVET_MEMORY_H
#define RIVET_MEMORY_H

#include <stddef.h>
#include <stdint.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t size);
void *mem_realloc(void *ptr, size_t size);
void mem_free(void *ptr);
char *mem_strdup(const char *s);
void *mem_dup(const void *data, size_t len);

/* A worker thread (lazy freeing) brackets its work with these: in between,
 * its allocations and frees are tallied for that thread only, and end
 * returns the net change in bytes (negative when it freed). The loop thread
 * then applies it with mem_account, so used_memory has one writer. */
void mem_background_begin(void);
int64_t mem_background_end(void);
void mem_account(int64_t delta);

/* Bytes currently allocated through this module (usable sizes). */
size_t mem_used(void);
/* Usable size of a block returned by mem_alloc (0 for NULL). */
size_t mem_block_size(const void *ptr);
/* Usable size a request of `size` bytes would get (the allocator's size
 * class), without allocating; `size` rounded up to 16 when the allocator
 * cannot say (libc, sanitizers). */
size_t mem_size_class(size_t size);
/* Returns unused dirty pages to the system (jemalloc); 0 on success. */
int mem_purge(void);
/* Appends the allocator's statistics report as text to out (a string
 * saying there is none for allocators without one). */
struct buffer;
void mem_allocator_report(struct buffer *out);
/* Name of the allocator in use ("jemalloc-5.3.0" or "libc"). */
const char *mem_allocator_name(void);
/* Resident set size of this process in bytes, read from /proc (0 if unknown). */
size_t mem_rss(void);

#endif
