/* The `cmsgpack` global of Redis scripts: MessagePack encoding and decoding
 * of Lua values (pack, unpack). Debian ships no C library for it, and BullMQ's
 * scripts unpack job options with it, so it is written here from the
 * MessagePack specification. The encoder picks the smallest format for each
 * value, as the module Redis bundles does, so packed bytes match Redis's.
 *
 * Encoding: nil, booleans; integral numbers as the smallest integer format,
 * other numbers as float32 when that is exact, else float64; strings as str;
 * tables whose keys are exactly 1..n as arrays, others as maps. Nesting
 * deeper than MAX_NESTING encodes nil. Decoding returns every object in the
 * input as a separate value. Like Redis's module, it refuses bin and ext
 * formats ("Bad data format in input."). */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

#include "rivet/buffer.h"

#define MAX_NESTING 16

int script_open_cmsgpack(lua_State *L);

/* ---- encoding -------------------------------------------------------- */

static void put_bytes(buffer *out, const void *data, size_t len)
{
    buffer_append(out, data, len);
}

/* Big-endian header byte followed by an n-byte unsigned value. */
static void put_tagged(buffer *out, uint8_t tag, uint64_t value, int bytes)
{
    uint8_t buf[9];
    buf[0] = tag;
    for (int i = 0; i < bytes; i++)
        buf[1 + i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
    put_bytes(out, buf, (size_t)bytes + 1);
}

static void encode_integer(buffer *out, int64_t v)
{
    if (v >= 0) {
        if (v < 128)
            put_tagged(out, (uint8_t)v, 0, 0);
        else if (v <= 0xff)
            put_tagged(out, 0xcc, (uint64_t)v, 1);
        else if (v <= 0xffff)
            put_tagged(out, 0xcd, (uint64_t)v, 2);
        else if (v <= 0xffffffffLL)
            put_tagged(out, 0xce, (uint64_t)v, 4);
        else
            put_tagged(out, 0xcf, (uint64_t)v, 8);
    } else {
        if (v >= -32)
            put_tagged(out, (uint8_t)(0xe0 | (v + 32)), 0, 0);
        else if (v >= -128)
            put_tagged(out, 0xd0, (uint64_t)v & 0xff, 1);
        else if (v >= -32768)
            put_tagged(out, 0xd1, (uint64_t)v & 0xffff, 2);
        else if (v >= -2147483648LL)
            put_tagged(out, 0xd2, (uint64_t)v & 0xffffffffu, 4);
        else
            put_tagged(out, 0xd3, (uint64_t)v, 8);
    }
}

static void encode_number(buffer *out, lua_Number n)
{
    if (n == n && n >= -9223372036854775808.0 && n < 9223372036854775808.0 &&
        (lua_Number)(int64_t)n == n) {
        encode_integer(out, (int64_t)n);
        return;
    }
    float f = (float)n;
    if ((lua_Number)f == n) {
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_tagged(out, 0xca, bits, 4);
    } else {
        uint64_t bits;
        double d = n;
        memcpy(&bits, &d, 8);
        put_tagged(out, 0xcb, bits, 8);
    }
}

static void encode_string(buffer *out, const char *s, size_t len)
{
    if (len < 32)
        put_tagged(out, (uint8_t)(0xa0 | len), 0, 0);
    else if (len <= 0xff)
        put_tagged(out, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_tagged(out, 0xda, len, 2);
    else
        put_tagged(out, 0xdb, len, 4);
    put_bytes(out, s, len);
}

static void encode_header(buffer *out, size_t count, uint8_t fix, uint8_t tag16, uint8_t tag32)
{
    if (count < 16)
        put_tagged(out, (uint8_t)(fix | count), 0, 0);
    else if (count <= 0xffff)
        put_tagged(out, tag16, count, 2);
    else
        put_tagged(out, tag32, count, 4);
}

/* An array is a table whose keys are exactly the integers 1..n. */
static int table_array_length(lua_State *L, int index, size_t *length)
{
    size_t count = 0;
    lua_Number max = 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Number k = lua_tonumber(L, -1);
        if (k < 1 || k != (lua_Number)(int64_t)k) {
            lua_pop(L, 1);
            return 0;
        }
        if (k > max)
            max = k;
        count++;
    }
    *length = count;
    return max == (lua_Number)count;
}

/* Encodes the value on top of the stack and pops it. */
static void encode_value(lua_State *L, buffer *out, int level)
{
    int index = lua_gettop(L);
    size_t len;
    switch (lua_type(L, index)) {
    case LUA_TBOOLEAN:
        put_tagged(out, lua_toboolean(L, index) ? 0xc3 : 0xc2, 0, 0);
        break;
    case LUA_TNUMBER:
        encode_number(out, lua_tonumber(L, index));
        break;
    case LUA_TSTRING: {
        const char *s = lua_tolstring(L, index, &len);
        encode_string(out, s, len);
        break;
    }
    case LUA_TTABLE:
        if (level >= MAX_NESTING || !lua_checkstack(L, 8)) {
            put_tagged(out, 0xc0, 0, 0);
            break;
        }
        if (table_array_length(L, index, &len)) {
            encode_header(out, len, 0x90, 0xdc, 0xdd);
            for (size_t i = 1; i <= len; i++) {
                lua_rawgeti(L, index, (int)i);
                encode_value(L, out, level + 1);
            }
        } else {
            size_t pairs = 0;
            lua_pushnil(L);
            while (lua_next(L, index)) {
                lua_pop(L, 1);
                pairs++;
            }
            encode_header(out, pairs, 0x80, 0xde, 0xdf);
            lua_pushnil(L);
            while (lua_next(L, index)) {
                /* key at -2, value at -1: encode copies, keep the key */
                lua_pushvalue(L, -2);
                encode_value(L, out, level + 1);
                encode_value(L, out, level + 1);
            }
        }
        break;
    default:
        put_tagged(out, 0xc0, 0, 0);
        break;
    }
    lua_settop(L, index - 1);
}

/* The bytes collect in a C buffer rather than a luaL_Buffer: the encoder
 * walks tables on the Lua stack, which a luaL_Buffer must own. Encoding
 * raises no Lua errors (too deep a nesting encodes nil), so the buffer is
 * always released. */
static int cmsgpack_pack(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc == 0)
        return luaL_argerror(L, 0, "MessagePack pack needs input.");
    buffer out;
    buffer_init(&out);
    for (int i = 1; i <= argc; i++) {
        lua_pushvalue(L, i);
        encode_value(L, &out, 0);
    }
    lua_pushlstring(L, out.data ? out.data : "", out.len);
    buffer_release(&out);
    return 1;
}

/* ---- decoding -------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static int need(lua_State *L, reader *r, size_t n)
{
    if (r->left < n)
        return luaL_error(L, "Missing bytes in input.");
    return 0;
}

static uint64_t read_unsigned(lua_State *L, reader *r, int bytes)
{
    need(L, r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->p[i];
    r->p += bytes;
    r->left -= (size_t)bytes;
    return v;
}

static void decode_value(lua_State *L, reader *r);

static void decode_string(lua_State *L, reader *r, size_t len)
{
    need(L, r, len);
    lua_pushlstring(L, (const char *)r->p, len);
    r->p += len;
    r->left -= len;
}

static void decode_array(lua_State *L, reader *r, size_t count)
{
    luaL_checkstack(L, 4, "too deeply nested");
    lua_createtable(L, count < 1024 ? (int)count : 1024, 0);
    for (size_t i = 1; i <= count; i++) {
        decode_value(L, r);
        lua_rawseti(L, -2, (int)i);
    }
}

static void decode_map(lua_State *L, reader *r, size_t count)
{
    luaL_checkstack(L, 4, "too deeply nested");
    lua_newtable(L);
    for (size_t i = 0; i < count; i++) {
        decode_value(L, r);
        decode_value(L, r);
        if (lua_isnil(L, -2)) /* a nil key cannot be stored */
            lua_pop(L, 2);
        else
            lua_rawset(L, -3);
    }
}

static void decode_value(lua_State *L, reader *r)
{
    uint8_t tag = (uint8_t)read_unsigned(L, r, 1);
    if (tag < 0x80) {
        lua_pushnumber(L, tag);
    } else if (tag >= 0xe0) {
        lua_pushnumber(L, (int8_t)tag);
    } else if ((tag & 0xe0) == 0xa0) {
        decode_string(L, r, tag & 0x1f);
    } else if ((tag & 0xf0) == 0x90) {
        decode_array(L, r, tag & 0x0f);
    } else if ((tag & 0xf0) == 0x80) {
        decode_map(L, r, tag & 0x0f);
    } else {
        switch (tag) {
        case 0xc0:
            lua_pushnil(L);
            break;
        case 0xc2:
        case 0xc3:
            lua_pushboolean(L, tag == 0xc3);
            break;
        case 0xcc:
            lua_pushnumber(L, (lua_Number)read_unsigned(L, r, 1));
            break;
        case 0xcd:
            lua_pushnumber(L, (lua_Number)read_unsigned(L, r, 2));
            break;
        case 0xce:
            lua_pushnumber(L, (lua_Number)read_unsigned(L, r, 4));
            break;
        case 0xcf:
            lua_pushnumber(L, (lua_Number)read_unsigned(L, r, 8));
            break;
        case 0xd0:
            lua_pushnumber(L, (int8_t)read_unsigned(L, r, 1));
            break;
        case 0xd1:
            lua_pushnumber(L, (int16_t)read_unsigned(L, r, 2));
            break;
        case 0xd2:
            lua_pushnumber(L, (int32_t)read_unsigned(L, r, 4));
            break;
        case 0xd3:
            lua_pushnumber(L, (lua_Number)(int64_t)read_unsigned(L, r, 8));
            break;
        case 0xca: {
            uint32_t bits = (uint32_t)read_unsigned(L, r, 4);
            float f;
            memcpy(&f, &bits, 4);
            lua_pushnumber(L, f);
            break;
        }
        case 0xcb: {
            uint64_t bits = read_unsigned(L, r, 8);
            double d;
            memcpy(&d, &bits, 8);
            lua_pushnumber(L, d);
            break;
        }
        case 0xd9:
            decode_string(L, r, (size_t)read_unsigned(L, r, 1));
            break;
        case 0xda:
            decode_string(L, r, (size_t)read_unsigned(L, r, 2));
            break;
        case 0xdb:
            decode_string(L, r, (size_t)read_unsigned(L, r, 4));
            break;
        case 0xdc:
            decode_array(L, r, (size_t)read_unsigned(L, r, 2));
            break;
        case 0xdd:
            decode_array(L, r, (size_t)read_unsigned(L, r, 4));
            break;
        case 0xde:
            decode_map(L, r, (size_t)read_unsigned(L, r, 2));
            break;
        case 0xdf:
            decode_map(L, r, (size_t)read_unsigned(L, r, 4));
            break;
        default:
            luaL_error(L, "Bad data format in input.");
        }
    }
}

static int cmsgpack_unpack(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    reader r = {(const uint8_t *)s, len};
    lua_settop(L, 1);
    int count = 0;
    while (r.left > 0) {
        luaL_checkstack(L, 4, "too many values to unpack");
        decode_value(L, &r);
        count++;
    }
    return count;
}

int script_open_cmsgpack(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, cmsgpack_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, cmsgpack_unpack);
    lua_setfield(L, -2, "unpack");
    return 1;
}
