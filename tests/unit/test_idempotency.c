/* Unit tests for the idempotency state machine (src/primitives/idempotency.c)
 * with an injected clock: acquire, in progress, done, fingerprint mismatch,
 * lease takeover after a holder crashed, complete/abort by stale tokens, and
 * the byte format; then the IDEM.* handlers with the clock set by hand, down
 * to the millisecond where the lease ends but the key still exists. */
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

#include "rivet/idempotency.h"
#include "rivet/memory.h"

#define CLOCK_MS 1700000000000LL

#define T0_MS  1700000000000LL
#define US(ms) ((ms)*1000LL)

static idem_begin_result begin_at(idem_record **record, int64_t now_ms, int64_t lease_ms,
                                  const char *fingerprint, uint64_t *last)
{
    idem_begin_request request = {.now_us = US(now_ms),
                                  .lease_ms = lease_ms,
                                  .fingerprint = fingerprint,
                                  .fingerprint_len = fingerprint ? strlen(fingerprint) : 0};
    return idem_begin(record, &request, last);
}

static void test_acquire_then_in_progress_then_done(void **state)
{
    (void)state;
    uint64_t last = 0;
    idem_record *record = NULL;
    idem_begin_result r = begin_at(&record, T0_MS, 1000, NULL, &last);
    assert_int_equal(r.outcome, IDEM_BEGIN_ACQUIRED);
    assert_int_equal(r.token, US(T0_MS));
    assert_false(r.taken_over);
    assert_int_equal(record->state, IDEM_IN_PROGRESS);
    assert_int_equal(record->lease_deadline_ms, T0_MS + 1000);

    r = begin_at(&record, T0_MS + 250, 1000, NULL, &last);
    assert_int_equal(r.outcome, IDEM_BEGIN_IN_PROGRESS);
    assert_int_equal(r.lease_left_ms, 750);

    assert_int_equal(idem_complete(record, r.token + 1, "x", 1, US(T0_MS + 300)), 0);
    assert_int_equal(idem_complete(record, US(T0_MS), "resp", 4, US(T0_MS + 300)), 1);
    assert_int_equal(record->state, IDEM_DONE);
    assert_memory_equal(record->response, "resp", 4);
    /* Completing twice is refused: the response stays the first one. */
    assert_int_equal(idem_complete(record, US(T0_MS), "other", 5, US(T0_MS + 301)), 0);

    /* Done long after the lease: the stored response is the answer. */
    r = begin_at(&record, T0_MS + 999999, 1000, NULL, &last);
    assert_int_equal(r.outcome, IDEM_BEGIN_DONE);
    assert_string_equal(idem_state_name(record->state), "done");
    idem_record_free(record);
}

static void test_lease_takeover_after_crash(void **state)
{
    (void)state;
    uint64_t last = 0;
    idem_record *record = NULL;
    idem_begin_result first = begin_at(&record, T0_MS, 100, "fp1", &last);
    assert_int_equal(first.outcome, IDEM_BEGIN_ACQUIRED);
    /* The last millisecond of the lease still belongs to the holder. */
    idem_begin_result r = begin_at(&record, T0_MS + 99, 100, "fp1", &last);
    assert_int_equal(r.outcome, IDEM_BEGIN_IN_PROGRESS);
    assert_int_equal(r.lease_left_ms, 1);
    /* Lease over: the next delivery takes the record over with a new token,
     * even with another fingerprint (a lapsed record counts as absent). */
    idem_begin_result second = begin_at(&record, T0_MS + 100, 500, "fp2", &last);
    assert_int_equal(second.outcome, IDEM_BEGIN_ACQUIRED);
    assert_true(second.taken_over);
    assert_true(second.token > first.token);
    assert_int_equal(record->lease_deadline_ms, T0_MS + 600);
    assert_memory_equal(record->fingerprint, "fp2", 3);
    /* The crashed holder wakes up: its token no longer completes or aborts. */
    assert_int_equal(idem_complete(record, first.token, "late", 4, US(T0_MS + 101)), 0);
    assert_int_equal(idem_may_abort(record, first.token, US(T0_MS + 101)), 0);
    assert_int_equal(idem_may_abort(record, second.token, US(T0_MS + 101)), 1);
    /* Nor can the new holder once its own lease has run out. */
    assert_int_equal(idem_complete(record, second.token, "r", 1, US(T0_MS + 600)), 0);
    assert_int_equal(idem_may_abort(record, second.token, US(T0_MS + 600)), 0);
    idem_record_free(record);
}

static void test_tokens_monotonic_with_clock_going_back(void **state)
{
    (void)state;
    uint64_t last = 0;
    idem_record *a = NULL, *b = NULL;
    idem_begin_result ra = begin_at(&a, T0_MS, 10, NULL, &last);
    idem_begin_result rb = begin_at(&b, T0_MS - 60000, 10, NULL, &last);
    assert_true(rb.token > ra.token);
    idem_record_free(a);
    idem_record_free(b);
}

static void test_fingerprint_mismatch(void **state)
{
    (void)state;
    uint64_t last = 0;
    idem_record *record = NULL;
    idem_begin_result r = begin_at(&record, T0_MS, 1000, "amount=5", &last);
    assert_int_equal(begin_at(&record, T0_MS + 1, 1000, "amount=6", &last).outcome,
                     IDEM_BEGIN_MISMATCH);
    assert_int_equal(begin_at(&record, T0_MS + 1, 1000, "amount=5", &last).outcome,
                     IDEM_BEGIN_IN_PROGRESS);
    /* No fingerprint given: nothing to compare. */
    assert_int_equal(begin_at(&record, T0_MS + 1, 1000, NULL, &last).outcome,
                     IDEM_BEGIN_IN_PROGRESS);
    assert_int_equal(idem_complete(record, r.token, "ok", 2, US(T0_MS + 2)), 1);
    assert_int_equal(begin_at(&record, T0_MS + 3, 1000, "amount=6", &last).outcome,
                     IDEM_BEGIN_MISMATCH);
    assert_int_equal(begin_at(&record, T0_MS + 3, 1000, "amount=", &last).outcome,
                     IDEM_BEGIN_MISMATCH);
    assert_int_equal(begin_at(&record, T0_MS + 3, 1000, "amount=5", &last).outcome,
                     IDEM_BEGIN_DONE);
    idem_record_free(record);

    /* A record made without a fingerprint accepts any. */
    record = NULL;
    begin_at(&record, T0_MS, 1000, NULL, &last);
    assert_int_equal(begin_at(&record, T0_MS + 1, 1000, "x", &last).outcome,
                     IDEM_BEGIN_IN_PROGRESS);
    idem_record_free(record);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    uint64_t last = 0;
    idem_record *record = NULL;
    idem_begin_result r = begin_at(&record, T0_MS, 1000, "f\0p", &last);
    assert_int_equal(record->fingerprint_len, 1); /* strlen stops at the NUL */
    buffer out;
    buffer_init(&out);
    idem_record_save(record, &out);
    idem_record *back = idem_record_load(out.data, out.len);
    assert_non_null(back);
    assert_int_equal(back->state, IDEM_IN_PROGRESS);
    assert_int_equal(back->token, r.token);
    assert_int_equal(back->lease_deadline_ms, T0_MS + 1000);
    assert_true(back->has_fingerprint);
    assert_null(back->response);
    idem_record_free(back);

    const char response[] = "{\"id\":1}\0binary";
    assert_int_equal(idem_complete(record, r.token, response, sizeof(response), US(T0_MS + 1)), 1);
    buffer_clear(&out);
    idem_record_save(record, &out);
    back = idem_record_load(out.data, out.len);
    assert_non_null(back);
    assert_int_equal(back->state, IDEM_DONE);
    assert_int_equal(back->response_len, sizeof(response));
    assert_memory_equal(back->response, response, sizeof(response));
    idem_record *copy = idem_record_copy(back);
    assert_memory_equal(copy->response, response, sizeof(response));
    assert_memory_equal(copy->fingerprint, "f", 1);
    assert_true(idem_record_memory(copy) >= sizeof(idem_record) + sizeof(response));

    /* Without a fingerprint, and with an empty response. */
    idem_record *plain = NULL;
    idem_begin_result p = begin_at(&plain, T0_MS, 1000, NULL, &last);
    assert_int_equal(idem_complete(plain, p.token, "", 0, US(T0_MS + 1)), 1);
    buffer plain_bytes;
    buffer_init(&plain_bytes);
    idem_record_save(plain, &plain_bytes);
    assert_int_equal(plain_bytes.len, 21 + 4 + 4);
    idem_record *plain_back = idem_record_load(plain_bytes.data, plain_bytes.len);
    assert_non_null(plain_back);
    assert_false(plain_back->has_fingerprint);
    assert_null(plain_back->fingerprint);
    assert_int_equal(plain_back->state, IDEM_DONE);
    assert_int_equal(plain_back->response_len, 0);
    idem_record_free(plain_back);
    idem_record_free(plain);
    buffer_release(&plain_bytes);

    for (size_t cut = 0; cut < out.len; cut++)
        assert_null(idem_record_load(out.data, cut));
    buffer_append_char(&out, 0);
    assert_null(idem_record_load(out.data, out.len));
    out.len--;
    out.data[3] = 3; /* no such state */
    assert_null(idem_record_load(out.data, out.len));
    out.data[3] = IDEM_DONE;
    out.data[2] = 9; /* unknown version */
    assert_null(idem_record_load(out.data, out.len));
    buffer_release(&out);
    idem_record_free(record);
    idem_record_free(back);
    idem_record_free(copy);
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

static void test_command_lease_takeover_at_the_deadline(void **state)
{
    (void)state;
    assert_string_equal(command_driver_run("IDEM.BEGIN job 100"),
                        "*2\r\n$8\r\nacquired\r\n:1700000000000000\r\n");
    assert_string_equal(command_driver_events(), "idem.begin:job ");
    command_driver_set_clock_ms(CLOCK_MS + 99);
    assert_string_equal(command_driver_run("IDEM.BEGIN job 100"),
                        "*2\r\n$11\r\nin_progress\r\n:1\r\n");
    assert_string_equal(command_driver_events(), "");
    assert_string_equal(command_driver_run("IDEM.GET job"),
                        "*3\r\n$11\r\nin_progress\r\n$-1\r\n:1\r\n");
    /* At the deadline the key still exists (it expires one ms later), but
     * the lease is over: the record is taken over with a new token. */
    command_driver_set_clock_ms(CLOCK_MS + 100);
    assert_string_equal(command_driver_run("IDEM.BEGIN job 500"),
                        "*2\r\n$8\r\nacquired\r\n:1700000000100000\r\n");
    assert_string_equal(command_driver_run("IDEM.COMPLETE job 1700000000000000 late 1000"),
                        ":0\r\n");
    assert_string_equal(command_driver_run("IDEM.COMPLETE job 1700000000100000 body 1000"),
                        ":1\r\n");
    assert_string_equal(command_driver_events(), "idem.complete:job ");
    command_driver_set_clock_ms(CLOCK_MS + 400);
    assert_string_equal(command_driver_run("IDEM.BEGIN job 500"),
                        "*2\r\n$4\r\ndone\r\n$4\r\nbody\r\n");
    assert_string_equal(command_driver_run("IDEM.GET job"),
                        "*3\r\n$4\r\ndone\r\n$4\r\nbody\r\n:700\r\n");
    command_driver_client.reply.protocol = 3;
    assert_string_equal(command_driver_run("IDEM.GET job"),
                        "%3\r\n$5\r\nstate\r\n$4\r\ndone\r\n$8\r\nresponse\r\n"
                        "$4\r\nbody\r\n$6\r\nttl_ms\r\n:700\r\n");
    assert_string_equal(command_driver_run("IDEM.BEGIN job 500"),
                        "*2\r\n$4\r\ndone\r\n$4\r\nbody\r\n");
    command_driver_client.reply.protocol = 2;
    command_driver_set_clock_ms(CLOCK_MS + 1101);
    assert_string_equal(command_driver_run("IDEM.GET job"), "$-1\r\n");
    assert_int_equal(server.primitives.idempotency_acquired, 2);
    assert_int_equal(server.primitives.idempotency_in_progress, 1);
    assert_int_equal(server.primitives.idempotency_done_hits, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_then_in_progress_then_done),
        cmocka_unit_test(test_lease_takeover_after_crash),
        cmocka_unit_test(test_tokens_monotonic_with_clock_going_back),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_save_load_round_trip),
    };
    const struct CMUnitTest command_tests[] = {
        cmocka_unit_test_setup_teardown(test_command_lease_takeover_at_the_deadline, commands_setup,
                                        commands_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(command_tests, NULL, NULL);
}
