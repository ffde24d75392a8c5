/*
 * The lesson's one-shot server in C: the same steps as server.py.
 *
 *   ./server [PORT [HOST]]     (defaults: 2000 and 127.0.0.1; port 0: any free port)
 *
 * It waits for one client, receives one message, sends it back, and closes
 * both sockets. Build with `make`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 1024

int main(int argc, char *argv[]) {
    int port = argc > 1 ? atoi(argv[1]) : 2000;
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";

    /* 1. socket: an endpoint for TCP over IPv4 */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    int yes = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);

    /* 2. bind: give it an address and a port */
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "error: %s is not an IPv4 address\n", host);
        return 1;
    }
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) {
        perror("bind");
        return 1;
    }

    /* 3. listen: accept connections from now on */
    if (listen(listener, 1) < 0) {
        perror("listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening on %s:%d\n", host, ntohs(address.sin_port));
    fflush(stdout);

    /* 4. accept: wait for a client; a new socket talks to it */
    struct sockaddr_in client;
    socklen_t client_length = sizeof client;
    int conn = accept(listener, (struct sockaddr *)&client, &client_length);
    if (conn < 0) {
        perror("accept");
        return 1;
    }

    /* 5. recv one message, 6. send it back */
    char message[BUFFER_SIZE];
    ssize_t received = recv(conn, message, sizeof message, 0);
    if (received < 0) {
        perror("recv");
        return 1;
    }
    printf("client says: %.*s\n", (int)received, message);
    if (send(conn, message, (size_t)received, 0) < 0) {
        perror("send");
        return 1;
    }

    /* 7. close both sockets */
    close(conn);
    close(listener);
    return 0;
}
