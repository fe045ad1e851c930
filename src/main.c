/* rivet-server: everything after the program name goes to server_main. */
#include "rivet/server.h"

int main(int argc, char **argv)
{
    return server_main(argc - 1, argv + 1);
}
