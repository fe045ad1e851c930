/* The `struct` library Redis scripts see: struct.pack(fmt, ...),
 * struct.unpack(fmt, data [, position]) and struct.size(fmt), converting
 * between Lua values and C-like binary layouts. Written from the library's
 * documented format language; replies and error texts match what Redis
 * 7.0's scripts get (tests/compat/scripts/scripting.txt compares them).
 *
 * A format is a sequence of options:
 *   > < !N      big endian, little endian, max alignment N (no N: the
 *               platform's); native order and alignment 1 by default
 *   b B h H l L signed/unsigned char, short, long; T size_t
 *   i[n] I[n]   signed/unsigned integer of n bytes (default sizeof(int))
 *   f d         float, double
 *   c[n]        n raw bytes; c0 packs a whole string, and unpacks as many
 *               bytes as the previous (numeric) result said
 *   s           zero-terminated string
 *   x           one zero byte of padding; spaces are ignored
 * Integers are Lua numbers (doubles), as in Lua 5.1. */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "rivet/script.h"

#define INTEGER_SIZE_MAX 32 /* bytes an i/I option may ask for */
#define NATIVE_BYTES     ((int)sizeof(uint64_t))

/* Largest alignment a C struct member may need here. */
struct alignment_probe {
    char c;
    union {
        double d;
        void *p;
        lua_Number n;
        long l;
    } u;
};
#define NATIVE_ALIGN ((int)offsetof(struct alignment_probe, u))

enum { LITTLE_ENDIAN_ORDER, BIG_ENDIAN_ORDER };

typedef struct layout {
    int order;
    int align;
} layout;

static int native_order(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe ? LITTLE_ENDIAN_ORDER : BIG_ENDIAN_ORDER;
}

static void layout_init(layout *l)
{
    l->order = native_order();
    l->align = 1;
}

/* An optional decimal count after an option; `otherwise` when absent. */
static int read_count(lua_State *L, const char **format, int otherwise)
{
    if (!isdigit((unsigned char)**format))
        return otherwise;
    int value = 0;
    while (isdigit((unsigned char)**format)) {
        int digit = *(*format)++ - '0';
        if (value > (INT_MAX - digit) / 10)
            luaL_error(L, "integral size overflow");
        value = value * 10 + digit;
    }
    return value;
}

/* Bytes the option occupies (0 for s, c0 and the control options). */
static size_t option_size(lua_State *L, int option, const char **format)
{
    switch (option) {
    case 'b':
    case 'B':
    case 'x':
        return 1;
    case 'h':
    case 'H':
        return sizeof(short);
    case 'l':
    case 'L':
        return sizeof(long);
    case 'T':
        return sizeof(size_t);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    case 'c':
        return (size_t)read_count(L, format, 1);
    case 'i':
    case 'I': {
        int size = read_count(L, format, (int)sizeof(int));
        if (size > INTEGER_SIZE_MAX)
            luaL_error(L, "integral size %d is larger than limit of %d", size, INTEGER_SIZE_MAX);
        return (size_t)size;
    }
    default:
        return 0;
    }
}

/* Zero bytes needed before an item of `size` at `offset`. */
static size_t padding_before(size_t offset, const layout *l, int option, size_t size)
{
    if (size == 0 || option == 'c')
        return 0;
    if (size > (size_t)l->align)
        size = (size_t)l->align;
    return (size - (offset & (size - 1))) & (size - 1);
}

/* The options that change the layout instead of describing data. */
static void apply_control(lua_State *L, int option, const char **format, layout *l)
{
    switch (option) {
    case ' ':
        return;
    case '>':
        l->order = BIG_ENDIAN_ORDER;
        return;
    case '<':
        l->order = LITTLE_ENDIAN_ORDER;
        return;
    case '!': {
        int align = read_count(L, format, NATIVE_ALIGN);
        if (align <= 0 || (align & (align - 1)) != 0)
            luaL_error(L, "alignment %d is not a power of 2", align);
        l->align = align;
        return;
    }
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", option));
    }
}

static int is_integer_option(int option)
{
    return strchr("bBhHlLTiI", option) != NULL && option != '\0';
}

/* Floats travel in the layout's byte order. */
static void order_bytes(char *bytes, size_t size, int order)
{
    if (order == native_order())
        return;
    for (size_t i = 0; i < size / 2; i++) {
        char t = bytes[i];
        bytes[i] = bytes[size - 1 - i];
        bytes[size - 1 - i] = t;
    }
}

static void pack_integer(luaL_Buffer *out, lua_Number number, int order, size_t size)
{
    /* Negative numbers go through the signed type so they wrap as two's
     * complement; bytes past the eighth are zero. */
    uint64_t value = number < 0 ? (uint64_t)(int64_t)number : (uint64_t)number;
    char bytes[INTEGER_SIZE_MAX];
    for (size_t i = 0; i < size; i++) {
        size_t at = order == LITTLE_ENDIAN_ORDER ? i : size - 1 - i;
        bytes[at] = (char)(i < (size_t)NATIVE_BYTES ? (value >> (8 * i)) & 0xff : 0);
    }
    luaL_addlstring(out, bytes, size);
}

static lua_Number unpack_integer(const char *bytes, int order, int is_signed, size_t size)
{
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++) {
        size_t at = order == LITTLE_ENDIAN_ORDER ? size - 1 - i : i;
        value = (value << 8) | (unsigned char)bytes[at];
    }
    if (is_signed) {
        if (size < (size_t)NATIVE_BYTES) {
            uint64_t sign = (uint64_t)1 << (size * 8 - 1);
            if (value & sign)
                value |= ~(uint64_t)0 << (size * 8 - 1);
        }
        return (lua_Number)(int64_t)value;
    }
    return (lua_Number)value;
}

static int struct_pack(lua_State *L)
{
    const char *format = luaL_checkstring(L, 1);
    layout l;
    layout_init(&l);
    int arg = 2;
    size_t total = 0;
    luaL_Buffer out;
    lua_pushnil(L); /* keeps the buffer's stack slots apart from the arguments */
    luaL_buffinit(L, &out);
    while (*format) {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        size_t pad = padding_before(total, &l, option, size);
        total += pad;
        while (pad-- > 0)
            luaL_addchar(&out, '\0');
        if (is_integer_option(option)) {
            pack_integer(&out, luaL_checknumber(L, arg++), l.order, size);
        } else if (option == 'x') {
            luaL_addchar(&out, '\0');
        } else if (option == 'f') {
            float f = (float)luaL_checknumber(L, arg++);
            order_bytes((char *)&f, sizeof(f), l.order);
            luaL_addlstring(&out, (const char *)&f, sizeof(f));
        } else if (option == 'd') {
            double d = luaL_checknumber(L, arg++);
            order_bytes((char *)&d, sizeof(d), l.order);
            luaL_addlstring(&out, (const char *)&d, sizeof(d));
        } else if (option == 'c' || option == 's') {
            size_t len;
            const char *s = luaL_checklstring(L, arg++, &len);
            if (size == 0)
                size = len;
            /* The library reports the argument after the string here. */
            luaL_argcheck(L, len >= size, arg, "string too short");
            luaL_addlstring(&out, s, size);
            if (option == 's') {
                luaL_addchar(&out, '\0');
                size++;
            }
        } else {
            apply_control(L, option, &format, &l);
        }
        total += size;
    }
    luaL_pushresult(&out);
    return 1;
}

static int struct_unpack(lua_State *L)
{
    const char *format = luaL_checkstring(L, 1);
    size_t data_len;
    const char *data = luaL_checklstring(L, 2, &data_len);
    size_t position = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, position > 0, 3, "offset must be 1 or greater");
    position--;
    layout l;
    layout_init(&l);
    int results = 0;
    while (*format) {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        position += padding_before(position, &l, option, size);
        luaL_argcheck(L, position <= data_len && size <= data_len - position, 2,
                      "data string too short");
        luaL_checkstack(L, 2, "too many results");
        if (is_integer_option(option)) {
            lua_pushnumber(
                L, unpack_integer(data + position, l.order, islower((unsigned char)option), size));
            results++;
        } else if (option == 'x') {
            /* padding: nothing to return */
        } else if (option == 'f') {
            float f;
            memcpy(&f, data + position, sizeof(f));
            order_bytes((char *)&f, sizeof(f), l.order);
            lua_pushnumber(L, f);
            results++;
        } else if (option == 'd') {
            double d;
            memcpy(&d, data + position, sizeof(d));
            order_bytes((char *)&d, sizeof(d), l.order);
            lua_pushnumber(L, d);
            results++;
        } else if (option == 'c') {
            if (size == 0) { /* the previous result is the length */
                if (results == 0 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)lua_tonumber(L, -1);
                lua_pop(L, 1);
                results--;
                luaL_argcheck(L, size <= data_len && position <= data_len - size, 2,
                              "data string too short");
            }
            lua_pushlstring(L, data + position, size);
            results++;
        } else if (option == 's') {
            const char *end = memchr(data + position, '\0', data_len - position);
            if (end == NULL)
                luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + position)) + 1;
            lua_pushlstring(L, data + position, size - 1);
            results++;
        } else {
            apply_control(L, option, &format, &l);
        }
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)position + 1);
    return results + 1;
}

static int struct_size(lua_State *L)
{
    const char *format = luaL_checkstring(L, 1);
    layout l;
    layout_init(&l);
    size_t position = 0;
    while (*format) {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        position += padding_before(position, &l, option, size);
        if (option == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (option == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum((unsigned char)option))
            apply_control(L, option, &format, &l);
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)position);
    return 1;
}

int script_open_struct(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, struct_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, struct_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, struct_size);
    lua_setfield(L, -2, "size");
    return 1;
}
