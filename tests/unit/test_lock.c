/* Unit tests for the lock primitive (src/primitives/lock.c): fencing tokens
 * under an injected clock (including one that steps backwards and a restart
 * that lost the generator), the acquire decisions, and the byte format; then
 * the LOCK.* handlers over a private keyspace with the clock set by hand,
 * checking exact reply bytes, events and INFO counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <stdio.h>

#include "command_driver.h"
#include "rivet/command.h"
#include "rivet/server.h"

#include "rivet/lock.h"
#include "rivet/memory.h"

#define CLOCK_MS 1700000000000LL

#define T0_US 1700000000000000LL

static void test_fencing_follows_clock_and_never_repeats(void **state)
{
    (void)state;
    uint64_t last = 0;
    assert_int_equal(fencing_next(&last, T0_US), T0_US);
    /* Same microsecond twice: the second token is still greater. */
    assert_int_equal(fencing_next(&last, T0_US), T0_US + 1);
    assert_int_equal(fencing_next(&last, T0_US + 100), T0_US + 100);
    assert_int_equal(last, T0_US + 100);
}

static void test_fencing_monotonic_when_clock_goes_backwards(void **state)
{
    (void)state;
    uint64_t last = 0;
    uint64_t previous = fencing_next(&last, T0_US);
    /* An NTP step back of an hour, then a few more steps both ways. */
    int64_t clock[] = {T0_US - 3600000000LL, T0_US - 3600000000LL, T0_US - 1, 0, -5, T0_US + 7};
    for (size_t i = 0; i < sizeof(clock) / sizeof(clock[0]); i++) {
        uint64_t token = fencing_next(&last, clock[i]);
        assert_true(token > previous);
        previous = token;
    }
    assert_int_equal(previous, T0_US + 7);
}

static void test_fencing_after_restart(void **state)
{
    (void)state;
    uint64_t before = 0;
    uint64_t issued = 0;
    for (int i = 0; i < 1000; i++)
        issued = fencing_next(&before, T0_US); /* a burst: runs ahead of the clock */
    assert_int_equal(issued, T0_US + 999);
    /* Restart with the generator lost: a later clock alone keeps order. */
    uint64_t after = 0;
    assert_true(fencing_next(&after, T0_US + 5000) > issued);
    /* Restart with the clock behind: a snapshot's tokens raise the floor. */
    uint64_t reloaded = 0;
    fencing_observe(&reloaded, issued);
    fencing_observe(&reloaded, 17); /* an older token does not lower it */
    assert_int_equal(fencing_next(&reloaded, T0_US - 1000000), issued + 1);
}

static void test_acquire_free_reenter_busy(void **state)
{
    (void)state;
    uint64_t last = 0;
    lock_value *lock = NULL;
    uint64_t token = 0;
    assert_int_equal(lock_acquire(&lock, "a", 1, 0, &last, T0_US, &token), LOCK_GRANTED);
    assert_non_null(lock);
    assert_int_equal(token, T0_US);
    assert_int_equal(lock->token, T0_US);
    assert_true(lock_value_owned_by(lock, "a", 1));
    assert_false(lock_value_owned_by(lock, "ab", 2));

    uint64_t again = 0;
    assert_int_equal(lock_acquire(&lock, "a", 1, 1, &last, T0_US + 9, &again), LOCK_REENTERED);
    assert_int_equal(again, T0_US); /* the same token, the generator untouched */
    assert_int_equal(last, T0_US);

    lock_value *held = lock;
    uint64_t other = 42;
    assert_int_equal(lock_acquire(&lock, "b", 1, 0, &last, T0_US + 10, &other), LOCK_BUSY);
    assert_ptr_equal(lock, held);
    assert_int_equal(other, 42);
    lock_value_free(lock);
}

static void test_acquire_does_not_overtake_queue(void **state)
{
    (void)state;
    uint64_t last = 5;
    lock_value *lock = NULL;
    uint64_t token = 0;
    assert_int_equal(lock_acquire(&lock, "late", 4, 1, &last, 0, &token), LOCK_BUSY);
    assert_null(lock);
    assert_int_equal(last, 5);
    assert_int_equal(lock_acquire(&lock, "late", 4, 0, &last, 0, &token), LOCK_GRANTED);
    assert_int_equal(token, 6);
    lock_value_free(lock);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    const char owner[] = "own\0er";
    lock_value *lock = lock_value_create(owner, sizeof(owner) - 1, 0x0102030405060708ull);
    buffer out;
    buffer_init(&out);
    lock_value_save(lock, &out);
    assert_int_equal(out.len, 15 + 6);
    assert_memory_equal(out.data, "LK\x01\x08\x07\x06\x05\x04\x03\x02\x01\x06\x00\x00\x00", 15);
    lock_value *back = lock_value_load(out.data, out.len);
    assert_non_null(back);
    assert_int_equal(back->token, lock->token);
    assert_true(lock_value_owned_by(back, owner, sizeof(owner) - 1));
    lock_value *copy = lock_value_copy(back);
    assert_true(lock_value_owned_by(copy, owner, sizeof(owner) - 1));
    assert_true(lock_value_memory(copy) >= sizeof(lock_value) + 6);

    /* Malformed inputs: truncated, trailing byte, bad magic, unknown version. */
    assert_null(lock_value_load(out.data, out.len - 1));
    buffer_append_char(&out, 'x');
    assert_null(lock_value_load(out.data, out.len));
    out.len--;
    out.data[0] = 'X';
    assert_null(lock_value_load(out.data, out.len));
    out.data[0] = 'L';
    out.data[2] = 2;
    assert_null(lock_value_load(out.data, out.len));
    assert_null(lock_value_load("", 0));
    buffer_release(&out);
    lock_value_free(lock);
    lock_value_free(back);
    lock_value_free(copy);
}

/* ---------- the commands, driven with an injected clock ---------- */

static int commands_setup(void **state)
{
    (void)state;
    command_driver_setup(CLOCK_MS);
    return 0;
}

static int commands_teardown(void **state)
{
    (void)state;
    command_driver_teardown();
    return 0;
}

static void test_command_tokens_when_clock_goes_back(void **state)
{
    (void)state;
    assert_string_equal(command_driver_run("LOCK.ACQUIRE a o 1000"), ":1700000000000000\r\n");
    assert_string_equal(command_driver_events(), "lock.acquire:a ");
    assert_string_equal(command_driver_run("LOCK.ACQUIRE a o 1000"), ":1700000000000000\r\n");
    /* The clock steps back an hour: a new lock still gets a greater token. */
    command_driver_set_clock_ms(CLOCK_MS - 3600000);
    assert_string_equal(command_driver_run("LOCK.ACQUIRE b o 1000"), ":1700000000000001\r\n");
    assert_string_equal(command_driver_run("LOCK.RELEASE b o"), ":1\r\n");
    assert_string_equal(command_driver_events(), "lock.release:b ");
    assert_string_equal(command_driver_run("LOCK.ACQUIRE b o 1000"), ":1700000000000002\r\n");
    assert_int_equal(server.primitives.lock_acquired, 4);
    assert_int_equal(server.last_token, 1700000000000002ull);
}

static void test_command_lease_ends_with_the_key_ttl(void **state)
{
    (void)state;
    command_driver_set_clock_ms(CLOCK_MS);
    assert_string_equal(command_driver_run("LOCK.ACQUIRE lease o 100"), ":1700000000000000\r\n");
    assert_string_equal(command_driver_run("LOCK.ACQUIRE lease other 100"), "$-1\r\n");
    assert_int_equal(server.primitives.lock_contended, 1);
    command_driver_set_clock_ms(CLOCK_MS + 60);
    assert_string_equal(command_driver_run("LOCK.INFO lease"),
                        "*4\r\n$1\r\no\r\n:1700000000000000\r\n:40\r\n:0\r\n");
    command_driver_client.reply.protocol = 3;
    assert_string_equal(command_driver_run("LOCK.INFO lease"),
                        "%4\r\n$5\r\nowner\r\n$1\r\no\r\n$5\r\ntoken\r\n"
                        ":1700000000000000\r\n$6\r\nttl_ms\r\n:40\r\n"
                        "$7\r\nwaiters\r\n:0\r\n");
    command_driver_client.reply.protocol = 2;
    assert_string_equal(command_driver_run("LOCK.EXTEND lease o 100"), ":1\r\n");
    assert_string_equal(command_driver_events(), "lock.extend:lease ");
    command_driver_set_clock_ms(CLOCK_MS + 160);
    assert_string_equal(command_driver_run("LOCK.INFO lease"),
                        "*4\r\n$1\r\no\r\n:1700000000000000\r\n:0\r\n:0\r\n");
    assert_int_equal(server.primitives.lock_expired, 0);
    /* One millisecond past the lease the key is gone, counted as expired. */
    command_driver_set_clock_ms(CLOCK_MS + 161);
    assert_string_equal(command_driver_run("LOCK.INFO lease"), "$-1\r\n");
    assert_string_equal(command_driver_events(), "expired:lease ");
    assert_int_equal(server.primitives.lock_expired, 1);
    assert_string_equal(command_driver_run("LOCK.ACQUIRE lease other 100"),
                        ":1700000000161000\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fencing_follows_clock_and_never_repeats),
        cmocka_unit_test(test_fencing_monotonic_when_clock_goes_backwards),
        cmocka_unit_test(test_fencing_after_restart),
        cmocka_unit_test(test_acquire_free_reenter_busy),
        cmocka_unit_test(test_acquire_does_not_overtake_queue),
        cmocka_unit_test(test_save_load_round_trip),
    };
    const struct CMUnitTest command_tests[] = {
        cmocka_unit_test_setup_teardown(test_command_tokens_when_clock_goes_back, commands_setup,
                                        commands_teardown),
        cmocka_unit_test_setup_teardown(test_command_lease_ends_with_the_key_ttl, commands_setup,
                                        commands_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(command_tests, NULL, NULL);
}
