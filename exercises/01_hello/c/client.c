/*
 * The lesson's one-shot client in C: the same steps as client.py.
 *
 *   ./client HOST PORT MESSAGE
 *
 * It connects, sends the message, prints the reply, and closes its socket.
 * Build with `make`.
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
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT MESSAGE\n", argv[0]);
        return 2;
    }
    struct sockaddr_in server;
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) {
        fprintf(stderr, "error: %s is not an IPv4 address\n", argv[1]);
        return 1;
    }

    /* 1. socket, 2. connect */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) {
        perror("socket");
        return 1;
    }
    if (connect(sock, (struct sockaddr *)&server, sizeof server) < 0) {
        perror("error: connect");
        close(sock);
        return 1;
    }

    /* 3. send the message, 4. recv the reply */
    const char *message = argv[3];
    if (send(sock, message, strlen(message), 0) < 0) {
        perror("error: send");
        close(sock);
        return 1;
    }
    char reply[BUFFER_SIZE];
    ssize_t received = recv(sock, reply, sizeof reply, 0);
    if (received < 0) {
        perror("error: recv");
        close(sock);
        return 1;
    }
    printf("%.*s\n", (int)received, reply);

    /* 5. close */
    close(sock);
    return 0;
}
