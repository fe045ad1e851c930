/* Renders the command table as the Markdown reference in docs/commands.md
 * (rivet-server --commands-markdown), so the user docs are generated from
 * the same rows dispatch uses and cannot drift from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/command.h"
#include "rivet/memory.h"

static int compare_commands(const void *a, const void *b)
{
    const command *x = *(const command *const *)a, *y = *(const command *const *)b;
    int g = strcmp(x->group ? x->group : "", y->group ? y->group : "");
    return g ? g : strcmp(x->name, y->name);
}

static void print_row(FILE *out, const command *cmd)
{
    char name[96];
    command_full_name(cmd, name, sizeof(name));
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    for (char *p = name; *p; p++)
        if (*p == '|')
            *p = ' ';
    fprintf(out, "| `%s` | %d | %s | %s |\n", name, cmd->arity, cmd->since ? cmd->since : "",
            cmd->summary ? cmd->summary : "");
}

void command_print_markdown(FILE *out)
{
    size_t n = command_count();
    const command **sorted = mem_alloc(sizeof(*sorted) * n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = command_at(i);
    qsort(sorted, n, sizeof(*sorted), compare_commands);
    fprintf(out, "# Commands\n\n"
                 "Generated from the command table by `rivet-server --commands-markdown`; do not "
                 "edit by hand (a test checks it is current). Arity counts the command name; a "
                 "negative arity means \"at least\". Behaviour, replies and error texts follow "
                 "Redis 7; the differences are listed in [compatibility.md](compatibility.md).\n");
    const char *group = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const command *cmd = sorted[i];
        if (group == NULL || strcmp(group, cmd->group ? cmd->group : "") != 0) {
            group = cmd->group ? cmd->group : "";
            fprintf(out, "\n## %s\n\n| command | arity | since | summary |\n|---|---:|---|---|\n",
                    group);
        }
        if (cmd->subcommands) {
            if (cmd->handler) {
                print_row(out, cmd);
                total++;
            }
            for (const command *sub = cmd->subcommands; sub->name; sub++) {
                print_row(out, sub);
                total++;
            }
        } else {
            print_row(out, cmd);
            total++;
        }
    }
    fprintf(out, "\n%zu commands and subcommands.\n", total);
    mem_free(sorted);
}
