/* Tests for the cache side index: tag membership both ways, leases (grant,
 * run out, void), detaching on expiry, clearing, and that every byte comes
 * back (mem_used returns to its starting value) after a randomized run
 * checked against a simple model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rivet/cache.h"
#include "rivet/memory.h"

#define KEY(s) (s), strlen(s)

static const char *const ab[] = {"a", "b"};
static const size_t ab_lens[] = {1, 1};

static cache_index_stats stats_of(cache_index *index)
{
    cache_index_stats s;
    cache_index_get_stats(index, &s);
    return s;
}

/* Collects the keys a tag lists, joined by spaces, for easy comparison. */
typedef struct joined {
    char text[256];
} joined;

static void join_key(void *ctx, const char *key, size_t len)
{
    joined *j = ctx;
    size_t used = strlen(j->text);
    snprintf(j->text + used, sizeof(j->text) - used, "%s%.*s", used ? " " : "", (int)len, key);
}

static joined tag_keys(cache_index *index, const char *tag)
{
    joined j = {{0}};
    cache_tag_for_each(index, tag, strlen(tag), join_key, &j);
    return j;
}

static void test_attach_and_tags(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_attach(index, KEY("k1"), 500, ab, ab_lens, 2);
    cache_attach(index, KEY("k2"), -1, ab, ab_lens, 1);
    cache_entry *e = cache_find(index, KEY("k1"));
    assert_non_null(e);
    assert_int_equal(e->attached, 1);
    assert_int_equal(e->soft_deadline, 500);
    assert_int_equal(e->tag_count, 2);
    assert_string_equal(tag_keys(index, "a").text, "k2 k1");
    assert_string_equal(tag_keys(index, "b").text, "k1");
    assert_string_equal(tag_keys(index, "zzz").text, "");
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.attached, 2);
    assert_int_equal(s.tags, 2);
    assert_int_equal(s.memberships, 3);
    assert_null(cache_find(index, KEY("k3")));
    cache_index_destroy(index);
}

static void test_duplicate_tags_kept_once(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    const char *const tags[] = {"t", "u", "t", "t"};
    const size_t lens[] = {1, 1, 1, 1};
    cache_entry *e = cache_attach(index, KEY("k"), -1, tags, lens, 4);
    assert_int_equal(e->tag_count, 2);
    assert_int_equal(stats_of(index).memberships, 2);
    assert_string_equal(tag_keys(index, "t").text, "k");
    cache_index_destroy(index);
}

static void test_reattach_replaces_tags(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_attach(index, KEY("k"), -1, ab, ab_lens, 2);
    const char *const c_tag[] = {"c"};
    const size_t c_len[] = {1};
    cache_attach(index, KEY("k"), 10, c_tag, c_len, 1);
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.tags, 1); /* a and b emptied and were freed */
    assert_int_equal(s.memberships, 1);
    assert_string_equal(tag_keys(index, "a").text, "");
    assert_string_equal(tag_keys(index, "c").text, "k");
    cache_index_destroy(index);
}

static void test_forget_voids_live_lease(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_grant_lease(index, KEY("missing"), 7, 1000);
    cache_entry *e = cache_find(index, KEY("missing"));
    assert_non_null(e);
    assert_int_equal(e->attached, 0);
    assert_true(cache_lease_live(e, 999));
    assert_false(cache_lease_live(e, 1000));
    assert_int_equal(cache_forget(index, KEY("missing"), 10), 1);
    assert_null(cache_find(index, KEY("missing")));
    /* Forgetting a key without a live lease voids nothing. */
    cache_attach(index, KEY("k"), -1, ab, ab_lens, 2);
    assert_int_equal(cache_forget(index, KEY("k"), 10), 0);
    assert_int_equal(cache_forget(index, KEY("never"), 10), 0);
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.leases, 0);
    assert_int_equal(s.tags, 0);
    cache_index_destroy(index);
}

static void test_lease_runs_out(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_grant_lease(index, KEY("miss"), 1, 100); /* lease-only */
    cache_attach(index, KEY("stale"), 50, ab, ab_lens, 1);
    cache_grant_lease(index, KEY("stale"), 2, 200);
    assert_int_equal(stats_of(index).leases, 2);
    assert_int_equal(cache_expire_leases(index, 99, 10), 0);
    assert_int_equal(cache_expire_leases(index, 100, 10), 1);
    assert_null(cache_find(index, KEY("miss"))); /* nothing kept it */
    assert_int_equal(cache_expire_leases(index, 250, 10), 1);
    cache_entry *e = cache_find(index, KEY("stale"));
    assert_non_null(e); /* still holds its value and tag */
    assert_int_equal(e->lease_token, 0);
    assert_int_equal(e->tag_count, 1);
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.leases, 0);
    cache_index_destroy(index);
}

static void test_expire_leases_budget(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cache_grant_lease(index, KEY(key), (uint64_t)i + 1, 10);
    }
    assert_int_equal(cache_expire_leases(index, 20, 4), 4);
    assert_int_equal(stats_of(index).entries, 6);
    assert_int_equal(cache_expire_leases(index, 20, 100), 6);
    assert_int_equal(stats_of(index).entries, 0);
    cache_index_destroy(index);
}

static void test_regrant_replaces_lease(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_grant_lease(index, KEY("k"), 1, 100);
    cache_entry *e = cache_find(index, KEY("k"));
    assert_int_equal(cache_lease_claim_alarm(e), 1);
    assert_int_equal(cache_lease_claim_alarm(e), 0);
    cache_grant_lease(index, KEY("k"), 2, 300);
    assert_int_equal(e->lease_token, 2);
    assert_int_equal(e->lease_deadline, 300);
    assert_int_equal(cache_lease_claim_alarm(e), 1); /* a new lease, a new alarm */
    assert_int_equal(stats_of(index).leases, 1);
    /* The old deadline no longer ends anything. */
    assert_int_equal(cache_expire_leases(index, 150, 10), 0);
    assert_true(cache_lease_live(e, 150));
    cache_index_destroy(index);
}

static void test_attach_consumes_lease(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_grant_lease(index, KEY("k"), 9, 100);
    cache_entry *e = cache_attach(index, KEY("k"), -1, NULL, NULL, 0);
    assert_int_equal(e->lease_token, 0);
    assert_false(cache_lease_live(e, 50));
    assert_int_equal(stats_of(index).leases, 0);
    assert_int_equal(stats_of(index).attached, 1);
    cache_index_destroy(index);
}

static void test_detach_keeps_live_lease(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_attach(index, KEY("k"), 10, ab, ab_lens, 2);
    cache_grant_lease(index, KEY("k"), 5, 100);
    cache_detach(index, KEY("k"), 50); /* expired while its refresh was running */
    cache_entry *e = cache_find(index, KEY("k"));
    assert_non_null(e);
    assert_int_equal(e->attached, 0);
    assert_int_equal(e->soft_deadline, -1);
    assert_int_equal(e->tag_count, 0);
    assert_true(cache_lease_live(e, 50));
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.tags, 0);
    assert_int_equal(s.memberships, 0);
    assert_int_equal(s.attached, 0);
    /* Without a live lease nothing is kept. */
    cache_attach(index, KEY("j"), 10, ab, ab_lens, 2);
    cache_detach(index, KEY("j"), 50);
    assert_null(cache_find(index, KEY("j")));
    cache_detach(index, KEY("none"), 50);
    cache_index_destroy(index);
}

static void test_clear_visits_voided(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    cache_attach(index, KEY("plain"), -1, ab, ab_lens, 2);
    cache_grant_lease(index, KEY("leased"), 3, 100);
    cache_grant_lease(index, KEY("old"), 4, 10);
    joined visited = {{0}};
    assert_int_equal(cache_clear(index, 50, join_key, &visited), 1);
    assert_string_equal(visited.text, "leased");
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.leases, 0);
    assert_int_equal(s.tags, 0);
    assert_int_equal(s.memberships, 0);
    assert_int_equal(s.attached, 0);
    /* The index is usable after a clear. */
    cache_attach(index, KEY("again"), -1, ab, ab_lens, 1);
    assert_string_equal(tag_keys(index, "a").text, "again");
    cache_index_destroy(index);
}

static void test_binary_keys_and_tags(void **state)
{
    (void)state;
    cache_index *index = cache_index_create(0);
    const char key[] = {'k', 0, 'x'};
    const char *const tags[] = {"t\0a", "t\0b"};
    const size_t lens[] = {3, 3};
    cache_attach(index, key, 3, -1, tags, lens, 2);
    assert_non_null(cache_find(index, key, 3));
    assert_null(cache_find(index, key, 1));
    assert_int_equal(stats_of(index).tags, 2);
    assert_int_equal(cache_tag_for_each(index, "t\0a", 3, join_key, &(joined){{0}}), 1);
    assert_int_equal(cache_tag_for_each(index, "t", 1, join_key, &(joined){{0}}), 0);
    cache_index_destroy(index);
}

/* ---------- randomized run against a model ---------- */

#define MODEL_KEYS 64
#define MODEL_TAGS 12

typedef struct model_key {
    int present; /* has an entry */
    int attached;
    unsigned tags;          /* bit set of tags (attached keys only) */
    int64_t lease_deadline; /* 0: no lease */
} model_key;

static uint64_t rng = 0x2545f4914f6cdd1du;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_model(cache_index *index, const model_key *model, int64_t now)
{
    size_t entries = 0, attached = 0, memberships = 0;
    unsigned used_tags = 0;
    char name[16];
    for (int k = 0; k < MODEL_KEYS; k++) {
        snprintf(name, sizeof(name), "key:%d", k);
        cache_entry *e = cache_find(index, KEY(name));
        assert_int_equal(e != NULL, model[k].present);
        if (!e)
            continue;
        entries++;
        attached += (size_t)model[k].attached;
        assert_int_equal(e->attached, model[k].attached);
        assert_int_equal(cache_lease_live(e, now),
                         model[k].lease_deadline != 0 && now < model[k].lease_deadline);
        memberships += (size_t)__builtin_popcount(model[k].tags);
        used_tags |= model[k].tags;
    }
    cache_index_stats s = stats_of(index);
    assert_int_equal(s.entries, entries);
    assert_int_equal(s.attached, attached);
    assert_int_equal(s.memberships, memberships);
    assert_int_equal(s.tags, (size_t)__builtin_popcount(used_tags));
    for (int t = 0; t < MODEL_TAGS; t++) {
        snprintf(name, sizeof(name), "tag:%d", t);
        size_t expected = 0;
        for (int k = 0; k < MODEL_KEYS; k++)
            expected += (model[k].tags >> t) & 1;
        assert_int_equal(cache_tag_for_each(index, KEY(name), join_key, &(joined){{0}}) > 0,
                         expected > 0);
    }
}

static void random_attach(cache_index *index, model_key *m, const char *key)
{
    char names[MODEL_TAGS][16];
    const char *tags[MODEL_TAGS];
    size_t lens[MODEL_TAGS];
    size_t count = next_random() % 5;
    unsigned bits = 0;
    for (size_t i = 0; i < count; i++) {
        int t = (int)(next_random() % MODEL_TAGS);
        snprintf(names[i], sizeof(names[i]), "tag:%d", t);
        tags[i] = names[i];
        lens[i] = strlen(names[i]);
        bits |= 1u << t;
    }
    cache_attach(index, KEY(key), -1, tags, lens, count);
    m->present = m->attached = 1;
    m->tags = bits;
    m->lease_deadline = 0;
}

static void test_random_against_model(void **state)
{
    (void)state;
    size_t baseline = mem_used();
    cache_index *index = cache_index_create(0);
    model_key model[MODEL_KEYS];
    memset(model, 0, sizeof(model));
    int64_t now = 0;
    char key[16];
    for (int step = 0; step < 20000; step++) {
        int k = (int)(next_random() % MODEL_KEYS);
        model_key *m = &model[k];
        snprintf(key, sizeof(key), "key:%d", k);
        switch (next_random() % 6) {
        case 0:
        case 1:
            random_attach(index, m, key);
            break;
        case 2: {
            int64_t deadline = now + 1 + (int64_t)(next_random() % 50);
            cache_grant_lease(index, KEY(key), (uint64_t)step + 1, deadline);
            m->present = 1;
            m->lease_deadline = deadline;
            break;
        }
        case 3:
            cache_forget(index, KEY(key), now);
            memset(m, 0, sizeof(*m));
            break;
        case 4:
            cache_detach(index, KEY(key), now);
            m->attached = 0;
            m->tags = 0;
            if (m->lease_deadline == 0 || now >= m->lease_deadline)
                memset(m, 0, sizeof(*m));
            break;
        case 5:
            now += (int64_t)(next_random() % 10);
            cache_expire_leases(index, now, SIZE_MAX);
            for (int j = 0; j < MODEL_KEYS; j++) {
                if (model[j].lease_deadline != 0 && now >= model[j].lease_deadline) {
                    model[j].lease_deadline = 0;
                    if (!model[j].attached)
                        memset(&model[j], 0, sizeof(model[j]));
                }
            }
            break;
        }
        if (step % 97 == 0)
            check_model(index, model, now);
    }
    check_model(index, model, now);
    cache_clear(index, now, NULL, NULL);
    assert_int_equal(stats_of(index).entries, 0);
    cache_index_destroy(index);
    assert_int_equal(mem_used(), baseline);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_and_tags),
        cmocka_unit_test(test_duplicate_tags_kept_once),
        cmocka_unit_test(test_reattach_replaces_tags),
        cmocka_unit_test(test_forget_voids_live_lease),
        cmocka_unit_test(test_lease_runs_out),
        cmocka_unit_test(test_expire_leases_budget),
        cmocka_unit_test(test_regrant_replaces_lease),
        cmocka_unit_test(test_attach_consumes_lease),
        cmocka_unit_test(test_detach_keeps_live_lease),
        cmocka_unit_test(test_clear_visits_voided),
        cmocka_unit_test(test_binary_keys_and_tags),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
